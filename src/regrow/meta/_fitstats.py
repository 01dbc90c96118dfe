"""Fit statistics of fitted models: log-likelihood, deviance, AIC, BIC, AICc, number of observations and
residual degrees of freedom (metafor's ``logLik``, ``deviance``, ``AIC``, ``BIC``, ``fitstats``, ``nobs`` and
``df.residual`` for ``rma`` objects). The statistics are the restricted ones for a REML fit unless
``reml=False`` is asked for, as in metafor.
"""

from __future__ import annotations

import warnings as pywarnings

import numpy as np

from regrow.errors import InputError
from regrow.meta._rma_result import RMAResult

__all__ = ["FIT_STATS", "aic", "bic", "deviance", "df_residual", "fitstats", "loglik", "nobs"]

#: Row names of :func:`fitstats` (metafor's).
FIT_STATS = ("logLik", "deviance", "AIC", "BIC", "AICc")
_KEYS = ("ll", "dev", "AIC", "BIC", "AICc")


def _check(res) -> RMAResult:
    if not isinstance(res, RMAResult):
        raise InputError(f"Fit statistics need a fitted rma model, not {type(res).__name__}.", field="res")
    return res


def _kind(res: RMAResult, reml: bool | None) -> str:
    if reml is None:
        reml = res.method == "REML"
    return "REML" if reml else "ML"


def loglik(res: RMAResult, *, reml: bool | None = None) -> float:
    """Log-likelihood (restricted for REML fits unless ``reml=False``).

    Returns
    -------
    float
    """
    res = _check(res)
    return float(res.fit_stats[_kind(res, reml)]["ll"])


def deviance(res: RMAResult, *, reml: bool | None = None) -> float:
    """Deviance: -2 times the log-likelihood relative to the saturated model (ML) or -2 ll (REML).

    Returns
    -------
    float
    """
    res = _check(res)
    return float(res.fit_stats[_kind(res, reml)]["dev"])


def _same_data(fits) -> None:
    first = np.asarray(fits[0].yi)
    if any(
        np.asarray(f.yi).shape != first.shape or not np.array_equal(np.asarray(f.yi), first) for f in fits[1:]
    ):
        pywarnings.warn("Models not all fitted to the same data.", UserWarning, stacklevel=3)


def _table(fits, key: str, column: str):
    import pandas as pd

    kind = _kind(fits[0], None)  # metafor uses the first model's method for all
    _same_data(fits)
    return pd.DataFrame(
        {"df": [int(f.parms) for f in fits], column: [float(f.fit_stats[kind][key]) for f in fits]},
        index=[f"model{i + 1}" for i in range(len(fits))],
    )


def aic(*fits: RMAResult, correct: bool = False):
    """AIC (``correct=True``: AICc) of one model, or a table of several.

    Returns
    -------
    float or pandas.DataFrame
        One model: its AIC. Several: columns ``df`` (parameters) and ``AIC`` (or ``AICc``), one row each.
    """
    if not fits:
        raise InputError("Give at least one fitted model.", field="fits")
    fits = tuple(_check(f) for f in fits)
    key = "AICc" if correct else "AIC"
    if len(fits) == 1:
        return float(fits[0].fit_stats[_kind(fits[0], None)][key])
    return _table(fits, key, key)


def bic(*fits: RMAResult):
    """BIC of one model, or a table of several.

    Returns
    -------
    float or pandas.DataFrame
        One model: its BIC. Several: columns ``df`` and ``BIC``, one row each.
    """
    if not fits:
        raise InputError("Give at least one fitted model.", field="fits")
    fits = tuple(_check(f) for f in fits)
    if len(fits) == 1:
        return float(fits[0].fit_stats[_kind(fits[0], None)]["BIC"])
    return _table(fits, "BIC", "BIC")


def fitstats(*fits: RMAResult, reml: bool | None = None):
    """logLik, deviance, AIC, BIC and AICc of one or more models.

    Returns
    -------
    pandas.DataFrame
        Rows ``logLik:`` ... ``AICc:``; one column per model (``model1``, ...), or ``ML``/``REML`` for one.
    """
    import pandas as pd

    if not fits:
        raise InputError("Give at least one fitted model.", field="fits")
    fits = tuple(_check(f) for f in fits)
    kind = _kind(fits[0], reml)
    if len(fits) > 1:
        _same_data(fits)
    names = [kind] if len(fits) == 1 else [f"model{i + 1}" for i in range(len(fits))]
    return pd.DataFrame(
        {n: [float(f.fit_stats[kind][k]) for k in _KEYS] for n, f in zip(names, fits, strict=True)},
        index=[f"{s}:" for s in FIT_STATS],
    )


def nobs(res: RMAResult) -> int:
    """Number of observations the likelihood uses: k, minus p for a REML fit (metafor's ``nobs``).

    Returns
    -------
    int
    """
    res = _check(res)
    return int(res.k - (res.p if res.method == "REML" else 0))


def df_residual(res: RMAResult) -> int:
    """Residual degrees of freedom ``k - p``.

    Returns
    -------
    int
    """
    res = _check(res)
    return int(res.k - res.p)
