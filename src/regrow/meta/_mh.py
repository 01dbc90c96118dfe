"""Pooling 2x2 tables: Mantel-Haenszel and Peto, agreeing with metafor 3.8-1 (``rma.mh``, ``rma.peto``).

Both pool the raw counts (no continuity correction enters the pooled estimate); the study-level effects
``yi``/``vi`` (used for the heterogeneity statistic and forest plots) are computed as ``escalc`` does, with
``add`` (default 1/2) added to all four cells of studies with a zero cell and, with ``drop00``, studies
without events (or without non-events) in both groups left out.

:func:`revman_mh_dl` derives the random-effects analysis RevMan 5 reports for dichotomous data:
DerSimonian-Laird tau^2 from the Mantel-Haenszel-based Q, then inverse-variance pooling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from regrow.errors import EstimationError, InputError, TooFewStudiesError
from regrow.meta._dist import chi2_sf, norm_isf, norm_sf

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MH_MEASURES", "MHResult", "RevmanResult", "revman_mh_dl", "rma_mh", "rma_peto"]

#: Outcome measures of :func:`rma_mh` (metafor's names): log odds ratio, log risk ratio, risk difference,
#: log incidence rate ratio, incidence rate difference.
MH_MEASURES = ("OR", "RR", "RD", "IRR", "IRD")


def _z_crit(level: float) -> float:
    if not np.isfinite(level) or not (0 < level < 100):
        raise InputError.invalid("level", level, "a confidence level in (0, 100), e.g. 95")
    alpha = (100.0 - level) / 100.0 if level >= 1 else 1.0 - level
    return float(norm_isf(alpha / 2))


@dataclass(frozen=True)
class MHResult:
    """A pooled 2x2-table analysis (:func:`rma_mh` or :func:`rma_peto`); field names follow metafor.

    Attributes
    ----------
    measure : {"OR", "RR", "RD", "PETO"}
        Pooled on the log scale for OR, RR and PETO.
    method : str
        "MH" or "PETO" (both fixed-effect methods).
    beta, se, zval, pval, ci_lb, ci_ub : float
        Pooled estimate with its SE, z test and confidence interval (NaN when undefined: no events).
    QE, QEp, I2, H2 : float
        Heterogeneity: Q of the study effects around the pooled estimate (Peto: its own form), I^2 (%), H^2.
    CO, COp, MH, MHp : float or None
        OR only: Cochran-Mantel-Haenszel test without (CO) and with (MH) the (N - 1) variance.
    BD, BDp, TA, TAp : float or None
        OR only: Breslow-Day and Tarone's test of homogeneity of the odds ratios.
    k, k_yi, k_pos, k_eff : int or None
        Tables used, studies with a study-level effect, tables informative for BD/TA (OR) or with Peto
        variance > 0.
    yi, vi : numpy.ndarray
        Study-level effects and variances (studies without one are left out).
    weights_pct : numpy.ndarray
        Weight of each table in the pooled estimate (percent) for the ``k`` tables used.
    used : numpy.ndarray of bool
        Which input rows are among the ``k`` tables (rows with missing counts are not).
    """

    measure: str
    method: str
    beta: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    QE: float
    QEp: float
    I2: float
    H2: float
    k: int
    k_yi: int
    k_pos: int | None
    k_eff: int
    yi: np.ndarray
    vi: np.ndarray
    weights_pct: np.ndarray
    used: np.ndarray
    level: float
    CO: float | None = None
    COp: float | None = None
    MH: float | None = None
    MHp: float | None = None
    BD: float | None = None
    BDp: float | None = None
    TA: float | None = None
    TAp: float | None = None
    tau2: float = 0.0
    add: float = 0.5
    to: str = "only0"
    drop00: bool = True
    correct: bool = True
    warnings: list[str] = field(default_factory=list)
    #: The inputs as given (all rows), so that diagnostics can refit without a study.
    data: dict[str, np.ndarray] = field(default_factory=dict)
    #: Study labels of all rows.
    slab: list[str] = field(default_factory=list)
    #: Study-level effects of all rows (NaN where not computable), and which rows have one.
    yi_f: np.ndarray | None = None
    vi_f: np.ndarray | None = None
    #: The weights of the tables used, unscaled (metafor's ``weights(res, type="matrix")`` diagonal).
    wi: np.ndarray | None = None

    @property
    def p(self) -> int:
        return 1

    @property
    def is_random(self) -> bool:
        return False

    @property
    def alpha(self) -> float:
        return (100.0 - self.level) / 100.0 if self.level >= 1 else 1.0 - self.level

    @property
    def vb(self) -> np.ndarray:
        return np.array([[self.se**2]])

    def predict(self, *, transf: Any = None, targs: Any = None, level: float | None = None):
        """The pooled effect with its CI (the prediction interval equals it: no tau^2), as ``predict.rma``.

        Parameters
        ----------
        transf : str or callable, optional
            Back-transformation, e.g. ``"exp"`` for OR, RR and IRR.
        targs : mapping, optional
        level : float, optional

        Returns
        -------
        Prediction
        """
        from regrow.meta._rma_result import Prediction
        from regrow.meta._transf import resolve_transf

        crit = _z_crit(self.level if level is None else level)
        pred = np.array([self.beta])
        out = {"pred": pred, "ci_lb": pred - crit * self.se, "ci_ub": pred + crit * self.se}
        out["pi_lb"], out["pi_ub"] = out["ci_lb"], out["ci_ub"]
        se: np.ndarray | None = np.array([self.se])
        func = resolve_transf(transf)
        if func is not None:
            out = {
                k: np.asarray(func(v, targs=targs) if targs is not None else func(v), dtype=float)
                for k, v in out.items()
            }
            se = None
        return Prediction(se=se, slab=[""], **out)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if key == "data":
                continue
            out[key] = value.tolist() if isinstance(value, np.ndarray) else value
        return out


def _tables(ai, bi, ci, di, n1i, n2i) -> tuple[np.ndarray, ...]:
    def arr(name, values):
        try:
            out = np.asarray(values, dtype=float).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{name} must be numeric counts.", field=name) from exc
        return out

    if ai is None or ci is None:
        raise InputError("Give the event counts ai and ci.", field="ai" if ai is None else "ci")
    ai, ci = arr("ai", ai), arr("ci", ci)
    if bi is None:
        if n1i is None:
            raise InputError("Give bi (non-events, group 1) or n1i (group 1 size).", field="bi")
        bi = arr("n1i", n1i) - ai
    else:
        bi = arr("bi", bi)
    if di is None:
        if n2i is None:
            raise InputError("Give di (non-events, group 2) or n2i (group 2 size).", field="di")
        di = arr("n2i", n2i) - ci
    else:
        di = arr("di", di)
    k = ai.size
    for name, cell in (("bi", bi), ("ci", ci), ("di", di)):
        if cell.size != k:
            raise InputError(f"{name} has {cell.size} values but ai has {k}.", field=name, value=cell.size)
    for name, cell in (("ai", ai), ("bi", bi), ("ci", ci), ("di", di)):
        bad = np.flatnonzero(np.isfinite(cell) & (cell < 0))
        if bad.size:
            raise InputError.invalid(name, float(cell[bad[0]]), f"a count >= 0 (row {bad[0] + 1})")
        bad = np.flatnonzero(np.isinf(cell))
        if bad.size:
            raise InputError.invalid(name, float(cell[bad[0]]), f"a finite count (row {bad[0] + 1})")
    return ai, bi, ci, di


def _study_effects(ai, bi, ci, di, measure: str, add: float, to: str, drop00: bool):
    """escalc for 2x2 tables (OR, RR, RD, PETO) with metafor's zero-cell handling."""
    a, b, c, d = (x.copy() for x in (ai, bi, ci, di))
    if to == "all":
        zero = np.ones(a.size, bool)
    elif to == "only0":
        zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    elif to == "if0all":
        zero = np.repeat(bool(np.any((a == 0) | (b == 0) | (c == 0) | (d == 0))), a.size)
    else:
        zero = np.zeros(a.size, bool)
    a[zero] += add
    b[zero] += add
    c[zero] += add
    d[zero] += add
    n1, n2 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            yi = np.log((a * d) / (b * c))
            vi = 1 / a + 1 / b + 1 / c + 1 / d
        elif measure == "RR":
            yi = np.log((a / n1) / (c / n2))
            vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
        elif measure == "RD":
            p1, p2 = a / n1, c / n2
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        else:  # PETO
            N = n1 + n2
            xt, yt = a + c, b + d
            Vi = xt * yt * (n1 / N) * (n2 / N) / (N - 1)
            yi = (a - xt * n1 / N) / Vi
            vi = 1 / Vi
    if drop00:
        both = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
        yi = np.where(both, np.nan, yi)
        vi = np.where(both, np.nan, vi)
    bad = ~np.isfinite(yi) | ~np.isfinite(vi)
    yi, vi = np.where(bad, np.nan, yi), np.where(bad, np.nan, vi)
    return yi, vi


def _check_options(add, to, drop00, correct=True) -> None:
    if not np.isfinite(add) or add < 0:
        raise InputError.invalid("add", add, "a number >= 0 (default 0.5)")
    if to not in ("only0", "all", "if0all", "none"):
        raise InputError.invalid("to", to, "one of only0, all, if0all, none")
    for name, value in (("drop00", drop00), ("correct", correct)):
        if not isinstance(value, bool | np.bool_):
            raise InputError.invalid(name, value, "True or False")


def _i2(Q: float, df: int) -> float:
    """``I2 = max(0, 100 (Q - df) / Q)`` in percent (0 when Q = 0)."""
    return max(0.0, 100.0 * (Q - df) / Q) if Q > 0 else 0.0


def _q_test(QE: float, df: int) -> tuple[float, float, float]:
    """``(QEp, I2, H2)`` of a heterogeneity statistic on ``df`` degrees of freedom."""
    return float(chi2_sf(QE, df)), _i2(QE, df), QE / df


def _heterogeneity(yi: np.ndarray, vi: np.ndarray, beta: float) -> tuple[float, float, float, float, int]:
    k_yi = yi.size
    if k_yi > 1:
        QE = max(0.0, float(np.sum((yi - beta) ** 2 / vi)))
        return QE, *_q_test(QE, k_yi - 1), k_yi
    return 0.0, 1.0, 0.0, 1.0, k_yi


def _wald(beta: float, se: float, crit: float) -> dict[str, float]:
    """z test and confidence interval of a pooled estimate (NaN z when the SE is not positive)."""
    zval = beta / se if se > 0 else float("nan")
    return {
        "zval": zval,
        "pval": float(2 * norm_sf(abs(zval))),
        "ci_lb": beta - crit * se,
        "ci_ub": beta + crit * se,
    }


def _pooling_input(ai, bi, ci, di, n1i, n2i, measure: str, add: float, to: str, drop00: bool, warn_na: bool):
    """Validated tables and study-level effects shared by :func:`rma_mh` and :func:`rma_peto`.

    Returns the complete tables ``(a, b, c, d)``, the ``used`` mask over the input rows, the computable
    study effects ``yi``/``vi`` and the warnings so far (``warn_na``: also count the effects that are NA).
    """
    ai, bi, ci, di = _tables(ai, bi, ci, di, n1i, n2i)
    warnings: list[str] = []
    yi_all, vi_all = _study_effects(ai, bi, ci, di, measure, float(add), to, bool(drop00))
    used = np.isfinite(ai) & np.isfinite(bi) & np.isfinite(ci) & np.isfinite(di)
    if not used.all():
        warnings.append(f"{int((~used).sum())} table(s) with missing counts left out.")
    if not used.any():
        raise TooFewStudiesError("No complete 2x2 table to pool.")
    has_yi = np.isfinite(yi_all)
    if warn_na and not has_yi.all():
        warnings.append(f"{int((~has_yi).sum())} study-level effect(s) could not be computed (NA).")
    tables = (ai[used], bi[used], ci[used], di[used])
    full = ({"ai": ai, "bi": bi, "ci": ci, "di": di}, yi_all, vi_all)
    return tables, used, yi_all[has_yi], vi_all[has_yi], warnings, full


def _tables_used(used, yi, vi, level, add, to, drop00, warnings, full=None, slab=None) -> dict[str, Any]:
    """The :class:`MHResult` fields that say which tables and study effects were used, and the options."""
    k = int(used.sum())
    extra: dict[str, Any] = {}
    if full is not None:
        data, extra["yi_f"], extra["vi_f"] = full
        extra["data"] = data
        n = extra["yi_f"].size
        labels = [f"Study {i + 1}" for i in range(n)] if slab is None else [str(x) for x in slab]
        if len(labels) != n:
            raise InputError(f"slab has {len(labels)} labels for {n} tables.", field="slab")
        extra["slab"] = labels
    return {
        **extra,
        "k": k,
        "k_eff": k,
        "yi": yi,
        "vi": vi,
        "used": used,
        "level": float(level),
        "add": float(add),
        "to": to,
        "drop00": bool(drop00),
        "warnings": warnings,
    }


def rma_mh(
    ai=None,
    bi=None,
    ci=None,
    di=None,
    *,
    n1i=None,
    n2i=None,
    x1i=None,
    x2i=None,
    t1i=None,
    t2i=None,
    measure: str = "OR",
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = True,
    correct: bool = True,
    level: float = 95.0,
    slab=None,
) -> MHResult:
    """Mantel-Haenszel fixed-effect pooling of 2x2 tables (metafor's ``rma.mh``).

    Table i has ``ai`` events and ``bi`` non-events in group 1 (``n1i``), ``ci`` and ``di`` in group 2
    (``n2i``), ``Ni = n1i + n2i``. Pooled on the raw counts:

    * OR: ``exp(beta) = sum(ai di / Ni) / sum(bi ci / Ni)``, SE by Robins, Breslow and Greenland (1986);
      with the Cochran-Mantel-Haenszel test (``CO``; ``MH`` with the ``Ni - 1`` variance, continuity
      correction 1/2 with ``correct``), and the Breslow-Day test with Tarone's correction (``BD``, ``TA``,
      df = informative tables - 1).
    * RR: ``exp(beta) = sum(ai n2i / Ni) / sum(ci n1i / Ni)``, SE by Greenland and Robins (1985).
    * RD: ``beta = sum(ai n2i / Ni - ci n1i / Ni) / sum(n1i n2i / Ni)``, SE by Sato, Greenland and Robins
      (1989).

    ``QE = sum((yi - beta)^2 / vi)`` over the study-level effects (escalc with ``add``/``to``/``drop00``),
    ``I2 = max(0, (QE - df) / QE)``, ``H2 = QE / df``.

    Parameters
    ----------
    ai, bi, ci, di : array-like of counts
        The four cells (``bi``/``di`` may be replaced by ``n1i``/``n2i``). NaN marks a missing table,
        which is left out (with a warning in ``warnings``).
    n1i, n2i : array-like, optional
        Group sizes, when ``bi``/``di`` are not given.
    x1i, x2i, t1i, t2i : array-like, optional
        Events and person-time per group, for ``measure`` "IRR" (``exp(beta) = sum(x1i t2i / Ti) /
        sum(x2i t1i / Ti)``, SE of Greenland & Robins 1985, and the Mantel-Haenszel test ``MH``) or "IRD"
        (``beta = sum((x1i t2i - x2i t1i) / Ti) / sum(t1i t2i / Ti)``, SE of Rothman et al. 2008, ch. 15).
    measure : {"OR", "RR", "RD", "IRR", "IRD"}, default "OR"
    add : float, default 0.5
        Added to the cells of the study-level effects (never to the pooled estimate).
    to : {"only0", "all", "if0all", "none"}, default "only0"
    drop00 : bool, default True
        Leave studies without events (or without non-events) in both groups out of the study effects.
    correct : bool, default True
        Continuity correction of the CMH test.
    level : float, default 95
    slab : sequence of str, optional
        Study labels (for the diagnostics).

    Returns
    -------
    MHResult

    Raises
    ------
    InputError
        Negative or non-numeric counts, mismatched lengths, unknown measure or option.
    TooFewStudiesError
        When no complete table remains.

    References
    ----------
    Mantel N, Haenszel W (1959). J Natl Cancer Inst 22:719-748. doi:10.1093/jnci/22.4.719.
    Robins J, Breslow N, Greenland S (1986). Biometrics 42:311-323. doi:10.2307/2531052.
    Greenland S, Robins JM (1985). Biometrics 41:55-68. doi:10.2307/2530643.
    Sato T, Greenland S, Robins JM (1989). Biometrics 45:1323-1324.
    Breslow NE, Day NE (1980). Statistical Methods in Cancer Research I, IARC. Tarone RE (1985).
    Biometrika 72:91-95. doi:10.1093/biomet/72.1.91.
    """
    if measure not in MH_MEASURES:
        raise InputError.invalid("measure", measure, "one of " + ", ".join(MH_MEASURES))
    _check_options(add, to, drop00, correct)
    crit = _z_crit(level)
    if measure in ("IRR", "IRD"):
        from regrow.meta._mh_rates import pool_rates

        return pool_rates(x1i, x2i, t1i, t2i, measure, add, to, drop00, correct, level, slab)
    (a, b, c, d), used, yi, vi, warnings, full = _pooling_input(
        ai, bi, ci, di, n1i, n2i, measure, add, to, drop00, warn_na=True
    )
    n1, n2 = a + b, c + d
    N = n1 + n2
    nan = float("nan")
    out: dict[str, Any] = {}
    k_pos: int | None = None
    if measure == "OR":
        P, Qv = a / N + d / N, b / N + c / N
        R_i, S_i = (a / N) * d, (b / N) * c
        R, S = float(np.sum(R_i)), float(np.sum(S_i))
        if R == 0 or S == 0:
            beta = se = nan
            warnings.append("The MH odds ratio is undefined (no informative tables).")
        else:
            beta = float(np.log(R / S))
            se = float(
                np.sqrt(
                    0.5
                    * (
                        np.sum(P * R_i) / R**2
                        + np.sum(P * S_i + Qv * R_i) / (R * S)
                        + np.sum(Qv * S_i) / S**2
                    )
                )
            )
        xt, yt = a + c, b + d
        if np.sum(xt) == 0 or np.sum(yt) == 0:
            out.update(CO=nan, COp=nan, MH=nan, MHp=nan)
        else:
            dev = (abs(float(np.sum(a - (n1 / N) * xt))) - (0.5 if correct else 0.0)) ** 2
            CO = dev / float(np.sum((n1 / N) * (n2 / N) * (xt * (yt / N))))
            MH = dev / float(np.sum((n1 / N) * (n2 / N) * (xt * (yt / (N - 1)))))
            out.update(CO=CO, COp=float(chi2_sf(CO, 1)), MH=MH, MHp=float(chi2_sf(MH, 1)))
        if np.isnan(beta):
            out.update(BD=nan, BDp=nan, TA=nan, TAp=nan)
            k_pos = 0
        else:
            psi = R / S
            if psi == 1:
                N11 = (n1 / N) * xt
            else:
                A = psi * (n1 + xt) + (n2 - xt)
                B = np.sqrt(A**2 - 4 * n1 * xt * psi * (psi - 1))
                N11 = (A - B) / (2 * (psi - 1))
            pos = (N11 > 0) & (xt > 0) & (yt > 0)
            k_pos = int(pos.sum())
            N11 = N11[pos]
            N12 = n1[pos] - N11
            N21 = xt[pos] - N11
            N22 = N11 - n1[pos] - xt[pos] + N[pos]
            var = 1.0 / (1 / N11 + 1 / N12 + 1 / N21 + 1 / N22)
            BD = max(0.0, float(np.sum((a[pos] - N11) ** 2 / var)))
            TA = max(0.0, BD - float(np.sum(a[pos] - N11)) ** 2 / float(np.sum(var)))
            if k_pos > 1:
                out.update(
                    BD=BD,
                    BDp=float(chi2_sf(BD, k_pos - 1)),
                    TA=TA,
                    TAp=float(chi2_sf(TA, k_pos - 1)),
                )
            else:
                out.update(BD=BD, BDp=nan, TA=TA, TAp=nan)
        weights = (b / N) * c
    elif measure == "RR":
        R, S = float(np.sum(a * (n2 / N))), float(np.sum(c * (n1 / N)))
        if np.sum(a) == 0 or np.sum(c) == 0:
            beta = se = nan
            warnings.append("The MH risk ratio is undefined (no events in one group).")
        else:
            beta = float(np.log(R / S))
            se = float(np.sqrt(np.sum((n1 / N) * (n2 / N) * (a + c) - (a / N) * c) / (R * S)))
        weights = (c / N) * n1
    else:
        denom = float(np.sum(n1 * (n2 / N)))
        beta = float(np.sum(a * (n2 / N) - c * (n1 / N))) / denom
        se = float(
            np.sqrt(
                (
                    beta * np.sum(c * (n1 / N) ** 2 - a * (n2 / N) ** 2 + (n1 / N) * (n2 / N) * (n2 - n1) / 2)
                    + np.sum(a * (n2 - c) / N + c * (n1 - a) / N) / 2
                )
                / denom**2
            )
        )
        weights = (n1 / N) * n2
    QE, QEp, I2, H2, k_yi = _heterogeneity(yi, vi, beta)
    total = float(np.sum(weights))
    return MHResult(
        measure=measure,
        method="MH",
        beta=beta,
        se=se,
        **_wald(beta, se, crit),
        QE=QE,
        QEp=QEp,
        I2=I2,
        H2=H2,
        k_yi=k_yi,
        k_pos=k_pos,
        weights_pct=100.0 * weights / total if total > 0 else np.full(weights.size, nan),
        wi=np.asarray(weights, float),
        correct=bool(correct),
        **_tables_used(used, yi, vi, level, add, to, drop00, warnings, full, slab),
        **out,
    )


def rma_peto(
    ai=None,
    bi=None,
    ci=None,
    di=None,
    *,
    n1i=None,
    n2i=None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = True,
    level: float = 95.0,
    slab=None,
) -> MHResult:
    """Peto's one-step pooled log odds ratio (metafor's ``rma.peto``).

    With ``E_i = xt n1i / Ni`` the expected events in group 1 (``xt = ai + ci``, ``yt = bi + di``) and
    ``V_i = xt yt (n1i / Ni) (n2i / Ni) / (Ni - 1)`` the hypergeometric variance, ``beta = sum(ai - E_i) /
    sum(V_i)``, ``SE = 1 / sqrt(sum V_i)``, and ``QE = sum((ai - E_i)^2 / V_i) - sum(ai - E_i)^2 / sum(V_i)``
    over tables with ``V_i > 0``.

    Parameters
    ----------
    ai, bi, ci, di, n1i, n2i, add, to, drop00, level, slab
        As in :func:`rma_mh`.

    Returns
    -------
    MHResult
        With ``measure="PETO"``, ``method="PETO"``; ``k_pos`` is the number of tables with ``V_i > 0``.

    Raises
    ------
    InputError
        Bad counts or options.
    EstimationError
        When one of the two outcomes never occurs in any table.

    References
    ----------
    Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Beta blockade during and after myocardial
    infarction. Prog Cardiovasc Dis 27:335-371. doi:10.1016/S0033-0620(85)80003-7.
    """
    _check_options(add, to, drop00)
    crit = _z_crit(level)
    (a, b, c, d), used, yi, vi, warnings, full = _pooling_input(
        ai, bi, ci, di, n1i, n2i, "PETO", add, to, drop00, warn_na=False
    )
    k_yi = yi.size
    n1, n2 = a + b, c + d
    N = n1 + n2
    xt, yt = a + c, b + d
    E = xt * n1 / N
    with np.errstate(divide="ignore", invalid="ignore"):
        V = xt * yt * (n1 / N) * (n2 / N) / (N - 1)
    V = np.where(np.isfinite(V), V, 0.0)
    sumV = float(np.sum(V))
    if sumV == 0:
        raise EstimationError(
            "One of the two outcomes never occurred in any table: Peto's method cannot be used."
        )
    beta = float(np.sum(a - E)) / sumV
    se = float(np.sqrt(1.0 / sumV))
    pos = V > 0
    k_pos = int(pos.sum())
    QE = max(0.0, float(np.sum((a[pos] - E[pos]) ** 2 / V[pos])) - float(np.sum(a - E)) ** 2 / sumV)
    QEp, I2, H2 = _q_test(QE, k_yi - 1) if k_pos > 1 else (1.0, 0.0, 1.0)
    return MHResult(
        measure="PETO",
        method="PETO",
        beta=beta,
        se=se,
        **_wald(beta, se, crit),
        QE=QE,
        QEp=QEp,
        I2=I2,
        H2=H2,
        k_yi=k_yi,
        k_pos=k_pos,
        weights_pct=100.0 * V / sumV,
        wi=np.asarray(V, float),
        **_tables_used(used, yi, vi, level, add, to, drop00, warnings, full, slab),
    )


@dataclass(frozen=True)
class RevmanResult:
    """RevMan-5-style random-effects analysis of 2x2 tables (see :func:`revman_mh_dl`)."""

    measure: str
    k: int
    Q_MH: float
    df: int
    tau2: float
    beta: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    I2: float
    weights_pct: np.ndarray
    level: float

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["weights_pct"] = self.weights_pct.tolist()
        return out

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame({"weight_pct": self.weights_pct})


def revman_mh_dl(
    ai=None,
    bi=None,
    ci=None,
    di=None,
    *,
    n1i=None,
    n2i=None,
    measure: str = "OR",
    level: float = 95.0,
) -> RevmanResult:
    """Random-effects pooling of 2x2 tables as RevMan 5 does it ("M-H, Random").

    DerSimonian-Laird ``tau2 = max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum w))`` with ``w = 1/vi`` and
    ``Q`` the Mantel-Haenszel-based heterogeneity statistic (``rma_mh(...).QE``), then inverse-variance
    pooling of the study effects with weights ``1/(vi + tau2)``; ``I2 = max(0, (Q - df) / Q)``. This is a
    derived analysis (not a single metafor call); R's ``meta`` gives the same with ``Q.Cochrane = TRUE``.

    Parameters
    ----------
    ai, bi, ci, di, n1i, n2i, measure, level
        As in :func:`rma_mh`.

    Returns
    -------
    RevmanResult

    Raises
    ------
    InputError, TooFewStudiesError
        As :func:`rma_mh`; fewer than 2 study-level effects.

    References
    ----------
    DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Control Clin Trials 7:177-188.
    doi:10.1016/0197-2456(86)90046-2.
    Deeks JJ, Higgins JPT (2010). Statistical algorithms in Review Manager 5.
    """
    mh = rma_mh(ai, bi, ci, di, n1i=n1i, n2i=n2i, measure=measure, level=level)
    yi, vi = mh.yi, mh.vi
    k = yi.size
    if k < 2:
        raise TooFewStudiesError(f"A random-effects analysis needs at least 2 study effects; got {k}.")
    w = 1.0 / vi
    Q = mh.QE
    tau2 = max(0.0, (Q - (k - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    wr = 1.0 / (vi + tau2)
    beta = float(np.sum(wr * yi) / np.sum(wr))
    se = float(np.sqrt(1.0 / np.sum(wr)))
    return RevmanResult(
        measure=measure,
        k=k,
        Q_MH=Q,
        df=k - 1,
        tau2=float(tau2),
        beta=beta,
        se=se,
        **_wald(beta, se, _z_crit(level)),
        I2=_i2(Q, k - 1),
        weights_pct=100.0 * wr / np.sum(wr),
        level=float(level),
    )
