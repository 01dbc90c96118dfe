"""Predictions, random-effect BLUPs, Wald and likelihood-ratio tests for :func:`rma_mv` fits (metafor's
``predict``, ``ranef`` and ``anova`` for ``rma.mv`` objects)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regrow.errors import InputError
from regrow.meta._mv import MVResult
from regrow.meta._mv_dist import chi2_sf, crit_value, f_sf, level_alpha, p_two_sided

__all__ = [
    "MVLikelihoodRatioTest",
    "MVPrediction",
    "MVRanef",
    "MVWaldTest",
    "lrt_mv",
    "predict_mv",
    "ranef_mv",
    "wald_mv",
]


@dataclass(frozen=True)
class MVPrediction:
    """Predicted effects; ``pi_lb``/``pi_ub`` are None where the prediction interval needs a level of a
    heteroscedastic structure that was not given (``tau2_levels``)."""

    pred: np.ndarray
    se: np.ndarray | None
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    pi_lb: np.ndarray
    pi_ub: np.ndarray
    tau2_levels: list[str] | None = None
    gamma2_levels: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub")}
        if self.tau2_levels is not None:
            out["tau2_levels"] = self.tau2_levels
        if self.gamma2_levels is not None:
            out["gamma2_levels"] = self.gamma2_levels
        return out


@dataclass(frozen=True)
class MVRanef:
    """BLUPs of one random term: one row per level (``"inner | outer"`` for structured terms)."""

    term: str
    names: list[str]
    pred: np.ndarray
    se: np.ndarray
    pi_lb: np.ndarray
    pi_ub: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {"term": self.term, "names": self.names, "pred": self.pred, "se": self.se, "pi_lb": self.pi_lb,
                "pi_ub": self.pi_ub}  # fmt: skip


@dataclass(frozen=True)
class MVWaldTest:
    """A Wald test of coefficients (``btt``) or of linear combinations ``X b = rhs``."""

    QM: float
    QMdf: tuple[int, float | None]
    QMp: float
    btt: tuple[int, ...] | None = None
    Xb: np.ndarray | None = None
    se: np.ndarray | None = None
    zval: np.ndarray | None = None
    pval: np.ndarray | None = None
    hypotheses: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class MVLikelihoodRatioTest:
    """Full versus reduced model: ``LRT = dev_reduced - dev_full`` on ``df`` degrees of freedom."""

    LRT: float
    df: int
    pval: float
    method: str
    parms_full: int
    parms_reduced: int
    fit_stats_full: dict[str, float]
    fit_stats_reduced: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _level_index(levels: Sequence[str], wanted, n_new: int, what: str) -> np.ndarray:
    wanted = [wanted] if isinstance(wanted, str | int | np.integer) else list(wanted)
    out = []
    for w in wanted:
        if isinstance(w, int | np.integer) and not isinstance(w, bool):
            if not 1 <= int(w) <= len(levels):
                raise InputError.invalid(what, int(w), f"a level number in 1..{len(levels)} or a level name")
            out.append(int(w) - 1)
        else:
            matches = [i for i, lev in enumerate(levels) if str(lev).startswith(str(w))]
            if not matches:
                raise InputError.invalid(what, w, "one of " + ", ".join(map(str, levels)))
            out.append(matches[0])
    if len(out) == 1:
        out = out * n_new
    if len(out) != n_new:
        raise InputError(f"{what} has {len(out)} values for {n_new} predictions.", field=what)
    return np.array(out)


def predict_mv(
    res: MVResult,
    newmods=None,
    *,
    intercept: bool | None = None,
    tau2_levels=None,
    gamma2_levels=None,
    level: float | None = None,
    transf: Callable[[np.ndarray], np.ndarray] | None = None,
) -> MVPrediction:
    """Predicted (average) effects with confidence and prediction intervals, like metafor's ``predict``.

    Parameters
    ----------
    res : MVResult
    newmods : array-like, optional
        Moderator values (without the intercept column): shape (n, p - 1), or a vector for a model with one
        moderator. Omitted: the pooled effect of an intercept-only model (one per level of a heteroscedastic
        ``~ inner | outer`` term), otherwise the fitted values.
    intercept : bool, optional
        Whether the intercept enters the predictions (default: when the model has one).
    tau2_levels, gamma2_levels : level names or 1-based numbers, optional
        Which tau^2 (gamma^2) of a HCS/UN/DIAG/HAR structure the prediction interval uses.
    level : float, optional
        Confidence level in percent (default: the model's).
    transf : callable, optional
        Applied to the predictions and interval bounds (``np.exp`` for log ratios); the SE is then dropped.

    Returns
    -------
    MVPrediction
        The prediction interval adds ``sum(sigma2)`` (+ the chosen ``tau2`` and ``gamma2``) to the variance.
    """
    alpha = level_alpha(level if level is not None else res.level)
    intercept = res.intercept if intercept is None else intercept
    int_only = res.p == 1 and res.intercept
    with_g, with_h = res.tau2 is not None, res.gamma2 is not None
    n_t, n_g = (res.tau2.size if with_g else 1), (res.gamma2.size if with_h else 1)
    if newmods is None:
        if int_only:
            if with_g and with_h and tau2_levels is None and gamma2_levels is None:
                k_new = n_t * n_g
                tau2_levels = np.repeat(np.arange(1, n_t + 1), n_g) if n_t > 1 else [1] * k_new
                gamma2_levels = np.tile(np.arange(1, n_g + 1), n_t) if n_g > 1 else [1] * k_new
            elif with_g and not with_h and tau2_levels is None:
                k_new = n_t
                tau2_levels = list(range(1, n_t + 1))
            elif tau2_levels is not None:
                k_new = len(np.atleast_1d(np.asarray(tau2_levels, dtype=object)))
            else:
                k_new = 1
            Xnew = np.ones((k_new, 1))
        else:
            Xnew = res.X
            k_new = res.k
            if with_g:
                tau2_levels = list(res._setup["g"][1] + 1)
            if with_h:
                gamma2_levels = list(res._setup["h"][1] + 1)
    else:
        if int_only:
            raise InputError("This model has no moderators, so newmods cannot be given.", field="newmods")
        arr = np.asarray(newmods, dtype=float)
        n_mods = res.p - int(res.intercept)
        if arr.ndim == 1:
            arr = arr[:, None] if n_mods == 1 else arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != n_mods:
            raise InputError(
                f"newmods has {arr.shape[-1]} column(s); the model has {n_mods} moderator(s).",
                field="newmods",
            )
        Xnew = (
            np.column_stack([np.full(arr.shape[0], 1.0 if intercept else 0.0), arr]) if res.intercept else arr
        )
        k_new = Xnew.shape[0]
    pred = Xnew @ res.beta
    vpred = np.einsum("ij,jk,ik->i", Xnew, res.vb, Xnew)
    if res.ddf is None:
        crit = np.full(k_new, crit_value(alpha))
    else:
        ddf = np.array([min(res.ddf[row != 0]) if np.any(row != 0) else res.k - res.p for row in Xnew])
        crit = np.asarray(crit_value(alpha, ddf), dtype=float)
    se = np.sqrt(np.where(vpred < 0, np.nan, vpred))
    extra = np.full(k_new, float(np.sum(res.sigma2)))
    names: dict[str, list[str] | None] = {"tau2": None, "gamma2": None}
    for comp, values, levels, wanted in (
        ("tau2", res.tau2, res.g_levels, tau2_levels),
        ("gamma2", res.gamma2, res.h_levels, gamma2_levels),
    ):
        if values is None:
            continue
        if values.size == 1:
            extra += values[0]
        elif wanted is None:  # a heteroscedastic structure: which level's variance is unknown
            extra[:] = np.nan
        else:
            idx = _level_index(levels, wanted, k_new, f"{comp}_levels")
            extra += values[idx]
            names[comp] = [levels[i] for i in idx]
    spread = np.sqrt(vpred + extra)
    out = {
        "pred": pred,
        "se": se,
        "ci_lb": pred - crit * se,
        "ci_ub": pred + crit * se,
        "pi_lb": pred - crit * spread,
        "pi_ub": pred + crit * spread,
    }
    if transf is not None:
        out = {key: (None if key == "se" else transf(value)) for key, value in out.items()}
    return MVPrediction(**out, tau2_levels=names["tau2"], gamma2_levels=names["gamma2"])


def _block_arrays(res: MVResult):
    """Per block-size group: rows, W, W X and u = W (y - X b) at the fitted parameters."""
    ev = res._eval
    from regrow.meta._mv import _build_model

    model = _build_model(res._setup)
    out = []
    for grp, W in zip(model.blocks.groups, ev.W, strict=True):
        WX = W @ grp.X
        u = np.einsum("mab,mb->ma", W, grp.y - grp.X @ res.beta)
        out.append((grp, W, WX, u))
    return model, out


def ranef_mv(res: MVResult, *, level: float | None = None) -> list[MVRanef]:
    """BLUPs of the random effects with standard errors and prediction intervals (metafor's ``ranef``).

    For a ``~ 1 | f`` term with variance ``sigma2`` the BLUP of level l is ``sigma2 Z_l' W e`` with variance
    ``sigma2 - sigma2^2 Z_l' P Z_l``; for a ``~ inner | outer`` term the same with the term's covariance
    (``P = W - W X (X'WX)^-1 X'W``, ``e = y - X b``). Levels are listed in factor order; structured terms
    list each observed ``inner | outer`` combination, ordered by outer then inner level.

    Returns
    -------
    list of MVRanef
        One per random term: ``~ 1 | factor`` terms first (in ``s_names`` order), then ``~ inner | outer`` terms.
    """
    if not res.with_random:
        raise InputError("This model has no random effects to predict.", field="random")
    alpha = level_alpha(level if level is not None else res.level)
    _, blocks = _block_arrays(res)
    spec = res._setup["spec"]
    vb = res.vb
    out: list[MVRanef] = []
    for j, fac in enumerate(spec.s_factors):
        s2 = res.sigma2[j]
        n = fac.nlevels
        zu = np.zeros(n)
        zwz = np.zeros(n)
        zwx = np.zeros((n, res.p))
        for grp, W, WX, u in blocks:
            codes = fac.codes[grp.rows]
            mask = grp.s_masks[j]
            zu += np.bincount(codes.ravel(), weights=u.ravel(), minlength=n)
            zwz += np.bincount(codes.ravel(), weights=(W * mask).sum(axis=2).ravel(), minlength=n)
            for c in range(res.p):
                zwx[:, c] += np.bincount(codes.ravel(), weights=WX[:, :, c].ravel(), minlength=n)
        pred = s2 * zu
        pred[np.abs(pred) < 100 * np.finfo(float).eps] = 0.0
        var = s2 - s2**2 * (zwz - np.einsum("lp,pq,lq->l", zwx, vb, zwx))
        out.append(_ranef_row(fac.name, list(fac.levels), pred, var, _crit(res, alpha, n)))
    for key in ("g", "h"):
        term = getattr(spec, key)
        if term is None:
            continue
        Gmat = res._eval.G if key == "g" else res._eval.H
        _, inner, outer, formula = term
        preds = np.zeros(res.k)
        var = np.zeros(res.k)
        for grp, W, WX, u in blocks:
            codes = getattr(grp, f"{key}_codes")
            Gf = Gmat[codes[:, :, None], codes[:, None, :]] * getattr(grp, f"{key}_mask")
            preds[grp.rows] = np.einsum("mab,mb->ma", Gf, u)
            GW = Gf @ W
            B = Gf @ WX
            var[grp.rows] = (
                np.diagonal(Gf, axis1=1, axis2=2)
                - np.einsum("mab,mba->ma", GW, Gf)
                + np.einsum("map,pq,maq->ma", B, vb, B)
            )
        combo = outer.codes * inner.nlevels + inner.codes
        _, first = np.unique(combo, return_index=True)  # sorted by outer, then inner level
        pred = preds[first]
        pred[np.abs(pred) < 100 * np.finfo(float).eps] = 0.0
        names = [f"{inner.levels[inner.codes[i]]} | {outer.levels[outer.codes[i]]}" for i in first]
        out.append(_ranef_row(formula, names, pred, var[first], _crit(res, alpha, outer.nlevels)))
    return out


def _crit(res: MVResult, alpha: float, nlevels: int) -> float:
    if res.test == "z":
        return crit_value(alpha)
    df = nlevels - res.p if res.dfs == "contain" else res.k - res.p
    return float(crit_value(alpha, max(df, 1)))


def _ranef_row(term: str, names: list[str], pred, var, crit) -> MVRanef:
    se = np.sqrt(np.maximum(var, 0.0))
    return MVRanef(term=term, names=names, pred=pred, se=se, pi_lb=pred - crit * se, pi_ub=pred + crit * se)


def wald_mv(res: MVResult, *, btt=None, X=None, rhs=0.0) -> MVWaldTest:
    """Wald test of coefficients ``btt`` (0-based or a name fragment) or of linear combinations ``X``.

    ``X`` (one row per combination, p columns, or p - 1 when the model has an intercept: a leading 1 is
    added) gives each ``X b - rhs`` with its SE and test, and the omnibus test when the rows are linearly
    independent; with ``test="t"`` tests are t/F, as metafor's ``anova(res, X = ...)``.

    Returns
    -------
    MVWaldTest
    """
    from regrow.meta._mv import _set_btt

    if X is None:
        idx = _set_btt(btt, res.p, res.coef_names, res.intercept) if btt is not None else res.btt
        m = len(idx)
        rhs_v = np.broadcast_to(np.asarray(rhs, dtype=float), (m,))
        b = res.beta[list(idx)] - rhs_v
        QM = float(b @ np.linalg.solve(res.vb[np.ix_(idx, idx)], b))
        if res.ddf is not None:
            QM /= m
            df2 = res.QMdf[1]
            return MVWaldTest(QM, (m, df2), float(f_sf(QM, m, df2)), btt=tuple(idx))
        return MVWaldTest(QM, (m, None), float(chi2_sf(QM, m)), btt=tuple(idx))
    L = np.atleast_2d(np.asarray(X, dtype=float))
    if res.intercept and L.shape[1] == res.p - 1:
        L = np.column_stack([np.ones(L.shape[0]), L])
    if L.shape[1] != res.p:
        raise InputError(f"X has {L.shape[1]} columns; the model has {res.p} coefficients.", field="X")
    m = L.shape[0]
    rhs_v = np.broadcast_to(np.asarray(rhs, dtype=float), (m,))
    Xb = L @ res.beta - rhs_v
    vXb = L @ res.vb @ L.T
    se = np.sqrt(np.diag(vXb))
    zval = Xb / se
    ddf = None
    if res.ddf is not None:
        ddf = np.array([min(res.ddf[row != 0]) for row in L])
    pval = p_two_sided(zval, ddf)
    QM, QMp, QMdf = float("nan"), float("nan"), (m, None if ddf is None else float(ddf.min()))
    if np.linalg.matrix_rank(L) == m:
        QM = float(Xb @ np.linalg.solve(vXb, Xb))
        if ddf is None:
            QMp = float(chi2_sf(QM, m))
        else:
            QM /= m
            QMp = float(f_sf(QM, m, ddf.min()))
    hyps = []
    for row in L:
        terms = [
            (f"{c:g}*" if c not in (1, -1) else ("-" if c == -1 else "")) + name
            for c, name in zip(row, res.coef_names, strict=True)
            if c != 0
        ]
        hyps.append(
            " + ".join(terms).replace("+ -", "- ") + " = " + ("0" if np.all(rhs_v == 0) else f"{rhs_v[0]:g}")
        )
    return MVWaldTest(QM, QMdf, QMp, Xb=Xb, se=se, zval=zval, pval=np.asarray(pval), hypotheses=hyps)


def lrt_mv(model1: MVResult, model2: MVResult) -> MVLikelihoodRatioTest:
    """Likelihood-ratio test of two nested fits to the same data (metafor's ``anova(res1, res2)``).

    The model with more parameters is the full one. REML fits may only be compared when they have the same
    fixed effects (tests of variance components); compare different moderators with ML fits.

    Returns
    -------
    MVLikelihoodRatioTest

    Raises
    ------
    InputError
        Different data, different methods, equal parameter counts, or REML fits with different moderators.
    """
    full, reduced = (model1, model2) if model1.parms >= model2.parms else (model2, model1)
    if full.parms == reduced.parms:
        raise InputError(
            "The models have the same number of parameters; an LRT is not meaningful.", field="models"
        )
    same_data = np.array_equal(full.yi, reduced.yi) and _same_V(full, reduced)
    if not same_data:
        raise InputError("The two models were not fitted to the same effect sizes and V.", field="models")
    if full.method != reduced.method:
        raise InputError(
            f"The models were fitted with {full.method} and {reduced.method}; refit both with the same method.",
            field="method",
        )
    if full.method not in ("ML", "REML", "EE", "FE"):
        raise InputError.invalid("method", full.method, "ML or REML fits")
    method = "REML" if full.method == "REML" else "ML"
    if method == "REML" and (full.X.shape != reduced.X.shape or not np.allclose(full.X, reduced.X)):
        raise InputError(
            "REML likelihoods of models with different moderators are not comparable; refit both with "
            "method='ML'.",
            field="method",
        )
    stat = max(0.0, reduced.fit_stats[method]["dev"] - full.fit_stats[method]["dev"])
    df = full.parms - reduced.parms
    return MVLikelihoodRatioTest(
        LRT=stat,
        df=df,
        pval=float(chi2_sf(stat, df)),
        method=method,
        parms_full=full.parms,
        parms_reduced=reduced.parms,
        fit_stats_full=dict(full.fit_stats[method]),
        fit_stats_reduced=dict(reduced.fit_stats[method]),
    )


def _same_V(a: MVResult, b: MVResult) -> bool:
    sa, sb = a._setup, b._setup
    if not np.array_equal(sa["V_diag"], sb["V_diag"]) or len(sa["V_blocks"]) != len(sb["V_blocks"]):
        return False
    return all(
        np.array_equal(ra, rb) and np.array_equal(ma, mb)
        for (ra, ma), (rb, mb) in zip(sa["V_blocks"], sb["V_blocks"], strict=True)
    )
