"""`regrow evidence --json` and `--html` carry the networks, claims, PRISMA diagram, published reviews,
provenance and the issue's targets."""

from __future__ import annotations

import contextlib
import io
import json
import re

import pytest

from regrow.cli import main
from regrow.evidence._screening import load_screening, prisma_counts


@pytest.fixture(autouse=True)
def _user_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("REGROW_EVIDENCE_FILE", str(tmp_path / "user" / "evidence.yaml"))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One --json --html run on the bundled data, shared by the tests of this module."""
    out = tmp_path_factory.mktemp("report")
    buf = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(buf):
        mp.setenv("REGROW_EVIDENCE_FILE", str(out / "no-user-copy.yaml"))
        mp.setenv("XDG_DATA_HOME", str(out / "data"))
        assert main(["evidence", "--json", "--html", str(out / "html")]) == 0
    return json.loads(buf.getvalue()), out / "html"


def test_json_has_the_review_wide_sections(report):
    doc, _ = report
    for key in ("networks", "claims", "prisma", "published", "provenance", "provenance_coverage", "targets"):
        assert doc[key], key
    assert set(doc["networks"]) == {"density_smd", "density_md", "diameter_md", "responders_rr"}
    smd = doc["networks"]["density_smd"]
    assert smd["connected"] is False and smd["n_components"] == 2 and "T18" in smd["bridging_studies"]
    part = next(c for c in smd["components"] if "mn" in c["treatments"])
    assert {"effects", "league", "ranking", "design_by_treatment", "node_split", "comparisons"} <= set(part)
    pair = part["comparisons"][0]
    assert set(pair["certainty"]["domains"]) == {
        "within_study_bias", "reporting_bias", "indirectness", "imprecision", "heterogeneity", "incoherence"
    }  # fmt: skip
    assert sum(pair["contributions"].values()) == pytest.approx(1.0, abs=1e-5)


def test_json_prisma_counts_are_the_screening_logs(report):
    doc, _ = report
    counts = prisma_counts(load_screening()).to_dict()
    for key in ("identified_databases", "screened", "assessed", "studies_included"):
        assert doc["prisma"][key] == counts[key]
    assert doc["prisma"]["studies_in_meta_analysis"] == 14


def test_json_targets_say_what_is_not_met_and_why(report):
    doc, _ = report
    targets = {t["check"]: t for t in doc["targets"]}
    main_target = targets["trials in the MN + minoxidil vs minoxidil density comparison"]
    assert main_target["met"] is False
    assert any(w.startswith("T7 Liang X 2022") for w in main_target["why_not"])
    assert any("S067" in w and "reference lists" in w for w in main_target["why_not"])
    assert targets["distinct trials pooled across all comparisons"]["met"] is True
    assert targets["numbers with provenance (URL + location)"]["met"] is True
    network = targets["network treatments"]
    assert network["met"] is False and any(
        w.startswith("placebo / no treatment: T9") for w in network["why_not"]
    )


def test_every_provenance_row_of_a_reported_number_has_url_and_location(report):
    doc, _ = report
    numbers = [r for r in doc["provenance"] if r["status"] != "imputed"]
    assert numbers and all(r["source"].startswith("http") and r["location"] for r in numbers)
    assert doc["provenance_coverage"]["share"] == 1.0
    kumar = [r for r in doc["provenance"] if r["study"] == "T2" and r["field"] == "mean"]
    assert {r["value"] for r in kumar} == {12.52, 1.89}


def test_html_has_prisma_networks_published_and_provenance(report):
    _, folder = report
    text = (folder / "index.html").read_text(encoding="utf-8")
    for anchor in ("claims", "targets", "prisma", "networks", "published", "provenance", "pairwise"):
        assert f"id='{anchor}'" in text, anchor
    assert "data:image/svg+xml;base64," in text and "class='league'" in text
    assert "The network is not connected" in text and "CINeMA confidence per comparison" in text
    svg = (folder / "prisma.svg").read_text(encoding="utf-8")
    counts = prisma_counts(load_screening())
    for n in (counts.screened, counts.assessed, counts.duplicates_removed, counts.studies_included):
        assert re.search(rf"\(n = {n}\)", svg), n
    for name in ("network_density_smd.png", "network_responders_rr.png", "forest_mn_mx_vs_mx_density.png"):
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plain_output_names_claims_networks_and_unmet_targets(capsys):
    assert main(["evidence"]) == 0
    out = capsys.readouterr().out
    assert "The article's claims:" in out and "Network density_smd: 8 studies" in out
    assert "2 separate parts" in out and "Targets this review sets itself and does not meet yet" in out


def test_the_summary_is_strict_json_for_every_consumer():
    from regrow.evidence import summary_dict
    from regrow.evidence._trials import bundled_path, load_data

    doc = summary_dict(load_data(bundled_path()))
    text = json.dumps(doc, allow_nan=False)  # the web API serialises it as it is
    league = doc["networks"]["density_smd"]["components"][0]["league"]
    assert league["pval"][0][0] is None and "NaN" not in text
