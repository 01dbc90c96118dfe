"""Variance inflation factors of the coefficients of a meta-regression (metafor's ``vif.rma``).

From the correlation matrix ``R`` of the estimated coefficients (intercept excluded): ``VIF_j = (R^-1)_jj``
for each coefficient, and for a set ``btt`` the generalized VIF ``det(R_btt) det(R_rest) / det(R)``
(Fox & Monette 1992, doi:10.1080/01621459.1992.10475190).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from regrow.errors import InputError

__all__ = ["VIFResult", "vif"]


@dataclass(frozen=True)
class VIFResult:
    """``vifs`` (one per coefficient, or the generalized VIF of ``btt``) and their names."""

    vifs: np.ndarray
    names: list[str]
    btt: tuple[int, ...] | None = None


def vif(res: Any, *, btt: Any = None, scale: bool | None = None) -> VIFResult:
    """Variance inflation factors of a model's coefficients.

    Parameters
    ----------
    res : RMAResult or LSResult
    btt : sequence of int or str, optional
        0-based coefficients (or a name pattern) for one generalized VIF of the set.
    scale : bool, optional
        For a location-scale model: the scale coefficients (default when the location part has no
        moderators).

    Returns
    -------
    VIFResult

    Raises
    ------
    InputError
        For a model with fewer than two moderators.
    """
    from types import SimpleNamespace

    from regrow.meta._anova_general import resolve_btt

    use_scale = scale if scale is not None else (hasattr(res, "alpha_coef") and res.p == int(res.intercept))
    if use_scale:
        part = SimpleNamespace(vb=res.va, p=res.q, intercept=res.z_intercept, coef_names=res.z_names)
    else:
        part = SimpleNamespace(vb=res.vb, p=res.p, intercept=res.intercept, coef_names=res.coef_names)
    keep = list(range(1, part.p)) if part.intercept else list(range(part.p))
    if len(keep) < 2:
        raise InputError("Variance inflation factors need at least two moderators.", field="res")
    V = part.vb[np.ix_(keep, keep)]
    d = np.sqrt(np.diag(V))
    R = V / np.outer(d, d)
    names = [part.coef_names[j] for j in keep]
    if btt is None:
        return VIFResult(vifs=np.diag(np.linalg.inv(R)), names=names)
    sel = [keep.index(j) for j in resolve_btt(btt, part) if j in keep]
    rest = [j for j in range(len(keep)) if j not in sel]
    gvif = np.linalg.det(R[np.ix_(sel, sel)]) * np.linalg.det(R[np.ix_(rest, rest)]) / np.linalg.det(R)
    return VIFResult(vifs=np.array([gvif]), names=[names[j] for j in sel], btt=tuple(keep[j] for j in sel))
