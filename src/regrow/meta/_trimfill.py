"""Duval and Tweedie's trim-and-fill (estimators L0 and R0), agreeing with metafor 3.8-1 ``trimfill``: the
filled studies for a funnel plot and the model refitted to the augmented data."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from regrow.errors import ConvergenceError, InputError, TooFewStudiesError
from regrow.meta._design import INTERCEPT_NAME
from regrow.meta._rma import RMAResult, fit_arrays
from regrow.meta._tau2 import Control, _profile_ll, estimate_tau2, scoring_step, se_scoring

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TrimfillResult", "trimfill"]

#: metafor's out-of-the-box iteration settings (``rma.uni`` default ``control``). ``trimfill`` fits the
#: trimmed and the filled data without passing the user's control, so the references carry these.
METAFOR_DEFAULT_CONTROL = Control(threshold=1e-5, tol=float(np.finfo(float).eps) ** 0.25, maxiter=100)


@dataclass(frozen=True)
class TrimfillResult:
    """Result of :func:`trimfill`.

    Attributes
    ----------
    k0 : int
        Estimated number of missing studies (filled in).
    se_k0 : float
        Standard error of the k0 estimate.
    side : {"left", "right"}
        Side of the funnel plot on which studies were estimated missing.
    estimator : {"L0", "R0"}
    p_k0 : float or None
        For R0: the p-value of the test of k0 = 0.
    yi, vi : numpy.ndarray
        Observed studies followed by the ``k0`` filled ones (mirror images about the trimmed estimate).
    fill : numpy.ndarray of bool
        True for the filled studies.
    slab : list of str
        Study labels, ``"Filled 1"``... for the filled studies.
    fit : RMAResult
        The model refitted to the augmented data (the original model when ``k0 == 0``).
    original : RMAResult
    """

    k0: int
    se_k0: float
    side: str
    estimator: str
    p_k0: float | None
    yi: np.ndarray
    vi: np.ndarray
    fill: np.ndarray
    slab: list[str]
    fit: RMAResult = field(repr=False)
    original: RMAResult = field(repr=False)

    @property
    def sei(self) -> np.ndarray:
        return np.sqrt(self.vi)

    def to_frame(self) -> pd.DataFrame:
        """One row per study (observed, then filled): ``slab``, ``yi``, ``vi``, ``sei``, ``fill``."""
        import pandas as pd

        return pd.DataFrame(
            {"slab": self.slab, "yi": self.yi, "vi": self.vi, "sei": self.sei, "fill": self.fill}
        )

    def to_dict(self) -> dict[str, Any]:
        pred = self.fit.predict()
        return {
            "k0": self.k0,
            "se_k0": self.se_k0,
            "side": self.side,
            "estimator": self.estimator,
            "p_k0": self.p_k0,
            "studies": {
                "slab": list(self.slab),
                "yi": self.yi.tolist(),
                "vi": self.vi.tolist(),
                "fill": [bool(f) for f in self.fill],
            },
            "fit": self.fit.to_dict(),
            "pred": {
                key: (None if value is None else float(np.asarray(value)[0]))
                for key, value in pred.to_dict().items()
            },
        }


def _fisher_halving(
    yi: np.ndarray, vi: np.ndarray, X: np.ndarray, method: str, control: Control
) -> tuple[float, int]:
    """metafor's own Fisher-scoring loop for ML/REML/EB: a step that would make tau^2 negative is halved
    (not truncated), from the Hedges (HE) start, stopping when the change is <= ``threshold``; then metafor's
    check that the likelihood at tau^2 = 0 is not higher."""
    tau2, _, _ = estimate_tau2("HE", yi, vi, X, control=control)
    change, iteration = control.threshold + 1.0, 0
    while change > control.threshold:
        iteration += 1
        old = tau2
        adj = scoring_step(method, yi, vi, X, tau2)
        adj = 0.0 if not np.isfinite(adj) else float(adj)
        while tau2 + adj < 0:
            adj /= 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if iteration > control.maxiter:
            raise ConvergenceError(
                f"The {method} estimator did not converge in {control.maxiter} iterations "
                "(trim-and-fill refit)."
            )
    if method in ("ML", "REML") and tau2 > control.threshold:
        reml = method == "REML"
        if _profile_ll(yi, vi, X, 0.0, reml) - _profile_ll(yi, vi, X, tau2, reml) > control.tol:
            tau2 = 0.0
    return max(0.0, float(tau2)), iteration


def _fit_int_only(yi, vi, res: RMAResult, control: Control) -> RMAResult:
    """Intercept-only fit as ``rma.uni(yi, vi, method = res$method)`` with the given control.

    For ML/REML/EB the tau^2 iteration follows metafor's own loop (see :func:`_fisher_halving`), which can
    stop at a slightly different point than a fully converged fit; the model is then refitted at that
    tau^2 (with the estimator's standard error of tau^2 and the loop's iteration count).
    """
    X = np.ones((yi.size, 1))
    options = {"method": res.method, "test": "z", "level": 95.0, "control": control, "with_r2": False}
    fit = fit_arrays(yi, vi, X, [INTERCEPT_NAME], **options)
    if res.method not in ("ML", "REML", "EB"):
        return fit
    tau2, iterations = _fisher_halving(yi, vi, X, res.method, control)
    if tau2 == fit.tau2:
        return fit
    at = fit_arrays(yi, vi, X, [INTERCEPT_NAME], tau2=tau2, **options)
    return replace(
        at,
        se_tau2=se_scoring(res.method, yi, vi, X, tau2),
        iterations=iterations,
        warnings=fit.warnings,
    )


def trimfill(
    res: RMAResult,
    *,
    side: str | None = None,
    estimator: str = "L0",
    maxiter: int = 100,
    control: Control | None = None,
) -> TrimfillResult:
    """Duval and Tweedie's trim-and-fill method (metafor's ``trimfill``).

    Unless given, the side with missing studies is taken from the sign of the slope of the meta-regression
    of ``yi`` on ``sqrt(vi)`` with the model's estimator (a negative slope: missing on the right). The
    effects are flipped so that missing studies sit on the left, then iteratively: fit the model to the
    ``k - k0`` smallest effects, centre all effects at that estimate, rank their absolute values, and
    estimate k0 from the signed ranks:

    * L0: ``k0 = (4 S_r - k (k + 1)) / (2 k - 1)`` with ``S_r`` the sum of the positive signed ranks;
    * R0: ``k0 = k - h - 1`` with ``h`` the rightmost run of positive ranks (the largest rank of a
      negative centred effect).

    k0 is rounded and truncated at 0 each round until it stops changing. The ``k0`` largest effects are then
    mirrored about the last estimate and the model refitted to the augmented data.

    Parameters
    ----------
    res : RMAResult
        An intercept-only model.
    side : {"left", "right"}, optional
        Side of the funnel plot where studies are missing (default: estimated as metafor does).
    estimator : {"L0", "R0"}, default "L0"
    maxiter : int, default 100
        Iteration limit of the trim-and-fill loop.
    control : Control, optional
        Iteration settings of the trimmed and refitted models. Default: metafor's out-of-the-box control
        (``trimfill`` does not pass the model's own), so results agree with ``trimfill`` in R.

    Returns
    -------
    TrimfillResult

    Raises
    ------
    InputError
        A model with moderators, an unknown side or estimator.
    TooFewStudiesError
        With fewer than 3 studies.
    ConvergenceError
        When k0 does not settle within ``maxiter`` rounds.

    References
    ----------
    Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based method of testing and adjusting for
    publication bias in meta-analysis. Biometrics 56:455-463. doi:10.1111/j.0006-341X.2000.00455.x.
    Duval S, Tweedie R (2000). A nonparametric "trim and fill" method of accounting for publication bias in
    meta-analysis. JASA 95:89-98. doi:10.1080/01621459.2000.10473905.
    """
    if res.p != 1 or not res.intercept:
        raise InputError(
            "Trim-and-fill applies to models without moderators; refit without mods.", field="mods"
        )
    if estimator not in ("L0", "R0"):
        raise InputError.invalid("estimator", estimator, "'L0' or 'R0'")
    if side is not None and side not in ("left", "right"):
        raise InputError.invalid("side", side, "'left', 'right' or None (estimated)")
    if res.k < 3:
        raise TooFewStudiesError(f"Trim-and-fill needs at least 3 studies; got {res.k}.")
    control = control or METAFOR_DEFAULT_CONTROL
    yi0, vi0 = np.asarray(res.yi, float), np.asarray(res.vi, float)
    if side is None:
        Xs = np.column_stack([np.ones(res.k), np.sqrt(vi0)])
        slope_fit = fit_arrays(
            yi0, vi0, Xs, ["intrcpt", "sei"], method=res.method, test="z", control=control, with_r2=False
        )
        side = "right" if slope_fit.beta[1] < 0 else "left"
    yi = -yi0 if side == "right" else yi0.copy()
    order = np.argsort(yi, kind="stable")
    yi, vi = yi[order], vi0[order]
    k = yi.size
    k0, k0_prev, iteration = 0, -1, 0
    beta = 0.0
    se_k0 = float("nan")
    while k0 != k0_prev:
        k0_prev = k0
        iteration += 1
        if iteration > maxiter:
            raise ConvergenceError(
                f"Trim-and-fill did not converge in {maxiter} iterations (last k0 = {k0})."
            )
        trimmed = _fit_int_only(yi[: k - k0], vi[: k - k0], res, control)
        beta = float(trimmed.beta[0])
        centred = yi - beta
        # rank(abs(.), ties.method = "first"): ties broken by position
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(centred) * ranks
        if estimator == "R0":
            negative = -signed[signed < 0]
            # no negative centred effect cannot happen for a weighted mean of the trimmed effects
            k0_raw = float(k - negative.max() - 1) if negative.size else -1.0
            se_k0 = float(np.sqrt(2 * max(0.0, k0_raw) + 2))
        else:
            Sr = float(np.sum(signed[signed > 0]))
            k0_raw = (4 * Sr - k * (k + 1)) / (2 * k - 1)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0_raw**3
                + 27 * k0_raw**2
                + 17 * k0_raw
                - 18 * k * k0_raw**2
                - 18 * k * k0_raw
                + 6 * k**2 * k0_raw
            ) / 24
            se_k0 = float(4 * np.sqrt(var_sr) / (2 * k - 1)) if var_sr >= 0 else float("nan")
        k0 = int(max(0, _r_round(k0_raw)))
        se_k0 = max(0.0, se_k0)
    p_k0 = None
    if estimator == "R0":
        m = np.arange(-1, k0)
        from scipy.special import comb

        p_k0 = float(1 - np.sum(comb(m + 1, m + 1) * 0.5 ** (m + 2)))
    slab = list(res.slab)
    if k0 > 0:
        # mirror the k0 largest (flipped) effects about the last trimmed estimate, on the original scale
        tail = yi[k - k0 :]
        yi_fill = tail - 2 * beta if side == "right" else 2 * beta - tail
        yi_all = np.concatenate([yi0, yi_fill])
        vi_all = np.concatenate([vi0, vi[k - k0 :]])
        fill = np.concatenate([np.zeros(k, bool), np.ones(k0, bool)])
        fit = _fit_int_only(yi_all, vi_all, res, control)
        slab = slab + [f"Filled {i + 1}" for i in range(k0)]
    else:
        yi_all, vi_all, fill, fit = yi0.copy(), vi0.copy(), np.zeros(k, bool), res
    return TrimfillResult(
        k0=k0,
        se_k0=float(se_k0),
        side=side,
        estimator=estimator,
        p_k0=p_k0,
        yi=yi_all,
        vi=vi_all,
        fill=fill,
        slab=slab,
        fit=fit,
        original=res,
    )


def _r_round(x: float) -> float:
    """R's ``round`` (half to even, like numpy)."""
    return float(np.round(x))
