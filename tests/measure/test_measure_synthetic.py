"""Detection on synthetic images with exact ground truth; generator checked against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from regrow.errors import InputError
from regrow.measure import DetectorSettings, measure_image, render_overlay, synthesize
from regrow.measure._units import group_units, unit_histogram

# small frames at 5.5 um/px: the detector works at that scale, so no resampling (fast tests)
SMALL = {"shape": (400, 520), "um_per_px": 5.5, "unit_density_per_cm2": 90.0}


def test_generator_fwhm_equals_diameter():
    """A lone horizontal black rod without blur/noise: its half-maximum width is the diameter."""
    s = synthesize(
        shape=(200, 300),
        um_per_px=2.0,
        unit_density_per_cm2=0.0,
        noise_sd=0.0,
        blur_px=0.0,
        uneven_light=0.0,
        seed=1,
    )
    assert s.hairs == [] and s.hair_count == 0
    s = synthesize(
        shape=(400, 400),
        um_per_px=2.0,
        unit_density_per_cm2=300.0,
        hairs_per_unit_p=(1.0,),
        direction_deg=0.0,
        noise_sd=0.0,
        blur_px=0.0,
        uneven_light=0.0,
        vellus_fraction=0.0,
        seed=5,
    )
    h = next(h for h in s.hairs if h.counted and 40 < h.exit_y_px < 360 and 20 < h.exit_x_px < 250)
    col = round(h.exit_x_px + 40)
    prof = 255.0 - s.image[:, col, :].max(axis=1).astype(float)
    y = round(h.exit_y_px)
    seg = prof[y - 60 : y + 60]
    half = 0.5 * (seg.max() + np.median(seg))
    width_px = float(np.sum(np.clip((seg - np.median(seg)) / (seg.max() - np.median(seg)), 0, 1)))
    assert width_px * 2.0 == pytest.approx(h.diameter_um, abs=3.0)  # area under a unit-height rod = width
    assert half > 0


def test_counts_and_diameters_on_synthetic():
    errors, truth, diam_err = [], [], []
    for seed in range(6):
        s = synthesize(**SMALL, seed=seed)
        # the synthetic truth ``counted`` is the exit-point rule
        m = measure_image(
            s.image,
            method="classical",
            um_per_px=s.um_per_px,
            settings=DetectorSettings(count_edge_rule="exit"),
        )
        errors.append(m.hair_count - s.hair_count)
        truth.append(s.hair_count)
        gt = [h for h in s.hairs if h.counted]
        for h in m.hairs:
            if h.counted and h.diameter_um is not None and gt:
                d = [np.hypot(h.exit_x_px - g.exit_x_px, h.exit_y_px - g.exit_y_px) for g in gt]
                if min(d) < 12:
                    diam_err.append(h.diameter_um - gt[int(np.argmin(d))].diameter_um)
        assert m.area_cm2 == pytest.approx(400 * 520 * 5.5**2 * 1e-8)
        assert m.density_per_cm2 == pytest.approx(m.hair_count / m.area_cm2)
    assert sum(truth) >= 30
    assert abs(sum(errors)) / sum(truth) < 0.15
    assert np.mean(np.abs(errors)) <= 2.0
    assert len(diam_err) >= 15
    assert np.median(np.abs(diam_err)) < 5.0  # issue goal: median absolute diameter error under 5 um


def _visible_truth(s, min_visible_um: float) -> int:
    """Hairs with both ends in the frame, plus edge-cut hairs with at least ``min_visible_um`` of shaft in
    the frame (segment sampled densely and clipped to the frame: an independent geometric reference)."""
    h_px, w_px = s.image.shape[:2]
    n = 0
    for h in s.hairs:
        t = np.linspace(0.0, 1.0, 2001)
        x = h.exit_x_px + t * (h.tip_x_px - h.exit_x_px)
        y = h.exit_y_px + t * (h.tip_y_px - h.exit_y_px)
        inside = (x >= 0) & (x <= w_px - 1) & (y >= 0) & (y <= h_px - 1)
        if not inside.any():
            continue
        seg_um = np.hypot(h.tip_x_px - h.exit_x_px, h.tip_y_px - h.exit_y_px) * s.um_per_px
        if inside.all() or inside.mean() * seg_um >= min_visible_um:
            n += 1
    return n


def test_visible_counting_rule_on_synthetic():
    errors, truth = [], []
    st = DetectorSettings()
    assert st.count_edge_rule == "visible"
    for seed in range(6):
        s = synthesize(**SMALL, seed=seed)
        m = measure_image(s.image, method="classical", um_per_px=s.um_per_px)
        want = _visible_truth(s, st.edge_min_visible_um)
        errors.append(m.hair_count - want)
        truth.append(want)
    assert sum(truth) >= 30
    assert abs(sum(errors)) / sum(truth) < 0.15
    assert np.mean(np.abs(errors)) <= 2.0


def test_repeatability_shift_rotate_relight():
    base = synthesize(**SMALL, seed=11)
    moved = synthesize(**SMALL, seed=11, shift_px=(6.0, -4.0), rotation_deg=3.0, light_seed=99)
    a = measure_image(base.image, method="classical", um_per_px=5.5).hair_count
    b = measure_image(moved.image, method="classical", um_per_px=5.5).hair_count
    assert abs(base.hair_count - moved.hair_count) <= 1
    assert abs(a - b) <= max(1, round(0.1 * a))


@pytest.mark.parametrize(("hair", "skin"), [("black", "dark"), ("brown", "medium")])
def test_colour_combinations_detected(hair, skin):
    s = synthesize(**SMALL, hair_colour=hair, skin=skin, seed=3)
    m = measure_image(s.image, method="classical", um_per_px=5.5)
    assert s.hair_count > 0
    assert abs(m.hair_count - s.hair_count) <= max(2, 0.35 * s.hair_count)


def test_grey_hair_on_light_skin_is_flagged_not_trusted():
    """Known weakness: grey hair on light skin is below the classical detector's contrast floor; the
    result must at least say so instead of reporting a confident low density."""
    s = synthesize(**SMALL, hair_colour="grey", skin="light", seed=3)
    m = measure_image(s.image, method="classical", um_per_px=5.5)
    assert "low_contrast_hair" in m.quality_flags


def test_overlays_not_counted_and_flagged():
    s = synthesize(**SMALL, overlays=True, seed=4)
    m = measure_image(s.image, method="classical", um_per_px=5.5)
    assert "overlay_burned_in" in m.quality_flags
    assert abs(m.hair_count - s.hair_count) <= max(2, 0.3 * s.hair_count)


def test_result_shape_and_overlay():
    s = synthesize(**SMALL, seed=2)
    m = measure_image(s.image, method="classical", um_per_px=5.5, name="site.png")
    d = m.to_dict()
    for key in (
        "image",
        "hair_count",
        "area_cm2",
        "density_per_cm2",
        "diameter_um",
        "terminal_count",
        "vellus_count",
        "follicular_units",
        "quality_flags",
        "seconds",
    ):
        assert key in d
    assert set(d["diameter_um"]) >= {"median", "p10", "p90"}
    assert sum(int(k[0]) * v for k, v in d["follicular_units"].items() if k != "4+") <= m.hair_count
    assert m.terminal_count + m.vellus_count + m.unknown_diameter_count == m.hair_count
    ov = render_overlay(s.image, m)
    assert ov.shape == s.image.shape and not np.array_equal(ov, s.image)


def test_blur_flag():
    s = synthesize(**SMALL, blur_px=6.0, seed=2)
    assert "blurred" in measure_image(s.image, method="classical", um_per_px=5.5).quality_flags


def test_units_grouping_brute_force(rng):
    pts = rng.uniform(0, 2000, size=(25, 2))
    comp = np.arange(25)
    lab = group_units(pts, comp, link_distance_um=300.0)
    # brute force: connected components of the "closer than 300 um" graph
    adj = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)) <= 300.0
    seen, groups = set(), []
    for i in range(25):
        if i in seen:
            continue
        stack, g = [i], set()
        while stack:
            j = stack.pop()
            if j in g:
                continue
            g.add(j)
            stack.extend(np.nonzero(adj[j])[0].tolist())
        seen |= g
        groups.append(g)
    assert len(set(lab.tolist())) == len(groups)
    for g in groups:
        assert len({lab[i] for i in g}) == 1
    assert unit_histogram(np.array([0, 0, 1, 2, 2, 2, 3, 3, 3, 3, 3])) == {"1": 1, "2": 1, "3": 1, "4+": 1}
    # hairs of one detected region always share a unit even when far apart
    assert len(set(group_units(np.array([[0.0, 0.0], [5000.0, 0.0]]), np.array([7, 7])).tolist())) == 1


def test_bad_synthesis_args():
    with pytest.raises(InputError, match="hair_colour"):
        synthesize(hair_colour="green")


@pytest.mark.parametrize(
    "bad",
    [{"count_edge_rule": "inside"}, {"edge_min_visible_um": -1.0}, {"edge_min_visible_um": float("nan")}],
)
def test_counting_rule_settings_validated(bad):
    s = synthesize(**SMALL, seed=0)
    with pytest.raises(InputError, match=r"count_edge_rule|edge_min_visible_um"):
        measure_image(s.image, method="classical", um_per_px=5.5, settings=DetectorSettings(**bad))
