"""Agreement with manual annotations (Pascal-VOC boxes): counts and detections."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import pearsonr

from regrow.errors import EstimationError, InputError, NotFoundError

from ._calibration import Calibration
from ._result import Measurement

__all__ = [
    "DEFAULT_MATCH_DISTANCE_UM",
    "Evaluation",
    "agreement_plot",
    "evaluate_counts",
    "evaluate_directory",
    "match_points",
    "read_voc_boxes",
]

#: A detected hair matches an annotated box when the hair's mid-point lies within this distance of the
#: box centre (about half a clipped stub's length at 70x).
DEFAULT_MATCH_DISTANCE_UM = 150.0
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")


def read_voc_boxes(path: str | os.PathLike[str]) -> list[tuple[float, float, float, float, str]]:
    """Read the boxes of one Pascal-VOC XML file as (xmin, ymin, xmax, ymax, label), coordinates sorted.

    The label is taken from ``<name>`` or, as in the FDU set, ``<class>``. Swapped min/max are sorted.

    Raises
    ------
    DataFileError
        Not XML, or a box with a missing/non-numeric coordinate (names the object index and field).
    """
    from ._voc import parse_voc

    boxes, labels, _, _ = parse_voc(path)
    return [
        (float(b[0]), float(b[1]), float(b[2]), float(b[3]), lb) for b, lb in zip(boxes, labels, strict=True)
    ]


def match_points(pred: np.ndarray, truth: np.ndarray, max_distance: float) -> tuple[int, int, int]:
    """One-to-one matching (Hungarian, minimum total distance) within ``max_distance``.

    Returns
    -------
    (int, int, int)
        True positives, false positives (unmatched predictions), false negatives (unmatched truths).
    """
    pred = np.asarray(pred, float).reshape(-1, 2)
    truth = np.asarray(truth, float).reshape(-1, 2)
    if len(pred) == 0 or len(truth) == 0:
        return 0, len(pred), len(truth)
    dist = np.hypot(pred[:, None, 0] - truth[None, :, 0], pred[:, None, 1] - truth[None, :, 1])
    cost = np.where(dist <= max_distance, dist, 1e9)
    r, c = linear_sum_assignment(cost)
    tp = int(np.sum(dist[r, c] <= max_distance))
    return tp, len(pred) - tp, len(truth) - tp


@dataclass
class Evaluation:
    """Agreement of predicted with annotated hair counts (and detections when points are given)."""

    n_images: int
    count_mae: float
    mean_relative_error: float
    pearson_r: float | None
    bland_altman_bias: float
    bland_altman_sd: float
    bland_altman_loa_low: float
    bland_altman_loa_high: float
    baseline_mean_count_mae: float
    precision: float | None = None
    recall: float | None = None
    match_distance_px: float | None = None
    per_image: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, *, include_per_image: bool = True) -> dict[str, Any]:
        d = asdict(self)
        if not include_per_image:
            d.pop("per_image")
        return d


def evaluate_counts(
    predicted: np.ndarray,
    truth: np.ndarray,
    *,
    tp_fp_fn: np.ndarray | None = None,
    names: list[str] | None = None,
    match_distance_px: float | None = None,
) -> Evaluation:
    """Count agreement statistics.

    MAE = mean |pred - truth|; mean relative error = mean(|pred - truth| / truth) over truth > 0;
    Pearson r (None when either side is constant); Bland-Altman bias = mean(pred - truth) with limits of
    agreement bias +/- 1.96 SD (Bland & Altman, Lancet 1986;327:307, doi:10.1016/S0140-6736(86)90837-8);
    the baseline predicts the mean annotated count for every image.

    Raises
    ------
    InputError
        Lengths differ or fewer than 2 images.
    """
    p = np.asarray(predicted, float)
    t = np.asarray(truth, float)
    if p.shape != t.shape or p.ndim != 1:
        raise InputError.invalid("predicted/truth", (p.shape, t.shape), "two 1-D arrays of equal length")
    if len(p) < 2:
        raise InputError.invalid("images", len(p), "at least 2 annotated images")
    e = p - t
    pos = t > 0
    r = None
    if np.ptp(p) > 0 and np.ptp(t) > 0:
        r = float(pearsonr(p, t).statistic)
    sd = float(np.std(e, ddof=1))
    per = []
    for i in range(len(p)):
        row: dict[str, Any] = {"image": names[i] if names else str(i), "predicted": p[i], "truth": t[i]}
        if tp_fp_fn is not None:
            row.update(dict(zip(("tp", "fp", "fn"), (int(v) for v in tp_fp_fn[i]), strict=True)))
        per.append(row)
    prec = rec = None
    if tp_fp_fn is not None:
        tp, fp, fn = np.asarray(tp_fp_fn).sum(axis=0)
        prec = float(tp / (tp + fp)) if tp + fp else None
        rec = float(tp / (tp + fn)) if tp + fn else None
    return Evaluation(
        n_images=len(p),
        count_mae=float(np.mean(np.abs(e))),
        mean_relative_error=float(np.mean(np.abs(e[pos]) / t[pos])) if pos.any() else float("nan"),
        pearson_r=r,
        bland_altman_bias=float(e.mean()),
        bland_altman_sd=sd,
        bland_altman_loa_low=float(e.mean() - 1.96 * sd),
        bland_altman_loa_high=float(e.mean() + 1.96 * sd),
        baseline_mean_count_mae=float(np.mean(np.abs(t - t.mean()))),
        precision=prec,
        recall=rec,
        match_distance_px=match_distance_px,
        per_image=per,
    )


def _pairs(directory: Path) -> list[tuple[Path, Path]]:
    img_dir = directory / "images" if (directory / "images").is_dir() else directory
    ann_dir = directory / "annotations" if (directory / "annotations").is_dir() else directory
    pairs = []
    for img in sorted(img_dir.iterdir()):
        if img.suffix.lower() in _IMAGE_SUFFIXES:
            xml = ann_dir / f"{img.stem}.xml"
            if xml.is_file():
                pairs.append((img, xml))
    return pairs


def evaluate_directory(
    directory: str | os.PathLike[str],
    *,
    calibration: Calibration,
    predictions: dict[str, Measurement] | None = None,
    match_distance_um: float = DEFAULT_MATCH_DISTANCE_UM,
    workers: int = 1,
    plot: str | os.PathLike[str] | None = None,
    progress: bool = False,
    **options: Any,
) -> Evaluation:
    """Measure every annotated image in ``directory`` and score it against its Pascal-VOC boxes.

    ``directory`` holds ``images/`` and ``annotations/`` (the FDU layout) or both kinds of file side by
    side; an image counts when ``<stem>.xml`` exists. Every box is one hair; a detected hair (its
    mid-point) matches a box centre within ``match_distance_um``.

    Raises
    ------
    NotFoundError
        No directory or no annotated image in it.
    EstimationError
        Fewer than 2 images could be measured.
    """
    d = Path(directory)
    if not d.is_dir():
        raise NotFoundError(f"Directory {str(d)!r} does not exist.")
    pairs = _pairs(d)
    if not pairs:
        raise NotFoundError(f"No image with a matching Pascal-VOC .xml file in {str(d)!r}.")
    if not np.isfinite(match_distance_um) or match_distance_um <= 0:
        raise InputError.invalid("match_distance_um", match_distance_um, "a positive number of um")
    from ._batch import measure_batch

    todo = [img for img, _ in pairs if predictions is None or str(img) not in predictions]
    measured = dict(predictions or {})
    for item in measure_batch(todo, calibration=calibration, workers=workers, progress=progress, **options):
        if item.measurement is not None:
            measured[item.path] = item.measurement
    pred, truth, tpf, names = [], [], [], []
    max_px = match_distance_um / calibration.um_per_px
    for img, xml in pairs:
        m = measured.get(str(img))
        if m is None:
            continue
        boxes = read_voc_boxes(xml)
        gt = np.array([[(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] for b in boxes]).reshape(-1, 2)
        pts = np.array(
            [[(h.exit_x_px + h.tip_x_px) / 2, (h.exit_y_px + h.tip_y_px) / 2] for h in m.hairs if h.counted]
        ).reshape(-1, 2)
        pred.append(m.hair_count)
        truth.append(len(boxes))
        tpf.append(match_points(pts, gt, max_px))
        names.append(img.name)
    if len(pred) < 2:
        raise EstimationError(f"Only {len(pred)} image(s) in {str(d)!r} could be measured; need at least 2.")
    ev = evaluate_counts(
        np.array(pred), np.array(truth), tp_fp_fn=np.array(tpf), names=names, match_distance_px=max_px
    )
    if plot is not None:
        agreement_plot(ev, plot)
    return ev


def agreement_plot(evaluation: Evaluation, path: str | os.PathLike[str]) -> Path:
    """Write a two-panel agreement figure: predicted vs annotated counts, and a Bland-Altman plot.

    Returns
    -------
    pathlib.Path
        The image written (format from the suffix, e.g. .png or .svg).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    p = np.array([r["predicted"] for r in evaluation.per_image], float)
    t = np.array([r["truth"] for r in evaluation.per_image], float)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.4))
    lim = [0, max(p.max(initial=1), t.max(initial=1)) * 1.1]
    a1.scatter(t, p, s=14, alpha=0.6)
    a1.plot(lim, lim, "k--", lw=1)
    a1.set(xlim=lim, ylim=lim, xlabel="annotated hairs per image", ylabel="measured hairs per image")
    r = evaluation.pearson_r
    a1.set_title(
        f"MAE {evaluation.count_mae:.2f}, r {r:.3f}" if r is not None else f"MAE {evaluation.count_mae:.2f}"
    )
    mean, diff = (p + t) / 2, p - t
    a2.scatter(mean, diff, s=14, alpha=0.6)
    for y, style in (
        (evaluation.bland_altman_bias, "-"),
        (evaluation.bland_altman_loa_low, "--"),
        (evaluation.bland_altman_loa_high, "--"),
    ):
        a2.axhline(y, color="k", ls=style, lw=1)
    a2.set(xlabel="mean of measured and annotated", ylabel="measured - annotated")
    a2.set_title(
        f"bias {evaluation.bland_altman_bias:+.2f}, limits "
        f"[{evaluation.bland_altman_loa_low:.1f}, {evaluation.bland_altman_loa_high:.1f}]"
    )
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
