"""Case diagnostics of a fitted model, as metafor 3.8's ``leave1out``, ``influence``, ``rstandard``,
``rstudent`` and ``blup`` compute them for ``rma.uni`` fits.

Notation: ``W = diag(1/(vi + tau2))``, ``A = (X'WX)^-1`` (before any Knapp-Hartung scaling), the hat matrix
``H = X A X' W`` and ``s2w`` the Knapp-Hartung scale (1 for ``test="z"``, truncated below at 1 for
``"adhoc"``). Deleted-case quantities carry the suffix ``_del`` and come from refitting the model without the
study (tau^2 re-estimated). Reference: Viechtbauer W, Cheung MW-L (2010). Outlier and influence diagnostics
for meta-analysis. Res Synth Methods 1(2):112-125. doi:10.1002/jrsm.11.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from regrow.errors import ConvergenceError, InputError, TooFewStudiesError
from regrow.meta._dist import chi2_cdf, norm_ppf, t_ppf
from regrow.meta._linalg import wls
from regrow.meta._rma import RMAResult, _alpha, single_study_fit

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BLUP",
    "Influence",
    "LeaveOneOut",
    "Residuals",
    "blup",
    "hatvalues",
    "influence",
    "leave1out",
    "rstandard",
    "rstudent",
    "single_study_fit",
]

#: Errors a refit on a subset may raise; the subset's row becomes NaN and a warning names the study.
_REFIT_ERRORS = (ConvergenceError, InputError, TooFewStudiesError)


def _frame(data: dict[str, Any], slab: list[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(data, index=pd.Index(slab, name="slab"))


def _scale(res: RMAResult) -> float:
    """The s2w metafor stores: 1 for z, s^2 for knha, max(1, s^2) for adhoc."""
    if res.test == "adhoc":
        return max(1.0, res.s2w)
    return res.s2w if res.test == "knha" else 1.0


def fit_rows(res: RMAResult, rows: np.ndarray) -> RMAResult:
    """Refit ``res``'s model (method, test, level, control, btt) to a subset of its studies."""
    rows = np.asarray(rows)
    if rows.size == 1 and res.p == 1 and res.intercept:
        i = int(rows[0])
        return single_study_fit(
            res.yi[i], res.vi[i], method=res.method, level=res.level, control=res.control, slab=res.slab[i]
        )
    return res.refit(res.yi[rows], res.vi[rows], res.X[rows], with_r2=False, btt=res.btt)


def _require_intercept_only(res: RMAResult, what: str) -> None:
    if not (res.intercept and res.p == 1):
        raise InputError(
            f"{what} applies to models without moderators (metafor: 'Method only applicable to models "
            f"without moderators'); this model has {res.p - int(res.intercept)} moderator column(s).",
            field="mods",
        )
    if res.k < 2:
        raise TooFewStudiesError(f"{what} needs at least 2 studies; the model has k = {res.k}.")


# --------------------------------------------------------------------------------------------------------
# leave-one-out
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RefitRows:
    """Pooled results of an intercept-only model refitted to subsets of its studies, one row per subset.

    ``tau2`` is None for a fixed-effect model (metafor drops the column). ``zval`` holds t statistics for
    ``test="knha"``/``"adhoc"`` (metafor's ``tval``). Rows whose refit failed are NaN and named in
    ``warnings``.
    """

    method: str
    test: str
    estimate: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    Q: np.ndarray
    Qp: np.ndarray
    tau2: np.ndarray | None
    I2: np.ndarray
    H2: np.ndarray
    slab: list[str]
    warnings: list[str] = field(default_factory=list)

    _COLUMNS = ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "Q", "Qp", "tau2", "I2", "H2")
    #: Further fields of a subclass, placed in :meth:`to_dict` between the columns and ``slab``.
    _EXTRA: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {c: getattr(self, c) for c in self._COLUMNS if getattr(self, c) is not None}
        out.update({name: getattr(self, name) for name in self._EXTRA})
        out.update(slab=list(self.slab), method=self.method, test=self.test, warnings=list(self.warnings))
        return out

    def to_frame(self) -> pd.DataFrame:
        return _frame({c: getattr(self, c) for c in self._COLUMNS if getattr(self, c) is not None}, self.slab)


@dataclass(frozen=True)
class LeaveOneOut(_RefitRows):
    """Pooled results with each study left out in turn (one entry per study, in the model's order).

    ``tau2`` is None for a fixed-effect model (metafor drops the column). ``zval`` holds t statistics for
    ``test="knha"``/``"adhoc"`` (metafor's ``tval``). Rows whose refit failed are NaN and named in
    ``warnings``.
    """


def _summaries(fits: list[RMAResult | None]) -> dict[str, np.ndarray]:
    """Stack the pooled-estimate summary of intercept-only fits (None -> NaN row)."""
    out = {name: np.full(len(fits), np.nan) for name in _RefitRows._COLUMNS}
    for i, r in enumerate(fits):
        if r is None:
            continue
        for name, value in (
            ("estimate", r.beta[0]),
            ("se", r.se[0]),
            ("zval", r.zval[0]),
            ("pval", r.pval[0]),
            ("ci_lb", r.ci_lb[0]),
            ("ci_ub", r.ci_ub[0]),
            ("Q", r.QE),
            ("Qp", r.QEp),
            ("tau2", r.tau2),
            ("I2", r.I2),
            ("H2", r.H2),
        ):
            out[name][i] = value
    return out


def refit_columns(res: RMAResult, subsets) -> tuple[dict[str, Any], list[str]]:
    """Refit ``res`` to each ``(rows, what)`` subset and stack the pooled summaries (:class:`_RefitRows`
    columns; ``tau2`` None for a fixed-effect model). A failed refit gives a NaN row and the warning
    ``"<what>: <error>"``."""
    fits: list[RMAResult | None] = []
    warnings: list[str] = []
    for rows, what in subsets:
        try:
            fits.append(fit_rows(res, rows))
        except _REFIT_ERRORS as exc:
            fits.append(None)
            warnings.append(f"{what}: {exc}")
    cols = _summaries(fits)
    tau2 = cols.pop("tau2")
    cols["tau2"] = None if res.method == "FE" else tau2
    return cols, warnings


def leave1out(res: RMAResult, *, na_action: str | None = None) -> LeaveOneOut:
    """Leave-one-out analysis: refit the model k times, each time without one study (``leave1out.rma.uni``).

    Parameters
    ----------
    res : RMAResult
        An intercept-only model (any estimator and test).
    na_action : {"omit", "exclude", "pass"}, optional
        Per-study layout (see :mod:`regrow.meta._methods`).

    Returns
    -------
    LeaveOneOut

    Raises
    ------
    InputError
        For a model with moderators.
    TooFewStudiesError
        For k < 2.

    References
    ----------
    Viechtbauer W, Cheung MW-L (2010). doi:10.1002/jrsm.11.
    """
    if _is_mh(res):
        from regrow.meta._mh_diag import leave1out_mh

        return leave1out_mh(res)
    _require_intercept_only(res, "leave1out")
    everyone = np.arange(res.k)
    cols, warnings = refit_columns(
        res,
        (
            (everyone[everyone != i], f"Without study {res.slab[i]!r} the model could not be fitted")
            for i in range(res.k)
        ),
    )
    out = LeaveOneOut(method=res.method, test=res.test, slab=list(res.slab), warnings=warnings, **cols)
    return _padded(out, res, na_action)


# --------------------------------------------------------------------------------------------------------
# residuals, influence
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Residuals:
    """Residuals, their standard errors and standardized values ``z = resid / se`` (one per study)."""

    resid: np.ndarray
    se: np.ndarray
    z: np.ndarray
    slab: list[str]
    kind: str

    def to_dict(self) -> dict[str, Any]:
        return {"resid": self.resid, "se": self.se, "z": self.z, "slab": list(self.slab), "kind": self.kind}

    def to_frame(self) -> pd.DataFrame:
        return _frame({"resid": self.resid, "se": self.se, "z": self.z}, self.slab)


def _hat_parts(res: RMAResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(w, A, h)``: model weights, unscaled ``(X'WX)^-1`` and ``h_i = x_i' A x_i`` (O(k p^2))."""
    w = 1.0 / (res.vi + res.tau2)
    A = wls(res.yi, res.X, w).A_inv
    h = np.einsum("ij,jk,ik->i", res.X, A, res.X)
    return w, A, h


def _is_mh(res) -> bool:
    """A Mantel-Haenszel or Peto fit (its diagnostics refit the pooling of the tables)."""
    from regrow.meta._mh import MHResult

    return isinstance(res, MHResult)


def _coef_weights(res: RMAResult) -> np.ndarray:
    """The weights of the coefficient estimates: 1/(vi + tau2), the user's, or equal (unweighted)."""
    if not res.weighted:
        return np.ones(res.k)
    return res.user_weights if res.user_weights is not None else 1.0 / (res.vi + res.tau2)


def hat_matrix(res: RMAResult) -> np.ndarray:
    """The k x k hat matrix ``H = X (X'AX)^-1 X'A`` with the coefficient weights ``A``.

    Parameters
    ----------
    res : RMAResult

    Returns
    -------
    ndarray of shape (k, k)
    """
    a = _coef_weights(res)
    A_inv = wls(res.yi, res.X, a).A_inv
    return res.X @ A_inv @ (res.X * a[:, None]).T


def hatvalues(res: RMAResult, *, type: str = "diagonal", na_action: str | None = None) -> np.ndarray:
    """Diagonal of the hat matrix ``H = X (X'AX)^-1 X'A`` (``hatvalues.rma.uni``; values within 10 eps of 1
    are set to 1), or the whole matrix (``type="matrix"``). ``A`` holds the weights of the coefficients.

    Parameters
    ----------
    res : RMAResult
    type : {"diagonal", "matrix"}
    na_action : {"omit", "exclude", "pass"}, optional
        Per-study layout (see :mod:`regrow.meta._methods`).

    Returns
    -------
    ndarray
        The leverages (summing to p), or the matrix."""
    from regrow.meta._methods import _full, _square, na_mode

    mode = na_mode(res, na_action)
    if type == "matrix":
        return _square(res, hat_matrix(res), mode)
    if type != "diagonal":
        raise InputError.invalid("type", type, "'diagonal' or 'matrix'")
    a = _coef_weights(res)
    A_inv = wls(res.yi, res.X, a).A_inv
    hii = a * np.einsum("ij,jk,ik->i", res.X, A_inv, res.X)
    hii[hii > 1 - 10 * np.finfo(float).eps] = 1.0
    return _full(res, hii, mode)


def rstandard(res: RMAResult, *, type: str = "marginal", na_action: str | None = None) -> Residuals:
    """Internally standardized residuals (``rstandard.rma.uni``).

    Marginal: ``e_i = y_i - x_i'b`` with ``Var(e) = (I - H) M (I - H)'``, ``M = diag(vi + tau2)``, whose
    diagonal reduces to ``vi + tau2 - x_i' A x_i`` (A the unscaled ``(X'WX)^-1``), so no k x k matrix is
    built.
    Conditional: ``e_i = y_i - (l_i y_i + (1 - l_i) x_i'b)`` with ``l_i = tau2 / (tau2 + vi)`` and
    ``SE = sqrt(vi^2 / (vi + tau2) (1 - h_ii))``.

    Parameters
    ----------
    res : RMAResult
    type : {"marginal", "conditional"}
    na_action : {"omit", "exclude", "pass"}, optional
        Per-study layout (see :mod:`regrow.meta._methods`).

    Returns
    -------
    Residuals

    References
    ----------
    Viechtbauer W, Cheung MW-L (2010). doi:10.1002/jrsm.11.
    """
    if _is_mh(res):
        from regrow.meta._mh_diag import rstandard_mh

        return rstandard_mh(res)
    if type not in ("marginal", "conditional"):
        raise InputError.invalid("type", type, "'marginal' or 'conditional'")
    w, _, h = _hat_parts(res)
    fitted = res.X @ res.beta
    if type == "marginal":
        e = res.yi - fitted
        e[np.abs(e) < 100 * np.finfo(float).eps] = 0.0
        se = np.sqrt(np.maximum(res.vi + res.tau2 - h, 0.0))
    else:
        li = res.tau2 / (res.tau2 + res.vi)
        e = res.yi - (li * res.yi + (1 - li) * fitted)
        se = np.sqrt(res.vi**2 / (res.vi + res.tau2) * (1 - w * h))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = e / se
    return _padded(Residuals(resid=e, se=se, z=z, slab=list(res.slab), kind=type), res, na_action)


def _padded(obj, res: RMAResult, na_action: str | None):
    from regrow.meta._methods import na_mode, pad_result

    mode = na_mode(res, na_action)
    return pad_result(obj, res, "exclude" if mode == "pass" else mode)


@dataclass(frozen=True)
class Influence:
    """Case-deletion diagnostics (``influence.rma.uni``), one entry per study.

    Attributes
    ----------
    rstudent : externally standardized (deleted) residuals
    dffits : change in the fitted value, standardized
    cook_d : Cook's distance over all coefficients
    cov_r : covariance ratio ``det(Var(b_(-i))) / det(Var(b))``
    tau2_del, QE_del : tau^2 and QE of the model without the study
    hat : hat values (leverages); weight : model weights in percent
    dfbs : (k, p) DFBETAS, columns named by ``coef_names``
    is_infl : True where any of metafor's cut-offs flags the study (|DFFITS| > 3 sqrt(p/(k-p)),
        P(chi2_p <= cook_d) > 0.5, hat > 3p/k, any |DFBETAS| > 1)
    resid_del, se_del : the numerator and denominator of ``rstudent``
    """

    rstudent: np.ndarray
    dffits: np.ndarray
    cook_d: np.ndarray
    cov_r: np.ndarray
    tau2_del: np.ndarray
    QE_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    dfbs: np.ndarray
    is_infl: np.ndarray
    coef_names: list[str]
    slab: list[str]
    resid_del: np.ndarray
    se_del: np.ndarray
    warnings: list[str] = field(default_factory=list)

    _COLUMNS = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "QE_del", "hat", "weight")

    @property
    def inf_flag(self) -> list[str]:
        """metafor's ``inf`` column: ``"*"`` for influential studies, else ``""``."""
        return ["*" if flag else "" for flag in self.is_infl]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {c: getattr(self, c) for c in self._COLUMNS}
        out.update(
            inf_flag=self.inf_flag,
            is_infl=self.is_infl,
            dfbs={name: self.dfbs[:, j] for j, name in enumerate(self.coef_names)},
            slab=list(self.slab),
            warnings=list(self.warnings),
        )
        return out

    def to_frame(self) -> pd.DataFrame:
        data: dict[str, Any] = {c: getattr(self, c) for c in self._COLUMNS}
        data.update({f"dfbs_{name}": self.dfbs[:, j] for j, name in enumerate(self.coef_names)})
        data["inf"] = self.inf_flag
        return _frame(data, self.slab)


def influence(res: RMAResult, *, na_action: str | None = None) -> Influence:
    """Outlier and influence diagnostics by deleting each study in turn (``influence.rma.uni``).

    For study i, with ``b_(-i)``, ``Var_(-i)``, ``tau2_(-i)`` and ``s2w_(-i)`` from the model refitted
    without it (tau^2 re-estimated):

    * rstudent: ``(y_i - x_i'b_(-i)) / sqrt(s2w_(-i) (vi + tau2_(-i)) + x_i' Var_(-i) x_i)``
    * DFFITS: ``(x_i'b - x_i'b_(-i)) / sqrt(s2w_(-i) h_ii (tau2_(-i) + vi))``
    * Cook's distance: ``(b - b_(-i))' Var(b)^-1 (b - b_(-i))``
    * COVRATIO: ``det Var_(-i) / det Var(b)``
    * DFBETAS: ``(b - b_(-i)) / sqrt(s2w_(-i) diag[(X' diag(1/(vi + tau2_(-i))) X)^-1])`` (all k rows)

    Parameters
    ----------
    res : RMAResult
        Any fitted model (with or without moderators).
    na_action : {"omit", "exclude", "pass"}, optional
        Per-study layout (see :mod:`regrow.meta._methods`).

    Returns
    -------
    Influence

    Raises
    ------
    TooFewStudiesError
        For k < 2.

    References
    ----------
    Viechtbauer W, Cheung MW-L (2010). doi:10.1002/jrsm.11. Belsley, Kuh & Welsch (1980) Regression
    Diagnostics. doi:10.1002/0471725153.
    """
    if _is_mh(res):
        from regrow.meta._mh_diag import influence_mh

        return influence_mh(res)
    k, p = res.k, res.p
    if k < 2:
        raise TooFewStudiesError(f"influence needs at least 2 studies; the model has k = {k}.")
    X, beta = res.X, res.beta
    w, _, h = _hat_parts(res)
    hat = w * h
    hat[hat > 1 - 10 * np.finfo(float).eps] = 1.0
    weight = 100.0 * w / w.sum()
    svb = np.linalg.inv(res.vb)
    _, logdet_vb = np.linalg.slogdet(res.vb)
    pred_full = X @ beta

    nan = np.full(k, np.nan)
    tau2_del, QE_del, delpred, vdelpred, s2w_del = nan.copy(), nan.copy(), nan.copy(), nan.copy(), nan.copy()
    dffits, cook_d, cov_r = nan.copy(), nan.copy(), nan.copy()
    dfbs = np.full((k, p), np.nan)
    warnings: list[str] = []
    everyone = np.arange(k)
    for i in range(k):
        try:
            r = fit_rows(res, everyone[everyone != i])
        except _REFIT_ERRORS as exc:
            warnings.append(f"Without study {res.slab[i]!r} the model could not be fitted: {exc}")
            continue
        xi = X[i]
        tau2_del[i], QE_del[i] = r.tau2, r.QE
        s2w = _scale(r)
        s2w_del[i] = s2w
        delpred[i] = xi @ r.beta
        vdelpred[i] = xi @ r.vb @ xi
        dffits[i] = (pred_full[i] - delpred[i]) / np.sqrt(s2w * hat[i] * (r.tau2 + res.vi[i]))
        vb_del = wls(res.yi, X, 1.0 / (res.vi + r.tau2)).A_inv
        dfb = beta - r.beta
        dfbs[i] = dfb / np.sqrt(s2w * np.diag(vb_del))
        cook_d[i] = dfb @ svb @ dfb
        _, logdet_del = np.linalg.slogdet(r.vb)
        cov_r[i] = np.exp(logdet_del - logdet_vb)
    resid = res.yi - delpred
    resid[np.abs(resid) < 100 * np.finfo(float).eps] = 0.0
    se_del = np.sqrt(res.vi * s2w_del + vdelpred + tau2_del * s2w_del)
    rstud = resid / se_del

    with np.errstate(invalid="ignore"):
        flags = np.column_stack(
            [
                np.abs(dffits) > 3 * np.sqrt(p / (k - p)) if k > p else np.zeros(k, bool),
                chi2_cdf(cook_d, p) > 0.5,
                hat > 3 * p / k,
                np.any(np.abs(dfbs) > 1, axis=1),
            ]
        )
    # R's three-valued "|": a NaN criterion does not flag, the study is flagged if any criterion holds.
    is_infl = flags.any(axis=1)
    return _padded(
        Influence(
            rstudent=rstud,
            dffits=dffits,
            cook_d=cook_d,
            cov_r=cov_r,
            tau2_del=tau2_del,
            QE_del=QE_del,
            hat=hat,
            weight=weight,
            dfbs=dfbs,
            is_infl=is_infl,
            coef_names=list(res.coef_names),
            slab=list(res.slab),
            resid_del=resid,
            se_del=se_del,
            warnings=warnings,
        ),
        res,
        na_action,
    )


def rstudent(res: RMAResult, *, na_action: str | None = None) -> Residuals:
    """Externally standardized (studentized deleted) residuals (``rstudent.rma.uni``).

    ``resid_i = y_i - x_i'b_(-i)`` and ``se_i = sqrt(s2w_(-i) (vi + tau2_(-i)) + x_i' Var_(-i) x_i)``, from
    the model refitted without study i; see :func:`influence`.

    Returns
    -------
    Residuals

    References
    ----------
    Viechtbauer W, Cheung MW-L (2010). doi:10.1002/jrsm.11.
    """
    if _is_mh(res):
        from regrow.meta._mh_diag import rstudent_mh

        return rstudent_mh(res)
    inf = influence(res)
    out = Residuals(resid=inf.resid_del, se=inf.se_del, z=inf.rstudent, slab=list(res.slab), kind="deleted")
    return _padded(out, res, na_action)


# --------------------------------------------------------------------------------------------------------
# BLUPs
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BLUP:
    """Best linear unbiased predictions of the true study effects with prediction intervals."""

    pred: np.ndarray
    se: np.ndarray
    pi_lb: np.ndarray
    pi_ub: np.ndarray
    slab: list[str]
    level: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "pred": self.pred,
            "se": self.se,
            "pi_lb": self.pi_lb,
            "pi_ub": self.pi_ub,
            "slab": list(self.slab),
            "level": self.level,
        }

    def to_frame(self) -> pd.DataFrame:
        return _frame({"pred": self.pred, "se": self.se, "pi_lb": self.pi_lb, "pi_ub": self.pi_ub}, self.slab)


def blup(res: RMAResult, *, level: float | None = None, na_action: str | None = None) -> BLUP:
    """Empirical Bayes (BLUP) estimates of each study's true effect (``blup.rma.uni``).

    ``pred_i = l_i y_i + (1 - l_i) x_i'b`` with shrinkage ``l_i = tau2 / (tau2 + vi)`` and
    ``Var = l_i vi + (1 - l_i)^2 x_i' Var(b) x_i``; intervals use z (or t with k - p df for knha/adhoc).

    Parameters
    ----------
    res : RMAResult
    level : float, optional
        Interval level in percent (default: the model's).
    na_action : {"omit", "exclude", "pass"}, optional
        Per-study layout (see :mod:`regrow.meta._methods`).

    Returns
    -------
    BLUP

    References
    ----------
    Raudenbush SW, Bryk AS (1985). Empirical Bayes meta-analysis. J Educ Stat 10(2):75-98.
    doi:10.3102/10769986010002075.
    """
    level = res.level if level is None else level
    alpha = _alpha(level)
    crit = t_ppf(1 - alpha / 2, res.ddf) if res.ddf is not None else norm_ppf(1 - alpha / 2)
    li = res.tau2 / (res.tau2 + res.vi)
    fitted = res.X @ res.beta
    pred = li * res.yi + (1 - li) * fitted
    vpred = li * res.vi + (1 - li) ** 2 * np.einsum("ij,jk,ik->i", res.X, res.vb, res.X)
    se = np.sqrt(vpred)
    out = BLUP(
        pred=pred,
        se=se,
        pi_lb=pred - crit * se,
        pi_ub=pred + crit * se,
        slab=list(res.slab),
        level=level if level >= 1 else 100 * (1 - alpha),
    )
    return _padded(out, res, na_action)
