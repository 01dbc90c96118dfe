"""Server time of every page of the web app on a journal with five years of data (issue 14: p95 <= 100 ms).

The same five-year journal and load generator as ``bench_web.py`` (fill_demo: 60 months, sessions every 2
weeks, daily minoxidil, monthly visits of 2 sites x 3 counts), served by ``regrow serve`` in a second
process; each page gets a warm-up, then up to ``--requests`` requests from ``--concurrency`` clients over
loopback. Prints p50/p95/max per page and PASS/FAIL against the target; exit status 1 when a page misses it.
Times are measured by the client, so they include loopback and HTTP parsing (an upper bound of server time).

    python benchmarks/bench_web_pages.py [--requests 100] [--concurrency 1] [--max-seconds 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_web import TARGET_P95_MS, _percentile, load, served_five_years

PAGES = (
    "/",
    "/plan",
    "/log",
    "/devices",
    "/photos",
    "/progress",
    "/evidence",
    "/history",
    "/data",
    "/profile",
    "/compare",
    "/docs",
    "/docs/verdicts",
    "/records/session/1/edit",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100, help="requests per page (default 100)")
    parser.add_argument("--concurrency", type=int, default=1, help="clients at once (default 1)")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="time limit per page (default 20)")
    args = parser.parse_args(argv)
    failed = []
    with served_five_years("regrow-bench-pages-") as base:
        for path in PAGES:
            for _ in range(2):  # warm-up: first analysis of these data, template compilation
                httpx.get(base + path, timeout=60.0)
            times = load(
                base,
                path,
                requests=args.requests,
                concurrency=args.concurrency,
                max_seconds=args.max_seconds,
            )
            if not times:  # every request ran past the time limit
                failed.append(path)
                print(f"{path:<26} no request finished within {args.max_seconds:.0f} s  FAIL", flush=True)
                continue
            p95 = _percentile(times, 95)
            if p95 > TARGET_P95_MS:
                failed.append(path)
            print(
                f"{path:<26} n={len(times):4d} p50={statistics.median(times):7.1f} ms  p95={p95:7.1f} ms  "
                f"max={max(times):7.1f} ms  p95/target={p95 / TARGET_P95_MS:5.2f}  "
                f"{'PASS' if p95 <= TARGET_P95_MS else 'FAIL'}",
                flush=True,
            )
    print(
        f"{len(PAGES) - len(failed)} of {len(PAGES)} pages within p95 <= {TARGET_P95_MS:.0f} ms"
        + (f"; over: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
