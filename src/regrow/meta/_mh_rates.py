"""Mantel-Haenszel pooling of person-time data (metafor's ``rma.mh`` with ``measure="IRR"`` or ``"IRD"``).

Table i has ``x1i`` events over person-time ``t1i`` in group 1 and ``x2i`` over ``t2i`` in group 2,
``Ti = t1i + t2i``. The study-level effects (for the heterogeneity test) are escalc's IRR/IRD with its
continuity correction; the pooled estimate uses the raw counts.

References
----------
Greenland S, Robins JM (1985). Estimation of a common effect parameter from sparse follow-up data.
    Biometrics 41:55-68. doi:10.2307/2530643
Rothman KJ, Greenland S, Lash TL (2008). Modern Epidemiology, 3rd ed., ch. 15. Lippincott Williams & Wilkins.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regrow.errors import InputError, TooFewStudiesError
from regrow.meta._dist import chi2_sf
from regrow.meta._mh import MHResult, _heterogeneity, _tables_used, _wald, _z_crit

__all__ = ["pool_rates"]


def _vector(name: str, values) -> np.ndarray:
    if values is None:
        raise InputError(f"measure IRR/IRD needs {name} (events and person-time per group).", field=name)
    try:
        return np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric.", field=name) from exc


def pool_rates(x1i, x2i, t1i, t2i, measure, add, to, drop00, correct, level, slab) -> MHResult:
    """The MH pooled IRR or IRD; see :func:`regrow.meta.rma_mh`."""
    from regrow.meta._escalc import escalc

    x1, x2, t1, t2 = (_vector(n, v) for n, v in (("x1i", x1i), ("x2i", x2i), ("t1i", t1i), ("t2i", t2i)))
    k_all = x1.size
    for name, arr in (("x2i", x2), ("t1i", t1), ("t2i", t2)):
        if arr.size != k_all:
            raise InputError(f"{name} has {arr.size} values but x1i has {k_all}.", field=name)
    es = escalc(measure, x1i=x1, x2i=x2, t1i=t1, t2i=t2, add=add, to=to, drop00=drop00)
    used = np.isfinite(x1) & np.isfinite(x2) & np.isfinite(t1) & np.isfinite(t2)
    warnings: list[str] = []
    if not used.all():
        warnings.append(f"{int((~used).sum())} table(s) with missing values left out.")
    if not used.any():
        raise TooFewStudiesError("No complete table of events and person-time to pool.")
    has_yi = np.isfinite(es.yi)
    if not has_yi.all():
        warnings.append(f"{int((~has_yi).sum())} study-level effect(s) could not be computed (NA).")
    a, b, c, d = x1[used], x2[used], t1[used], t2[used]
    T = c + d
    nan = float("nan")
    out: dict[str, Any] = {}
    if measure == "IRR":
        R, S = float(np.sum(a * (d / T))), float(np.sum(b * (c / T)))
        if np.sum(a) == 0 or np.sum(b) == 0:
            beta = se = nan
            warnings.append("The MH rate ratio is undefined (no events in one group).")
        else:
            beta = float(np.log(R / S))
            se = float(np.sqrt(np.sum((c / T) * (d / T) * (a + b)) / (R * S)))
        xt = a + b
        if np.sum(xt) == 0:
            out.update(MH=nan, MHp=nan)
        else:
            MH = (abs(float(np.sum(a - xt * (c / T)))) - (0.5 if correct else 0.0)) ** 2 / float(
                np.sum(xt * (c / T) * (d / T))
            )
            out.update(MH=MH, MHp=float(chi2_sf(MH, 1)))
        weights = b * (c / T)
    else:
        denom = float(np.sum((c / T) * d))
        beta = float(np.sum((a * d - b * c) / T)) / denom
        se = float(np.sqrt(np.sum(((c / T) * d) ** 2 * (a / c**2 + b / d**2)))) / denom
        weights = (c / T) * d
    yi, vi = es.yi[has_yi], es.vi[has_yi]
    QE, QEp, I2, H2, k_yi = _heterogeneity(yi, vi, beta)
    total = float(np.sum(weights))
    full = ({"x1i": x1, "x2i": x2, "t1i": t1, "t2i": t2}, es.yi, es.vi)
    return MHResult(
        measure=measure,
        method="MH",
        beta=beta,
        se=se,
        **_wald(beta, se, _z_crit(level)),
        QE=QE,
        QEp=QEp,
        I2=I2,
        H2=H2,
        k_yi=k_yi,
        k_pos=None,
        weights_pct=100.0 * weights / total if total > 0 else np.full(weights.size, nan),
        wi=np.asarray(weights, float),
        correct=bool(correct),
        **_tables_used(used, yi, vi, level, add, to, drop00, warnings, full, slab),
        **out,
    )
