"""`regrow progress` and `regrow measurement add|import`, in-process against a fresh SQLite journal."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from regrow import journal as jr
from regrow.cli import main

START = dt.date(2025, 1, 6)
# +20% by week 24 around 150 hairs/cm2, two hand counts in 1 cm2 per visit (fixed "noise", no RNG needed)
WIGGLE = [(-3, 3), (4, -4), (1, -1), (-2, 2), (3, -3), (-1, 1), (2, -2), (0, 0)]


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    monkeypatch.setenv(jr.DATABASE_URL_ENV, url)
    return url


def write_csv(path, gain_pct=20.0, site="vertex"):
    lines = ["date,site,count,area_cm2,diameter_um"]
    for w, (a, b) in zip([-4, 0, 4, 8, 12, 16, 20, 24], WIGGLE, strict=True):
        d = START + dt.timedelta(weeks=w)
        true = 150 * (1 + gain_pct / 100 * max(w, 0) / 24)
        lines += [f"{d},{site},{round(true + a)},1.0,60", f"{d},{site},{round(true + b)},1.0,"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_import_then_progress_json(db, tmp_path, capsys):
    assert main(["measurement", "import", str(write_csv(tmp_path / "m.csv")), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"imported": 16, "photos": 0, "sites": ["vertex"]}
    assert main(["progress", "--start", START.isoformat(), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "responding"
    assert out["weeks_since_start"] == 24.0
    for key in ("change_per_cm2", "change_pct"):
        assert set(out[key]) == {"estimate", "ci_lb", "ci_ub"}
    assert out["change_per_cm2"]["ci_lb"] <= 30.0 <= out["change_per_cm2"]["ci_ub"]
    assert 0 <= out["prob_improved"] <= 1
    assert {c["code"] for c in out["caveats"]} >= {"uncontrolled"}
    assert out["reason"]
    with jr.session_scope(jr.open_journal(db)) as s:
        me = jr.get_or_create_default_person(s)
        rows = jr.list_measurements(s, person_id=me.id)
        assert sorted({r.replicate for r in rows}) == [0, 1]


def test_add_and_text_output_and_plot(db, tmp_path, capsys):
    for d, c in [("2025-01-06", 150), ("2025-01-06", 152), ("2025-02-03", 151)]:
        args = ["measurement", "add", "--date", d, "--site", "vertex", "--count", str(c), "--area-cm2", "1"]
        assert main([*args, "--allow-duplicate"]) == 0  # the second count of 2025-01-06 is a replicate
    capsys.readouterr()
    assert main(["progress", "--plot", str(tmp_path / "p.png")]) == 0
    text = capsys.readouterr().out
    assert "Verdict: too_early" in text and "Only 2 visits" in text
    assert (tmp_path / "p.png").stat().st_size > 5_000


def test_empty_journal_is_too_early(db, capsys):
    assert main(["progress", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "too_early" and out["sites"] == []


def test_alias_and_site_options(db, tmp_path, capsys):
    main(["measurement", "import", str(write_csv(tmp_path / "a.csv"))])
    main(["measurement", "import", str(write_csv(tmp_path / "b.csv", site="front"))])
    capsys.readouterr()
    assert main(["progress", "--start", START.isoformat(), "--site", "front", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["site"] for s in out["sites"]] == ["frontal"]  # stored under its canonical name
    assert main(["progress", "--alias", "front=vertex", "--json", "--start", START.isoformat()]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["sites"]) == 1 and out["sites"][0]["n_images"] == 32


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # a good first row, then a bad one: the message names row 3 and nothing at all is stored
        (
            "date,site,count,area_cm2\n2025-01-01,vertex,10,1\n2025-01-06,vertex,abc,1\n",
            "row 3 column 'count'",
        ),
        ("date,site,count,area_cm2\n2025-01-01,vertex,10,1\n2025-13-06,vertex,10,1\n", "row 3 column 'date'"),
        ("date,site,count,area_cm2\n2025-01-01,vertex,10,1\n2025-01-06,vertex,10,\n", "needs an area"),
        ("date,site,count,area_cm2,colour\n2025-01-06,vertex,10,1,red\n", "unknown column(s) colour"),
        ("site,count\nvertex,1\n", "missing column(s) date"),
    ],
)
def test_bad_csv_names_row_and_column_and_stores_nothing(db, tmp_path, capsys, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["measurement", "import", str(path)]) == 2
    assert message in capsys.readouterr().err
    with jr.session_scope(jr.open_journal(db)) as s:
        me = jr.get_or_create_default_person(s)
        assert jr.list_measurements(s, person_id=me.id) == []


def test_add_needs_count_and_area_or_image(db, capsys):
    assert main(["measurement", "add", "--date", "2025-01-06", "--site", "vertex", "--count", "5"]) == 2
    assert "--count/--area-cm2" in capsys.readouterr().err
    assert main(["progress", "--alias", "nonsense"]) == 2
    assert "OLD=NEW" in capsys.readouterr().err


def test_context_comes_from_the_journal_plan_sessions_and_doses(db, tmp_path, capsys):
    from regrow import protocol as pr
    from regrow.progress._journal import context_from_journal

    with jr.session_scope(jr.open_journal(db)) as s:
        me = jr.get_or_create_default_person(s)
        plan = pr.make_plan(start_date=START, needle_length_mm=1.5, minoxidil=True)
        row = jr.add_plan(s, person_id=me.id, **plan.storable())
        dev = jr.add_device(s, person_id=me.id, name="roller", kind="roller", needle_length_mm=1.5)
        for w in (0, 1):
            jr.add_session(
                s,
                person_id=me.id,
                device_id=dev.id,
                performed_at=START + dt.timedelta(weeks=w),
                plan_id=row.id,
            )
        ctx = context_from_journal(s, person_id=me.id, as_of=START + dt.timedelta(weeks=24))
    assert ctx.start == START  # the plan's start
    assert ctx.minoxidil_start == START  # plan with minoxidil, no dose logged
    assert ctx.last_session == START + dt.timedelta(weeks=1)
    assert ctx.adherence is not None and ctx.adherence < 0.8  # 2 sessions of a 24-week plan
    main(["measurement", "import", str(write_csv(tmp_path / "m.csv"))])
    capsys.readouterr()
    assert main(["progress", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["start"] == START.isoformat()
    codes = {c["code"] for c in out["caveats"]}
    assert {"low_adherence", "treatment_paused", "minoxidil_shedding"} <= codes


def test_flagged_and_uncertain_measurements_are_shown_with_the_verdict_rule(db, tmp_path, capsys):
    main(["measurement", "import", str(write_csv(tmp_path / "m.csv"))])
    with jr.session_scope(jr.open_journal(db)) as s:
        me = jr.get_or_create_default_person(s)
        drop = jr.add_measurement(
            s, person_id=me.id, taken_at="2025-03-01", site="vertex", area_cm2=1.0, hair_count=55
        )
        # what the journal's plausibility check stores for a possible but unusual value
        drop.review_status, drop.review_reason = "flagged", "density dropped 63% since the last visit"
        shaky = jr.add_measurement(
            s,
            person_id=me.id,
            taken_at="2025-06-23",
            site="vertex",
            area_cm2=1.0,
            hair_count=140,
            source="image",
        )
        shaky.count_se, shaky.count_source = 40.0, "automatic"
        ids = drop.id, shaky.id
    capsys.readouterr()
    assert main(["progress", "--start", START.isoformat()]) == 0
    text = capsys.readouterr().out
    assert (
        f"- measurement {ids[0]}: 2025-03-01 vertex, density dropped 63% since the last visit: waiting for your "
        f"review (regrow measurement review {ids[0]} --accept, or edit or delete it)"
    ) in text
    assert "Counted less:\n- 2025-06-23 vertex: count 140 +/- 78.4 (95%) is uncertain" in text
    assert "How the overall verdict is decided: The overall verdict follows the site verdicts." in text
    assert main(["progress", "--start", START.isoformat(), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(e["measurement_id"], e["code"]) for e in out["excluded"]] == [(ids[0], "flagged")]
    assert [c["measurement_id"] for c in out["counted_less"]] == [ids[1]]
    assert out["verdict_rule"].startswith("The overall verdict follows the site verdicts.")
    assert out["sites"][0]["n_images"] == 17  # 16 imported + the uncertain one; the flagged one is not used
    with jr.session_scope(jr.open_journal(db)) as s:
        me = jr.get_or_create_default_person(s)
        row = next(m for m in jr.list_measurements(s, person_id=me.id) if m.id == ids[0])
        row.review_status = "accepted"
    assert main(["progress", "--start", START.isoformat(), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["excluded"] == [] and out["sites"][0]["n_images"] == 18
