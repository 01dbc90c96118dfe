"""Training targets of the learned hair detector (NumPy only; shared by synthetic and Pascal-VOC data).

The detector predicts, on a grid ``OUTPUT_STRIDE`` times coarser than its input (see ``_detector``):

- a heat map of visible-shaft mid-points (a Gaussian of ``HEAT_SIGMA_CELLS`` per hair),
- at each mid-point: the sub-cell offset, log visible length, the shaft's axis as (cos 2a, sin 2a) (an
  orientation without a sign, continuous in a), log shaft diameter, and the unit direction from exit to
  tip, which only decides which end of the axis is the tip (all in input pixels).

A labelled object is either a *hair* (synthetic: mid-point, direction, visible length, diameter known)
or a *box* (Pascal-VOC: only the axis-aligned box around the shaft is known, so the loss compares the
box implied by length, direction and diameter with it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "HEAT_SIGMA_CELLS",
    "MAX_OBJECTS",
    "N_VALUES",
    "OUTPUT_STRIDE",
    "Targets",
    "boxes_to_targets",
    "hairs_to_targets",
    "implied_box",
]

#: Output cells per input pixel: heads run at half the input resolution.
OUTPUT_STRIDE = 2
#: Spread of a hair's heat-map peak in output cells (hairs of one unit lie 3-5 cells apart).
HEAT_SIGMA_CELLS = 1.0
#: Regression targets per object (see ``Targets.values``).
N_VALUES = 10
#: Objects per training crop (more are dropped; a 192-px crop at 11 um/px holds about 30 at most).
MAX_OBJECTS = 96


@dataclass
class Targets:
    """Dense and per-object targets of one crop (output grid ``(H // 2, W // 2)``)."""

    heat: np.ndarray  # (h, w) float32 in [0, 1]
    weight: np.ndarray  # (h, w) float32: 0 where the heat map is ignored
    index: np.ndarray  # (K,) int64 flat output-cell index of each object
    values: (
        np.ndarray
    )  # (K, 10) float32: off_x, off_y, log_len, cos2a, sin2a, log_diam, log_box_w, log_box_h, dir_x, dir_y
    kind: np.ndarray  # (K,) int8: 0 padding, 1 hair (all values), 2 box (offsets and box only)


def implied_box(length: np.ndarray, direction: np.ndarray, diameter: np.ndarray) -> np.ndarray:
    """Width and height of the axis-aligned box around a straight shaft (all in pixels).

    ``box_w = L |dx| + d |dy|``, ``box_h = L |dy| + d |dx|`` for a shaft of length L, diameter d and unit
    direction (dx, dy).
    """
    dx, dy = np.abs(direction[..., 0]), np.abs(direction[..., 1])
    return np.stack([length * dx + diameter * dy, length * dy + diameter * dx], axis=-1)


def _splat(heat: np.ndarray, cx: float, cy: float, sigma: float) -> None:
    h, w = heat.shape
    r = int(np.ceil(3 * sigma))
    ix, iy = int(cx), int(cy)
    x0, x1, y0, y1 = max(ix - r, 0), min(ix + r + 1, w), max(iy - r, 0), min(iy + r + 1, h)
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    # the peak (value 1) sits on the object's own cell, so the 3x3 maximum finds it there
    g = np.exp(-((xx - ix) ** 2 + (yy - iy) ** 2) / (2 * sigma**2)).astype(np.float32)
    np.maximum(heat[y0:y1, x0:x1], g, out=heat[y0:y1, x0:x1])


def _empty(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, list, list, list]:
    h, w = shape[0] // OUTPUT_STRIDE, shape[1] // OUTPUT_STRIDE
    return np.zeros((h, w), np.float32), np.ones((h, w), np.float32), [], [], []


def _pack(heat, weight, idx, vals, kinds) -> Targets:
    k = min(len(idx), MAX_OBJECTS)
    index = np.zeros(MAX_OBJECTS, np.int64)
    values = np.zeros((MAX_OBJECTS, N_VALUES), np.float32)
    kind = np.zeros(MAX_OBJECTS, np.int8)
    if k:
        index[:k] = idx[:k]
        values[:k] = np.array(vals[:k], np.float32)
        kind[:k] = kinds[:k]
    return Targets(heat=heat, weight=weight, index=index, values=values, kind=kind)


def hairs_to_targets(
    shape: tuple[int, int],
    mids_px: np.ndarray,
    directions: np.ndarray,
    lengths_px: np.ndarray,
    diameters_px: np.ndarray,
    *,
    ignore_px: np.ndarray | None = None,
) -> Targets:
    """Targets from exact hairs (input-pixel units).

    Parameters
    ----------
    shape : (int, int)
        Input crop height and width (multiples of ``OUTPUT_STRIDE``).
    mids_px : (N, 2)
        Mid-points of the visible shafts.
    directions : (N, 2)
        Unit vectors from the exit end to the tip end.
    lengths_px, diameters_px : (N,)
        Visible lengths and shaft diameters.
    ignore_px : (M, 2), optional
        Points around which the heat map carries no loss (slivers too short to call hair or no hair).
    """
    heat, weight, idx, vals, kinds = _empty(shape)
    h, w = heat.shape
    for p in np.asarray(ignore_px if ignore_px is not None else np.zeros((0, 2))).reshape(-1, 2):
        cx, cy = int(p[0] / OUTPUT_STRIDE), int(p[1] / OUTPUT_STRIDE)
        weight[max(cy - 2, 0) : cy + 3, max(cx - 2, 0) : cx + 3] = 0.0
    box = implied_box(
        np.asarray(lengths_px, float), np.asarray(directions, float), np.asarray(diameters_px, float)
    )
    for (mx, my), d, ln, dia, (bw, bh) in zip(
        mids_px, directions, lengths_px, diameters_px, box, strict=True
    ):
        cx, cy = mx / OUTPUT_STRIDE, my / OUTPUT_STRIDE
        ix, iy = int(cx), int(cy)
        if not (0 <= ix < w and 0 <= iy < h):
            continue
        _splat(heat, cx, cy, HEAT_SIGMA_CELLS)
        idx.append(iy * w + ix)
        a = np.arctan2(d[1], d[0])
        vals.append(
            [
                cx - ix,
                cy - iy,
                np.log(max(ln, 0.5)),
                np.cos(2 * a),
                np.sin(2 * a),
                np.log(max(dia, 0.3)),
                np.log(max(bw, 0.5)),
                np.log(max(bh, 0.5)),
                d[0],
                d[1],
            ]
        )
        kinds.append(1)
    return _pack(heat, weight, idx, vals, kinds)


def boxes_to_targets(shape: tuple[int, int], boxes_px: np.ndarray) -> Targets:
    """Targets from axis-aligned boxes ``(x0, y0, x1, y1)`` around hair shafts (input-pixel units)."""
    heat, weight, idx, vals, kinds = _empty(shape)
    h, w = heat.shape
    for x0, y0, x1, y1 in np.asarray(boxes_px, float).reshape(-1, 4):
        cx, cy = (x0 + x1) / 2 / OUTPUT_STRIDE, (y0 + y1) / 2 / OUTPUT_STRIDE
        ix, iy = int(cx), int(cy)
        if not (0 <= ix < w and 0 <= iy < h):
            continue
        _splat(heat, cx, cy, HEAT_SIGMA_CELLS)
        idx.append(iy * w + ix)
        vals.append(
            [cx - ix, cy - iy, 0, 0, 0, 0, np.log(max(x1 - x0, 0.5)), np.log(max(y1 - y0, 0.5)), 0, 0]
        )
        kinds.append(2)
    return _pack(heat, weight, idx, vals, kinds)
