"""escalc: textbook worked examples, closed forms written out independently, zero cells, NaN rows, errors.

Closed forms below are typed from the publications (Borenstein et al. 2009 ch. 4-6; Hedges 1981;
Becker 1988; Morris 2008; Freeman & Tukey 1950) with ``math`` / ``scipy.special.gamma``, not from the
code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import gamma

from regrow.errors import DataFileError, InputError
from regrow.meta._escalc import ESCALC_MEASURES, EffectSizes, escalc, escalc_frame

REL = 1e-12


def _exact_j(m: float) -> float:
    """Hedges (1981) exact correction with the gamma function itself (fine for small m)."""
    return gamma(m / 2) / (math.sqrt(m / 2) * gamma((m - 1) / 2))


# --------------------------------------------------------------------------- Borenstein et al. (2009)


def test_borenstein_ch4_smd_worked_example():
    # Borenstein 2009, section 4.3: means 103 vs 100, SD 5.5 vs 4.5, n = 50 + 50 -> d 0.5970, g 0.5924
    res = escalc("SMD", m1i=[103.0], m2i=[100.0], sd1i=[5.5], sd2i=[4.5], n1i=[50], n2i=[50])
    assert res.yi[0] == pytest.approx(0.5924, abs=5e-5)
    s_within = math.sqrt((49 * 5.5**2 + 49 * 4.5**2) / 98)
    g = _exact_j(98) * 3.0 / s_within
    assert res.yi[0] == pytest.approx(g, rel=REL)
    # metafor's large-sample variance (vtype="LS"): 1/n1 + 1/n2 + g^2 / (2 (n1 + n2))
    assert res.vi[0] == pytest.approx(1 / 50 + 1 / 50 + g**2 / 200, rel=REL)


def test_borenstein_ch5_binary_worked_example():
    # Borenstein 2009, ch. 5: 5/100 events treated, 10/100 control
    kw = {"ai": [5], "bi": [95], "ci": [10], "di": [90]}
    rr, odds, rd = escalc("RR", **kw), escalc("OR", **kw), escalc("RD", **kw)
    assert rr.yi[0] == pytest.approx(-0.6931, abs=5e-5)
    assert rr.vi[0] == pytest.approx(0.2800, abs=5e-5)
    assert odds.yi[0] == pytest.approx(-0.7472, abs=5e-5)
    assert odds.vi[0] == pytest.approx(0.3216, abs=5e-5)
    assert rd.yi[0] == pytest.approx(-0.0500, abs=5e-5)
    assert rd.vi[0] == pytest.approx(0.0014, abs=5e-5)
    assert odds.yi[0] == pytest.approx(math.log(5 * 90 / (95 * 10)), rel=REL)
    assert rr.vi[0] == pytest.approx(1 / 5 - 1 / 100 + 1 / 10 - 1 / 100, rel=REL)
    # n1i/n2i replace bi/di (bi = n1i - ai)
    by_n = escalc("OR", ai=[5], ci=[10], n1i=[100], n2i=[100])
    assert by_n.yi[0] == pytest.approx(odds.yi[0], rel=REL)
    assert by_n.vi[0] == pytest.approx(odds.vi[0], rel=REL)


def test_hedges_exact_correction_values():
    # Hedges (1981) table: J(10) = 0.9227; also the exact gamma-function form at small m
    res = escalc("SMD", m1i=[1.0], m2i=[0.0], sd1i=[1.0], sd2i=[1.0], n1i=[6], n2i=[6])
    assert res.yi[0] == pytest.approx(0.9227, abs=5e-5)
    assert res.yi[0] == pytest.approx(_exact_j(10), rel=REL)
    # no overflow at large m (gamma itself overflows beyond m ~ 340): J -> 1 - 3/(4m - 1)
    big = escalc("SMD", m1i=[1.0], m2i=[0.0], sd1i=[1.0], sd2i=[1.0], n1i=[5000], n2i=[5000])
    assert big.yi[0] == pytest.approx(1 - 3 / (4 * 9998 - 1), rel=1e-9)


def test_smd_unbiased_variance():
    n1, n2, y_raw = 8, 11, (12.0 - 9.5) / math.sqrt((7 * 3.0**2 + 10 * 2.5**2) / 17)
    m = n1 + n2 - 2
    j = _exact_j(m)
    g = j * y_raw
    res = escalc("SMD", m1i=[12.0], m2i=[9.5], sd1i=[3.0], sd2i=[2.5], n1i=[n1], n2i=[n2], vtype="UB")
    assert res.yi[0] == pytest.approx(g, rel=REL)
    assert res.vi[0] == pytest.approx(1 / n1 + 1 / n2 + (1 - (m - 2) / (m * j**2)) * g**2, rel=REL)


def test_md_and_rom_closed_forms():
    kw = {
        "m1i": [20.0, 5.0],
        "m2i": [16.0, 8.0],
        "sd1i": [4.0, 2.0],
        "sd2i": [5.0, 3.0],
        "n1i": [30, 12],
        "n2i": [25, 9],
    }
    md, rom = escalc("MD", **kw), escalc("ROM", **kw)
    np.testing.assert_allclose(md.yi, [4.0, -3.0], rtol=REL)
    np.testing.assert_allclose(md.vi, [16 / 30 + 25 / 25, 4 / 12 + 9 / 9], rtol=REL)
    # Hedges, Gurevitch & Curtis (1999): ln R = ln(m1/m2), v = sd1^2/(n1 m1^2) + sd2^2/(n2 m2^2)
    np.testing.assert_allclose(rom.yi, [math.log(20 / 16), math.log(5 / 8)], rtol=REL)
    np.testing.assert_allclose(
        rom.vi, [16 / (30 * 400) + 25 / (25 * 256), 4 / (12 * 25) + 9 / (9 * 64)], rtol=REL
    )
    ho = escalc("MD", **kw, vtype="HO")
    sp2 = (29 * 16 + 24 * 25) / 53
    assert ho.vi[0] == pytest.approx(sp2 * (1 / 30 + 1 / 25), rel=REL)


# ------------------------------------------------------------------------------ correlations, proportions


def test_zcor_and_cor():
    res = escalc("ZCOR", ri=[0.3, -0.5], ni=[50, 20])
    np.testing.assert_allclose(res.yi, [math.atanh(0.3), math.atanh(-0.5)], rtol=REL)
    np.testing.assert_allclose(res.vi, [1 / 47, 1 / 17], rtol=REL)
    cor = escalc("COR", ri=[0.3], ni=[50])
    assert cor.vi[0] == pytest.approx((1 - 0.09) ** 2 / 49, rel=REL)


def test_zcor_small_n_and_perfect_correlation_are_flagged():
    # metafor 3.8-1: escalc("ZCOR", ri=.5, ni=c(3, 4)) gives vi NA and 1 (no variance only for ni <= 3)
    res = escalc("ZCOR", ri=[0.3, 1.0, 0.2, 0.5], ni=[3, 30, 30, 4])
    assert res.complete.tolist() == [False, False, True, True]
    assert math.isnan(res.vi[0]) and res.vi[3] == 1.0
    assert "ni <= 3" in res.reasons[0]
    assert "infinite" in res.reasons[1]
    assert res.reasons[2] == ""


def test_proportions_closed_forms():
    x, n = [12, 3], [40, 25]
    pr, plo, pft = (escalc(m, xi=x, ni=n) for m in ("PR", "PLO", "PFT"))
    np.testing.assert_allclose(pr.yi, [0.3, 0.12], rtol=REL)
    np.testing.assert_allclose(pr.vi, [0.3 * 0.7 / 40, 0.12 * 0.88 / 25], rtol=REL)
    np.testing.assert_allclose(plo.yi, [math.log(12 / 28), math.log(3 / 22)], rtol=REL)
    np.testing.assert_allclose(plo.vi, [1 / 12 + 1 / 28, 1 / 3 + 1 / 22], rtol=REL)
    # Freeman & Tukey (1950) double arcsine, variance 1/(4n + 2)
    ft = [
        0.5 * (math.asin(math.sqrt(xx / (nn + 1))) + math.asin(math.sqrt((xx + 1) / (nn + 1))))
        for xx, nn in zip(x, n, strict=True)
    ]
    np.testing.assert_allclose(pft.yi, ft, rtol=REL)
    np.testing.assert_allclose(pft.vi, [1 / 162, 1 / 102], rtol=REL)
    ub = escalc("PR", xi=x, ni=n, vtype="UB")
    assert ub.vi[0] == pytest.approx(0.3 * 0.7 / 39, rel=REL)
    # mi (non-events) can replace ni
    by_mi = escalc("PLO", xi=x, mi=[28, 22])
    np.testing.assert_allclose(by_mi.yi, plo.yi, rtol=REL)


def test_proportion_zero_and_all_events():
    # PLO: 0/20 and 20/20 get +1/2 to xi and mi (to="only0"); PFT needs no correction (metafor add=0)
    plo = escalc("PLO", xi=[0, 20, 5], ni=[20, 20, 20])
    np.testing.assert_allclose(
        plo.yi, [math.log(0.5 / 20.5), math.log(20.5 / 0.5), math.log(5 / 15)], rtol=REL
    )
    np.testing.assert_allclose(plo.vi, [1 / 0.5 + 1 / 20.5, 1 / 20.5 + 1 / 0.5, 1 / 5 + 1 / 15], rtol=REL)
    pft = escalc("PFT", xi=[0], ni=[20])
    assert pft.yi[0] == pytest.approx(0.5 * math.asin(math.sqrt(1 / 21)), rel=REL)
    assert pft.vi[0] == pytest.approx(1 / 82, rel=REL)
    pft_add = escalc("PFT", xi=[0], ni=[20], add=0.5)
    assert pft_add.vi[0] == pytest.approx(1 / (4 * 21 + 2), rel=REL)
    none = escalc("PLO", xi=[0], ni=[20], to="none")
    assert not none.complete[0]
    assert "logit is infinite" in none.reasons[0]


def test_incidence_rates():
    irr = escalc("IRR", x1i=[6], x2i=[12], t1i=[1000.0], t2i=[1500.0])
    assert irr.yi[0] == pytest.approx(math.log((6 / 1000) / (12 / 1500)), rel=REL)
    assert irr.vi[0] == pytest.approx(1 / 6 + 1 / 12, rel=REL)
    assert irr.ni[0] == 2500.0
    ird = escalc("IRD", x1i=[6], x2i=[12], t1i=[1000.0], t2i=[1500.0])
    assert ird.yi[0] == pytest.approx(6 / 1000 - 12 / 1500, rel=REL)
    assert ird.vi[0] == pytest.approx(6 / 1000**2 + 12 / 1500**2, rel=REL)
    ir, irln = escalc("IR", xi=[0, 4], ti=[100.0, 80.0]), escalc("IRLN", xi=[4], ti=[80.0])
    np.testing.assert_allclose(ir.yi, [0.5 / 100, 4 / 80], rtol=REL)  # zero count gets +1/2
    assert irln.yi[0] == pytest.approx(math.log(4 / 80), rel=REL)
    assert irln.vi[0] == pytest.approx(1 / 4, rel=REL)


# --------------------------------------------------------------------------------- paired designs


PAIRED = {"m1i": [24.0], "m2i": [20.0], "sd1i": [6.0], "sd2i": [7.0], "ni": [15], "ri": [0.6]}


def test_mean_change_closed_form():
    res = escalc("MC", **PAIRED)
    assert res.yi[0] == pytest.approx(4.0, rel=REL)
    assert res.vi[0] == pytest.approx((36 + 49 - 2 * 0.6 * 6 * 7) / 15, rel=REL)


def test_smcc_change_score_standardisation():
    # Gibbons et al. (1993) / Becker (1988): d = J(n-1) (m1 - m2) / sd_diff, v = 1/n + d^2 / (2n)
    sd_diff = math.sqrt(36 + 49 - 2 * 0.6 * 6 * 7)
    d = _exact_j(14) * 4.0 / sd_diff
    res = escalc("SMCC", **PAIRED)
    assert res.yi[0] == pytest.approx(d, rel=REL)
    assert res.vi[0] == pytest.approx(1 / 15 + d**2 / 30, rel=REL)


def test_smcr_raw_score_standardisation_uses_sd1i():
    # Becker (1988); Morris (2008): d = J(n-1) (m1 - m2) / sd1, v = 2 (1 - r)/n + d^2 / (2n)
    d = _exact_j(14) * 4.0 / 6.0
    res = escalc("SMCR", **PAIRED)
    assert res.yi[0] == pytest.approx(d, rel=REL)
    assert res.vi[0] == pytest.approx(2 * 0.4 / 15 + d**2 / 30, rel=REL)
    without_sd2 = escalc("SMCR", **{k: v for k, v in PAIRED.items() if k != "sd2i"})
    assert without_sd2.yi[0] == res.yi[0]
    assert escalc("SMCR", **{**PAIRED, "sd2i": [100.0]}).vi[0] == res.vi[0]


def test_paired_needs_more_than_two_subjects():
    res = escalc("SMCR", **{**PAIRED, "ni": [2]})
    assert not res.complete[0]
    assert "ni <= 2" in res.reasons[0]


# -------------------------------------------------------------------------------------- zero cells


ZERO = {"ai": [0, 4], "bi": [20, 16], "ci": [3, 8], "di": [17, 12]}


def _log_or(a, b, c, d):
    return math.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d


def test_zero_cell_only0_adds_half_to_that_study_only():
    res = escalc("OR", **ZERO)
    y0, v0 = _log_or(0.5, 20.5, 3.5, 17.5)
    y1, v1 = _log_or(4, 16, 8, 12)
    np.testing.assert_allclose(res.yi, [y0, y1], rtol=REL)
    np.testing.assert_allclose(res.vi, [v0, v1], rtol=REL)
    rr = escalc("RR", **ZERO)
    assert rr.yi[0] == pytest.approx(math.log((0.5 / 21) / (3.5 / 21)), rel=REL)
    assert rr.vi[0] == pytest.approx(1 / 0.5 - 1 / 21 + 1 / 3.5 - 1 / 21, rel=REL)
    assert rr.ni.tolist() == [40.0, 40.0]  # unadjusted totals


def test_zero_cell_all_and_if0all_and_none():
    all_ = escalc("OR", **ZERO, to="all")
    assert all_.yi[1] == pytest.approx(_log_or(4.5, 16.5, 8.5, 12.5)[0], rel=REL)
    if0 = escalc("OR", **ZERO, to="if0all")
    np.testing.assert_allclose(if0.yi, all_.yi, rtol=REL)
    no_zero = escalc("OR", ai=[4], bi=[16], ci=[8], di=[12], to="if0all")
    assert no_zero.yi[0] == pytest.approx(_log_or(4, 16, 8, 12)[0], rel=REL)
    custom = escalc("OR", **ZERO, add=0.25)
    assert custom.yi[0] == pytest.approx(_log_or(0.25, 20.25, 3.25, 17.25)[0], rel=REL)
    none = escalc("OR", **ZERO, to="none")
    assert none.complete.tolist() == [False, True]
    assert math.isnan(none.yi[0])
    assert math.isnan(none.vi[0])
    assert "zero cell" in none.reasons[0]
    # RD is finite without correction
    rd = escalc("RD", **ZERO, to="none")
    assert rd.yi[0] == pytest.approx(0 - 3 / 20, rel=REL)


def test_drop00():
    double_zero = {"ai": [0, 4], "bi": [20, 16], "ci": [0, 8], "di": [20, 12]}
    kept = escalc("OR", **double_zero)
    assert kept.yi[0] == pytest.approx(0.0, abs=1e-15)  # log((0.5 * 20.5)/(20.5 * 0.5))
    assert kept.vi[0] == pytest.approx(2 / 0.5 + 2 / 20.5, rel=REL)
    dropped = escalc("OR", **double_zero, drop00=True)
    assert dropped.complete.tolist() == [False, True]
    assert "drop00" in dropped.reasons[0]
    assert dropped.yi[1] == pytest.approx(_log_or(4, 16, 8, 12)[0], rel=REL)


# ------------------------------------------------------------------------------ missing values (NaN)


def test_nan_rows_propagate_and_are_reported():
    res = escalc(
        "SMD",
        m1i=[5.0, 6.0, np.nan],
        m2i=[4.0, 4.0, 4.0],
        sd1i=[1.0, None, 1.0],
        sd2i=[1.0, 1.0, 1.0],
        n1i=[10, 10, 10],
        n2i=[10, 10, 10],
    )
    assert res.complete.tolist() == [True, False, False]
    assert np.isnan(res.yi[1:]).all()
    assert np.isnan(res.vi[1:]).all()
    assert res.reasons[1] == "missing value in sd1i"
    assert res.reasons[2] == "missing value in m1i"
    assert res.incomplete_rows == [1, 2]


def test_effect_sizes_object():
    res = escalc("MD", m1i=[2.0], m2i=[1.0], sd1i=[1.0], sd2i=[1.0], n1i=[4], n2i=[4])
    assert isinstance(res, EffectSizes)
    with pytest.raises(ValueError, match="read-only"):
        res.yi[0] = 3.0
    with pytest.raises(AttributeError):
        res.measure = "SMD"  # type: ignore[misc]
    frame = res.to_frame()
    assert list(frame.columns) == ["yi", "vi", "sei", "ni", "complete", "reason"]
    assert frame.loc[0, "sei"] == pytest.approx(math.sqrt(0.5), rel=REL)
    assert set(ESCALC_MEASURES) >= {
        "MD",
        "SMD",
        "ROM",
        "OR",
        "RR",
        "RD",
        "ZCOR",
        "PR",
        "PLO",
        "PFT",
        "MC",
        "SMCC",
        "SMCR",
    }


# ------------------------------------------------------------------------------------ validation


def test_unknown_measure_lists_allowed():
    with pytest.raises(InputError, match=r"Invalid measure 'HR'.*OR, RR, RD") as info:
        escalc("HR", ai=[1])
    assert info.value.field == "measure"


def test_missing_required_arguments_are_named():
    with pytest.raises(
        InputError, match=r"needs ai, bi \(or n1i\), ci, di \(or n2i\); missing: bi or n1i"
    ) as info:
        escalc("OR", ai=[1], ci=[2], di=[3])
    assert info.value.field == "bi"
    with pytest.raises(InputError, match="missing: ri"):
        escalc("SMCR", m1i=[1.0], m2i=[1.0], sd1i=[1.0], ni=[10])


def test_length_mismatch():
    with pytest.raises(InputError, match="different lengths") as info:
        escalc("ZCOR", ri=[0.1, 0.2], ni=[10])
    assert info.value.field == "ni"


@pytest.mark.parametrize(
    ("measure", "kwargs", "field", "row", "pattern"),
    [
        ("MD", {"sd1i": [1.0, -2.0]}, "sd1i", 1, "standard deviation >= 0"),
        ("MD", {"n2i": [10, 0]}, "n2i", 1, "group size >= 1"),
        ("OR", {"ai": [-1, 3]}, "ai", 0, "count >= 0"),
        ("ZCOR", {"ri": [0.2, 1.2]}, "ri", 1, r"correlation in \[-1, 1\]"),
        ("PR", {"xi": [5, 30]}, "xi", 1, "<= ni"),
        ("SMCR", {"ri": [-1.5, 0.2]}, "ri", 0, "correlation"),
        ("ROM", {"m2i": [3.0, 0.0]}, "m2i", 1, "> 0"),
        ("IRR", {"t1i": [0.0, 10.0]}, "t1i", 0, "person-time > 0"),
        ("MD", {"m1i": [1.0, "abc"]}, "m1i", 1, "must be a number"),
        ("MD", {"m1i": [1.0, True]}, "m1i", 1, "must be a number"),
        ("MD", {"m1i": [1.0, np.inf]}, "m1i", 1, "finite"),
    ],
)
def test_row_errors_name_argument_row_and_value(measure, kwargs, field, row, pattern):
    two_means = {
        "m1i": [1.0, 2.0],
        "m2i": [1.0, 1.0],
        "sd1i": [1.0, 1.0],
        "sd2i": [1.0, 1.0],
        "n1i": [10, 10],
        "n2i": [10, 10],
    }
    base = {
        "MD": two_means,
        "ROM": two_means,
        "OR": {"ai": [1, 2], "bi": [3, 4], "ci": [1, 2], "di": [3, 4]},
        "ZCOR": {"ri": [0.1, 0.2], "ni": [20, 20]},
        "PR": {"xi": [5, 6], "ni": [20, 20]},
        "SMCR": {"m1i": [1.0, 2.0], "m2i": [0.0, 0.0], "sd1i": [1.0, 1.0], "ni": [10, 10], "ri": [0.5, 0.5]},
        "IRR": {"x1i": [1, 2], "x2i": [1, 2], "t1i": [10.0, 10.0], "t2i": [10.0, 10.0]},
    }[measure]
    with pytest.raises(InputError, match=pattern) as info:
        escalc(measure, **{**base, **kwargs})
    err = info.value
    assert err.field == field
    assert err.row == row
    assert f"row index {row}" in str(err)
    assert repr(kwargs[field][row]) in str(err) or str(kwargs[field][row]) in str(err)


@pytest.mark.parametrize(
    ("option", "value", "pattern"),
    [
        ("to", "some", "only0, all, if0all, none"),
        ("vtype", "HO", "LS, UB, AV"),
        ("add", -1.0, ">= 0"),
        ("drop00", "yes", "True or False"),
    ],
)
def test_bad_options(option, value, pattern):
    with pytest.raises(InputError, match=pattern) as info:
        escalc("SMD", m1i=[1.0], m2i=[0.0], sd1i=[1.0], sd2i=[1.0], n1i=[5], n2i=[5], **{option: value})
    assert info.value.field == option


def test_group_of_zero_in_two_by_two():
    with pytest.raises(InputError, match="group 1 size >= 1") as info:
        escalc("RR", ai=[0], bi=[0], ci=[1], di=[5])
    assert info.value.row == 0


# --------------------------------------------------------------------------------- escalc_frame


FRAME = pd.DataFrame({"study": ["A", "B"], "e1": [5, 0], "n1": [100, 50], "e2": [10, 3], "n2": [100, 50]})
COLS = {"ai": "e1", "n1i": "n1", "ci": "e2", "n2i": "n2"}


def test_escalc_frame_appends_and_copies():
    out = escalc_frame(FRAME, "RR", COLS)
    assert list(out.columns) == [*FRAME.columns, "yi", "vi"]
    assert "yi" not in FRAME.columns
    assert out.loc[0, "yi"] == pytest.approx(math.log(0.5), rel=REL)
    assert out.loc[1, "yi"] == pytest.approx(math.log((0.5 / 51) / (3.5 / 51)), rel=REL)


def test_escalc_frame_missing_column():
    with pytest.raises(DataFileError, match=r"column 'n2x' \(for n2i\) not found") as info:
        escalc_frame(FRAME, "RR", {**COLS, "n2i": "n2x"}, path="trials.csv")
    assert info.value.column == "n2x"
    assert str(info.value).startswith("trials.csv: ")


def test_escalc_frame_non_numeric_cell_names_row_and_column():
    bad = FRAME.assign(e2=["10", "three"])
    with pytest.raises(
        DataFileError, match=r"column 'e2' \(ci\), data row 2: 'three' is not a number"
    ) as info:
        escalc_frame(bad, "RR", COLS)
    assert (info.value.row, info.value.column) == (2, "e2")
    # numeric strings and blanks are fine (blank = missing)
    ok = escalc_frame(FRAME.assign(e2=["10", " "]), "RR", COLS)
    assert math.isnan(ok.loc[1, "yi"])


def test_escalc_frame_value_error_translated():
    with pytest.raises(DataFileError, match=r"column 'e1' \(ai\), data row 2: value 60.0 .* <= n1i") as info:
        escalc_frame(FRAME.assign(e1=[5, 60]), "RR", COLS)
    assert (info.value.row, info.value.column) == (2, "e1")
    assert isinstance(info.value.__cause__, InputError)


def test_escalc_frame_unknown_argument():
    with pytest.raises(InputError, match="Invalid columns 'events'"):
        escalc_frame(FRAME, "RR", {"events": "e1"})


def test_escalc_frame_checks_options_before_cells():
    with pytest.raises(InputError, match="Invalid option 'vtpye'"):
        escalc_frame(FRAME, "RR", COLS, vtpye="UB")
    with pytest.raises(InputError, match="Invalid measure 'XX'"):
        escalc_frame(FRAME.assign(e1=["x", "y"]), "XX", COLS)
