"""Running a torch detector on whole images, matching detections to labels, and calibrating scores."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from .._detector import _pad16, decode_maps, preprocess, to_working

__all__ = ["ImagePeaks", "calibrate_scores", "count_stats", "peaks_of", "score_table", "to_working"]


@dataclass
class ImagePeaks:
    """Heat-map peaks of one working-scale image and the matching truth (points in working px)."""

    score: np.ndarray
    mid: np.ndarray
    length: np.ndarray
    cut: np.ndarray
    truth: np.ndarray  # (M, 2) truth mid-points (hairs that count, or box centres)
    truth_count: int


def peaks_of(
    net: torch.nn.Module, image_work: np.ndarray, *, min_score: float = 0.05
) -> dict[str, np.ndarray]:
    """Decoded peaks of one working-scale RGB image (``net`` in eval mode, no gradients)."""
    x = torch.from_numpy(_pad16(preprocess(image_work))[None])
    with torch.no_grad():
        maps = net(x)[0].numpy()
    det = decode_maps(maps, threshold=min_score)
    h, w = image_work.shape[:2]
    keep = (det["mid"][:, 0] < w) & (det["mid"][:, 1] < h)
    det = {k: v[keep] for k, v in det.items()}
    e0 = det["mid"] - det["direction"] * det["length"][:, None] / 2
    e1 = det["mid"] + det["direction"] * det["length"][:, None] / 2
    lo = np.minimum(e0, e1)
    hi = np.maximum(e0, e1)
    det["cut"] = (lo.min(axis=1) < 1.5) | (hi[:, 0] > w - 2.5) | (hi[:, 1] > h - 2.5)
    return det


def _match(pred: np.ndarray, truth: np.ndarray, radius: float) -> np.ndarray:
    """Boolean per prediction: matched one-to-one (Hungarian) to a truth point within ``radius``."""
    ok = np.zeros(len(pred), bool)
    if len(pred) == 0 or len(truth) == 0:
        return ok
    d = np.hypot(pred[:, None, 0] - truth[None, :, 0], pred[:, None, 1] - truth[None, :, 1])
    r, c = linear_sum_assignment(np.where(d <= radius, d, 1e6))
    ok[r[d[r, c] <= radius]] = True
    return ok


def counted(p: ImagePeaks, threshold: float, edge_min_px: float) -> int:
    """Count under a threshold and an edge rule (cut shafts need ``edge_min_px`` visible)."""
    keep = (p.score >= threshold) & (~p.cut | (p.length >= edge_min_px))
    return int(keep.sum())


def count_stats(peaks: Sequence[ImagePeaks], threshold: float, edge_min_px: float) -> dict[str, float]:
    """Count MAE, Pearson r and bias of a threshold/edge rule over images."""
    pred = np.array([counted(p, threshold, edge_min_px) for p in peaks], float)
    truth = np.array([p.truth_count for p in peaks], float)
    r = (
        float(np.corrcoef(pred, truth)[0, 1])
        if len(pred) > 1 and np.ptp(pred) > 0 and np.ptp(truth) > 0
        else float("nan")
    )
    return {
        "mae": float(np.mean(np.abs(pred - truth))),
        "r": r,
        "bias": float(np.mean(pred - truth)),
        "n": len(pred),
    }


def score_table(
    peaks: Sequence[ImagePeaks], radius: float, edge_min_px: float, bins: int = 12
) -> list[list[float]]:
    """Score -> probability table: the fraction of peaks (in score bins) that match a truth point.

    Made monotone (pooled adjacent violators) so a higher score never means a lower probability.
    """
    scores, hits = [], []
    for p in peaks:
        elig = ~p.cut | (p.length >= edge_min_px)
        ok = _match(p.mid[elig], p.truth, radius)
        scores.append(p.score[elig])
        hits.append(ok)
    s = np.concatenate(scores) if scores else np.zeros(0)
    y = np.concatenate(hits).astype(float) if hits else np.zeros(0)
    if len(s) < 20:
        return []
    qs = np.unique(np.quantile(s, np.linspace(0, 1, bins + 1)))
    xs, ps, ws = [], [], []
    for a, b in itertools.pairwise(qs):
        m = (s >= a) & (s <= b)
        if m.any():
            xs.append(float(s[m].mean()))
            ps.append(float(y[m].mean()))
            ws.append(float(m.sum()))
    # pool adjacent violators
    blocks = [[x, p, w] for x, p, w in zip(xs, ps, ws, strict=True)]
    i = 0
    while i < len(blocks) - 1:
        if blocks[i][1] > blocks[i + 1][1]:
            x0, p0, w0 = blocks[i]
            x1, p1, w1 = blocks.pop(i + 1)
            blocks[i] = [(x0 * w0 + x1 * w1) / (w0 + w1), (p0 * w0 + p1 * w1) / (w0 + w1), w0 + w1]
            i = max(i - 1, 0)
        else:
            i += 1
    return [[round(b[0], 4), round(b[1], 4)] for b in blocks]


def calibrate_scores(
    peaks: Sequence[ImagePeaks], threshold: float, edge_min_px: float, radius: float
) -> tuple[list[list[float]], float]:
    """Score table and the count's residual SD beyond the Bernoulli spread of the candidates (hairs)."""
    table = score_table(peaks, radius, edge_min_px)
    if not table:
        return [], 0.0
    xs, ps = np.array(table).T
    resid2, var = [], []
    for p in peaks:
        elig = ~p.cut | (p.length >= edge_min_px)
        prob = np.interp(p.score[elig], xs, ps)
        var.append(float(np.sum(prob * (1 - prob))))
        resid2.append((counted(p, threshold, edge_min_px) - p.truth_count) ** 2)
    return table, float(np.sqrt(max(0.0, np.mean(resid2) - np.mean(var))))
