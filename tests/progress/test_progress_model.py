"""The exact trend model against closed forms: OLS t-intervals and Fieller's ratio interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from regrow.errors import TooFewStudiesError
from regrow.progress import fit_trend
from regrow.progress._model import ratio_grid


def _data(rng, k=1, g=8):
    weeks = np.array([0.0, 0.0, 4, 8, 12, 16, 20, 24][:g])
    X = np.column_stack([np.ones(g), weeks])
    group = np.repeat(np.arange(g), k)
    y = 150 + 1.2 * weeks[group] + rng.normal(0, 9, group.size)
    return X, group, y


def test_single_images_with_vague_prior_equal_ols_t_intervals(rng):
    # With one image per visit the visit weights are equal for every rho, so the posterior of b is the OLS
    # Student-t whatever the ratio prior: an exact, independent reference (statsmodels OLS).
    X, group, y = _data(rng)
    post = fit_trend(X, group, y, prior_df=0.0, prior_scale2=0.0, ratio_prior_scale=0.5)
    ols = sm.OLS(y, X).fit()
    for c in (np.array([0.0, 24.0]), np.array([1.0, 10.0]), np.array([0.0, 1.0])):
        t = ols.t_test(c[None, :])
        lo, hi = np.asarray(t.conf_int(alpha=0.05)).ravel()
        est, lb, ub = post.interval(c)
        assert est == pytest.approx(float(np.ravel(t.effect)[0]), rel=1e-9)
        assert lb == pytest.approx(lo, rel=1e-7, abs=1e-7)
        assert ub == pytest.approx(hi, rel=1e-7, abs=1e-7)
    assert post.df == ols.df_resid


def test_informative_prior_single_images_equals_conjugate_closed_form(rng):
    # Conjugate normal / scaled-inv-chi2 with flat prior on b: b ~ t_{nu0+n-p}(b_ols, s_n^2 (X'X)^-1) with
    # nu_n s_n^2 = nu0 s0^2 + RSS (Gelman et al. BDA3 sec. 14.8). A vanishing ratio prior pins rho at 0.
    X, group, y = _data(rng)
    nu0, s02 = 4.0, 81.0
    post = fit_trend(X, group, y, prior_df=nu0, prior_scale2=s02, ratio_prior_scale=1e-9)
    ols = sm.OLS(y, X).fit()
    nu = nu0 + ols.df_resid
    s2 = (nu0 * s02 + ols.ssr) / nu
    c = np.array([0.0, 24.0])
    se = math.sqrt(s2 * c @ np.linalg.inv(X.T @ X) @ c)
    q = stats.t.ppf(0.975, nu)
    _, lb, ub = post.interval(c)
    assert lb == pytest.approx(c @ ols.params - q * se, rel=1e-7)
    assert ub == pytest.approx(c @ ols.params + q * se, rel=1e-7)


def test_ratio_quantiles_equal_fieller_interval(rng):
    # Fieller (1954): {theta : (a - theta m)^2 <= t^2 var(a - theta m)} for a = c'b, m = intercept.
    X, group, y = _data(rng)
    post = fit_trend(X, group, y, prior_df=0.0, prior_scale2=0.0, ratio_prior_scale=0.5)
    ols = sm.OLS(y, X).fit()
    c, m = np.array([0.0, 24.0]), np.array([1.0, 0.0])
    V = ols.cov_params()
    a, mu = c @ ols.params, m @ ols.params
    vaa, vmm, vam = c @ V @ c, m @ V @ m, c @ V @ m
    t2 = stats.t.ppf(0.975, ols.df_resid) ** 2
    # (mu^2 - t2 vmm) theta^2 - 2 (a mu - t2 vam) theta + (a^2 - t2 vaa) = 0
    A, B, C = mu**2 - t2 * vmm, -2 * (a * mu - t2 * vam), a**2 - t2 * vaa
    roots = np.sort(np.roots([A, B, C]).real)
    lo, hi = post.ratio_quantile(c, m, 0.025), post.ratio_quantile(c, m, 0.975)
    assert lo == pytest.approx(roots[0], rel=1e-6)
    assert hi == pytest.approx(roots[1], rel=1e-6)


def test_mixture_quantile_inverts_cdf(rng):
    X, group, y = _data(rng, k=3)
    post = fit_trend(X, group, y, prior_df=4.0, prior_scale2=81.0, ratio_prior_scale=0.5)
    c = np.array([0.0, 24.0])
    for q in (0.025, 0.5, 0.975):
        assert post.cdf(c, post.quantile(c, q)) == pytest.approx(q, abs=1e-9)
    assert post.weight.sum() == pytest.approx(1.0)
    assert post.df == 4.0 + (24 - 8) + 8 - 2


def test_replicates_do_not_masquerade_as_visits(rng):
    # Pseudo-replication check: visit-level noise with many same-day replicates. Treating 10 images per visit
    # as independent would shrink the interval ~sqrt(10)-fold; the two-component model must not.
    X, group, _ = _data(rng, k=10)
    u = rng.normal(0, 9, 8)
    y = 150 + u[group] + rng.normal(0, 1, group.size)
    post = fit_trend(X, group, y, prior_df=0.0, prior_scale2=0.0, ratio_prior_scale=0.5)
    naive = sm.OLS(y, X[group]).fit()
    c = np.array([0.0, 24.0])
    width = np.subtract(*post.interval(c)[2:0:-1])
    naive_width = 2 * stats.t.ppf(0.975, naive.df_resid) * math.sqrt(c @ naive.cov_params() @ c)
    visit_means = sm.OLS(np.bincount(group, y) / 10, X).fit()
    vm_width = 2 * stats.t.ppf(0.975, visit_means.df_resid) * math.sqrt(c @ visit_means.cov_params() @ c)
    assert width > 2.0 * naive_width
    assert width == pytest.approx(vm_width, rel=0.35)


def test_ratio_grid_is_a_half_cauchy():
    rho, logw = ratio_grid(0.5)
    w = np.exp(logw)
    r = np.sqrt(rho)
    assert w.sum() == pytest.approx(1.0)
    # half-Cauchy(0.5): P(r <= 0.5) = 0.5, P(r <= 5) = 2/pi * atan(10)
    assert w[r <= 0.5].sum() == pytest.approx(0.5, abs=0.05)
    assert w[r <= 5.0].sum() == pytest.approx(2 / np.pi * np.arctan(10.0), abs=0.03)


def test_unidentifiable_trend_raises_too_few():
    X = np.column_stack([np.ones(3), np.zeros(3)])
    with pytest.raises(TooFewStudiesError, match="distinct kinds of visit"):
        fit_trend(
            X, np.arange(3), np.array([1.0, 2.0, 3.0]), prior_df=4, prior_scale2=1, ratio_prior_scale=0.5
        )
    X = np.column_stack([np.ones(2), [0.0, 4.0]])
    with pytest.raises(TooFewStudiesError, match="degrees of freedom"):
        fit_trend(X, np.arange(2), np.array([1.0, 2.0]), prior_df=0, prior_scale2=0, ratio_prior_scale=0.5)
