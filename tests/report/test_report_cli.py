"""``regrow report`` through :func:`regrow.cli.main`: the PDF file, ``--json``, and bad input as one line."""

from __future__ import annotations

import json
import sys

import pytest
from report_pdf_tools import DEMO_NAME, pdf_pages, pdf_text

from regrow import journal as jr
from regrow.cli import main


def _args(journal, *extra: str) -> list[str]:
    return ["report", "--db", journal.url, "--photos-dir", str(journal.root / "photos"), *extra]


def test_report_json_writes_the_pdf(demo_journal, tmp_path, capsys):
    out = tmp_path / "consult" / "alex.pdf"
    assert (
        main(_args(demo_journal, "--patient", str(demo_journal.person_id), "--out", str(out), "--json")) == 0
    )
    body = json.loads(capsys.readouterr().out)
    with jr.session_scope(demo_journal.engine) as session:
        days = sorted(
            {
                m.taken_at.date().isoformat()
                for m in jr.list_measurements(session, person_id=demo_journal.person_id)
            }
        )
    assert body["out"] == str(out) and body["patient_id"] == demo_journal.person_id
    assert body["visit"] == days[-1] and body["available_visits"] == days
    pdf = out.read_bytes()
    assert body["bytes"] == len(pdf) and pdf.startswith(b"%PDF-")
    assert body["pages"] == pdf_pages(pdf, tmp_path) >= 1
    assert not list(out.parent.glob("*.part"))  # written under a temporary name, then renamed
    text = pdf_text(pdf, tmp_path)
    assert DEMO_NAME in text and days[-1] in text


def test_report_default_patient_and_a_given_visit(demo_journal, tmp_path, capsys):
    out = tmp_path / "visit.pdf"
    with jr.session_scope(demo_journal.engine) as session:
        first = min(
            m.taken_at.date() for m in jr.list_measurements(session, person_id=demo_journal.person_id)
        )
    assert main(_args(demo_journal, "--visit", first.isoformat(), "--out", str(out))) == 0
    line = capsys.readouterr().out
    assert f"patient {demo_journal.person_id}, visit {first.isoformat()}: {out}" in line
    assert first.isoformat() in pdf_text(out.read_bytes(), tmp_path)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            ["--visit", "2020-01-01", "--out", "x.pdf"],
            "Invalid visit '2020-01-01'; must be one of the visit dates",
        ),
        (["--visit", "soon", "--out", "x.pdf"], "visit"),
        (["--patient", "404", "--out", "x.pdf"], "Unknown person_id 404"),
        (["--out", "report.txt"], "Invalid --out 'report.txt'; must be a file name ending in .pdf"),
    ],
)
def test_report_bad_input_is_one_line(demo_journal, tmp_path, capsys, monkeypatch, extra, expected):
    monkeypatch.chdir(tmp_path)
    assert main(_args(demo_journal, *extra)) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.pdf").exists()


def test_report_without_weasyprint_names_the_extra(demo_journal, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    assert main(_args(demo_journal, "--out", str(tmp_path / "x.pdf"))) == 2
    assert "pip install 'regrow[clinic]'" in capsys.readouterr().err
    assert not (tmp_path / "x.pdf").exists()


def test_slow_steps_say_what_they_do(demo_journal, tmp_path, capsys, monkeypatch):
    import regrow.cli.report as cli_report

    monkeypatch.setattr(cli_report, "NOTICE_AFTER_S", 0.0)  # every step counts as slow
    assert main(_args(demo_journal, "--out", str(tmp_path / "x.pdf"), "--json")) == 0
    captured = capsys.readouterr()
    assert "Reading the journal and the evidence review..." in captured.err
    assert "Drawing the PDF" in captured.err and "done in" in captured.err
    json.loads(captured.out)  # stdout stays pure JSON
