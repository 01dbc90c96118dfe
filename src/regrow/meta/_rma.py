"""Fixed- and random-effects models and meta-regression, agreeing with metafor 3.8's ``rma.uni``.

:func:`rma` is the front end (missing values, subsets, user weights, escalc objects); :func:`fit_arrays`
fits a model to clean arrays and is what the diagnostics call when they refit. The result type lives in
:mod:`regrow.meta._rma_result`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from regrow.errors import EstimationError, InputError, TooFewStudiesError
from regrow.meta._design import INTERCEPT_NAME, design_matrix, drop_redundant
from regrow.meta._dist import chi2_sf, f_sf, norm_ppf, norm_sf, t_ppf, t_sf
from regrow.meta._linalg import wls
from regrow.meta._rma_result import Interval, Prediction, RMAResult, TauConfint, alpha_of, tau_intervals
from regrow.meta._tau2 import (
    EQUAL_EFFECTS,
    NEEDS_POSITIVE_VI,
    Control,
    canonical_method,
    estimate_tau2,
    se_tau2,
)

__all__ = [
    "INTERCEPT_NAME",
    "NA_ACTIONS",
    "TESTS",
    "Control",
    "Interval",
    "Prediction",
    "RMAResult",
    "TauConfint",
    "effect_arrays",
    "fit_arrays",
    "rma",
    "single_study_fit",
    "tau_intervals",
]

#: Tests for the model coefficients, metafor's names.
TESTS = ("z", "knha", "adhoc")

#: What to do with studies that have a missing value: drop them ("omit"), drop them but keep their rows,
#: filled with NaN, in per-study output ("exclude"), or stop ("fail"); metafor's ``na.action``.
NA_ACTIONS = ("omit", "exclude", "fail")

_alpha = alpha_of  # the name the diagnostics modules use


def _as_vector(name: str, values, k: int | None = None, *, allow_missing: bool = False) -> np.ndarray:
    """A 1-D float array; None becomes NaN. Infinite values are errors, NaN too unless ``allow_missing``."""
    try:
        raw = (
            values
            if isinstance(values, np.ndarray)
            else [np.nan if v is None else v for v in np.ravel(np.asarray(values, dtype=object))]
        )
        arr = np.asarray(raw, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric.", field=name) from exc
    if k is not None and arr.shape[0] != k:
        raise InputError(f"{name} has {arr.shape[0]} values but yi has {k}.", field=name, value=arr.shape[0])
    bad = np.flatnonzero(np.isinf(arr) if allow_missing else ~np.isfinite(arr))
    if bad.size:
        raise InputError(
            f"{name} is missing or not finite in row {bad[0] + 1} (value {float(arr[bad[0]])!r}).", field=name
        )
    return arr


def effect_arrays(yi, vi) -> tuple[np.ndarray, np.ndarray]:
    """Effect sizes and sampling variances as finite float vectors of equal length, with ``vi > 0``."""
    yi = _as_vector("yi", yi)
    vi = _as_vector("vi", vi, yi.shape[0])
    neg = np.flatnonzero(vi <= 0)
    if neg.size:
        raise InputError(
            f"vi must be positive; row {neg[0] + 1} has {float(vi[neg[0]])!r}.",
            field="vi",
            value=float(vi[neg[0]]),
            allowed="sampling variances > 0",
        )
    return yi, vi


def _subset_mask(subset, k: int) -> np.ndarray:
    if subset is None:
        return np.ones(k, dtype=bool)
    arr = np.asarray(subset)
    if arr.dtype == bool:
        if arr.shape != (k,):
            raise InputError(f"subset has {arr.size} flags for {k} studies.", field="subset")
        return arr
    idx = arr.astype(int).reshape(-1)
    if np.any((idx < 0) | (idx >= k)):
        raise InputError.invalid(
            "subset",
            subset.tolist() if hasattr(subset, "tolist") else subset,
            f"0-based rows in [0, {k - 1}]",
        )
    mask = np.zeros(k, dtype=bool)
    mask[idx] = True
    return mask


def rma(
    yi=None,
    vi=None,
    *,
    sei=None,
    weights=None,
    mods: Any = None,
    mod_names: Sequence[str] | None = None,
    method: str = "REML",
    weighted: bool = True,
    test: str = "z",
    level: float = 95.0,
    intercept: bool = True,
    slab: Sequence[str] | None = None,
    subset=None,
    btt: Sequence[int] | None = None,
    tau2: float | None = None,
    control: Control | None = None,
    na_action: str = "omit",
    scale: Any = None,
    link: str = "log",
    scale_intercept: bool = True,
    scale_names: Sequence[str] | None = None,
    att: Sequence[int] | None = None,
    measure: str | None = None,
    data=None,
    **escalc_args: Any,
) -> RMAResult:
    """Fit an equal-, fixed- or random-effects meta-analysis or meta-regression (metafor's ``rma.uni``).

    Parameters
    ----------
    yi : array-like of shape (k,) or EffectSizes
        Observed effect sizes (NaN or None where missing), or the result of :func:`escalc`, whose ``vi``
        and ``measure`` are then used.
    vi : array-like of shape (k,), optional
        Sampling variances (>= 0; negative values are set to 0 with a warning, as metafor does).
    sei : array-like of shape (k,), optional
        Standard errors instead of ``vi``.
    weights : array-like of shape (k,) or float, optional
        User weights for the coefficients (metafor's ``weights=``); the variance of the estimates is then
        the sandwich ``(X'AX)^-1 X'A M A X (X'AX)^-1`` with ``M = diag(vi + tau2)``. Required (as the
        weights of the generalised Q) by ``method="GENQ"``.
    mods : array of shape (k, m), mapping of column name to values, or DataFrame, optional
        Moderators; text or categorical columns are dummy-coded like R (``allocrandom``).
    mod_names : sequence of str, optional
        Column names for an array ``mods``.
    method : str, default "REML"
        "EE" (equal effects), "CE" or "FE" (the same model under other names), or a tau^2 estimator:
        "DL", "DLIT", "HE", "HS", "HSk", "SJ", "SJIT", "ML", "REML", "EB", "PM", "PMM", "GENQ".
    weighted : bool, default True
        False estimates the coefficients with equal weights (metafor's ``weighted=FALSE``).
    test : {"z", "knha", "adhoc"}, default "z"
        Standard-normal tests, the Knapp-Hartung adjustment (t and F with k - p df), or Knapp-Hartung
        with the scale factor truncated below at 1.
    level : float, default 95
        Confidence level in percent.
    intercept : bool, default True
    slab : sequence of str, optional
        Study labels.
    subset : sequence of int or bool, optional
        The studies to use (0-based row numbers or a boolean mask), applied before missing values.
    btt : sequence of int, optional
        0-based coefficients tested by the omnibus QM test (default: all but the intercept).
    tau2 : float, optional
        Fix tau^2 at this value instead of estimating it.
    control : Control, optional
    na_action : {"omit", "exclude", "fail"}, default "omit"
        Studies with a missing value are dropped (with a warning); "exclude" keeps their rows as NaN in
        per-study output (predictions, residuals, influence); "fail" raises.
    scale : array, mapping of columns or DataFrame, optional
        Scale moderators: fits a location-scale model (metafor's ``rma(..., scale = ~ z)``, see
        :mod:`regrow.meta._ls`); ``{}`` (or 1) for an intercept-only scale part.
    link : {"log", "identity"}, default "log"
        Link of the scale part.
    scale_intercept : bool, default True
        Whether the scale part has an intercept.
    scale_names : sequence of str, optional
        Names of the columns of an array ``scale``.
    att : sequence of int, optional
        0-based scale coefficients tested by QS (default: all but the intercept).
    measure : str, optional
        Compute the effect sizes first with :func:`escalc` from the arguments in ``escalc_args``
        (``ai``, ``n1i``, ``xi``, ``ni``, ``add``, ``to``, ``drop00``, ...), as ``rma(measure=...)`` does in
        metafor; ``yi`` and ``vi`` are then not given.
    data : pandas.DataFrame or mapping of columns, optional
        Lets ``yi``, ``vi``, ``sei``, ``weights``, ``slab`` be column names, ``yi`` a formula such as
        ``"yi ~ ablat + factor(alloc)"`` and ``mods``/``scale`` formulas such as ``"~ ablat"``
        (:mod:`regrow.meta._formula`); also the source of the escalc arguments given as column names.
    **escalc_args
        The escalc arguments for ``measure``.

    Returns
    -------
    RMAResult

    Raises
    ------
    InputError
        Unknown method or test, infinite values, bad moderators or weights, missing values with
        ``na_action="fail"``, an estimator that needs positive sampling variances.
    TooFewStudiesError
        When there are not more studies than parameters.

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw 36(3).
    doi:10.18637/jss.v036.i03. Knapp & Hartung (2003) doi:10.1002/sim.1482.

    Examples
    --------
    >>> res = rma([0.1, 0.3, 0.35, 0.6], [0.01, 0.02, 0.015, 0.03], method="DL")
    >>> round(res.beta[0], 4)
    0.2937
    """
    formulas: dict[str, str | None] = {}
    if data is not None or isinstance(yi, str) or isinstance(mods, str) or isinstance(scale, str):
        from regrow.meta._formula import resolve_rma_args

        args, formulas = resolve_rma_args(data, {"yi": yi, "vi": vi, "sei": sei, "weights": weights, "slab": slab,
                                                 "mods": mods, "scale": scale, "intercept": intercept,
                                                 "scale_intercept": scale_intercept})  # fmt: skip
        yi, vi, sei, weights, slab = args["yi"], args["vi"], args["sei"], args["weights"], args["slab"]
        mods, scale, intercept, scale_intercept = (
            args["mods"],
            args["scale"],
            args["intercept"],
            args["scale_intercept"],
        )
        if data is not None and measure is not None:
            escalc_args = {k: (data[v] if isinstance(v, str) and k not in ("to", "vtype") else v)
                           for k, v in escalc_args.items()}  # fmt: skip
    if measure is not None and measure != "GEN":
        if yi is not None:
            raise InputError(
                "Give either yi (and vi) or measure= with its escalc arguments.", field="measure"
            )
        from regrow.meta._escalc import escalc

        yi = escalc(measure, **escalc_args)
    elif escalc_args:
        raise InputError.invalid("argument", sorted(escalc_args)[0], "an rma() argument (or give measure=)")
    if yi is None:
        raise InputError("Give the effect sizes (yi) or measure= with the escalc arguments.", field="yi")
    measure = "GEN"
    if hasattr(yi, "yi") and hasattr(yi, "vi") and hasattr(yi, "measure"):
        if vi is None and sei is None:
            vi = yi.vi
        measure = str(yi.measure)
        yi = yi.yi
    if na_action not in NA_ACTIONS:
        raise InputError.invalid("na_action", na_action, "one of " + ", ".join(NA_ACTIONS))
    y = _as_vector("yi", yi, allow_missing=True)
    k_all = y.shape[0]
    if vi is None:
        if sei is None:
            raise InputError("Give the sampling variances (vi) or the standard errors (sei).", field="vi")
        v = _as_vector("sei", sei, k_all, allow_missing=True) ** 2
    else:
        v = _as_vector("vi", vi, k_all, allow_missing=True)
    w = None
    if weights is not None:
        w = (
            np.full(k_all, float(weights))
            if np.ndim(weights) == 0
            else _as_vector("weights", weights, k_all, allow_missing=True)
        )
        if np.any(w[np.isfinite(w)] < 0):
            raise InputError.invalid("weights", float(np.min(w[np.isfinite(w)])), "weights >= 0")
        if not np.any(w[np.isfinite(w)] > 0):
            raise InputError(
                "The weights are all zero (or missing); give at least one positive weight.", field="weights"
            )
    labels_all = [f"Study {i + 1}" for i in range(k_all)] if slab is None else [str(s) for s in slab]
    if len(labels_all) != k_all:
        raise InputError(f"slab has {len(labels_all)} labels for {k_all} studies.", field="slab")
    X_all, names = design_matrix(mods, k_all, intercept=intercept, mod_names=mod_names, missing="nan")
    Z_all = z_names = None
    if scale is not None:
        scale_mods = (
            None
            if (isinstance(scale, Mapping) and not scale) or (np.ndim(scale) == 0 and scale == 1)
            else scale
        )
        Z_all, z_names = design_matrix(
            scale_mods, k_all, intercept=scale_intercept, mod_names=scale_names, missing="nan"
        )
    keep_subset = _subset_mask(subset, k_all)
    if not keep_subset.all():
        y, v, X_all = y[keep_subset], v[keep_subset], X_all[keep_subset]
        Z_all = None if Z_all is None else Z_all[keep_subset]
        w = None if w is None else w[keep_subset]
        labels_all = [s for s, kept in zip(labels_all, keep_subset, strict=True) if kept]
        k_all = y.shape[0]
    labels_all = _unique_labels(labels_all)
    not_na = np.isfinite(y) & np.isfinite(v) & np.all(np.isfinite(X_all), axis=1)
    if w is not None:
        not_na &= np.isfinite(w)
    if Z_all is not None:
        not_na &= np.all(np.isfinite(Z_all), axis=1)
    warnings: list[str] = []
    if not not_na.all():
        if na_action == "fail":
            row = int(np.flatnonzero(~not_na)[0])
            raise InputError(
                f"Missing value in study {row + 1} ({labels_all[row]}) and na_action='fail'.", field="yi"
            )
        warnings.append("Studies with NAs omitted from model fitting.")
    if not not_na.any():
        raise TooFewStudiesError("No study is left once those with missing values are omitted (k = 0).")
    yf, vf, Xf = y[not_na], v[not_na].copy(), X_all[not_na]
    wf = None if w is None else w[not_na]
    if np.any(vf < 0):
        vf[vf < 0] = 0.0
        warnings.append("Negative sampling variances constrained to zero.")
    X, kept_names, redundant = drop_redundant(Xf, names)
    if redundant:
        warnings.append(f"Redundant predictors dropped from the model: {', '.join(redundant)}.")
        X_all = X_all[:, [names.index(n) for n in kept_names]]
    if Z_all is not None:
        from regrow.meta._ls import fit_ls

        Zf = Z_all[not_na]
        Z, kept_z, redundant_z = drop_redundant(Zf, z_names)
        if redundant_z:
            warnings.append(f"Redundant predictors dropped from the scale model: {', '.join(redundant_z)}.")
        res = fit_ls(
            yf, vf, X, kept_names, Z, kept_z, link=link, method=str(method).upper(), test=test, level=level,
            intercept=intercept and INTERCEPT_NAME in kept_names, z_intercept=scale_intercept and INTERCEPT_NAME in kept_z,
            slab=[s for s, kept in zip(labels_all, not_na, strict=True) if kept], btt=btt, att=att, warnings=warnings,
        )  # fmt: skip
        from dataclasses import replace as _replace

        return _replace(res, na_action=na_action, not_na=not_na, yi_all=y, vi_all=v, X_all=X_all, slab_all=labels_all,
                        measure=measure, Z_all=Z_all[:, [z_names.index(n) for n in kept_z]], **formulas)  # fmt: skip
    res = fit_arrays(
        yf,
        vf,
        X,
        kept_names,
        method=method,
        test=test,
        level=level,
        intercept=intercept and INTERCEPT_NAME in kept_names,
        slab=[s for s, kept in zip(labels_all, not_na, strict=True) if kept],
        btt=btt,
        tau2=tau2,
        control=control,
        weights=wf,
        weighted=weighted,
        warnings=warnings,
    )
    from dataclasses import replace

    return replace(
        res,
        na_action=na_action,
        not_na=not_na,
        yi_all=y,
        vi_all=v,
        X_all=X_all,
        slab_all=labels_all,
        measure=measure,
        **formulas,
    )


def _unique_labels(labels: list[str]) -> list[str]:
    """metafor's ``.make.unique``: repeated labels get ``.1``, ``.2``, ... in order of appearance."""
    seen: dict[str, int] = {}
    counts = {s: labels.count(s) for s in set(labels)}
    out = []
    for s in labels:
        if counts[s] > 1:
            seen[s] = seen.get(s, 0) + 1
            out.append(f"{s}.{seen[s]}")
        else:
            out.append(s)
    return out


def _check_size(k: int, p: int, method: str, tau2_fixed: bool, int_only: bool) -> None:
    if int_only and k == 1:
        return
    needed = p if (method in EQUAL_EFFECTS or tau2_fixed) else p + 1
    if needed > k:
        raise TooFewStudiesError(
            f"{k} studies cannot support a model with {p} coefficient(s)"
            + ("" if needed == p else " and tau^2")
            + f": need at least {max(needed, p + 1)}."
        )


def fit_arrays(
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray,
    names: list[str],
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 95.0,
    intercept: bool = True,
    slab: Sequence[str] | None = None,
    btt: Sequence[int] | None = None,
    tau2: float | None = None,
    control: Control | None = None,
    with_r2: bool = True,
    weights: np.ndarray | None = None,
    weighted: bool = True,
    warnings: list[str] | None = None,
) -> RMAResult:
    """Fit on clean arrays (no missing values, ``vi >= 0``): the core behind :func:`rma` and the diagnostics.

    Follows metafor's ``rma.uni`` step by step: tau^2, then the coefficients (inverse-variance, user
    weights or unweighted), the tests (z or Knapp-Hartung), the heterogeneity test on the fixed-effects
    weights, fit statistics and the pseudo R^2.
    """
    method = canonical_method(method)
    if test not in TESTS:
        raise InputError.invalid("test", test, "one of " + ", ".join(TESTS))
    alpha = alpha_of(level)
    control = control or Control()
    warnings = [] if warnings is None else list(warnings)
    k, p = X.shape
    int_only = p == 1 and intercept
    tau2_fixed = tau2 is not None and method not in EQUAL_EFFECTS
    if tau2 is not None and method in EQUAL_EFFECTS:
        raise InputError(
            f"A fixed tau2 needs a random-effects method, not {method}.", field="tau2", value=tau2
        )
    _check_size(k, p, method, tau2_fixed, int_only)
    if k == 1 and test != "z":
        warnings.append("k = 1: the test is z (metafor: Setting argument test='z' since k=1).")
        test = "z"
    allvipos = bool(np.all(vi > 0))
    if not allvipos and method in NEEDS_POSITIVE_VI:
        row = int(np.flatnonzero(vi <= 0)[0])
        raise InputError(
            f"The {method} estimator needs positive sampling variances, but vi is 0 in study {row + 1}; "
            "use REML, ML, HE, SJ or EB.",
            field="vi",
            value=0.0,
        )
    if allvipos:
        with np.errstate(over="ignore", divide="ignore"):
            w0 = 1.0 / vi
            overflow = not (np.all(np.isfinite(w0)) and np.isfinite(np.sum(w0 * w0)))
        if overflow:
            # Weights 1/vi overflow in floating point (vi near 0, or vi spanning ~600 orders of magnitude):
            # every statistic would be 0/0, so say so instead of dividing by zero.
            raise EstimationError(
                f"The sampling variances (from {float(vi.min()):.3g} to {float(vi.max()):.3g}) are too small or "
                "span too wide a range for the weights 1/vi to be computed in floating point; check the vi column "
                "or rescale the effect sizes."
            )
    if weights is not None:
        weights = np.asarray(weights, dtype=float)
        if weights.shape != (k,):
            raise InputError(f"weights has {weights.size} values for {k} studies.", field="weights")
    if method == "GENQ" and weights is None:
        raise InputError("method='GENQ' needs weights (the weights of the generalised Q).", field="weights")

    # tau^2
    if tau2_fixed:
        if not np.isfinite(tau2) or tau2 < 0:
            raise InputError.invalid("tau2", tau2, "a finite number >= 0")
        tau2 = float(tau2)
        se_t2 = se_tau2(method, yi, vi, X, tau2, control=control, weights=weights) if k > p else float("nan")
        iterations = 0
    elif method in EQUAL_EFFECTS or k == 1:
        tau2, se_t2, iterations = 0.0, float("nan"), 0
        if k == 1 and method not in EQUAL_EFFECTS:
            warnings.append("k = 1: tau^2 is 0.")
    else:
        tau2, se_t2, iterations = estimate_tau2(
            method, yi, vi, X, control=control, warnings=warnings, weights=weights
        )

    # coefficients
    with np.errstate(divide="ignore"):
        wi = 1.0 / (vi + tau2)
    M = vi + tau2
    knha = test in ("knha", "adhoc")
    rss_knha = float("nan")
    iv_needed = (weighted and (weights is None or knha)) or (not weighted and knha)
    if iv_needed and np.any(np.isinf(wi)):
        raise EstimationError(
            "Division by zero when computing the inverse-variance weights: a study has vi = 0 and tau^2 is 0; "
            "give weights=, use a random-effects method with tau^2 > 0, or check the vi column."
        )
    fit_iv = wls(yi, X, wi) if iv_needed else None
    if fit_iv is not None:
        rss_knha = fit_iv.rss
    if weighted and weights is None:
        beta, vb = fit_iv.beta, fit_iv.A_inv
        used_weights = wi
    else:
        A = weights if weighted else np.ones(k)
        S = wls(yi, X, A)
        beta = S.beta
        XA = X * A[:, None]
        vb = S.A_inv @ (XA.T @ (XA * M[:, None])) @ S.A_inv
        used_weights = A
    if weighted and weights is None:
        rss_f = fit_iv.rss
    else:
        with np.errstate(invalid="ignore"):
            rss_f = float(np.sum(wi * (yi - X @ beta) ** 2))

    s2w = 1.0
    ddf: int | None = None
    if knha:
        s2w = 0.0 if rss_knha <= np.finfo(float).eps else rss_knha / (k - p)
        if method in EQUAL_EFFECTS:
            warnings.append(f"The Knapp-Hartung method is not meant to be used with {method} models.")
        if test == "adhoc":
            s2w = max(1.0, s2w)
        vb = vb * s2w
        ddf = k - p
    se = np.sqrt(np.diag(vb))
    if np.any(se <= 0):
        warnings.append(
            "The Knapp-Hartung scale factor is 0 (the model reproduces every effect size exactly), so "
            "standard errors are 0 and the tests are undefined; use test='z' or test='adhoc'."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = beta / se
    if ddf is None:
        pval = 2 * norm_sf(np.abs(zval))
        crit = norm_ppf(1 - alpha / 2)
    elif ddf > 0:
        pval = 2 * t_sf(np.abs(zval), ddf)
        crit = t_ppf(1 - alpha / 2, ddf)
    else:
        pval, crit = np.full(p, np.nan), float("nan")

    if btt is None:
        btt = tuple(range(1, p)) if (intercept and p > 1) else tuple(range(p))
    btt = tuple(int(j) for j in btt)
    if not btt or any(j < 0 or j >= p for j in btt):
        raise InputError.invalid("btt", btt, f"0-based coefficient indices in [0, {p - 1}]")
    b = beta[list(btt)]
    try:
        half = np.linalg.solve(np.linalg.cholesky(vb[np.ix_(btt, btt)]), b)
        QM = float(half @ half)
    except np.linalg.LinAlgError:
        QM = float("nan")  # only with a zero Knapp-Hartung scale (warned above); metafor reports NA too
    m = len(btt)
    if ddf is None:
        QMp = float(chi2_sf(QM, m))
    else:
        QM /= m
        QMp = float(f_sf(QM, m, ddf)) if ddf > 0 else float("nan")

    # heterogeneity (always on the inverse-variance weights 1/vi)
    if allvipos:
        if k > p:
            fe_fit = wls(yi, X, 1.0 / vi)
            QE = max(0.0, fe_fit.rss)
            QEp = float(chi2_sf(QE, k - p))
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                trP = fe_fit.trace_pd()
                vt = (k - p) / trP if trP != 0 else float("inf")
            if not (np.isfinite(QE) and np.isfinite(vt) and vt > 0):
                raise EstimationError(
                    f"The sampling variances (from {float(vi.min()):.3g} to {float(vi.max()):.3g}) are too small "
                    "or span too wide a range for the weights 1/vi to be computed in floating point; check the "
                    "vi column or rescale the effect sizes."
                )
            if method in EQUAL_EFFECTS:
                I2 = max(0.0, 100.0 * (QE - (k - p)) / QE) if QE > 0 else 0.0
                H2 = QE / (k - p)
            else:
                I2 = 100.0 * tau2 / (vt + tau2)
                H2 = tau2 / vt + 1.0
        else:
            QE, QEp, I2, H2, vt = 0.0, 1.0, 0.0, 1.0, 0.0
    else:
        QE = QEp = I2 = H2 = vt = float("nan")
        warnings.append("Cannot compute the Q-test, I^2 or H^2 when some sampling variances are 0.")

    parms = p + (0 if (method in EQUAL_EFFECTS or tau2_fixed) else 1)
    fit_stats = _fit_stats(yi, vi, X, tau2, wi, rss_f, parms, allvipos)
    R2 = None
    if with_r2 and intercept and not int_only:
        R2 = _pseudo_r2(yi, vi, X, method, tau2, control, weights, weighted, test, used_weights)

    labels = list(slab) if slab is not None else [f"Study {i + 1}" for i in range(k)]
    if len(labels) != k:
        raise InputError(f"slab has {len(labels)} labels for {k} studies.", field="slab")
    return RMAResult(
        k=k,
        p=p,
        method=method,
        test=test,
        level=level if level >= 1 else 100 * (1 - alpha),
        coef_names=list(names),
        beta=beta,
        se=se,
        zval=zval,
        pval=np.asarray(pval, dtype=float),
        ci_lb=beta - crit * se,
        ci_ub=beta + crit * se,
        vb=vb,
        tau2=float(tau2),
        se_tau2=float(se_t2),
        I2=float(I2),
        H2=float(H2),
        R2=R2,
        QE=float(QE),
        QEp=float(QEp),
        QM=QM,
        QMp=QMp,
        QMdf=(m, ddf),
        btt=btt,
        s2w=float(s2w),
        vt=float(vt),
        ddf=ddf,
        yi=yi,
        vi=vi,
        X=X,
        weights=np.asarray(used_weights, dtype=float),
        fit_stats=fit_stats,
        iterations=iterations,
        intercept=intercept,
        control=control,
        slab=labels,
        warnings=warnings,
        user_weights=weights,
        weighted=weighted,
        allvipos=allvipos,
        tau2_fixed=tau2_fixed,
        parms=parms,
    )


def single_study_fit(
    yi: float,
    vi: float,
    *,
    method: str,
    level: float,
    control: Control,
    slab: str | None = None,
) -> RMAResult:
    """The model metafor fits to one study (k = 1): tau^2 = 0, QE = 0, I^2 = 0, H^2 = 1, and a z test.

    metafor allows ``rma(yi, vi)`` with k = 1 (warning "Setting argument test='z' since k=1"); the
    leave-one-out, cumulative and subgroup analyses reach it for k = 2 data, first studies and one-study
    subgroups.

    Parameters
    ----------
    yi, vi : float
        The study's effect size and sampling variance.
    method : str
        The estimator named in the result (tau^2 is 0 whatever it is).
    level : float
        Confidence level in percent.
    control : Control
    slab : str, optional
        The study label.

    Returns
    -------
    RMAResult
    """
    return fit_arrays(
        np.array([float(yi)]),
        np.array([float(vi)]),
        np.ones((1, 1)),
        [INTERCEPT_NAME],
        method=method,
        level=level,
        control=control,
        slab=[slab if slab is not None else "Study 1"],
    )


def _weighted_adj_r2(yi, X, w) -> float:
    """Adjusted R^2 of the weighted least-squares regression of ``yi`` on ``X`` (R's ``lm(..., weights=)``)."""
    k, p = X.shape
    rss = wls(yi, X, w).rss
    tss = wls(yi, np.ones((k, 1)), w).rss
    if tss <= 0:
        return 0.0
    return 1.0 - (rss / tss) * (k - 1) / (k - p)


def _pseudo_r2(yi, vi, X, method, tau2, control, weights, weighted, test, used_weights) -> float | None:
    """Proportion of heterogeneity accounted for by the moderators (Raudenbush 2009), in percent.

    Random effects: ``100 * (tau2_RE - tau2_ME) / tau2_RE`` against the intercept-only fit of the same
    estimator (0 when tau2_RE is 0); equal effects: the adjusted R^2 of the weighted regression, as metafor.
    """
    k, _p = X.shape
    if method in EQUAL_EFFECTS:
        if np.var(yi) == 0:
            return 0.0
        w = used_weights if weighted else np.ones(k)
        return float(max(0.0, 100.0 * _weighted_adj_r2(yi, X, w)))
    try:
        tau2_0, _, _ = estimate_tau2(method, yi, vi, np.ones((k, 1)), control=control, weights=weights)
    except (InputError, EstimationError):
        return float("nan")
    if tau2_0 <= 0:
        return 0.0
    return float(max(0.0, 100.0 * (tau2_0 - tau2) / tau2_0))


def _fit_stats(yi, vi, X, tau2, wi, rss, parms, allvipos) -> dict[str, dict[str, float]]:
    """Log-likelihood, deviance, AIC, BIC and AICc under ML and REML, as ``fitstats.rma``."""
    k, p = X.shape
    total = vi + tau2
    with np.errstate(divide="ignore", invalid="ignore"):
        ll_ml = -0.5 * k * np.log(2 * np.pi) - 0.5 * np.sum(np.log(total)) - 0.5 * rss
        _, logdet_xx = np.linalg.slogdet(X.T @ X)
        _, logdet_xwx = (
            np.linalg.slogdet(X.T @ (X * wi[:, None])) if np.all(np.isfinite(wi)) else (1.0, np.nan)
        )
        ll_reml = (
            -0.5 * (k - p) * np.log(2 * np.pi)
            + 0.5 * logdet_xx
            - 0.5 * np.sum(np.log(total))
            - 0.5 * logdet_xwx
            - 0.5 * rss
        )
        if k <= p:
            dev_ml = 0.0
        elif allvipos:
            dev_ml = -2 * (ll_ml + 0.5 * np.sum(np.log(2 * np.pi * vi)))
        else:
            dev_ml = -2 * ll_ml
    out = {}
    for name, ll, n, dev in (("ML", ll_ml, k, dev_ml), ("REML", ll_reml, k - p, -2 * ll_reml)):
        big = max(n, parms + 2)
        out[name] = {
            "ll": float(ll),
            "dev": float(dev),
            "AIC": float(-2 * ll + 2 * parms),
            "BIC": float(-2 * ll + parms * (np.log(n) if n > 0 else -np.inf)),
            "AICc": float(-2 * ll + 2 * parms * big / (big - parms - 1)),
        }
    return out
