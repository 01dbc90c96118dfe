"""One archive that restores a journal exactly: rows, photo files and checksums in a single ZIP file.

Layout of ``regrow-journal-<timestamp>.zip``:

- ``journal.json``: the JSON export document (header with format version and schema revision, every table);
- ``photos/<sha256><suffix>``: each photo file, and its ``<sha256>.overlay.png`` / ``<sha256>.json``;
- ``SHA256SUMS``: the SHA-256 of every other member (``sha256sum`` format, so ``sha256sum -c`` checks it).

Import never trusts a name from the file: members are looked up by names rebuilt from each row's checked
hash, every checksum is verified before anything is written, and files go only into the journal's photo
folder (:class:`~regrow.journal.PhotoStore`). The CLI and the web app export and import through here, so
their files are the same. Older exports (a JSON file or CSV folder with a ``photos`` folder beside it) are
still read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from regrow.errors import DataFileError, InputError

from ._engine import session_scope
from ._export import TABLES, check_header, delete_person_data, export_document, import_data, photo_rows
from ._models import Person, Photo
from ._photo_store import EXCLUSIVE_WAIT_S, TRASH_DAYS, PhotoStore
from ._private import private_dir, write_private

__all__ = [
    "ARCHIVE_SUFFIX",
    "MAX_ARCHIVE_BYTES",
    "ExportSummary",
    "archive_bytes",
    "archive_name",
    "delete_everything",
    "export_archive",
    "import_journal",
    "is_empty",
    "recoverable_photos",
    "referenced_photos",
    "sweep_photos",
    "vacuum",
]

ARCHIVE_SUFFIX = ".zip"
DOCUMENT = "journal.json"
CHECKSUMS = "SHA256SUMS"
PHOTOS = "photos"
#: Largest archive member read back (a photo is at most 100 MB, ``measure.DEFAULT_MAX_BYTES``) and the
#: largest archive in all, in bytes: a bound on what a crafted file can make the importer read.
MAX_MEMBER_BYTES = 128 * 1024 * 1024
MAX_ARCHIVE_BYTES = 16 * 1024 * 1024 * 1024
_PHOTO_NAME = re.compile(r"^[0-9a-f]{64}(?:\.jpg|\.png|\.tif|\.webp)$")
_MEMBER = re.compile(r"^photos/[0-9a-f]{64}(?:\.jpg|\.png|\.tif|\.webp|\.overlay\.png|\.json)$")


@dataclass(frozen=True)
class ExportSummary:
    """What :func:`export_archive` wrote."""

    path: Path
    rows: dict[str, int]
    photo_files: int
    missing_photo_files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "file": str(self.path),
            "rows": self.rows,
            "photo_files": self.photo_files,
            "missing_photo_files": self.missing_photo_files,
        }


def archive_name(now: dt.datetime | None = None) -> str:
    """``regrow-journal-<YYYYmmddTHHMMSS>.zip``."""
    return f"regrow-journal-{(now or dt.datetime.now()).strftime('%Y%m%dT%H%M%S')}{ARCHIVE_SUFFIX}"


def export_archive(
    engine: Engine, store: PhotoStore, path: str | Path, *, person_id: int | None = None
) -> ExportSummary:
    """Write the whole journal (or one person's part) and its photo files into one ZIP archive (mode 0600).

    Parameters
    ----------
    engine : sqlalchemy.Engine
    store : PhotoStore
        The journal's photo folder.
    path : path-like
        The archive to write (replaced atomically when it exists).
    person_id : int, optional
        Export only this person's rows and photos.

    Returns
    -------
    ExportSummary
    """
    data, summary = archive_bytes(engine, store, person_id=person_id)
    target = Path(path)
    private_dir(target.parent, tighten=False)
    write_private(target, data)
    return ExportSummary(target, summary.rows, summary.photo_files, summary.missing_photo_files)


def archive_bytes(
    engine: Engine, store: PhotoStore, *, person_id: int | None = None
) -> tuple[bytes, ExportSummary]:
    """The archive of :func:`export_archive` in memory (the web app sends it as a download)."""
    with session_scope(engine) as session:
        document = export_document(session, person_id=person_id)
    tables = json.loads(document)["tables"]
    buffer = io.BytesIO()
    sums: list[str] = []
    missing: list[str] = []
    files = 0
    with zipfile.ZipFile(buffer, "w") as archive:
        _add(archive, DOCUMENT, document, sums, compress=True)
        # one image may back several photo rows (stored for two sites, or again once confirmed): once each
        for name in dict.fromkeys(row["file_name"] for row in tables["photo"]):
            found = False
            for file in store.files_of(name):
                _add(
                    archive, f"{PHOTOS}/{file.name}", file.read_bytes(), sums, compress=file.suffix == ".json"
                )
                found = found or file.name == name
            files += found
            if not found:
                missing.append(name)
        # deleted photos undo can still bring back travel with their history, so an import keeps that undo
        live = {row["file_name"] for row in tables["photo"]}
        deleted = [n for n in dict.fromkeys(_deleted_photo_names(tables.get("change", []))) if n not in live]
        recoverable = recoverable_photos(engine) if deleted else set()  # reads the history: only when needed
        for name in deleted:
            if name[:64] in recoverable:
                for file in store.trash_files_of(name):
                    _add(archive, f"{PHOTOS}/{file.name}", file.read_bytes(), sums, compress=False)
        archive.writestr(CHECKSUMS, "".join(sums))
    rows = {t: len(r) for t, r in tables.items()}
    return buffer.getvalue(), ExportSummary(Path(archive_name()), rows, files, missing)


def _add(archive: zipfile.ZipFile, name: str, data: bytes, sums: list[str], *, compress: bool) -> None:
    archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)
    sums.append(f"{hashlib.sha256(data).hexdigest()}  {name}\n")


# --- reading ---------------------------------------------------------------------------------------------


@dataclass
class _Source:
    document: dict[str, Any]
    read_member: Callable[[str], bytes | None]
    label: str


def _open_archive(path: Path, handle: Any = None) -> _Source:
    try:
        archive = zipfile.ZipFile(handle if handle is not None else path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataFileError(f"{path.name}: not a regrow export archive ({exc}).", path=str(path)) from exc
    with archive:
        infos = {info.filename: info for info in archive.infolist()}
        for name, info in infos.items():
            if name not in (DOCUMENT, CHECKSUMS) and _MEMBER.fullmatch(name) is None:
                raise DataFileError(
                    f"{path.name}: unexpected member {name!r}; a regrow archive holds only {DOCUMENT}, "
                    f"{CHECKSUMS} and photos/<sha256>.<ext>. Nothing was imported.",
                    path=str(path),
                )
            if info.file_size > MAX_MEMBER_BYTES:
                raise DataFileError(
                    f"{path.name}: member {name!r} is larger than {MAX_MEMBER_BYTES} bytes; nothing was imported.",
                    path=str(path),
                )
        if sum(i.file_size for i in infos.values()) > MAX_ARCHIVE_BYTES:
            raise DataFileError(f"{path.name}: the archive is too large to import.", path=str(path))
        if DOCUMENT not in infos or CHECKSUMS not in infos:
            raise DataFileError(
                f"{path.name}: missing {DOCUMENT} or {CHECKSUMS}; not a regrow export archive.",
                path=str(path),
            )
        members = {name: _read_member(archive, name, path) for name in infos}
    expected = _parse_sums(members[CHECKSUMS], path)
    for name, data in members.items():
        if name == CHECKSUMS:
            continue
        if expected.get(name) != hashlib.sha256(data).hexdigest():
            raise DataFileError(
                f"{path.name}: member {name!r} does not match its SHA-256 in {CHECKSUMS} (damaged or edited); "
                "nothing was imported.",
                path=str(path),
                column="sha256",
            )
    try:
        document = json.loads(members[DOCUMENT].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFileError(f"{path.name}: {DOCUMENT} is not JSON ({exc}).", path=str(path)) from exc
    check_header(document, f"{path.name}:{DOCUMENT}")
    return _Source(document, lambda name: members.get(f"{PHOTOS}/{name}"), path.name)


def _read_member(archive: zipfile.ZipFile, name: str, path: Path) -> bytes:
    try:
        with archive.open(name) as handle:
            data = handle.read(MAX_MEMBER_BYTES + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
        raise DataFileError(f"{path.name}: cannot read member {name!r} ({exc}).", path=str(path)) from exc
    if len(data) > MAX_MEMBER_BYTES:
        raise DataFileError(
            f"{path.name}: member {name!r} is too large; nothing was imported.", path=str(path)
        )
    return data


def _parse_sums(data: bytes, path: Path) -> dict[str, str]:
    sums = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        digest, _, name = line.partition("  ")
        if re.fullmatch(r"[0-9a-f]{64}", digest) is None or not name:
            raise DataFileError(f"{path.name}: malformed {CHECKSUMS} line {line[:80]!r}.", path=str(path))
        sums[name] = digest
    return sums


def _open_legacy(path: Path) -> _Source:
    """A version-1 JSON export or CSV folder, with copies of the photos in ``photos/`` beside it."""
    from ._export import read_export

    document = read_export(path)
    folder = (path if path.is_dir() else path.parent) / PHOTOS
    by_name = {row["file_name"]: row for row in photo_rows(document)}

    def read_member(name: str) -> bytes | None:
        row = by_name.get(name)
        if row is None:  # derived files were not exported by version 1
            return None
        # Version-1 copies are named <photo id>-<first 16 hex of sha256><suffix>; both parts are checked.
        photo_id = row.get("id")
        if not isinstance(photo_id, int) or isinstance(photo_id, bool):
            raise DataFileError(f"{path.name}: photo id {photo_id!r} is not an integer.", column="id")
        copy = folder / f"{photo_id}-{name[:16]}{name[64:]}"
        return copy.read_bytes() if copy.is_file() else None

    return _Source(document, read_member, path.name)


def _open_source(path: str | Path | Any, name: str | None = None) -> _Source:
    if hasattr(path, "read") and hasattr(path, "seek"):  # an uploaded file (web)
        label = Path(name or "upload")
        if zipfile.is_zipfile(path):
            path.seek(0)
            return _open_archive(label, path)
        path.seek(0)
        data = path.read(MAX_MEMBER_BYTES + 1)
        if len(data) > MAX_MEMBER_BYTES:
            raise DataFileError(f"{label.name}: too large for a JSON export.", path=label.name)
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataFileError(
                f"{label.name}: not a regrow export (a .zip archive or a .json export).", path=label.name
            ) from exc
        check_header(document, label.name)
        return _Source(document, lambda _name: None, label.name)
    source = Path(path)
    if not source.exists():
        raise DataFileError(f"Export {source.name!r} does not exist.", path=str(source))
    if source.is_file() and zipfile.is_zipfile(source):
        return _open_archive(source)
    return _open_legacy(source)


# --- importing -------------------------------------------------------------------------------------------


def import_journal(
    engine: Engine,
    store: PhotoStore,
    path: str | Path | Any,
    *,
    replace: bool = False,
    name: str | None = None,
) -> dict[str, Any]:
    """Restore an export exactly: every row with its id, every photo file byte for byte.

    Everything is checked before anything is written (checksums, names, rows); the files go in first and
    the rows are committed in one transaction, under the photo folder's write lock, so a crash leaves
    either the old journal or the restored one (plus, at worst, files a later sweep removes).

    Parameters
    ----------
    engine : sqlalchemy.Engine
    store : PhotoStore
    path : path-like or binary file
        An archive (``.zip``), or an older JSON export / CSV export folder; or an open, seekable file
        (an upload) holding an archive or a JSON export.
    replace : bool
        Delete everything in the journal first. Without it, a journal holding any record (other than the
        default person that opening it creates) refuses the import and nothing changes.
    name : str, optional
        The upload's file name, for messages.

    Returns
    -------
    dict
        ``{"restored": {table: rows}, "photo_files_restored": n, "photo_files_present": n,
        "photos_without_files": [ids]}``; photos whose file is in neither the export nor the photo folder
        (exports of regrow 0.1 carried none) are left out, their measurements kept without the link.

    Raises
    ------
    DataFileError
        The export is damaged, edited (a checksum or a name does not match), or from a newer regrow.
    InputError
        The journal is not empty and ``replace`` is false.
    """
    source = _open_source(path, name)
    rows = photo_rows(source.document)
    files: list[tuple[str, dict[str, bytes]]] = []
    without_files: list[int] = []
    for row in rows:
        name_ = row["file_name"]
        data = source.read_member(name_)
        if data is None and not store.path(name_).is_file():
            without_files.append(row.get("id"))
            continue
        if data is not None and hashlib.sha256(data).hexdigest() != name_[:64]:
            raise DataFileError(
                f"{source.label}: the file of photo {row.get('id')!r} does not match its SHA-256; nothing "
                "was imported.",
                column="sha256",
            )
        derived = {}
        for kind, suffix in (("overlay", ".overlay.png"), ("sidecar", ".json")):
            extra = source.read_member(f"{name_[:64]}{suffix}")
            if extra is not None:
                derived[kind] = extra
        files.append((name_, {"photo": data, **derived} if data is not None else derived))
    document = _without_photos(source.document, set(without_files))
    written = 0
    with store.writing():
        for name_, parts in files:
            if parts.get("photo") is not None and not store.path(name_).is_file():
                store.put(parts["photo"], name_[64:])
                written += 1
            for kind in ("overlay", "sidecar"):
                if kind in parts:
                    store.put_derived(name_[:64], kind, parts[kind])
        _restore_trash(store, source, document)
        with session_scope(engine) as session:
            counts = import_data(session, document, replace=replace or _only_default_person(session))
    if replace:
        sweep_photos(engine, store, wait_s=EXCLUSIVE_WAIT_S)
    return {
        "restored": counts,
        "photo_files_restored": written,
        "photo_files_present": len(files) - written,
        "photos_without_files": without_files,
    }


def _deleted_photo_names(changes: list[dict[str, Any]]) -> list[str]:
    """Stored file names of the photos that history rows record as deleted."""
    names = []
    for change in changes:
        old = change.get("old")
        if change.get("table_name") == "photo" and change.get("new") is None and isinstance(old, dict):
            name = old.get("file_name")
            if isinstance(name, str) and _PHOTO_NAME.fullmatch(name):
                names.append(name)
    return names


def _restore_trash(store: PhotoStore, source: _Source, document: dict[str, Any]) -> None:
    """Put the files of deleted photos that the imported history can undo back into the trash (when the
    archive carries them and their SHA-256 matches); the next sweep keeps them while undo can use them."""
    for name in dict.fromkeys(_deleted_photo_names(document.get("tables", {}).get("change", []))):
        data = source.read_member(name)
        if data is None or hashlib.sha256(data).hexdigest() != name[:64]:
            continue  # not carried (or not this photo): undo of that deletion will say its files are gone
        store.put_trash(name, data)
        for suffix in (".overlay.png", ".json"):
            extra = source.read_member(f"{name[:64]}{suffix}")
            if extra is not None:
                store.put_trash(f"{name[:64]}{suffix}", extra)


def _without_photos(document: dict[str, Any], photo_ids: set[Any]) -> dict[str, Any]:
    """The document without the photo rows whose file is in neither the export nor the photo folder.

    Their measurements are kept, unlinked from the photo (a row never points at a missing file).
    """
    if not photo_ids:
        return document
    tables = dict(document["tables"])
    tables["photo"] = [r for r in tables.get("photo", []) if r.get("id") not in photo_ids]
    tables["measurement"] = [
        {**m, "photo_id": None} if m.get("photo_id") in photo_ids else m
        for m in tables.get("measurement", [])
    ]
    return {**document, "tables": tables}


def is_empty(engine: Engine) -> bool:
    """True when the journal holds nothing but (possibly) the default person that opening it creates."""
    with session_scope(engine) as session:
        return _only_default_person(session)


def _only_default_person(session: Any) -> bool:
    """True when the journal holds nothing but the default person that opening it creates."""
    people = session.scalars(select(Person)).all()
    if len(people) > 1 or (people and not people[0].is_default):
        return False
    others = sum(session.scalar(select(func.count()).select_from(m)) for m in TABLES if m is not Person)
    return others == 0


def _referenced(engine: Engine) -> set[str]:
    with session_scope(engine) as session:
        return set(session.scalars(select(Photo.sha256)))


def referenced_photos(engine: Engine) -> set[str]:
    """The SHA-256 of every photo row of the journal (what a sweep of its photo folder keeps)."""
    return _referenced(engine)


def recoverable_photos(engine: Engine, *, days: float = TRASH_DAYS) -> set[str]:
    """The SHA-256 of deleted photos that undo can still restore (deleted less than ``days`` ago, the
    deletion not undone): their files stay in the photo folder's trash."""
    from ._history import _groups

    cutoff = dt.datetime.now() - dt.timedelta(days=days)
    keep: set[str] = set()
    with session_scope(engine) as session:
        people = session.scalars(select(Person.id)).all()
        for person_id in people:
            for group in _groups(session, person_id=person_id):
                if group.undo_of is not None or group.undone_by is not None or group.at < cutoff:
                    continue
                for change in group.changes:
                    if change["table_name"] == "photo" and change["new"] is None and change["old"]:
                        keep.add(str(change["old"]["sha256"]))
    return keep


def sweep_photos(engine: Engine, store: PhotoStore, *, wait_s: float = 0.0) -> list[str]:
    """Sweep the journal's photo folder: files no row references, temporary files, and trashed files no
    undo can bring back any more (see :meth:`PhotoStore.sweep`). Run it on start and after removals."""
    return store.sweep(
        lambda: _referenced(engine), recoverable=lambda: recoverable_photos(engine), wait_s=wait_s
    )


# --- deleting --------------------------------------------------------------------------------------------


def delete_everything(engine: Engine, store: PhotoStore, *, person_id: int) -> dict[str, Any]:
    """Delete every record of a person and every photo file no remaining row references; then VACUUM.

    Rows go first (one transaction), then the files (under the photo folder's exclusive lock, so uploads in
    flight finish first), then the database is vacuumed so the deleted rows are gone from the file too
    (``secure_delete`` is on for every connection as well).

    Returns
    -------
    dict
        ``{"deleted": {table: rows}, "photo_files_removed": n}``.
    """
    if not isinstance(person_id, int):
        raise InputError.invalid("person_id", person_id, "an integer")
    with session_scope(engine) as session:
        result = delete_person_data(session, person_id=person_id)
    removed = sweep_photos(engine, store, wait_s=EXCLUSIVE_WAIT_S)
    vacuum(engine)
    return {**result, "photo_files_removed": len(removed)}


def vacuum(engine: Engine) -> None:
    """Rewrite a SQLite journal without free pages and empty its write-ahead log (no-op elsewhere)."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        raw.execute("VACUUM")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
