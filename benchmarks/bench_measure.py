"""Benchmark of ``regrow.measure``: every figure issue #11 asks for, measured in one run.

    python benchmarks/bench_measure.py [--fdu ../shared/hairdata/fdu-dev] [--finetuned FILE] [--quick]

- fdu-dev (unlicensed, read in place, never copied), split once by patient: CRC32 of the patient id even
  -> development part "A" (used while building), odd -> held-out part "B" (reported). On B, in the same
  run: the mean-count baseline, the classical method, the learned method with the bundled synthetic-only
  model, and (with ``--finetuned``) a model fine-tuned by ``regrow measure train`` on part A only: count
  MAE, Pearson r, Bland-Altman bias, detection precision/recall and images/s (one core).
- synthetic: the v2 generator on seeds never used for training, and the older v1 generator
  (``regrow.measure.synthesize``, written independently of v2: straight rods, another skin and light
  model) as a stand-in for an independent generator: count MAE and median diameter error of matched hairs.
- speed at 1280 x 1024 (JPEG decode included) on one core, and batches with 1 and 2 worker processes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import zlib
from pathlib import Path

import cv2
import numpy as np

from regrow.measure import (
    evaluate_counts,
    load_model,
    match_points,
    measure_batch,
    measure_image,
    read_voc_boxes,
    resolve_calibration,
    synthesize,
    synthesize_scalp,
)


def _fdu_rows(root: Path, step: int, how: dict) -> tuple[list, float]:
    images = sorted((root / "images").glob("*.jpg"))[::step]
    rows = []
    busy = 0.0
    for p in images:
        t0 = time.perf_counter()
        m = measure_image(p, device="fdu-70x", **how)
        busy += time.perf_counter() - t0
        boxes = read_voc_boxes(root / "annotations" / f"{p.stem}.xml")
        gt = np.array([[(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] for b in boxes]).reshape(-1, 2)
        pts = np.array(
            [[(h.exit_x_px + h.tip_x_px) / 2, (h.exit_y_px + h.tip_y_px) / 2] for h in m.hairs if h.counted]
        ).reshape(-1, 2)
        patient = p.stem.split("_")[1]
        rows.append(
            (p.stem, patient, m.hair_count, len(boxes), match_points(pts, gt, 150.0 / 2.76), m.low_confidence)
        )
    return rows, len(images) / busy


def _report(label: str, rows: list, speed: float | None) -> dict:
    ev = evaluate_counts(
        np.array([r[2] for r in rows], float),
        np.array([r[3] for r in rows], float),
        tp_fp_fn=np.array([r[4] for r in rows]),
    )
    sp = f"  {speed:.1f} images/s" if speed else ""
    print(
        f"  {label:<34} MAE {ev.count_mae:5.2f}  r {ev.pearson_r:6.3f}  bias {ev.bland_altman_bias:+5.2f}  "
        f"precision {ev.precision:.3f} recall {ev.recall:.3f}{sp}"
    )
    return {"mae": ev.count_mae, "r": ev.pearson_r, "bias": ev.bland_altman_bias}


def _fdu(root: Path, step: int, finetuned: Path | None) -> None:
    methods = {
        "classical": {"method": "classical"},
        "learned, synthetic-only (bundled)": {"method": "learned"},
    }
    if finetuned is not None:
        methods[f"learned, fine-tuned on A ({finetuned.name})"] = {
            "method": "learned",
            "model": str(finetuned),
        }
    half = lambda r, k: zlib.crc32(r[1].encode()) % 2 == k  # noqa: E731
    results = {}
    for name, how in methods.items():
        rows, speed = _fdu_rows(root, step, how)
        results[name] = (rows, speed)
    for part, k in (("held-out part B (reported)", 1), ("development part A", 0)):
        any_rows = next(iter(results.values()))[0]
        sub = [r for r in any_rows if half(r, k)]
        truth = np.array([r[3] for r in sub], float)
        print(f"fdu-dev {part}: {len(sub)} images, {len({r[1] for r in sub})} patients")
        print(f"  {'mean-count baseline':<34} MAE {np.mean(np.abs(truth - truth.mean())):5.2f}")
        scores = {}
        for name, (rows, speed) in results.items():
            scores[name] = _report(name, [r for r in rows if half(r, k)], speed if k == 1 else None)
        if k == 1:
            c, learned = scores["classical"], scores["learned, synthetic-only (bundled)"]
            win = learned["mae"] < c["mae"] and learned["r"] > c["r"]
            print(
                f"  -> the bundled learned model {'beats' if win else 'does NOT beat'} the classical method on B"
            )
            low = [r for r in results["learned, synthetic-only (bundled)"][0] if half(r, k) and r[5]]
            print(f"  learned: {len(low)} of {len(sub)} images flagged low-confidence")


def _visible_truth_v1(s, min_visible_um: float) -> tuple[int, list]:
    """v1 images: hairs with >= min_visible_um of their straight shaft in the frame (cut) or wholly inside."""
    h_px, w_px = s.image.shape[:2]
    out = []
    for h in s.hairs:
        t = np.linspace(0.0, 1.0, 2001)
        x = h.exit_x_px + t * (h.tip_x_px - h.exit_x_px)
        y = h.exit_y_px + t * (h.tip_y_px - h.exit_y_px)
        inside = (x >= 0) & (x <= w_px - 1) & (y >= 0) & (y <= h_px - 1)
        seg_um = np.hypot(h.tip_x_px - h.exit_x_px, h.tip_y_px - h.exit_y_px) * s.um_per_px
        if inside.any() and (inside.all() or inside.mean() * seg_um >= max(min_visible_um, 40.0)):
            out.append((float(x[inside].mean()), float(y[inside].mean()), h.diameter_um))
    return len(out), out


def _diameter_errors(m, truth_pts: list) -> list[float]:
    errs = []
    if not truth_pts:
        return errs
    gt = np.array([(x, y) for x, y, _ in truth_pts])
    for h in m.hairs:
        if not h.counted or h.diameter_um is None:
            continue
        mid = np.array([(h.exit_x_px + h.tip_x_px) / 2, (h.exit_y_px + h.tip_y_px) / 2])
        d = np.hypot(*(gt - mid).T)
        j = int(np.argmin(d))
        if d[j] < 40 / 2.76:
            errs.append(h.diameter_um - truth_pts[j][2])
    return errs


def _synthetic(n: int) -> None:
    edge = float(load_model().meta["count_rule"]["edge_min_visible_um"])
    for method in ("classical", "learned"):
        e2, d2, e1, d1 = [], [], [], []
        for i in range(n):
            s = synthesize_scalp(500_000_000 + i)
            m = measure_image(s.image, um_per_px=s.um_per_px, method=method)
            truth = s.counted(edge_min_visible_um=edge)
            e2.append(m.hair_count - len(truth))
            d2 += _diameter_errors(m, [(*h.visible_mid_px, h.diameter_um) for h in truth])
            v1 = synthesize(
                seed=i,
                hair_colour=("black", "dark_brown", "brown", "grey", "blond")[i % 5],
                skin=("light", "medium", "dark")[i % 3],
                jpeg_quality=85,
                overlays=i % 4 == 0,
            )
            m1 = measure_image(v1.image, um_per_px=v1.um_per_px, method=method)
            k, pts = _visible_truth_v1(v1, edge)
            e1.append(m1.hair_count - k)
            d1 += _diameter_errors(m1, pts)
        print(
            f"synthetic, {method}: v2 (held-out seeds, {n} frames): count MAE {np.mean(np.abs(e2)):.2f}, bias "
            f"{np.mean(e2):+.2f}, median |diameter error| {np.median(np.abs(d2)):.1f} um ({len(d2)} hairs); "
            f"v1 generator ({n} frames): count MAE {np.mean(np.abs(e1)):.2f}, bias {np.mean(e1):+.2f}, "
            f"median |diameter error| {np.median(np.abs(d1)):.1f} um ({len(d1)} hairs)"
        )


def _speed(n: int) -> None:
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for seed in range(n):
            p = Path(tmp) / f"s{seed}.jpg"
            cv2.imwrite(str(p), synthesize_scalp(seed).image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
            paths.append(p)
        for method in ("classical", "learned"):
            measure_image(paths[0], um_per_px=2.76, method=method)
            t0 = time.perf_counter()
            for p in paths:
                measure_image(p, um_per_px=2.76, method=method)
            dt = time.perf_counter() - t0
            print(f"speed, {method}: {n / dt:.2f} images/s on one core (1280x1024 JPEG, decode included)")
        cal = resolve_calibration(um_per_px=2.76)
        batch = paths * 2
        for workers in (1, 2):
            t0 = time.perf_counter()
            list(measure_batch(batch, calibration=cal, workers=workers, progress=False, method="learned"))
            dt = time.perf_counter() - t0
            print(
                f"  learned, batch of {len(batch)} with {workers} worker(s): {len(batch) / dt:.2f} images/s "
                f"(includes process start-up; this machine has {os.cpu_count()} cores, shared)"
            )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--fdu", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared/hairdata/fdu-dev"
    )
    ap.add_argument(
        "--finetuned", type=Path, default=None, help="a model from `regrow measure train` on part A"
    )
    ap.add_argument("--quick", action="store_true", help="every 4th fdu image, fewer synthetic images")
    args = ap.parse_args()
    if args.fdu.is_dir():
        _fdu(args.fdu, 4 if args.quick else 1, args.finetuned)
    else:
        print(f"fdu-dev not found at {args.fdu}; skipped", file=sys.stderr)
    _synthetic(8 if args.quick else 40)
    _speed(8 if args.quick else 20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
