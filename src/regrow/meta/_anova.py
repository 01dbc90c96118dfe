"""Model comparison: Wald tests of coefficient subsets and likelihood-ratio tests (metafor's ``anova``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from regrow.errors import InputError
from regrow.meta._dist import chi2_sf, f_sf
from regrow.meta._rma import RMAResult

__all__ = ["LikelihoodRatioTest", "WaldTest", "lrt", "wald_test"]


@dataclass(frozen=True)
class WaldTest:
    """Omnibus test that the coefficients ``btt`` (0-based) are all zero."""

    btt: tuple[int, ...]
    QM: float
    QMdf: tuple[int, int | None]
    QMp: float

    def to_dict(self) -> dict[str, Any]:
        return {"btt": list(self.btt), "QM": self.QM, "QMdf": list(self.QMdf), "QMp": self.QMp}


@dataclass(frozen=True)
class LikelihoodRatioTest:
    """Full versus reduced model (both ML fits, nested)."""

    LRT: float
    df: int
    pval: float
    parms_full: int
    parms_reduced: int
    QE_full: float
    QE_reduced: float
    tau2_full: float
    tau2_reduced: float
    R2: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def wald_test(res: RMAResult, btt: Sequence[int]) -> WaldTest:
    """Wald-type test of a subset of coefficients, chi-square (z) or F (knha/adhoc) like ``anova(res, btt=)``.

    Parameters
    ----------
    res : RMAResult
    btt : sequence of int
        0-based indices of the coefficients tested.

    Returns
    -------
    WaldTest
    """
    idx = tuple(int(j) for j in btt)
    if not idx or any(j < 0 or j >= res.p for j in idx):
        raise InputError.invalid("btt", list(btt), f"0-based coefficient indices in [0, {res.p - 1}]")
    b = res.beta[list(idx)]
    QM = float(b @ np.linalg.solve(res.vb[np.ix_(idx, idx)], b))
    m = len(idx)
    if res.ddf is None:
        return WaldTest(idx, QM, (m, None), float(chi2_sf(QM, m)))
    return WaldTest(idx, QM / m, (m, res.ddf), float(f_sf(QM / m, m, res.ddf)))


def _parms(res: RMAResult) -> int:
    return res.p + (1 if res.is_random else 0)


def lrt(full: RMAResult, reduced: RMAResult) -> LikelihoodRatioTest:
    """Likelihood-ratio test of nested models fitted by ML (or FE), as ``anova(full, reduced)``.

    Parameters
    ----------
    full, reduced : RMAResult
        The larger and the nested model.

    Returns
    -------
    LikelihoodRatioTest

    Raises
    ------
    InputError
        When the models are not ML/FE fits of the same data, or the "full" model is not larger.
    """
    for name, res in (("full", full), ("reduced", reduced)):
        if res.method not in ("ML", "FE"):
            raise InputError(
                f"The {name} model was fitted with {res.method}; "
                "likelihood-ratio tests need ML (or FE) fits.",
                field="method",
                value=res.method,
            )
    if full.k != reduced.k or not np.array_equal(full.yi, reduced.yi):
        raise InputError("The two models were not fitted to the same studies.", field="reduced")
    pf, pr = _parms(full), _parms(reduced)
    if pf <= pr:
        raise InputError("The full model must have more parameters than the reduced model.", field="full")
    stat = max(0.0, 2.0 * (full.fit_stats["ML"]["ll"] - reduced.fit_stats["ML"]["ll"]))
    r2 = None
    if full.is_random and reduced.is_random:
        r2 = 0.0 if reduced.tau2 <= 0 else max(0.0, 100.0 * (reduced.tau2 - full.tau2) / reduced.tau2)
    return LikelihoodRatioTest(
        LRT=stat,
        df=pf - pr,
        pval=float(chi2_sf(stat, pf - pr)),
        parms_full=pf,
        parms_reduced=pr,
        QE_full=full.QE,
        QE_reduced=reduced.QE,
        tau2_full=full.tau2,
        tau2_reduced=reduced.tau2,
        R2=r2,
    )
