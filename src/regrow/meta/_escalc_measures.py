"""Effect-size formulas of metafor 3.8-1 ``escalc``, one function per family of measures.

Each function receives the converted arguments (float arrays of equal length, NaN = missing), checks
the values that only make sense for its measures, and returns the study-level estimate ``yi``, its
sampling variance ``vi``, the unadjusted total sample size ``ni`` (metafor's ``attr(yi, "ni")``) and
masks explaining rows that cannot be computed. The formulas follow metafor's ``R/escalc.r``
(Viechtbauer 2010, doi:10.18637/jss.v036.i03) line by line, including the order of operations, so
that results agree with metafor to about machine precision.

References
----------
Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to Meta-Analysis. Wiley. Ch. 4-6.
Hedges LV (1981). Distribution theory for Glass's estimator of effect size and related estimators.
    J Educ Stat 6(2):107-128. doi:10.3102/10769986006002107
Hedges LV, Gurevitch J, Curtis PS (1999). The meta-analysis of response ratios in experimental ecology.
    Ecology 80(4):1150-1156. doi:10.1890/0012-9658(1999)080[1150:TMAORR]2.0.CO;2
Becker BJ (1988). Synthesizing standardized mean-change measures. Br J Math Stat Psychol 41:257-278.
    doi:10.1111/j.2044-8317.1988.tb00901.x
Morris SB (2008). Estimating effect sizes from pretest-posttest-control group designs.
    Organ Res Methods 11(2):364-386. doi:10.1177/1094428106291059
Freeman MF, Tukey JW (1950). Transformations related to the angular and the square root.
    Ann Math Stat 21(4):607-611. doi:10.1214/aoms/1177729756
Fisher RA (1921). On the "probable error" of a coefficient of correlation deduced from a small sample.
    Metron 1:3-32.
"""

from __future__ import annotations

import numpy as np

from ._escalc_input import (
    check_at_least,
    check_at_most,
    check_in_range,
    check_nonnegative,
    check_positive,
    row_error,
)

__all__ = ["MEASURES", "MeasureSpec", "Raw", "hedges_correction"]

from ._escalc_core import Arrays, MeasureSpec, Raw, add_cells, hedges_correction, wmean
from ._escalc_moments import MOMENT_MEASURES
from ._escalc_other import OTHER_MEASURES
from ._escalc_tables import TABLE_MEASURES


def _hyp2f1(a: float, b: float, g: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gauss's hypergeometric 2F1(a, b; g; x), NaN unless g > a + b (metafor's ``.Fcalc``)."""
    from scipy.special import hyp2f1  # only for UCOR

    g, x = np.broadcast_arrays(np.asarray(g, dtype=float), np.asarray(x, dtype=float))
    with np.errstate(invalid="ignore"):
        ok = ~np.isnan(g) & ~np.isnan(x) & (g > a + b)
    out = np.full(g.shape, np.nan)
    out[ok] = hyp2f1(a, b, g[ok], x[ok])
    return out


# ---------------------------------------------------------------------------------------------- 2x2 tables


def _two_by_two(a: Arrays, *, measure: str, add: float, to: str, drop00: bool, vtype: str) -> Raw:
    """OR, RR and RD from a 2x2 table per study (Borenstein et al. 2009, ch. 5)."""
    ai, ci = a["ai"], a["ci"]
    check_nonnegative(a, ("ai", "bi", "ci", "di", "n1i", "n2i"), "a count")
    if "n1i" in a:
        check_at_most(ai, a["n1i"], "ai", "n1i", "an event count")
    if "n2i" in a:
        check_at_most(ci, a["n2i"], "ci", "n2i", "an event count")
    bi = a["bi"] if "bi" in a else a["n1i"] - ai
    di = a["di"] if "di" in a else a["n2i"] - ci
    for arm, (x, y), names in ((1, (ai, bi), ("ai", "bi", "n1i")), (2, (ci, di), ("ci", "di", "n2i"))):
        with np.errstate(invalid="ignore"):
            empty = np.flatnonzero(x + y < 1)
        if empty.size:
            i = int(empty[0])
            label = names[2] if names[2] in a else f"{names[0]} + {names[1]}"
            raise row_error(label, i, float(x[i] + y[i]), f"a group {arm} size >= 1")

    ni_u = ai + bi + ci + di
    notes: dict[str, np.ndarray] = {}
    if drop00:
        id00 = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
        if id00.any():
            notes["dropped by drop00=True: no events (or only events) in both groups"] = id00
            ai, bi, ci, di = (np.where(id00, np.nan, x) for x in (ai, bi, ci, di))
    zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    ai, bi, ci, di = add_cells([ai, bi, ci, di], zero, add, to)
    n1i, n2i = ai + bi, ci + di
    with np.errstate(all="ignore"):
        p1i, p2i = ai / n1i, ci / n2i
        if measure == "RR":
            yi = np.log(p1i) - np.log(p2i)
            vi = 1 / ai - 1 / n1i + 1 / ci - 1 / n2i
        elif measure == "OR":
            yi = np.log(p1i / (1 - p1i)) - np.log(p2i / (1 - p2i))
            vi = 1 / ai + 1 / bi + 1 / ci + 1 / di
        else:  # RD
            yi = p1i - p2i
            if vtype == "UB":
                vi = p1i * (1 - p1i) / (n1i - 1) + p2i * (1 - p2i) / (n2i - 1)
            elif vtype == "AV":
                mp1 = np.nansum(ai) / np.nansum(n1i)
                mp2 = np.nansum(ci) / np.nansum(n2i)
                vi = mp1 * (1 - mp1) / n1i + mp2 * (1 - mp2) / n2i
            else:
                vi = p1i * (1 - p1i) / n1i + p2i * (1 - p2i) / n2i
    if to == "none" or add == 0:
        notes[f"a zero cell with add={add:g}, to={to!r} makes the {measure} infinite or undefined"] = zero
    return Raw(yi, vi, ni_u, notes)


# ------------------------------------------------------------------------------------- two-group means


def _two_means(a: Arrays, *, measure: str, add: float, to: str, drop00: bool, vtype: str) -> Raw:
    """MD, SMD (Hedges' g) and ROM from group means, SDs and sizes."""
    check_nonnegative(a, ("sd1i", "sd2i"), "a standard deviation")
    check_at_least(a, ("n1i", "n2i"), 1, "a group size")
    if measure == "ROM":
        check_positive(a, ("m1i", "m2i"), "a mean on a ratio scale (ROM needs positive means)")
    m1i, m2i, sd1i, sd2i, n1i, n2i = (a[k] for k in ("m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i"))
    if measure == "SMD" and ("di" in a or "ti" in a):
        # metafor: a given SMD di (or a t statistic ti, di = ti sqrt(1/n1i + 1/n2i)) replaces the means
        di_given = a["di"] if "di" in a else np.full(n1i.shape, np.nan)
        if "ti" in a:
            di_given = np.where(np.isnan(di_given), a["ti"] * np.sqrt(1 / n1i + 1 / n2i), di_given)
        has = ~np.isnan(di_given)
        m1i, m2i = np.where(has, di_given, m1i), np.where(has, 0.0, m2i)
        sd1i, sd2i = np.where(has, 1.0, sd1i), np.where(has, 1.0, sd2i)
    ni = n1i + n2i
    mi = ni - 2
    notes: dict[str, np.ndarray] = {}
    with np.errstate(all="ignore"):
        sdpi = np.sqrt(((n1i - 1) * sd1i**2 + (n2i - 1) * sd2i**2) / mi)
        if measure == "MD":
            yi = m1i - m2i
            # UB and LS are the same estimator for MD; HO assumes equal variances
            vi = sdpi**2 * (1 / n1i + 1 / n2i) if vtype == "HO" else sd1i**2 / n1i + sd2i**2 / n2i
        elif measure == "SMD":
            cmi = hedges_correction(mi)
            yi = cmi * ((m1i - m2i) / sdpi)
            if vtype == "UB":
                vi = 1 / n1i + 1 / n2i + (1 - (mi - 2) / (mi * cmi**2)) * yi**2
            elif vtype == "AV":
                vi = 1 / n1i + 1 / n2i + wmean(yi, ni) ** 2 / (2 * ni)
            elif vtype == "LS2":  # Borenstein et al. (2009), eq. 4.24
                vi = cmi**2 * (1 / n1i + 1 / n2i + ((m1i - m2i) / sdpi) ** 2 / (2 * ni))
            else:
                vi = 1 / n1i + 1 / n2i + yi**2 / (2 * ni)
            notes["n1i + n2i - 2 <= 1: the pooled SD and Hedges' correction need n1i + n2i >= 4"] = mi <= 1
            notes["both SDs are 0: the standardised difference is undefined"] = sdpi == 0
        else:  # ROM
            yi = np.log(m1i / m2i)
            if vtype == "HO":
                vi = sdpi**2 / (n1i * m1i**2) + sdpi**2 / (n2i * m2i**2)
            elif vtype == "AV":
                vi = wmean(sd1i / m1i, n1i) ** 2 / n1i + wmean(sd2i / m2i, n2i) ** 2 / n2i
            elif vtype == "AVHO":
                cv1, cv2 = sd1i / m1i, sd2i / m2i
                ok = ~(np.isnan(n1i) | np.isnan(n2i) | np.isnan(cv1) | np.isnan(cv2))
                mnwcvi = (np.sum(n1i[ok] * cv1[ok]) + np.sum(n2i[ok] * cv2[ok])) / np.sum((n1i + n2i)[ok])
                vi = mnwcvi**2 * (1 / n1i + 1 / n2i)
            else:
                vi = sd1i**2 / (n1i * m1i**2) + sd2i**2 / (n2i * m2i**2)
    return Raw(yi, vi, ni, notes)


# ---------------------------------------------------------------------------------------- correlations


def _correlation(a: Arrays, *, measure: str, add: float, to: str, drop00: bool, vtype: str) -> Raw:
    """COR (raw r) and ZCOR (Fisher's r-to-z, variance 1/(ni-3))."""
    check_in_range(a, "ri", -1.0, 1.0, "a correlation")
    check_at_least(a, ("ni",), 1, "a sample size")
    ri, ni = a["ri"], a["ni"]
    with np.errstate(all="ignore"):
        if measure == "ZCOR":
            yi = 0.5 * np.log((1 + ri) / (1 - ri))
            vi = 1 / (ni - 3)
        else:  # COR, UCOR
            yi = ri.copy() if measure == "COR" else ri * _hyp2f1(0.5, 0.5, (ni - 2) / 2, 1 - ri**2)
            if vtype == "UB":
                vi = yi**2 - (1 - (ni - 3) / (ni - 2) * (1 - ri**2) * _hyp2f1(1.0, 1.0, ni / 2, 1 - ri**2))
            elif vtype == "AV":
                vi = (1 - wmean(yi, ni) ** 2) ** 2 / (ni - 1)
            else:
                vi = (1 - yi**2) ** 2 / (ni - 1)
    small = ni <= 3
    vi = np.where(small, np.nan, vi)
    notes = {"ni <= 3: metafor does not estimate the sampling variance": small}
    if measure == "UCOR":
        notes["ni <= 4: the bias-corrected correlation needs ni > 4"] = ni <= 4
    if measure == "ZCOR":
        notes["ri = -1 or 1: Fisher's z is infinite"] = np.abs(ri) == 1
    return Raw(yi, vi, ni.copy(), notes)


# ---------------------------------------------------------------------------------- single proportions


def _proportion(a: Arrays, *, measure: str, add: float, to: str, drop00: bool, vtype: str) -> Raw:
    """PR, PLO (logit) and PFT (Freeman-Tukey double arcsine) from events xi out of ni."""
    xi = a["xi"]
    check_nonnegative(a, ("xi", "mi"), "a count")
    if "ni" in a and "mi" not in a:
        check_at_least(a, ("ni",), 1, "a sample size")
        check_at_most(xi, a["ni"], "xi", "ni", "an event count (a proportion in [0, 1])")
    mi = a["mi"] if "mi" in a else a["ni"] - xi
    with np.errstate(invalid="ignore"):
        empty = np.flatnonzero(xi + mi < 1)
    if empty.size:
        i = int(empty[0])
        raise row_error("xi + mi", i, float(xi[i] + mi[i]), "a sample size >= 1")
    ni_u = xi + mi
    zero = (xi == 0) | (mi == 0)
    xi, mi = add_cells([xi, mi], zero, add, to)
    ni = xi + mi
    notes: dict[str, np.ndarray] = {}
    with np.errstate(all="ignore"):
        pri = xi / ni
        if measure == "PR":
            yi = pri
            if vtype == "UB":
                vi = pri * (1 - pri) / (ni - 1)
            elif vtype == "AV":
                mp = np.nansum(xi) / np.nansum(ni)
                vi = mp * (1 - mp) / ni
            else:
                vi = pri * (1 - pri) / ni
        elif measure == "PLO":
            yi = np.log(pri / (1 - pri))
            if vtype == "AV":
                mp = np.nansum(xi) / np.nansum(ni)
                vi = 1 / (mp * ni) + 1 / ((1 - mp) * ni)
            else:
                vi = 1 / xi + 1 / mi
            if to == "none" or add == 0:
                notes[f"xi = 0 or xi = ni with add={add:g}, to={to!r}: the logit is infinite"] = zero
        elif measure == "PLN":
            yi = np.log(pri)
            if vtype == "AV":
                mp = np.nansum(xi) / np.nansum(ni)
                vi = 1 / (mp * ni) - 1 / ni
            else:
                vi = 1 / xi - 1 / ni
        elif measure == "PAS":
            yi = np.arcsin(np.sqrt(pri))
            vi = 1 / (4 * ni)
        else:  # PFT
            yi = 0.5 * (np.arcsin(np.sqrt(xi / (ni + 1))) + np.arcsin(np.sqrt((xi + 1) / (ni + 1))))
            vi = 1 / (4 * ni + 2)
    return Raw(yi, vi, ni_u, notes)


# ---------------------------------------------------------------------------------------- person-time


def _rates(a: Arrays, *, measure: str, add: float, to: str, drop00: bool, vtype: str) -> Raw:
    """IRR (log rate ratio), IRD (rate difference), IR and IRLN (one group) from events and person-time."""
    notes: dict[str, np.ndarray] = {}
    if measure in ("IRR", "IRD"):
        check_nonnegative(a, ("x1i", "x2i"), "an event count")
        check_positive(a, ("t1i", "t2i"), "a person-time")
        x1i, x2i, t1i, t2i = a["x1i"], a["x2i"], a["t1i"], a["t2i"]
        ni_u = t1i + t2i
        if drop00:
            id00 = (x1i == 0) & (x2i == 0)
            if id00.any():
                notes["dropped by drop00=True: no events in both groups"] = id00
                x1i, x2i = np.where(id00, np.nan, x1i), np.where(id00, np.nan, x2i)
        zero = (x1i == 0) | (x2i == 0)
        x1i, x2i = add_cells([x1i, x2i], zero, add, to)
        with np.errstate(all="ignore"):
            ir1i, ir2i = x1i / t1i, x2i / t2i
            if measure == "IRR":
                yi = np.log(ir1i) - np.log(ir2i)
                vi = 1 / x1i + 1 / x2i
            else:
                yi = ir1i - ir2i
                vi = ir1i / t1i + ir2i / t2i
    else:
        check_nonnegative(a, ("xi",), "an event count")
        check_positive(a, ("ti",), "a person-time")
        xi, ti = a["xi"], a["ti"]
        ni_u = ti.copy()
        zero = xi == 0
        (xi,) = add_cells([xi], zero, add, to)
        with np.errstate(all="ignore"):
            iri = xi / ti
            if measure == "IR":
                yi, vi = iri, iri / ti
            elif measure == "IRLN":
                yi, vi = np.log(iri), 1 / xi
            elif measure == "IRS":
                yi, vi = np.sqrt(iri), 1 / (4 * ti)
            else:  # IRFT
                yi, vi = 0.5 * (np.sqrt(iri) + np.sqrt(iri + 1 / ti)), 1 / (4 * ti)
    if measure in ("IRR", "IRLN") and (to == "none" or add == 0):
        notes[f"zero events with add={add:g}, to={to!r}: the log rate is infinite"] = zero
    return Raw(yi, vi, ni_u, notes)


# ---------------------------------------------------------------------------- paired (pre-post) designs


def _mean_change(a: Arrays, *, measure: str, add: float, to: str, drop00: bool, vtype: str) -> Raw:
    """MC, SMCC and SMCR for one group measured twice (occasion 1: m1i/sd1i, occasion 2: m2i/sd2i).

    ``yi`` is built from ``m1i - m2i``. SMCC standardises by the SD of the change scores
    ``sqrt(sd1i^2 + sd2i^2 - 2 ri sd1i sd2i)`` (Gibbons et al. 1993); SMCR standardises by ``sd1i``,
    the raw-score SD of the first occasion (Becker 1988; Morris 2008), and does not need ``sd2i``.
    """
    check_nonnegative(a, ("sd1i", "sd2i"), "a standard deviation")
    check_in_range(a, "ri", -1.0, 1.0, "a correlation")
    check_at_least(a, ("ni",), 1, "a sample size")
    m1i, m2i, sd1i, ni, ri = a["m1i"], a["m2i"], a["sd1i"], a["ni"], a["ri"]
    mi = ni - 1
    notes: dict[str, np.ndarray] = {}
    with np.errstate(all="ignore"):
        if measure == "MC":
            sd2i = a["sd2i"]
            yi = m1i - m2i
            vi = (sd1i**2 + sd2i**2 - 2 * ri * sd1i * sd2i) / ni
        elif measure == "SMCC":
            sd2i = a["sd2i"]
            cmi = hedges_correction(mi)
            sddi = np.sqrt(sd1i**2 + sd2i**2 - 2 * ri * sd1i * sd2i)
            yi = cmi * (m1i - m2i) / sddi
            if vtype == "LS2":
                vi = cmi**2 * (1 / ni + ((m1i - m2i) / sddi) ** 2 / (2 * ni))
            else:
                vi = 1 / ni + yi**2 / (2 * ni)
            notes["SD of the change scores is 0: the standardised change is undefined"] = sddi == 0
        else:  # SMCR
            cmi = hedges_correction(mi)
            yi = cmi * (m1i - m2i) / sd1i
            if vtype == "LS2":
                vi = cmi**2 * (2 * (1 - ri) / ni + ((m1i - m2i) / sd1i) ** 2 / (2 * ni))
            else:
                vi = 2 * (1 - ri) / ni + yi**2 / (2 * ni)
            notes["sd1i is 0: the standardised change is undefined"] = sd1i == 0
        if measure != "MC":
            notes["ni <= 2: Hedges' correction needs ni - 1 > 1"] = mi <= 1
    return Raw(yi, vi, ni.copy(), notes)


_TWO_BY_TWO = (("ai",), ("bi", "n1i"), ("ci",), ("di", "n2i"))
_MEANS = (("m1i",), ("m2i",), ("sd1i",), ("sd2i",), ("n1i",), ("n2i",))
_PROPORTION = (("xi",), ("mi", "ni"))
_CHANGE = (("m1i",), ("m2i",), ("sd1i",), ("sd2i",), ("ni",), ("ri",))

#: Every supported measure, keyed by metafor's name.
MEASURES: dict[str, MeasureSpec] = {
    spec.name: spec
    for spec in (
        MeasureSpec("OR", "log odds ratio", _TWO_BY_TWO, ("LS",), _two_by_two, uses_add=True),
        MeasureSpec("RR", "log risk ratio", _TWO_BY_TWO, ("LS",), _two_by_two, uses_add=True),
        MeasureSpec("RD", "risk difference", _TWO_BY_TWO, ("LS", "UB", "AV"), _two_by_two, uses_add=True),
        MeasureSpec("MD", "raw mean difference", _MEANS, ("LS", "UB", "HO"), _two_means),
        MeasureSpec(
            "SMD",
            "standardised mean difference (Hedges' g)",
            _MEANS,
            ("LS", "UB", "AV", "LS2"),
            _two_means,
            optional=("di", "ti"),
        ),
        MeasureSpec("ROM", "log ratio of means", _MEANS, ("LS", "HO", "AV", "AVHO"), _two_means),
        MeasureSpec("COR", "raw correlation", (("ri",), ("ni",)), ("LS", "AV"), _correlation),
        MeasureSpec(
            "UCOR", "bias-corrected correlation", (("ri",), ("ni",)), ("LS", "UB", "AV"), _correlation
        ),
        MeasureSpec(
            "ZCOR", "Fisher r-to-z transformed correlation", (("ri",), ("ni",)), ("LS",), _correlation
        ),
        MeasureSpec("PR", "raw proportion", _PROPORTION, ("LS", "UB", "AV"), _proportion, uses_add=True),
        MeasureSpec(
            "PLO", "logit-transformed proportion", _PROPORTION, ("LS", "AV"), _proportion, uses_add=True
        ),
        MeasureSpec(
            "PFT",
            "Freeman-Tukey double arcsine proportion",
            _PROPORTION,
            ("LS",),
            _proportion,
            default_add=0.0,
            uses_add=True,
        ),
        MeasureSpec(
            "IRR",
            "log incidence rate ratio",
            (("x1i",), ("x2i",), ("t1i",), ("t2i",)),
            ("LS",),
            _rates,
            uses_add=True,
        ),
        MeasureSpec(
            "IRD",
            "incidence rate difference",
            (("x1i",), ("x2i",), ("t1i",), ("t2i",)),
            ("LS",),
            _rates,
            uses_add=True,
        ),
        MeasureSpec("IR", "raw incidence rate", (("xi",), ("ti",)), ("LS",), _rates, uses_add=True),
        MeasureSpec("IRLN", "log incidence rate", (("xi",), ("ti",)), ("LS",), _rates, uses_add=True),
        MeasureSpec(
            "IRS",
            "square-root incidence rate",
            (("xi",), ("ti",)),
            ("LS",),
            _rates,
            default_add=0.0,
            uses_add=True,
        ),
        MeasureSpec(
            "IRFT",
            "Freeman-Tukey incidence rate",
            (("xi",), ("ti",)),
            ("LS",),
            _rates,
            default_add=0.0,
            uses_add=True,
        ),
        MeasureSpec("PLN", "log proportion", _PROPORTION, ("LS", "AV"), _proportion, uses_add=True),
        MeasureSpec(
            "PAS",
            "arcsine square-root proportion",
            _PROPORTION,
            ("LS",),
            _proportion,
            default_add=0.0,
            uses_add=True,
        ),
        MeasureSpec("MC", "raw mean change (paired)", _CHANGE, ("LS",), _mean_change),
        MeasureSpec(
            "SMCC", "standardised mean change, change-score SD (paired)", _CHANGE, ("LS", "LS2"), _mean_change
        ),
        MeasureSpec(
            "SMCR",
            "standardised mean change, raw-score SD of occasion 1 (paired)",
            (("m1i",), ("m2i",), ("sd1i",), ("ni",), ("ri",)),
            ("LS", "LS2"),
            _mean_change,
        ),
        *TABLE_MEASURES,
        *MOMENT_MEASURES,
        *OTHER_MEASURES,
    )
}
