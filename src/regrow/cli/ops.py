"""Operations: ``regrow backup`` and ``regrow restore`` (a whole journal and its photos, SQLite or PostgreSQL).

Thin: parse, call :func:`regrow.journal.backup_journal` / :func:`~regrow.journal.restore_journal`, print.
SQLAlchemy loads only when a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from regrow.cli._common import DATABASE_URL_ENV, emit_json, lazy_module
from regrow.cli._options import PhotosDirOption
from regrow.errors import InputError

__all__ = ["register"]

jr = lazy_module("regrow.journal")

DbOption = typer.Option(
    None,
    "--db",
    envvar=DATABASE_URL_ENV,
    help="Journal database URL (SQLite or postgresql+psycopg://); default: SQLite in your user data folder.",
)
JsonOption = typer.Option(False, "--json", help="Print JSON instead of text.")


def _engine(db: str | None, *, must_exist: bool) -> Any:
    """An engine on ``db`` without creating or migrating anything (a missing SQLite file is refused when
    ``must_exist``: a backup of nothing is a mistake, not an empty backup)."""
    from sqlalchemy.engine import make_url

    url = db or jr.default_database_url()
    try:
        parsed = make_url(url)
    except Exception:
        parsed = None  # make_engine reports the bad URL
    database = parsed.database if parsed is not None and parsed.get_backend_name() == "sqlite" else None
    on_disk = bool(database) and database != ":memory:" and not database.startswith("file:")
    if must_exist and on_disk and not Path(database).expanduser().is_file():
        raise InputError.invalid("db", url, "an existing journal (no SQLite file is there)")
    return jr.make_engine(url)


def backup(
    out: str = typer.Option(
        ...,
        "--out",
        metavar="PATH",
        help="The backup file to write (.zip), or a folder (existing, or ending in /) to write "
        "regrow-backup-<UTC time>.zip into.",
    ),
    db: str | None = DbOption,
    photos_dir: Path | None = PhotosDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Back up the whole journal (every table) and its photo folder into one ZIP file, as one snapshot."""
    engine = _engine(db, must_exist=True)
    try:
        store = jr.PhotoStore(jr.default_photos_dir(str(engine.url), photos_dir))
        summary = jr.backup_journal(engine, store, out)
    finally:
        engine.dispose()
    if as_json:
        emit_json(summary.to_dict())
        return
    rows = sum(summary.rows.values())
    typer.echo(
        f"Backed up {rows} rows in {len(summary.rows)} tables and {summary.photo_files} photo files "
        f"(+{summary.trash_files} restorable deleted) at revision {summary.revision} to {summary.path} "
        f"({summary.size_bytes / 1e6:.1f} MB)."
    )
    if summary.missing_photo_files:
        typer.echo(
            f"warning: {len(summary.missing_photo_files)} photo files were missing or damaged in the photo folder "
            f"and are not in the backup (first: {summary.missing_photo_files[0]}).",
            err=True,
        )


def restore(
    file: Path = typer.Argument(..., help="A backup written by `regrow backup`."),
    db: str | None = DbOption,
    photos_dir: Path | None = PhotosDirOption,
    replace: bool = typer.Option(
        False, "--replace", help="Wipe the journal and restore in one transaction (all or nothing)."
    ),
    check: bool = typer.Option(
        False, "--check", help="Verify the backup whole (checksums, rows, photos) and write nothing."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Restore a backup into an empty database (SQLite or PostgreSQL), then upgrade it to this regrow."""
    if check:
        facts = jr.verify_backup(file)
        if as_json:
            emit_json(facts)
            return
        typer.echo(
            f"{file.name}: intact. {sum(facts['rows'].values())} rows in {len(facts['rows'])} tables, "
            f"{facts['photo_files']} photo files, revision {facts['alembic_revision']}, taken "
            f"{facts['created_at']} from {facts['backend']}."
        )
        return
    engine = _engine(db, must_exist=False)
    try:
        store = jr.PhotoStore(jr.default_photos_dir(str(engine.url), photos_dir))
        summary = jr.restore_journal(engine, store, file, replace=replace)
    finally:
        engine.dispose()
    if as_json:
        emit_json(summary.to_dict())
        return
    typer.echo(
        f"Restored {sum(summary.rows.values())} rows in {len(summary.rows)} tables and "
        f"{summary.photo_files_written + summary.photo_files_present} photo files (revision "
        f"{summary.revision_restored}, now {summary.revision_now})."
    )


def register(app: typer.Typer) -> None:
    """Mount ``backup`` and ``restore`` on the root app."""
    app.command("backup")(backup)
    app.command("restore")(restore)
