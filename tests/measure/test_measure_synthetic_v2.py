"""Synthetic scalp generator v2: determinism, ground truth geometry, classes and rendering accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from regrow.errors import InputError
from regrow.measure import contact_sheet, synthesize_scalp
from regrow.measure._synthetic_v2 import HAIR_CLASSES, INTERMEDIATE_MAX_UM, MIN_VISIBLE_UM, VELLUS_MAX_UM

CLEAN = {
    "blur_um": 0.0,
    "noise_sd": 0.0,
    "chroma_noise": 0.0,
    "jpeg_quality": None,
    "sharpen": 0.0,
    "halo": 0.0,
    "collar": 0.0,
    "scale_flakes": 0.0,
    "sebum": 0.0,
    "glare_spots": 0,
    "vignetting": 0.0,
    "uneven_light": 0.0,
    "furrows_per_mm2": 0.0,
    "pores_per_mm2": 0.0,
    "yellow_dots_per_mm2": 0.0,
    "erythema": 0.0,
    "gamma": 1.0,
    "exposure": 1.0,
    "colour_gain": [1.0, 1.0, 1.0],
    "blue_light": 0.0,
    "overlays": {
        k: False for k in ("banner", "bottom_bar", "circle", "readout", "scale_bar", "marker_lines")
    },
}


def test_same_seed_same_image_and_truth():
    a = synthesize_scalp(3, shape=(256, 320), um_per_px=5.52)
    b = synthesize_scalp(3, shape=(256, 320), um_per_px=5.52)
    c = synthesize_scalp(4, shape=(256, 320), um_per_px=5.52)
    assert np.array_equal(a.image, b.image)
    assert [h.polyline_px.tolist() for h in a.hairs] == [h.polyline_px.tolist() for h in b.hairs]
    assert not np.array_equal(a.image, c.image)


def test_ground_truth_is_consistent():
    classes, cut = set(), 0
    for seed in range(12):
        s = synthesize_scalp(seed, shape=(512, 640), um_per_px=5.52)
        assert s.image.shape == (512, 640, 3) and s.image.dtype == np.uint8
        for h in s.hairs:
            classes.add(h.hair_class)
            assert h.polyline_px.shape[1] == 2 and len(h.polyline_px) >= 6
            assert 0 < h.visible_length_um <= h.length_um + 1e-6
            if h.hair_class == "vellus":
                assert h.diameter_um <= VELLUS_MAX_UM
            elif h.hair_class == "intermediate":
                assert VELLUS_MAX_UM <= h.diameter_um <= INTERMEDIATE_MAX_UM
            else:
                assert h.diameter_um >= INTERMEDIATE_MAX_UM
            # the visible mid-point lies in the frame
            assert 0 <= h.visible_mid_px[0] <= 640 and 0 <= h.visible_mid_px[1] <= 512
            cut += h.cut
        assert s.hair_count() <= len(s.hairs)
        assert s.hair_count(edge_min_visible_um=400) <= s.hair_count()
        assert all(h.visible_length_um >= MIN_VISIBLE_UM for h in s.counted())
        assert all(h.exit_inside for h in s.counted("exit"))
    assert classes == set(HAIR_CLASSES)
    assert cut > 0  # hairs cut by the frame occur


def test_style_override_and_bad_input():
    s = synthesize_scalp(
        1, shape=(128, 128), um_per_px=11.0, style={"hair_colour": "white", "fitzpatrick": 6}
    )
    assert s.style["hair_colour"] == "white" and s.style["fitzpatrick"] == 6
    with pytest.raises(InputError, match="style key"):
        synthesize_scalp(1, style={"nonsense": 1})
    with pytest.raises(InputError, match="shape"):
        synthesize_scalp(1, shape=(8, 8))
    with pytest.raises(InputError, match="um_per_px"):
        synthesize_scalp(1, um_per_px=0.0)


def test_rendered_width_matches_the_true_diameter():
    """A clean dark hair's cross-section has a full width at half maximum equal to its diameter."""
    style = {
        **CLEAN,
        "hair_colour": "black",
        "salt_pepper": 0.0,
        "fitzpatrick": 1,
        "curvature": 0.0,
        "taper": 0.0,
        "clipped": True,
        "long_hair_fraction": 0.0,
        "stub_fraction": 0.0,
        "vellus_fraction": 0.0,
        "intermediate_fraction": 0.0,
        "hair_density_per_cm2": 250.0,
    }
    errs = []
    for seed in range(24):
        s = synthesize_scalp(seed, shape=(512, 512), um_per_px=2.5, style=style)
        g = s.image.astype(float).mean(axis=2)
        for h in s.hairs:
            if h.length_um < 200:
                continue
            p0, p1 = h.polyline_px[0], h.polyline_px[-1]
            d = (p1 - p0) / np.hypot(*(p1 - p0))
            n = np.array([-d[1], d[0]])
            mid = p0 + (p1 - p0) * 0.5
            half_w = 1.5 * h.diameter_um / s.um_per_px
            t = np.arange(-half_w, half_w + 0.01, 0.25)
            pts = mid[None] + t[:, None] * n[None]
            if pts.min() < 0 or pts.max() > 511:
                continue
            from scipy.ndimage import map_coordinates

            prof = map_coordinates(g, [pts[:, 1] - 0.5, pts[:, 0] - 0.5], order=1)
            k = len(t) // 8
            bg = np.median(np.r_[prof[:k], prof[-k:]])
            a = bg - prof
            if np.sort(a)[-5] < 60 or max(prof[:k].std(), prof[-k:].std()) > 8:
                continue  # a neighbour in the window: no clean profile
            half = a.max() / 2
            above = np.nonzero(a >= half)[0]
            if np.any(np.diff(above) > 1):
                continue  # two shafts in the window
            width_um = (above[-1] - above[0] + 1) * 0.25 * s.um_per_px
            errs.append(width_um - h.diameter_um)
    assert len(errs) >= 10
    assert abs(float(np.median(errs))) < 2.0  # um, with 0.5 um sampling


def test_overlays_hide_hairs_and_are_masked():
    ov = dict.fromkeys(("banner", "bottom_bar", "circle", "readout", "scale_bar", "marker_lines"), True)
    s = synthesize_scalp(2, style={"overlays": ov, "hair_density_per_cm2": 250.0})
    assert s.overlay_mask is not None and s.overlay_mask[:10].mean() > 0.5  # banner along the top
    # no counted hair has its visible mid-point under the opaque banner
    for h in s.counted():
        assert h.visible_mid_px[1] > 10


def test_contact_sheet_shape(tmp_path):
    sheet = contact_sheet(range(2), columns=2, tile_px=(64, 80), path=str(tmp_path / "s.png"))
    assert sheet.shape == (64, 160, 3)
    assert (tmp_path / "s.png").stat().st_size > 1000
