"""The exact n-of-1 trend model: Gaussian linear model with two noise components, solved in closed form.

Model for one series (one scalp site, or several sites on a relative scale)::

    y[g, i] = x[g] @ b + u[g] + e[g, i]      g = visit (group), i = replicate image
    u[g] ~ N(0, rho * sigma^2)                between-visit noise (relocation, hair length, biology)
    e[g, i] ~ N(0, sigma^2 / w[g, i])         per-image measurement noise (w: known relative precision, 1
                                              unless the image's count is known to be less certain)

Priors: flat on ``b``; scaled-inverse-chi-square(``prior_df``, ``prior_scale2``) on ``sigma^2`` (the published
repeatability, or vague with ``prior_df = 0``); a discrete prior on ``rho = r^2`` with ``r`` half-Cauchy on
a fixed grid. Given ``rho`` the model is conjugate: the visit means and the pooled within-visit sum of squares
are sufficient, ``b`` has a multivariate Student-t posterior and the marginal likelihood is closed-form. The
posterior of any linear contrast is therefore an exact finite mixture of Student-t distributions (quadrature
over ``rho`` only): no sampler, nothing to converge.

References
----------
Gelman A, Carlin JB, Stern HS, et al. Bayesian Data Analysis, 3rd ed., section 14.8 (regression with
unknown variance, conjugate prior). CRC Press; 2013. doi:10.1201/b16018
Gelman A. Prior distributions for variance parameters in hierarchical models. Bayesian Anal.
2006;1(3):515-534. doi:10.1214/06-BA117A
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from regrow.errors import InputError, TooFewStudiesError

__all__ = ["TrendPosterior", "fit_trend", "ratio_grid"]


def ratio_grid(scale: float, *, n: int = 40, r_max: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """Grid over ``rho = r^2`` with normalised half-Cauchy(``scale``) prior weights on ``r``.

    Returns
    -------
    rho, log_weight : ndarray, shape (n,)
        Grid values of ``rho`` and log prior weights (trapezoid rule in ``r``, summing to one).
    """
    r = np.concatenate([[0.0], np.geomspace(scale / 50.0, r_max, n - 1)])
    dens = 2.0 / (np.pi * scale * (1.0 + (r / scale) ** 2))
    # trapezoid weights on a non-uniform grid
    width = np.zeros_like(r)
    width[:-1] += np.diff(r) / 2.0
    width[1:] += np.diff(r) / 2.0
    w = dens * width
    w /= w.sum()
    return r**2, np.log(w)


@dataclass(frozen=True)
class TrendPosterior:
    """Posterior of the trend coefficients: a weighted mixture of multivariate Student-t distributions.

    Attributes
    ----------
    coef : ndarray, shape (R, p)
        Posterior location of ``b`` given each grid value of ``rho``.
    cov_unscaled : ndarray, shape (R, p, p)
        ``(X' W X)^-1`` given each ``rho``; the scale matrix is ``scale2 * cov_unscaled``.
    scale2 : ndarray, shape (R,)
        Posterior scale of ``sigma^2`` given ``rho``.
    df : float
        Posterior degrees of freedom (``prior_df + within df + visits - p``).
    rho : ndarray, shape (R,)
        Grid of between-visit to measurement variance ratios.
    weight : ndarray, shape (R,)
        Posterior probabilities of the grid points (sum to one).
    n_groups, n_obs : int
        Visits and images used.
    """

    coef: np.ndarray
    cov_unscaled: np.ndarray
    scale2: np.ndarray
    df: float
    rho: np.ndarray
    weight: np.ndarray
    n_groups: int
    n_obs: int

    def _loc_scale(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = np.asarray(c, dtype=float)
        loc = self.coef @ c
        var = self.scale2 * np.einsum("i,rij,j->r", c, self.cov_unscaled, c)
        return loc, np.sqrt(np.maximum(var, 0.0))

    def cdf(self, c: np.ndarray, x: float) -> float:
        """Posterior probability that the contrast ``c @ b`` is at most ``x``."""
        loc, scale = self._loc_scale(c)
        return float(_mixture_cdf(loc, scale, self.weight, self.df, x))

    def mean(self, c: np.ndarray) -> float:
        """Posterior mean (= median of each symmetric component) of the contrast ``c @ b``."""
        loc, _ = self._loc_scale(c)
        return float(self.weight @ loc)

    def quantile(self, c: np.ndarray, q: float) -> float:
        """Posterior ``q``-quantile of the contrast ``c @ b`` (root of the mixture CDF, bracketed exactly)."""
        loc, scale = self._loc_scale(c)
        comp = loc + scale * special.stdtrit(self.df, q)
        lo, hi = float(comp.min()), float(comp.max())
        if hi - lo <= 1e-12 * max(1.0, abs(hi)):
            return lo
        f = lambda x: _mixture_cdf(loc, scale, self.weight, self.df, x) - q  # noqa: E731
        return float(optimize.brentq(f, lo, hi, xtol=1e-10 * max(1.0, abs(hi)), rtol=1e-12))

    def interval(self, c: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
        """Posterior mean and equal-tailed ``level`` credible interval of ``c @ b``."""
        a = (1.0 - level) / 2.0
        return self.mean(c), self.quantile(c, a), self.quantile(c, 1.0 - a)

    def ratio_quantile(self, c: np.ndarray, m: np.ndarray, q: float) -> float | None:
        """``q``-quantile of ``(c @ b) / (m @ b)`` when ``m @ b`` is surely positive, else ``None``.

        Uses ``P(c@b / m@b <= theta) = P(c@b - theta * m@b <= 0)`` for ``m@b > 0`` (Fieller's construction,
        Fieller 1954, doi:10.1111/j.2517-6161.1954.tb00159.x), solved for ``theta``. Returns ``None`` when
        ``P(m@b <= 0) > 1e-4`` or the quantile is unbounded.
        """
        c = np.asarray(c, dtype=float)
        m = np.asarray(m, dtype=float)
        if self.cdf(m, 0.0) > 1e-4:
            return None

        def f(theta: float) -> float:
            return self.cdf(c - theta * m, 0.0) - q

        theta0 = self.mean(c) / self.mean(m)
        step = max(abs(theta0), 0.01)
        lo, hi = theta0 - step, theta0 + step
        for _ in range(60):
            if f(lo) < 0.0:
                break
            lo -= step
            step *= 2.0
        else:
            return None
        step = max(abs(theta0), 0.01)
        for _ in range(60):
            if f(hi) > 0.0:
                break
            hi += step
            step *= 2.0
        else:
            return None
        return float(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-10))

    def sigma2_median(self) -> float:
        """Posterior median (approximately: the mixture of component medians) of the per-image variance."""
        med = self.df / stats.chi2.ppf(0.5, self.df)
        return float(self.weight @ (self.scale2 * med))

    def rho_mean(self) -> float:
        """Posterior mean of the between-visit to measurement variance ratio."""
        return float(self.weight @ self.rho)


def _mixture_cdf(loc: np.ndarray, scale: np.ndarray, weight: np.ndarray, df: float, x: float) -> float:
    out = 0.0
    point = scale <= 0.0
    if point.any():
        out += float(weight[point] @ (loc[point] <= x))
    if (~point).any():
        z = (x - loc[~point]) / scale[~point]
        out += float(weight[~point] @ special.stdtr(df, z))
    return out


def fit_trend(
    design: np.ndarray,
    group: np.ndarray,
    y: np.ndarray,
    *,
    prior_df: float,
    prior_scale2: float,
    ratio_prior_scale: float,
    weight: np.ndarray | None = None,
) -> TrendPosterior:
    """Fit the two-component Gaussian trend model exactly.

    Parameters
    ----------
    design : ndarray, shape (G, p)
        One row of the design per visit (group).
    group : ndarray of int, shape (n,)
        The visit index ``0..G-1`` of each image.
    y : ndarray, shape (n,)
        The measurement of each image (hairs/cm2, um or % of baseline).
    prior_df : float
        Degrees of freedom of the scaled-inverse-chi-square prior on the per-image variance; 0 for the
        vague (Jeffreys) prior.
    prior_scale2 : float
        Its scale (a prior guess of the per-image variance, in squared units of ``y``).
    ratio_prior_scale : float
        Scale of the half-Cauchy prior on ``sqrt(rho)``.
    weight : ndarray, shape (n,), optional
        Known relative precision of each image (> 0; default 1): image ``i`` has variance
        ``sigma^2 / weight[i]``. The visit mean becomes the weighted mean, with variance
        ``sigma^2 * (rho + 1 / sum(weight))``; the model stays conjugate and exact.

    Returns
    -------
    TrendPosterior

    Raises
    ------
    InputError
        Non-finite values or mismatched shapes.
    TooFewStudiesError
        The design is rank-deficient or there are no degrees of freedom left for the variance.
    """
    X = np.asarray(design, dtype=float)
    g = np.asarray(group, dtype=int)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or g.shape != y.shape or y.ndim != 1:
        raise InputError.invalid("design/group/y shapes", (X.shape, g.shape, y.shape), "(G, p), (n,), (n,)")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(X))):
        raise InputError.invalid("y", "non-finite values", "finite numbers")
    G, p = X.shape
    if g.size == 0 or g.min() < 0 or g.max() >= G:
        raise InputError.invalid("group", "indices out of range", f"integers in [0, {G - 1}]")
    if weight is None:
        wi = np.ones_like(y)
    else:
        wi = np.asarray(weight, dtype=float)
        if wi.shape != y.shape or not np.all(np.isfinite(wi)) or np.any(wi <= 0):
            raise InputError.invalid("weight", "values <= 0, non-finite or mis-shaped", "(n,) numbers > 0")
    if np.any(np.bincount(g, minlength=G) == 0):
        raise InputError.invalid("group", "a visit without images", "every visit with at least one image")
    k = np.bincount(g, weights=wi, minlength=G)  # effective images per visit
    ybar = np.bincount(g, weights=wi * y, minlength=G) / k
    within_ss = float(np.sum(wi * (y - ybar[g]) ** 2))
    within_df = float(y.size - G)
    if np.linalg.matrix_rank(X) < p:
        raise TooFewStudiesError(
            f"The trend needs {p} distinct kinds of visit (e.g. before and after the start, at different "
            f"times); these {G} visit(s) cannot separate them."
        )
    df = prior_df + within_df + G - p
    if df <= 0:
        raise TooFewStudiesError(
            f"No degrees of freedom left to estimate the measurement noise ({G} visit(s), {y.size} image(s), "
            f"{p} trend parameters and no prior on the noise)."
        )
    rho, log_prior = ratio_grid(ratio_prior_scale)
    w = 1.0 / (rho[:, None] + 1.0 / k[None, :])  # (R, G) precision weights of the visit means
    xtwx = np.einsum("gi,rg,gj->rij", X, w, X)
    xtwy = np.einsum("gi,rg,g->ri", X, w, ybar)
    cov = np.linalg.inv(xtwx)
    coef = np.einsum("rij,rj->ri", cov, xtwy)
    resid = ybar[None, :] - coef @ X.T
    rss = np.sum(w * resid**2, axis=1)
    total = prior_df * prior_scale2 + within_ss + rss
    if np.any(total <= 0.0):
        # All images identical and no prior: the noise is estimated as exactly zero, which is not honest.
        raise TooFewStudiesError(
            "Every measurement is identical and there is no prior on the noise, so the noise cannot "
            "be estimated."
        )
    _, logdet = np.linalg.slogdet(xtwx)
    loglik = 0.5 * np.log(w).sum(axis=1) - 0.5 * logdet - 0.5 * df * np.log(total)
    logpost = log_prior + loglik
    weight = np.exp(logpost - special.logsumexp(logpost))
    return TrendPosterior(
        coef=coef,
        cov_unscaled=cov,
        scale2=total / df,
        df=float(df),
        rho=rho,
        weight=weight,
        n_groups=G,
        n_obs=int(y.size),
    )
