"""The print chart: drawn only with a trend to show, axis titles with units, text large enough on paper."""

from __future__ import annotations

import re

from regrow.report._chart import PRINT_WIDTH_MM, density_chart_svg

#: Smallest text size we accept on paper (8 pt; 1 pt = 25.4 / 72 mm).
MIN_TEXT_PT = 8.0


def _visit(day: str, week: float, density: float, *, in_fit: bool = True) -> dict:
    return {
        "measured_on": day,
        "weeks_since_start": week,
        "mean_density_per_cm2": density,
        "n_images": 2,
        "baseline": week <= 0,
        "in_fit": in_fit,
    }


def _site(visits: list[dict]) -> dict:
    weeks = [v["weeks_since_start"] for v in visits]
    return {
        "site": "vertex",
        "visits": visits,
        "baseline_per_cm2": {"estimate": 100.0},
        "trajectory": {
            "weeks": weeks,
            "estimate": [100.0 + w for w in weeks],
            "lb": [90.0 + w for w in weeks],
            "ub": [110.0 + w for w in weeks],
        },
        "expected": {"change_per_cm2": 30.0, "ci_lb": -49.0, "ci_ub": 110.0, "weeks": 12.0},
    }


def test_one_visit_draws_no_chart():
    assert density_chart_svg(_site([_visit("2026-01-05", 0.0, 100.0)])) is None


def test_chart_has_units_and_print_sized_text():
    svg = density_chart_svg(
        _site(
            [
                _visit("2026-01-05", -2.0, 98.0),
                _visit("2026-02-02", 2.0, 104.0, in_fit=False),
                _visit("2026-03-30", 10.0, 111.0),
            ]
        )
    )
    assert svg is not None
    assert "density (hairs/cm²)" in svg and "weeks since the treatment start" in svg
    assert f'width="{PRINT_WIDTH_MM}mm"' in svg
    view_width = float(re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ', svg).group(1))
    sizes = [float(s) for s in re.findall(r'font-size="([\d.]+)"', svg)]
    mm_per_unit = PRINT_WIDTH_MM / view_width
    smallest_pt = min(sizes) * mm_per_unit * 72 / 25.4
    assert smallest_pt >= MIN_TEXT_PT, smallest_pt
    assert svg.count("<circle") == 3  # one dot per visit
    assert 'fill="#ffffff"' in svg  # the visit left out of the trend is drawn hollow
    assert 'fill="url(#hatch)"' in svg  # the trials' expected change
