"""Edge cases of ``rma``: clear errors, documented warnings, and closed forms computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regrow.errors import EstimationError, InputError, TooFewStudiesError
from regrow.meta import Control, rma


def test_zero_knapp_hartung_scale_is_warned_not_silent():
    # metafor 3.8-1: rma(c(.2,.2,.2), c(.01,.02,.03), test="knha") gives se 0, zval Inf, pval 0, QM NA.
    res = rma([0.2, 0.2, 0.2], [0.01, 0.02, 0.03], test="knha")
    assert res.se[0] == 0 and np.isinf(res.zval[0]) and res.pval[0] == 0
    assert np.isnan(res.QM)
    assert any("scale factor is 0" in w for w in res.warnings)


@pytest.mark.parametrize("method", ["FE", "REML"])
def test_one_study_is_fitted_as_metafor_does(method):
    # metafor 3.8-1: rma(0.3, 0.1) gives estimate 0.3, se 0.316227766016838, ci.lb -0.319795032304562,
    # tau2 0, QE 0, I2 0, H2 1 and the warning 'Setting argument test="z" since k=1'.
    res = rma([0.3], [0.1], method=method, test="knha")
    assert res.k == 1 and res.test == "z" and res.tau2 == 0.0 and res.QE == 0.0 and res.H2 == 1.0
    np.testing.assert_allclose(
        [res.beta[0], res.se[0], res.ci_lb[0]], [0.3, 0.316227766016838, -0.319795032304562]
    )
    assert any("k = 1" in w for w in res.warnings)
    # fitstats(rma(0.3, 0.1, method=...)) with REML = FALSE and TRUE
    ml, reml = res.fit_stats["ML"], res.fit_stats["REML"]
    extra = 2.0 if method == "REML" else 0.0
    np.testing.assert_allclose(
        [ml["ll"], ml["AIC"], ml["BIC"], ml["AICc"]],
        [0.23235401329235, 1.53529197341530 + extra, -0.46470802658470, 5.53529197341530 + 5 * extra],
        rtol=1e-12,
    )
    assert abs(reml["ll"]) < 1e-12 and reml["AIC"] == pytest.approx(2.0 + extra) and reml["BIC"] == -np.inf
    assert reml["AICc"] == pytest.approx(6.0 + 5 * extra)
    with pytest.raises(
        (TooFewStudiesError, InputError), match="k = 1" if method == "REML" else "fixed-effects"
    ):
        res.confint()


def test_one_study_without_intercept_is_too_few():
    # metafor: "Number of parameters to be estimated is larger than the number of observations."
    with pytest.raises(TooFewStudiesError, match="need at least 2"):
        rma([0.1], [0.01], mods=np.array([[2.0]]), intercept=False)


def test_more_coefficients_than_studies():
    with pytest.raises(TooFewStudiesError, match="3 coefficient"):
        rma([0.1, 0.2, 0.3], [0.01, 0.01, 0.01], mods=np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0]]))


@pytest.mark.parametrize(
    ("yi", "vi", "match"),
    [
        ([0.1, np.inf, 0.3], [0.01, 0.01, 0.01], "yi is missing or not finite in row 2"),
        ([0.1, 0.2, 0.3], [0.01, 0.01], "vi has 2 values but yi has 3"),
    ],
)
def test_bad_vectors_name_the_row(yi, vi, match):
    with pytest.raises(InputError, match=match):
        rma(yi, vi)


def test_missing_values_are_omitted_with_a_warning_or_refused():
    res = rma([0.1, np.nan, 0.3, 0.5], [0.01, 0.01, None, 0.02], method="DL")
    assert res.k == 2 and res.k_all == 4 and list(res.not_na) == [True, False, False, True]
    assert "Studies with NAs omitted from model fitting." in res.warnings
    with pytest.raises(InputError, match="study 2"):
        rma([0.1, np.nan, 0.3], [0.01, 0.01, 0.02], na_action="fail")


def test_zero_sampling_variance_as_metafor_handles_it():
    # metafor 3.8-1: rma(c(.1,.5,.3,.9), c(.01,0,.02,.01)) gives tau2 0.1053251, QE and I2 NA;
    # rma(c(.1,.2,.3), c(.01,0,.02)) stops: "Division by zero when computing the inverse variance weights."
    res = rma([0.1, 0.5, 0.3, 0.9], [0.01, 0.0, 0.02, 0.01])
    assert res.tau2 == pytest.approx(0.1053251, rel=1e-6)
    assert np.isnan(res.QE) and np.isnan(res.I2) and not res.allvipos
    with pytest.raises(EstimationError, match="Division by zero"):
        rma([0.1, 0.2, 0.3], [0.01, 0.0, 0.02])
    with pytest.raises(InputError, match="DL estimator needs positive sampling variances"):
        rma([0.1, 0.5, 0.3], [0.01, 0.0, 0.02], method="DL")
    neg = rma([0.1, 0.5, 0.3, 0.9], [0.01, -1.0, 0.02, 0.01])
    assert neg.vi[1] == 0.0 and "Negative sampling variances constrained to zero." in neg.warnings


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "XX"}, "Invalid method"),
        ({"test": "t"}, "Invalid test"),
        ({"level": 120}, "Invalid level"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(InputError, match=match):
        rma([0.1, 0.2, 0.3], [0.01, 0.02, 0.01], **kwargs)


def test_level_as_percent_or_proportion():
    a = rma([0.1, 0.2, 0.5], [0.01, 0.02, 0.01], level=90)
    b = rma([0.1, 0.2, 0.5], [0.01, 0.02, 0.01], level=0.90)
    np.testing.assert_allclose(a.ci_lb, b.ci_lb, rtol=1e-15)


def test_fixed_tau2_is_inverse_variance_pooling(rng):
    yi = rng.normal(0.3, 0.3, 12)
    vi = rng.uniform(0.01, 0.1, 12)
    res = rma(yi, vi, tau2=0.05)
    w = 1 / (vi + 0.05)
    assert res.beta[0] == pytest.approx(np.sum(w * yi) / w.sum(), rel=1e-12)
    assert res.se[0] == pytest.approx(np.sqrt(1 / w.sum()), rel=1e-12)
    # metafor reports the estimator's SE formula at the fixed value (REML: sqrt(2 / tr(PP)))
    P = np.diag(w) - np.outer(w, w) / w.sum()
    assert res.se_tau2 == pytest.approx(np.sqrt(2 / np.sum(P * P)), rel=1e-10)
    with pytest.raises(InputError, match="tau2"):
        rma(yi, vi, tau2=-1.0)


def test_dl_matches_the_textbook_formula(rng):
    yi = rng.normal(0.3, 0.4, 15)
    vi = rng.uniform(0.01, 0.2, 15)
    w = 1 / vi
    mu = np.sum(w * yi) / w.sum()
    q = np.sum(w * (yi - mu) ** 2)
    tau2 = max(0.0, (q - 14) / (w.sum() - np.sum(w**2) / w.sum()))  # DerSimonian & Laird (1986)
    res = rma(yi, vi, method="DL")
    assert res.tau2 == pytest.approx(tau2, rel=1e-12)
    assert pytest.approx(q, rel=1e-12) == res.QE
    assert pytest.approx(100 * max(0.0, (q - 14) / q), rel=1e-10) == res.I2  # equal for DL only


def test_categorical_moderator_coding_and_redundancy():
    mods = pd.DataFrame({"arm": ["b", "a", "c", "a", "b", "c"], "x": [1.0, 2, 3, 4, 5, 6]})
    mods["x2"] = 2 * mods["x"]
    yi = [0.1, 0.3, 0.2, 0.4, 0.15, 0.25]
    res = rma(yi, [0.01] * 6, mods=mods, method="FE")
    assert res.coef_names == ["intrcpt", "armb", "armc", "x"]
    assert any("x2" in w for w in res.warnings)
    no_int = rma(yi, [0.01] * 6, mods=mods[["arm"]], intercept=False, method="FE")
    assert no_int.coef_names == ["arma", "armb", "armc"]
    assert no_int.beta[0] == pytest.approx(np.mean([0.3, 0.4]), rel=1e-12)


def test_non_convergence_is_an_error():
    from regrow.errors import ConvergenceError

    with pytest.raises(ConvergenceError, match="did not converge in 1 iterations"):
        rma([0.1, 0.5, 0.9, -0.3], [0.01, 0.02, 0.01, 0.03], method="REML", control=Control(maxiter=1))
