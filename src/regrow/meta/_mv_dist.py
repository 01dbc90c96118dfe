"""Tail probabilities and quantiles through ``scipy.special`` (imported on first use: it loads in a fraction of
the time ``scipy.stats`` takes, which matters for the command line)."""

from __future__ import annotations

import numpy as np

__all__ = ["chi2_sf", "crit_value", "f_sf", "level_alpha", "norm_cdf", "p_two_sided"]


def _special():
    from scipy import special

    return special


def level_alpha(level: float) -> float:
    """metafor's rule: a level >= 1 is a percentage, below 1 a proportion."""
    from regrow.errors import InputError

    if not np.isfinite(level) or level <= 0 or level >= 100:
        raise InputError.invalid("level", level, "a confidence level in (0, 100), e.g. 95")
    return (100.0 - level) / 100.0 if level >= 1 else 1.0 - level


def norm_cdf(x):
    return _special().ndtr(x)


def crit_value(alpha: float, df=None):
    """Two-sided critical value: z, or t with ``df`` degrees of freedom (array-like allowed)."""
    sp = _special()
    if df is None:
        return float(sp.ndtri(1 - alpha / 2))
    return sp.stdtrit(np.asarray(df, dtype=float), 1 - alpha / 2)


def p_two_sided(stat, df=None):
    """Two-sided p-value of a z (``df`` None) or t statistic."""
    sp = _special()
    stat = np.abs(np.asarray(stat, dtype=float))
    if df is None:
        return 2 * sp.ndtr(-stat)
    return 2 * sp.stdtr(np.asarray(df, dtype=float), -stat)


def chi2_sf(x, df):
    return _special().chdtrc(df, x)


def f_sf(x, df1, df2):
    return _special().fdtrc(df1, df2, x)
