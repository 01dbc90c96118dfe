"""Bad input to rma_mv and its inference: one clear regrow error naming what and where, never a traceback from
numpy (LinAlgError), an AttributeError or a silent NaN."""

from __future__ import annotations

import numpy as np
import pytest

from regrow.errors import ConvergenceError, EstimationError, InputError, TooFewStudiesError
from regrow.meta import rma_mv

Y = np.array([0.1, 0.3, 0.2, 0.5, 0.4, 0.6, 0.35, 0.15])
VI = np.full(8, 0.02)
DATA = {
    "study": [1, 1, 2, 2, 3, 3, 4, 4],
    "es": [1, 2, 1, 2, 1, 2, 1, 2],
    "arm": ["a", "b", "a", "b", "a", "b", "a", "b"],
    "x": [1.0, 2, 3, 4, 5, 6, 7, 8],
}
BLOCK_NOT_PSD = np.array([[0.1, 0.2], [0.2, 0.1]])


@pytest.mark.parametrize(
    ("V", "match"),
    [
        ([BLOCK_NOT_PSD] * 4, r"not positive semi-definite in the block of rows 1, 2"),
        (np.diag(VI) + np.triu(np.full((8, 8), 0.001), 1), "not symmetric"),
        (VI[:7], "V has 7 values but yi has 8"),
        (-VI, "row 1 has -0.02"),
        (np.r_[VI[:7], np.nan], "row 8 is missing"),
        (np.ones((8, 7)), r"must be 8 x 8"),
        ([np.eye(3)] * 2, "cover 6 rows"),
        ("nope", "no variable 'nope'"),
    ],
)
def test_bad_sampling_covariance(V, match):
    with pytest.raises(InputError, match=match):
        rma_mv(Y, V, random="~ 1 | study", data=DATA)


def test_full_matrix_not_positive_semi_definite_names_its_rows():
    V = np.diag(VI)
    V[2, 5] = V[5, 2] = 0.05  # a correlation of 2.5 between rows 3 and 6
    with pytest.raises(InputError, match=r"rows 3, 6 \(smallest eigenvalue"):
        rma_mv(Y, V, random="~ 1 | study", data=DATA)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"random": "study"}, InputError, "must be '~ 1 | study'"),
        ({"random": "~ a + b | study"}, InputError, "Invalid random"),
        ({"random": "~ arm | study/es"}, InputError, "one inner and one outer variable"),
        (
            {"random": "~ 1 | trial"},
            InputError,
            "no variable 'trial' in data; the columns are study, es, arm, x",
        ),
        ({"random": "~ arm | study", "struct": "XYZ"}, InputError, "Invalid struct 'XYZ'"),
        ({"random": "~ arm | study", "struct": "CAR"}, InputError, "numeric inner variable"),
        ({"random": ["~ arm | study", "~ arm | es", "~ es | arm"]}, InputError, "At most two"),
        ({"random": "~ arm | study", "rho": 1.5}, InputError, r"Invalid rho 1.5; must be in \[-1, 1\]"),
        ({"random": "~ arm | study", "tau2": -1}, InputError, "Invalid tau2"),
        ({"random": "~ 1 | study/es", "sigma2": [0.1, 0.1, 0.1]}, InputError, "3 value"),
        ({"random": "~ 1 | study", "tau2": 0.1}, InputError, "no term for them"),
        ({"random": "~ 1 | study", "sigma2": None, "method": "XX"}, InputError, "Invalid method"),
        ({"random": "~ 1 | study", "test": "knha"}, InputError, "Invalid test"),
        ({"random": "~ 1 | study", "level": 0}, InputError, "Invalid level"),
        ({"random": "~ 1 | study", "dfs": "some"}, InputError, "Invalid dfs"),
        ({"random": "~ 1 | study", "mods": "~ log(x)"}, InputError, "cannot read the term 'log"),
        ({"random": "~ 1 | study", "mods": "~ dose"}, InputError, "no variable 'dose'"),
        ({"random": "~ 1 | study", "mods": np.ones((7, 1))}, InputError, "needs 8 rows"),
        ({"random": "~ 1 | study", "btt": [5]}, InputError, "Invalid btt"),
        ({"random": "~ 1 | study", "btt": "zzz"}, InputError, "matches no coefficient"),
        ({"random": "~ 1 | study", "slab": ["a"]}, InputError, "slab has 1 labels"),
        ({"random": "~ es | study", "struct": "UN", "mods": "~ x"}, None, None),
    ],
)
def test_bad_model_specification(kwargs, error, match):
    if error is None:  # a legal model, for contrast with its neighbours
        assert rma_mv(Y, VI, data=DATA, **kwargs).k == 8
        return
    with pytest.raises(error, match=match):
        rma_mv(Y, VI, data=DATA, **kwargs)


def test_a_struct_with_more_parameters_than_the_data_support():
    data = {"es": list(range(8)), "study": [1] * 8}
    with pytest.raises(TooFewStudiesError, match=r"36 variance/correlation parameters .* k - p = 7"):
        rma_mv(Y, VI, random="~ es | study", struct="UN", data=data)


def test_more_coefficients_than_effect_sizes():
    """With k rows at most k columns are linearly independent: the rest are dropped (as R's lm does), and a
    saturated model (k = p) is fitted as metafor fits it, with QE = 0 and the variance components at 0."""
    res = rma_mv(Y[:2], VI[:2], mods=[[1.0, 3.0], [2.0, 5.0]], random="~ 1 | study", data={"study": [1, 2]})
    assert res.p == 2 and res.QE == 0 and res.QEp == 1 and res.sigma2[0] == 0
    assert any("Redundant predictors dropped" in w for w in res.warnings)
    assert any("k = p = 2" in w for w in res.warnings)


def test_random_variables_with_missing_values_are_named():
    data = dict(DATA, study=[1, 1, 2, None, 3, 3, 4, 4])
    with pytest.raises(InputError, match="'study' is missing in row 4"):
        rma_mv(Y, VI, random="~ 1 | study", data=data)


def test_missing_effect_size_is_named():
    with pytest.raises(InputError, match="yi is missing or not finite in row 3"):
        rma_mv(np.r_[Y[:2], np.nan, Y[3:]], VI)


def test_redundant_moderators_are_dropped_with_a_warning():
    res = rma_mv(Y, VI, mods=np.column_stack([DATA["x"], DATA["x"]]), random="~ 1 | study", data=DATA)
    assert res.coef_names == ["intrcpt", "x1"]
    assert any("Redundant predictors dropped" in w for w in res.warnings)


def test_zero_variance_without_random_effects_names_the_row():
    with pytest.raises(EstimationError, match="row 8 has a sampling variance of 0"):
        rma_mv(Y, np.r_[VI[:7], 0.0], method="EE")


def test_non_convergence_is_a_convergence_error(monkeypatch):
    import regrow.meta._mv_optim as optim

    monkeypatch.setattr(optim, "MAX_ITER", 1)
    monkeypatch.setattr(optim, "_newton_polish", lambda model, psi, **kw: psi)
    with pytest.raises(ConvergenceError, match="did not converge after 1 iterations"):
        rma_mv(Y, VI, random="~ 1 | study/es", data=DATA)


def test_single_level_components_are_fixed_with_a_warning():
    res = rma_mv(Y, VI, random="~ arm | study", data=dict(DATA, arm=["a"] * 8))
    assert res.rho[0] == 0 and res.vc_fixed["rho"][0]
    assert any("single level" in w for w in res.warnings)


@pytest.fixture(scope="module")
def fit():
    return rma_mv(Y, VI, mods="~ x", random="~ arm | study", struct="HCS", data=DATA)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda r: r.predict([[1, 2, 3]]), "newmods has 3 column"),
        (lambda r: r.predict([1.0], tau2_levels=["zz"]), "Invalid tau2_levels 'zz'"),
        (lambda r: r.predict([1.0, 2.0], tau2_levels=[1, 2, 1]), "3 values for 2 predictions"),
        (lambda r: r.robust([1, 2, 3]), "cluster has 3 values"),
        (lambda r: r.robust([1, 1, 1, 1, 2, 2, 2, None]), "cluster is missing in row 8"),
        (lambda r: r.profile(component="sigma2"), "no sigma2 component number 0"),
        (lambda r: r.profile(component="kappa"), "Invalid component"),
        (lambda r: r.profile(steps=1), "Invalid steps"),
        (lambda r: r.anova(X=[[1, 2, 3]]), "X has 3 columns"),
        (lambda r: r.anova(btt=[9]), "Invalid btt"),
    ],
)
def test_bad_inference_requests(fit, call, match):
    with pytest.raises(InputError, match=match):
        call(fit)


def test_robust_needs_more_clusters_than_coefficients(fit):
    with pytest.raises(TooFewStudiesError, match="2 clusters cannot support robust tests of 2"):
        fit.robust([1, 1, 1, 1, 2, 2, 2, 2])


def test_fixed_components_have_no_profile():
    res = rma_mv(Y, VI, random="~ 1 | study/es", sigma2=[None, 0.01], data=DATA)
    with pytest.raises(InputError, match=r"sigma2\[1\] was fixed"):
        res.profile(component="sigma2", index=1)
    assert [p.index for p in res.profile(steps=2)] == [0]


def test_equal_effects_model_has_no_random_effects_to_predict():
    res = rma_mv(Y, VI, method="EE")
    with pytest.raises(InputError, match="no random effects"):
        res.ranef()
    with pytest.raises(InputError, match="no estimated variance components"):
        res.profile()
