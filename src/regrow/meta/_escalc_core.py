"""The building blocks of the escalc measures: what a measure function returns, how a measure is
described, the exact Hedges correction and metafor's continuity correction."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Arrays", "MeasureSpec", "Raw", "add_cells", "hedges_correction", "wmean"]

Arrays = dict[str, np.ndarray]


def _lgamma(x: np.ndarray) -> np.ndarray:
    """log Gamma elementwise (math.lgamma; scipy.special is not imported for escalc)."""
    return np.asarray(np.frompyfunc(_lgamma_scalar, 1, 1)(x), dtype=float)


def _lgamma_scalar(v: float) -> float:
    try:
        return math.lgamma(v)
    except ValueError:  # a pole (0, -1, -2, ...): +inf, as scipy.special.gammaln gives
        return math.inf


@dataclass
class Raw:
    """What a measure function returns (before metafor's final Inf/NaN clean-up)."""

    yi: np.ndarray
    vi: np.ndarray
    ni: np.ndarray
    #: reason text -> boolean mask of rows that reason explains
    notes: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class MeasureSpec:
    """One escalc measure: what it needs and how it is computed."""

    name: str
    description: str
    #: each entry lists alternatives; the first present one is used (``("bi", "n1i")``)
    required: tuple[tuple[str, ...], ...]
    vtypes: tuple[str, ...]
    compute: Callable[..., Raw]
    #: metafor's default ``add`` (0 for PFT, 1/2 otherwise)
    default_add: float = 0.5
    #: whether add/to/drop00 apply (count measures)
    uses_add: bool = False
    #: arguments passed on when given, though not required (e.g. SMD's di/ti, MPORM's ri)
    optional: tuple[str, ...] = ()


def hedges_correction(m: np.ndarray) -> np.ndarray:
    """Exact small-sample bias correction c(m) of Hedges (1981); NaN where m <= 1.

    ``c(m) = Gamma(m/2) / (sqrt(m/2) * Gamma((m-1)/2))``, evaluated on the log scale as
    ``exp(lgamma(m/2) - log(sqrt(m/2)) - lgamma((m-1)/2))`` (metafor's ``.cmicalc``) so that it never
    overflows. ``m`` is the degrees of freedom: ``n1i + n2i - 2`` for SMD, ``ni - 1`` for SMCC/SMCR.

    Parameters
    ----------
    m : numpy.ndarray
        Degrees of freedom.

    Returns
    -------
    numpy.ndarray
        The correction factor (< 1), NaN for ``m <= 1`` or missing ``m``.

    References
    ----------
    Hedges LV (1981). J Educ Stat 6(2):107-128. doi:10.3102/10769986006002107
    """
    m = np.asarray(m, dtype=np.float64)
    with np.errstate(all="ignore"):
        c = np.exp(_lgamma(m / 2) - np.log(np.sqrt(m / 2)) - _lgamma((m - 1) / 2))
    return np.where(m > 1, c, np.nan)


def add_cells(cells: list[np.ndarray], zero_any: np.ndarray, add: float, to: str) -> list[np.ndarray]:
    """metafor's continuity correction: ``to`` in all / only0 / if0all / none."""
    if to == "all":
        return [c + add for c in cells]
    if to == "only0":
        return [np.where(zero_any, c + add, c) for c in cells]
    if to == "if0all" and zero_any.any():
        return [c + add for c in cells]
    return cells


def wmean(x: np.ndarray, w: np.ndarray) -> float:
    """metafor's ``.wmean(x, w, na.rm=TRUE)``: the w-weighted mean over rows where both are present."""
    ok = ~(np.isnan(x) | np.isnan(w))
    return float(np.sum(x[ok] * w[ok]) / np.sum(w[ok]))
