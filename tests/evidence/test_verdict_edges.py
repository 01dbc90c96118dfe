"""Verdict wording at the edges: k = 0, k = 1, every study imputed, extreme heterogeneity, clear effects."""

from __future__ import annotations

import pytest

from regrow.evidence._review import review_comparison
from regrow.evidence._trials import parse_data

COMP = {
    "id": "c",
    "title": "Micro-needling + minoxidil vs minoxidil alone",
    "outcome": "hair density, change from baseline",
    "measure": "MD",
    "unit": "hairs/cm2",
}
DONOR = {
    "outcome": COMP["outcome"],
    "unit": "hairs/cm2",
    "value_type": "change",
    "sd": {"value": 25.0, "status": "secondary"},
    "label": "donor",
    "source": "https://example.org/d",
}


def _num(v):
    return "UNVERIFIED" if v is None else {"value": v, "status": "full_text"}


def _study(i, m1, m2, sd=10.0, n=100, *, randomised="yes", blinding="evaluator"):
    return {
        "id": f"S{i}",
        "first_author": f"Author{i}",
        "year": _num(2020),
        "design": "parallel",
        "randomised": randomised,
        "blinding": blinding,
        "condition": "AGA",
        "urls": ["https://example.org/s"],
        "n_total": _num(2 * n),
        "duration_weeks": _num(12),
        "outcomes": [
            {
                "comparison": "c",
                "outcome": COMP["outcome"],
                "unit": "hairs/cm2",
                "value_type": "change",
                "intervention": {"n": _num(n), "mean": _num(m1), "sd": _num(sd)},
                "comparator": {"n": _num(n), "mean": _num(m2), "sd": _num(sd)},
            }
        ],
    }


def _result(studies):
    data = parse_data(
        {
            "schema_version": 1,
            "data_version": "t",
            "comparisons": [COMP],
            "sd_donors": [DONOR],
            "studies": studies,
        }
    )
    return review_comparison(data, "c")


def test_no_usable_study():
    r = _result([_study(1, None, 5.0)])
    assert r.pooled is None and r.certainty.label == "no evidence"
    assert r.verdict.startswith("No answer for micro-needling + minoxidil vs minoxidil alone")
    assert "mean not reported" in r.verdict and "cannot say" in r.verdict


def test_single_study_is_not_called_pooled():
    r = _result([_study(1, 30.0, 10.0, n=20)])
    assert r.pooled.k == 1 and r.pooled.I2 is None and r.pooled.pi_lb is None
    assert "Only one study (Author1 2020, 40 people)" in r.verdict
    assert "not a pooled estimate" in r.verdict
    assert "Pooled from" not in r.verdict
    assert "inconsistency" in r.certainty.to_dict()["domains"]
    assert "not assessable" in r.certainty.to_dict()["domains"]["inconsistency"]["explanation"]


def test_all_studies_imputed():
    r = _result([_study(1, 30.0, 10.0, sd=None), _study(2, 25.0, 12.0, sd=None)])
    assert sorted(r.imputed_studies) == ["S1", "S2"]
    assert r.sensitivity is None
    assert "Every study's SD or sample size had to be imputed" in r.verdict
    assert "nothing is left to estimate from" in r.verdict
    rob = r.certainty.to_dict()["domains"]["risk_of_bias"]
    assert rob["downgrade"] >= 1 and "100% rests on imputed" in rob["explanation"]


def test_extreme_heterogeneity_is_said_out_loud():
    r = _result([_study(1, 80.0, 10.0), _study(2, 10.0, 9.0), _study(3, 45.0, 10.0)])
    assert r.pooled.I2 > 95
    assert f"The trials disagree strongly (I2 = {r.pooled.I2:.0f}%)" in r.verdict
    assert "a new trial could find anything from" in r.verdict
    assert r.certainty.to_dict()["domains"]["inconsistency"]["downgrade"] == 2
    # never a confident claim with this much disagreement
    assert r.certainty.label in ("low", "very low")
    assert " increases hair density" not in r.verdict.replace("may increase", "")


def test_consistent_precise_randomised_evidence_reads_high():
    studies = [_study(i, 60.0 + d, 10.0, sd=20.0, n=150) for i, d in enumerate((0.0, 1.0, -1.0, 0.5))]
    r = _result(studies)
    assert r.certainty.label == "high", r.certainty.to_dict()
    assert "Micro-needling + minoxidil increases hair density compared with minoxidil alone" in r.verdict
    assert "probably" not in r.verdict and "may " not in r.verdict


def test_low_certainty_is_hedged_with_may():
    # (means differ slightly: identical studies make the Knapp-Hartung scale 0 in _rma, reported to the lead)
    studies = [_study(i, 60.0 + i, 10.0, sd=20.0, n=150, randomised="unclear") for i in range(3)]
    r = _result(studies)
    assert r.certainty.label == "moderate"
    assert "probably increases hair density" in r.verdict
    studies = [_study(i, 60.0 + i, 10.0, sd=20.0, n=30, randomised="unclear") for i in range(3)]
    r = _result(studies)
    assert r.certainty.label == "low"
    assert "may increase hair density" in r.verdict


@pytest.mark.parametrize("blinding", ["none", "unclear"])
def test_ci_including_no_effect_never_claims_an_effect(blinding):
    r = _result(
        [
            _study(1, 11.0, 10.0, sd=30.0, n=20, blinding=blinding),
            _study(2, 9.0, 10.0, sd=30.0, n=20, blinding=blinding),
        ]
    )
    assert r.pooled.ci_lb < 0 < r.pooled.ci_ub
    assert "increases" not in r.verdict and "may increase" not in r.verdict


@pytest.mark.parametrize(
    ("author", "year", "label"),
    [
        ("Dhurat R", 2013, "Dhurat R 2013"),
        ("Ro BI", None, "Ro BI (year not known)"),
        ("(FRM split-scalp pilot)", None, "FRM split-scalp pilot (authors and year not known)"),
        ("(FRM split-scalp pilot)", 2018, "FRM split-scalp pilot (authors not known, 2018)"),
        ("(JCD 2025 e70408)", 2025, "JCD 2025 e70408 (authors not known)"),
        ("Ragab (UNVERIFIED)", None, "Ragab (name not confirmed, year not known)"),
    ],
)
def test_study_citations_read_as_a_person_writes_them(author, year, label):
    from regrow.evidence._trials import citation_label

    assert citation_label(author, year) == label


def test_no_data_quality_marker_or_private_note_reaches_the_review_text(capsys):
    from regrow.cli import main

    assert main(["evidence"]) == 0
    text = capsys.readouterr().out
    assert "UNVERIFIED" not in text and "clinical-notes" not in text and " n.d." not in text
