"""Load test of the web app: Today and Progress pages on a journal with 5 years of data.

Builds a five-year journal (fill_demo: 60 months, daily minoxidil, sessions every 2 weeks, monthly visits of
2 sites x 3 counts), starts ``regrow serve`` in a second process on 127.0.0.1 and requests each page from
this process over loopback: a warm-up, then up to ``--requests`` requests per page (``--concurrency``
clients at once), bounded by ``--max-seconds``. Prints p50/p95/p99/max in milliseconds and whether p95 is
within the target (100 ms, issue 7). Exit status 1 when a page misses it.

    python benchmarks/bench_web.py [--requests 300] [--concurrency 2] [--max-seconds 60]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

TARGET_P95_MS = 100.0  # issue 7 "Must show"
PAGES = ("/", "/progress")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_journal(folder: Path) -> str:
    from regrow.web import Settings, create_app, fill_demo

    url = f"sqlite:///{folder / 'five-years.sqlite'}"
    app = create_app(Settings(database_url=url, photos_dir=folder / "photos"))
    t0 = time.perf_counter()
    counts = fill_demo(app, months=60, images=False, replicates=3, today=dt.date(2026, 6, 1))
    app.state.engine.dispose()
    print(f"journal: {counts} (built in {time.perf_counter() - t0:.1f} s)")
    return url


def _wait(base: str, proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            httpx.get(base + "/api/csrf", timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("server did not start in time")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))  # nearest-rank
    return ordered[index]


def load(base: str, path: str, *, requests: int, concurrency: int, max_seconds: float) -> list[float]:
    """Latencies (ms) of up to ``requests`` GETs of ``path`` from ``concurrency`` keep-alive clients."""
    times: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds
    per_client = max(1, requests // concurrency)

    def client() -> None:
        with httpx.Client(base_url=base, headers={"accept": "text/html"}, timeout=30.0) as c:
            for _ in range(per_client):
                if time.monotonic() > deadline:
                    return
                t0 = time.perf_counter()
                r = c.get(path)
                elapsed = (time.perf_counter() - t0) * 1000
                if r.status_code != 200:
                    raise SystemExit(f"{path}: HTTP {r.status_code}")
                with lock:
                    times.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


@contextlib.contextmanager
def served_five_years(prefix: str) -> Iterator[str]:
    """Build the five-year journal in a temporary folder, serve it with ``regrow serve`` in a second process
    and yield its base URL; the server is stopped (SIGINT, then killed) and the folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        url = build_journal(Path(tmp))
        port = _free_port()
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        cmd = [sys.executable, "-m", "regrow", "serve", "--db", url, "--port", str(port), "--no-open"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait(base, proc)
            yield base
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per page (default 300)")
    parser.add_argument("--concurrency", type=int, default=2, help="clients at once (default 2)")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time limit per page (default 60)")
    args = parser.parse_args(argv)
    failed = False
    with served_five_years("regrow-bench-web-") as base:
        for path in PAGES:
            for _ in range(5):  # warm-up: first analysis of these data, template compilation
                httpx.get(base + path, timeout=60.0)
            times = load(
                base,
                path,
                requests=args.requests,
                concurrency=args.concurrency,
                max_seconds=args.max_seconds,
            )
            p95 = _percentile(times, 95)
            ok = p95 <= TARGET_P95_MS
            failed |= not ok
            print(
                f"{path:<10} n={len(times):4d} concurrency={args.concurrency} "
                f"p50={statistics.median(times):6.1f} ms  p95={p95:6.1f} ms  "
                f"p99={_percentile(times, 99):6.1f} ms  max={max(times):6.1f} ms  "
                f"target p95 <= {TARGET_P95_MS:.0f} ms: {'PASS' if ok else 'FAIL'}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
