"""escalc measures from 2x2 tables beyond OR/RR/RD, matched-pairs tables, and person-time differences,
following metafor 3.8-1 ``R/escalc.r`` line by line.

* ``PETO`` Peto's log odds ratio; ``AS`` arcsine square-root risk difference; ``PHI`` the phi
  coefficient (``vtype`` ST stratified, LS/CS cross-sectional, Yule 1912); ``YUQ``/``YUY`` Yule's Q and Y;
  ``RTET`` the tetrachoric correlation (maximum likelihood); ``PBIT`` the probit transformation to an
  SMD; ``OR2D``/``OR2DL`` (logistic) and ``OR2DN`` (normal, Cox & Snell) log OR to SMD.
* Matched pairs (``ai`` both events, ``bi``/``ci`` discordant, ``di`` neither): ``MPRD``, ``MPRR``,
  ``MPOR``, ``MPORC`` (conditional OR), ``MPPETO``, and ``MPORM`` (marginal OR from two groups' tables with
  the correlation ``ri`` of the paired outcomes).
* ``IRSD`` square-root transformed incidence rate difference.

References
----------
Yule GU (1912). On the methods of measuring association between two attributes. J R Stat Soc 75:579-652.
Sanchez-Meca J, Marin-Martinez F, Chacon-Moscoso S (2003). Psychol Methods 8:448-467.
    doi:10.1037/1082-989X.8.4.448 (PBIT, OR2D)
Zou GY (2007). One relative risk versus two odds ratios. Stat Med 26:2519-2530. doi:10.1002/sim.2723
Yusuf S et al. (1985). Prog Cardiovasc Dis 27:335-371. doi:10.1016/S0033-0620(85)80003-7 (Peto)
Elbourne DR et al. (2002). Int J Epidemiol 31:140-149. doi:10.1093/ije/31.1.140 (matched pairs)
"""

from __future__ import annotations

import math

import numpy as np

from ._escalc_core import Arrays, MeasureSpec, Raw, add_cells
from ._escalc_input import check_at_most, check_in_range, check_nonnegative, row_error

__all__ = ["TABLE_MEASURES"]

_PI = math.pi


def _cells(a: Arrays, *, measure: str, add: float, to: str, drop00: bool):
    """The 2x2 cells after metafor's checks, drop00 and continuity correction: (ai, bi, ci, di, ni_u, notes)."""
    ai, ci = a["ai"], a["ci"]
    check_nonnegative(a, ("ai", "bi", "ci", "di", "n1i", "n2i"), "a count")
    if "n1i" in a:
        check_at_most(ai, a["n1i"], "ai", "n1i", "an event count")
    if "n2i" in a:
        check_at_most(ci, a["n2i"], "ci", "n2i", "an event count")
    bi = a["bi"] if "bi" in a else a["n1i"] - ai
    di = a["di"] if "di" in a else a["n2i"] - ci
    ni_u = ai + bi + ci + di
    if measure == "MPORM":
        ni_u = np.round(ni_u / 2)
    notes: dict[str, np.ndarray] = {}
    if drop00:
        id00 = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
        if id00.any():
            notes["dropped by drop00=True: no events (or only events) in both groups"] = id00
            ai, bi, ci, di = (np.where(id00, np.nan, x) for x in (ai, bi, ci, di))
    zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    ai, bi, ci, di = add_cells([ai, bi, ci, di], zero, add, to)
    return ai, bi, ci, di, ni_u, notes


def _tables(a: Arrays, *, measure: str, add: float, to: str, drop00: bool, vtype: str) -> Raw:
    ai, bi, ci, di, ni_u, notes = _cells(a, measure=measure, add=add, to=to, drop00=drop00)
    n1i, n2i = ai + bi, ci + di
    ni = n1i + n2i
    with np.errstate(all="ignore"):
        p1i, p2i = ai / n1i, ci / n2i
        if measure == "PETO":
            xt, yt = ai + ci, bi + di
            Ei = xt * n1i / ni
            Vi = xt * yt * (n1i / ni) * (n2i / ni) / (ni - 1)
            yi, vi = (ai - Ei) / Vi, 1 / Vi
        elif measure == "AS":
            yi = np.arcsin(np.sqrt(p1i)) - np.arcsin(np.sqrt(p2i))
            vi = 1 / (4 * n1i) + 1 / (4 * n2i)
        elif measure == "PHI":
            yi = (ai * di - bi * ci) / np.sqrt((ai + bi) * (ci + di) * (ai + ci) * (bi + di))
            q1i, q2i = 1 - p1i, 1 - p2i
            if vtype == "ST":
                vi = (
                    (n1i + n2i) ** 2
                    * (
                        4 * n1i**3 * p1i**2 * p2i * q1i**2 * q2i
                        + 4 * n2i**3 * p1i * p2i**2 * q1i * q2i**2
                        + n1i
                        * n2i**2
                        * p2i
                        * q2i
                        * (p2i * q1i + p1i * q2i)
                        * (p2i * q1i + p1i * (4 * q1i + q2i))
                        + n1i**2
                        * n2i
                        * p1i
                        * q1i
                        * (p2i * q1i + p1i * q2i)
                        * (p1i * q2i + p2i * (q1i + 4 * q2i))
                    )
                ) / (4 * (ai + ci) ** 3 * (bi + di) ** 3)
            else:  # LS or CS: cross-sectional sampling (Yule 1912, p. 603)
                p1_, p2_ = (ai + bi) / ni, (ci + di) / ni
                p_1, p_2 = (ai + ci) / ni, (bi + di) / ni
                vi = (
                    1
                    / ni
                    * (
                        1
                        - yi**2
                        + yi * (1 + 0.5 * yi**2) * (p1_ - p2_) * (p_1 - p_2) / np.sqrt(p1_ * p2_ * p_1 * p_2)
                        - 0.75 * yi**2 * ((p1_ - p2_) ** 2 / (p1_ * p2_) + (p_1 - p_2) ** 2 / (p_1 * p_2))
                    )
                )
        elif measure in ("YUQ", "YUY"):
            odds = (ai / bi) / (ci / di)
            if measure == "YUQ":
                yi = (odds - 1) / (odds + 1)
                vi = 0.25 * (1 - yi**2) ** 2 * (1 / ai + 1 / bi + 1 / ci + 1 / di)
            else:
                yi = (np.sqrt(odds) - 1) / (np.sqrt(odds) + 1)
                vi = (1 / 16) * (1 - yi**2) ** 2 * (1 / ai + 1 / bi + 1 / ci + 1 / di)
        elif measure == "RTET":
            from ._escalc_rtet import tetrachoric

            yi, vi = np.full(ai.shape, np.nan), np.full(ai.shape, np.nan)
            for i in range(ai.size):
                if not np.isnan([ai[i], bi[i], ci[i], di[i]]).any():
                    yi[i], vi[i] = tetrachoric(ai[i], bi[i], ci[i], di[i])
        elif measure == "PBIT":
            from regrow.meta._dist import norm_ppf

            z1i, z2i = norm_ppf(p1i), norm_ppf(p2i)
            yi = z1i - z2i
            vi = (
                2 * _PI * p1i * (1 - p1i) * np.exp(z1i**2) / n1i
                + 2 * _PI * p2i * (1 - p2i) * np.exp(z2i**2) / n2i
            )
        elif measure in ("OR2D", "OR2DL", "OR2DN", "MPORM"):
            yi = np.log(p1i / (1 - p1i)) - np.log(p2i / (1 - p2i))
            vi = 1 / ai + 1 / bi + 1 / ci + 1 / di
            if measure == "OR2DN":
                yi, vi = yi / 1.65, vi / 1.65**2
            elif measure == "MPORM":
                n_pairs = np.round(ni / 2)
                si = (a["ri"] * np.sqrt(ai * bi * ci * di) + ai * bi) / n_pairs
                deltai = n_pairs**2 * (n_pairs * si - ai * bi) / (ai * bi * ci * di)
                vi = vi - 2 * deltai / n_pairs
            else:
                yi, vi = math.sqrt(3) / _PI * yi, 3 / _PI**2 * vi
        elif measure in ("MPRD", "MPRR", "MPOR"):
            pi12, pi21 = bi / ni, ci / ni
            pi1_, pi_1 = (ai + bi) / ni, (ai + ci) / ni
            if measure == "MPRD":
                yi = pi1_ - pi_1
                vi = pi12 * (1 - pi12) / ni + 2 * pi12 * pi21 / ni + pi21 * (1 - pi21) / ni
            elif measure == "MPRR":
                yi = np.log(pi1_) - np.log(pi_1)
                vi = (pi12 + pi21) / (ni * pi1_ * pi_1)
            else:
                yi = np.log(pi1_ / (1 - pi1_)) - np.log(pi_1 / (1 - pi_1))
                vi = (pi12 * (1 - pi12) + pi21 * (1 - pi21) + 2 * pi12 * pi21) / (
                    ni * pi1_ * (1 - pi1_) * pi_1 * (1 - pi_1)
                )
        elif measure == "MPORC":
            yi, vi = np.log(bi) - np.log(ci), 1 / bi + 1 / ci
        else:  # MPPETO
            Ei, Vi = (bi + ci) / 2, (bi + ci) / 4
            yi, vi = (bi - Ei) / Vi, 1 / Vi
    return Raw(yi, vi, ni_u, notes)


def _irsd(a: Arrays, *, measure: str, add: float, to: str, drop00: bool, vtype: str) -> Raw:
    """IRSD: ``sqrt(x1i/t1i) - sqrt(x2i/t2i)``, ``vi = 1/(4 t1i) + 1/(4 t2i)``."""
    from ._escalc_input import check_positive

    check_nonnegative(a, ("x1i", "x2i"), "an event count")
    check_positive(a, ("t1i", "t2i"), "a person-time")
    x1i, x2i, t1i, t2i = a["x1i"], a["x2i"], a["t1i"], a["t2i"]
    notes: dict[str, np.ndarray] = {}
    if drop00:
        id00 = (x1i == 0) & (x2i == 0)
        if id00.any():
            notes["dropped by drop00=True: no events in both groups"] = id00
            x1i, x2i = np.where(id00, np.nan, x1i), np.where(id00, np.nan, x2i)
    x1i, x2i = add_cells([x1i, x2i], (x1i == 0) | (x2i == 0), add, to)
    with np.errstate(all="ignore"):
        yi = np.sqrt(x1i / t1i) - np.sqrt(x2i / t2i)
        vi = 1 / (4 * t1i) + 1 / (4 * t2i)
    return Raw(yi, vi, t1i + t2i, notes)


def _check_ri(a: Arrays, measure: str) -> None:
    if measure == "MPORM":
        if "ri" not in a:
            raise row_error("ri", 0, None, "the correlation of the paired outcomes (MPORM needs ri)")
        check_in_range(a, "ri", -1.0, 1.0, "a correlation")


def _tables_checked(a: Arrays, **kw) -> Raw:
    _check_ri(a, kw["measure"])
    return _tables(a, **kw)


_TWO_BY_TWO = (("ai",), ("bi", "n1i"), ("ci",), ("di", "n2i"))
_PAIRS = (("ai",), ("bi",), ("ci",), ("di",))


def _spec(
    name: str, description: str, *, vtypes=("LS",), add: float = 0.5, required=_TWO_BY_TWO, optional=()
):
    return MeasureSpec(
        name,
        description,
        required,
        vtypes,
        _tables_checked,
        default_add=add,
        uses_add=True,
        optional=optional,
    )


TABLE_MEASURES: tuple[MeasureSpec, ...] = (
    _spec("PETO", "log odds ratio (Peto's method)"),
    _spec("AS", "arcsine square-root risk difference", add=0.0),
    _spec("PHI", "phi coefficient", vtypes=("ST", "LS", "CS"), add=0.0),
    _spec("YUQ", "Yule's Q"),
    _spec("YUY", "Yule's Y"),
    _spec("RTET", "tetrachoric correlation", add=0.0),
    _spec("PBIT", "probit-transformed risk difference (an SMD)"),
    _spec("OR2D", "log odds ratio transformed to an SMD (logistic)"),
    _spec("OR2DL", "log odds ratio transformed to an SMD (logistic)"),
    _spec("OR2DN", "log odds ratio transformed to an SMD (normal, Cox & Snell)"),
    _spec("MPRD", "risk difference, matched pairs", required=_PAIRS),
    _spec("MPRR", "log risk ratio, matched pairs", required=_PAIRS),
    _spec("MPOR", "log odds ratio, matched pairs (marginal)", required=_PAIRS),
    _spec("MPORC", "log odds ratio, matched pairs (conditional)", required=_PAIRS),
    _spec("MPPETO", "Peto log odds ratio, matched pairs", required=_PAIRS),
    _spec("MPORM", "log odds ratio from paired groups (marginal, with ri)", optional=("ri",)),
    MeasureSpec(
        "IRSD",
        "square-root transformed incidence rate difference",
        (("x1i",), ("x2i",), ("t1i",), ("t2i",)),
        ("LS",),
        _irsd,
        default_add=0.0,
        uses_add=True,
    ),
)
