"""Data-extraction helpers: turn what a trial report gives into means, SDs and standard errors.

Every helper implements one published method and cites it. They work on plain floats, validate at the
boundary (:class:`regrow.errors.InputError` naming the argument and echoing the value) and never return a
silent NaN.

References
----------
.. [H652] Higgins JPT, Li T, Deeks JJ (eds). Chapter 6: Choosing effect measures and computing estimates of
   effect. Cochrane Handbook for Systematic Reviews of Interventions, version 6.5, section 6.5.2.
   https://training.cochrane.org/handbook/current/chapter-06
.. [Wan14] Wan X, Wang W, Liu J, Tong T. Estimating the sample mean and standard deviation from the sample size,
   median, range and/or interquartile range. BMC Med Res Methodol 2014;14:135. doi:10.1186/1471-2288-14-135
.. [Luo18] Luo D, Wan X, Liu J, Tong T. Optimally estimating the sample mean from the sample size, median,
   mid-range, and/or mid-quartile range. Stat Methods Med Res 2018;27(6):1785-1805.
   doi:10.1177/0962280216669183
.. [Shi20] Shi J, Luo D, Weng H, Zeng XT, Lin L, Chu H, Tong T. Optimally estimating the sample standard deviation
   from the five-number summary. Res Synth Methods 2020;11(5):641-654. doi:10.1002/jrsm.1429
.. [Fol92] Follmann D, Elliott P, Suh I, Cutler J. Variance imputation for overviews of clinical trials with
   continuous response. J Clin Epidemiol 1992;45(7):769-773. doi:10.1016/0895-4356(92)90054-Q
.. [LW01] Lipsey MW, Wilson DB. Practical Meta-Analysis. Thousand Oaks: Sage; 2001. Appendix B (standardised
   mean difference from an independent-samples t statistic).
"""

from __future__ import annotations

import itertools
import math

from scipy import stats

from regrow.errors import InputError

__all__ = [
    "CM2_PER_INCH_CIRCLE",
    "CM2_PER_SQUARE_INCH",
    "change_sd",
    "convert_density_to_per_cm2",
    "critical_value",
    "mean_sd_from_five_numbers",
    "mean_sd_from_median_iqr",
    "mean_sd_from_median_range",
    "paired_md_se",
    "sd_from_ci",
    "sd_from_se",
    "sd_pooled_from_se_md",
    "se_md_from_ci",
    "se_md_from_p",
    "se_md_from_t",
    "smd_from_t",
    "t_from_p",
]

#: One square inch in cm2 (exact: 1 inch = 2.54 cm by definition, so 2.54**2).
CM2_PER_SQUARE_INCH = 2.54**2
#: Area of a 1-inch-diameter circle in cm2 (pi * 1.27**2 = 5.067), the target area of the finasteride and
#: minoxidil trials ("1-inch circle of 5.1 cm2"; /work/shared/research/clinical-notes.md, sections 0.4 and 5.2).
CM2_PER_INCH_CIRCLE = math.pi * 1.27**2


def _positive(name: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError.invalid(name, value, "a positive number") from None
    if not math.isfinite(number) or number <= 0:
        raise InputError.invalid(name, value, "a positive finite number")
    return number


def _finite(name: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError.invalid(name, value, "a finite number") from None
    if not math.isfinite(number):
        raise InputError.invalid(name, value, "a finite number")
    return number


def _sample_size(name: str, value: float, minimum: int = 2) -> int:
    if isinstance(value, bool) or not float(value).is_integer() or int(value) < minimum:
        raise InputError.invalid(name, value, f"a whole number >= {minimum}")
    return int(value)


def _level(level: float) -> float:
    level = _finite("level", level)
    if not 0 < level < 100:
        raise InputError.invalid("level", level, "a confidence level in percent, in (0, 100)")
    return level


def critical_value(level: float = 95.0, df: float | None = None) -> float:
    """Two-sided critical value of the normal (``df=None``) or t distribution.

    Parameters
    ----------
    level : float, default 95
        Confidence level in percent.
    df : float, optional
        Degrees of freedom of the t distribution; the standard normal when omitted.

    Returns
    -------
    float
        The value c with P(|T| <= c) = level / 100 (1.959964 for a 95% normal interval).
    """
    level = _level(level)
    upper = 1 - (1 - level / 100) / 2
    if df is None:
        return float(stats.norm.ppf(upper))
    return float(stats.t.ppf(upper, _positive("df", df)))


def sd_from_se(se: float, n: int) -> float:
    """SD of a group from the standard error of its mean: ``SD = SE * sqrt(n)``.

    Parameters
    ----------
    se : float
        Standard error of the group mean (same unit as the outcome).
    n : int
        Number of participants in the group.

    Returns
    -------
    float
        The standard deviation, in the outcome's unit.

    Raises
    ------
    InputError
        If ``se`` is not positive or ``n`` is not a whole number >= 2.

    References
    ----------
    Cochrane Handbook 6.5.2.2 [H652].
    """
    return _positive("se", se) * math.sqrt(_sample_size("n", n))


def sd_from_ci(
    lower: float, upper: float, n: int, *, level: float = 95.0, distribution: str = "auto"
) -> float:
    """SD of a group from the confidence interval of its mean.

    ``SD = sqrt(n) * (upper - lower) / (2 * c)`` where c is the normal critical value (3.92 / 2 for a 95%
    interval) or, for small samples, the t critical value with ``n - 1`` degrees of freedom.

    Parameters
    ----------
    lower, upper : float
        The interval's limits (``upper > lower``).
    n : int
        Group size.
    level : float, default 95
        Confidence level in percent.
    distribution : {"auto", "normal", "t"}, default "auto"
        "auto" uses t for ``n < 60`` and the normal otherwise, as the Handbook advises.

    Returns
    -------
    float
        The standard deviation.

    Raises
    ------
    InputError
        If ``upper <= lower``, ``n < 2`` or ``distribution`` is unknown.

    References
    ----------
    Cochrane Handbook 6.5.2.2 [H652].
    """
    lower, upper = _finite("lower", lower), _finite("upper", upper)
    if upper <= lower:
        raise InputError.invalid("upper", upper, f"greater than lower ({lower})")
    n = _sample_size("n", n)
    crit = critical_value(level, _df_for(distribution, n - 1, n < 60))
    return math.sqrt(n) * (upper - lower) / (2 * crit)


def _df_for(distribution: str, df: float, small: bool) -> float | None:
    if distribution == "normal":
        return None
    if distribution == "t":
        return df
    if distribution == "auto":
        return df if small else None
    raise InputError.invalid("distribution", distribution, 'one of "auto", "normal", "t"')


def se_md_from_ci(
    lower: float, upper: float, n1: int, n2: int, *, level: float = 95.0, distribution: str = "auto"
) -> float:
    """Standard error of a difference in means from its confidence interval.

    ``SE = (upper - lower) / (2 * c)``, with c from the t distribution on ``n1 + n2 - 2`` degrees of freedom
    when the groups are small (``"auto"``: fewer than 60 in either group) and the normal otherwise.

    Parameters
    ----------
    lower, upper : float
        Limits of the interval for the difference.
    n1, n2 : int
        Group sizes.
    level : float, default 95
        Confidence level in percent.
    distribution : {"auto", "normal", "t"}, default "auto"

    Returns
    -------
    float
        The standard error of the mean difference.

    References
    ----------
    Cochrane Handbook 6.5.2.3 [H652].
    """
    lower, upper = _finite("lower", lower), _finite("upper", upper)
    if upper <= lower:
        raise InputError.invalid("upper", upper, f"greater than lower ({lower})")
    n1, n2 = _sample_size("n1", n1, 1), _sample_size("n2", n2, 1)
    crit = critical_value(level, _df_for(distribution, n1 + n2 - 2, min(n1, n2) < 60))
    return (upper - lower) / (2 * crit)


def t_from_p(p: float, df: float | None = None) -> float:
    """The absolute test statistic that gives a two-sided p-value.

    Parameters
    ----------
    p : float
        Two-sided p-value in (0, 1). It must be an exact value ("p = 0.03"); "p < 0.05" cannot be used.
    df : float, optional
        Degrees of freedom of a t test; a z test when omitted.

    Returns
    -------
    float
        |t| (or |z|).

    References
    ----------
    Cochrane Handbook 6.5.2.3 [H652].
    """
    p = _finite("p", p)
    if not 0 < p < 1:
        raise InputError.invalid("p", p, "an exact two-sided p-value in (0, 1)")
    if df is None:
        return float(stats.norm.isf(p / 2))
    return float(stats.t.isf(p / 2, _positive("df", df)))


def se_md_from_t(md: float, t: float) -> float:
    """Standard error of a mean difference from its t (or z) statistic: ``SE = |MD / t|``.

    References
    ----------
    Cochrane Handbook 6.5.2.3 [H652].
    """
    md, t = _finite("md", md), _finite("t", t)
    if md == 0 or t == 0:
        raise InputError.invalid("t" if t == 0 else "md", 0.0, "non-zero (SE = MD / t is undefined)")
    return abs(md / t)


def se_md_from_p(md: float, p: float, df: float | None = None) -> float:
    """Standard error of a mean difference from its exact two-sided p-value.

    Parameters
    ----------
    md : float
        The mean difference the p-value belongs to.
    p : float
        Exact two-sided p-value.
    df : float, optional
        Degrees of freedom of the t test (``n1 + n2 - 2`` for two groups, ``n - 1`` for a paired test).

    Returns
    -------
    float
        ``|MD| / t_{df}(p)``.

    References
    ----------
    Cochrane Handbook 6.5.2.3 [H652].
    """
    return se_md_from_t(md, t_from_p(p, df))


def smd_from_t(t: float, n1: int, n2: int) -> float:
    """Standardised mean difference (Cohen's d) from an independent-samples t statistic.

    With the pooled SD ``s``, ``t = (m1 - m2) / (s sqrt(1/n1 + 1/n2))``, so ``d = (m1 - m2) / s =
    t sqrt(1/n1 + 1/n2)``. The sign of ``t`` is the sign of the difference (intervention minus comparator).
    Apply Hedges' small-sample correction afterwards (``escalc("SMD", ...)`` does).

    Parameters
    ----------
    t : float
        The two-group t statistic (for example from :func:`t_from_p` with ``n1 + n2 - 2`` df, signed by the
        direction the report states).
    n1, n2 : int
        Group sizes.

    Returns
    -------
    float
        Cohen's d.

    References
    ----------
    [LW01] Appendix B.
    """
    n1, n2 = _sample_size("n1", n1, 1), _sample_size("n2", n2, 1)
    return _finite("t", t) * math.sqrt(1 / n1 + 1 / n2)


def sd_pooled_from_se_md(se: float, n1: int, n2: int) -> float:
    """Within-group SD from the standard error of a difference: ``SD = SE / sqrt(1/n1 + 1/n2)``.

    Assumes the same SD in both groups, as the Handbook's calculation does.

    References
    ----------
    Cochrane Handbook 6.5.2.3 [H652].
    """
    n1, n2 = _sample_size("n1", n1, 1), _sample_size("n2", n2, 1)
    return _positive("se", se) / math.sqrt(1 / n1 + 1 / n2)


def change_sd(sd_baseline: float, sd_final: float, correlation: float) -> float:
    """SD of change from baseline from the baseline and final SDs and their correlation.

    ``SD_change = sqrt(SD_b^2 + SD_f^2 - 2 r SD_b SD_f)``. With ``r = 0`` this is the largest value any
    non-negative correlation can give, which is why ``r = 0`` is the conservative default when the
    correlation is unknown.

    Parameters
    ----------
    sd_baseline, sd_final : float
        SDs at baseline and at the end (same unit).
    correlation : float
        Correlation between baseline and final values, in [-1, 1].

    Returns
    -------
    float
        The SD of the change scores.

    References
    ----------
    Cochrane Handbook 6.5.2.8 [H652]; Follmann et al. 1992 [Fol92].
    """
    sd_b, sd_f = _positive("sd_baseline", sd_baseline), _positive("sd_final", sd_final)
    r = _finite("correlation", correlation)
    if not -1 <= r <= 1:
        raise InputError.invalid("correlation", correlation, "a correlation in [-1, 1]")
    return math.sqrt(max(sd_b**2 + sd_f**2 - 2 * r * sd_b * sd_f, 0.0))


def paired_md_se(sd_diff: float, n: int) -> float:
    """Standard error of a within-person (paired, split-scalp) mean difference: ``SD_diff / sqrt(n)``.

    Parameters
    ----------
    sd_diff : float
        SD of the per-person differences (treated side minus control side).
    n : int
        Number of people (pairs), not sides.

    References
    ----------
    Cochrane Handbook 23.2.7 (split-body and cross-over trials, analysed as paired data).
    """
    return _positive("sd_diff", sd_diff) / math.sqrt(_sample_size("n", n))


def _phi_inv_range(n: int) -> float:
    # Wan 2014 eq. (7): xi(n) = 2 * Phi^-1((n - 0.375) / (n + 0.25)) approximates E(range)/sigma.
    return 2 * float(stats.norm.ppf((n - 0.375) / (n + 0.25)))


def _phi_inv_iqr(n: int) -> float:
    # Wan 2014 eq. (13): eta(n) = 2 * Phi^-1((0.75 n - 0.125) / (n + 0.25)) approximates E(IQR)/sigma.
    return 2 * float(stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25)))


def _ordered(**values: float) -> list[float]:
    items = [(name, _finite(name, v)) for name, v in values.items()]
    for (a_name, a), (b_name, b) in itertools.pairwise(items):
        if b < a:
            raise InputError.invalid(b_name, b, f">= {a_name} ({a}); the summary must be ordered")
    return [v for _, v in items]


def mean_sd_from_median_iqr(q1: float, median: float, q3: float, n: int) -> tuple[float, float]:
    """Mean and SD from the median and interquartile range (scenario C3 / S2).

    Mean by Luo et al. 2018: ``w (q1 + q3)/2 + (1 - w) m`` with ``w = 0.7 + 0.39 / n``.
    SD by Wan et al. 2014 (the estimator Shi et al. 2020 keep for this scenario): ``(q3 - q1) / eta(n)`` with
    ``eta(n) = 2 Phi^-1((0.75 n - 0.125) / (n + 0.25))``.

    Parameters
    ----------
    q1, median, q3 : float
        First quartile, median and third quartile (ordered).
    n : int
        Group size.

    Returns
    -------
    (float, float)
        Estimated mean and SD. Both assume a roughly normal distribution; skewed data make them biased.

    References
    ----------
    [Wan14] eq. (16); [Luo18] eq. (15); [Shi20].
    """
    q1, median, q3 = _ordered(q1=q1, median=median, q3=q3)
    n = _sample_size("n", n, 5)
    w = 0.7 + 0.39 / n
    mean = w * (q1 + q3) / 2 + (1 - w) * median
    return mean, (q3 - q1) / _phi_inv_iqr(n)


def mean_sd_from_median_range(minimum: float, median: float, maximum: float, n: int) -> tuple[float, float]:
    """Mean and SD from the median and range (scenario C1 / S1).

    Mean by Luo et al. 2018: ``w (a + b)/2 + (1 - w) m`` with ``w = 4 / (4 + n^0.75)``.
    SD by Wan et al. 2014: ``(b - a) / xi(n)`` with ``xi(n) = 2 Phi^-1((n - 0.375) / (n + 0.25))``.

    Parameters
    ----------
    minimum, median, maximum : float
        The sample minimum a, median m and maximum b (ordered).
    n : int
        Group size.

    Returns
    -------
    (float, float)
        Estimated mean and SD.

    References
    ----------
    [Wan14] eq. (7); [Luo18] eq. (7).
    """
    a, m, b = _ordered(minimum=minimum, median=median, maximum=maximum)
    n = _sample_size("n", n, 3)
    w = 4 / (4 + n**0.75)
    return w * (a + b) / 2 + (1 - w) * m, (b - a) / _phi_inv_range(n)


def mean_sd_from_five_numbers(
    minimum: float, q1: float, median: float, q3: float, maximum: float, n: int
) -> tuple[float, float]:
    """Mean and SD from the five-number summary (scenario C2 / S3).

    Mean by Luo et al. 2018: ``w1 (a + b)/2 + w2 (q1 + q3)/2 + (1 - w1 - w2) m`` with
    ``w1 = 2.2 / (2.2 + n^0.75)`` and ``w2 = 0.7 - 0.72 / n^0.55``.
    SD by Shi et al. 2020: ``w (b - a)/xi(n) + (1 - w)(q3 - q1)/eta(n)`` with ``w = 1 / (1 + 0.07 n^0.6)``.

    Parameters
    ----------
    minimum, q1, median, q3, maximum : float
        The ordered five-number summary.
    n : int
        Group size.

    Returns
    -------
    (float, float)
        Estimated mean and SD.

    References
    ----------
    [Luo18] eq. (11); [Shi20] eq. (11).
    """
    a, q1, m, q3, b = _ordered(minimum=minimum, q1=q1, median=median, q3=q3, maximum=maximum)
    n = _sample_size("n", n, 5)
    w1 = 2.2 / (2.2 + n**0.75)
    w2 = 0.7 - 0.72 / n**0.55
    mean = w1 * (a + b) / 2 + w2 * (q1 + q3) / 2 + (1 - w1 - w2) * m
    ws = 1 / (1 + 0.07 * n**0.6)
    sd = ws * (b - a) / _phi_inv_range(n) + (1 - ws) * (q3 - q1) / _phi_inv_iqr(n)
    return mean, sd


#: Units a hair density or count can be reported in, and the factor that turns them into hairs/cm2.
_DENSITY_AREA_CM2 = {
    "hairs/cm2": 1.0,
    "hairs/inch2": CM2_PER_SQUARE_INCH,
    "hairs/inch_circle": CM2_PER_INCH_CIRCLE,
}


def convert_density_to_per_cm2(value: float, unit: str) -> float:
    """Convert a hair count per reported area into hairs per cm2.

    Parameters
    ----------
    value : float
        A mean, SD or SE in ``unit`` (all three scale by the same factor).
    unit : {"hairs/cm2", "hairs/inch2", "hairs/inch_circle"}
        ``hairs/inch2`` is a count in one square inch (6.4516 cm2); ``hairs/inch_circle`` a count in a
        circle of 1 inch diameter (5.067 cm2, the finasteride/minoxidil trial target area).

    Returns
    -------
    float
        The value per cm2.

    Raises
    ------
    InputError
        If the unit has no known area (for example a count in an unreported area).
    """
    value = _finite("value", value)
    if unit not in _DENSITY_AREA_CM2:
        raise InputError.invalid("unit", unit, f"one of {sorted(_DENSITY_AREA_CM2)} (an area we can convert)")
    return value / _DENSITY_AREA_CM2[unit]
