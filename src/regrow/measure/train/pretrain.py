"""Train the default detector from scratch on synthetic images only, and write it as an ONNX model file.

    regrow measure pretrain --out hairnet.onnx [--seed 0]
    python -m regrow.measure.train.pretrain --out hairnet.onnx

Recipe (every number is a default of :class:`PretrainConfig`, recorded in the model's metadata):

1. Render ``crops`` synthetic 192 x 192 training crops at the working scale (11.04 um/px, jittered
   -15 %..+20 %) with :func:`regrow.measure.synthesize_scalp` (seeds ``seed * 1_000_000 + i``).
2. Train :class:`HairNet` with AdamW and a one-cycle learning rate for ``steps`` steps of batch 16, with
   random flips/transpositions and colour jitter.
3. On ``calibration_images`` further synthetic full frames (1280 x 1024 at 2.76 um/px, seeds
   ``900_000_000 + seed * 10_000 + i``, never used for training) choose the score threshold with the
   lowest count error, and measure the score-to-probability table and residual count SD.
4. Export to ONNX (opset 17) with that metadata.

Everything is seeded; the same torch version and thread count gives the same model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .._synthetic_v2 import MIN_VISIBLE_UM, synthesize_scalp
from ._data import CropSet, render_synthetic_set
from ._evaluate import ImagePeaks, calibrate_scores, count_stats, peaks_of, to_working
from ._export import export_onnx
from ._fit import FitConfig, fit
from ._loss import detector_loss
from ._net import HairNet

__all__ = ["PretrainConfig", "main", "pretrain"]

WORK_UM_PER_PX = 11.04


@dataclass(frozen=True)
class PretrainConfig:
    """Settings of :func:`pretrain` (defaults: the shipped model)."""

    seed: int = 0
    crops: int = 5000
    steps: int = 2000
    batch_size: int = 16
    lr: float = 3e-3
    calibration_images: int = 120
    #: Counting rule stored in the model: a shaft cut by the frame counts with this much of it in view.
    edge_min_visible_um: float = 200.0
    threads: int = 2
    workers: int = 2


def _calibration_peaks(net: torch.nn.Module, cfg: PretrainConfig, log) -> list[ImagePeaks]:
    peaks = []
    for i in range(cfg.calibration_images):
        sc = synthesize_scalp(900_000_000 + cfg.seed * 10_000 + i)
        small, f, _ = to_working(sc.image, sc.um_per_px, WORK_UM_PER_PX)
        det = peaks_of(net, small)
        truth = sc.counted(edge_min_visible_um=cfg.edge_min_visible_um)
        peaks.append(
            ImagePeaks(
                score=det["score"],
                mid=det["mid"],
                length=det["length"],
                cut=det["cut"],
                truth=np.array([h.visible_mid_px * f for h in truth]).reshape(-1, 2),
                truth_count=len(truth),
            )
        )
        if log and (i + 1) % 20 == 0:
            log(f"calibration images {i + 1}/{cfg.calibration_images}")
    return peaks


def pretrain(out: str | Path, config: PretrainConfig | None = None, *, log=print) -> dict:
    """Train from scratch on synthetic data and write the model; returns the training report."""
    cfg = config or PretrainConfig()
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    base = cfg.seed * 1_000_000
    n_val = max(64, cfg.crops // 40)
    crops = render_synthetic_set(
        range(base, base + cfg.crops + n_val),
        workers=cfg.workers,
        progress=(lambda d, n: log(f"rendered {d}/{n} crops") if d % 1024 < 64 or d == n else None)
        if log
        else None,
    )
    train, val = crops[: cfg.crops], crops[cfg.crops :]
    log(f"rendered {len(crops)} synthetic crops in {time.perf_counter() - t0:.0f} s")
    val_set = CropSet(val, augment=False)
    val_batch = [torch.stack(t) for t in zip(*[val_set[i] for i in range(len(val_set))], strict=True)]

    def validate(net):
        out = net(val_batch[0])
        loss, parts = detector_loss(out, *val_batch[1:])
        return float(loss), {f"val_{k}": v for k, v in parts.items()}

    steps_per_epoch = 200
    fc = FitConfig(
        max_epochs=-(-cfg.steps // steps_per_epoch),
        max_minutes=1e9,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        patience=0,
        seed=cfg.seed,
        threads=cfg.threads,
        steps_per_epoch=steps_per_epoch,
    )
    net = HairNet()
    res = fit(
        net,
        CropSet(train, augment=True, seed=cfg.seed),
        validate,
        config=fc,
        stream=sys.stderr if log else None,
    )
    net.eval()  # the final weights (a fixed schedule, no early stopping)
    log(f"trained {res.epochs_run} epochs in {res.elapsed_s / 60:.1f} min")
    peaks = _calibration_peaks(net, cfg, log)
    edge_px = cfg.edge_min_visible_um / WORK_UM_PER_PX
    grid = np.round(np.arange(0.2, 0.71, 0.025), 3)
    stats = {float(t): count_stats(peaks, t, edge_px) for t in grid}
    thr = min(stats, key=lambda t: (stats[t]["mae"], abs(t - 0.4)))
    table, resid = calibrate_scores(peaks, thr, edge_px, radius=60.0 / WORK_UM_PER_PX)
    report = {
        "name": Path(out).name,
        "architecture": {"name": "HairNet", "widths": list(net.widths), "head": net.head_width},
        "trained_on": "synthetic images only (regrow.measure.synthesize_scalp)",
        "recipe": asdict(cfg),
        "work_um_per_px": WORK_UM_PER_PX,
        "threshold": thr,
        "count_rule": {"edge_min_visible_um": cfg.edge_min_visible_um, "min_visible_um": MIN_VISIBLE_UM},
        "score_calibration": table,
        "count_residual_sd": round(resid, 4),
        "synthetic_calibration": stats[thr],
        "train_minutes": round(res.elapsed_s / 60, 1),
        "torch": torch.__version__,
        "final_val_loss": res.history[-1]["score"] if res.history else None,
    }
    export_onnx(net, out, report)
    report["total_minutes"] = round((time.perf_counter() - t0) / 60, 1)
    log(json.dumps(report, indent=1))
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m regrow.measure.train.pretrain", description=__doc__.splitlines()[0]
    )
    ap.add_argument("--out", required=True, type=Path, help="model file to write (.onnx)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--crops", type=int, default=PretrainConfig.crops)
    ap.add_argument("--steps", type=int, default=PretrainConfig.steps)
    ap.add_argument("--calibration-images", type=int, default=PretrainConfig.calibration_images)
    args = ap.parse_args(argv)
    cfg = PretrainConfig(
        seed=args.seed, crops=args.crops, steps=args.steps, calibration_images=args.calibration_images
    )
    pretrain(args.out, cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
