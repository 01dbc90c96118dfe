"""The web app's settings, declared once as a table (name, default, help) that drives validation and docs."""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path
from typing import Any

from regrow.errors import InputError

__all__ = ["SETTINGS", "Settings"]

#: Every setting: (name, default, help). ``regrow serve`` and docs/web.md are written from this table.
SETTINGS: tuple[tuple[str, Any, str], ...] = (
    (
        "database_url",
        None,
        "Journal database URL; default $REGROW_DATABASE_URL, else SQLite in your user data folder.",
    ),
    (
        "photos_dir",
        None,
        "Folder for uploaded photos (metadata stripped); default: 'photos' beside the journal.",
    ),
    ("host", "127.0.0.1", "Interface the server binds to; 127.0.0.1 keeps it on this machine."),
    ("port", 8000, "TCP port."),
    (
        "allowed_hosts",
        None,
        "Host header values accepted (DNS-rebinding guard); default: loopback names plus host.",
    ),
    ("max_upload_bytes", 20 * 1024 * 1024, "Largest request body accepted (uploads and imports), in bytes."),
    (
        "max_import_bytes",
        2 * 1024**3,
        "Largest export archive accepted by Import, in bytes (an archive carries every photo).",
    ),
    ("max_upload_files", 20, "Most images accepted in one upload."),
    (
        "max_image_pixels",
        16_000_000,
        "Largest image accepted, in pixels, checked before decoding (decompression bombs): a phone's 12 MP "
        "photo fits, and decoding stays near 0.4 GB on a small machine.",
    ),
    ("rules_file", None, "A clinic's YAML rule overrides (by rule id)."),
    (
        "evidence_file",
        None,
        "Evidence YAML for the Evidence page; default: your user copy or the bundled file.",
    ),
    ("csrf_secret", None, "Secret that signs CSRF tokens; a fresh random one per start when unset."),
    (
        "clinic",
        False,
        "Clinic mode: sign-in, roles, patients under /patients/<id>/, audit log (needs `regrow clinic init`).",
    ),
)

_IMAGE_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tif",
    "image/webp": ".webp",
    "image/bmp": ".png",  # stored re-encoded as PNG
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Settings of one app instance (see :data:`SETTINGS` for the meaning of each field).

    Parameters
    ----------
    database_url : str, optional
    photos_dir : str or Path, optional
    host : str
    port : int
    allowed_hosts : tuple of str, optional
    max_upload_bytes : int
    max_import_bytes : int
    max_upload_files : int
    max_image_pixels : int
    rules_file : str or Path, optional
    evidence_file : str or Path, optional
    csrf_secret : str, optional
    clinic : bool

    Raises
    ------
    InputError
        A setting out of range, naming it and echoing the value.
    """

    database_url: str | None = None
    photos_dir: str | Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_hosts: tuple[str, ...] | None = None
    max_upload_bytes: int = 20 * 1024 * 1024
    max_import_bytes: int = 2 * 1024**3
    max_upload_files: int = 20
    max_image_pixels: int = 16_000_000
    rules_file: str | Path | None = None
    evidence_file: str | Path | None = None
    csrf_secret: str | None = None
    clinic: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise InputError.invalid("port", self.port, "an integer in [0, 65535]")
        if not isinstance(self.max_upload_bytes, int) or self.max_upload_bytes < 1024:
            raise InputError.invalid("max_upload_bytes", self.max_upload_bytes, "an integer >= 1024 bytes")
        if not isinstance(self.max_import_bytes, int) or self.max_import_bytes < 1024:
            raise InputError.invalid("max_import_bytes", self.max_import_bytes, "an integer >= 1024 bytes")
        if not isinstance(self.max_upload_files, int) or not 1 <= self.max_upload_files <= 1000:
            raise InputError.invalid("max_upload_files", self.max_upload_files, "an integer in [1, 1000]")
        if not isinstance(self.max_image_pixels, int) or self.max_image_pixels < 256:
            raise InputError.invalid("max_image_pixels", self.max_image_pixels, "an integer >= 256")
        if not str(self.host).strip():
            raise InputError.invalid("host", self.host, "an interface such as 127.0.0.1")
        if self.csrf_secret is None:
            object.__setattr__(self, "csrf_secret", secrets.token_hex(32))

    @property
    def image_types(self) -> dict[str, str]:
        """Accepted upload content types and the suffix each is stored under."""
        return dict(_IMAGE_TYPES)

    def hosts(self) -> list[str]:
        """Host names the app answers to (``["*"]`` when bound to every interface and none were given)."""
        if self.allowed_hosts is not None:
            return list(self.allowed_hosts)
        if self.host in ("0.0.0.0", "::"):
            return ["*"]
        return sorted({"127.0.0.1", "localhost", "::1", "[::1]", self.host})
