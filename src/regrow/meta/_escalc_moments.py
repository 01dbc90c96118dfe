"""escalc measures from means and SDs beyond MD/SMD/ROM, following metafor 3.8-1 ``R/escalc.r``.

* Two groups: ``SMDH`` (SMD with heteroscedastic SDs, Bonett 2009), ``SMD1``/``SMD1H`` (standardised by
  group 2's SD), ``RPB``/``RBIS`` (point-biserial and biserial correlations), ``D2OR``/``D2ORL``/``D2ORN``
  (SMD to log odds ratio), ``CVR`` (log ratio of coefficients of variation) and ``VR`` (log ratio of SDs).
* One group: ``MN`` mean, ``MNLN`` log mean, ``CVLN`` log coefficient of variation, ``SDLN`` log SD,
  ``SMN`` standardised mean.
* One group measured twice (``ri`` the correlation): ``SMCRH`` (raw-score standardisation, heteroscedastic),
  ``ROMC`` (log ratio of means), ``CVRC`` and ``VRC``.

References
----------
Bonett DG (2009). Meta-analytic interval estimation for standardized and unstandardized mean differences.
    Psychol Methods 14:225-238. doi:10.1037/a0016619
Nakagawa S et al. (2015). Meta-analysis of variation. Methods Ecol Evol 6:143-152. doi:10.1111/2041-210X.12309
Jacobs P, Viechtbauer W (2017). Estimation of the biserial correlation and its sampling variance for use in
    meta-analysis. Res Synth Methods 8:161-180. doi:10.1002/jrsm.1218
Hasselblad V, Hedges LV (1995). Psychol Bull 117:167-178. doi:10.1037/0033-2909.117.1.167 (D2OR)
Lajeunesse MJ (2011). Ecology 92:2049-2055. doi:10.1890/11-0423.1 (ROMC)
"""

from __future__ import annotations

import math

import numpy as np

from ._escalc_core import Arrays, MeasureSpec, Raw, hedges_correction
from ._escalc_input import check_at_least, check_in_range, check_nonnegative, check_positive

__all__ = ["MOMENT_MEASURES"]

_PI = math.pi


def _two_groups(a: Arrays, *, measure: str, add: float, to: str, drop00: bool, vtype: str) -> Raw:
    check_nonnegative(a, ("sd1i", "sd2i"), "a standard deviation")
    check_positive(a, ("n1i", "n2i"), "a group size")
    n1i, n2i, sd2i = a["n1i"], a["n2i"], a["sd2i"]
    m1i, m2i, sd1i = a.get("m1i"), a.get("m2i"), a.get("sd1i")
    ni = n1i + n2i
    with np.errstate(all="ignore"):
        if measure in ("SMD1", "SMD1H"):
            mi, sdpi, npi = n2i - 1, sd2i, n2i
        else:
            mi = ni - 2
            sdpi = np.sqrt(((n1i - 1) * sd1i**2 + (n2i - 1) * sd2i**2) / mi)
            npi = ni
        di = (m1i - m2i) / sdpi if m1i is not None else None
        if measure == "SMD1":
            cmi = hedges_correction(mi)
            yi = cmi * di
            if vtype == "UB":
                vi = 1 / n1i + 1 / n2i + (1 - (mi - 2) / (mi * cmi**2)) * yi**2
            elif vtype == "AV":
                ok = ~(np.isnan(yi) | np.isnan(ni))
                mnwyi = np.sum(yi[ok] * ni[ok]) / np.sum(ni[ok])
                vi = 1 / n1i + 1 / n2i + mnwyi**2 / (2 * npi)
            elif vtype == "LS2":
                vi = cmi**2 * (1 / n1i + 1 / n2i + di**2 / (2 * npi))
            else:
                vi = 1 / n1i + 1 / n2i + yi**2 / (2 * npi)
        elif measure == "SMDH":
            cmi = hedges_correction(mi)
            si = np.sqrt((sd1i**2 + sd2i**2) / 2)
            yi = cmi * (m1i - m2i) / si
            if vtype == "LS2":
                s2 = sd1i**2 + sd2i**2
                vi = (
                    yi**2 * sd1i**2 / (2 * n1i * s2**2)
                    + yi**2 * sd2i**2 / (2 * n2i * s2**2)
                    + 2 * sd1i**2 / (n1i * s2)
                    + 2 * sd2i**2 / (n2i * s2)
                )
            else:
                vi = yi**2 * (sd1i**4 / (n1i - 1) + sd2i**4 / (n2i - 1)) / (2 * (sd1i**2 + sd2i**2) ** 2) + (
                    sd1i**2 / (n1i - 1) + sd2i**2 / (n2i - 1)
                ) / ((sd1i**2 + sd2i**2) / 2)
                vi = cmi**2 * vi
        elif measure == "SMD1H":
            cmi = hedges_correction(mi)
            yi = cmi * di
            vi = (sd1i**2 / sd2i**2) / n1i + 1 / n2i + yi**2 / (2 * n2i)
        elif measure in ("RPB", "RBIS"):
            hi = mi / n1i + mi / n2i
            yi = di / np.sqrt(di**2 + hi)
            if measure == "RPB":
                if vtype == "CS":
                    vi = (1 - yi**2) ** 2 * (ni * yi**2 / (4 * n1i * n2i) + (2 - 3 * yi**2) / (2 * ni))
                else:
                    vi = hi**2 / (hi + di**2) ** 3 * (1 / n1i + 1 / n2i + di**2 / (2 * ni))
            else:
                from regrow.meta._dist import norm_isf, norm_pdf

                p1i, p2i = n1i / ni, n2i / ni
                zi = norm_isf(p1i)
                fzi = norm_pdf(zi)
                yi = np.sqrt(p1i * p2i) / fzi * yi
                yt = np.where(np.abs(yi) > 1, np.sign(yi), yi)
                vi = (
                    1
                    / (ni - 1)
                    * (
                        p1i * p2i / fzi**2
                        - (1.5 + (1 - p1i * zi / fzi) * (1 + p2i * zi / fzi)) * yt**2
                        + yt**4
                    )
                )
        elif measure in ("D2OR", "D2ORL"):
            yi = _PI / math.sqrt(3) * di
            vi = _PI**2 / 3 * (1 / n1i + 1 / n2i + di**2 / (2 * ni))
        elif measure == "D2ORN":
            yi = 1.65 * di
            vi = 1.65**2 * (1 / n1i + 1 / n2i + di**2 / (2 * ni))
        elif measure == "CVR":
            yi = np.log(sd1i / m1i) + 1 / (2 * (n1i - 1)) - np.log(sd2i / m2i) - 1 / (2 * (n2i - 1))
            vi = (
                1 / (2 * (n1i - 1))
                + sd1i**2 / (n1i * m1i**2)
                + 1 / (2 * (n2i - 1))
                + sd2i**2 / (n2i * m2i**2)
            )
        else:  # VR
            yi = np.log(sd1i / sd2i) + 1 / (2 * (n1i - 1)) - 1 / (2 * (n2i - 1))
            vi = 1 / (2 * (n1i - 1)) + 1 / (2 * (n2i - 1))
    return Raw(yi, vi, ni, {})


def _one_group(a: Arrays, *, measure: str, add: float, to: str, drop00: bool, vtype: str) -> Raw:
    check_nonnegative(a, ("sdi",), "a standard deviation")
    check_positive(a, ("ni",), "a sample size")
    if measure in ("MNLN", "CVLN"):
        check_nonnegative(a, ("mi",), "a mean (MNLN and CVLN need means >= 0)")
    sdi, ni = a["sdi"], a["ni"]
    mi = a.get("mi")
    with np.errstate(all="ignore"):
        if measure == "MN":
            yi, vi = mi.copy(), sdi**2 / ni
        elif measure == "MNLN":
            yi, vi = np.log(mi), sdi**2 / (ni * mi**2)
        elif measure == "CVLN":
            yi = np.log(sdi / mi) + 1 / (2 * (ni - 1))
            vi = 1 / (2 * (ni - 1)) + sdi**2 / (ni * mi**2)
        elif measure == "SDLN":
            yi, vi = np.log(sdi) + 1 / (2 * (ni - 1)), 1 / (2 * (ni - 1))
        else:  # SMN
            cmi = hedges_correction(ni - 1)
            yi = cmi * mi / sdi
            vi = 1 / ni + yi**2 / (2 * ni)
    return Raw(yi, vi, ni.copy(), {})


def _change(a: Arrays, *, measure: str, add: float, to: str, drop00: bool, vtype: str) -> Raw:
    check_nonnegative(a, ("sd1i", "sd2i"), "a standard deviation")
    check_in_range(a, "ri", -1.0, 1.0, "a correlation")
    check_at_least(a, ("ni",), 1, "a sample size")
    sd1i, sd2i, ni, ri = a["sd1i"], a["sd2i"], a["ni"], a["ri"]
    m1i, m2i = a.get("m1i"), a.get("m2i")
    with np.errstate(all="ignore"):
        if measure == "SMCRH":
            cmi = hedges_correction(ni - 1)
            vardi = sd1i**2 + sd2i**2 - 2 * ri * sd1i * sd2i
            yi = cmi * (m1i - m2i) / sd1i
            vi = cmi**2 * (vardi / (sd1i**2 * (ni - 1)) + yi**2 / (2 * (ni - 1)))
        elif measure == "ROMC":
            yi = np.log(m1i / m2i)
            vi = sd1i**2 / (ni * m1i**2) + sd2i**2 / (ni * m2i**2) - 2 * ri * sd1i * sd2i / (m1i * m2i * ni)
        elif measure == "CVRC":
            yi = np.log(sd1i / m1i) - np.log(sd2i / m2i)
            vi = (1 - ri**2) / (ni - 1) + (
                m1i**2 * sd2i**2 + m2i**2 * sd1i**2 - 2 * m1i * m2i * ri * sd1i * sd2i
            ) / (m1i**2 * m2i**2 * ni)
        else:  # VRC
            yi = np.log(sd1i / sd2i)
            vi = (1 - ri**2) / (ni - 1)
    return Raw(yi, vi, ni.copy(), {})


_MEANS = (("m1i",), ("m2i",), ("sd1i",), ("sd2i",), ("n1i",), ("n2i",))
_ONE = (("mi",), ("sdi",), ("ni",))
_CHANGE = (("m1i",), ("m2i",), ("sd1i",), ("sd2i",), ("ni",), ("ri",))

MOMENT_MEASURES: tuple[MeasureSpec, ...] = (
    MeasureSpec(
        "SMDH", "standardised mean difference, heteroscedastic SDs", _MEANS, ("LS", "LS2"), _two_groups
    ),
    MeasureSpec(
        "SMD1",
        "standardised mean difference, SD of group 2",
        (("m1i",), ("m2i",), ("sd2i",), ("n1i",), ("n2i",)),
        ("LS", "UB", "LS2", "AV"),
        _two_groups,
    ),
    MeasureSpec(
        "SMD1H", "standardised mean difference, SD of group 2, heteroscedastic", _MEANS, ("LS",), _two_groups
    ),
    MeasureSpec("RPB", "point-biserial correlation", _MEANS, ("LS", "ST", "CS"), _two_groups),
    MeasureSpec("RBIS", "biserial correlation", _MEANS, ("LS",), _two_groups),
    MeasureSpec("D2OR", "SMD transformed to a log odds ratio (logistic)", _MEANS, ("LS",), _two_groups),
    MeasureSpec("D2ORL", "SMD transformed to a log odds ratio (logistic)", _MEANS, ("LS",), _two_groups),
    MeasureSpec(
        "D2ORN", "SMD transformed to a log odds ratio (normal, Cox & Snell)", _MEANS, ("LS",), _two_groups
    ),
    MeasureSpec("CVR", "log ratio of coefficients of variation", _MEANS, ("LS",), _two_groups),
    MeasureSpec(
        "VR",
        "log ratio of SDs (variability ratio)",
        (("sd1i",), ("sd2i",), ("n1i",), ("n2i",)),
        ("LS",),
        _two_groups,
    ),
    MeasureSpec("MN", "raw mean", _ONE, ("LS",), _one_group),
    MeasureSpec("MNLN", "log mean", _ONE, ("LS",), _one_group),
    MeasureSpec("CVLN", "log coefficient of variation", _ONE, ("LS",), _one_group),
    MeasureSpec("SDLN", "log standard deviation", (("sdi",), ("ni",)), ("LS",), _one_group),
    MeasureSpec("SMN", "standardised mean", _ONE, ("LS",), _one_group),
    MeasureSpec(
        "SMCRH", "standardised mean change, raw-score SD, heteroscedastic (paired)", _CHANGE, ("LS",), _change
    ),
    MeasureSpec("ROMC", "log ratio of means (paired)", _CHANGE, ("LS",), _change),
    MeasureSpec("CVRC", "log ratio of coefficients of variation (paired)", _CHANGE, ("LS",), _change),
    MeasureSpec(
        "VRC", "log ratio of SDs (paired)", (("sd1i",), ("sd2i",), ("ni",), ("ri",)), ("LS",), _change
    ),
)
