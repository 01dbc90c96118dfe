"""metafor's ``update.rma``: refit a model with some of its arguments changed."""

from __future__ import annotations

from typing import Any

import numpy as np

from regrow.errors import InputError
from regrow.meta._rma_result import RMAResult

__all__ = ["update"]

_KEEP = object()


def update(res: RMAResult, *, mods: Any = _KEEP, **changes: Any) -> RMAResult:
    """Refit an ``rma`` model on the same data with some arguments changed (metafor's ``update``).

    The effect sizes, sampling variances, moderators, study labels, user weights and every option of the
    fit (method, test, level, control, weighting, a fixed tau^2, ``na_action``) are those of ``res`` unless
    given here.

    Parameters
    ----------
    res : RMAResult
        A fitted :func:`~regrow.meta.rma` model (not a location-scale model).
    mods : array, mapping of column name to values, or DataFrame, optional
        New moderators (one row per study of the original data, as given to ``rma``); None for an
        intercept-only model.
    **changes
        Any other argument of :func:`~regrow.meta.rma` (``method="DL"``, ``test="knha"``, ...).

    Returns
    -------
    RMAResult

    Raises
    ------
    InputError
        For an argument that ``rma`` does not take, or ``yi``/``vi`` (fit a new model instead).
    """
    from regrow.meta._rma import rma

    if not isinstance(res, RMAResult):
        raise InputError.invalid("res", type(res).__name__, "a fitted rma() model (RMAResult)")
    for name in ("yi", "vi", "sei", "data", "measure", "scale"):
        if name in changes:
            raise InputError(
                f"update() keeps the data of the model; {name}= cannot be changed (fit a new model).",
                field=name,
            )
    yi = res.yi if res.yi_all is None else res.yi_all
    vi = res.vi if res.vi_all is None else res.vi_all
    options: dict[str, Any] = {
        "method": res.method,
        "test": res.test,
        "level": res.level,
        "control": res.control,
        "weighted": res.weighted,
        "na_action": res.na_action,
        "slab": res.slab if res.slab_all is None else res.slab_all,
    }
    if res.tau2_fixed:
        options["tau2"] = res.tau2
    if res.user_weights is not None:
        w = np.asarray(res.user_weights, dtype=float)
        if res.not_na is not None and w.size != np.size(yi):
            full = np.full(np.size(yi), np.nan)
            full[np.asarray(res.not_na, bool)] = w
            w = full
        options["weights"] = w
    if mods is _KEEP:
        X = res.X if res.X_all is None else res.X_all
        lead = 1 if res.intercept else 0
        options["intercept"] = res.intercept
        if X.shape[1] > lead:
            options["mods"] = X[:, lead:]
            options["mod_names"] = list(res.coef_names[lead:])
    else:
        options["mods"] = mods
    options.update(changes)
    return rma(yi, vi, **options)
