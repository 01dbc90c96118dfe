"""Export everything (JSON or CSV), import it back exactly, and delete a person's data.

The JSON document is ``{"format": "regrow-journal", "format_version": 1, "schema_revision": ...,
"exported_at": ..., "tables": {table: [row, ...]}}`` with dates and times in ISO 8601. The CSV form is one
``<table>.csv`` per table plus the same header in ``manifest.json``; an empty cell is null and JSON columns
hold JSON text.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, delete, func, select, text
from sqlalchemy.orm import Session

from regrow.errors import DataFileError, InputError

from ._fields import now
from ._models import (
    AdjunctDose,
    AdverseEvent,
    Base,
    Device,
    Disinfection,
    Measurement,
    Note,
    Person,
    Photo,
    Plan,
    Profile,
    RuleAcknowledgement,
    ScreeningAnswer,
    TreatmentSession,
)

__all__ = [
    "PHOTO_FOLDER",
    "TABLES",
    "delete_person_data",
    "export_csv",
    "export_json",
    "export_photo_files",
    "import_data",
    "read_export",
    "restore_photo_files",
    "snapshot",
]

FORMAT = "regrow-journal"
FORMAT_VERSION = 1
#: Every table, parents before children (the import order; deletes run in reverse).
TABLES: tuple[type[Base], ...] = (
    Person,
    Profile,
    ScreeningAnswer,
    Device,
    Disinfection,
    Plan,
    TreatmentSession,
    AdjunctDose,
    AdverseEvent,
    RuleAcknowledgement,
    Note,
    Photo,
    Measurement,
)
_BY_NAME = {model.__tablename__: model for model in TABLES}


def _to_plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def snapshot(session: Session, *, person_id: int | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every row of every journal table as JSON-ready dicts (one person's rows when ``person_id`` is set).

    Returns
    -------
    dict
        ``{table_name: [row, ...]}``, rows ordered by primary key.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for model in TABLES:
        query = select(model)
        if person_id is not None:
            column = model.id if model is Person else model.person_id
            query = query.where(column == person_id)
        pk = model.__table__.primary_key.columns.values()
        rows = session.scalars(query.order_by(*pk))
        out[model.__tablename__] = [{k: _to_plain(v) for k, v in row.as_dict().items()} for row in rows]
    return out


def _header(session: Session) -> dict[str, Any]:
    from alembic.runtime.migration import MigrationContext

    revision = MigrationContext.configure(session.connection()).get_current_revision()
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "schema_revision": revision,
        "exported_at": now().isoformat(),
    }


def export_json(session: Session, path: str | Path, *, person_id: int | None = None) -> Path:
    """Write the whole journal (or one person's part) to one JSON file.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = Path(path)
    document = {**_header(session), "tables": snapshot(session, person_id=person_id)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    tmp.replace(path)
    return path


def export_csv(session: Session, out_dir: str | Path, *, person_id: int | None = None) -> list[Path]:
    """Write one CSV per table plus ``manifest.json`` into ``out_dir``.

    Returns
    -------
    list of pathlib.Path
        The files written, manifest last.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in snapshot(session, person_id=person_id).items():
        columns = [c.key for c in _BY_NAME[name].__table__.columns]
        target = out_dir / f"{name}.csv"
        with target.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_csv_cell(_BY_NAME[name], col, row[col]) for col in columns])
        written.append(target)
    manifest = out_dir / "manifest.json"
    manifest.write_text(
        json.dumps({**_header(session), "tables": [m.__tablename__ for m in TABLES]}, indent=2)
    )
    written.append(manifest)
    return written


def _csv_cell(model: type[Base], column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(model.__table__.columns[column].type, JSON):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def read_export(path: str | Path) -> dict[str, Any]:
    """Read an export: a JSON file, a CSV folder (with ``manifest.json``) or that manifest itself.

    Raises
    ------
    DataFileError
        The file is not a regrow journal export (names the file, and the table/row/column at fault).
    """
    path = Path(path)
    if path.is_dir() or path.name == "manifest.json":
        folder = path if path.is_dir() else path.parent
        return _read_csv_folder(folder)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataFileError(f"Export file {str(path)!r} does not exist.", path=str(path)) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFileError(f"{path}: not a JSON journal export ({exc}).", path=str(path)) from exc
    _check_header(document, path)
    return document


def _check_header(document: Any, path: Path) -> None:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DataFileError(f"{path}: 'format' must be {FORMAT!r}.", path=str(path), column="format")
    if document.get("format_version") != FORMAT_VERSION:
        raise DataFileError(
            f"{path}: unsupported format_version {document.get('format_version')!r}; "
            f"must be {FORMAT_VERSION}.",
            path=str(path),
            column="format_version",
        )


def _read_csv_folder(folder: Path) -> dict[str, Any]:
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError) as exc:
        raise DataFileError(
            f"{manifest_path}: missing or unreadable manifest.json.", path=str(manifest_path)
        ) from exc
    _check_header(manifest, manifest_path)
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in manifest.get("tables", []):
        if name not in _BY_NAME:
            raise DataFileError(f"{manifest_path}: unknown table {name!r}.", path=str(manifest_path))
        model = _BY_NAME[name]
        csv_path = folder / f"{name}.csv"
        rows = []
        with csv_path.open(newline="", encoding="utf-8") as handle:
            for line, record in enumerate(csv.DictReader(handle), start=2):
                row = {}
                for key, cell in record.items():
                    if key not in model.__table__.columns:
                        raise DataFileError(
                            f"{csv_path}: unknown column {key!r}.", path=str(csv_path), row=line, column=key
                        )
                    row[key] = _from_csv(model, key, cell, csv_path, line)
                rows.append(row)
        tables[name] = rows
    return {**manifest, "tables": tables}


def _from_csv(model: type[Base], key: str, cell: str | None, path: Path, line: int) -> Any:
    if cell is None or cell == "":
        return None
    kind = model.__table__.columns[key].type
    try:
        if isinstance(kind, JSON):
            return json.loads(cell)
        if isinstance(kind, Boolean):
            if cell not in ("true", "false"):
                raise ValueError("must be true or false")
            return cell == "true"
        if isinstance(kind, Integer):
            return int(cell)
        if isinstance(kind, Float):
            return float(cell)
    except ValueError as exc:
        raise DataFileError(
            f"{path} row {line} column {key!r}: bad value {cell!r} ({exc}).",
            path=str(path),
            row=line,
            column=key,
        ) from exc
    return cell


def _from_plain(model: type[Base], key: str, value: Any, table: str, index: int) -> Any:
    if value is None:
        return None
    kind = model.__table__.columns[key].type
    try:
        if isinstance(kind, DateTime):
            return dt.datetime.fromisoformat(value)
        if isinstance(kind, Date):
            return dt.date.fromisoformat(value)
        if isinstance(kind, Boolean) and not isinstance(value, bool):
            raise ValueError("must be true or false")
        if isinstance(kind, Float) and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    except (TypeError, ValueError) as exc:
        raise DataFileError(
            f"table {table!r} row {index + 1} column {key!r}: bad value {value!r} ({exc}).",
            row=index + 1,
            column=key,
        ) from exc
    return value


def import_data(session: Session, document: dict[str, Any], *, replace: bool = False) -> dict[str, int]:
    """Restore an export exactly (same ids and values) inside the caller's transaction.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    document : dict
        As returned by :func:`read_export`.
    replace : bool
        Delete everything already in the journal first. Without it, importing into a journal that already
        holds data is refused (nothing changes).

    Returns
    -------
    dict
        Rows restored per table.

    Raises
    ------
    InputError
        The journal is not empty and ``replace`` is false.
    DataFileError
        A table, row or column of the document is wrong.
    """
    tables = document.get("tables")
    if not isinstance(tables, dict):
        raise DataFileError("The export has no 'tables' object.", column="tables")
    unknown = set(tables) - set(_BY_NAME)
    if unknown:
        raise DataFileError(f"Unknown table {sorted(unknown)[0]!r} in the export.", column="tables")
    existing = sum(session.scalar(select(func.count()).select_from(m)) for m in TABLES)
    if existing and not replace:
        raise InputError.invalid(
            "import target", f"a journal holding {existing} rows", "an empty journal, or pass --replace"
        )
    if replace:
        for model in reversed(TABLES):
            session.execute(delete(model))
    counts = {}
    for model in TABLES:
        name = model.__tablename__
        rows = tables.get(name, [])
        columns = set(model.__table__.columns.keys())
        for index, row in enumerate(rows):
            extra = set(row) - columns
            if extra:
                raise DataFileError(
                    f"table {name!r} row {index + 1}: unknown column {sorted(extra)[0]!r}.",
                    row=index + 1,
                    column=sorted(extra)[0],
                )
            values = {key: _from_plain(model, key, value, name, index) for key, value in row.items()}
            session.add(model(**values))
        session.flush()
        counts[name] = len(rows)
    _reset_sequences(session)
    return counts


def _reset_sequences(session: Session) -> None:
    """After inserting explicit ids, move PostgreSQL's id sequences past them (SQLite needs nothing)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in TABLES:
        if "id" not in model.__table__.columns:
            continue
        table = model.__tablename__
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )
        )


def delete_person_data(session: Session, *, person_id: int) -> dict[str, Any]:
    """Delete every row belonging to ``person_id`` (the person included).

    Returns
    -------
    dict
        ``{"deleted": {table: rows}, "photo_paths": [...]}``; the caller removes the photo files.
    """
    photo_paths = [p.stored_path for p in session.scalars(select(Photo).where(Photo.person_id == person_id))]
    deleted = {}
    for model in reversed(TABLES):
        column = model.id if model is Person else model.person_id
        result = session.execute(delete(model).where(column == person_id))
        deleted[model.__tablename__] = result.rowcount
    return {"deleted": deleted, "photo_paths": photo_paths}


#: Folder, beside an export, that holds copies of the photo files (photos are health data too).
PHOTO_FOLDER = "photos"


def _photo_copy_name(row: dict[str, Any] | Photo) -> str:
    get = row.get if isinstance(row, dict) else lambda key: getattr(row, key)
    return f"{get('id')}-{str(get('sha256'))[:16]}{Path(str(get('stored_path'))).suffix}"


def export_photo_files(
    session: Session, out_dir: str | Path, *, person_id: int | None = None
) -> tuple[list[Path], list[str]]:
    """Copy every stored photo file into ``out_dir/photos`` so that an export holds the images too.

    Returns
    -------
    written : list of pathlib.Path
        The copies made (named ``<photo id>-<sha256 prefix><suffix>``).
    missing : list of str
        Stored paths whose file no longer exists (reported, not fatal: the rows are still exported).
    """
    query = select(Photo)
    if person_id is not None:
        query = query.where(Photo.person_id == person_id)
    written: list[Path] = []
    missing: list[str] = []
    target_dir = Path(out_dir) / PHOTO_FOLDER
    for photo in session.scalars(query.order_by(Photo.id)):
        source = Path(photo.stored_path)
        if not source.is_file():
            missing.append(photo.stored_path)
            continue
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / _photo_copy_name(photo)
        shutil.copy2(source, target)
        written.append(target)
    return written, missing


def restore_photo_files(document: dict[str, Any], photos_dir: str | Path, *, check_only: bool = False) -> int:
    """Put photo files from an export's ``photos`` folder back at their stored paths.

    A file is restored only where nothing exists at its stored path yet and its SHA-256 matches the
    exported row, so a restore never overwrites or silently substitutes an image. ``check_only`` verifies
    every copy without writing (run it before importing the rows, so a bad copy stops the whole import).

    Returns
    -------
    int
        How many files were restored.

    Raises
    ------
    DataFileError
        When a copy in the export does not match its row's checksum.
    """
    photos_dir = Path(photos_dir)
    restored = 0
    for row in document.get("tables", {}).get("photo", []):
        source = photos_dir / _photo_copy_name(row)
        target = Path(str(row["stored_path"]))
        if not source.is_file() or target.exists():
            continue
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        if digest != row["sha256"]:
            raise DataFileError(
                f"{source}: its SHA-256 does not match photo {row['id']} in the export; not restored.",
                path=str(source),
                column="sha256",
            )
        if not check_only:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        restored += 1
    return restored
