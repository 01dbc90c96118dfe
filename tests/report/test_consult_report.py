"""The consult report end to end: the example journal to a PDF read back with poppler, thin journals, bad input."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from report_pdf_tools import DEMO_NAME, PHOTO_SHIFT_PX, pdf_pages, pdf_text, pdf_tool

import regrow.report
from regrow import journal as jr
from regrow.errors import InputError, MissingExtraError, NotFoundError
from regrow.report import (
    consult_report_data,
    consult_report_html,
    consult_report_pdf,
    render_consult_pdf,
    visit_dates,
)
from regrow.web._wording import VERDICT_LABELS

NOW = dt.datetime(2026, 6, 2, 9, 30, tzinfo=dt.UTC)


def test_public_names() -> None:
    assert regrow.report.__all__ == [
        "consult_report_data",
        "consult_report_html",
        "consult_report_pdf",
        "render_consult_pdf",
        "visit_dates",
    ]


@pytest.fixture(scope="module")
def demo_report(demo_journal) -> tuple[dict, bytes]:
    data = consult_report_data(demo_journal.engine, demo_journal.store, demo_journal.person_id, now=NOW)
    return data, render_consult_pdf(data)


def _visit_days(journal) -> list[dt.date]:
    """The days with a measurement or a photo, read straight from the journal."""
    with jr.session_scope(journal.engine) as session:
        rows = jr.list_measurements(session, person_id=journal.person_id)
        rows += jr.list_photos(session, person_id=journal.person_id)
        return sorted({r.taken_at.date() for r in rows})


def test_demo_report_is_a_pdf_with_the_patient_visit_verdict_and_units(demo_journal, demo_report, tmp_path):
    from regrow.web._service import JournalService

    data, pdf = demo_report
    assert pdf.startswith(b"%PDF-")
    assert pdf_pages(pdf, tmp_path) >= 1
    text = pdf_text(pdf, tmp_path)
    # the visit: the latest day with a measurement
    latest = _visit_days(demo_journal)[-1]
    assert data["visit"]["date"] == latest.isoformat()
    assert latest.isoformat() in text
    assert DEMO_NAME in text
    # the verdict is the progress model's, as the web Progress page shows it for the same journal
    report, _ = JournalService(demo_journal.engine, photos_dir=demo_journal.root / "photos").progress()
    assert data["progress"]["verdict"] == report["verdict"]
    assert VERDICT_LABELS[report["verdict"]] in text
    assert " ".join(report["reason"].split()) in text
    for unit in ("hairs/cm²", "cm²", "weeks since the treatment start", "density (hairs/cm²)"):
        assert unit in text
    assert "supports, not replaces, clinical judgement" in text
    assert "Page 1 of" in text
    assert f"Generated {NOW:%Y-%m-%d %H:%M} UTC" in text


def test_demo_report_holds_profile_plan_adherence_safety_and_evidence(demo_journal, demo_report, tmp_path):
    from regrow.evidence import load_data, review_comparison
    from regrow.evidence._expected import EXPECTED_COMPARISON

    data, pdf = demo_report
    text = pdf_text(pdf, tmp_path)
    visit = dt.date.fromisoformat(data["visit"]["date"])
    # fill_demo: a man born 34 years before DEMO_TODAY's year, AGA, Norwood-Hamilton III-vertex
    assert data["patient"]["age_years"] == 34 and "34 years" in text
    assert "Androgenetic alopecia" in text and "Norwood-Hamilton III-vertex" in text
    with jr.session_scope(demo_journal.engine) as session:
        plan = jr.get_active_plan(session, person_id=demo_journal.person_id)
        sessions = [
            s
            for s in jr.list_sessions(session, person_id=demo_journal.person_id)
            if s.performed_at.date() <= visit
        ]
        events = jr.list_events(session, person_id=demo_journal.person_id)
        start, name, length = plan.start_date, plan.name, plan.length_weeks
    assert name in text
    assert f"week {(visit - start).days // 7 + 1} of {length}" in text
    assert data["adherence"]["done_to_date"] == len(sessions)
    assert f"{len(sessions)} of {data['adherence']['planned_to_date']} planned" in text
    # the demo's one adverse event (erythema after the first session), with its day
    assert [e["kind"] for e in data["safety"]["events"]] == [e.kind for e in events] == ["erythema"]
    assert f"{events[0].onset_at.date().isoformat()} erythema mild" in text
    main = review_comparison(load_data(), EXPECTED_COMPARISON)
    assert data["evidence"]["comparison"]["certainty"] == main.certainty.label
    assert main.comparison.title in text
    assert f"certainty): {main.certainty.label}" in text
    assert data["missing"] == ["No photos up to this visit: no before/after images."]  # hand counts only


def _image_count(pdf: bytes, tmp_path) -> int:
    path = tmp_path / "images.pdf"
    path.write_bytes(pdf)
    listing = subprocess.run(
        [pdf_tool("pdfimages"), "-list", str(path)], capture_output=True, check=True, text=True
    ).stdout
    return len([line for line in listing.splitlines()[2:] if line.strip()])


@pytest.mark.slow
def test_demo_with_measured_photos_shows_first_and_visit_photo_of_each_site(demo_photo_journal, tmp_path):
    journal = demo_photo_journal
    data = consult_report_data(journal.engine, journal.store, journal.person_id, now=NOW)
    with jr.session_scope(journal.engine) as session:
        photos = jr.list_photos(session, person_id=journal.person_id)
        sites = sorted({p.site for p in photos})
        first = {s: min(p.taken_at for p in photos if p.site == s).date().isoformat() for s in sites}
        latest = max(p.taken_at for p in photos).date().isoformat()
    assert data["visit"]["date"] == latest
    assert [pair["site"] for pair in data["photos"]] == sites
    for pair in data["photos"]:
        assert pair["before"]["date"] == first[pair["site"]]
        assert pair["after"]["date"] == latest and pair["after_is_visit"]
        assert pair["after"]["density_per_cm2"] > 0  # measured on upload
    pdf = render_consult_pdf(data)
    assert _image_count(pdf, tmp_path) == 2 * len(sites)  # a before and an after image per site
    text = pdf_text(pdf, tmp_path)
    assert DEMO_NAME in text and latest in text and "hairs/cm²" in text


def test_photos_before_after_lined_up_and_a_single_photo_said(photo_journal, tmp_path):
    data = consult_report_data(photo_journal.engine, photo_journal.store, photo_journal.person_id, now=NOW)
    assert data["visit"]["date"] == "2026-03-02"
    frontal, vertex = data["photos"]
    assert (frontal["site"], frontal["after"], frontal["before"]["date"]) == ("frontal", None, "2026-03-02")
    assert (vertex["before"]["date"], vertex["after"]["date"]) == ("2026-01-05", "2026-03-02")
    assert vertex["before"]["density_per_cm2"] == pytest.approx(150.0)  # 30 hairs in 0.2 cm2
    html = consult_report_html(data)
    pdf = render_consult_pdf(data)
    assert _image_count(pdf, tmp_path) == 3
    text = pdf_text(pdf, tmp_path)
    assert "only one photo of this site so far: nothing to compare with yet" in text
    # the later vertex photo is the same scalp 12 px lower and 20 px right: the report lines it up
    dy, dx = PHOTO_SHIFT_PX
    assert f"shifted {dx}, {dy} px" in text or f"shifted {-dx}, {-dy} px" in text
    assert html.count("data:image/jpeg;base64,") == 3


def test_demo_pages_render_as_pictures(demo_report, tmp_path):
    from PIL import Image

    _, pdf = demo_report
    path = tmp_path / "demo.pdf"
    path.write_bytes(pdf)
    subprocess.run([pdf_tool("pdftoppm"), "-png", "-r", "40", str(path), str(tmp_path / "p")], check=True)
    pngs = sorted(tmp_path.glob("p-*.png"))
    assert len(pngs) == pdf_pages(pdf, tmp_path)
    for png in pngs:
        with Image.open(png) as im:
            # A4 at 40 dpi: 331 x 468 px (portrait)
            assert (abs(im.width - 331) <= 1, abs(im.height - 468) <= 1) == (True, True)


def test_earlier_visit_shows_the_journal_as_it_was(demo_journal, tmp_path):
    days = _visit_days(demo_journal)
    earlier = days[1]
    data = consult_report_data(
        demo_journal.engine, demo_journal.store, demo_journal.person_id, visit=earlier.isoformat(), now=NOW
    )
    with jr.session_scope(demo_journal.engine) as session:
        counted = [
            m
            for m in jr.list_measurements(session, person_id=demo_journal.person_id)
            if m.taken_at.date() <= earlier
        ]
    assert data["visit"] == {
        "date": earlier.isoformat(),
        "chosen": "given",
        "number": 2,
        "available": [d.isoformat() for d in days],
    }
    assert all(
        v["measured_on"] <= earlier.isoformat() for s in data["progress"]["sites"] for v in s["visits"]
    )
    assert data["progress"]["n_measurements"] == len(counted) == 8  # 2 visits x 2 sites x 2 counts
    assert data["adherence"]["as_of"] == earlier.isoformat()
    assert all(e["onset"][:10] <= earlier.isoformat() for e in data["safety"]["events"])


def test_unknown_visit_lists_the_visit_dates(demo_journal):
    days = [d.isoformat() for d in _visit_days(demo_journal)]
    with pytest.raises(InputError) as err:
        consult_report_data(
            demo_journal.engine, demo_journal.store, demo_journal.person_id, visit="2026-01-01"
        )
    message = str(err.value)
    assert "visit" in message and "2026-01-01" in message
    assert all(day in message for day in days)
    with pytest.raises(InputError, match="visit"):
        consult_report_data(
            demo_journal.engine, demo_journal.store, demo_journal.person_id, visit="last week"
        )


def test_unknown_patient_is_not_found(demo_journal):
    with pytest.raises(NotFoundError, match="999"):
        consult_report_data(demo_journal.engine, demo_journal.store, 999)
    with pytest.raises(InputError, match="person_id"):
        consult_report_data(demo_journal.engine, demo_journal.store, "1")


def test_thin_journal_renders_and_says_what_is_missing(thin_journal, tmp_path):
    with jr.session_scope(thin_journal.engine) as session:
        before = jr.snapshot(session)
    pdf = consult_report_pdf(thin_journal.engine, thin_journal.store, thin_journal.person_id, now=NOW)
    with jr.session_scope(thin_journal.engine) as session:
        assert jr.snapshot(session) == before  # the report writes nothing
    text = pdf_text(pdf, tmp_path)
    assert "Robin Thin" in text and "2026-03-02" in text
    assert "No profile" in text
    assert "No treatment plan" in text
    assert "No photos up to this visit" in text
    assert "Only 1 visit measured at the vertex (2026-03-02): a trend needs at least two." in text
    assert "No plan, so there is nothing to compare the sessions with." in text
    assert "122.0" in text  # 61 hairs in 0.5 cm2


def test_patient_without_any_visit_renders(empty_url, tmp_path):
    engine = jr.open_journal(empty_url)
    try:
        with jr.session_scope(engine) as session:
            person_id = jr.create_person(session, display_name="Sam New").id
        store = jr.PhotoStore(tmp_path / "photos")
        data = consult_report_data(engine, store, person_id, now=NOW)
        with pytest.raises(InputError, match="has none yet"):
            consult_report_data(engine, store, person_id, visit="2026-03-02")
        with jr.session_scope(engine) as session:
            assert visit_dates(session, person_id=person_id) == []
    finally:
        engine.dispose()
    assert data["visit"]["date"] is None and data["photos"] == []
    assert data["missing"][0].startswith("No photos or measurements yet")
    text = pdf_text(render_consult_pdf(data), tmp_path)
    assert "Sam New" in text and "none yet" in text
    assert "No hair counts up to this visit" in text


def test_missing_photo_file_is_named_not_a_crash(photo_journal, tmp_path):
    data = consult_report_data(photo_journal.engine, photo_journal.store, photo_journal.person_id, now=NOW)
    vertex = data["photos"][1]
    Path(vertex["before"]["path"]).unlink()
    pdf = render_consult_pdf(data)
    text = pdf_text(pdf, tmp_path)
    assert "The before photo of 2026-01-05 is missing from the photo folder." in text
    assert "photo file not available" in text
    assert _image_count(pdf, tmp_path) == 2


def test_missing_weasyprint_names_the_extra(thin_journal, monkeypatch):
    import sys

    data = consult_report_data(thin_journal.engine, thin_journal.store, thin_journal.person_id, now=NOW)
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    with pytest.raises(MissingExtraError, match=r"regrow\[clinic\]"):
        render_consult_pdf(data)


def test_stop_findings_are_announced_on_the_first_page(thin_journal, tmp_path):
    with jr.session_scope(thin_journal.engine) as session:
        jr.set_screening(session, person_id=thin_journal.person_id, answers={"active_scalp_infection": True})
        jr.add_event(
            session,
            person_id=thin_journal.person_id,
            kind="infection",
            severity="severe",
            onset_at=dt.datetime(2026, 3, 1, 9, 0),
        )
        # after the visit: not part of this visit's report
        jr.add_event(
            session,
            person_id=thin_journal.person_id,
            kind="pruritus",
            severity="mild",
            onset_at=dt.datetime(2026, 3, 9, 9, 0),
        )
    data = consult_report_data(thin_journal.engine, thin_journal.store, thin_journal.person_id, now=NOW)
    assert [e["kind"] for e in data["safety"]["events"]] == ["infection"]
    stops = [f for f in data["safety"]["findings"] if f["severity"] == "stop"]
    assert len(stops) == 2  # the infection answered in screening, and the open severe event
    pdf = render_consult_pdf(data)
    path = tmp_path / "stop.pdf"
    path.write_bytes(pdf)
    first_page = subprocess.run(
        [pdf_tool("pdftotext"), "-f", "1", "-l", "1", str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    assert "Safety: 2 stop findings" in " ".join(first_page.split())
    text = pdf_text(pdf, tmp_path)
    assert "2026-03-01 infection severe not yet" in text and "pruritus" not in text


def test_text_from_the_journal_is_text_not_markup(thin_journal, tmp_path):
    name = '<img src="file:///etc/hostname"> Lee & <b>Co</b>'
    with jr.session_scope(thin_journal.engine) as session:
        jr.get_person(session, person_id=thin_journal.person_id).display_name = name
    data = consult_report_data(thin_journal.engine, thin_journal.store, thin_journal.person_id, now=NOW)
    assert "&lt;img src=" in consult_report_html(data)
    assert name in pdf_text(render_consult_pdf(data), tmp_path)


def test_a_session_works_as_well_as_an_engine_and_the_data_is_json(demo_journal):
    import json

    by_engine = consult_report_data(demo_journal.engine, demo_journal.store, demo_journal.person_id, now=NOW)
    with jr.session_scope(demo_journal.engine) as session:
        by_session = consult_report_data(session, demo_journal.store, demo_journal.person_id, now=NOW)
    assert by_session == by_engine
    assert json.loads(json.dumps(by_engine, allow_nan=False)) == by_engine


def test_drawing_a_report_does_not_make_regrow_accept_truncated_images(thin_journal, tmp_path):
    """WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES at import; a server that drew a report must
    still refuse a JPEG cut short."""
    import numpy as np
    from PIL import Image

    from regrow.errors import ImageError
    from regrow.measure import load_image_safely
    from regrow.report import consult_report_pdf

    pdf = consult_report_pdf(thin_journal.engine, thin_journal.store, thin_journal.person_id)
    assert pdf.startswith(b"%PDF")
    full = tmp_path / "full.jpg"
    pixels = np.random.default_rng(3).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(full, quality=90)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(ImageError, match="complete"):
        load_image_safely(cut)
