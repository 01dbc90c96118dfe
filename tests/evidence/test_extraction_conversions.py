"""Documented conversions: SMD from t/p, mean and SD from medians (checked by simulation), and how the review
uses them for the studies that report no SDs."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from scipy import stats

from regrow.evidence import _extraction as ex
from regrow.evidence._review import effects_for
from regrow.evidence._trials import bundled_path, load_data


def test_smd_from_t_recovers_cohens_d_of_raw_data():
    a = [12.0, 15.5, 9.0, 14.0, 11.5, 13.0, 16.0]
    b = [10.0, 9.5, 12.0, 8.0, 11.0, 10.5]
    n1, n2 = len(a), len(b)
    sp = math.sqrt(((n1 - 1) * statistics.variance(a) + (n2 - 1) * statistics.variance(b)) / (n1 + n2 - 2))
    d = (statistics.mean(a) - statistics.mean(b)) / sp
    t = (statistics.mean(a) - statistics.mean(b)) / (sp * math.sqrt(1 / n1 + 1 / n2))
    assert ex.smd_from_t(t, n1, n2) == pytest.approx(d, rel=1e-12)
    assert ex.smd_from_t(-t, n1, n2) == pytest.approx(-d, rel=1e-12)


def test_smd_from_an_exact_p_uses_the_t_table():
    # t(0.975, 38) = 2.024394 (printed t tables): p = 0.05 between two groups of 20 gives d = 2.024394 x sqrt(0.1).
    t = ex.t_from_p(0.05, 38)
    assert t == pytest.approx(2.024394164, rel=1e-8)
    assert ex.smd_from_t(t, 20, 20) == pytest.approx(2.024394164 * math.sqrt(0.1), rel=1e-8)


@pytest.mark.parametrize("n", [30, 120])
def test_median_based_estimators_recover_a_normal_sd_by_simulation(rng, n):
    # Wan 2014 / Luo 2018 / Shi 2020 assume normal data: on normal samples their estimates must be close to
    # the true mean 50 and SD 10 on average (within 3%), independently of how the formulas are written.
    reps = 400
    est = {"iqr": [], "range": [], "five": []}
    means = {"iqr": [], "range": [], "five": []}
    for _ in range(reps):
        x = rng.normal(50.0, 10.0, n)
        q1, m, q3 = np.quantile(x, [0.25, 0.5, 0.75])
        lo, hi = x.min(), x.max()
        for key, (mean, sd) in {
            "iqr": ex.mean_sd_from_median_iqr(q1, m, q3, n),
            "range": ex.mean_sd_from_median_range(lo, m, hi, n),
            "five": ex.mean_sd_from_five_numbers(lo, q1, m, q3, hi, n),
        }.items():
            est[key].append(sd)
            means[key].append(mean)
    for key in est:
        assert np.mean(est[key]) == pytest.approx(10.0, rel=0.03), key
        assert np.mean(means[key]) == pytest.approx(50.0, abs=0.3), key


def _hedges_j(m: int) -> float:
    # Exact small-sample correction (Hedges 1981), as metafor's escalc(measure="SMD") applies it:
    # J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)); about 1 - 3/(4m - 1).
    return math.exp(math.lgamma(m / 2) - 0.5 * math.log(m / 2) - math.lgamma((m - 1) / 2))


@pytest.fixture(scope="module")
def data():
    return load_data(bundled_path())


def _effects(data, comparison):
    effects, skipped = effects_for(data, comparison)
    return {e.study_id: e for e in effects}, {s.study_id: s for s in skipped}


def test_faghihi_smd_comes_from_its_exact_p_and_the_stated_direction(data):
    effects, _ = _effects(data, "mn_mx_vs_mx_density_smd")
    e = effects["T3"]
    # p = .017 for group B vs control; 60 patients in 3 groups -> 20 per arm (equal allocation, flagged).
    t = stats.t.isf(0.017 / 2, 38)
    d = t * math.sqrt(2 / 20)
    assert e.yi == pytest.approx(_hedges_j(38) * d, rel=1e-6)
    assert e.vi == pytest.approx(2 / 20 + e.yi**2 / (2 * 40), rel=1e-9)
    assert (e.n1, e.n2) == (20, 20)
    assert any("1/3 of the reported total" in text for text in e.imputed)
    assert any("direction from the text" in text for text in e.derivation)


def test_kumar_smd_uses_the_donor_sd_converted_to_square_inches(data):
    effects, _ = _effects(data, "mn_mx_vs_mx_density_smd")
    kumar = effects["T2"]
    # 25.4 hairs/cm2 is 25.4 x 6.4516 hairs per square inch; Hedges' g with 34 per arm.
    d = (12.52 - 1.89) / (25.4 * 6.4516)
    assert kumar.yi == pytest.approx(_hedges_j(66) * d, rel=1e-9)
    assert kumar.is_imputed


def test_the_md_and_smd_analyses_share_one_set_of_arms(data):
    md, _ = _effects(data, "mn_mx_vs_mx_density")
    smd, smd_skipped = _effects(data, "mn_mx_vs_mx_density_smd")
    # The SMD scale admits every counting area, so it pools more trials than the MD in hairs/cm2 ...
    assert set(md) < set(smd)
    assert {"T3", "T8"} <= set(smd) - set(md)
    # ... but never end values mixed with change scores (Cochrane 10.5.2).
    assert "end values" in smd_skipped["T6"].reason
    # Dhurat's SE now comes from the p-value of the review table, not from a donor SD (n still imputed).
    assert any("exact p = 0.039" in text for text in md["T1"].derivation)
