"""The plain-Python distribution functions against scipy.special (the functions scipy.stats calls)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special as sc

from regrow.meta import _dist as d

PROBS = np.array([1e-12, 1e-6, 0.001, 0.025, 0.05, 0.3, 0.5, 0.7, 0.95, 0.975, 0.999, 1 - 1e-6])
DFS = [1, 2, 3, 4, 5, 7, 10, 11, 30, 99, 100, 500, 1652, 0.5, 2.7, 13.3]


def _close(actual, expected, rtol):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0)


def test_normal():
    x = np.concatenate([np.linspace(-37, 37, 741), [0.0, 1e-8, -1e-8]])
    _close(d.norm_sf(x), sc.ndtr(-x), 1e-12)
    _close(d.norm_cdf(x), sc.ndtr(x), 1e-12)
    p = np.concatenate([np.logspace(-300, -1, 60), np.linspace(0.01, 0.99, 99), 1 - np.logspace(-15, -2, 14)])
    _close(d.norm_ppf(p), sc.ndtri(p), 1e-14)
    _close(d.norm_isf(p), -sc.ndtri(p), 1e-14)
    _close(d.norm_pdf(x), np.exp(-(x**2) / 2) / np.sqrt(2 * np.pi), 1e-14)
    assert d.norm_ppf(0.0) == -np.inf and d.norm_ppf(1.0) == np.inf and np.isnan(d.norm_ppf(1.5))


@pytest.mark.parametrize("df", DFS)
def test_chi_square(df):
    x = np.logspace(-6, np.log10(max(20 * df, 200)), 150)
    keep = sc.chdtrc(df, x) > 1e-250
    _close(d.chi2_sf(x[keep], df), sc.chdtrc(df, x[keep]), 1e-11)
    keep = sc.chdtr(df, x) > 1e-250
    _close(d.chi2_cdf(x[keep], df), sc.chdtr(df, x[keep]), 1e-11)
    _close(d.chi2_ppf(PROBS, df), 2 * sc.gammaincinv(df / 2, PROBS), 1e-12)
    assert d.chi2_sf(-1.0, df) == 1.0 and d.chi2_cdf(0.0, df) == 0.0


@pytest.mark.parametrize("df", DFS)
def test_student_t(df):
    t = np.concatenate([-np.logspace(-4, 3, 80), np.logspace(-4, 3, 80)])
    keep = sc.stdtr(df, -t) > 1e-250
    _close(d.t_sf(t[keep], df), sc.stdtr(df, -t[keep]), 1e-11)
    _close(d.t_cdf(t, df), sc.stdtr(df, t), 1e-11)
    _close(d.t_ppf(PROBS, df), sc.stdtrit(df, PROBS), 1e-11)
    assert d.t_ppf(0.975, np.inf) == pytest.approx(1.959963984540054, rel=1e-15)


@pytest.mark.parametrize("dfd", DFS)
@pytest.mark.parametrize("dfn", [1, 2, 3, 5, 10, 0.7])
def test_f(dfn, dfd):
    f = np.logspace(-4, 3, 80)
    expected = sc.fdtrc(dfn, dfd, f)
    keep = expected > 1e-100
    _close(d.f_sf(f[keep], dfn, dfd), expected[keep], 1e-10)
    assert d.f_sf(0.0, dfn, dfd) == 1.0


def test_gamma_cdf_and_nan_inputs():
    x = np.logspace(-3, 2, 50)
    for a in (0.3, 1.0, 4.5, 60.0):
        _close(d.gamma_cdf(x, a), sc.gammainc(a, x), 1e-11)
    assert np.isnan(d.chi2_sf(np.nan, 3)) and np.isnan(d.t_sf(np.nan, 3)) and np.isnan(d.f_sf(np.nan, 1, 2))
