"""Issue 14 without a browser: registration of two photos, plain wording, chart geometry and events, the home
dashboard, the before/after page and the help pages (in-process client)."""

from __future__ import annotations

import datetime as dt
import io
import re
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import shift as nd_shift

from conftest import UM_PER_PX
from regrow._compare import MAX_ERROR, align_photos, apply_alignment
from regrow.web import fill_demo
from regrow.web._charts import PAUSE_AFTER_DAYS, SIZES, site_chart, treatment_events
from regrow.web._pages_guide import HELP_TOPICS
from regrow.web._wording import VERDICT_LABELS, plain_text, verdict_sentence

D = dt.date


@pytest.fixture(scope="module")
def scalp() -> np.ndarray:
    from regrow.measure import synthesize

    return synthesize(shape=(480, 640), um_per_px=UM_PER_PX, unit_density_per_cm2=70.0, seed=11).image


def _moved(image: np.ndarray, dy: float, dx: float, *, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    out = nd_shift(image.astype(float), (dy, dx, 0), order=1, mode="nearest")
    out += np.random.default_rng(seed).normal(0.0, noise, out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


# --- registration -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("dy", "dx"), [(0, 0), (-23, 41), (30, -12)])
def test_alignment_recovers_a_known_shift_within_two_pixels(scalp, dy, dx):
    later = _moved(scalp, dy, dx, noise=15.0, seed=dy + dx)
    found = align_photos(scalp, later, earlier_um_per_px=UM_PER_PX, later_um_per_px=UM_PER_PX)
    assert found.found and found.scale == 1.0 and found.error < MAX_ERROR
    # the shift that puts the later photo back: minus the one applied
    assert abs(found.shift_y_px + dy) <= 2.0 and abs(found.shift_x_px + dx) <= 2.0
    back = apply_alignment(later, found, scalp.shape[:2])
    inner = (slice(50, -50), slice(60, -60))
    assert np.abs(back[inner].astype(float) - scalp[inner]).mean() < 20.0


def test_alignment_brings_a_closer_photo_to_the_same_scale(scalp):
    from skimage.transform import rescale

    # the later photo was taken at 6.4 um per pixel: 1.25 times as many pixels per hair
    closer = rescale(scalp.astype(float), 1.25, channel_axis=2, order=1, preserve_range=True).astype(np.uint8)
    found = align_photos(scalp, closer, earlier_um_per_px=8.0, later_um_per_px=6.4)
    assert found.scale == pytest.approx(0.8) and found.found
    assert abs(found.shift_y_px) <= 2 and abs(found.shift_x_px) <= 2
    back = apply_alignment(closer, found, scalp.shape[:2])
    assert back.shape == scalp.shape
    assert np.abs(back[40:-40, 40:-40].astype(float) - scalp[40:-40, 40:-40]).mean() < 12.0


def test_unrelated_photos_are_not_lined_up(scalp):
    from regrow.measure import synthesize

    other = synthesize(shape=(480, 640), um_per_px=UM_PER_PX, unit_density_per_cm2=70.0, seed=99).image
    found = align_photos(scalp, other, earlier_um_per_px=None, later_um_per_px=UM_PER_PX)
    assert not found.found and found.shift_y_px == found.shift_x_px == 0.0 and found.scale == 1.0
    assert found.error > MAX_ERROR


# --- wording ------------------------------------------------------------------------------------------------


def test_plain_text_words_field_names_and_raw_values():
    assert plain_text("edited session 3: pain_0_10 None -> 4") == "edited session 3: pain (0-10) empty -> 4"
    assert plain_text("retired_at None -> '2026-10-30T19:00:00'") == "retired at empty -> '2026-10-30 19:00'"
    assert plain_text("minoxidil True") == "minoxidil yes"
    assert plain_text(None) == "–"
    assert plain_text("30.7 hairs/cm2 (95% CI -49 to 110); I2 = 89%; SDs imputed") == (
        "30.7 hairs/cm² (95% interval -49 to 110); I² = 89%; standard deviations imputed"
    )
    unknown = "Unknown device 1; must be one of your device ids: none yet (add one with `regrow device add`)."
    assert plain_text(unknown) == "Unknown device 1; must be one of your device ids: none yet."


def test_verdict_sentence_names_the_models_verdict_and_interval():
    site = {
        "site": "vertex",
        "verdict": "responding",
        "change_per_cm2": {"estimate": 12.4, "ci_lb": 3.1, "ci_ub": 21.7},
    }
    assert verdict_sentence(site) == (
        "Vertex: responding. Density changed by +12 hairs/cm² since the start (95% interval +3 to +22)."
    )
    early = {"site": "frontal", "verdict": "too_early", "change_per_cm2": {"estimate": None}}
    assert verdict_sentence(early) == "Frontal: too early to tell."
    assert set(VERDICT_LABELS) == {"too_early", "responding", "not_responding", "inconclusive", "declining"}


# --- charts -------------------------------------------------------------------------------------------------


def test_events_mark_start_minoxidil_plan_changes_pauses_and_a_stop():
    start = D(2026, 1, 1)
    sessions = [start + dt.timedelta(days=d) for d in (0, 7, 14, 21, 60, 74)]
    events = treatment_events(
        start=start,
        minoxidil_start=D(2026, 1, 3),
        plan_changes=[D(2026, 2, 1)],
        session_days=sessions,
        plan_active=True,
        last_day=D(2026, 5, 1),
    )
    kinds = [(e.kind, e.on) for e in events]
    assert kinds[:3] == [("started", start), ("minoxidil", D(2026, 1, 3)), ("paused", D(2026, 1, 22))]
    assert ("changed", D(2026, 2, 1)) in kinds
    gap = next(e for e in events if e.kind == "paused" and e.on == D(2026, 1, 22))
    assert gap.until == D(2026, 3, 2) and (gap.until - gap.on).days > PAUSE_AFTER_DAYS
    # no session from the last one (2026-03-16) to the last visit: a pause up to that visit
    assert events[-1].kind == "paused" and events[-1].until == D(2026, 5, 1)
    stopped = treatment_events(
        start=start,
        minoxidil_start=None,
        plan_changes=[],
        session_days=sessions,
        plan_active=False,
        last_day=None,
    )
    assert stopped[-1].kind == "stopped" and stopped[-1].on == sessions[-1]


def _site(weeks, values):
    visits = tuple(
        SimpleNamespace(
            weeks_since_start=w,
            mean_density_per_cm2=v,
            n_images=2,
            measured_on=D(2026, 1, 1) + dt.timedelta(weeks=w),
            baseline=w < 0,
            in_fit=True,
        )
        for w, v in zip(weeks, values, strict=True)
    )
    trajectory = {
        "weeks": [0.0, 12.0, 24.0],
        "estimate": [80.0, 86.0, 92.0],
        "lb": [75.0, 80.0, 84.0],
        "ub": [85.0, 92.0, 100.0],
    }
    return SimpleNamespace(
        visits=visits, trajectory=trajectory, baseline_per_cm2=SimpleNamespace(estimate=80.0)
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_chart_geometry_stays_inside_its_frame(size):
    site = _site([-1, 4, 8, 12, 16, 20, 24], [79, 82, 80, 86, 88, 90, 93])
    expected = {"change_per_cm2": 10.0, "ci_lb": -5.0, "ci_ub": 25.0, "weeks": 12.0}
    events = treatment_events(
        start=D(2026, 1, 1),
        minoxidil_start=None,
        plan_changes=[],
        session_days=[D(2026, 1, 1)],
        plan_active=False,
        last_day=None,
    )
    chart = site_chart(site, size=size, expected=expected, events=events, start=D(2026, 1, 1))
    width, height = chart["width"], chart["height"]
    assert len(chart["points"]) == 7 and chart["trend"].startswith("M") and chart["band"].endswith("Z")
    numbers = [float(n) for path in (chart["trend"], chart["band"]) for n in re.findall(r"-?\d+\.?\d*", path)]
    assert all(0 <= n <= max(width, height) for n in numbers)
    for p in chart["points"]:
        assert chart["left"] <= p["x"] <= chart["right"] and chart["top"] <= p["y"] <= chart["bottom"]
    # the expected band starts at the baseline at week 0 and opens to the trials' interval at week 12
    assert chart["expected"].startswith("M") and chart["expected"].endswith("Z")
    assert [e["kind"] for e in chart["events"]] == ["started", "stopped"]
    # higher density is drawn higher up (smaller y)
    assert chart["points"][-1]["y"] < chart["points"][0]["y"]


# --- pages --------------------------------------------------------------------------------------------------


def test_home_sentences_carry_the_progress_verdicts(app, client):
    fill_demo(app, months=4, images=False, replicates=2, today=D(2026, 6, 1), seed=5)
    from regrow import journal as jr
    from regrow import progress as pg
    from regrow.progress._journal import (
        context_from_journal,
        expected_from_evidence,
        observations_from_journal,
    )

    with jr.session_scope(app.state.engine) as session:
        me = jr.get_or_create_default_person(session).id
        obs = observations_from_journal(session, person_id=me)
        as_of = max(o.measured_on for o in obs)
        ctx = context_from_journal(session, person_id=me, as_of=as_of)
    report = pg.analyse_progress(
        obs, context=ctx, expected=expected_from_evidence((as_of - ctx.start).days / 7)
    )
    page = client.get("/").text
    shown = re.findall(r'data-site="([^"]+)" data-verdict="([^"]+)">([^<]+)</li>', page)
    assert [(s, v) for s, v, _ in shown] == [(s.site, str(s.verdict)) for s in report.sites]
    for (site, verdict, sentence), model in zip(shown, report.sites, strict=True):
        assert sentence.startswith(f"{site.capitalize()}: {VERDICT_LABELS[verdict].lower()}")
        change = model.change_per_cm2
        if change.estimate is not None and change.ci_lb is not None:
            assert f"(95% interval {change.ci_lb:+.0f} to {change.ci_ub:+.0f})" in sentence
    assert "Last 4 weeks" in page and "Next session due" in page and "Safety" in page
    progress = client.get("/progress").text
    for words in (
        "hairs per cm²",
        "weeks since you started",
        "What the trials saw",
        "chart-narrow",
        "chart-wide",
    ):
        assert words in progress


def _jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def test_compare_page_lines_up_two_visits(api, client, scalp):
    ids = []
    for day, image in (("2025-03-01", scalp), ("2025-06-01", _moved(scalp, 18, -25, noise=8.0))):
        r = api.post(
            "/api/photos",
            data={"site": "vertex", "taken_at": day, "um_per_px": str(UM_PER_PX)},
            files=[("files", ("scalp.jpg", _jpeg(image), "image/jpeg"))],
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["items"][0]["photo"]["id"])
    page = client.get("/compare", params={"site": "vertex"}).text
    shift = float(re.search(r"shifted by (\d+) pixels", page).group(1))
    assert abs(shift - (18**2 + 25**2) ** 0.5) <= 3
    assert f"/compare/aligned.png?a={ids[0]}&amp;b={ids[1]}&amp;layer=image" in page
    assert 'id="wipe-range"' in page and "hairs counted" in page
    png = client.get("/compare/aligned.png", params={"a": ids[0], "b": ids[1], "layer": "overlay"})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (640, 480)
    # the pair can be given either way round: the earlier photo is always "before"
    swapped = client.get("/compare", params={"site": "vertex", "a": ids[1], "b": ids[0]}).text
    assert re.search(r'id="f-a" name="a"><option value="\d+" selected>2025-03-01', swapped)
    missing = client.get("/compare", params={"site": "crown"}, headers={"accept": "text/html"})
    assert (
        missing.status_code == 404 and "No photos of the site" in missing.text and "dashboard" in missing.text
    )
    assert client.get("/compare", params={"a": "x"}).status_code == 404


def test_compare_without_photos_says_what_to_do(client):
    page = client.get("/compare").text
    assert "No photos yet" in page and 'href="/photos"' in page


def test_every_help_page_answers(client):
    index = client.get("/docs").text
    for slug, title, _ in HELP_TOPICS:
        assert f'href="/docs/{slug}"' in index
        page = client.get(f"/docs/{slug}")
        assert page.status_code == 200 and title in page.text
    assert client.get("/docs/nothing").status_code == 404


def test_progress_context_is_reused_only_while_its_inputs_are_unchanged(app, api):
    """The home and progress pages reuse the treatment context; any add, edit or delete makes a new one."""
    from regrow import journal as jr
    from regrow.progress._journal import context_from_journal, observations_from_journal
    from regrow.web._service import _journal_fingerprint

    fill_demo(app, months=3, images=False, replicates=1, today=D(2026, 6, 1), seed=2)
    service = app.state.service

    def fingerprint():
        with jr.session_scope(app.state.engine) as session:
            return _journal_fingerprint(session, jr.get_or_create_default_person(session).id)

    def fresh_context():
        with jr.session_scope(app.state.engine) as session:
            me = jr.get_or_create_default_person(session).id
            as_of = max(o.measured_on for o in observations_from_journal(session, person_id=me))
            return context_from_journal(session, person_id=me, as_of=as_of)

    first = fingerprint()
    service.progress(trajectory=False)
    assert fingerprint() == first  # reading changes nothing
    sessions = api.get("/api/sessions").json()["sessions"]
    last = sessions[-1]
    # an edit (same count, same ids) still changes the fingerprint: the history records it
    r = api.patch(f"/api/sessions/{last['id']}", json={"performed_at": "2026-05-31T07:00"})
    assert r.status_code == 200, r.text
    edited = fingerprint()
    assert edited != first
    service.progress(trajectory=False)
    (cached,) = service._context_cache.values()
    assert cached.last_session == fresh_context().last_session == D(2026, 5, 31)
    assert api.delete(f"/api/sessions/{last['id']}").status_code == 200
    assert fingerprint() != edited
    service.progress(trajectory=False)
    (cached,) = service._context_cache.values()
    assert cached == fresh_context() and cached.last_session < D(2026, 5, 31)


def _wait_jobs(client, ids: list[int], timeout_s: float = 60.0) -> list[dict]:
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        jobs = client.get("/api/photos/jobs", params={"ids": ",".join(map(str, ids))}).json()["jobs"]
        if all(j["state"] in ("done", "failed") for j in jobs):
            return jobs
        assert time.monotonic() < deadline, f"jobs still running: {jobs}"
        time.sleep(0.1)


def test_background_upload_answers_at_once_and_measures_in_turn(app, api, client, scalp):
    good = _jpeg(scalp)
    broken = good[: len(good) // 3]  # a JPEG cut short: it reads as a JPEG, measuring it fails
    r = api.post(
        "/api/photos",
        params={"background": "true"},
        data={"site": "vertex", "taken_at": "2025-03-01", "um_per_px": str(UM_PER_PX)},
        files=[("files", ("good.jpg", good, "image/jpeg")), ("files", ("cut.jpg", broken, "image/jpeg"))],
    )
    assert r.status_code == 202, r.text
    items = r.json()["items"]
    assert [i["name"] for i in items] == ["good.jpg", "cut.jpg"]
    assert all(i["job"]["state"] in ("queued", "measuring", "done", "failed") for i in items)
    done, cut = _wait_jobs(client, [i["job"]["id"] for i in items])
    assert done["state"] == "done" and done["measurement"]["hair_count"] > 0
    assert cut["state"] == "failed" and cut["error"]["message"] and "Traceback" not in cut["error"]["message"]
    photos = api.get("/api/photos").json()["photos"]
    assert [p["id"] for p in photos] == [done["photo"]["id"]]  # the failed one stored nothing
    assert client.get("/api/photos/jobs").json()["pending"] == 0
    assert client.get("/api/photos/jobs", params={"ids": "x"}).status_code == 422
    # the same image again is a likely duplicate: the job fails with the label that confirms it
    again = api.post(
        "/api/photos",
        params={"background": "true"},
        data={"site": "vertex", "taken_at": "2025-03-01", "um_per_px": str(UM_PER_PX)},
        files=[("files", ("good.jpg", good, "image/jpeg"))],
    )
    (dup,) = _wait_jobs(client, [again.json()["items"][0]["job"]["id"]])
    assert dup["state"] == "failed" and dup["error"]["code"] == "duplicate" and dup["duplicate_label"]
    app.state.measure_queue.shutdown()


def test_journal_records_are_reused_until_anything_changes_even_from_another_process(app, api, web_settings):
    """The records behind Today, Home, Plan and Profile are read once per state of the journal; a change
    made elsewhere (here: a second app on the same file, as the CLI would be) is seen at once."""
    from regrow.web import create_app

    fill_demo(app, months=2, images=False, replicates=1, today=D(2026, 6, 1), seed=4)
    service = app.state.service
    first = service._records()
    assert service._records() is first  # nothing changed: the same object
    other = create_app(web_settings)
    try:
        device = other.state.service.devices()[-1]
        other.state.service.retire_device(device["id"], reason="blunt", at=None)
    finally:
        other.state.engine.dispose()
    after = service._records()
    assert after is not first
    retired = next(d for d in after.devices if d.id == device["id"])
    assert retired.retired_at is not None
    assert any(d["retired_at"] for d in api.get("/api/devices").json()["devices"] if d["id"] == device["id"])
    # an edit that keeps every count and id (a session's pain score) is seen too: the history has it
    session = api.get("/api/sessions").json()["sessions"][-1]
    assert api.patch(f"/api/sessions/{session['id']}", json={"pain_0_10": 9}).status_code == 200
    assert next(s for s in service._records().sessions if s.id == session["id"]).pain_0_10 == 9


def test_history_is_reused_until_a_change_and_sees_changes_from_elsewhere(app, api, web_settings):
    from regrow.web import create_app

    api.post("/api/devices", json={"name": "Roller", "kind": "roller", "needle_length_mm": 0.5})
    service = app.state.service
    first = service.history(limit=10)
    assert service.history(limit=10) is first  # nothing changed: reused
    other = create_app(web_settings)  # a second process on the same journal, as the CLI would be
    try:
        other.state.service.add_note({"text": "from elsewhere"})
    finally:
        other.state.engine.dispose()
    after = service.history(limit=10)
    assert after is not first and len(after["history"]) == len(first["history"]) + 1
    assert (
        "note" in after["history"][0]["summary"]
        and after["undoable"]["group_id"] == after["history"][0]["group_id"]
    )
    undone = api.post("/api/undo", json={"group_id": after["history"][0]["group_id"]})
    assert undone.status_code == 200, undone.text
    latest = service.history(limit=10)
    assert latest["history"][1]["undone_by"] == latest["history"][0]["group_id"]
