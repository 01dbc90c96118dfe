"""Fine-tune a hair-detector model on a clinic's own labelled images (``regrow measure train DIR``).

1. Scan the folder (Pascal-VOC XML per image; :func:`regrow.measure.scan_labelled_folder`), print what
   was skipped or fixed, file by file, and a summary. Training never starts without usable images.
2. Split by patient (file names ``DATE_PATIENT_N`` or a regular expression): about 20 % of the patients
   validate, the rest train.
3. Start from a model file (default: the bundled synthetic-only model), read back from ONNX.
4. Train on whole images at the working scale (random flips, transpositions and colour jitter) with a
   checkpoint after every epoch; early stopping on the validation patients' count MAE; a time budget.
5. Report count MAE / r / bias on the validation patients before and after, choose the score threshold on
   them, calibrate the scores, and write a new ONNX model file.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from regrow.errors import InputError

from .._calibration import Calibration
from .._detector import ModelFileError, load_model
from .._loading import load_image_safely
from .._voc import LabelledImage, VocScan, scan_labelled_folder, split_by_patient
from ._data import CropSet, HairCrop
from ._evaluate import ImagePeaks, calibrate_scores, count_stats, peaks_of, to_working
from ._export import export_onnx
from ._fit import FitConfig, fit
from ._net import from_onnx

__all__ = ["FinetuneConfig", "FinetuneReport", "finetune"]


@dataclass(frozen=True)
class FinetuneConfig:
    """Settings of :func:`finetune` (the CLI options of ``regrow measure train``)."""

    max_minutes: float = 25.0
    max_epochs: int = 60
    patience: int = 8
    batch_size: int = 8
    lr: float = 5e-4
    validation_fraction: float = 0.2
    seed: int = 0
    threads: int = 2
    group_regex: str | None = None


@dataclass
class FinetuneReport:
    """What fine-tuning did, with the before/after validation figures."""

    output: str
    train_images: int
    train_patients: int
    validation_images: int
    validation_patients: int
    before: dict
    after: dict
    threshold: float
    epochs_run: int
    best_epoch: int
    stopped: str
    minutes: float

    def lines(self) -> list[str]:
        b, a = self.before, self.after
        return [
            f"validation patients ({self.validation_patients} patients, {self.validation_images} images): "
            f"count MAE {b['mae']:.2f} -> {a['mae']:.2f}, r {b['r']:.3f} -> {a['r']:.3f}, "
            f"bias {b['bias']:+.2f} -> {a['bias']:+.2f} (before -> after)",
            f"trained on {self.train_images} images of {self.train_patients} patients: {self.epochs_run} epochs, "
            f"best epoch {self.best_epoch}, stopped by {self.stopped}, {self.minutes:.1f} min; threshold "
            f"{self.threshold:.3f}",
            f"model written to {self.output}",
        ]


def _load_items(items: list[LabelledImage], upp: float, work: float) -> list[HairCrop]:
    crops = []
    for it in items:
        rgb = load_image_safely(it.image)
        small, f, _ = to_working(rgb, upp, work)
        crops.append(HairCrop(small, boxes=(it.boxes * f).astype(np.float32)))
    return crops


def _peaks(net: torch.nn.Module, crops: list[HairCrop]) -> list[ImagePeaks]:
    out = []
    for c in crops:
        d = peaks_of(net, c.image)
        b = c.boxes
        centres = (
            np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)
            if len(b)
            else np.zeros((0, 2))
        )
        out.append(ImagePeaks(d["score"], d["mid"], d["length"], d["cut"], centres, len(b)))
    return out


def _best_threshold(peaks: list[ImagePeaks]) -> tuple[float, dict]:
    grid = np.round(np.arange(0.15, 0.81, 0.025), 3)
    stats = {float(t): count_stats(peaks, t, 0.0) for t in grid}
    thr = min(stats, key=lambda t: (stats[t]["mae"], abs(t - 0.4)))
    return thr, stats[thr]


def finetune(
    folder: str | Path,
    out: str | Path,
    *,
    calibration: Calibration,
    base_model: str | Path | None = None,
    config: FinetuneConfig | None = None,
    resume: bool = False,
    stream: TextIO | None = sys.stderr,
    scan: VocScan | None = None,
) -> FinetuneReport:
    """Fine-tune on a labelled folder and write a model file (see the module notes).

    Raises
    ------
    InputError
        No usable labelled image, fewer than 2 patients, a resume that does not match, or an output path
        that cannot be written.
    ModelFileError
        The base model is unreadable or not a fine-tunable hair detector.
    """
    import onnx

    cfg = config or FinetuneConfig()
    say = (lambda s: (stream.write(s + "\n"), stream.flush())) if stream else (lambda s: None)
    t0 = time.perf_counter()
    scan = scan or scan_labelled_folder(folder, group_regex=cfg.group_regex)
    if not scan.items:
        raise InputError(f"No usable labelled image in {folder}; training not started. {scan.summary()}")
    train_items, val_items = split_by_patient(
        scan.items, validation_fraction=cfg.validation_fraction, seed=cfg.seed
    )
    base = load_model(base_model)
    meta = base.meta
    arch = meta.get("architecture") or {"widths": [16, 32, 64, 96], "head": 24}
    try:
        net = from_onnx(onnx.load(base.path).graph, tuple(arch["widths"]), int(arch["head"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(
            f"{base.path}: cannot be fine-tuned ({exc}); expected a HairNet model", path=base.path
        ) from exc
    work = base.work_um_per_px
    upp = calibration.um_per_px
    say(
        f"training on {len(train_items)} images of {len({i.patient for i in train_items})} patients, validating on "
        f"{len(val_items)} images of {len({i.patient for i in val_items})} patients; base model {base.name}"
    )
    train = _load_items(train_items, upp, work)
    val = _load_items(val_items, upp, work)
    net.eval()
    edge_px = float((meta.get("count_rule") or {}).get("edge_min_visible_um", 0.0)) / work
    before = count_stats(_peaks(net, val), base.threshold, edge_px)
    say(f"before: validation count MAE {before['mae']:.2f}, r {before['r']:.3f}, bias {before['bias']:+.2f}")

    def validate(model):
        thr, st = _best_threshold(_peaks(model, val))
        return st["mae"], {"threshold": thr, "r": st["r"], "bias": st["bias"]}

    fc = FitConfig(
        max_epochs=cfg.max_epochs,
        max_minutes=cfg.max_minutes,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        patience=cfg.patience,
        seed=cfg.seed,
        threads=cfg.threads,
        schedule="constant",
    )
    # what a resumed run must share with the interrupted one (the budget, epochs and patience may change)
    fixed = {
        k: v for k, v in asdict(cfg).items() if k not in ("max_minutes", "max_epochs", "patience", "threads")
    }
    key = hashlib.sha256(
        json.dumps(
            [
                fixed,
                base.sha256,
                upp,
                sorted((str(i.image.name), i.patient, len(i.boxes)) for i in scan.items),
            ]
        ).encode()
    ).hexdigest()
    ckpt = Path(str(out) + ".ckpt")
    res = fit(
        net,
        # flips only: a transposed 320 x 256 image would not batch with the others
        CropSet(train, augment=True, seed=cfg.seed, dihedral=False),
        validate,
        config=fc,
        checkpoint=ckpt,
        resume=resume,
        stream=stream,
        run_key=key,
    )
    net.load_state_dict(res.best_state)
    net.eval()
    vpeaks = _peaks(net, val)
    thr, after = _best_threshold(vpeaks)
    table, resid = calibrate_scores(vpeaks, thr, 0.0, radius=60.0 / work)
    n_tr_p, n_va_p = len({i.patient for i in train_items}), len({i.patient for i in val_items})
    new_meta = {
        "name": Path(out).name,
        "architecture": {"name": "HairNet", "widths": list(arch["widths"]), "head": int(arch["head"])},
        "work_um_per_px": work,
        "threshold": thr,
        "count_rule": {"edge_min_visible_um": 0.0},
        "score_calibration": table,
        "count_residual_sd": round(resid, 4),
        "trained_on": (
            f"fine-tuned from {base.name} (sha256 {base.sha256[:12]}) on {len(train)} labelled images of {n_tr_p} "
            f"patients at {upp} um/px"
        ),
        "validation": {"patients": n_va_p, "images": len(val), "before": before, "after": after},
        "recipe": asdict(cfg),
        "torch": torch.__version__,
    }
    export_onnx(net, out, new_meta)
    ckpt.unlink(missing_ok=True)
    return FinetuneReport(
        output=str(out),
        train_images=len(train),
        train_patients=n_tr_p,
        validation_images=len(val),
        validation_patients=n_va_p,
        before=before,
        after=after,
        threshold=thr,
        epochs_run=res.epochs_run,
        best_epoch=res.best_epoch,
        stopped=res.stopped,
        minutes=(time.perf_counter() - t0) / 60,
    )
