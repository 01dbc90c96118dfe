"""Extraction helpers against published formulas and worked numbers, computed independently here.

The expected values use Python's standard library (``statistics.NormalDist``) and printed t-table values, not
scipy, so they do not share code with the implementation.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from regrow.errors import InputError
from regrow.evidence import _extraction as ex

PHI_INV = NormalDist().inv_cdf


def test_sd_from_se_cochrane_6522():
    # Cochrane Handbook 6.5.2.2: SD = SE x sqrt(N). A group of 25 with SE 2.0 has SD 10.0.
    assert ex.sd_from_se(2.0, 25) == pytest.approx(10.0, rel=1e-15)


def test_sd_from_ci_uses_t_for_small_groups_cochrane_6522():
    # Cochrane 6.5.2.2: for small samples replace 3.92 by 2 x t(0.975, n-1). t(0.975, 24) = 2.0639 (t table).
    expected = math.sqrt(25) * (34.0 - 30.0) / (2 * 2.063898561628021)
    assert ex.sd_from_ci(30.0, 34.0, 25) == pytest.approx(expected, rel=1e-9)
    # Large groups: SD = sqrt(N) x (upper - lower) / 3.92 (the Handbook's normal rule; 3.92 = 2 x 1.959964).
    assert ex.sd_from_ci(30.0, 34.0, 100) == pytest.approx(10 * 4.0 / (2 * PHI_INV(0.975)), rel=1e-12)


def test_se_of_md_from_ci_and_p_cochrane_6523():
    # Large groups: SE = (upper - lower) / 3.92.
    assert ex.se_md_from_ci(1.2, 6.4, 80, 90) == pytest.approx(5.2 / (2 * PHI_INV(0.975)), rel=1e-12)
    # z from p (normal): SE = MD / z with z = Phi^-1(1 - p/2).
    assert ex.se_md_from_p(3.8, 0.008) == pytest.approx(3.8 / PHI_INV(1 - 0.004), rel=1e-12)
    # t from p: the split-scalp trial T8 (p = 0.01, 19 people, paired t on 18 df); t(0.995, 18) = 2.878440.
    assert ex.se_md_from_p(12.03, 0.01, 18) == pytest.approx(12.03 / 2.878440472713585, rel=1e-9)


def test_sd_pooled_from_se_md_cochrane_6523():
    # SD = SE / sqrt(1/N_E + 1/N_C).
    assert ex.sd_pooled_from_se_md(1.5, 25, 22) == pytest.approx(1.5 / math.sqrt(1 / 25 + 1 / 22), rel=1e-15)


def test_change_sd_identity_cochrane_6528():
    # Handbook 6.5.2.8: Corr = (SD_b^2 + SD_f^2 - SD_change^2) / (2 SD_b SD_f), so the change SD is recovered.
    sd_b, sd_f, sd_change = 6.4, 7.1, 4.5
    corr = (sd_b**2 + sd_f**2 - sd_change**2) / (2 * sd_b * sd_f)
    assert ex.change_sd(sd_b, sd_f, corr) == pytest.approx(sd_change, rel=1e-12)
    # r = 0 gives the largest SD any non-negative correlation can: sqrt(SD_b^2 + SD_f^2).
    assert ex.change_sd(3.0, 4.0, 0.0) == pytest.approx(5.0, rel=1e-15)


def _eta(n):  # Wan 2014 eq. (13)
    return 2 * PHI_INV((0.75 * n - 0.125) / (n + 0.25))


def _xi(n):  # Wan 2014 eq. (7)
    return 2 * PHI_INV((n - 0.375) / (n + 0.25))


@pytest.mark.parametrize("n", [10, 50, 400])
def test_median_iqr_wan_2014_and_luo_2018(n):
    q1, m, q3 = 10.0, 15.0, 22.0
    mean, sd = ex.mean_sd_from_median_iqr(q1, m, q3, n)
    # Luo 2018 scenario C3: (0.7 + 0.39/n)(q1 + q3)/2 + (0.3 - 0.39/n) m.
    assert mean == pytest.approx((0.7 + 0.39 / n) * (q1 + q3) / 2 + (0.3 - 0.39 / n) * m, rel=1e-12)
    assert sd == pytest.approx((q3 - q1) / _eta(n), rel=1e-9)
    # For large n, eta(n) -> 2 x 0.6745 = 1.349 (the familiar IQR/1.35 rule).
    if n == 400:
        assert sd == pytest.approx(12 / 1.349, rel=5e-3)


def test_median_range_wan_2014_and_luo_2018():
    a, m, b, n = 2.0, 5.0, 11.0, 40
    mean, sd = ex.mean_sd_from_median_range(a, m, b, n)
    w = 4 / (4 + n**0.75)
    assert mean == pytest.approx(w * (a + b) / 2 + (1 - w) * m, rel=1e-12)
    assert sd == pytest.approx((b - a) / _xi(n), rel=1e-9)


def test_five_numbers_shi_2020_theta_form():
    # Shi et al. 2020 eq. (11) written as in R's meta::mean_sd: (b - a)/theta1 + (q3 - q1)/theta2.
    a, q1, m, q3, b, n = 2.0, 4.0, 5.0, 7.0, 10.0, 50
    theta1 = (2 + 0.14 * n**0.6) * PHI_INV((n - 0.375) / (n + 0.25))
    theta2 = (2 + 2 / (0.07 * n**0.6)) * PHI_INV((0.75 * n - 0.125) / (n + 0.25))
    mean, sd = ex.mean_sd_from_five_numbers(a, q1, m, q3, b, n)
    assert sd == pytest.approx((b - a) / theta1 + (q3 - q1) / theta2, rel=1e-9)
    w1, w2 = 2.2 / (2.2 + n**0.75), 0.7 - 0.72 / n**0.55
    assert mean == pytest.approx(w1 * (a + b) / 2 + w2 * (q1 + q3) / 2 + (1 - w1 - w2) * m, rel=1e-12)


def test_symmetric_normal_summary_recovers_the_mean():
    # For a symmetric summary every estimator must return the median as the mean.
    for mean, _ in (
        ex.mean_sd_from_median_iqr(8, 10, 12, 30),
        ex.mean_sd_from_median_range(4, 10, 16, 30),
        ex.mean_sd_from_five_numbers(4, 8, 10, 12, 16, 30),
    ):
        assert mean == pytest.approx(10.0, rel=1e-12)


def test_unit_conversion_square_inch_and_inch_circle():
    # 1 inch = 2.54 cm exactly: 1 in2 = 6.4516 cm2; a 1-inch-diameter circle = pi x 1.27^2 = 5.0671 cm2.
    assert ex.convert_density_to_per_cm2(64.516, "hairs/inch2") == pytest.approx(10.0, rel=1e-12)
    assert ex.convert_density_to_per_cm2(100.0, "hairs/inch_circle") == pytest.approx(100 / 5.067074790974977)
    assert pytest.approx(5.07, abs=0.005) == ex.CM2_PER_INCH_CIRCLE
    assert ex.convert_density_to_per_cm2(3.0, "hairs/cm2") == 3.0


def test_paired_md_se():
    assert ex.paired_md_se(9.0, 36) == pytest.approx(1.5, rel=1e-15)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: ex.sd_from_se(-1, 10), "se"),
        (lambda: ex.sd_from_se(1, 1), "n"),
        (lambda: ex.sd_from_ci(5, 4, 10), "upper"),
        (lambda: ex.t_from_p(0.0), "p"),
        (lambda: ex.change_sd(1, 1, 1.5), "correlation"),
        (lambda: ex.mean_sd_from_median_iqr(5, 4, 6, 20), "median"),
        (lambda: ex.convert_density_to_per_cm2(5, "count_area_unknown"), "unit"),
    ],
)
def test_bad_input_names_the_argument(call, field):
    with pytest.raises(InputError) as info:
        call()
    assert info.value.field == field
    assert "must be" in str(info.value)
