"""Throughput of a day's batch into the journal: the sequential path against Dask with 1 and 2 workers.

    python benchmarks/bench_dask_batch.py [--images 24] [--size 1024x1280] [--workers 1,2]

The same synthetic day (``regrow.measure.synthesize``, seeded, JPEG) goes, each time into a fresh SQLite
journal and photo folder:

- sequential: ``regrow._photos.store_photo`` per image in this process, the path ``regrow photo add``
  takes (strip, measure, overlay, store);
- Dask: ``regrow._day_batch.measure_day`` on a local cluster of N worker processes (one thread each), the
  path ``regrow measure --dask`` takes (workers strip, measure and draw; this process stores).

Images per second are timed from the first image submitted to the last one stored; the cluster's start-up
is timed separately (it is paid once per command, not per image), with the workers' first imports of regrow,
OpenCV and SciPy, which this process has already paid before the sequential run. Printed: each path's images/s, its ratio
to the sequential baseline, and the scaling efficiency of N workers against 1 (throughput(N) /
(N x throughput(1)); 1.0 is linear). "CPU cores used" is CPU seconds per wall second: of this process for
the sequential path, of the workers + of this (client) process for Dask. It tells a design limit from a
machine that is busy with other work: N workers that get less than N cores cannot scale linearly, and the
load average (printed before and after) says why. "CPU s/image" (all processes together) shows what
the Dask path costs per image over the sequential one (pickling, the scheduler's messages).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from regrow import _day_batch, _photos
from regrow import journal as jr
from regrow.measure import synthesize
from regrow.measure._dask import dask_client

UM_PER_PX = 2.76
DAY = "2026-11-30T09:00"


def _make_day(folder: Path, n: int, shape: tuple[int, int]) -> Path:
    rows = ["file,patient,site,taken_at,um_per_px"]
    for i in range(n):
        path = folder / f"img{i:03d}.jpg"
        Image.fromarray(synthesize(shape=shape, um_per_px=UM_PER_PX, seed=1000 + i).image).save(
            path, quality=92
        )
        rows.append(f"{path.name},{1 + i % 4},vertex,{DAY},{UM_PER_PX}")
    manifest = folder / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return manifest


def _journal(folder: Path) -> tuple[object, jr.PhotoStore]:
    folder.mkdir()
    engine = jr.open_journal(f"sqlite:///{folder / 'journal.sqlite'}")
    with jr.session_scope(engine) as session:
        jr.get_or_create_default_person(session)
        for i in range(2, 5):
            jr.create_person(session, display_name=f"patient {i}")
    return engine, jr.PhotoStore(folder / "photos")


def _sequential(images: list, folder: Path) -> tuple[float, float]:
    engine, store = _journal(folder)
    try:
        t0, cpu0 = time.perf_counter(), time.process_time()
        for image in images:
            _photos.store_photo(
                engine,
                store,
                image.path.read_bytes(),
                person_id=image.patient,
                suffix=".jpg",
                original_name=image.path.name,
                site=image.site,
                taken_at=image.taken_at,
                um_per_px=image.um_per_px,
            )
        return time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        engine.dispose()


def _dask(images: list, folder: Path, workers: int) -> tuple[float, float, float, float]:
    engine, store = _journal(folder)
    try:
        t0 = time.perf_counter()
        with dask_client(workers=workers) as client:
            client.wait_for_workers(workers)
            for module in ("regrow._day_batch", "regrow.measure", "cv2"):  # imports: part of start-up
                client.run(importlib.import_module, module)
            started = time.perf_counter() - t0
            before, mine = client.run(time.process_time), time.process_time()
            report = _day_batch.measure_day(engine, store, images, client=client)
            after, mine = client.run(time.process_time), time.process_time() - mine
        if report.count("measured") != len(images):
            raise SystemExit(f"only {report.count('measured')} of {len(images)} measured: {report.items}")
        workers_cpu = sum(after[w] - before[w] for w in after if w in before)
        return report.seconds, started, workers_cpu, mine
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=24, help="images in the day (default 24)")
    parser.add_argument("--size", default="1024x1280", help="image height x width in pixels")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    args = parser.parse_args(argv)
    shape = tuple(int(x) for x in args.size.lower().split("x"))
    counts = [int(x) for x in args.workers.split(",")]
    cores = len(os.sched_getaffinity(0))
    size = f"{shape[0]} x {shape[1]} px"
    print(f"CPU cores: {cores}; load average {os.getloadavg()[0]:.1f}; {args.images} images of {size}")
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        root = Path(tmp)
        (root / "day").mkdir()
        images = _day_batch.read_manifest(_make_day(root / "day", args.images, shape))
        seq_s, seq_cpu = _sequential(images, root / "seq")
        base = args.images / seq_s
        head = f"{'path':<28}{'images/s':>10}{'vs sequential':>15}{'start-up s':>12}{'CPU cores used':>16}"
        print(head + f"{'CPU s/image':>13}")
        row = f"{'sequential (photo add)':<28}{base:>10.2f}{1.0:>15.2f}{'-':>12}{seq_cpu / seq_s:>16.2f}"
        print(row + f"{seq_cpu / args.images:>13.2f}")
        rates = {}
        for n in counts:
            seconds, started, workers_cpu, client_cpu = _dask(images, root / f"dask{n}", n)
            rates[n] = args.images / seconds
            used = f"{workers_cpu / seconds:.2f} + {client_cpu / seconds:.2f}"
            label = f"dask, {n} worker process(es)"
            per_image = (workers_cpu + client_cpu) / args.images
            print(
                f"{label:<28}{rates[n]:>10.2f}{rates[n] / base:>15.2f}{started:>12.1f}{used:>16}{per_image:>13.2f}"
            )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    if 1 in rates:
        for n in counts:
            if n > 1:
                print(
                    f"scaling efficiency {n} workers / 1 worker: {rates[n] / (n * rates[1]):.2f} (1.00 = linear)"
                )


if __name__ == "__main__":
    sys.exit(main())
