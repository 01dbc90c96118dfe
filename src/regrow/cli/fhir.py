"""``regrow fhir export | import | validate``: one patient as a FHIR R4B Bundle (JSON), and back.

Thin: parse, call :mod:`regrow.fhir`, print. fhir.resources (the ``clinic`` extra) is imported only inside
the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from regrow.cli._common import emit_json, lazy_module
from regrow.cli._options import PhotosDirOption
from regrow.cli.journal import DbOption, JsonOption, _journal
from regrow.errors import DataFileError, InputError

__all__ = ["register"]

jr = lazy_module("regrow.journal")
cl = lazy_module("regrow.clinic")

fhir_app = typer.Typer(
    help="FHIR R4B (R4-compatible) export and import of one patient: a Bundle in JSON with photos.",
    no_args_is_help=True,
)
PatientOption = typer.Option(
    None, "--patient", help="Patient (journal person) id; default: the default person."
)


def _fhir() -> Any:
    from regrow.errors import MissingExtraError

    try:
        import fhir.resources  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("fhir.resources", "clinic") from exc
    import regrow.fhir

    return regrow.fhir


def _read(file: Path, max_bytes: int) -> bytes:
    if not file.is_file():
        raise DataFileError(f"Bundle file {str(file)!r} does not exist.", path=str(file))
    size = file.stat().st_size
    if size > max_bytes:
        raise DataFileError(
            f"{file.name}: {size} bytes; at most {max_bytes} bytes are imported. Nothing was imported.",
            path=str(file),
        )
    return file.read_bytes()


@fhir_app.command("export")
def fhir_export(
    out: Path = typer.Option(..., "--out", help="The Bundle JSON file to write (mode 0600)."),
    patient: int | None = PatientOption,
    no_photos: bool = typer.Option(False, "--no-photos", help="Leave the photo bytes out (SHA-256 only)."),
    db: str | None = DbOption,
    photos_dir: Path | None = PhotosDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Write one patient's journal as a FHIR R4B collection Bundle (validated with fhir.resources)."""
    fhir = _fhir()
    from regrow.journal._private import private_dir, write_private

    with _journal(db, photos_dir) as (engine, store):
        with jr.session_scope(engine) as session:
            person_id = patient if patient is not None else jr.get_or_create_default_person(session).id
            bundle = fhir.export_bundle(session, store, person_id, include_photos=not no_photos)
        _audit(engine, person_id, "export", f"regrow fhir export --out {out}")
    data = json.dumps(bundle, ensure_ascii=False, allow_nan=False).encode("utf-8")
    private_dir(out.resolve().parent, tighten=False)
    write_private(out, data)
    counts: dict[str, int] = {}
    for entry in bundle["entry"]:
        kind = entry["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    body = {"file": str(out), "patient": person_id, "bytes": len(data), "resources": counts}
    if as_json:
        emit_json(body)
        return
    typer.echo(f"Wrote {out} ({len(data)} bytes): patient {person_id}, {len(bundle['entry'])} resources.")


@fhir_app.command("import")
def fhir_import(
    file: Path = typer.Argument(..., help="A FHIR Bundle JSON file (from `regrow fhir export`)."),
    patient: int | None = typer.Option(
        None, "--patient", help="Fill this existing, empty patient; default: create a new patient."
    ),
    allow_duplicate: bool = typer.Option(
        False, "--allow-duplicate", help="Import although this patient is already in the journal."
    ),
    clinic: int | None = typer.Option(
        None, "--clinic", help="Clinic id the new patient joins (a clinic database with several clinics)."
    ),
    db: str | None = DbOption,
    photos_dir: Path | None = PhotosDirOption,
    as_json: bool = JsonOption,
) -> None:
    """Import a FHIR Bundle as one patient: everything is checked first, then one transaction."""
    fhir = _fhir()
    data = _read(file, fhir.MAX_BUNDLE_BYTES)
    with _journal(db, photos_dir) as (engine, store):
        clinic_id = _clinic_for_import(engine, clinic, patient)
        if clinic_id is not None:  # a clinic's database: the new patient belongs to that clinic
            summary = cl.import_patient(
                engine, store, data, clinic_id=clinic_id, allow_duplicate=allow_duplicate
            )
        else:
            summary = fhir.import_bundle(
                engine, store, data, person_id=patient, allow_duplicate=allow_duplicate
            )
        _audit(engine, summary.person_id, "import", f"regrow fhir import {file.name}")
    if as_json:
        emit_json(summary.to_dict())
        return
    rows = sum(n for table, n in summary.rows.items() if table != "person")
    typer.echo(
        f"Imported {file.name} as patient {summary.person_id}: {rows} records, "
        f"{summary.photo_files_written} photo files written."
    )
    if summary.photos_without_files:
        typer.echo(
            f"{len(summary.photos_without_files)} photos had no bytes in the bundle and were left out."
        )


@fhir_app.command("validate")
def fhir_validate(
    file: Path = typer.Argument(..., help="A FHIR Bundle JSON file."),
    as_json: bool = JsonOption,
) -> None:
    """Check a Bundle without importing it: JSON, FHIR version, every resource, codes, units, photo hashes."""
    fhir = _fhir()
    data = _read(file, fhir.MAX_BUNDLE_BYTES)
    result = fhir.check_bundle(data)
    if as_json:
        emit_json({"file": str(file), "valid": True, **result})
        return
    typer.echo(f"{file.name}: valid FHIR {result['fhir_version']} Bundle, {result['entries']} resources.")


def register(app: typer.Typer) -> None:
    """Mount ``regrow fhir``."""
    app.add_typer(fhir_app, name="fhir")


def _audit(engine, person_id: int, action: str, what: str) -> None:
    """An audit entry when the patient is a clinic's (a home journal has no audit log)."""
    cl.record_for_patients(engine, [person_id], action=action, what=what)


def _clinic_for_import(engine, clinic: int | None, patient: int | None) -> int | None:
    """The clinic an imported patient joins: ``--clinic``, the only clinic, or none in a home journal."""
    with jr.session_scope(engine) as session:
        if clinic is None and not cl.list_clinics(session):
            return None
        if patient is not None:
            raise InputError.invalid(
                "--patient", patient, "left out in a clinic's database (the import registers a new patient)"
            )
        return cl.clinic_of(session, clinic).id
