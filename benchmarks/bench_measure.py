"""Benchmark of ``regrow.measure`` (prints every figure the issue asks for, in one run).

    python benchmarks/bench_measure.py [--fdu ../shared/hairdata/fdu-dev] [--quick]

- fdu-dev (unlicensed, read in place, never copied): count MAE, mean relative error, Pearson r,
  Bland-Altman, detection precision/recall, against the mean-count baseline; on the patients used to tune
  the defaults (half "A" of a CRC32 patient split), on the held-out half "B", and on all.
- synthetic 1280 x 1024 at 2.76 um/px: count error and diameter error against exact ground truth.
- speed: images/s on one core (cv2 single-threaded) at 1280 x 1024, and batch throughput with 1 and 2
  workers.
- repeatability: the same synthetic sites shifted, rotated and relit.
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
    DetectorSettings,
    evaluate_counts,
    match_points,
    measure_batch,
    measure_image,
    read_voc_boxes,
    resolve_calibration,
    synthesize,
)


def _fdu(root: Path, step: int) -> None:
    images = sorted((root / "images").glob("*.jpg"))[::step]
    rows = []
    t0 = time.perf_counter()
    for p in images:
        m = measure_image(p, device="fdu-70x")
        boxes = read_voc_boxes(root / "annotations" / f"{p.stem}.xml")
        gt = np.array([[(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] for b in boxes]).reshape(-1, 2)
        pts = np.array(
            [[(h.exit_x_px + h.tip_x_px) / 2, (h.exit_y_px + h.tip_y_px) / 2] for h in m.hairs if h.counted]
        ).reshape(-1, 2)
        patient = p.stem.split("_")[1]
        rows.append((p.stem, patient, m.hair_count, len(boxes), match_points(pts, gt, 150.0 / 2.76)))
    dt = time.perf_counter() - t0
    print(f"fdu-dev: {len(rows)} images measured in {dt:.1f} s")
    for label, keep in (
        ("tuning half A (patients used to tune)", lambda r: zlib.crc32(r[1].encode()) % 2 == 0),
        ("held-out half B (not used to tune)", lambda r: zlib.crc32(r[1].encode()) % 2 == 1),
        ("all", lambda r: True),
    ):
        sub = [r for r in rows if keep(r)]
        ev = evaluate_counts(
            np.array([r[2] for r in sub], float),
            np.array([r[3] for r in sub], float),
            tp_fp_fn=np.array([r[4] for r in sub]),
        )
        print(
            f"  {label}: n={ev.n_images} ({len({r[1] for r in sub})} patients)  count MAE {ev.count_mae:.2f} "
            f"(mean-count baseline {ev.baseline_mean_count_mae:.2f})  mean rel. error {ev.mean_relative_error:.1%}  "
            f"r {ev.pearson_r:.3f}\n     Bland-Altman bias {ev.bland_altman_bias:+.2f}, limits "
            f"[{ev.bland_altman_loa_low:.2f}, {ev.bland_altman_loa_high:.2f}];  detection precision "
            f"{ev.precision:.3f} recall {ev.recall:.3f} (hair mid-point within 150 um of a box centre)"
        )


def _visible_truth(s, min_visible_um: float) -> int:
    """Geometric truth of the default "visible" rule: both ends in the frame, or >= min_visible_um inside."""
    h_px, w_px = s.image.shape[:2]
    n = 0
    for h in s.hairs:
        t = np.linspace(0.0, 1.0, 2001)
        x = h.exit_x_px + t * (h.tip_x_px - h.exit_x_px)
        y = h.exit_y_px + t * (h.tip_y_px - h.exit_y_px)
        inside = (x >= 0) & (x <= w_px - 1) & (y >= 0) & (y <= h_px - 1)
        seg_um = np.hypot(h.tip_x_px - h.exit_x_px, h.tip_y_px - h.exit_y_px) * s.um_per_px
        n += bool(inside.any() and (inside.all() or inside.mean() * seg_um >= min_visible_um))
    return n


def _synthetic(n: int) -> None:
    errs, truth, derr, rep, verr = [], [], [], [], []
    exit_rule = DetectorSettings(count_edge_rule="exit")  # the synthetic truth ``counted`` is exit-based
    for seed in range(n):
        s = synthesize(seed=seed)
        mv = measure_image(s.image, um_per_px=s.um_per_px)
        verr.append(mv.hair_count - _visible_truth(s, DetectorSettings().edge_min_visible_um))
        m = measure_image(s.image, um_per_px=s.um_per_px, settings=exit_rule)
        errs.append(m.hair_count - s.hair_count)
        truth.append(s.hair_count)
        gt = [h for h in s.hairs if h.counted]
        for h in m.hairs:
            if h.counted and h.diameter_um is not None and gt:
                d = [np.hypot(h.exit_x_px - g.exit_x_px, h.exit_y_px - g.exit_y_px) for g in gt]
                if min(d) < 25:
                    derr.append(h.diameter_um - gt[int(np.argmin(d))].diameter_um)
        moved = synthesize(seed=seed, shift_px=(23.0, -17.0), rotation_deg=4.0, light_seed=1000 + seed)
        m2 = measure_image(moved.image, um_per_px=moved.um_per_px)
        rep.append((mv.hair_count, m2.hair_count, s.hair_count, moved.hair_count))
    e = np.array(errs, float)
    print(
        f"synthetic 1280x1024 @2.76 um/px, {n} images, {sum(truth)} hairs: count MAE {np.abs(e).mean():.2f}/image, "
        f"total relative error {e.sum() / sum(truth):+.1%}; diameter median abs. error "
        f"{np.median(np.abs(derr)):.2f} um (bias {np.median(derr):+.2f} um, {len(derr)} hairs)  [exit rule]\n"
        f"  default 'visible' rule vs geometric truth: count MAE {np.abs(verr).mean():.2f}/image, "
        f"mean error {np.mean(verr):+.2f}"
    )
    a = np.array(rep, float)
    tot_a, tot_b = a[:, 0].sum(), a[:, 1].sum()
    print(
        f"repeatability (shift 29 px, rotate 4 deg, relight): total counts {tot_a:.0f} vs {tot_b:.0f} "
        f"({(tot_b - tot_a) / tot_a:+.1%}); per-image mean |diff| {np.abs(a[:, 0] - a[:, 1]).mean():.2f} "
        f"(truth changes by {np.abs(a[:, 2] - a[:, 3]).mean():.2f} as hairs enter/leave the frame)"
    )


def _speed(n: int) -> None:
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for seed in range(n):
            p = Path(tmp) / f"s{seed}.jpg"
            cv2.imwrite(str(p), synthesize(seed=seed).image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
            paths.append(p)
        measure_image(paths[0], um_per_px=2.76)
        t0 = time.perf_counter()
        for p in paths:
            measure_image(p, um_per_px=2.76)
        dt = time.perf_counter() - t0
        print(f"speed: {n / dt:.2f} images/s on one core (1280x1024 JPEG, decode included)")
        cal = resolve_calibration(um_per_px=2.76)
        batch = paths * 2
        for workers in (1, 2):
            t0 = time.perf_counter()
            list(measure_batch(batch, calibration=cal, workers=workers, progress=False))
            dt = time.perf_counter() - t0
            print(
                f"  batch of {len(batch)} with {workers} worker(s): {len(batch) / dt:.2f} images/s "
                f"(includes process start-up; this machine has {os.cpu_count()} cores, shared)"
            )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--fdu", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared/hairdata/fdu-dev"
    )
    ap.add_argument("--quick", action="store_true", help="every 4th fdu image, fewer synthetic images")
    args = ap.parse_args()
    if args.fdu.is_dir():
        _fdu(args.fdu, 4 if args.quick else 1)
    else:
        print(f"fdu-dev not found at {args.fdu}; skipped", file=sys.stderr)
    _synthetic(8 if args.quick else 20)
    _speed(8 if args.quick else 20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
