"""escalc measures for partial correlations, Cronbach's alpha and relative excess heterozygosity, following
metafor 3.8-1 ``R/escalc.r``.

* ``PCOR`` partial correlation from a t statistic ``ti`` of a regression with ``mi`` predictors and ``ni``
  observations; ``ZPCOR`` its Fisher z; ``SPCOR`` the semi-partial correlation (needs the model's ``r2i``).
* ``ARAW`` Cronbach's alpha ``ai`` of ``mi`` items from ``ni`` persons; ``AHW`` the Hakstian-Whalen and
  ``ABT`` the Bonett transformation of it.
* ``REH`` relative excess heterozygosity from genotype counts (``ai`` homozygous, ``bi`` heterozygous,
  ``ci`` the other homozygous).

References
----------
Aloe AM, Thompson CG (2013). The synthesis of partial effect sizes. J Soc Soc Work Res 4:390-405.
    doi:10.5243/jsswr.2013.24
Hakstian AR, Whalen TE (1976). Psychometrika 41:219-231. doi:10.1007/BF02291840
Bonett DG (2002). J Educ Behav Stat 27:335-340. doi:10.3102/10769986027004335
Bonett DG (2010). Statistical inference for generalized Yule coefficients in 2x2 contingency tables and
    relative excess heterozygosity (Thakkinstian et al. 2005, doi:10.1093/aje/kwi030).
"""

from __future__ import annotations

import numpy as np

from ._escalc_core import Arrays, MeasureSpec, Raw
from ._escalc_input import check_at_least, check_in_range, check_nonnegative, check_positive, row_error

__all__ = ["OTHER_MEASURES"]


def _partial(a: Arrays, *, measure: str, add: float, to: str, drop00: bool, vtype: str) -> Raw:
    check_positive(a, ("ni",), "a sample size")
    check_nonnegative(a, ("mi",), "a number of predictors")
    if measure == "SPCOR":
        check_in_range(a, "r2i", 0.0, 1.0, "an R^2 value")
    ti, ni, mi = a["ti"], a["ni"], a["mi"]
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(ni - mi - 1 <= 0)
    if bad.size:
        i = int(bad[0])
        raise row_error("mi", i, float(mi[i]), f"fewer than ni - 1 = {ni[i] - 1:g} predictors (df > 0)")
    df = ni - mi - 1
    with np.errstate(all="ignore"):
        if measure == "SPCOR":
            r2i = a["r2i"]
            yi = ti * np.sqrt(1 - r2i) / np.sqrt(df)
            r = _av(yi, ni) if vtype == "AV" else yi
            vi = (r2i**2 - 2 * r2i + (r2i - r**2) + 1 - (r2i - r**2) ** 2) / ni
        else:
            yi = ti / np.sqrt(ti**2 + df)
            if measure == "ZPCOR":
                yi = 0.5 * np.log((1 + yi) / (1 - yi))
                vi = 1 / df
            else:
                r = _av(yi, ni) if vtype == "AV" else yi
                vi = (1 - r**2) ** 2 / df
    return Raw(yi, vi, ni.copy(), {})


def _av(yi: np.ndarray, ni: np.ndarray) -> float:
    ok = ~(np.isnan(yi) | np.isnan(ni))
    return float(np.sum(yi[ok] * ni[ok]) / np.sum(ni[ok]))


def _alpha(a: Arrays, *, measure: str, add: float, to: str, drop00: bool, vtype: str) -> Raw:
    ai, mi, ni = a["ai"], a["mi"], a["ni"]
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(ai > 1)
    if bad.size:
        raise row_error("ai", int(bad[0]), float(ai[bad[0]]), "an alpha value <= 1")
    check_at_least(a, ("mi",), 2, "a number of items")
    check_positive(a, ("ni",), "a sample size")
    with np.errstate(all="ignore"):
        if measure == "ARAW":
            yi = ai.copy()
            vi = 2 * mi * (1 - ai) ** 2 / ((mi - 1) * (ni - 2))
        elif measure == "AHW":
            yi = 1 - np.cbrt(1 - ai)
            vi = 18 * mi * (ni - 1) * np.cbrt(1 - ai) ** 2 / ((mi - 1) * (9 * ni - 11) ** 2)
        else:  # ABT
            yi = -np.log(1 - ai)
            vi = 2 * mi / ((mi - 1) * (ni - 2))
    return Raw(yi, vi, ni.copy(), {})


def _reh(a: Arrays, *, measure: str, add: float, to: str, drop00: bool, vtype: str) -> Raw:
    check_nonnegative(a, ("ai", "bi", "ci"), "a group size")
    ai, bi, ci = a["ai"], a["bi"], a["ci"]
    ni = ai + bi + ci
    with np.errstate(all="ignore"):
        p0i, p1i, p2i = ai / ni, bi / ni, ci / ni
        yi = np.log(p1i) - np.log(2 * np.sqrt(p0i * p2i))
        vi = ((1 - p1i) / (4 * p0i * p2i) + 1 / p1i) / ni
    return Raw(yi, vi, ni, {})


_PART = (("ti",), ("ni",), ("mi",))
_ALPHA = (("ai",), ("mi",), ("ni",))

OTHER_MEASURES: tuple[MeasureSpec, ...] = (
    MeasureSpec("PCOR", "partial correlation", _PART, ("LS", "AV"), _partial),
    MeasureSpec("ZPCOR", "Fisher z of a partial correlation", _PART, ("LS",), _partial),
    MeasureSpec("SPCOR", "semi-partial correlation", (*_PART, ("r2i",)), ("LS", "AV"), _partial),
    MeasureSpec("ARAW", "Cronbach's alpha", _ALPHA, ("LS",), _alpha),
    MeasureSpec("AHW", "Cronbach's alpha, Hakstian-Whalen transformation", _ALPHA, ("LS",), _alpha),
    MeasureSpec("ABT", "Cronbach's alpha, Bonett transformation", _ALPHA, ("LS",), _alpha),
    MeasureSpec("REH", "relative excess heterozygosity", (("ai",), ("bi",), ("ci",)), ("LS",), _reh),
)
