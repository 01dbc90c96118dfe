"""The result of ``rma``: its fields, prediction, confidence intervals for tau^2, and export.

Fields carry metafor's names (dots become underscores). Models fitted with ``na_action="exclude"`` keep
the full-length inputs (``yi_all``, ``vi_all``, ``X_all``, ``slab_all``) and the mask ``not_na``, so that
predictions and case diagnostics can be padded with NaN for the omitted studies, as metafor pads them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regrow.errors import InputError, TooFewStudiesError
from regrow.meta._dist import chi2_ppf, norm_ppf, t_ppf
from regrow.meta._tau2 import EQUAL_EFFECTS, Control, generalized_q_root
from regrow.meta._transf import resolve_transf

__all__ = ["Interval", "Prediction", "RMAResult", "TauConfint", "alpha_of", "tau_intervals"]


def alpha_of(level: float) -> float:
    """metafor's rule: level >= 1 is a percentage, below 1 a proportion (0.95 or 0.05 both mean 95%)."""
    if not np.isfinite(level) or level <= 0 or level >= 100:
        raise InputError.invalid("level", level, "a confidence level in (0, 100), e.g. 95")
    return (100.0 - level) / 100.0 if level >= 1 else (1.0 - level if level > 0.5 else level)


@dataclass(frozen=True)
class Prediction:
    """Predicted effects with confidence and prediction intervals (arrays of equal length).

    For an equal/fixed-effects model the prediction interval equals the confidence interval (tau^2 = 0).
    ``se`` is None after a transformation; ``X`` holds the predictors when asked for (``addx=True``).
    """

    pred: np.ndarray
    se: np.ndarray | None
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    pi_lb: np.ndarray | None = None
    pi_ub: np.ndarray | None = None
    X: np.ndarray | None = None
    slab: list[str] = field(default_factory=list)
    vcov: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"pred": self.pred, "se": self.se, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub}
        if self.pi_lb is not None:
            out.update(pi_lb=self.pi_lb, pi_ub=self.pi_ub)
        return out


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval."""

    estimate: float
    ci_lb: float
    ci_ub: float

    def to_dict(self) -> dict[str, float]:
        return {"estimate": self.estimate, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub}


@dataclass(frozen=True)
class TauConfint:
    """Q-profile intervals for tau^2, tau, I^2 (%) and H^2 (Viechtbauer 2007, doi:10.1002/sim.2514)."""

    tau2: Interval
    tau: Interval
    I2: Interval
    H2: Interval
    level: float
    lb_sign: str = ""
    ub_sign: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name).to_dict() for name in ("tau2", "tau", "I2", "H2")}
        out.update(lb_sign=self.lb_sign, ub_sign=self.ub_sign)
        return out


@dataclass(frozen=True)
class RMAResult:
    """A fitted ``rma`` model; plain fields named as metafor names them (dots become underscores)."""

    k: int
    p: int
    method: str
    test: str
    level: float
    coef_names: list[str]
    beta: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    vb: np.ndarray
    tau2: float
    se_tau2: float
    I2: float
    H2: float
    R2: float | None
    QE: float
    QEp: float
    QM: float
    QMp: float
    QMdf: tuple[int, int | None]
    btt: tuple[int, ...]
    s2w: float
    vt: float
    ddf: int | None
    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray
    weights: np.ndarray
    fit_stats: dict[str, dict[str, float]]
    iterations: int
    intercept: bool
    control: Control
    slab: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The weights given by the user (``weights=``), None for inverse-variance weighting.
    user_weights: np.ndarray | None = None
    #: False for an unweighted (equal-weights) estimate of the coefficients (``weighted=FALSE``).
    weighted: bool = True
    #: Whether every sampling variance is positive (Q, I^2 and H^2 are undefined otherwise).
    allvipos: bool = True
    #: Whether tau^2 was fixed by the user rather than estimated.
    tau2_fixed: bool = False
    #: Number of estimated parameters (coefficients, plus tau^2 when estimated).
    parms: int = 0
    #: metafor's ``na.action``: "omit" (drop studies with missing values) or "exclude" (drop, but pad).
    na_action: str = "omit"
    #: Mask over all rows given (``k_all``): True where a study entered the fit.
    not_na: np.ndarray | None = None
    #: The formulas the model was given (as R prints them), if any.
    formula_yi: str | None = None
    formula_mods: str | None = None
    formula_scale: str | None = None
    yi_all: np.ndarray | None = None
    vi_all: np.ndarray | None = None
    X_all: np.ndarray | None = None
    slab_all: list[str] | None = None
    #: The escalc measure of the effect sizes ("GEN" when not known).
    measure: str = "GEN"

    # ------------------------------------------------------------------------------------- properties

    @property
    def tau(self) -> float:
        return float(np.sqrt(self.tau2))

    @property
    def weights_pct(self) -> np.ndarray:
        return 100.0 * self.weights / self.weights.sum()

    @property
    def alpha(self) -> float:
        return alpha_of(self.level)

    @property
    def is_random(self) -> bool:
        return self.method not in EQUAL_EFFECTS

    @property
    def k_all(self) -> int:
        return self.k if self.not_na is None else int(self.not_na.size)

    @property
    def int_only(self) -> bool:
        """An intercept-only model."""
        return self.p == 1 and bool(self.intercept)

    def crit(self, level: float | None = None) -> float:
        """Critical value of the coefficient tests (z, or t with k - p df for knha/adhoc)."""
        alpha = self.alpha if level is None else alpha_of(level)
        if self.ddf is None:
            return float(norm_ppf(1 - alpha / 2))
        return float(t_ppf(1 - alpha / 2, self.ddf))

    def pad(self, values: np.ndarray) -> np.ndarray:
        """Values for the fitted studies, padded with NaN to all rows when ``na_action="exclude"``."""
        values = np.asarray(values, dtype=float)
        if self.na_action != "exclude" or self.not_na is None or bool(self.not_na.all()):
            return values
        out = np.full((self.not_na.size, *values.shape[1:]), np.nan)
        out[self.not_na] = values
        return out

    def padded_slab(self) -> list[str]:
        """Study labels matching :meth:`pad`."""
        if self.na_action == "exclude" and self.slab_all is not None:
            return list(self.slab_all)
        return list(self.slab)

    def refit(self, yi, vi, X=None, **changes: Any) -> RMAResult:
        """Fit the same kind of model (method, test, level, control, weighting) to other data."""
        from regrow.meta._rma import fit_arrays

        X = self.X if X is None else X
        options: dict[str, Any] = {
            "method": self.method,
            "test": self.test,
            "level": self.level,
            "control": self.control,
            "weighted": self.weighted,
        }
        options.update(changes)
        return fit_arrays(
            np.asarray(yi, float),
            np.asarray(vi, float),
            np.asarray(X, float),
            list(self.coef_names),
            intercept=self.intercept,
            **options,
        )

    # --------------------------------------------------------------------------------------- predict

    def _new_design(self, newmods, intercept: bool) -> tuple[np.ndarray, bool]:
        """The rows to predict at and whether they are the fitted studies (newmods omitted)."""
        int_incl = bool(self.intercept)
        n_mods = self.p - int(int_incl)
        if newmods is None:
            if self.int_only:
                return np.ones((1, 1)), False
            X_all = self.X if self.X_all is None else self.X_all
            return np.asarray(X_all, dtype=float), True
        if self.int_only:
            raise InputError("Cannot give newmods for a model without moderators.", field="newmods")
        if isinstance(newmods, Mapping):
            names = self.coef_names[1:] if int_incl else self.coef_names
            order = _match_names(list(newmods), names)
            cols = [np.atleast_1d(np.asarray(newmods[given], dtype=float)) for given in order]
            Xnew = np.column_stack(np.broadcast_arrays(*cols))
        else:
            arr = np.asarray(newmods, dtype=float)
            if n_mods == 1:
                Xnew = arr.reshape(-1, 1)
            elif arr.ndim <= 1:
                Xnew = arr.reshape(1, -1)
            else:
                Xnew = arr
        if int_incl:
            Xnew = np.column_stack([np.full(Xnew.shape[0], 1.0 if intercept else 0.0), Xnew])
        if Xnew.shape[1] != self.p:
            raise InputError(
                f"newmods has {Xnew.shape[1] - int(int_incl)} columns; the model has {n_mods} moderators.",
                field="newmods",
            )
        return Xnew, False

    def predict(
        self,
        newmods: np.ndarray | Sequence[float] | Mapping[str, Any] | float | None = None,
        *,
        intercept: bool = True,
        level: float | None = None,
        transf: str | Callable[..., Any] | None = None,
        targs: Mapping[str, Any] | None = None,
        addx: bool = False,
        pi_method: str = "metafor",
        newvi: float | Sequence[float] | None = None,
        na_action: str | None = None,
        vcov: bool = False,
    ) -> Prediction:
        """Predicted effects, with CI and prediction interval, like metafor's ``predict.rma``.

        Parameters
        ----------
        newmods : array-like or mapping, optional
            Moderator values (without the intercept), one row per prediction: shape (n, p - 1), (p - 1,),
            or (n,) for a model with one moderator; a mapping from moderator name to values also works.
            Omitted: the pooled effect of an intercept-only model, else the fitted value of every study
            (padded with NaN for studies left out under ``na_action="exclude"``).
        intercept : bool, default True
            With False, the intercept is set to 0 in the predictions (metafor's ``intercept=FALSE``).
        level : float, optional
            Confidence level in percent for these intervals (default: the model's).
        transf : str or callable, optional
            Back-transformation applied to the estimate and bounds: a function or a ``transf.*`` name such as
            ``"exp"``, ``"ilogit"``, ``"ztor"``; the SE is then not reported.
        targs : mapping, optional
            Extra arguments of the transformation (e.g. ``{"tau2": res.tau2}`` for ``"exp.int"``).
        addx : bool, default False
            Also return the rows of predictors used (``Prediction.X``).
        pi_method : {"metafor", "higgins2009"}, default "metafor"
            ``"metafor"``: ``pred +/- crit * sqrt(se^2 + tau2)`` with the model's critical value (z, or t with
            k - p df under knha/adhoc). ``"higgins2009"``: t with k - 2 df (Higgins, Thompson & Spiegelhalter
            2009, doi:10.1111/j.1467-985X.2008.00552.x), as RevMan and R's meta report it.
        newvi : float or sequence, optional
            Sampling variance of a new study, added to the prediction interval (metafor's ``newvi``).
        vcov : bool, default False
            Also return the variance-covariance matrix of the predictions (``Prediction.vcov``).
        na_action : {"omit", "exclude", "pass"}, optional
            For fitted values (``newmods`` omitted): only the fitted studies ("omit"), all rows with NaN for
            the studies left out ("exclude"), or all rows computed wherever the moderators are known ("pass").

        Returns
        -------
        Prediction
            For an equal/fixed-effects model the prediction interval equals the confidence interval.

        Raises
        ------
        InputError
            When ``newmods`` do not match the model's moderators.
        """
        if pi_method not in ("metafor", "higgins2009"):
            raise InputError.invalid("pi_method", pi_method, "'metafor' or 'higgins2009'")
        Xnew, fitted = self._new_design(newmods, intercept)
        with np.errstate(invalid="ignore"):
            pred = Xnew @ self.beta
            var = np.einsum("ij,jk,ik->i", Xnew, self.vb, Xnew)
        var = np.where(var < 0, np.nan, var)
        se = np.sqrt(var)
        crit = self.crit(level)
        extra = 0.0 if newvi is None else np.asarray(newvi, dtype=float)
        spread = np.sqrt(var + self.tau2 + extra)
        pi_crit = crit
        if pi_method == "higgins2009" and self.is_random:
            if self.k < 3:
                raise TooFewStudiesError("A Higgins (2009) prediction interval needs at least 3 studies.")
            pi_crit = float(t_ppf(1 - (self.alpha if level is None else alpha_of(level)) / 2, self.k - 2))
        out = {
            "pred": pred,
            "ci_lb": pred - crit * se,
            "ci_ub": pred + crit * se,
            "pi_lb": pred - pi_crit * spread,
            "pi_ub": pred + pi_crit * spread,
        }
        func = resolve_transf(transf)
        if func is not None:
            out = {
                key: np.asarray(func(v, targs=targs) if targs is not None else func(v), dtype=float)
                for key, v in out.items()
            }
            for lo, hi in (("ci_lb", "ci_ub"), ("pi_lb", "pi_ub")):
                out[lo], out[hi] = np.fmin(out[lo], out[hi]), np.fmax(out[lo], out[hi])
        se_out = None if func is not None else se
        slab = [""] if Xnew.shape[0] == 1 and not fitted else [str(i + 1) for i in range(Xnew.shape[0])]
        if fitted:
            keep = self.not_na if self.not_na is not None else np.ones(Xnew.shape[0], dtype=bool)
            slab = list(self.slab_all) if self.slab_all is not None else list(self.slab)
            mode = self.na_action if na_action is None else na_action
            if mode not in ("omit", "exclude", "pass"):
                raise InputError.invalid("na_action", mode, "omit, exclude or pass")
            if mode == "pass":
                pass
            elif mode == "exclude":
                out = {key: np.where(keep, v, np.nan) for key, v in out.items()}
                se_out = None if se_out is None else np.where(keep, se_out, np.nan)
            else:
                out = {key: v[keep] for key, v in out.items()}
                se_out = None if se_out is None else se_out[keep]
                slab = [s for s, kept in zip(slab, keep, strict=True) if kept]
                Xnew = Xnew[keep]
        V = Xnew @ self.vb @ Xnew.T if vcov else None  # Xnew holds the rows reported (omitted ones dropped)
        return Prediction(se=se_out, X=Xnew if addx else None, slab=slab, vcov=V, **out)

    # --------------------------------------------------------------------------------------- confint

    def confint(self, *, tau2_max: float | None = None, level: float | None = None) -> TauConfint:
        """Q-profile confidence intervals for tau^2, tau, I^2 and H^2 (``confint(res, type = "QP")``).

        Parameters
        ----------
        tau2_max : float, optional
            Upper end of the search. By default there is none and the bounds are exact. metafor searches
            only up to ``max(100, 10 * tau2)`` and reports that cap, marked ``">"``; pass the same cap to
            reproduce it (the bound is then flagged in ``ub_sign``).
        level : float, optional
            Confidence level in percent (default: the model's).

        Returns
        -------
        TauConfint

        Raises
        ------
        InputError
            For an equal/fixed-effects model, which has no tau^2.
        TooFewStudiesError
            With no residual degrees of freedom (k = 1).
        """
        if not self.is_random:
            raise InputError(
                "A fixed-effects model has no tau^2 to bound; fit a random-effects model.",
                field="method",
                value=self.method,
            )
        df = self.k - self.p
        if df < 1:
            raise TooFewStudiesError(
                f"A confidence interval for tau^2 needs more studies than coefficients (k = {self.k}, "
                f"p = {self.p}); metafor stops too."
            )
        if not self.allvipos:
            raise InputError(
                "The Q-profile interval needs positive sampling variances; some vi are 0.", field="vi"
            )
        alpha = self.alpha if level is None else alpha_of(level)
        q_lo = float(chi2_ppf(1 - alpha / 2, df))  # Q at the lower bound of tau^2
        q_hi = float(chi2_ppf(alpha / 2, df))
        lb = generalized_q_root(self.yi, self.vi, self.X, q_lo, control=self.control)
        ub = generalized_q_root(self.yi, self.vi, self.X, q_hi, control=self.control)
        lb_sign = ub_sign = ""
        if tau2_max is not None:
            if lb > tau2_max:
                lb, lb_sign = tau2_max, ">"
            if ub > tau2_max:
                ub, ub_sign = tau2_max, ">"
        return tau_intervals(self, lb, ub, lb_sign=lb_sign, ub_sign=ub_sign, level=level)

    # ---------------------------------------------------------------------------------------- export

    def to_dict(self) -> dict[str, Any]:
        """Everything a report needs, JSON-ready once numpy values are converted."""
        coefficients = [
            {
                "name": name,
                "estimate": float(self.beta[j]),
                "se": float(self.se[j]),
                "stat": float(self.zval[j]),
                "pval": float(self.pval[j]),
                "ci_lb": float(self.ci_lb[j]),
                "ci_ub": float(self.ci_ub[j]),
            }
            for j, name in enumerate(self.coef_names)
        ]
        return {
            "k": self.k,
            "p": self.p,
            "method": self.method,
            "test": self.test,
            "level": self.level,
            "coefficients": coefficients,
            "tau2": self.tau2,
            "se_tau2": self.se_tau2 if self.is_random else None,
            "I2": self.I2,
            "H2": self.H2,
            "R2": self.R2,
            "QE": self.QE,
            "QEp": self.QEp,
            "QM": self.QM,
            "QMp": self.QMp,
            "QMdf": list(self.QMdf),
            "fit_stats": self.fit_stats,
            "warnings": list(self.warnings),
        }


def _is_subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def _match_names(given: list[str], names: list[str]) -> list[str]:
    """metafor's matching of named ``newmods``: each given name is completed to the model term it is an
    abbreviation of (its letters in order, fewest insertions); returns the given names in model order."""
    pos: dict[str, int] = {}
    for g in given:
        dist = [len(n) - len(g) if _is_subsequence(g, n) else None for n in names]
        found = [d for d in dist if d is not None]
        if not found:
            raise InputError(
                f"Could not find variable {g!r} in the model ({', '.join(names)}).", field="newmods"
            )
        best = [j for j, d in enumerate(dist) if d == min(found)]
        if len(best) > 1:
            raise InputError(f"Could not match {g!r} uniquely to a variable of the model.", field="newmods")
        if best[0] in pos.values():
            raise InputError(
                f"Found several names for the same variable {names[best[0]]!r}.", field="newmods"
            )
        pos[g] = best[0]
    missing = [n for j, n in enumerate(names) if j not in pos.values()]
    if missing:
        raise InputError(f"newmods does not give values for {', '.join(missing)}.", field="newmods")
    return sorted(pos, key=pos.get)


def tau_intervals(
    res: RMAResult, lb: float, ub: float, *, lb_sign: str = "", ub_sign: str = "", level: float | None = None
) -> TauConfint:
    """A tau^2 interval ``[lb, ub]`` around ``res.tau2`` with the tau, I^2 (%) and H^2 intervals it implies
    (``I2 = 100 tau2 / (vt + tau2)``, ``H2 = (vt + tau2) / vt``, ``vt`` the typical sampling variance)."""

    def triple(f):
        return Interval(float(f(res.tau2)), float(f(lb)), float(f(ub)))

    return TauConfint(
        tau2=triple(lambda t: t),
        tau=triple(np.sqrt),
        I2=triple(lambda t: 100.0 * t / (res.vt + t)),
        H2=triple(lambda t: (res.vt + t) / res.vt),
        level=res.level if level is None else level,
        lb_sign=lb_sign,
        ub_sign=ub_sign,
    )
