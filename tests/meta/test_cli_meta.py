"""``regrow meta fit`` / ``regrow meta demo``: the JSON contract and the bad-input messages."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from metafor_refs import CLOSED_FORM_RTOL, ITERATIVE_RTOL, METAFOR_DIR, load_dataset, load_reference

from regrow.cli import main


def _run_json(capsys, args):
    rc = main(args)
    out = capsys.readouterr()
    assert rc == 0, out.err
    return json.loads(out.out)


@pytest.fixture
def bcg_csv(tmp_path):
    data = load_dataset("dat.bcg").copy()
    escalc = pd.read_csv(METAFOR_DIR / "bcg_RR_escalc.csv")
    data["yi"], data["vi"] = escalc["yi"], escalc["vi"]
    path = tmp_path / "bcg.csv"
    data.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("method", ["DL", "REML", "PM", "FE"])
def test_fit_json_matches_metafor(capsys, bcg_csv, method):
    out = _run_json(
        capsys, ["meta", "fit", str(bcg_csv), "--yi", "yi", "--vi", "vi", "--method", method, "--json"]
    )
    ref = load_reference("bcg_RR")["models"][method]
    rtol = CLOSED_FORM_RTOL if method in ("DL", "FE") else ITERATIVE_RTOL
    assert out["k"] == 13 and out["p"] == 1 and out["method"] == method and out["test"] == "z"
    (coef,) = out["coefficients"]
    assert coef["name"] == "intrcpt"
    for key, ref_key in (
        ("estimate", "beta"),
        ("se", "se"),
        ("stat", "zval"),
        ("pval", "pval"),
        ("ci_lb", "ci.lb"),
        ("ci_ub", "ci.ub"),
    ):
        assert coef[key] == pytest.approx(ref[ref_key]["intrcpt"], rel=rtol)
    for key in ("tau2", "I2", "H2", "QE", "QEp", "QM", "QMp"):
        assert out[key] == pytest.approx(ref[key], rel=rtol, abs=1e-12)
    pred_ref = load_reference("bcg_RR")["predict"][method]
    assert out["pred"]["estimate"] == pytest.approx(pred_ref["pred"][0], rel=rtol)
    assert out["pred"]["ci_lb"] == pytest.approx(pred_ref["ci.lb"][0], rel=rtol)
    if method == "FE":
        # tau^2 = 0: the prediction interval is the confidence interval (metafor's pi.lb = ci.lb)
        assert out["se_tau2"] is None and "tau2_ci" not in out
        assert out["pred"]["pi_lb"] == out["pred"]["ci_lb"] and out["pred"]["pi_ub"] == out["pred"]["ci_ub"]
    else:
        assert out["se_tau2"] == pytest.approx(ref["se.tau2"], rel=rtol)
        assert out["pred"]["pi_lb"] == pytest.approx(pred_ref["pi.lb"][0], rel=rtol)
        assert out["pred"]["pi_ub"] == pytest.approx(pred_ref["pi.ub"][0], rel=rtol)
        qp = load_reference("bcg_RR")["confint"][method]["QP"]["tau2"]
        assert out["tau2_ci"]["lb"] == pytest.approx(qp["ci.lb"], rel=ITERATIVE_RTOL)
        assert out["tau2_ci"]["ub"] == pytest.approx(qp["ci.ub"], rel=ITERATIVE_RTOL)


def test_fit_json_metaregression_knha(capsys, bcg_csv):
    out = _run_json(
        capsys,
        ["meta", "fit", str(bcg_csv), "--mods", "ablat,year", "--method", "REML", "--test", "knha", "--json"],
    )
    ref = load_reference("bcg_RR")["metareg"]["ablat_year"]["knha"]["REML"]
    assert [c["name"] for c in out["coefficients"]] == ["intrcpt", "ablat", "year"]
    for coef in out["coefficients"]:
        assert coef["estimate"] == pytest.approx(ref["beta"][coef["name"]], rel=ITERATIVE_RTOL)
        assert coef["stat"] == pytest.approx(ref["zval"][coef["name"]], rel=ITERATIVE_RTOL)
    assert out["QMdf"] == ref["QMdf"]
    assert out["QM"] == pytest.approx(ref["QM"], rel=ITERATIVE_RTOL)
    assert "pred" not in out


def test_fit_json_categorical_moderator_named_like_r(capsys, bcg_csv):
    out = _run_json(capsys, ["meta", "fit", str(bcg_csv), "--mods", "alloc", "--json"])
    assert [c["name"] for c in out["coefficients"]] == ["intrcpt", "allocrandom", "allocsystematic"]
    assert out["QMdf"] == [2, None]


def test_summary_is_readable(capsys, bcg_csv):
    assert main(["meta", "fit", str(bcg_csv), "--method", "DL"]) == 0
    text = capsys.readouterr().out
    assert "Random-Effects Model (k = 13; tau^2 estimator: DL)" in text
    assert "QE(df = 12) = 152.2330, p-val < .0001" in text
    assert "intrcpt   -0.7141" in text


def test_missing_values_are_omitted_with_a_warning(capsys, tmp_path):
    path = tmp_path / "na.csv"
    path.write_text("yi,vi\n0.1,0.01\n,0.02\n0.3,0.015\n0.5,0.03\n")
    out = _run_json(capsys, ["meta", "fit", str(path), "--json"])
    assert out["k"] == 3


def test_demo_runs(capsys):
    assert main(["meta", "demo"]) == 0
    text = capsys.readouterr().out
    assert "Risk ratio 0.49 (95% CI 0.34 to 0.70)" in text


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("yi,vi\n0.1,0.01\n0.2,0.02\n", ["--yi", "effect"], "no column 'effect'"),
        ("yi,vi\n0.1,0.01\nabc,0.02\n0.3,0.01\n", [], "column 'yi', row 2: 'abc' is not a number"),
        (
            "yi,vi\n0.1,0.01\n0.2,-0.02\n0.3,0.01\n",
            [],
            "column 'vi', row 2: sampling variance -0.02 must be > 0",
        ),
        (
            "yi,vi,x\n0.1,0.01,1\n0.2,0.02,2\n",
            ["--mods", "x"],
            "cannot support a model with 2 coefficient(s)",
        ),
        ("yi,vi\n0.1,0.01\n0.2,0.02\n0.3,0.01\n", ["--method", "XYZ"], "Invalid method 'XYZ'"),
        ("yi,vi\n0.1,0.01\n0.2,0.02\n0.3,0.01\n", ["--test", "t"], "Invalid test 't'"),
        ("yi,vi\n0.1,0.01\n0.2,0.02\n0.3,0.01\n", ["--mods", "nope"], "no moderator column 'nope'"),
        ("yi,vi\n0.1,0.01\n0.2,0.02\n0.3,0.01\n", ["--permutations", "-3"], "Invalid --permutations '-3'"),
        ("yi,vi\n", [], "no study rows"),
    ],
)
def test_bad_input_is_one_clear_line(capsys, tmp_path, content, args, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    rc = main(["meta", "fit", str(path), *args, "--json"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert message in err
    assert len(err.splitlines()) == 1


def test_missing_file(capsys, tmp_path):
    assert main(["meta", "fit", str(tmp_path / "none.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_weights_and_fit_are_consistent_on_random_data(capsys, tmp_path, rng):
    """A brute-force check of the CLI path: REML by direct likelihood maximisation."""
    from scipy import optimize

    k = 25
    vi = rng.uniform(0.01, 0.1, k)
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    path = tmp_path / "r.csv"
    pd.DataFrame({"yi": yi, "vi": vi}).to_csv(path, index=False)
    out = _run_json(capsys, ["meta", "fit", str(path), "--json"])

    def neg_reml(t):
        w = 1 / (vi + t)
        mu = np.sum(w * yi) / w.sum()
        return 0.5 * (np.sum(np.log(vi + t)) + np.log(w.sum()) + np.sum(w * (yi - mu) ** 2))

    best = optimize.minimize_scalar(neg_reml, bounds=(0, 5), method="bounded", options={"xatol": 1e-12})
    assert out["tau2"] == pytest.approx(best.x, rel=1e-5, abs=1e-9)


def test_fit_exact_permutations_match_metafor(capsys, bcg_csv):
    out = _run_json(capsys, ["meta", "fit", str(bcg_csv), "--permutations", "exact", "--json"])
    ref = load_reference("bcg_RR")["permutest_exact_REML"]
    assert out["coefficients"][0]["pval_perm"] == pytest.approx(ref["pval"], rel=1e-12)


def test_fit_random_permutations_are_seeded(capsys, bcg_csv):
    args = ["meta", "fit", str(bcg_csv), "--mods", "ablat", "--permutations", "200", "--seed", "7", "--json"]
    first = _run_json(capsys, args)
    second = _run_json(capsys, args)
    assert [c["pval_perm"] for c in first["coefficients"]] == [c["pval_perm"] for c in second["coefficients"]]
    assert 0 < first["coefficients"][1]["pval_perm"] < 0.05
