"""Agreement statistics against hand-computed values; VOC parsing; point matching vs brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from regrow.errors import DataFileError
from regrow.measure import agreement_plot, evaluate_counts, match_points, read_voc_boxes


def test_count_statistics_by_hand():
    pred = np.array([10.0, 12.0, 9.0, 15.0])
    truth = np.array([11.0, 12.0, 7.0, 14.0])
    ev = evaluate_counts(pred, truth)
    # errors -1, 0, 2, 1
    assert ev.count_mae == pytest.approx(1.0)
    assert ev.mean_relative_error == pytest.approx((1 / 11 + 0 + 2 / 7 + 1 / 14) / 4)
    assert ev.bland_altman_bias == pytest.approx(0.5)
    sd = np.sqrt(((-1.5) ** 2 + 0.5**2 + 1.5**2 + 0.5**2) / 3)
    assert ev.bland_altman_sd == pytest.approx(sd)
    assert ev.bland_altman_loa_high == pytest.approx(0.5 + 1.96 * sd)
    # truth mean 11: |11-11|,|12-11|,|7-11|,|14-11| -> 8/4
    assert ev.baseline_mean_count_mae == pytest.approx(2.0)
    pm, tm = pred - pred.mean(), truth - truth.mean()
    assert ev.pearson_r == pytest.approx(float(pm @ tm / np.sqrt((pm @ pm) * (tm @ tm))))


def test_match_points_brute_force(rng):
    for _ in range(20):
        p = rng.uniform(0, 50, size=(rng.integers(0, 6), 2))
        t = rng.uniform(0, 50, size=(rng.integers(0, 6), 2))
        tp, fp, fn = match_points(p, t, 12.0)
        small, large = (p, t) if len(p) <= len(t) else (t, p)
        best = 0
        for perm in itertools.permutations(range(len(large)), len(small)):
            best = max(best, sum(np.hypot(*(small[i] - large[j])) <= 12.0 for i, j in enumerate(perm)))
        assert tp == best  # infeasible pairs cost more than all feasible ones: maximum matching
        assert tp + fp == len(p) and tp + fn == len(t)


def test_read_voc_swapped_and_class(tmp_path):
    xml = tmp_path / "a.xml"
    xml.write_text(
        "<annotation><object><class>premium</class><bndbox><xmin>30</xmin><ymin>5</ymin>"
        "<xmax>10</xmax><ymax>25</ymax></bndbox></object><object><name>hair</name><bndbox><xmin>1</xmin>"
        "<ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>"
    )
    assert read_voc_boxes(xml) == [(10.0, 5.0, 30.0, 25.0, "premium"), (1.0, 2.0, 3.0, 4.0, "hair")]
    bad = tmp_path / "b.xml"
    bad.write_text("<annotation><object><bndbox><xmin>x</xmin></bndbox></object></annotation>")
    with pytest.raises(DataFileError, match="xmin"):
        read_voc_boxes(bad)


def test_agreement_plot(tmp_path):
    ev = evaluate_counts(np.array([3.0, 5.0, 8.0]), np.array([4.0, 5.0, 7.0]))
    out = agreement_plot(ev, tmp_path / "agree.png")
    assert out.stat().st_size > 1000
