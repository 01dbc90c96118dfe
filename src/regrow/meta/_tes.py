"""The test of excess significance (Ioannidis & Trikalinos 2007, doi:10.1177/1740774507079441; metafor's
``tes``).

Each study's power to reject ``H0`` at level ``alpha`` is computed at the true effect ``theta`` (the
inverse-variance estimate unless given; with ``tau2 > 0`` averaged over ``N(theta, tau2)``); the expected
number of significant studies ``E = sum(power)`` is compared with the observed number ``O`` by a chi-square
test (``prop.test`` without continuity correction), a binomial test with ``p = E / k``, or the exact
Poisson-binomial distribution of the number of significant studies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from regrow.errors import InputError

__all__ = ["TES_TESTS", "TesResult", "tes"]

TES_TESTS = ("chi2", "binom", "exact")
_ALTERNATIVES = ("two.sided", "greater", "less")


@dataclass(frozen=True)
class TesResult:
    """Result of :func:`tes`.

    Attributes
    ----------
    O : int
        Observed number of significant studies.
    E : float
        Expected number (the sum of the studies' power).
    k : int
        Number of studies.
    power : numpy.ndarray
        Each study's power.
    X2 : float
        Chi-square statistic (NaN for the binomial and exact tests).
    pval : float
    test : str
    theta : numpy.ndarray
        The true effect(s) used for the power.
    """

    O: int  # noqa: E741 (metafor's name)
    E: float
    k: int
    power: np.ndarray
    X2: float
    pval: float
    test: str
    theta: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "O": self.O,
            "E": self.E,
            "k": self.k,
            "power": self.power.tolist(),
            "X2": None if np.isnan(self.X2) else self.X2,
            "pval": self.pval,
            "test": self.test,
        }


def _power(theta, sei, tau2, H0, alternative, crit):
    from scipy import integrate
    from scipy.stats import norm

    def pow_at(x, se):
        m = (x - H0) / se
        if alternative == "two.sided":
            return norm.sf(crit - m) + norm.cdf(-crit - m)
        if alternative == "greater":
            return norm.sf(crit - m)
        return norm.cdf(crit - m)

    if tau2 is None or tau2 <= 0:
        return pow_at(theta, sei)
    tau = np.sqrt(tau2)
    out = np.empty(theta.size)
    for i in range(theta.size):
        val, _ = integrate.quad(
            lambda x, i=i: pow_at(x, sei[i]) * norm.pdf(x, theta[i], tau),
            theta[i] - 5 * tau,
            theta[i] + 5 * tau,
            epsabs=1.5e-8,
            epsrel=np.finfo(float).eps ** 0.25,
        )
        out[i] = val
    return out


def _poisson_binomial(power: np.ndarray) -> np.ndarray:
    """P(exactly j of the studies are significant), j = 0..k."""
    dist = np.zeros(power.size + 1)
    dist[0] = 1.0
    for p in power:
        dist[1:] = dist[1:] * (1 - p) + dist[:-1] * p
        dist[0] *= 1 - p
    return dist


def tes(
    yi,
    vi=None,
    *,
    sei=None,
    H0: float = 0.0,
    alternative: str = "two.sided",
    alpha: float = 0.05,
    theta=None,
    tau2: float | None = None,
    test: str | None = None,
    tes_alternative: str = "greater",
    correct: bool = False,
) -> TesResult:
    """Test of excess significance.

    Parameters
    ----------
    yi : array-like or RMAResult or EffectSizes
        Effect sizes, or a fitted ``rma`` model (its effect sizes, tau^2, and its estimate, or its fitted
        values for a meta-regression, as ``theta``), or :func:`escalc` output.
    vi, sei : array-like, optional
        Sampling variances or standard errors.
    H0 : float, default 0
        The null value each study tests.
    alternative : {"two.sided", "greater", "less"}, default "two.sided"
        The studies' own tests.
    alpha : float, default 0.05
        Their significance level.
    theta : float or array-like, optional
        True effect(s) at which power is computed (default: the inverse-variance weighted mean).
    tau2 : float, optional
        Heterogeneity: power is averaged over ``N(theta, tau2)``.
    test : {"chi2", "binom", "exact"}, optional
        Default: "exact" unless it needs more than 10^6 terms (as metafor), else "chi2".
    tes_alternative : {"greater", "two.sided", "less"}, default "greater"
        The direction of the excess test.
    correct : bool, default False
        Continuity correction of the chi-square test.

    Returns
    -------
    TesResult

    Raises
    ------
    InputError
        Bad options, mismatched or missing values, or no studies.
    """
    from math import comb

    from scipy.stats import binomtest, chi2, norm

    from regrow.meta._rma_result import RMAResult

    if alternative not in _ALTERNATIVES:
        raise InputError.invalid("alternative", alternative, "one of " + ", ".join(_ALTERNATIVES))
    if tes_alternative not in _ALTERNATIVES:
        raise InputError.invalid("tes_alternative", tes_alternative, "one of " + ", ".join(_ALTERNATIVES))
    if test is not None and test not in TES_TESTS:
        raise InputError.invalid("test", test, "one of " + ", ".join(TES_TESTS))
    if not 0 < alpha < 1:
        raise InputError.invalid("alpha", alpha, "a number between 0 and 1")
    if isinstance(yi, RMAResult):
        res = yi
        theta = float(res.beta[0]) if res.X.shape[1] == 1 and np.all(res.X[:, 0] == 1) else res.X @ res.beta
        tau2 = res.tau2
        yi, vi = np.asarray(res.yi, float), np.asarray(res.vi, float)
    elif vi is None and sei is None and hasattr(yi, "vi"):
        yi, vi = np.asarray(yi.yi, float), np.asarray(yi.vi, float)
    yi = np.asarray(yi, dtype=float).reshape(-1)
    if vi is None:
        if sei is None:
            raise InputError("Give vi or sei with the effect sizes.", field="vi")
        vi = np.asarray(sei, dtype=float).reshape(-1) ** 2
    vi = np.asarray(vi, dtype=float).reshape(-1)
    if vi.size != yi.size:
        raise InputError(f"yi has {yi.size} values but vi has {vi.size}.", field="vi", value=vi.size)
    est_theta = theta is None
    th = np.zeros(yi.size) if est_theta else np.broadcast_to(np.asarray(theta, float), yi.shape).copy()
    if not est_theta and np.size(theta) not in (1, yi.size):
        raise InputError(f"theta has {np.size(theta)} values for {yi.size} studies.", field="theta")
    keep = np.isfinite(yi) & np.isfinite(vi) & np.isfinite(th)
    yi, vi, th = yi[keep], vi[keep], th[keep]
    k = yi.size
    if k == 0:
        raise InputError("No study has both an effect size and a sampling variance.", field="yi")
    crit = norm.isf(alpha / 2) if alternative == "two.sided" else norm.isf(alpha)
    if alternative == "less":
        crit = -crit
    sei_ = np.sqrt(vi)
    zi = (yi - H0) / sei_
    wi = 1 / vi if (tau2 is None or tau2 <= 0) else 1 / (vi + tau2)
    if est_theta:
        th = np.full(k, float(np.sum(wi * yi) / np.sum(wi)))
    power = np.asarray(_power(th, sei_, tau2, H0, alternative, crit), dtype=float)
    sig = (
        np.abs(zi) >= crit
        if alternative == "two.sided"
        else (zi >= crit if alternative == "greater" else zi <= crit)
    )
    E = float(power.sum())
    O = int(sig.sum())  # noqa: E741
    js = {"two.sided": range(k + 1), "greater": range(O, k + 1), "less": range(O + 1)}[tes_alternative]
    if test is None:
        test = "exact" if sum(comb(k, j) for j in js) <= 10**6 else "chi2"
    X2 = float("nan")
    p = E / k
    if test == "chi2":
        obs = np.array([O, k - O], float)
        exp = np.array([k * p, k * (1 - p)])
        yates = min(0.5, abs(O - k * p)) if correct else 0.0
        X2 = float(np.sum((np.abs(obs - exp) - yates) ** 2 / exp))
        if tes_alternative == "two.sided":
            pval = float(chi2.sf(X2, 1))
        else:
            z = np.sign(O / k - p) * np.sqrt(X2)
            pval = float(norm.cdf(z) if tes_alternative == "less" else norm.sf(z))
    elif test == "binom":
        pval = float(binomtest(O, k, p, alternative=tes_alternative).pvalue)
    else:
        prj = _poisson_binomial(power)
        if tes_alternative == "two.sided":
            pval = float(np.sum(prj[prj <= prj[O] + np.finfo(float).eps ** 0.5]))
        else:
            pval = float(np.sum(prj[list(js)]))
        pval = min(pval, 1.0)
    return TesResult(O=O, E=E, k=k, power=power, X2=X2, pval=pval, test=test, theta=th)
