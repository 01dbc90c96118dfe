"""The journal's rows as plain data: snapshot, JSON and CSV documents, exact import, and deleting a person.

The JSON document is ``{"format": "regrow-journal", "format_version": 2, "schema_revision": ...,
"exported_at": ..., "tables": {table: [row, ...]}}`` with dates and times in ISO 8601 (the archive of
:mod:`regrow.journal._archive` carries it as ``journal.json`` beside the photo files). The CSV form is one
``<table>.csv`` per table plus the same header in ``manifest.json``; an empty cell is null and JSON columns
hold JSON text. Version 1 documents (photo rows with an absolute ``stored_path``) are still read: the path's
folder is ignored and only a name regrow wrote is accepted.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
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
    Change,
    Device,
    Disinfection,
    HairCorrection,
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
from ._photo_store import check_photo_file_name, legacy_photo_name
from ._private import private_dir, write_private

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "TABLES",
    "check_header",
    "delete_person_data",
    "export_csv",
    "export_document",
    "export_json",
    "import_data",
    "read_export",
    "snapshot",
]

FORMAT = "regrow-journal"
#: 2: photo rows carry ``file_name``; 1 (read only): photo rows carried an absolute ``stored_path``.
FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)
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
    HairCorrection,
    Change,
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
    private_dir(path.parent, tighten=False)
    return write_private(path, export_document(session, person_id=person_id))


def export_document(session: Session, *, person_id: int | None = None) -> bytes:
    """The JSON export document (header and every table) as UTF-8 bytes."""
    document = {**_header(session), "tables": snapshot(session, person_id=person_id)}
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False).encode("utf-8")


def export_csv(session: Session, out_dir: str | Path, *, person_id: int | None = None) -> list[Path]:
    """Write one CSV per table plus ``manifest.json`` into ``out_dir``.

    Returns
    -------
    list of pathlib.Path
        The files written, manifest last.
    """
    import io

    out_dir = private_dir(out_dir, tighten=False)
    written = []
    for name, rows in snapshot(session, person_id=person_id).items():
        columns = [c.key for c in _BY_NAME[name].__table__.columns]
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(_BY_NAME[name], col, row[col]) for col in columns])
        written.append(write_private(out_dir / f"{name}.csv", buffer.getvalue().encode("utf-8")))
    manifest = {**_header(session), "tables": [m.__tablename__ for m in TABLES]}
    written.append(write_private(out_dir / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8")))
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
        raise DataFileError(f"Export file {path.name!r} does not exist.", path=str(path)) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFileError(f"{path.name}: not a JSON journal export ({exc}).", path=str(path)) from exc
    check_header(document, path.name)
    return document


def check_header(document: Any, path: str | Path) -> None:
    """Refuse a document that is not a regrow journal export this version can read.

    Raises
    ------
    DataFileError
        Wrong ``format``, an unknown ``format_version``, or a schema revision newer than this regrow's.
    """
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DataFileError(f"{path}: 'format' must be {FORMAT!r}.", path=str(path), column="format")
    version = document.get("format_version")
    if version not in _READABLE_VERSIONS or isinstance(version, bool):
        raise DataFileError(
            f"{path}: unsupported format_version {version!r}; must be one of "
            f"{', '.join(map(str, _READABLE_VERSIONS))} (a newer regrow wrote it? upgrade regrow).",
            path=str(path),
            column="format_version",
        )
    revision = document.get("schema_revision")
    if revision is not None and revision not in _known_revisions():
        raise DataFileError(
            f"{path}: written by a newer regrow (schema revision {revision!r}); upgrade regrow to import it.",
            path=str(path),
            column="schema_revision",
        )


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    from ._engine import _alembic_config

    return {script.revision for script in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}


def _read_csv_folder(folder: Path) -> dict[str, Any]:
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError) as exc:
        raise DataFileError(
            f"{folder.name}: missing or unreadable manifest.json.", path=str(manifest_path)
        ) from exc
    check_header(manifest, f"{folder.name}/manifest.json")
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in manifest.get("tables", []):
        if name not in _BY_NAME:
            raise DataFileError(
                f"{folder.name}/manifest.json: unknown table {name!r}.", path=str(manifest_path)
            )
        model = _BY_NAME[name]
        csv_path = folder / f"{name}.csv"
        rows = []
        if not csv_path.is_file():
            raise DataFileError(f"{folder.name}: {csv_path.name} is missing.", path=str(csv_path))
        with csv_path.open(newline="", encoding="utf-8") as handle:
            for line, record in enumerate(csv.DictReader(handle), start=2):
                row = {}
                for key, cell in record.items():
                    if model is Photo and key == "stored_path":  # version 1: checked by import_data
                        row[key] = cell
                        continue
                    if key not in model.__table__.columns:
                        raise DataFileError(
                            f"{csv_path.name}: unknown column {key!r}.",
                            path=str(csv_path),
                            row=line,
                            column=key,
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
            f"{path.name} row {line} column {key!r}: bad value {cell!r} ({exc}).",
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
    from ._history import NO_HISTORY

    session.info[NO_HISTORY] = True  # the export carries its own history; an import is not undoable
    if replace:
        for model in reversed(TABLES):
            session.execute(delete(model))
    counts = {}
    for model in TABLES:
        name = model.__tablename__
        rows = tables.get(name, [])
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise DataFileError(f"table {name!r} must be a list of row objects.", column=name)
        if model is Photo:
            rows = [_photo_row(row, index) for index, row in enumerate(rows)]
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


def photo_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The photo rows of an export document, each with a checked ``file_name``.

    Raises
    ------
    DataFileError
        A row's file name is a path, or does not belong to its ``sha256``.
    """
    tables = document.get("tables")
    if not isinstance(tables, dict):
        raise DataFileError("The export has no 'tables' object.", column="tables")
    rows = tables.get("photo", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise DataFileError("table 'photo' must be a list of row objects.", column="photo")
    return [_photo_row(row, index) for index, row in enumerate(rows)]


def _photo_row(row: dict[str, Any], index: int) -> dict[str, Any]:
    """A photo row with a checked ``file_name`` (from a version-1 ``stored_path`` when needed)."""
    where = f"table 'photo' row {index + 1}"
    row = dict(row)
    sha = str(row.get("sha256", "")).lower()
    if "stored_path" in row:
        row["file_name"] = legacy_photo_name(row.pop("stored_path"), sha, where=where)
    try:
        name = check_photo_file_name(row.get("file_name"), field="file_name")
    except InputError as exc:
        raise DataFileError(f"{where}: {exc}", row=index + 1, column="file_name") from exc
    if name[:64] != sha:
        raise DataFileError(
            f"{where}: file_name {name!r} does not belong to sha256 {sha!r}.",
            row=index + 1,
            column="file_name",
        )
    return row


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
        ``{"deleted": {table: rows}}``; the caller removes the photo files after the commit
        (:meth:`regrow.journal.PhotoStore.sweep`).
    """
    deleted = {}
    for model in reversed(TABLES):
        column = model.id if model is Person else model.person_id
        result = session.execute(delete(model).where(column == person_id))
        deleted[model.__tablename__] = result.rowcount
    return {"deleted": deleted}
