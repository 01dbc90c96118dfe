"""metafor's extractor functions for a fitted ``rma`` model: fitted values, residuals, weights, the
variance-covariance matrices, random effects, simulated outcomes and the shortcuts to the case
diagnostics, each honouring missing values the way R's ``na.action`` does.

``na_action`` (default: the model's, itself "omit" unless fitted with another) decides the length of
per-study output: "omit" gives the k fitted studies; "exclude" gives all rows, NaN for the studies left out;
"pass" gives all rows and, for fitted values and raw residuals, computes them wherever the inputs allow
(metafor's ``na.pass``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from regrow.errors import InputError
from regrow.meta._dist import norm_ppf, t_ppf
from regrow.meta._rma_result import RMAResult, alpha_of
from regrow.meta._transf import resolve_transf

__all__ = [
    "NA_MODES",
    "RandomEffects",
    "cooks_distance",
    "dfbetas",
    "fitted",
    "na_mode",
    "pad_result",
    "ranef",
    "residuals",
    "simulate",
    "vcov",
    "weights",
]

#: The values of ``na_action`` the extractors accept.
NA_MODES = ("omit", "exclude", "pass")


def na_mode(res: RMAResult, na_action: str | None) -> str:
    """The effective ``na_action`` ("omit", "exclude" or "pass")."""
    mode = res.na_action if na_action is None else na_action
    if mode not in NA_MODES:
        raise InputError.invalid("na_action", mode, "one of " + ", ".join(NA_MODES))
    return mode


def _mask(res: RMAResult) -> np.ndarray:
    return np.ones(res.k, dtype=bool) if res.not_na is None else res.not_na


def _full(res: RMAResult, values: np.ndarray, mode: str) -> np.ndarray:
    """Per-study values for the fitted studies, laid out for ``mode``."""
    values = np.asarray(values, dtype=float)
    if mode == "omit":
        return values
    keep = _mask(res)
    out = np.full((keep.size, *values.shape[1:]), np.nan)
    out[keep] = values
    return out


def _labels(res: RMAResult, mode: str) -> list[str]:
    if mode == "omit" or res.slab_all is None:
        return list(res.slab)
    return list(res.slab_all)


def pad_result(obj: Any, res: RMAResult, na_action: str | None) -> Any:
    """A per-study result (fields of length k and ``slab``) laid out for ``na_action``."""
    mode = na_mode(res, na_action)
    if mode == "omit" or res.not_na is None or bool(res.not_na.all()):
        return obj
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.name == "slab":
            changes["slab"] = _labels(res, mode)
        elif isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == res.k:
            if value.dtype == bool:
                out = np.zeros((res.not_na.size, *value.shape[1:]), dtype=bool)
                out[res.not_na] = value
                changes[f.name] = out
            else:
                changes[f.name] = _full(res, value, mode)
    return dataclasses.replace(obj, **changes)


def fitted(res: RMAResult, *, na_action: str | None = None) -> np.ndarray:
    """Fitted values ``X b`` (``fitted.rma``).

    Parameters
    ----------
    res : RMAResult
    na_action : {"omit", "exclude", "pass"}, optional

    Returns
    -------
    ndarray
    """
    mode = na_mode(res, na_action)
    if mode == "pass" and res.X_all is not None:
        with np.errstate(invalid="ignore"):
            return res.X_all @ res.beta
    return _full(res, res.X @ res.beta, mode)


def residuals(res: RMAResult, *, type: str = "response", na_action: str | None = None) -> np.ndarray:
    """Residuals (``residuals.rma``): "response" ``y - X b``, "pearson" divided by ``sqrt(vi + tau2)``,
    "cholesky" (decorrelated), or the standardized "rstandard" / studentized "rstudent" ones.

    Parameters
    ----------
    res : RMAResult
    type : {"response", "pearson", "cholesky", "rstandard", "rstudent"}
    na_action : {"omit", "exclude", "pass"}, optional

    Returns
    -------
    ndarray
    """
    mode = na_mode(res, na_action)
    if type in ("rstandard", "rstudent"):
        from regrow.meta._influence import rstandard, rstudent

        func = rstandard if type == "rstandard" else rstudent
        return func(res, na_action=mode).z
    if type not in ("response", "pearson", "cholesky"):
        raise InputError.invalid("type", type, "response, pearson, cholesky, rstandard or rstudent")
    e = res.yi - res.X @ res.beta
    e[np.abs(e) < 100 * np.finfo(float).eps] = 0.0
    if type == "pearson":
        e = e / np.sqrt(res.vi + res.tau2)
    elif type == "cholesky":
        e = e / np.sqrt(res.vi + res.tau2)  # M is diagonal: its Cholesky factor scales each residual
    if mode == "pass" and type == "response" and res.yi_all is not None and res.X_all is not None:
        with np.errstate(invalid="ignore"):
            out = res.yi_all - res.X_all @ res.beta
        out[np.abs(out) < 100 * np.finfo(float).eps] = 0.0
        return out
    return _full(res, e, mode)


def weights(res: RMAResult, *, type: str = "diagonal", na_action: str | None = None) -> np.ndarray:
    """Weights given to the studies in estimating the coefficients (``weights.rma.uni``): in percent
    ("diagonal"), or the weight matrix ("matrix").

    Parameters
    ----------
    res : RMAResult
    type : {"diagonal", "matrix"}
    na_action : {"omit", "exclude", "pass"}, optional

    Returns
    -------
    ndarray
    """
    if not isinstance(res, RMAResult) and hasattr(res, "weights_pct"):  # Mantel-Haenszel / Peto
        if type == "diagonal":
            return np.asarray(res.weights_pct, float)
        if type == "matrix":
            return np.diag(np.asarray(res.wi, float))
        raise InputError.invalid("type", type, "'diagonal' or 'matrix'")
    mode = na_mode(res, na_action)
    w = res.weights if res.weighted else np.full(res.k, 1.0 / res.k)
    if type == "diagonal":
        return _full(res, 100.0 * w / w.sum(), mode)
    if type == "matrix":
        return _square(res, np.diag(w), mode)
    raise InputError.invalid("type", type, "'diagonal' or 'matrix'")


def _square(res: RMAResult, M: np.ndarray, mode: str) -> np.ndarray:
    if mode == "omit" or res.not_na is None:
        return M
    keep = res.not_na
    out = np.full((keep.size, keep.size), np.nan)
    out[np.ix_(keep, keep)] = M
    return out


def vcov(res: RMAResult, *, type: str = "fixed", na_action: str | None = None) -> np.ndarray:
    """Variance-covariance matrices (``vcov.rma``): of the coefficients ("fixed"/"beta"), of the observed
    effects under the model ("obs": ``diag(vi + tau2)``), of the fitted values ("fitted": ``X V X'``) or of
    the residuals ("resid": ``(I - H) M (I - H)'``).

    Parameters
    ----------
    res : RMAResult
    type : {"fixed", "beta", "obs", "fitted", "resid"}
    na_action : {"omit", "exclude", "pass"}, optional

    Returns
    -------
    ndarray
    """
    mode = na_mode(res, na_action)
    if type in ("fixed", "beta"):
        return res.vb.copy()
    if type == "obs":
        return _square(res, np.diag(res.vi + res.tau2), mode)
    if type == "fitted":
        return _square(res, res.X @ res.vb @ res.X.T, "exclude" if mode == "pass" else mode)
    if type == "resid":
        from regrow.meta._influence import hat_matrix

        ImH = np.eye(res.k) - hat_matrix(res)
        ve = ImH @ (ImH * (res.vi + res.tau2)).T
        return _square(res, ve, "exclude" if mode == "pass" else mode)
    raise InputError.invalid("type", type, "fixed, beta, obs, fitted or resid")


@dataclasses.dataclass(frozen=True)
class RandomEffects:
    """Estimated study-specific deviations from the model (``ranef.rma.uni``) with prediction intervals."""

    pred: np.ndarray
    se: np.ndarray | None
    pi_lb: np.ndarray
    pi_ub: np.ndarray
    slab: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "pred": self.pred,
            "se": self.se,
            "pi_lb": self.pi_lb,
            "pi_ub": self.pi_ub,
            "slab": list(self.slab),
        }


def ranef(
    res: RMAResult,
    *,
    level: float | None = None,
    transf: Any = None,
    targs: Any = None,
    na_action: str | None = None,
) -> RandomEffects:
    """Best linear unbiased predictions of the random effects ``u_i`` (``ranef.rma.uni``).

    ``pred_i = l_i (y_i - x_i'b)`` with ``l_i = tau2 / (tau2 + vi)``, ``Var = l_i vi + l_i^2 x_i' Var(b) x_i``
    (0 for an equal-effects model); intervals use z, or t with k - p df under knha/adhoc.

    Parameters
    ----------
    res : RMAResult
        A model with inverse-variance weights.
    level : float, optional
    transf : str or callable, optional
    targs : mapping, optional
    na_action : {"omit", "exclude", "pass"}, optional

    Returns
    -------
    RandomEffects

    Raises
    ------
    InputError
        For a model with user weights or ``weighted=False`` (metafor refuses them too).
    """
    if res.user_weights is not None or not res.weighted:
        raise InputError(
            "Random effects are not available for models with non-standard weights.", field="weights"
        )
    alpha = res.alpha if level is None else alpha_of(level)
    crit = float(t_ppf(1 - alpha / 2, res.ddf)) if res.ddf is not None else float(norm_ppf(1 - alpha / 2))
    if res.is_random:
        li = res.tau2 / (res.tau2 + res.vi)
        pred = li * (res.yi - res.X @ res.beta)
        var = li * res.vi + li**2 * np.einsum("ij,jk,ik->i", res.X, res.vb, res.X)
    else:
        pred, var = np.zeros(res.k), np.zeros(res.k)
    se = np.sqrt(var)
    lb, ub = pred - crit * se, pred + crit * se
    func = resolve_transf(transf)
    se_out: np.ndarray | None = se
    if func is not None:
        call = (lambda v: func(v, targs=targs)) if targs is not None else func
        pred, lb, ub = (np.asarray(call(v), dtype=float) for v in (pred, lb, ub))
        lb, ub, se_out = np.fmin(lb, ub), np.fmax(lb, ub), None
    out = RandomEffects(pred=pred, se=se_out, pi_lb=lb, pi_ub=ub, slab=list(res.slab))
    return pad_result(out, res, "exclude" if na_mode(res, na_action) == "pass" else na_action)


def simulate(
    res: RMAResult,
    nsim: float = 1,
    *,
    seed: int | None = None,
    olim: tuple[float, float] | None = None,
    na_action: str | None = None,
) -> np.ndarray:
    """Outcomes simulated from the fitted model, ``y* ~ N(X b, vi + tau2)`` (``simulate.rma``).

    Parameters
    ----------
    res : RMAResult
    nsim : int, default 1
        Number of simulated data sets (columns).
    seed : int, optional
        Seed of numpy's default generator (the draws differ from R's).
    olim : (float, float), optional
        Clamp the simulated values to this range.
    na_action : {"omit", "exclude", "pass"}, optional

    Returns
    -------
    ndarray of shape (k, nsim)
        With NaN rows for studies left out when ``na_action`` is "exclude" or "pass".
    """
    nsim = int(np.round(nsim))
    if nsim < 1:
        raise InputError.invalid("nsim", nsim, "a whole number >= 1")
    rng = np.random.default_rng(seed)
    mean = res.X @ res.beta
    sd = np.sqrt(res.vi + res.tau2)
    val = mean[:, None] + sd[:, None] * rng.standard_normal((res.k, nsim))
    if olim is not None:
        lo, hi = sorted(olim)
        val = np.clip(val, lo, hi)
    mode = na_mode(res, na_action)
    return _full(res, val, "exclude" if mode == "pass" else mode)


def cooks_distance(res: RMAResult, *, na_action: str | None = None) -> np.ndarray:
    """Cook's distances (``cooks.distance.rma.uni``), see :func:`regrow.meta.influence`.

    Returns
    -------
    ndarray
    """
    from regrow.meta._influence import influence

    return influence(res, na_action=na_action).cook_d


def dfbetas(res: RMAResult, *, na_action: str | None = None) -> np.ndarray:
    """DFBETAS, one column per coefficient (``dfbetas.rma.uni``), see :func:`regrow.meta.influence`.

    Returns
    -------
    ndarray of shape (k, p)
    """
    from regrow.meta._influence import influence

    return influence(res, na_action=na_action).dfbs


def formula(res, *, type: str = "mods") -> str | None:
    """The formula a model was given (metafor's ``formula.rma``): ``type="mods"`` the moderators
    (``"~ablat"``), ``"yi"`` the outcome formula (``"yi ~ ablat"``), ``"scale"`` the scale part of a
    location-scale model; None when the model was not given one.

    Returns
    -------
    str or None

    Raises
    ------
    InputError
        For ``type="scale"`` on a model that is not a location-scale model, or an unknown type.
    """
    if type not in ("mods", "yi", "scale"):
        raise InputError.invalid("type", type, "mods, yi or scale")
    if type == "scale":
        if getattr(res, "alpha_coef", None) is None:
            raise InputError("Can only use type='scale' for location-scale models.", field="type")
        return getattr(res, "formula_scale", None)
    return getattr(res, f"formula_{type}", None)
