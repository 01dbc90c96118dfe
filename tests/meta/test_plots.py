"""Forest, funnel and bubble plots: the drawn geometry equals independently computed numbers.

Numbers come from the metafor 3.8-1 references (pooled estimates, intervals, weights, meta-regression
predictions, the subgroup test) and from closed forms computed here (study intervals yi +/- z sqrt(vi), the
funnel edges c +/- z se with z the normal quantiles written out below).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from metafor_refs import CLOSED_FORM_RTOL, ITERATIVE_RTOL, load_dataset, load_reference, reference_yi_vi

from regrow.errors import InputError
from regrow.meta._plots import plot_bubble, save
from regrow.meta._plots_forest import plot_forest, subgroup_difference_test
from regrow.meta._plots_funnel import plot_funnel
from regrow.meta._rma import rma

#: Plots draw reference numbers but check no reference section in full (those belong to the engine tests).
CHECKED_SECTIONS: set[str] = set()

#: Two-sided standard-normal quantiles z_{1 - a/2} for 90, 95 and 99 % (tables; 12 significant digits).
Z_90, Z_95, Z_99 = 1.64485362695, 1.95996398454, 2.57582930355


def _artist(fig: Figure, gid: str):
    found = [a for a in fig.findobj() if a.get_gid() == gid]
    assert len(found) == 1, f"expected one artist {gid!r}, found {len(found)}"
    return found[0]


def _bcg():
    yi, vi = reference_yi_vi("bcg_RR")
    dat = load_dataset("dat.bcg")
    slab = [f"{a} {y}" for a, y in zip(dat["author"], dat["year"], strict=True)]
    return yi, vi, dat, slab


@pytest.fixture(scope="module")
def bcg_reml():
    yi, vi, dat, slab = _bcg()
    return rma(yi, vi, slab=slab), dat


# ---- forest ---------------------------------------------------------------------------------------------


def test_forest_rows_points_and_intervals_are_the_studies(bcg_reml):
    res, _ = bcg_reml
    fig = plot_forest(res, transf="exp", measure="Risk Ratio")
    points = _artist(fig, "study_points")
    assert isinstance(points, PathCollection)
    offsets = np.asarray(points.get_offsets())
    assert offsets.shape == (res.k, 2)
    np.testing.assert_allclose(offsets[:, 0], np.exp(res.yi), rtol=1e-12)
    # Rows top to bottom in the data order, one row apart.
    np.testing.assert_allclose(np.diff(offsets[:, 1]), -1.0)
    segments = _artist(fig, "study_ci")
    assert isinstance(segments, LineCollection)
    segs = np.asarray(segments.get_segments())
    half = Z_95 * np.sqrt(res.vi)
    np.testing.assert_allclose(segs[:, 0, 0], np.exp(res.yi - half), rtol=1e-9)
    np.testing.assert_allclose(segs[:, 1, 0], np.exp(res.yi + half), rtol=1e-9)
    np.testing.assert_allclose(segs[:, 0, 1], offsets[:, 1])
    assert fig.axes[0].get_xscale() == "log"


def test_forest_diamond_and_prediction_interval_equal_metafor(bcg_reml):
    res, _ = bcg_reml
    ref = load_reference("bcg_RR")["predict"]["REML_transf"]
    fig = plot_forest(res, transf="exp", measure="Risk Ratio")
    diamond = _artist(fig, "diamond")
    assert isinstance(diamond, Polygon)
    xy = diamond.get_xy()[:4]
    lb, top, ub, bottom = xy
    np.testing.assert_allclose([lb[0], ub[0]], [ref["ci.lb"][0], ref["ci.ub"][0]], rtol=ITERATIVE_RTOL)
    np.testing.assert_allclose([top[0], bottom[0]], [ref["pred"][0]] * 2, rtol=ITERATIVE_RTOL)
    assert lb[1] == ub[1] and top[1] > lb[1] > bottom[1]
    pi = _artist(fig, "pred_interval")
    np.testing.assert_allclose(pi.get_xdata(), [ref["pi.lb"][0], ref["pi.ub"][0]], rtol=ITERATIVE_RTOL)
    ref_line = _artist(fig, "refline")
    np.testing.assert_allclose(ref_line.get_segments()[0][:, 0], [1.0, 1.0])  # the null for ratios


def test_forest_text_columns_show_weights_and_intervals(bcg_reml):
    res, _ = bcg_reml
    ref = load_reference("bcg_RR")
    fig = plot_forest(res, transf="exp", measure="Risk Ratio")
    texts = [t.get_text() for t in fig.texts]
    for pct in ref["models"]["REML"]["weights_pct"]:
        assert f"{pct:.1f}%" in texts
    # metafor's own printed column for Aronson 1948: "0.41 [0.13, 1.26]" (plots/bcg_RR_forest_REML.png).
    assert "0.41 [0.13, 1.26]" in texts
    assert "Aronson 1948" in texts and "Risk Ratio [95% CI]" in texts
    pooled = ref["predict"]["REML_transf"]
    assert f"{pooled['pred'][0]:.2f} [{pooled['ci.lb'][0]:.2f}, {pooled['ci.ub'][0]:.2f}]" in texts


def test_forest_subgroups_have_their_own_diamonds_and_the_difference_test(bcg_reml):
    res, dat = bcg_reml
    block = load_reference("bcg_RR")["subgroup"]["alloc"]["separate_tau2"]["REML"]
    fig = plot_forest(res, transf="exp", subgroups=dat["alloc"])
    for level, values in block["per_level"].items():
        xy = _artist(fig, f"diamond:{level}").get_xy()[:4]
        np.testing.assert_allclose(
            np.log([xy[0][0], xy[1][0], xy[2][0]]),
            [values["ci.lb"], values["estimate"], values["ci.ub"]],
            rtol=ITERATIVE_RTOL,
        )
    test = block["test_for_subgroup_differences"]
    line = (
        f"Test for subgroup differences: Q = {test['Q_between']:.2f}, df = {test['df']}, "
        f"p = {test['pval']:.2f}"
    )
    assert line in [t.get_text() for t in fig.texts]
    # Study rows keep their count; group headers and subgroup rows are extra.
    assert np.asarray(_artist(fig, "study_points").get_offsets()).shape == (res.k, 2)


def test_subgroup_difference_test_equals_metafor_on_its_own_estimates():
    block = load_reference("bcg_RR")["subgroup"]["alloc"]["separate_tau2"]["REML"]
    levels = block["per_level"].values()
    out = subgroup_difference_test([v["estimate"] for v in levels], [v["se"] for v in levels])
    ref = block["test_for_subgroup_differences"]
    np.testing.assert_allclose([out.Q, out.pval], [ref["Q_between"], ref["pval"]], rtol=CLOSED_FORM_RTOL)
    assert out.df == ref["df"]


def test_forest_40_plus_labels_do_not_overlap_and_stay_legible():
    rng = np.random.default_rng(41)
    k = 45
    res = rma(
        rng.normal(0.3, 0.3, k),
        rng.uniform(0.01, 0.2, k),
        slab=[f"Investigator{'x' * (i % 9)} et al. {1980 + i}" for i in range(k)],
    )
    fig = plot_forest(res, measure="SMD")
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    boxes = np.array([t.get_window_extent(renderer).extents for t in fig.texts if t.get_text()])
    assert len(boxes) >= 3 * k
    x0, y0, x1, y1 = (boxes[:, j] for j in range(4))
    overlap = (
        (x0[:, None] < x1[None, :])
        & (x0[None, :] < x1[:, None])
        & (y0[:, None] < y1[None, :])
        & (y0[None, :] < y1[:, None])
    )
    np.fill_diagonal(overlap, False)
    assert not overlap.any(), "two text labels overlap"
    assert min(t.get_fontsize() for t in fig.texts) >= 8
    assert fig.axes[0].get_xscale() == "linear"


def test_forest_fixed_effect_has_no_prediction_interval():
    yi, vi, _, slab = _bcg()
    fig = plot_forest(rma(yi, vi, method="FE", slab=slab))
    assert not [a for a in fig.findobj() if a.get_gid() == "pred_interval"]
    assert "Fixed-effect model" in [t.get_text() for t in fig.texts]


def test_forest_without_the_pooled_estimate_shows_only_the_studies():
    yi, vi, _, slab = _bcg()
    fig = plot_forest(rma(yi, vi, method="REML", slab=slab), show_pooled=False)
    gids = {a.get_gid() for a in fig.findobj()}
    assert "study_points" in gids and not gids & {"diamond", "pred_interval"}
    texts = [t.get_text() for t in fig.texts]
    assert not any(t.startswith(("Random-effects model", "Heterogeneity")) for t in texts)
    assert set(slab) <= set(texts)


def test_forest_rejects_a_meta_regression_and_bad_lengths(bcg_reml):
    res, dat = bcg_reml
    mr = rma(res.yi, res.vi, mods=dat[["ablat"]])
    with pytest.raises(InputError, match="without moderators"):
        plot_forest(mr)
    with pytest.raises(InputError, match="slab has 2 labels"):
        plot_forest(res, slab=["a", "b"])
    with pytest.raises(InputError, match="subgroups has 3 entries"):
        plot_forest(res, subgroups=["a", "b", "a"])
    with pytest.raises(InputError, match="transf"):
        plot_forest(res, transf="log")


# ---- funnel ---------------------------------------------------------------------------------------------


def test_funnel_points_triangle_apex_and_edges(bcg_reml):
    res, _ = bcg_reml
    fig = plot_funnel(res, xlab="Log risk ratio")
    ax = fig.axes[0]
    pts = np.asarray(_artist(fig, "studies").get_offsets())
    np.testing.assert_allclose(pts[:, 0], res.yi)
    np.testing.assert_allclose(pts[:, 1], np.sqrt(res.vi))
    bottom_left, apex, bottom_right = _artist(fig, "region_95").get_xy()[:3]
    beta = load_reference("bcg_RR")["models"]["REML"]["beta"]["intrcpt"]
    np.testing.assert_allclose(apex, [beta, 0.0], rtol=ITERATIVE_RTOL, atol=1e-12)
    se_bottom = bottom_left[1]
    assert se_bottom >= np.sqrt(res.vi).max()
    np.testing.assert_allclose(
        [bottom_left[0], bottom_right[0]],
        [beta - Z_95 * se_bottom, beta + Z_95 * se_bottom],
        rtol=ITERATIVE_RTOL,
    )
    lo, hi = ax.get_ylim()
    assert lo > hi == 0.0  # standard error increases downwards


def test_contour_funnel_regions_are_z_times_se_around_the_reference_line():
    yi, vi = reference_yi_vi("hackshaw1998_OR")
    res = rma(yi, vi, method="FE")
    fig = plot_funnel(res, level=(90, 95, 99), refline=0.0)
    for level, z in ((90, Z_90), (95, Z_95), (99, Z_99)):
        left, apex, right = _artist(fig, f"region_{level}").get_xy()[:3]
        np.testing.assert_allclose(apex, [0.0, 0.0], atol=1e-12)
        np.testing.assert_allclose([left[0], right[0]], [-z * left[1], z * right[1]], rtol=1e-9)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[:4] == ["0.10 < p ≤ 1.00", "0.05 < p ≤ 0.10", "0.01 < p ≤ 0.05", "0.00 < p ≤ 0.01"]
    np.testing.assert_allclose(_artist(fig, "refline").get_xdata(), [0.0, 0.0])


def test_funnel_filled_studies_are_hollow_and_placed_at_their_values(bcg_reml):
    res, _ = bcg_reml
    fill_yi, fill_vi = np.array([0.31, 0.1]), np.array([0.22, 0.05])
    fig = plot_funnel(res, filled_yi=fill_yi, filled_vi=fill_vi, refline=-0.65)
    filled = _artist(fig, "filled_studies")
    np.testing.assert_allclose(np.asarray(filled.get_offsets()), np.column_stack([fill_yi, np.sqrt(fill_vi)]))
    np.testing.assert_allclose(filled.get_facecolor()[0], [1.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(_artist(fig, "studies").get_facecolor()[0][:3], [0.0, 0.0, 0.0])
    assert _artist(fig, "region_95").get_xy()[1][0] == pytest.approx(-0.65)


def test_funnel_bad_input(bcg_reml):
    res, dat = bcg_reml
    with pytest.raises(InputError, match="without moderators"):
        plot_funnel(rma(res.yi, res.vi, mods=dat[["ablat"]]))
    with pytest.raises(InputError, match="filled_yi and filled_vi"):
        plot_funnel(res, filled_yi=[0.1])
    with pytest.raises(InputError, match="level"):
        plot_funnel(res, level=(95, 140))
    with pytest.raises(InputError, match="shade has 1"):
        plot_funnel(res, level=(90, 95), shade=["white"])
    with pytest.raises(InputError, match="vi > 0"):
        plot_funnel(res, filled_yi=[0.1], filled_vi=[-1.0])


# ---- bubble ---------------------------------------------------------------------------------------------


def test_bubble_line_and_bands_equal_metafor_predictions():
    yi, vi, dat, _ = _bcg()
    res = rma(yi, vi, mods=dat[["ablat"]])
    ref = load_reference("bcg_RR")["metareg"]["ablat"]
    model = ref["models"]["REML"]
    pred = ref["predict"]["REML"]
    fig = plot_bubble(res, transf="exp", show_pi=True, x_grid=pred["newmods"], refline=0.0)
    fit = _artist(fig, "fit")
    x = np.asarray(fit.get_xdata())
    np.testing.assert_allclose(x, pred["newmods"])
    line = model["beta"]["intrcpt"] + model["beta"]["ablat"] * x
    np.testing.assert_allclose(np.log(fit.get_ydata()), line, rtol=ITERATIVE_RTOL)
    for gid, key in (("ci_lb", "ci.lb"), ("ci_ub", "ci.ub"), ("pi_lb", "pi.lb"), ("pi_ub", "pi.ub")):
        np.testing.assert_allclose(np.log(_artist(fig, gid).get_ydata()), pred[key], rtol=ITERATIVE_RTOL)
    pts = np.asarray(_artist(fig, "studies").get_offsets())
    got = np.column_stack([pts[:, 0], np.log(pts[:, 1])])
    expected = np.column_stack([dat["ablat"].to_numpy(float), yi])
    got_order, exp_order = np.lexsort(got.T[::-1]), np.lexsort(expected.T[::-1])
    np.testing.assert_allclose(got[got_order], expected[exp_order], rtol=1e-12)
    # Bubble areas are proportional to the model weights (weights_pct from metafor).
    sizes = _artist(fig, "studies").get_sizes()[got_order]
    w = np.asarray(model["weights_pct"])[exp_order]
    np.testing.assert_allclose(sizes / sizes.max(), w / w.max(), rtol=ITERATIVE_RTOL)


def test_bubble_bad_input(bcg_reml):
    res, dat = bcg_reml
    with pytest.raises(InputError, match="no moderators"):
        plot_bubble(res)
    two = rma(res.yi, res.vi, mods=dat[["ablat", "year"]])
    with pytest.raises(InputError, match="moderator"):
        plot_bubble(two)
    assert isinstance(plot_bubble(two, moderator="year"), Figure)
    dummy = rma(res.yi, res.vi, mods=pd.DataFrame({"random": (dat["alloc"] == "random").astype(float)}))
    with pytest.raises(InputError, match="dummy"):
        plot_bubble(dummy)
    with pytest.raises(InputError, match="x_grid"):
        plot_bubble(two, moderator="year", x_grid=["a", "b"])


# ---- saving ---------------------------------------------------------------------------------------------


def test_save_writes_valid_png_and_svg(tmp_path, bcg_reml):
    res, _ = bcg_reml
    fig = plot_forest(res, transf="exp")
    png = save(fig, tmp_path / "forest.png", dpi=72)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = save(fig, tmp_path / "forest.SVG")
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert any(el.get("id") == "diamond" for el in root.iter())


def test_save_rejects_other_formats_and_missing_folders(tmp_path, bcg_reml):
    res, _ = bcg_reml
    fig = plot_funnel(res)
    with pytest.raises(InputError, match=r"\.png, \.svg or \.pdf"):
        save(fig, tmp_path / "funnel.jpg")
    with pytest.raises(InputError, match="does not exist"):
        save(fig, tmp_path / "nope" / "funnel.png")
    assert not (tmp_path / "funnel.jpg").exists()


def test_plots_do_not_use_pyplot_state(bcg_reml):
    import matplotlib.pyplot as plt

    res, _ = bcg_reml
    before = plt.get_fignums()
    plot_funnel(res)
    assert plt.get_fignums() == before


def test_forest_single_study_subgroup_has_no_diamond_but_enters_the_test():
    yi, vi, _, slab = _bcg()
    res = rma(yi, vi, slab=slab, method="DL")
    fig = plot_forest(res, subgroups=["A"] * 12 + ["B"])
    assert [a.get_gid() for a in fig.findobj() if str(a.get_gid()).startswith("diamond:")] == ["diamond:A"]
    group_a = rma(yi[:12], vi[:12], method="DL")  # the block's own fit, then Q between by hand
    est = np.array([group_a.beta[0], yi[12]])
    w = 1.0 / np.array([group_a.se[0] ** 2, vi[12]])
    q = float(np.sum(w * (est - np.sum(w * est) / np.sum(w)) ** 2))
    assert any(
        t.get_text().startswith(f"Test for subgroup differences: Q = {q:.2f}, df = 1") for t in fig.texts
    )


@pytest.mark.parametrize(
    ("order", "key"),
    [
        ("obs", lambda yi, vi, w, lab: yi),
        ("prec", lambda yi, vi, w, lab: vi),
        ("weight", lambda yi, vi, w, lab: -w),
        ("label", lambda yi, vi, w, lab: np.array([s.casefold() for s in lab])),
    ],
)
def test_forest_order_sorts_the_study_rows(bcg_reml, order, key):
    res, _ = bcg_reml
    fig = plot_forest(res, order=order)
    offsets = np.asarray(_artist(fig, "study_points").get_offsets())
    # rows top to bottom: the drawn effects in the order of the key (computed here from the data)
    expected = res.yi[np.argsort(key(res.yi, res.vi, res.weights_pct, list(res.slab)), kind="stable")]
    np.testing.assert_allclose(offsets[np.argsort(-offsets[:, 1]), 0], expected, rtol=1e-12)


def test_forest_order_rejects_an_unknown_order(bcg_reml):
    with pytest.raises(InputError, match="order"):
        plot_forest(bcg_reml[0], order="size")


def test_save_writes_pdf(bcg_reml, tmp_path):
    path = save(plot_forest(bcg_reml[0]), tmp_path / "forest.PDF")
    assert path.read_bytes().startswith(b"%PDF-")


def test_funnel_atransf_exp_labels_log_ratios_as_ratios(bcg_reml):
    res, _ = bcg_reml
    fig = plot_funnel(res, atransf="exp")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    positions = ax.get_xticks()
    assert "1" in labels
    # each label t sits at log(t): the points stay where the log ratios are, the axis reads as ratios
    np.testing.assert_allclose(positions, np.log([float(t) for t in labels]), rtol=1e-12)
    with pytest.raises(InputError, match="atransf"):
        plot_funnel(res, atransf="log")
