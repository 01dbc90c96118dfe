"""Batch measurement: worker processes, a progress bar on stderr, overlays and a CSV."""

from __future__ import annotations

import csv
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from regrow.errors import InputError, RegrowError

from ._calibration import Calibration
from ._measure import measure_image
from ._result import Measurement

__all__ = ["BatchItem", "measure_batch", "write_csv"]

MAX_WORKERS = 64


@dataclass
class BatchItem:
    """Outcome for one file of a batch: a measurement or an error (never both)."""

    path: str
    measurement: Measurement | None = None
    error: dict[str, Any] | None = None
    overlay: str | None = None


def _one(path: str, calibration: Calibration, overlay_dir: str | None, options: dict[str, Any]) -> BatchItem:
    try:
        import cv2

        cv2.setNumThreads(1)  # one core per worker: scaling comes from processes
        m = measure_image(path, calibration=calibration, **options)
        overlay = None
        if overlay_dir is not None:
            from ._render import render_overlay

            out = Path(overlay_dir) / f"{Path(path).stem}.overlay.png"
            render_overlay(path, m, out)
            overlay = str(out)
        return BatchItem(path=path, measurement=m, overlay=overlay)
    except RegrowError as exc:
        return BatchItem(path=path, error=exc.to_dict()["error"])


class _Progress:
    def __init__(self, total: int, stream: TextIO | None):
        self.total, self.done, self.stream = total, 0, stream

    def step(self) -> None:
        self.done += 1
        if self.stream is None:
            return
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        end = "\n" if self.done == self.total else ""
        self.stream.write(
            f"\rmeasuring [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}{end}"
        )
        self.stream.flush()


def measure_batch(
    paths: Sequence[str | os.PathLike[str]],
    *,
    calibration: Calibration,
    workers: int = 1,
    overlay_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    progress_stream: TextIO | None = None,
    **options: Any,
) -> Iterator[BatchItem]:
    """Measure many images, yielding one :class:`BatchItem` per path in input order.

    A file that fails (not an image, truncated, too large, ...) yields an item with ``error`` set and the
    batch goes on; nothing (no overlay) is written for it.

    Parameters
    ----------
    paths : sequence of path-like
        Image files.
    calibration : Calibration
        Used for every image.
    workers : int
        Worker processes (1 = in this process).
    overlay_dir : path-like, optional
        Write ``<stem>.overlay.png`` here for each measured image.
    progress : bool
        Draw a progress bar on stderr (or ``progress_stream``) when there is more than one image.
    **options
        Passed to :func:`regrow.measure.measure_image` (e.g. ``vellus_threshold_um``, ``settings``).

    Raises
    ------
    InputError
        ``workers`` outside [1, 64].
    """
    if not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise InputError.invalid("workers", workers, f"an integer in [1, {MAX_WORKERS}]")
    items = [str(p) for p in paths]
    odir = None if overlay_dir is None else str(overlay_dir)
    stream = (progress_stream or sys.stderr) if progress and len(items) > 1 else None
    bar = _Progress(len(items), stream)
    if workers == 1 or len(items) <= 1:
        for p in items:
            item = _one(p, calibration, odir, options)
            bar.step()
            yield item
        return
    # "spawn": forking a process that already runs OpenCV/BLAS thread pools can deadlock
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=ctx) as pool:
        futures = [pool.submit(_one, p, calibration, odir, options) for p in items]
        for fut in futures:
            item = fut.result()
            bar.step()
            yield item


def write_csv(measurements: Sequence[Measurement], path: str | os.PathLike[str]) -> Path:
    """Write one row per measurement (atomically: a temporary file renamed into place).

    Returns
    -------
    pathlib.Path
        The CSV written.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = [m.csv_row() for m in measurements]
    columns: list[str] = []
    for r in rows:
        for k in r:
            if k not in columns:
                columns.append(k)
    fd, tmp = tempfile.mkstemp(prefix=".measure-", suffix=".csv", dir=out.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns or ["image"])
            writer.writeheader()
            for r in rows:
                writer.writerow(r)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
