"""Calibration: explicit, device profiles, and a photographed ruler/grid."""

from __future__ import annotations

import numpy as np
import pytest

from regrow.errors import InputError
from regrow.measure import calibrate_from_ruler, device_profiles, resolve_calibration


def test_explicit_and_device():
    assert resolve_calibration(um_per_px=3.5).um_per_px == 3.5
    cal = resolve_calibration(device="FDU-70x")
    # SOURCE.md: about 362 px/mm -> 1000/362 = 2.76 um/px
    assert cal.um_per_px == pytest.approx(1000 / 362, abs=0.01)
    assert cal.method == "device" and cal.device == "fdu-70x"
    assert all(p.source for p in device_profiles().values())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"um_per_px": 0.0}, "um_per_px"),
        ({"device": "nope"}, "fdu-70x"),
        ({}, "--um-per-px"),
        ({"um_per_px": 2.0, "device": "fdu-70x"}, "one of"),
    ],
)
def test_bad_calibration(kwargs, match):
    with pytest.raises(InputError, match=match):
        resolve_calibration(**kwargs)


def _ruler(period_px: float, angle_deg: float, shape=(300, 400), seed=3) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    a = np.radians(angle_deg)
    u = xx * np.cos(a) + yy * np.sin(a)
    phase = (u / period_px) % 1.0
    img = np.where(phase < 0.12, 40.0, 210.0)  # dark tick lines on light ground
    img += np.random.default_rng(seed).normal(0, 6, shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("period", "angle"), [(36.2, 0.0), (21.7, 17.0), (50.0, 90.0)])
def test_ruler_period(period, angle):
    cal = calibrate_from_ruler(_ruler(period, angle), pitch_um=1000.0)
    assert cal.method == "ruler"
    assert cal.um_per_px == pytest.approx(1000.0 / period, rel=0.01)


def test_grid_and_no_pattern(rng):
    g = np.minimum(_ruler(30.0, 0.0), _ruler(30.0, 90.0))
    assert calibrate_from_ruler(g, pitch_um=500.0).um_per_px == pytest.approx(500 / 30.0, rel=0.01)
    noise = rng.integers(0, 255, (200, 200)).astype(np.uint8)
    with pytest.raises(InputError, match="ruler"):
        calibrate_from_ruler(noise)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_scalp_photo_is_not_taken_for_a_ruler(seed):
    from regrow.measure import synthesize

    scalp = synthesize(shape=(512, 640), um_per_px=2.76, seed=seed).image
    with pytest.raises(InputError, match="repeat"):
        calibrate_from_ruler(scalp)
