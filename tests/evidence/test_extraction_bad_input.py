"""Inconsistent arms given to `regrow evidence add` / `import`: one line naming the trial and field, exit 2,
and the evidence file (user copy and bundled file) unchanged."""

from __future__ import annotations

import hashlib

import pytest
from cli_helpers import one_error_line

from regrow.cli import main
from regrow.evidence._trials import bundled_path, load_data


@pytest.fixture
def user_copy(tmp_path, monkeypatch):
    path = tmp_path / "user" / "evidence.yaml"
    monkeypatch.setenv("REGROW_EVIDENCE_FILE", str(path))
    return path


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


ADD = [
    "evidence", "add", "--id", "Z1", "--author", "Test A", "--url", "https://example.org/z1",
    "--comparison", "mn_mx_vs_mx_density", "--outcome", "hair density, change from baseline",
    "--unit", "hairs/cm2", "--randomised", "yes", "--location", "Table 2",
]  # fmt: skip
GOOD = [
    "--treatment1", "mn_minoxidil", "--treatment2", "minoxidil", "--n-randomised1", "20",
    "--n-randomised2", "20", "--n1", "18", "--n2", "19", "--mean1", "20", "--mean2", "9",
    "--sd1", "8", "--sd2", "7",
]  # fmt: skip


def test_a_consistent_trial_is_added_with_arms_and_provenance(user_copy, capsys):
    assert main([*ADD, *GOOD]) == 0
    study = load_data(user_copy).study("Z1")
    assert [(a.id, a.treatment, a.n_randomised.value) for a in study.arms] == [
        ("A", "mn_minoxidil", 20.0),
        ("B", "minoxidil", 20.0),
    ]
    mean = study.outcomes[0].intervention.mean
    assert (mean.source, mean.location) == ("https://example.org/z1", "Table 2")
    assert "mn_mx_vs_mx_density: k = 4" in capsys.readouterr().out


def _swap(args, flag, value):
    out = list(args)
    out[out.index(flag) + 1] = value
    return out


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (
            ("--n1", "25"),
            ["study 'Z1'", "outcomes[0].intervention.n.value", "25.0", "n_randomised of arm 'A' (20)"],
        ),
        (("--sd2", "0"), ["study 'Z1'", "outcomes[0].comparator.sd.value", "0.0", "> 0"]),
        (("--sd1", "-3"), ["study 'Z1'", "outcomes[0].intervention.sd.value", "-3.0", "> 0"]),
        (("--treatment2", "rogaine"), ["study 'Z1'", "arms[1].treatment", "'rogaine'", "minoxidil"]),
    ],
)
def test_add_refuses_inconsistent_arms_and_leaves_the_file(user_copy, capsys, change, needles):
    assert main([*ADD, *GOOD]) == 0  # a user copy with a good trial in it
    capsys.readouterr()
    before, bundled = _digest(user_copy), _digest(bundled_path())
    args = [*_swap(ADD, "--id", "Z2"), *_swap(GOOD, *change)]
    assert main(args) == 2
    line = one_error_line(capsys)
    for needle in [n.replace("Z1", "Z2") for n in needles]:
        assert needle in line, line
    assert _digest(user_copy) == before and _digest(bundled_path()) == bundled


def test_add_refuses_a_ci_that_does_not_contain_the_mean(user_copy, capsys):
    assert main([*ADD, *GOOD, "--ci-low1", "21", "--ci-high1", "30"]) == 2
    line = one_error_line(capsys)
    assert "study 'Z1'" in line and "outcomes[0].intervention.mean.value" in line and "[21, 30]" in line
    assert not user_copy.exists()


STUDY = """\
id: Z3
first_author: Import T
design: parallel
randomised: 'yes'
blinding: evaluator
condition: AGA
urls: ['https://example.org/z3']
provenance: {{source: 'https://example.org/z3', location: Table 3}}
arms:
  - {{id: A, treatment: {t1}, n_randomised: {{value: 30, status: full_text}}, n_analysed: {{value: {na}, status: full_text}}}}
  - {{id: B, treatment: minoxidil, n_randomised: {{value: 30, status: full_text}}}}
outcomes:
  - comparison: mn_mx_vs_mx_density
    outcome: hair density, change from baseline
    unit: hairs/cm2
    value_type: change
    intervention:
      arm: A
      n: {{value: 28, status: full_text}}
      mean: {{value: 15, status: full_text}}
      sd: {{value: {sd}, status: full_text}}
      ci_low: {{value: {lo}, status: full_text}}
      ci_high: {{value: 18, status: full_text}}
    comparator: {{arm: B, n: {{value: 29, status: full_text}}, mean: {{value: 6, status: full_text}}, sd: {{value: 9, status: full_text}}}}
"""
OK = {"t1": "mn_minoxidil", "na": 28, "sd": 8, "lo": 12}


@pytest.mark.parametrize(
    ("bad", "needles"),
    [
        ({"na": 31}, ["study 'Z3'", "arms[0].n_analysed.value", "31.0", "<= n_randomised (30)"]),
        ({"sd": 0}, ["study 'Z3'", "outcomes[0].intervention.sd.value", "> 0"]),
        ({"lo": 16}, ["study 'Z3'", "outcomes[0].intervention.mean.value", "15.0", "[16, 18]"]),
        ({"t1": "microneedling"}, ["study 'Z3'", "arms[0].treatment", "'microneedling'", "mn_minoxidil"]),
    ],
)
def test_import_refuses_inconsistent_arms_and_leaves_the_file(tmp_path, user_copy, capsys, bad, needles):
    good = tmp_path / "good.yaml"
    good.write_text(STUDY.format(**OK), encoding="utf-8")
    assert main(["evidence", "import", str(good)]) == 0
    capsys.readouterr()
    before = _digest(user_copy)
    broken = tmp_path / "broken.yaml"
    broken.write_text(STUDY.format(**{**OK, **bad}).replace("id: Z3", "id: Z4"), encoding="utf-8")
    assert main(["evidence", "import", str(broken)]) == 2
    line = one_error_line(capsys)
    for needle in [n.replace("Z3", "Z4") for n in needles]:
        assert needle in line, line
    assert _digest(user_copy) == before
    assert {s.id for s in load_data(user_copy).studies} >= {"Z3"} and "Z4" not in {
        s.id for s in load_data(user_copy).studies
    }
