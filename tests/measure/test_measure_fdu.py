"""Real trichoscopy images (unlicensed; read from ../shared at run time, never copied)."""

from __future__ import annotations

import numpy as np
import pytest

from regrow.measure import evaluate_counts, measure_image, read_voc_boxes

pytestmark = [pytest.mark.fdu, pytest.mark.slow]


def test_fdu_subset_beats_mean_count_baseline(shared_dir):
    root = shared_dir / "hairdata" / "fdu-dev"
    images = sorted((root / "images").glob("*.jpg"))[::10]
    pred = [measure_image(p, device="fdu-70x").hair_count for p in images]
    truth = [len(read_voc_boxes(root / "annotations" / f"{p.stem}.xml")) for p in images]
    ev = evaluate_counts(np.array(pred, float), np.array(truth, float))
    # the goal is MAE <= 1.0 and r >= 0.93; the classical pipeline does not reach it (docs/measure.md)
    assert ev.count_mae < ev.baseline_mean_count_mae
    assert ev.pearson_r is not None and ev.pearson_r > 0.4
