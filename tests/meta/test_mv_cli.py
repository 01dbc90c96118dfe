"""``regrow meta mv`` and ``regrow meta network``: JSON contracts against the metafor references, text output and
one-line errors for bad input."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from mv_refs import MV_RTOL, REFS, ref

from regrow.cli import main


def _run(capsys, args):
    rc = main(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def _run_json(capsys, args):
    rc, out, err = _run(capsys, [*args, "--json"])
    assert rc == 0, err
    return json.loads(out)


@pytest.fixture
def data_dir(tmp_path):
    for name in (
        "konstantopoulos2011",
        "assink2016",
        "ishak2007",
        "senn2013",
        "dogliotti2014",
        "hasselblad1998",
    ):
        shutil.copy(REFS / "data" / f"{name}.csv", tmp_path / f"{name}.csv")
    return tmp_path


def test_mv_json_matches_metafor_with_robust_and_confint(capsys, data_dir):
    out = _run_json(
        capsys,
        ["meta", "mv", str(data_dir / "konstantopoulos2011.csv"), "--random", "~ 1 | district/school",
         "--robust", "district", "--cr2", "--confint", "--ranef"],
    )  # fmt: skip
    r = ref("konstantopoulos2011")
    np.testing.assert_allclose([s["estimate"] for s in out["sigma2"]], r["ml_reml"]["sigma2"], rtol=MV_RTOL)
    assert [s["name"] for s in out["sigma2"]] == ["district", "district/school"]
    assert out["coefficients"][0]["estimate"] == pytest.approx(r["ml_reml"]["beta"][0], rel=MV_RTOL)
    assert out["pred"][0]["pi_lb"] == pytest.approx(r["ml_reml_predict"]["pi_lb"][0], rel=MV_RTOL)
    rob = out["robust"]["coefficients"][0]
    assert rob["se"] == pytest.approx(r["ml_reml_robust_cr2"]["se"][0], rel=MV_RTOL)
    assert rob["df"] == pytest.approx(r["ml_reml_robust_cr2"]["dfs"][0], rel=MV_RTOL)
    ci = r["ml_reml_confint"]
    assert out["confint"][0]["ci_ub"] == pytest.approx(ci["1"]["ci_ub"][0], rel=1e-6)
    assert [b["term"] for b in out["ranef"]] == ["district", "district/school"]


def test_mv_with_vcalc_and_a_structure(capsys, data_dir):
    out = _run_json(
        capsys,
        ["meta", "mv", str(data_dir / "ishak2007.csv"), "--mods", "~ factor(time) - 1", "--random", "~ time | study",
         "--struct", "AR", "--cluster", "study", "--time", "time", "--phi", "0.97"],
    )  # fmt: skip
    r = ref("ishak2007")["struct_AR"]
    assert out["tau2"][0] == pytest.approx(r["tau2"][0], rel=MV_RTOL)
    assert out["rho"][0] == pytest.approx(r["rho"][0], rel=MV_RTOL)
    assert out["G"]["struct"] == "AR" and out["G"]["levels"] == ["1", "2", "3", "4"]


def test_mv_column_moderators_and_text_summary(capsys, data_dir):
    rc, out, err = _run(
        capsys,
        [
            "meta",
            "mv",
            str(data_dir / "assink2016.csv"),
            "--mods",
            "year,deltype",
            "--random",
            "~ 1 | study/esid",
        ],
    )
    assert rc == 0, err
    beta = ref("assink2016")["mod_year_deltype"]["beta"]
    assert "Multivariate Meta-Analysis Model (k = 100; method: REML)" in out
    assert "deltypeovert" in out and f"{beta[3]:.4f}" in out
    assert "sigma^2 (study/esid)" in out


def test_mv_drops_rows_with_missing_values_with_a_warning(capsys, tmp_path):
    path = tmp_path / "d.csv"
    rows = [("study", "yi", "vi")] + [
        (s, y, 0.02) for s, y in zip([1, 1, 2, 2, 3, 3, 4], [0.1, 0.3, "", 0.5, 0.4, 0.6, 0.2], strict=True)
    ]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    out = _run_json(capsys, ["meta", "mv", str(path), "--random", "~ 1 | study"])
    assert out["k"] == 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--yi", "effect"], "no column 'effect'; the columns are district, school, study, year, yi, vi"),
        (["--random", "~ 1 | region"], "no column 'region'"),
        (["--struct", "XYZ", "--random", "~ school | district"], "Invalid struct 'XYZ'"),
        (["--cr2"], "--cr2 needs --robust COL"),
        (["--obs", "school", "--rho", "0.5"], "need --cluster"),
        (["--method", "DL"], "Invalid method 'DL'"),
        (["--random", "~ 1 | district", "--robust", "school", "--cr2"], "not nested within the clusters"),
    ],
)
def test_mv_bad_input_is_one_line(capsys, data_dir, args, message):
    rc, out, err = _run(capsys, ["meta", "mv", str(data_dir / "konstantopoulos2011.csv"), *args])
    assert rc == 2 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_mv_missing_or_broken_file(capsys, tmp_path):
    rc, _, err = _run(capsys, ["meta", "mv", str(tmp_path / "none.csv")])
    assert rc == 2 and "no such file" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("study,yi,vi\n1,0.1\n")
    rc, _, err = _run(capsys, ["meta", "mv", str(bad)])
    assert rc == 2 and "row 1 has 2 cells but the header has 3" in err
    text = tmp_path / "text.csv"
    text.write_text("study,yi,vi\n1,0.1,abc\n2,0.2,0.1\n")
    rc, _, err = _run(capsys, ["meta", "mv", str(text), "--random", "~ 1 | study"])
    assert rc == 2 and "column 'vi', row 1: 'abc' is not a number" in err


def test_network_json_matches_metafor(capsys, data_dir):
    out = _run_json(
        capsys,
        ["meta", "network", str(data_dir / "senn2013.csv"), "--treatment", "trt", "--mean", "mi", "--sd", "sdi",
         "--n", "ni", "--reference", "placebo", "--small-values", "good", "--n-sim", "2000"],
    )  # fmt: skip
    r = ref("network_senn2013")
    assert out["treatments"] == r["treatments"] and out["reference"] == "placebo"
    assert out["tau2"] == pytest.approx(r["fit"]["tau2"][0], rel=MV_RTOL)
    est = {e["treatment"]: e["estimate"] for e in out["effects"]}
    for t, b in zip(r["treatments"][1:], r["fit"]["beta"], strict=True):
        assert est[t] == pytest.approx(b, rel=MV_RTOL)
    np.testing.assert_allclose(
        [row["pscore"] for row in out["ranking"]["ranking"]], r["pscore"], rtol=MV_RTOL
    )
    assert out["design_by_treatment"]["QM"] == pytest.approx(r["design_by_treatment"]["QM"], rel=MV_RTOL)
    assert len(out["node_split"]) == len(r["node_split"])
    np.testing.assert_allclose(out["league"]["estimate"], r["league"]["estimate"], rtol=MV_RTOL, atol=1e-12)


def test_network_text_league_and_plot(capsys, data_dir, tmp_path):
    png = tmp_path / "graph.png"
    rc, out, err = _run(
        capsys,
        ["meta", "network", str(data_dir / "dogliotti2014.csv"), "--treatment", "trt", "--events", "xi", "--n", "ni",
         "--measure", "OR", "--reference", "Placebo/Control", "--small-values", "good", "--league", "--plot", str(png)],
    )  # fmt: skip
    assert rc == 0, err
    assert "Effects against Placebo/Control (exp: OR):" in out
    assert "Design-by-treatment interaction" in out and "Node splitting" in out
    assert "League table (row versus column):" in out
    assert "WASPO, 2007" in out and "left out" in out
    assert png.stat().st_size > 10_000


def test_network_contrast_level_csv(capsys, tmp_path):
    path = tmp_path / "c.csv"
    # synthetic numbers exercising the format (one three-arm study), not trial results
    rows = [("study", "t1", "t2", "yi", "vi", "cov"), ("a", "B", "placebo", 0.8, 0.05, ""),
            ("b", "C", "placebo", 1.4, 0.06, 0.02), ("b", "D", "placebo", 0.7, 0.05, 0.02),
            ("c", "C", "B", 0.5, 0.07, ""), ("d", "D", "placebo", 0.6, 0.04, "")]  # fmt: skip
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    out = _run_json(capsys, ["meta", "network", str(path), "--treat1", "t1", "--treat2", "t2", "--cov", "cov",
                             "--reference", "placebo", "--no-consistency"])  # fmt: skip
    assert out["treatments"][0] == "placebo" and out["network"]["multi_arm_studies"] == 1
    assert out["design_by_treatment"] is None and out["node_split"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--treatment", "trt", "--mean", "mi", "--sd", "sdi", "--n", "ni", "--reference", "PRP"],
            "Unknown reference 'PRP'",
        ),
        (["--treatment", "trt", "--mean", "mi", "--sd", "sdi", "--n", "size"], "no column 'size'"),
        (
            ["--treatment", "trt", "--mean", "mi", "--sd", "sdi", "--n", "ni", "--measure", "XYZ"],
            "Invalid --measure",
        ),
        (["--treat1", "trt"], "need both --treat1 and --treat2"),
        (
            [
                "--treatment",
                "trt",
                "--mean",
                "mi",
                "--sd",
                "sdi",
                "--n",
                "ni",
                "--plot",
                "/no/such/dir/g.png",
            ],
            "no such folder",
        ),
        (
            ["--treatment", "trt", "--mean", "mi", "--sd", "sdi", "--n", "ni", "--plot", "g.txt"],
            "Invalid --plot",
        ),
    ],
)
def test_network_bad_input_is_one_line(capsys, data_dir, args, message):
    rc, _, err = _run(capsys, ["meta", "network", str(data_dir / "senn2013.csv"), *args])
    assert rc == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
