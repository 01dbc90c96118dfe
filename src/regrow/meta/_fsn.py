"""Fail-safe N (metafor's ``fsn``): Rosenthal (Stouffer or Fisher pooling), Orwin, Rosenberg, Binomial and
the general approach of metafor 4 (how many studies averaging ``mumiss`` would make a random-effects
estimate non-significant, or shrink it to a target).

metafor 3.8-1 names the random-effects variant ``"REM"`` and finds it by simulation; metafor 4.0 replaced
that by the deterministic ``"General"`` computed here (``"REM"`` is accepted as its old name). The
closed-form types agree with metafor 3.8-1 exactly; ``"General"`` reproduces the values in metafor 4's own
tests (see tests/meta/test_fsn.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from regrow.errors import InputError, TooFewStudiesError
from regrow.meta._dist import chi2_sf, norm_isf, norm_sf
from regrow.meta._roots import uniroot

__all__ = ["FSN_TYPES", "FsnResult", "fsn"]

#: ``type=`` choices of :func:`fsn` ("REM" is metafor 3.8's name of "General").
FSN_TYPES = ("Rosenthal", "Orwin", "Rosenberg", "Binomial", "General", "REM")
_ROOT_TOL = np.finfo(float).eps ** 0.25
_MAX_EXACT = 5000


@dataclass(frozen=True)
class FsnResult:
    """Result of :func:`fsn`: the fail-safe number and what it was computed from.

    ``meanes`` is the average effect (Orwin, Rosenberg, General; ``est`` is the same number); ``est_fsn``,
    ``tau2_fsn`` and ``pval_fsn`` describe the model with the ``fsnum`` added studies (General only), and
    ``ub_sign`` is ">" when the search stopped at ``maxint``.
    """

    type: str
    fsnum: int | float
    alpha: float
    pval: float | None
    meanes: float | None
    target: float | None
    tau2: float | None = None
    method: str | None = None
    est_fsn: float | None = None
    tau2_fsn: float | None = None
    pval_fsn: float | None = None
    ub_sign: str = ""

    @property
    def est(self) -> float | None:
        """The average effect (metafor's ``est``; same as ``meanes``)."""
        return self.meanes

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "fsnum": self.fsnum,
            "alpha": self.alpha,
            "pval": self.pval,
            "meanes": self.meanes,
            "target": self.target,
            "tau2": self.tau2,
            "method": self.method,
            "est_fsn": self.est_fsn,
            "tau2_fsn": self.tau2_fsn,
            "pval_fsn": self.pval_fsn,
            "ub_sign": self.ub_sign,
        }


def _round_fsn(value: float) -> int | float:
    """metafor's ``.rnd.fsn``: round up unless within sqrt(eps) of an integer."""
    if math.isfinite(value) and abs(value - round(value)) >= np.sqrt(np.finfo(float).eps):
        return math.ceil(value)
    return round(value) if math.isfinite(value) else value


def _binom_two_sided(x: int, n: int) -> float:
    """``binom.test(x, n)$p.value`` with p = 0.5 (R's rule: sum of all outcomes no likelier than x)."""
    logd = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2)
        for i in range(n + 1)
    ]
    cut = logd[x] + math.log1p(1e-7)
    return min(1.0, float(sum(math.exp(v) for v in logd if v <= cut)))


def _data(data, vi, sei, subset, type_: str, weighted: bool):
    from regrow.meta._rma_result import RMAResult

    model = data if isinstance(data, RMAResult) else None
    if model is not None:
        if model.p != 1 or not model.int_only:
            raise InputError("fsn() works on models without moderators only.", field="data")
        if getattr(model, "user_weights", None) is not None:
            raise InputError("fsn() cannot use a model fitted with custom weights.", field="data")
        return model, np.asarray(model.yi, float), np.asarray(model.vi, float)
    try:
        yi = np.asarray(data, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError("yi must be numeric.", field="yi") from exc
    if vi is None and sei is not None:
        vi = np.asarray(sei, dtype=float) ** 2
    needs_vi = type_ in ("Rosenthal", "Rosenberg", "General") or (type_ == "Orwin" and weighted)
    if vi is None:
        if needs_vi:
            raise InputError(f"fsn(type={type_!r}) needs vi or sei.", field="vi")
        vi = np.ones_like(yi)
    try:
        vi = np.broadcast_to(np.asarray(vi, dtype=float).reshape(-1), yi.shape).copy()
    except ValueError as exc:
        raise InputError(f"yi has {yi.size} values but vi has {np.size(vi)}.", field="vi") from exc
    if subset is not None:
        mask = np.asarray(subset)
        if mask.dtype != bool:
            sel = np.zeros(yi.size, bool)
            sel[mask.astype(int)] = True
            mask = sel
        yi, vi = yi[mask], vi[mask]
    keep = np.isfinite(yi) & np.isfinite(vi)
    yi, vi = yi[keep], vi[keep]
    bad = np.flatnonzero(vi <= 0)
    if bad.size and needs_vi:
        raise InputError.invalid("vi", float(vi[bad[0]]), f"sampling variances > 0 (row {bad[0] + 1})")
    return None, yi, vi


def _general(yi, vi, alpha, target, model, method, exact, mumiss, interval, maxint):
    """metafor 4's ``type="General"``: (fsnum, est, tau2, pval, target, est_fsn, tau2_fsn, pval_fsn, ub)."""
    from regrow.meta._rma import rma

    k = yi.size
    tau2fix = model.tau2 if model is not None and model.tau2_fixed else None
    test = model.test if model is not None else "z"
    weighted = model.weighted if model is not None else True
    if method is None:
        method = model.method if model is not None else "REML"
    if test != "z":
        exact = True
    try:
        fit = rma(yi, vi, method=method, tau2=tau2fix, test=test, weighted=weighted)
    except Exception as exc:
        raise InputError(
            f"fsn(type='General') could not fit the random-effects model: {exc}", field="data"
        ) from exc
    est, tau2, pval = float(fit.beta[0]), float(fit.tau2), float(fit.pval[0])
    vt = 1.0 / float(np.mean(1.0 / vi))
    fe = method in ("FE", "EE", "CE")

    def added(n: int):
        # The added studies: mumiss plus standardised scores times sqrt(vt + tau2); every estimator sees
        # them only through their sum and sum of squares, so any standardised scores give the same fit.
        if n == 0:
            z = np.empty(0)
        elif n == 1:
            z = np.zeros(1)
        else:
            z = np.arange(n, dtype=float)
            z = (z - z.mean()) / z.std(ddof=1)
        return np.concatenate([yi, z * np.sqrt(vt + tau2) + mumiss]), np.concatenate([vi, np.full(n, vt)])

    def state(x: float):
        n = min(math.floor(x), maxint)
        if exact and n <= _MAX_EXACT:
            ynew, vnew = added(n)
            new = rma(ynew, vnew, method=method, tau2=tau2fix, test=test, weighted=weighted)
            e, t2, p = float(new.beta[0]), float(new.tau2), float(new.pval[0])
            if target is None and mumiss != 0 and np.sign(e) == np.sign(mumiss):
                p = 1.0
            return n, e, t2, p
        if fe:
            t2 = 0.0
        else:
            e0 = (k * est + n * mumiss) / (k + n)
            if tau2fix is None:
                t2 = (
                    (k - 1) * tau2 + max(0, n - 1) * tau2 + k * (est - e0) ** 2 + n * (mumiss - e0) ** 2
                ) / (k + n - 1)
                if target is None:
                    t2 = max(0.0, t2)
            else:
                t2 = tau2
        if weighted:
            w, wt = 1.0 / (vi + t2), 1.0 / (vt + t2)
            e = (float(np.sum(w * yi)) + n * wt * mumiss) / (float(np.sum(w)) + n * wt)
            z = e / math.sqrt(1.0 / (float(np.sum(w)) + n * wt))
        else:
            e = (float(np.sum(yi)) + n * mumiss) / (k + n)
            z = (k + n) * e / math.sqrt(float(np.sum(vi + t2)) + n * (vt + t2))
        p = float(2 * norm_sf(abs(z)))
        if target is None and mumiss != 0 and e * mumiss > 0:
            p = 1.0
        return n, e, t2, p

    def diff(x: float) -> float:
        n, e, _, p = state(x)
        if n == maxint:
            return 0.0
        return p - alpha if target is None else e - target

    lo, hi = interval if interval is not None else (0.0, 50.0 * k)
    if target is None:
        if pval >= alpha:
            return 0, est, tau2, pval, None, est, tau2, pval, ""
        extend = "upX"
    else:
        target = float(target)
        if np.sign(target) != np.sign(est):
            target = -target
        if target == 0:
            return math.inf, est, tau2, pval, target, None, None, None, ""
        if abs(target) >= abs(est):
            return 0, est, tau2, pval, target, est, tau2, pval, ""
        extend = "downX" if est > 0 else "upX"
    try:
        root = uniroot(diff, lo, hi, extend=extend, tol=_ROOT_TOL, maxiter=1000)
    except (ValueError, ArithmeticError) as exc:
        raise InputError(f"fsn(type='General') found no fail-safe N: {exc}", field="type") from exc
    # diff() is a step function of floor(x): its sign changes at a whole number n; the root finder stops
    # within its tolerance of n, on either side. N is that n (metafor rounds the root up, which gives n + 1
    # when the root lands just above n).
    fsnum = min(math.floor(root), maxint)
    if fsnum < maxint and (diff(fsnum) < 0 if extend == "upX" else diff(fsnum) > 0):
        fsnum += 1
    _, e, t2, p = state(fsnum)
    return fsnum, est, tau2, pval, target, e, t2, p, (">" if fsnum >= maxint else "")


def fsn(
    data,
    vi=None,
    *,
    sei=None,
    type: str | None = None,
    alpha: float = 0.05,
    target: float | None = None,
    weighted: bool = False,
    pool: str = "stouffer",
    method: str | None = None,
    exact: bool = False,
    mumiss: float = 0.0,
    subset=None,
    interval: tuple[float, float] | None = None,
    maxint: int = 10**7,
) -> FsnResult:
    """Fail-safe N: how many unpublished null studies would overturn the result (metafor's ``fsn``).

    * Rosenthal, ``pool="stouffer"``: ``z = |sum(y_i / sqrt(v_i))| / sqrt(k)``, p = one-sided normal tail,
      ``N = max(0, k (z / z_{1-alpha})^2 - k)``. ``pool="fisher"``: the N at which Fisher's combined p of
      the k one-sided p-values and N p-values of 0.5 reaches ``alpha``.
    * Orwin: ``N = max(0, k (mean - target) / target)`` with the unweighted (or, ``weighted=True``,
      1/v-weighted) mean effect; ``target`` defaults to half the mean.
    * Rosenberg: with the fixed-effect estimate,
      ``N = max(0, ((sum w y / z_{1-alpha/2})^2 - sum w) / mean(w))``.
    * Binomial: the number of added null studies (half above 0) at which the sign test's two-sided p-value
      reaches ``alpha``.
    * General (metafor 4; ``"REM"`` is metafor 3.8's name): the number of studies with average effect
      ``mumiss`` and variance ``1 / mean(1/v)`` that makes the random-effects model (estimator ``method``)
      non-significant, or (with ``target``) shrinks its estimate to ``target``. The model with the added
      studies is approximated in closed form, or refitted when ``exact=True`` (up to 5000 added studies).
      N is the smallest whole number that reaches the criterion (metafor rounds up the root finder's
      root, which gives one more when that root lands just above the number).

    Other non-integer N are rounded up (metafor's ``ceiling``).

    Parameters
    ----------
    data : RMAResult or array-like
        A fitted intercept-only model (then ``type`` defaults to "General" and the model's estimator,
        test, fixed tau^2 and weighting are used) or the effect sizes.
    vi : array-like or float, optional
        Sampling variances (one value is used for all studies).
    sei : array-like, optional
        Standard errors instead of ``vi``.
    type : {"Rosenthal", "Orwin", "Rosenberg", "Binomial", "General", "REM"}, optional
        Default "Rosenthal" for effect sizes, "General" for a fitted model.
    alpha : float, default 0.05
        Significance level (one-sided for Rosenthal, two-sided otherwise).
    target : float, optional
        Orwin's target effect (default half the mean effect); for General, an effect to shrink to instead
        of non-significance.
    weighted : bool, default False
        Orwin with the inverse-variance weighted mean.
    pool : {"stouffer", "fisher"}, default "stouffer"
        How Rosenthal's method pools the p-values (metafor 3.8's ``test="Fisher"``).
    method : str, optional
        Estimator of the General model (default the model's, or "REML").
    exact : bool, default False
        Refit the General model with the added studies instead of the closed-form approximation.
    mumiss : float, default 0
        Average effect of the missing studies (General).
    subset : sequence of int or bool, optional
        Studies to use (0-based rows or a mask).
    interval : (float, float), optional
        Initial search interval of the root finder (default (0, 50 k); extended when needed).
    maxint : int, default 10**7
        Largest N searched (General); reaching it sets ``ub_sign`` to ">".

    Returns
    -------
    FsnResult

    Raises
    ------
    InputError
        Unknown type or pool, alpha outside (0, 1), bad arrays, a model with moderators or custom weights.
    TooFewStudiesError
        With fewer than 2 studies.

    References
    ----------
    Rosenthal R (1979). The file drawer problem and tolerance for null results. Psychol Bull 86:638-641.
    doi:10.1037/0033-2909.86.3.638. Orwin RG (1983). A fail-safe N for effect size in meta-analysis.
    J Educ Stat 8:157-159. doi:10.3102/10769986008002157. Rosenberg MS (2005). The file-drawer problem
    revisited. Evolution 59:464-468. doi:10.1111/j.0014-3820.2005.tb01004.x.

    Examples
    --------
    >>> float(fsn([0.2, 0.4, 0.3, 0.1], [0.01, 0.04, 0.02, 0.03]).fsnum)
    21.0
    """
    from regrow.meta._rma_result import RMAResult

    if type is None:
        type = "General" if isinstance(data, RMAResult) else "Rosenthal"
    if type not in FSN_TYPES:
        raise InputError.invalid("type", type, "one of " + ", ".join(FSN_TYPES))
    if type == "REM":
        type = "General"
    pool = str(pool).lower()
    if pool not in ("stouffer", "fisher"):
        raise InputError.invalid("pool", pool, '"stouffer" or "fisher"')
    if not (0 < alpha < 1):
        raise InputError.invalid("alpha", alpha, "a significance level in (0, 1)")
    model, yi, vi = _data(data, vi, sei, subset, type, weighted)
    k = yi.size
    if k < 2:
        raise TooFewStudiesError(f"Fail-safe N needs at least 2 studies; got {k}.")
    lo_hi = interval
    pval = meanes = tau2 = None
    extra: dict[str, Any] = {}
    if type == "Rosenthal" and pool == "stouffer":
        z_avg = abs(float(np.sum(yi / np.sqrt(vi))) / np.sqrt(k))
        pval = float(norm_sf(z_avg))
        fsnum = _round_fsn(max(0.0, k * (z_avg / norm_isf(alpha)) ** 2 - k))
        target = None
    elif type == "Rosenthal":
        logp = float(np.sum(np.log(norm_sf(np.abs(yi / np.sqrt(vi))))))

        def fisher(x: float) -> float:
            n = max(0, math.floor(x))
            return float(chi2_sf(-2 * (logp + n * math.log(0.5)), 2 * (k + x))) - alpha

        pval = fisher(0.0) + alpha
        if pval >= alpha:
            fsnum = 0
        else:
            try:
                lo, hi = lo_hi if lo_hi is not None else (0.0, 1000.0)
                fsnum = _round_fsn(uniroot(fisher, lo, hi, extend="upX", tol=_ROOT_TOL))
            except ValueError as exc:
                raise InputError(
                    f"Could not find the fail-safe N by Fisher's method: {exc}", field="pool"
                ) from exc
        target = None
    elif type == "Binomial":
        kpos = int(np.sum(yi > 0))
        pval = _binom_two_sided(kpos, k)
        n = 0
        if pval < alpha:
            p_new = pval
            while p_new < alpha:
                n += 2
                p_new = _binom_two_sided(kpos + n // 2, k + n)
        fsnum, target = n, None
    elif type == "Orwin":
        meanes = float(np.sum(yi / vi) / np.sum(1 / vi)) if weighted else float(np.mean(yi))
        target = meanes / 2 if target is None else float(target)
        if target == 0:
            fsnum = math.inf
        else:
            if np.sign(target) != np.sign(meanes):
                target = -target
            fsnum = _round_fsn(max(0.0, k * (meanes - target) / target))
    elif type == "Rosenberg":
        wi = 1.0 / vi
        meanes = float(np.sum(wi * yi) / np.sum(wi))
        pval = float(2 * norm_sf(abs(meanes / np.sqrt(1.0 / np.sum(wi)))))
        wp = (float(np.sum(wi * yi)) / norm_isf(alpha / 2)) ** 2 - float(np.sum(wi))
        fsnum = _round_fsn(max(0.0, k * wp / float(np.sum(wi))))
        target = None
    else:
        if model is not None and method is None:
            method = model.method
        fsnum, meanes, tau2, pval, target, e_f, t_f, p_f, ub = _general(
            yi, vi, alpha, target, model, method, exact, float(mumiss), lo_hi, int(maxint)
        )
        extra = {
            "method": method or "REML",
            "est_fsn": e_f,
            "tau2_fsn": t_f,
            "pval_fsn": p_f,
            "ub_sign": ub,
        }
    return FsnResult(
        type=type,
        fsnum=fsnum,
        alpha=float(alpha),
        pval=pval,
        meanes=meanes,
        target=target,
        tau2=tau2,
        **extra,
    )
