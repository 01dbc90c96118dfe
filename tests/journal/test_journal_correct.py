"""Correct anything, lose nothing: edit, delete, history and undo; plausibility rules; duplicates; one count
per photo with its provenance; hand corrections; flagged values (the journal side of issue #12)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_journal_cli import run, run_json

from regrow import _edits
from regrow import journal as jr
from regrow.errors import DuplicateError, InputError, NotFoundError

TODAY = dt.date.today()
#: Every field of a plan (add_plan takes no defaults).
PLAN = dict(
    name="p",
    length_weeks=24,
    needle_length_mm=0.5,
    loading_interval_days=7,
    loading_sessions=4,
    maintenance_interval_days=14,
    minoxidil=False,
    minoxidil_strength_pct=None,
    minoxidil_times=[],
    minoxidil_hold_hours=24,
    prp_sessions=0,
    prp_interval_days=28,
    photo_interval_weeks=4,
    first_evaluation_week=12,
    decision_week=24,
)


def _base(engine) -> int:
    with jr.session_scope(engine) as s:
        me = jr.get_or_create_default_person(s).id
        jr.set_profile(s, person_id=me, birth_year=1980, medications=["finasteride"])
        device = jr.add_device(s, person_id=me, name="roller", kind="roller", needle_length_mm=0.5)
        jr.add_device(s, person_id=me, name="pen", kind="pen", needle_length_mm=1.0)
        for day in range(3):
            jr.add_session(
                s,
                person_id=me,
                device_id=device.id,
                performed_at=dt.datetime(2025, 1, 6 + 7 * day, 20),
                pain_0_10=2,
            )
            jr.add_dose(s, person_id=me, kind="minoxidil", taken_at=dt.datetime(2025, 1, 6 + 7 * day, 8))
        jr.add_event(s, person_id=me, kind="itch", severity="mild", onset_at="2025-01-07T09:00")
        jr.add_measurement(s, person_id=me, taken_at="2025-01-06", site="vertex", hair_count=15, area_cm2=0.1)
        jr.add_note(s, person_id=me, text="started")
    return me


def _rows(engine) -> dict:
    with jr.session_scope(engine) as s:
        snap = jr.snapshot(s)
    snap.pop("change")
    return snap


# --- edit / undo round trip (property) --------------------------------------------------------------------

EDITS = st.one_of(
    st.tuples(
        st.just("session"), st.sampled_from([1, 2, 3]), st.sampled_from(["pain_0_10", "notes", "passes"])
    ),
    st.tuples(st.just("dose"), st.sampled_from([1, 2, 3]), st.sampled_from(["strength", "notes"])),
    st.tuples(st.just("event"), st.just(1), st.sampled_from(["severity", "notes", "resolved_at"])),
    st.tuples(st.just("measurement"), st.just(1), st.sampled_from(["hair_count", "diameter_um", "site"])),
    st.tuples(st.just("device"), st.sampled_from([1, 2]), st.sampled_from(["name", "lot", "needle_count"])),
    st.tuples(
        st.just("delete"), st.sampled_from(["session", "dose", "event", "note"]), st.sampled_from([1, 2, 3])
    ),
    st.tuples(st.just("add"), st.just("dose"), st.integers(0, 50)),
)
VALUES = {
    "pain_0_10": st.integers(0, 10),
    "notes": st.text(alphabet="abc xyzé", min_size=1, max_size=12).filter(str.strip),
    "passes": st.integers(1, 8),
    "strength": st.sampled_from(["2%", "5%", None]),
    "severity": st.sampled_from(["mild", "moderate", "severe"]),
    "resolved_at": st.sampled_from(["2025-01-08T10:00", "2025-02-01T10:00", None]),
    "hair_count": st.integers(0, 50),
    "diameter_um": st.floats(20, 120),
    "site": st.sampled_from(["vertex", "crown", "frontal"]),
    "name": st.sampled_from(["roller A", "MF8"]),
    "lot": st.sampled_from(["L1", None]),
    "needle_count": st.integers(1, 540),
}


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_edits_then_as_many_undos_restore_the_original(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("undo")
    engine = jr.open_journal(f"sqlite:///{folder / 'j.sqlite'}")
    store = jr.PhotoStore(folder / "photos")
    try:
        me = _base(engine)
        original = _rows(engine)
        with jr.session_scope(engine) as s:
            groups_before = len(jr.list_history(s, person_id=me))
        for op, kind, arg in data.draw(st.lists(EDITS, min_size=1, max_size=8)):
            try:
                if op == "delete":
                    _edits.delete(engine, store, person_id=me, kind=kind, row_id=arg)
                elif op == "add":
                    with jr.session_scope(engine) as s:
                        jr.add_dose(
                            s,
                            person_id=me,
                            kind="other",
                            taken_at=dt.datetime(2025, 3, 1, 8) + dt.timedelta(days=arg),
                        )
                else:
                    value = data.draw(VALUES[arg])
                    _edits.edit(engine, person_id=me, kind=op, row_id=kind, fields={arg: value})
            except (InputError, NotFoundError):
                continue  # refused (a deleted row, a duplicate day): nothing changed, nothing to undo
        with jr.session_scope(engine) as s:
            applied = (
                len(jr.list_history(s, person_id=me)) - groups_before
            )  # an edit to the same value is none
        for _ in range(applied):
            _edits.undo(engine, store, person_id=me)
        assert _rows(engine) == original
        with jr.session_scope(engine) as s:
            groups = jr.list_history(s, person_id=me)
        assert sum(g.undo_of is not None for g in groups) == applied
    finally:
        engine.dispose()


def test_undo_walks_back_and_nothing_is_left_to_undo(engine):
    me = _base(engine)
    store = jr.PhotoStore("/nonexistent-never-used")
    with jr.session_scope(engine) as s:
        initial_groups = len(jr.list_history(s, person_id=me))
    for _ in range(initial_groups):
        _edits.undo(engine, store, person_id=me)
    assert all(not rows for rows in (v for k, v in _rows(engine).items() if k != "person"))
    with pytest.raises(NotFoundError, match="Nothing to undo"):
        _edits.undo(engine, store, person_id=me)


def test_history_names_interface_old_and_new_values(capsys, db_url):
    run_json(capsys, db_url, "device", "add", "--name", "r", "--kind", "roller", "--needle-length-mm", "0.5")
    run_json(
        capsys, db_url, "device", "edit", "1", "--set", "name=Dermaroller MF8", "--set", "needle_count=192"
    )
    history = run_json(capsys, db_url, "history")
    newest = history[0]
    assert newest["interface"] == "cli" and "Dermaroller MF8" in newest["summary"]
    (change,) = newest["changes"]
    assert change["old"]["name"] == "r" and change["new"]["name"] == "Dermaroller MF8"
    assert change["new"]["needle_count"] == 192
    undone = run_json(capsys, db_url, "undo")
    assert undone["undone"]["group_id"] == newest["group_id"]
    assert run_json(capsys, db_url, "device", "list")[0]["name"] == "r"
    assert run_json(capsys, db_url, "history")[1]["undone_by"] is not None


def test_a_refused_edit_changes_nothing_and_writes_no_history(capsys, db_url, snapshot_at):
    run_json(capsys, db_url, "device", "add", "--name", "r", "--kind", "roller", "--needle-length-mm", "0.5")
    before = snapshot_at(db_url)
    for args in (
        ["needle_length_mm=9"],
        ["needle_count=1000000000"],
        ["kind=drill"],
        ["colour=red"],
        ["name"],
    ):
        rc, _, err = run(capsys, db_url, "device", "edit", "1", *[x for a in args for x in ("--set", a)])
        assert rc == 2 and err.startswith("error: ") and "Traceback" not in err
    assert snapshot_at(db_url) == before


# --- plausibility rules ---------------------------------------------------------------------------------------


RANGED = [
    "hair_count",
    "density_per_cm2",
    "diameter_um",
    "pain_0_10",
    "needle_count",
    "area_cm2",
    "minoxidil_strength_pct",
]


@pytest.mark.parametrize("field", RANGED)
@settings(max_examples=30, deadline=None, derandomize=True)
@given(value=st.floats(-1e9, 1e9, allow_nan=False))
def test_every_range_accepts_inside_and_refuses_outside_with_its_source(field, value):
    rule = jr.plausible_range(field)
    if rule.integer:
        value = float(round(value))
    inside = (value > rule.low if rule.low_open else value >= rule.low) and value <= rule.high
    if inside:
        assert jr.check_range(field, value) == value
    else:
        with pytest.raises(InputError) as info:
            jr.check_range(field, value)
        message = str(info.value)
        assert f"{rule.high:g}" in message and "Source:" in message and rule.source[:30] in message


def test_every_range_cites_a_source_and_heuristics_say_so():
    rules = jr.plausibility()
    for field, spec in rules["ranges"].items():
        source = " ".join(str(spec["source"]).split())
        assert len(source) > 20, field
        assert spec["min"] <= (9999 if spec["max"] == "this_year" else spec["max"]), field
    for key in ("dates", "unusual", "duplicates"):
        assert rules[key]


@pytest.mark.parametrize(
    ("when", "ok"),
    [
        (TODAY.isoformat(), True),
        ((TODAY + dt.timedelta(days=1)).isoformat(), True),
        ((TODAY + dt.timedelta(days=3)).isoformat(), False),
        ("9999-12-31", False),
        ("1899-12-31", False),
        ("1979-06-01", False),  # before the birth year 1980
        ("1980-01-01", True),
    ],
)
def test_dates_are_checked_against_today_and_the_birth_year(engine, when, ok):
    me = _base(engine)
    with jr.session_scope(engine) as s:
        if ok:
            jr.add_dose(s, person_id=me, kind="finasteride", taken_at=when)
        else:
            with pytest.raises(InputError, match="taken_at"):
                jr.add_dose(s, person_id=me, kind="finasteride", taken_at=when)


def test_a_plan_may_start_within_a_year_but_not_in_9999(engine):
    me = _base(engine)
    fields = PLAN
    with jr.session_scope(engine) as s:
        jr.add_plan(s, person_id=me, start_date=TODAY + dt.timedelta(days=30), **fields)
        with pytest.raises(InputError, match="start_date"):
            jr.add_plan(s, person_id=me, start_date="9999-12-31", **fields)
        with pytest.raises(InputError, match="decision_week"):
            jr.add_plan(s, person_id=me, start_date=TODAY, **{**fields, "decision_week": 4})


def test_medications_must_name_something(engine):
    me = _base(engine)
    with jr.session_scope(engine) as s, pytest.raises(InputError, match="medications"):
        jr.set_profile(s, person_id=me, medications=["[]"])


# --- duplicates -------------------------------------------------------------------------------------------


def test_duplicates_are_refused_unless_confirmed(engine):
    me = _base(engine)
    with jr.session_scope(engine) as s:
        with pytest.raises(DuplicateError, match="already stored"):
            jr.add_session(s, person_id=me, device_id=1, performed_at="2025-01-06T21:30")
        with pytest.raises(DuplicateError):
            jr.add_dose(s, person_id=me, kind="minoxidil", taken_at="2025-01-06T08:40")
        with pytest.raises(DuplicateError):
            jr.add_measurement(
                s, person_id=me, taken_at="2025-01-06T18:00", site="vertex", hair_count=16, area_cm2=0.1
            )
        with pytest.raises(DuplicateError):
            jr.add_event(s, person_id=me, kind="itch", severity="mild", onset_at="2025-01-07T20:00")
        jr.add_dose(s, person_id=me, kind="minoxidil", taken_at="2025-01-06T20:00")  # twice daily is fine
        jr.add_session(s, person_id=me, device_id=1, performed_at="2025-01-06T21:30", allow_duplicate=True)


def test_the_cli_names_the_confirmation(capsys, db_url, snapshot_at):
    run_json(capsys, db_url, "device", "add", "--name", "r", "--kind", "roller", "--needle-length-mm", "0.5")
    run_json(capsys, db_url, "log", "session", "--device", "1", "--at", "2025-01-06T20:00")
    before = snapshot_at(db_url)
    rc, _, err = run(capsys, db_url, "log", "session", "--device", "1", "--at", "2025-01-06T21:00")
    assert rc == 2 and "--allow-duplicate" in err and snapshot_at(db_url) == before
    run_json(
        capsys, db_url, "log", "session", "--device", "1", "--at", "2025-01-06T21:00", "--allow-duplicate"
    )


def test_unknown_acknowledged_rule_ids_are_refused(capsys, db_url, snapshot_at):
    run_json(capsys, db_url, "device", "add", "--name", "r", "--kind", "roller", "--needle-length-mm", "0.5")
    before = snapshot_at(db_url)
    rc, _, err = run(
        capsys, db_url, "log", "session", "--device", "1", "--acknowledge", "no.such.rule", "--reason", "x"
    )
    assert rc == 2 and "no.such.rule" in err and "needle.clinic_only" in err
    assert snapshot_at(db_url) == before


# --- counts, corrections, review ----------------------------------------------------------------------------


def _photo(engine, store, me, *, hairs: int = 20) -> int:
    content = f"image bytes {hairs}".encode()
    with store.writing():
        name = store.put(content, ".png")
        store.put_derived(name[:64], "overlay", b"png")
        detections = [
            {
                "exit_x_px": 10.0 + 20 * i,
                "exit_y_px": 50.0,
                "tip_x_px": 10.0 + 20 * i,
                "tip_y_px": 150.0,
                "diameter_um": 70.0,
                "counted": True,
            }
            for i in range(hairs)
        ]
        store.put_derived(name[:64], "sidecar", json.dumps({"hairs": detections}).encode())
        with jr.session_scope(engine) as s:
            photo = jr.add_photo(
                s,
                person_id=me,
                taken_at="2025-02-03T10:00",
                site="vertex",
                file_name=name,
                sha256=name[:64],
                width=640,
                height=480,
            )
            jr.add_measurement(
                s,
                person_id=me,
                taken_at="2025-02-03T10:00",
                site="vertex",
                hair_count=hairs,
                area_cm2=0.1,
                photo_id=photo.id,
                source="image",
                um_per_px=4.0,
            )
            return photo.id


def test_one_count_per_photo_by_precedence_never_averaged(engine, tmp_path):
    me = _base(engine)
    store = jr.PhotoStore(tmp_path / "photos")
    photo = _photo(engine, store, me, hairs=14)

    def count():
        with jr.session_scope(engine) as s:
            m = next(m for m in jr.list_measurements(s, person_id=me) if m.photo_id == photo)
            return m.hair_count, m.count_source, m.density_per_cm2

    assert count() == (14, "automatic", pytest.approx(140.0))
    with jr.session_scope(engine) as s:
        m_id = next(m.id for m in jr.list_measurements(s, person_id=me) if m.photo_id == photo)
        jr.edit_record(s, person_id=me, kind="measurement", row_id=m_id, fields={"hair_count": 17})
    assert count() == (17, "manual", pytest.approx(170.0))  # replaces, not (14 + 17) / 2
    with jr.session_scope(engine) as s:
        jr.add_correction(s, person_id=me, photo_id=photo, action="add", x_px=300, y_px=200)
        jr.add_correction(s, person_id=me, photo_id=photo, action="add", x_px=320, y_px=200)
        removed = jr.add_correction(s, person_id=me, photo_id=photo, action="remove", x_px=11, y_px=100)
    assert count() == (14 + 2 - 1, "corrected", pytest.approx(150.0))  # corrected wins over manual
    with jr.session_scope(engine) as s:
        jr.delete_correction(s, person_id=me, correction_id=removed.id)
    assert count()[:2] == (16, "corrected")
    with jr.session_scope(engine) as s:
        with pytest.raises(InputError, match="x_px"):
            jr.add_correction(s, person_id=me, photo_id=photo, action="add", x_px=700, y_px=10)
        for c in jr.list_corrections(s, person_id=me, photo_id=photo):
            jr.delete_correction(s, person_id=me, correction_id=c.id)
    assert count()[:2] == (17, "manual")


def test_corrections_export_as_pascal_voc(engine, tmp_path):
    from xml.etree import ElementTree

    from regrow._labels import export_voc

    me = _base(engine)
    store = jr.PhotoStore(tmp_path / "photos")
    photo = _photo(engine, store, me, hairs=5)
    with jr.session_scope(engine) as s:
        jr.add_correction(s, person_id=me, photo_id=photo, action="remove", x_px=10, y_px=100)
        jr.add_correction(s, person_id=me, photo_id=photo, action="add", x_px=500, y_px=300)
    written = export_voc(engine, store, tmp_path / "labels", person_id=me)
    assert written["images"] == 1 and written["boxes"] == 5
    (xml,) = (tmp_path / "labels").glob("*.xml")
    tree = ElementTree.parse(xml)
    boxes = tree.findall("object/bndbox")
    assert len(boxes) == 5 and tree.findtext("object/name") == "hair"
    xmins = sorted(int(b.findtext("xmin")) for b in boxes)
    assert xmins[0] > 10  # the hair at x=10 was removed
    assert any(
        abs(int(b.findtext("xmin")) + int(b.findtext("xmax")) - 1000) <= 2 for b in boxes
    )  # the added one


def test_an_unusual_drop_is_flagged_not_used_until_accepted(engine):
    me = _base(engine)
    with jr.session_scope(engine) as s:
        m = jr.add_measurement(
            s, person_id=me, taken_at="2025-02-06", site="vertex", hair_count=6, area_cm2=0.1
        )
        assert m.review_status == "flagged" and "fell 60%" in m.review_reason
        ok = jr.add_measurement(
            s, person_id=me, taken_at="2025-03-06", site="vertex", hair_count=14, area_cm2=0.1
        )
        assert ok.review_status is None  # compared with the last usable value (150), not the flagged one
        jr.review_measurement(s, person_id=me, measurement_id=m.id, accept=True)
        assert m.review_status == "accepted"
        with pytest.raises(InputError, match="not flagged"):
            jr.review_measurement(s, person_id=me, measurement_id=ok.id, accept=True)


def test_impossible_counts_are_refused_with_range_and_source(capsys, db_url, snapshot_at):
    before = snapshot_at(db_url)
    for extra in (["--count", "1000000000", "--area-cm2", "1"], ["--count", "100", "--area-cm2", "0.1"]):
        rc, _, err = run(
            capsys, db_url, "measurement", "add", "--site", "vertex", "--date", "2025-01-01", *extra
        )
        assert rc == 2 and "Source:" in err, err
    assert snapshot_at(db_url) == before


# --- deleting what others depend on --------------------------------------------------------------------------


def test_a_device_with_sessions_is_retired_or_refused_never_cascaded(engine, tmp_path):
    me = _base(engine)
    store = jr.PhotoStore(tmp_path / "p")
    before = _rows(engine)
    with pytest.raises(InputError, match="retire it instead"):
        _edits.delete(engine, store, person_id=me, kind="device", row_id=1)
    assert _rows(engine) == before
    result = _edits.delete(engine, store, person_id=me, kind="device", row_id=1, device_in_use="retire")
    assert result["retired"] and len(_rows(engine)["treatment_session"]) == 3
    assert _edits.delete(engine, store, person_id=me, kind="device", row_id=2)["deleted"] == {"device": 1}


def test_deleting_a_session_unlinks_its_event_and_gives_the_use_back(engine, tmp_path):
    me = _base(engine)
    with jr.session_scope(engine) as s:
        jr.edit_record(s, person_id=me, kind="event", row_id=1, fields={"session_id": 1})
    _edits.delete(engine, jr.PhotoStore(tmp_path / "p"), person_id=me, kind="session", row_id=1)
    rows = _rows(engine)
    assert rows["adverse_event"][0]["session_id"] is None and rows["device"][0]["use_count"] == 2
    _edits.undo(engine, jr.PhotoStore(tmp_path / "p"), person_id=me)
    rows = _rows(engine)
    assert rows["adverse_event"][0]["session_id"] == 1 and rows["device"][0]["use_count"] == 3


def test_a_deleted_photo_and_its_files_come_back_with_undo(engine, tmp_path):
    me = _base(engine)
    store = jr.PhotoStore(tmp_path / "photos")
    photo = _photo(engine, store, me)
    files = {
        p.name: p.read_bytes() for p in (tmp_path / "photos").iterdir() if p.is_file() and p.name != ".lock"
    }
    before = _rows(engine)
    _edits.delete(engine, store, person_id=me, kind="photo", row_id=photo)
    assert not any((tmp_path / "photos" / name).exists() for name in files)
    assert _rows(engine)["photo"] == [] and len(_rows(engine)["measurement"]) == 1
    _edits.undo(engine, store, person_id=me)
    assert _rows(engine) == before
    assert {n: (tmp_path / "photos" / n).read_bytes() for n in files} == files
    # a sweep keeps nothing in the trash once the deletion is undone
    jr.sweep_photos(engine, store)
    assert not list((tmp_path / "photos" / ".trash").glob("*"))


def test_plan_edits_are_new_versions_from_a_date(engine):
    me = _base(engine)
    fields = PLAN
    with jr.session_scope(engine) as s:
        first = jr.add_plan(s, person_id=me, start_date="2025-01-01", **fields)
        second = jr.edit_plan(
            s, person_id=me, fields={"maintenance_interval_days": 21}, effective_from="2025-03-01"
        )
        assert second.supersedes_id == first.id and not first.active and second.active
        assert jr.plan_in_force(s, person_id=me, on=dt.date(2025, 2, 1)).id == first.id
        assert jr.plan_in_force(s, person_id=me, on=dt.date(2025, 3, 2)).id == second.id
        with pytest.raises(InputError, match="effective_from"):
            jr.edit_plan(s, person_id=me, fields={"decision_week": 20}, effective_from="2024-12-01")
        jr.delete_plan(s, person_id=me, plan_id=second.id)
        assert jr.get_active_plan(s, person_id=me).id == first.id
