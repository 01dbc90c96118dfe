"""Hairs and the count's uncertainty from the learned detector (the ``"learned"`` method).

Counting rule: a heat-map peak at or above the model's threshold is a hair. A hair whose visible shaft
touches the frame edge counts when at least ``edge_min_visible_um`` of it is in view (the model's
``count_rule``; fine-tuned models learn their annotators' own edge convention and use 0).

Uncertainty: every peak with score >= 0.05 gets a calibrated probability p of being a hair (metadata
``score_calibration``, measured on held-out data). Treating the candidates as independent Bernoulli
trials, the variance of the count is sum p (1 - p); the model's residual error beyond that (metadata
``count_residual_sd``, measured the same way) is added in quadrature. ``count_se`` is the square root,
``count_interval`` the count +/- 1.96 SE (clipped at 0).
"""

from __future__ import annotations

import cv2
import numpy as np

from ._detector import HairModel
from ._result import Hair

__all__ = ["MIN_CANDIDATE_SCORE", "confidence_reasons", "learned_hairs"]

#: Peaks below this score are ignored entirely (they are almost never hairs, and they only add noise).
MIN_CANDIDATE_SCORE = 0.05
#: An image whose count SE exceeds this fraction of the count (or 1.5 hairs, whichever is larger) is
#: flagged: a 25 % standard error makes a single image too weak to show a 20 % change.
MAX_RELATIVE_SE = 0.25
#: Plain-language reasons for quality flags that make a count less reliable.
_REASONS = {
    "blurred": "the image is blurred, so thin or touching hairs may be missed",
    "underexposed": "the image is too dark",
    "overexposed": "much of the image is burned out (too bright)",
    "hair_not_clipped": "the hair was not clipped, so long shafts cross and hide each other",
    "too_few_hairs": "fewer than 10 hairs: chance alone moves such a count by a third",
    "coarse_resolution": "the pixels are too coarse for thin (vellus) hairs",
}


def learned_hairs(
    rgb: np.ndarray,
    um_per_px: float,
    model: HairModel,
    *,
    threshold: float | None = None,
    vellus_threshold_um: float,
) -> tuple[list[Hair], float, float]:
    """Detect hairs; returns (hairs with ``counted`` set, count standard error, working scale factor)."""
    thr = model.threshold if threshold is None else float(threshold)
    found, scale = model.detect(rgb, um_per_px, min_score=min(MIN_CANDIDATE_SCORE, thr))
    edge_min = float((model.meta.get("count_rule") or {}).get("edge_min_visible_um", 0.0))
    hairs: list[Hair] = []
    var = 0.0
    for h in found:
        eligible = not h.cut or h.length_px * um_per_px >= edge_min
        if eligible:
            var += h.probability * (1.0 - h.probability)
        if h.score < thr:
            continue
        d_um = None if h.diameter_px is None else h.diameter_px * um_per_px
        hairs.append(
            Hair(
                exit_x_px=h.exit_xy[0],
                exit_y_px=h.exit_xy[1],
                tip_x_px=h.tip_xy[0],
                tip_y_px=h.tip_xy[1],
                length_um=h.length_px * um_per_px,
                diameter_um=d_um,
                unit=0,
                counted=bool(eligible),
                terminal=None if d_um is None else bool(d_um > vellus_threshold_um),
                confidence=round(h.probability, 4),
            )
        )
    resid = float(model.meta.get("count_residual_sd", 0.0))
    return hairs, float(np.sqrt(var + resid**2)), scale


def sharpness(rgb_small: np.ndarray) -> float:
    """Steepest edges relative to the image's contrast range (1 / (edge width in px * sqrt(2 pi)))."""
    gray = cv2.GaussianBlur(cv2.cvtColor(rgb_small, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 1.0)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    grad = float(np.percentile(np.hypot(gx, gy), 99.9))
    lo, hi = np.percentile(gray, [0.5, 99.5])
    return grad / max(float(hi - lo), 1.0)


def confidence_reasons(flags: list[str], count: int, count_se: float | None) -> list[str]:
    """Plain-language reasons why an image's count should weigh less (empty when it is trustworthy)."""
    out = [_REASONS[f] for f in flags if f in _REASONS]
    if count_se is not None and count_se > max(1.5, MAX_RELATIVE_SE * count):
        out.append(f"the detector is unsure about several hairs (count {count} +/- {1.96 * count_se:.1f})")
    return out
