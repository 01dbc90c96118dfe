"""Location-scale meta-regression (metafor's ``rma(..., scale = ~ z)``, class ``rma.ls``): the moderators
``X`` act on the mean and the scale moderators ``Z`` on the heterogeneity,
``tau2_i = exp(z_i' alpha)`` (log link) or ``z_i' alpha`` (identity link, constrained to ``tau2_i >= 0``).

``alpha`` maximises the ML or REML log-likelihood with ``beta`` profiled out (weighted least squares with
``w_i = 1/(vi + tau2_i)``); its variance is the inverse of the numerical Hessian of the (restricted)
log-likelihood, as metafor computes it with numDeriv. Tests of ``alpha`` are z (or t with k - q df), and QS
is the Wald test of the scale coefficients ``att`` (default: all but the intercept).

References
----------
Viechtbauer W, Lopez-Lopez JA (2022). Location-scale models for meta-analysis. Res Synth Methods
    13:697-715. doi:10.1002/jrsm.1562
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regrow.errors import ConvergenceError, InputError, TooFewStudiesError
from regrow.meta._dist import chi2_sf, f_sf, norm_ppf, norm_sf, t_ppf, t_sf
from regrow.meta._optim_r import hessian as numderiv_hessian
from regrow.meta._rma_result import Prediction, RMAResult, alpha_of
from regrow.meta._transf import resolve_transf

__all__ = ["LINKS", "LSResult", "fit_ls"]

#: Links of the scale model.
LINKS = ("log", "identity")


@dataclass(frozen=True)
class LSResult(RMAResult):
    """A location-scale model: the location part as in :class:`RMAResult` (``tau2`` is then the vector of
    the studies' tau^2 values) and the scale part, metafor's ``alpha`` (``alpha_coef`` here, since ``alpha``
    is the significance level of every result), with its tests."""

    alpha_coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    se_alpha: np.ndarray = field(default_factory=lambda: np.zeros(0))
    va: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    zval_alpha: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pval_alpha: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ci_lb_alpha: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ci_ub_alpha: np.ndarray = field(default_factory=lambda: np.zeros(0))
    QS: float = float("nan")
    QSdf: tuple[int, int | None] = (0, None)
    QSp: float = float("nan")
    att: tuple[int, ...] = ()
    Z: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    Z_all: np.ndarray | None = None
    z_names: list[str] = field(default_factory=list)
    link: str = "log"
    ddf_alpha: int | None = None
    z_intercept: bool = True

    @property
    def q(self) -> int:
        return int(self.alpha_coef.size)

    @property
    def tau(self) -> float:
        raise InputError("A location-scale model has one tau^2 per study (see tau2).", field="tau")

    def scale_fitted(self) -> np.ndarray:
        """The linear predictor of the scale part, ``Z alpha`` (metafor's ``fitted(res)$scale``)."""
        return self.Z @ self.alpha_coef

    def _scale_rows(self, newscale, intercept: bool) -> np.ndarray:
        Znew = np.atleast_2d(np.asarray(newscale, dtype=float))
        n_mods = self.q - int(self.z_intercept)
        if n_mods == 1 or (Znew.shape[1] != n_mods and Znew.shape[0] == n_mods):
            Znew = Znew.reshape(-1, 1) if n_mods == 1 else Znew.T
        if self.z_intercept:
            Znew = np.column_stack([np.full(Znew.shape[0], 1.0 if intercept else 0.0), Znew])
        if Znew.shape[1] != self.q:
            raise InputError(
                f"newscale has {Znew.shape[1] - int(self.z_intercept)} columns; the scale model has {n_mods}.",
                field="newscale",
            )
        return Znew

    def predict(
        self,
        newmods=None,
        *,
        newscale=None,
        intercept: bool = True,
        level: float | None = None,
        transf: Any = None,
        targs: Any = None,
        addx: bool = False,
        addz: bool = False,
        **_: Any,
    ) -> Prediction:
        """Predictions of a location-scale model (metafor's ``predict.rma.ls``).

        With ``newscale`` only: the scale part ``z' alpha`` (``transf="exp"`` gives tau^2 under the log link).
        Otherwise the location part; its prediction interval uses the tau^2 of the ``newscale`` rows, or each
        study's own tau^2 for the fitted values (``newmods`` omitted); without ``newscale`` for new
        moderator values there is no prediction interval.

        Parameters
        ----------
        newmods, newscale : array-like, optional
        intercept : bool, default True
        level : float, optional
        transf : str or callable, optional
        targs : mapping, optional
        addx, addz : bool
            Accepted for metafor's signature (the rows used are in ``X``).

        Returns
        -------
        Prediction
        """
        crit_alpha = alpha_of(self.level if level is None else level)
        func = resolve_transf(transf)
        if newscale is not None and newmods is None:
            Znew = self._scale_rows(newscale, intercept)
            pred = Znew @ self.alpha_coef
            se = np.sqrt(np.einsum("ij,jk,ik->i", Znew, self.va, Znew))
            crit = (
                float(t_ppf(1 - crit_alpha / 2, self.ddf_alpha))
                if self.ddf_alpha
                else float(norm_ppf(1 - crit_alpha / 2))
            )
            out = {"pred": pred, "ci_lb": pred - crit * se, "ci_ub": pred + crit * se}
            if func is not None:
                out = {k: np.asarray(func(v), dtype=float) for k, v in out.items()}
            return Prediction(se=None if func is not None else se, X=Znew if addz else None, **out)
        if newmods is None:
            Xnew, tau2 = self.X, np.asarray(self.tau2, dtype=float)
        else:
            Xnew, _ = RMAResult._new_design(self, newmods, intercept)
            if newscale is not None:
                Znew = self._scale_rows(newscale, True)
                lin = Znew @ self.alpha_coef
                tau2 = np.exp(lin) if self.link == "log" else lin
            else:
                tau2 = np.full(Xnew.shape[0], np.nan)
        pred = Xnew @ self.beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", Xnew, self.vb, Xnew))
        crit = self.crit(level)
        spread = np.sqrt(se**2 + tau2)
        out = {"pred": pred, "ci_lb": pred - crit * se, "ci_ub": pred + crit * se, "pi_lb": pred - crit * spread,
               "pi_ub": pred + crit * spread}  # fmt: skip
        if func is not None:
            out = {k: np.asarray(func(v), dtype=float) for k, v in out.items()}
        return Prediction(se=None if func is not None else se, X=Xnew if addx else None, **out)

    def confint(self, **_: Any):
        """Not available: profile the likelihood instead (metafor's ``confint.rma.ls`` profiles alpha)."""
        raise InputError("Q-profile intervals do not exist for location-scale models.", field="res")


def _loglik(alpha, yi, vi, X, Z, reml: bool, link: str) -> float:
    lin = Z @ alpha
    tau2 = np.exp(lin) if link == "log" else lin
    if not np.all(np.isfinite(tau2)) or np.any(tau2 < 0):
        return -math.inf
    total = vi + tau2
    if np.any(total <= 0):
        return -math.inf
    w = 1.0 / total
    XtW = X.T * w
    A = XtW @ X
    try:
        L = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        return -math.inf
    beta = np.linalg.solve(A, XtW @ yi)
    rss = float(np.sum(w * (yi - X @ beta) ** 2))
    k, p = X.shape
    if not reml:
        return -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.sum(np.log(total))) - 0.5 * rss
    logdet_xx = np.linalg.slogdet(X.T @ X)[1]
    logdet_xwx = 2.0 * float(np.sum(np.log(np.diag(L))))
    return (
        -0.5 * (k - p) * math.log(2 * math.pi) + 0.5 * logdet_xx - 0.5 * float(np.sum(np.log(total))) - 0.5 * logdet_xwx
        - 0.5 * rss
    )  # fmt: skip


def _score(alpha, yi, vi, X, Z, reml: bool, link: str):
    """Log-likelihood, its gradient and the expected information in ``alpha``, or None off the domain.

    With ``P = W - W X (X'WX)^-1 X'W`` (REML) or the GLS residuals ``e`` (ML), the derivative of the
    log-likelihood in ``tau2_i`` is ``-(P_ii - (Py)_i^2) / 2`` (ML: ``-(w_i - (w_i e_i)^2) / 2``) and the
    expected information ``P_il^2 / 2`` (ML: ``w_i^2 / 2`` on the diagonal); the chain rule through
    ``tau2_i = exp(z_i'alpha)`` (or ``z_i'alpha``) gives them in ``alpha``.
    """
    lin = Z @ alpha
    tau2 = np.exp(lin) if link == "log" else lin
    if not np.all(np.isfinite(tau2)) or np.any(tau2 < 0):
        return None
    total = vi + tau2
    if np.any(total <= 0):
        return None
    ll = _loglik(alpha, yi, vi, X, Z, reml, link)
    if not math.isfinite(ll):
        return None
    w = 1.0 / total
    WX = X * w[:, None]
    A_inv = np.linalg.inv(X.T @ WX)
    if reml:
        P = np.diag(w) - WX @ A_inv @ WX.T
        Py = P @ yi
        d = -0.5 * (np.diag(P) - Py**2)
        M = 0.5 * P**2
    else:
        e = yi - X @ (A_inv @ (WX.T @ yi))
        d = -0.5 * (w - (w * e) ** 2)
        M = np.diag(0.5 * w**2)
    s = tau2 if link == "log" else np.ones_like(tau2)
    grad = Z.T @ (d * s)
    info = Z.T @ (M * np.outer(s, s)) @ Z
    return ll, grad, info


def _fisher_scoring(start, yi, vi, X, Z, reml: bool, link: str, maxiter: int = 1000):
    """Maximise the (RE)ML log-likelihood by Fisher scoring with step halving; None when the start is off
    the domain. Stops when a step no longer raises the log-likelihood by more than 1e-13 (relative)."""
    cur = _score(start, yi, vi, X, Z, reml, link)
    if cur is None:
        return None
    alpha = np.asarray(start, float)
    for _ in range(maxiter):
        ll, grad, info = cur
        try:
            step = np.linalg.lstsq(info, grad, rcond=None)[0]
        except np.linalg.LinAlgError:
            break
        big = np.max(np.abs(step))
        if big > 5:
            step *= 5 / big
        t, moved = 1.0, False
        while t > 1e-10:
            trial = alpha + t * step
            new = _score(trial, yi, vi, X, Z, reml, link)
            if new is not None and new[0] >= ll:
                moved = True
                break
            t /= 2
        if not moved:
            break
        gain = new[0] - ll
        alpha, cur = trial, new
        if gain <= 1e-13 * (1 + abs(ll)) and np.max(np.abs(t * step)) < 1e-8:
            break
    return alpha


def _standardizer(Z: np.ndarray, z_intercept: bool) -> np.ndarray | None:
    """metafor's ``mZ``: the matrix that maps coefficients of the standardized scale design (non-dummy
    columns centred and scaled) back to the original ones, so that the optimizer and the numerical Hessian
    work on parameters of order 1."""
    q = Z.shape[1]
    if not z_intercept or q == 1:
        return None
    rest = Z[:, 1:]
    mean, sd = rest.mean(axis=0), rest.std(axis=0, ddof=1)
    dummy = np.all((rest == 0) | (rest == 1), axis=0)
    top = np.concatenate([[1.0], np.where(dummy, 0.0, -mean / sd)])
    body = np.column_stack([np.zeros(q - 1), np.diag(np.where(dummy, 1.0, 1.0 / sd))])
    return np.vstack([top, body])


def _start(yi, vi, X, Z, link: str) -> np.ndarray:
    """metafor's starting values: regress the squared standardized residuals of an HE fit on Z."""
    from regrow.meta._influence import rstandard
    from regrow.meta._rma import fit_arrays

    fit = fit_arrays(
        yi, vi, X, [f"x{j}" for j in range(X.shape[1])], method="HE", intercept=False, with_r2=False
    )
    r = rstandard(fit)
    e2 = np.maximum(r.resid**2, 1e-8)
    if link == "log":
        y, w = np.log(e2), e2**2 / (4 * np.maximum(r.se**2, 1e-12))
    else:
        y, w = e2, 1.0 / np.maximum(r.se**2, 1e-12)
    from regrow.meta._linalg import wls

    try:
        alpha = wls(y, Z, w).beta
    except InputError:
        alpha = np.zeros(Z.shape[1])
    if link == "identity" and np.any(Z @ alpha < 0):
        is_int = np.all(Z == 1, axis=0)
        alpha = np.where(is_int, fit.tau2 + 0.01, 0.0)
    return alpha


def fit_ls(
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray,
    names: list[str],
    Z: np.ndarray,
    z_names: list[str],
    *,
    link: str = "log",
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    intercept: bool = True,
    z_intercept: bool = True,
    slab: list[str] | None = None,
    btt=None,
    att=None,
    warnings: list[str] | None = None,
) -> LSResult:
    """Fit a location-scale model to clean arrays (see the module docstring).

    Returns
    -------
    LSResult

    Raises
    ------
    InputError
        Unknown link, estimator other than ML/REML, a scale design that is not of full rank.
    TooFewStudiesError
        When there are not more studies than parameters.
    ConvergenceError
        When the optimizer fails.
    """
    from scipy import optimize

    from regrow.meta._rma import fit_arrays

    if link not in LINKS:
        raise InputError.invalid("link", link, "log or identity")
    if method not in ("ML", "REML"):
        raise InputError.invalid(
            "method", method, "ML or REML (location-scale models are fitted by likelihood)"
        )
    if test not in ("z", "t"):
        raise InputError.invalid("test", test, "z or t for location-scale models")
    k, p = X.shape
    q = Z.shape[1]
    if p + q > k:
        raise TooFewStudiesError(f"{k} studies cannot support {p} location and {q} scale coefficients.")
    if np.linalg.matrix_rank(Z) < q:
        raise InputError("The scale moderators are linearly dependent; drop a redundant one.", field="scale")
    reml = method == "REML"
    warnings = list(warnings or [])
    mZ = _standardizer(Z, z_intercept)
    Zs = Z if mZ is None else Z @ mZ

    def negll(a):
        value = _loglik(a, yi, vi, X, Zs, reml, link)
        return 1e300 if not math.isfinite(value) else -value

    start = _start(yi, vi, X, Z, link)
    start = start if mZ is None else np.linalg.solve(mZ, start)
    best = _fisher_scoring(start, yi, vi, X, Zs, reml, link)
    if best is None:  # the start is off the domain (identity link): the simplex finds a way in
        best = optimize.minimize(negll, start, method="Nelder-Mead", options={"maxiter": 4000}).x
        best = _fisher_scoring(best, yi, vi, X, Zs, reml, link)
        if best is None:
            raise ConvergenceError("The location-scale model did not converge (no finite likelihood found).")
    if negll(best) >= 1e299:
        raise ConvergenceError("The location-scale model did not converge (no finite likelihood found).")
    try:
        va_s = np.linalg.inv(numderiv_hessian(negll, best, r=8))  # metafor: numDeriv, hessianCtrl r = 8
    except np.linalg.LinAlgError:
        va_s = np.full((q, q), np.nan)
        warnings.append("The Hessian of the scale coefficients could not be inverted.")
    alpha = best if mZ is None else mZ @ best
    va = va_s if mZ is None else mZ @ va_s @ mZ.T
    lin = Z @ alpha
    tau2_i = np.exp(lin) if link == "log" else lin
    if link == "identity" and np.any(np.isclose(tau2_i, 0.0, atol=1e-8)):
        warnings.append("One or more tau^2 values are (almost) 0: the scale coefficients are at their bound.")
    # location part: weighted least squares with the studies' tau^2, tests as rma.uni
    base = fit_arrays(yi, vi, X, names, method="REML", test="knha" if test == "t" else "z", level=level,
                      intercept=intercept, slab=slab, btt=btt, tau2=0.0, with_r2=False)  # fmt: skip
    w = 1.0 / (vi + tau2_i)
    from regrow.meta._linalg import wls

    fit = wls(yi, X, w)
    vb = fit.A_inv
    se = np.sqrt(np.diag(vb))
    zval = fit.beta / se
    ddf = k - p if test == "t" else None
    alpha_l = alpha_of(level)
    if ddf is None:
        pval, crit = 2 * norm_sf(np.abs(zval)), float(norm_ppf(1 - alpha_l / 2))
    else:
        pval, crit = 2 * t_sf(np.abs(zval), ddf), float(t_ppf(1 - alpha_l / 2, ddf))
    btt_idx = base.btt
    b = fit.beta[list(btt_idx)]
    QM = float(b @ np.linalg.solve(vb[np.ix_(btt_idx, btt_idx)], b))
    m = len(btt_idx)
    QM, QMp = (QM, float(chi2_sf(QM, m))) if ddf is None else (QM / m, float(f_sf(QM / m, m, ddf)))
    att_idx = tuple(range(1, q)) if (att is None and z_intercept and q > 1) else (
        tuple(range(q)) if att is None else tuple(int(j) for j in att))  # fmt: skip
    se_a = np.sqrt(np.diag(va))
    za = alpha / se_a
    ddf_a = k - q if test == "t" else None
    if ddf_a is None:
        pa, crit_a = 2 * norm_sf(np.abs(za)), float(norm_ppf(1 - alpha_l / 2))
    else:
        pa, crit_a = 2 * t_sf(np.abs(za), ddf_a), float(t_ppf(1 - alpha_l / 2, ddf_a))
    aa = alpha[list(att_idx)]
    try:
        QS = float(aa @ np.linalg.solve(va[np.ix_(att_idx, att_idx)], aa))
    except np.linalg.LinAlgError:
        QS = float("nan")
    ma = len(att_idx)
    QS, QSp = (QS, float(chi2_sf(QS, ma))) if ddf_a is None else (QS / ma, float(f_sf(QS / ma, ma, ddf_a)))
    ll_ml = _loglik(alpha, yi, vi, X, Z, False, link)
    ll_reml = _loglik(alpha, yi, vi, X, Z, True, link)
    parms = p + q
    fit_stats = {}
    for name, ll, n in (("ML", ll_ml, k), ("REML", ll_reml, k - p)):
        big = max(n, parms + 2)
        dev = -2 * (ll_ml + 0.5 * float(np.sum(np.log(2 * np.pi * vi)))) if name == "ML" else -2 * ll_reml
        fit_stats[name] = {"ll": ll, "dev": dev, "AIC": -2 * ll + 2 * parms, "BIC": -2 * ll + parms * math.log(n),
                           "AICc": -2 * ll + 2 * parms * big / (big - parms - 1)}  # fmt: skip
    return LSResult(
        **{**base.__dict__, "method": method, "test": test, "beta": fit.beta, "se": se, "zval": zval, "pval": pval,
           "ci_lb": fit.beta - crit * se, "ci_ub": fit.beta + crit * se, "vb": vb, "tau2": tau2_i,
           "se_tau2": float("nan"), "QM": QM, "QMp": QMp, "QMdf": (m, ddf), "ddf": ddf, "weights": w,
           "fit_stats": fit_stats, "parms": parms, "warnings": warnings, "R2": None},
        alpha_coef=alpha, se_alpha=se_a, va=va, zval_alpha=za, pval_alpha=pa, ci_lb_alpha=alpha - crit_a * se_a,
        ci_ub_alpha=alpha + crit_a * se_a, QS=QS, QSdf=(ma, ddf_a), QSp=QSp, att=att_idx, Z=Z, z_names=z_names,
        link=link, ddf_alpha=ddf_a, z_intercept=z_intercept,
    )  # fmt: skip
