"""The backup file format: member names, column kinds, value encoding and the verified reading of a backup.

A backup is one ZIP file:

- ``manifest.json``: format and version, the regrow version and Alembic revision that wrote it, the backend,
  when it was taken, and per table its row count and its columns with their kinds;
- ``tables/<table>.jsonl``: one JSON object per row (``{column: value}``), in primary-key order;
- ``photos/<sha256><suffix>`` (and the photo's ``<sha256>.overlay.png`` / ``<sha256>.json``): the files the
  photo rows reference; ``trash/...``: the files of deleted photos that undo can still restore;
- ``SHA256SUMS``: the SHA-256 of every other member (``sha256sum -c`` checks an unpacked backup).

Values are stored by column kind so that they come back exactly: datetimes, dates and times in ISO 8601,
floats as JSON numbers (Python's shortest round-trip form), booleans as ``true``/``false``, JSON columns as
the JSON text itself (``null`` in the file is SQL NULL; the text ``"null"`` is a JSON null), binary as
base64, decimals as strings.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import json
import re
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Table, null, types

from regrow.errors import DataFileError, StorageError

__all__ = [
    "CHECKSUMS",
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "BackupArchive",
    "column_kind",
    "decode_value",
    "encode_value",
    "open_backup",
]

FORMAT = "regrow-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
TABLES_DIR = "tables"
PHOTOS_DIR = "photos"
TRASH_DIR = "trash"
#: The largest photo-folder member read back (a photo is at most 100 MB): a bound on what a crafted backup
#: can make the restore hold in memory at once.
MAX_FILE_MEMBER_BYTES = 128 * 1024 * 1024
#: The longest table-file line (one row) read back: a bound on what one crafted line can make a restore hold.
MAX_ROW_BYTES = 64 * 1024 * 1024
_CHUNK = 1024 * 1024
_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_PHOTO = re.compile(r"^(?P<sha>[0-9a-f]{64})(?P<suffix>\.jpg|\.png|\.tif|\.webp)$")
_DERIVED = re.compile(r"^(?P<sha>[0-9a-f]{64})(?P<suffix>\.overlay\.png|\.json)$")
_FILE_MEMBER = re.compile(
    r"^(?P<dir>photos|trash)/(?P<name>[0-9a-f]{64}(?:\.jpg|\.png|\.tif|\.webp|\.overlay\.png|\.json))$"
)
_TABLE_MEMBER = re.compile(r"^tables/(?P<table>[a-z_][a-z0-9_]{0,62})\.jsonl$")

KINDS = (
    "json",
    "boolean",
    "datetime",
    "date",
    "time",
    "float",
    "decimal",
    "integer",
    "string",
    "bytes",
    "uuid",
)


def column_kind(table: Table, column: Column) -> str:
    """How a column's values are written into a backup (one of :data:`KINDS`).

    Raises
    ------
    StorageError
        A type a backup cannot store exactly (nothing is skipped silently).
    """
    kind = column.type
    for cls, name in (
        (types.JSON, "json"),
        (types.Boolean, "boolean"),
        (types.DateTime, "datetime"),
        (types.Date, "date"),
        (types.Time, "time"),
        (types.Float, "float"),
        (types.Numeric, "decimal"),
        (types.Integer, "integer"),
        (types.Uuid, "uuid"),
        (types.String, "string"),
        (types._Binary, "bytes"),
    ):
        if isinstance(kind, cls):
            return name
    raise StorageError(
        f"Table {table.name!r}, column {column.name!r} has type {kind!r}, which a backup cannot store "
        "exactly yet; no backup was written."
    )


def encode_value(kind: str, value: Any) -> Any:
    """A column value as it is written into a table file (JSON columns arrive as their JSON text)."""
    if value is None:
        return None
    if kind in ("datetime", "date", "time"):
        return value.isoformat()
    if kind in ("decimal", "uuid"):
        return str(value)
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "float":
        return float(value)
    return value


def decode_value(kind: str, value: Any) -> Any:
    """The Python value of a table-file value of column kind ``kind`` (JSON text is parsed here).

    Raises
    ------
    ValueError
        The value does not fit the kind (the caller names the file, line and column).
    """
    if value is None:
        return None
    if kind == "json":
        if not isinstance(value, str):
            raise ValueError("a JSON column's value must be its JSON text")
        return json.loads(value)
    if kind == "datetime":
        return dt.datetime.fromisoformat(_text(value))
    if kind == "date":
        return dt.date.fromisoformat(_text(value))
    if kind == "time":
        return dt.time.fromisoformat(_text(value))
    if kind == "decimal":
        return decimal.Decimal(_text(value))
    if kind == "uuid":
        return uuid.UUID(_text(value))
    if kind == "bytes":
        return base64.b64decode(_text(value), validate=True)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("expected an integer")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("expected a number")
        return float(value)
    if kind == "string":
        return _text(value)
    raise ValueError(f"unknown column kind {kind!r}")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


# --- reading a backup ---------------------------------------------------------------------------------------


@dataclass
class BackupArchive:
    """An opened backup whose every member matched ``SHA256SUMS`` when it was opened.

    Use as a context manager (closes the ZIP file).
    """

    path: Path
    zip: zipfile.ZipFile
    manifest: dict[str, Any]
    sums: dict[str, str]
    #: ``{"photos": {name: member}, "trash": {name: member}}`` of the photo-folder files.
    files: dict[str, dict[str, str]]

    def __enter__(self) -> BackupArchive:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.zip.close()

    def fail(self, message: str, **kwargs: Any) -> DataFileError:
        """A :class:`DataFileError` about this backup ("nothing was restored")."""
        return DataFileError(
            f"{self.path.name}: {message}; nothing was restored.", path=str(self.path), **kwargs
        )

    def tables(self) -> dict[str, dict[str, Any]]:
        """The manifest's tables: ``{name: {"rows": n, "columns": {column: kind}}}``."""
        return self.manifest["tables"]

    def rows(self, table: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """The rows of ``table`` as ``(line number, {column: Python value})``, checked against the manifest.

        The member's SHA-256 is computed again while it is read; a mismatch raises at the end, before the
        caller commits anything.
        """
        kinds = self.tables()[table]["columns"]
        member = f"{TABLES_DIR}/{table}.jsonl"
        digest = hashlib.sha256()
        count = 0
        with self.zip.open(member) as handle:
            for number, raw in enumerate(iter(lambda: handle.readline(MAX_ROW_BYTES + 1), b""), start=1):
                if len(raw) > MAX_ROW_BYTES:
                    raise self.fail(
                        f"{member} line {number} is longer than {MAX_ROW_BYTES} bytes", row=number
                    )
                digest.update(raw)
                try:
                    record = json.loads(raw)
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise self.fail(f"{member} line {number} is not JSON ({exc})", row=number) from exc
                if not isinstance(record, dict) or set(record) != set(kinds):
                    raise self.fail(
                        f"{member} line {number} does not hold exactly the columns {sorted(kinds)}",
                        row=number,
                    )
                row = {}
                for name, value in record.items():
                    if value is None and kinds[name] == "json":
                        row[name] = null()  # SQL NULL; the text "null" is a JSON null (Python None)
                        continue
                    try:
                        row[name] = decode_value(kinds[name], value)
                    except (ValueError, TypeError, json.JSONDecodeError) as exc:
                        raise self.fail(
                            f"{member} line {number}, column {name!r}: {value!r} is not a {kinds[name]} ({exc})",
                            row=number,
                            column=name,
                        ) from exc
                count += 1
                yield number, row
        if digest.hexdigest() != self.sums[member]:
            raise self.fail(f"{member} changed while it was read (SHA-256 mismatch)", column="sha256")
        if count != self.tables()[table]["rows"]:
            raise self.fail(f"{member} holds {count} rows, the manifest says {self.tables()[table]['rows']}")

    def read_file(self, folder: str, name: str) -> bytes:
        """The bytes of ``photos/<name>`` or ``trash/<name>``, checked against ``SHA256SUMS`` again."""
        member = self.files[folder][name]
        with self.zip.open(member) as handle:
            data = handle.read(MAX_FILE_MEMBER_BYTES + 1)
        if len(data) > MAX_FILE_MEMBER_BYTES or hashlib.sha256(data).hexdigest() != self.sums[member]:
            raise self.fail(f"{member} changed while it was read (SHA-256 mismatch)", column="sha256")
        return data


def open_backup(path: str | Path) -> BackupArchive:
    """Open a backup and verify it whole before anything is restored from it.

    Checks: a readable ZIP; only known member names (no paths, no ``..``, no duplicates); every member's
    SHA-256 equals its line in ``SHA256SUMS`` and every line names a member; each photo file's name is its
    own SHA-256; the manifest is this format, names a table file for each table and nothing else.

    Raises
    ------
    DataFileError
        The file is not a regrow backup, is truncated or damaged, or was edited; the message names the
        member.
    """
    source = Path(path)
    if not source.is_file():
        raise DataFileError.not_a_file(source)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataFileError(
            f"{source.name}: not a readable regrow backup (truncated or not a ZIP file: {exc}); nothing was "
            "restored.",
            path=str(source),
        ) from exc
    try:
        opened = _verify(source, archive)
    except BaseException:
        archive.close()
        raise
    return opened


def _verify(source: Path, archive: zipfile.ZipFile) -> BackupArchive:
    def fail(message: str, **kwargs: Any) -> DataFileError:
        return DataFileError(f"{source.name}: {message}; nothing was restored.", path=str(source), **kwargs)

    infos = archive.infolist()
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise fail("a member name appears twice (a crafted or damaged backup)")
    files: dict[str, dict[str, str]] = {PHOTOS_DIR: {}, TRASH_DIR: {}}
    for info in infos:
        name = info.filename
        match = _FILE_MEMBER.fullmatch(name)
        if match is not None:
            if info.file_size > MAX_FILE_MEMBER_BYTES:
                raise fail(f"member {name!r} is larger than {MAX_FILE_MEMBER_BYTES} bytes")
            files[match["dir"]][match["name"]] = name
        elif name not in (MANIFEST, CHECKSUMS) and _TABLE_MEMBER.fullmatch(name) is None:
            raise fail(
                f"unexpected member {name!r}; a backup holds only {MANIFEST}, {CHECKSUMS}, tables/<table>.jsonl, "
                "photos/<sha256>.<ext> and trash/<sha256>.<ext>"
            )
    if MANIFEST not in names or CHECKSUMS not in names:
        raise fail(f"{MANIFEST} or {CHECKSUMS} is missing (not a regrow backup)")
    sums = _parse_sums(_read_small(archive, CHECKSUMS, fail), fail)
    listed = set(sums)
    present = set(names) - {CHECKSUMS}
    if listed != present:
        odd = sorted(listed ^ present)[0]
        raise fail(f"{CHECKSUMS} and the members differ (first: {odd!r})")
    for info in infos:
        if info.filename == CHECKSUMS:
            continue
        digest = _hash_member(archive, info.filename, fail)
        if digest != sums[info.filename]:
            raise fail(
                f"member {info.filename!r} does not match its SHA-256 in {CHECKSUMS} (damaged or edited)",
                column="sha256",
            )
        match = _FILE_MEMBER.fullmatch(info.filename)
        if match is not None and _PHOTO.fullmatch(match["name"]) and digest != match["name"][:64]:
            raise fail(
                f"photo file {info.filename!r} is not the photo its name says (SHA-256 mismatch)",
                column="sha256",
            )
    manifest = _parse_manifest(_read_small(archive, MANIFEST, fail), fail)
    tables = {m["table"] for n in names if (m := _TABLE_MEMBER.fullmatch(n))}
    if tables != set(manifest["tables"]):
        odd = sorted(tables ^ set(manifest["tables"]))[0]
        raise fail(f"the manifest's tables and the table files differ (first: {odd!r})")
    for folder, found in files.items():
        photos = {_PHOTO.fullmatch(n)["sha"] for n in found if _PHOTO.fullmatch(n)}
        for name in found:
            derived = _DERIVED.fullmatch(name)
            if derived is not None and derived["sha"] not in photos:
                raise fail(f"{folder}/{name} belongs to no photo file in the backup")
    return BackupArchive(source, archive, manifest, sums, files)


def _read_small(archive: zipfile.ZipFile, name: str, fail: Any) -> bytes:
    try:
        with archive.open(name) as handle:
            data = handle.read(64 * 1024 * 1024 + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError) as exc:
        raise fail(f"cannot read member {name!r} ({exc})") from exc
    if len(data) > 64 * 1024 * 1024:
        raise fail(f"member {name!r} is too large")
    return data


def _hash_member(archive: zipfile.ZipFile, name: str, fail: Any) -> str:
    digest = hashlib.sha256()
    try:
        with archive.open(name) as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError) as exc:
        raise fail(f"cannot read member {name!r} (damaged: {exc})", column="sha256") from exc
    return digest.hexdigest()


def _parse_sums(data: bytes, fail: Any) -> dict[str, str]:
    sums: dict[str, str] = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        digest, _, name = line.partition("  ")
        if re.fullmatch(r"[0-9a-f]{64}", digest) is None or not name or name in sums:
            raise fail(f"malformed {CHECKSUMS} line {line[:80]!r}")
        sums[name] = digest
    return sums


def _parse_manifest(data: bytes, fail: Any) -> dict[str, Any]:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"{MANIFEST} is not JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise fail(f"{MANIFEST} is not a regrow backup manifest")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise fail(
            f"backup format version {version!r} is not one this regrow reads ({FORMAT_VERSION}); "
            "upgrade regrow to restore it"
        )
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or not isinstance(manifest.get("alembic_revision"), str):
        raise fail(f"{MANIFEST} lacks its tables or its schema revision")
    for name, entry in tables.items():
        columns = entry.get("columns") if isinstance(entry, dict) else None
        rows = entry.get("rows") if isinstance(entry, dict) else None
        if (
            _TABLE_NAME.fullmatch(str(name)) is None
            or not isinstance(columns, dict)
            or not columns
            or any(kind not in KINDS for kind in columns.values())
            or not isinstance(rows, int)
            or isinstance(rows, bool)
            or rows < 0
        ):
            raise fail(f"{MANIFEST}: the entry of table {name!r} is malformed")
    missing = manifest.get("missing_photo_files", [])
    if not isinstance(missing, list) or any(
        not isinstance(n, str) or not _PHOTO.fullmatch(n) for n in missing
    ):
        raise fail(f"{MANIFEST}: missing_photo_files is malformed")
    return manifest


def is_photo_name(name: str) -> bool:
    """True for a stored photo name ``<sha256><suffix>`` (not a derived file)."""
    return _PHOTO.fullmatch(name) is not None


def derived_kind(name: str) -> tuple[str, str] | None:
    """``(sha256, "overlay" | "sidecar")`` for a derived file name, else None."""
    match = _DERIVED.fullmatch(name)
    if match is None:
        return None
    return match["sha"], "overlay" if match["suffix"] == ".overlay.png" else "sidecar"
