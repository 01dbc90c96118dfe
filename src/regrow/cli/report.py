"""``regrow report``: the consult report of one patient and visit as a PDF.

Thin: open the journal, call :func:`regrow.report.consult_report_data` and
:func:`regrow.report.render_consult_pdf`, write the file. WeasyPrint (the ``clinic`` extra) is imported only
when the PDF is drawn.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import typer

from regrow.cli._common import DATABASE_URL_ENV, emit_json, lazy_module
from regrow.cli._options import PhotosDirOption
from regrow.errors import InputError

__all__ = ["register"]

jr = lazy_module("regrow.journal")

#: A step that takes longer than this says what it is doing on stderr.
NOTICE_AFTER_S = 1.0


class _Notice:
    """Prints ``message`` on stderr if the work inside takes longer than :data:`NOTICE_AFTER_S`."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.shown = False
        self._timer = threading.Timer(NOTICE_AFTER_S, self._show)
        self._timer.daemon = True

    def _show(self) -> None:
        self.shown = True
        print(self.message, file=sys.stderr, flush=True)

    def __enter__(self) -> _Notice:
        self._start = time.perf_counter()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        if self.shown and exc[0] is None:
            print(f"  done in {time.perf_counter() - self._start:.1f} s", file=sys.stderr, flush=True)


def report(
    out: Path = typer.Option(..., "--out", help="Where to write the PDF (e.g. consult.pdf)."),
    patient: int | None = typer.Option(
        None, "--patient", help="The patient's person id; default: the journal's default person."
    ),
    visit: str | None = typer.Option(
        None,
        "--visit",
        help="Visit day (YYYY-MM-DD), a day with a photo or a measurement; default: the latest such day.",
    ),
    db: str | None = typer.Option(
        None,
        "--db",
        envvar=DATABASE_URL_ENV,
        help="Journal database URL (SQLite or postgresql+psycopg://); default: SQLite in your user data folder.",
    ),
    photos_dir: Path | None = PhotosDirOption,
    rules_file: Path | None = typer.Option(
        None, "--rules", help="A clinic's YAML rule overrides (by rule id)."
    ),
    evidence_file: Path | None = typer.Option(
        None, "--evidence", help="Evidence YAML for the evidence summary; default: as `regrow evidence` uses."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of text."),
) -> None:
    """Write the consult report of one patient and visit as a PDF (A4).

    Photos before/after per site, the density trend with 95% intervals, the progress verdict, adherence,
    safety findings and adverse events, and the review's verdict with its certainty.
    """
    from regrow.report import consult_report_data
    from regrow.report._render import import_weasyprint, render_pdf

    if out.suffix.lower() != ".pdf":
        raise InputError.invalid("--out", str(out), "a file name ending in .pdf")
    if out.is_dir():
        raise InputError.invalid("--out", str(out), "a file path, not a folder")
    import_weasyprint()  # fail before reading anything when the extra is missing
    started = time.perf_counter()
    engine = jr.open_journal(db)
    try:
        store = jr.PhotoStore(jr.default_photos_dir(str(engine.url), photos_dir))
        if patient is None:
            with jr.session_scope(engine) as session:
                patient = jr.get_or_create_default_person(session).id
        with _Notice("Reading the journal and the evidence review..."):
            data = consult_report_data(
                engine, store, patient, visit=visit, rules=rules_file, evidence_file=evidence_file
            )
        from regrow.clinic import record_for_patients  # a clinic's patient: the export is audited

        record_for_patients(engine, [patient], action="export", what=f"regrow report --out {out}")
    finally:
        engine.dispose()
    with _Notice(f"Drawing the PDF ({len(data['photos'])} sites with photos)..."):
        pdf, pages = render_pdf(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    partial.write_bytes(pdf)
    partial.replace(out)  # never a half-written report under the final name
    seconds = time.perf_counter() - started
    if as_json:
        emit_json(
            {
                "out": str(out),
                "bytes": len(pdf),
                "pages": pages,
                "seconds": round(seconds, 2),
                "patient_id": patient,
                "visit": data["visit"]["date"],
                "available_visits": data["visit"]["available"],
                "verdict": data["progress"]["verdict"],
                "missing": data["missing"],
            }
        )
        return
    when = data["visit"]["date"] or "no visit yet"
    typer.echo(
        f"Consult report for patient {patient}, visit {when}: {out} ({pages} pages, {len(pdf) // 1024} KiB)"
    )
    for line in data["missing"]:
        typer.echo(f"  missing: {line}")


def register(app: typer.Typer) -> None:
    """Mount ``report``."""
    app.command("report")(report)
