"""Benchmark regrow's meta-analysis engine against R's metafor, side by side in one run.

What is timed (both in-process, no interpreter start-up):

* REML meta-regression with two moderators (``yi ~ x1 + x2``) on seeded synthetic data at
  k = 100, 1,000, 2,000 and 10,000 studies;
* a 1,000-iteration random permutation test (``permutest``) of that model at k = 100.

metafor is timed inside one ``Rscript`` per workload with ``system.time()`` around the ``rma()`` /
``permutest()`` call; regrow is timed inside this Python process with ``time.perf_counter`` (best of
several repeats). The two fits must agree (tau^2 and every coefficient to a relative 1e-5).

metafor's REML builds k x k matrices, so its time grows roughly with k^3: it is skipped beyond
k = 2,000 unless ``--full`` is given, and every R call is capped by ``--r-timeout`` seconds.

Usage::

    python benchmarks/bench_meta.py            # k = 100, 1000, 2000 (+ 10000 regrow only), permutations
    python benchmarks/bench_meta.py --full     # also metafor at k = 10000 (may take many minutes)
    python benchmarks/bench_meta.py --no-r     # regrow only
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from regrow.meta import rma

#: Study counts for the REML meta-regression.
SIZES = (100, 1_000, 2_000, 10_000)
#: Largest k at which metafor runs without ``--full`` (its REML is O(k^3) in time, O(k^2) in memory).
R_MAX_K_DEFAULT = 2_000
#: Agreement required between regrow and metafor (relative, on tau^2 and each coefficient).
AGREE_RTOL = 1e-5
PERM_K = 100
PERM_ITER = 1_000
SEED = 20260101

R_FIT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1])
task <- args[2]
reps <- as.integer(args[3])
out <- list(metafor = as.character(packageVersion("metafor")))
if (task == "fit") {
  times <- numeric(0); cpus <- numeric(0)
  for (r in seq_len(reps)) {
    tm <- system.time(res <- rma(yi, vi, mods = ~ x1 + x2, data = dat, method = "REML"))
    times <- c(times, tm[["elapsed"]]); cpus <- c(cpus, tm[["user.self"]] + tm[["sys.self"]])
  }
  out$seconds <- min(times)
  out$cpu_seconds <- cpus[which.min(times)]
  out$tau2 <- res$tau2
  out$beta <- as.numeric(coef(res))
} else {
  res <- rma(yi, vi, mods = ~ x1 + x2, data = dat, method = "REML")
  set.seed(as.integer(args[4]))
  tm <- system.time(pt <- permutest(res, iter = as.integer(args[5]), progbar = FALSE))
  out$seconds <- tm[["elapsed"]]
  out$cpu_seconds <- tm[["user.self"]] + tm[["sys.self"]]
  out$tau2 <- res$tau2
  out$beta <- as.numeric(coef(res))
  out$pval_perm <- as.numeric(pt$pval)
  out$QMp_perm <- as.numeric(pt$QMp)
}
cat(jsonlite::toJSON(out, digits = NA, auto_unbox = TRUE), "\n")
"""


@dataclass
class Row:
    """One workload's timings and agreement."""

    name: str
    k: int
    regrow_s: float
    metafor_s: float | None = None
    regrow_cpu_s: float | None = None
    metafor_cpu_s: float | None = None
    note: str = ""
    agree: bool | None = None
    max_rel_diff: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return None if self.metafor_s is None else self.metafor_s / self.regrow_s

    @property
    def cpu_ratio(self) -> float | None:
        if self.metafor_cpu_s is None or not self.regrow_cpu_s:
            return None
        return self.metafor_cpu_s / self.regrow_cpu_s


def make_data(k: int, seed: int) -> dict[str, np.ndarray]:
    """Synthetic meta-regression data: a true model ``0.3 + 0.15 x1 - 0.2 x2`` with tau^2 = 0.04."""
    rng = np.random.default_rng([seed, k])
    n_per_arm = rng.integers(10, 200, size=k)
    vi = 2.0 / n_per_arm + rng.uniform(0.0, 0.02, size=k)  # roughly the variance of an SMD
    x1 = rng.normal(0.0, 1.0, size=k)
    x2 = rng.binomial(1, 0.4, size=k).astype(float)
    yi = 0.3 + 0.15 * x1 - 0.2 * x2 + rng.normal(0.0, 0.2, size=k) + rng.normal(0.0, np.sqrt(vi))
    return {"yi": yi, "vi": vi, "x1": x1, "x2": x2}


def write_csv(data: dict[str, np.ndarray], path: Path) -> None:
    cols = list(data)
    lines = [",".join(cols)]
    lines += [",".join(f"{data[c][i]:.17g}" for c in cols) for i in range(len(data["yi"]))]
    path.write_text("\n".join(lines) + "\n")


def fit_regrow(data: dict[str, np.ndarray]):
    mods = np.column_stack([data["x1"], data["x2"]])
    return rma(data["yi"], data["vi"], mods=mods, mod_names=["x1", "x2"], method="REML")


def best_time(fn, *, repeats: int, budget_s: float = 5.0, min_s: float = 1.0) -> tuple[float, float, object]:
    """Best wall time over at least ``repeats`` calls spread over ``min_s`` seconds (at most ``budget_s``).

    Returns the best wall time, the CPU time of that same call, and the last result. Spreading the calls
    over a second or more lets the minimum skip moments when other processes hold the CPU.
    """
    best, best_cpu, result, spent, n = math.inf, math.inf, None, 0.0, 0
    while n < repeats or spent < min_s:
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        if elapsed < best:
            best, best_cpu = elapsed, cpu
        spent, n = spent + elapsed, n + 1
        if spent > budget_s:
            break
    return best, best_cpu, result


def run_r(csv: Path, task: str, reps: int, timeout_s: float, *extra: str) -> dict | str:
    """Run the R workload; a dict with its results, or a string saying why there is none."""
    script = csv.parent / "bench.R"
    script.write_text(R_FIT)
    try:
        proc = subprocess.run(
            ["Rscript", str(script), str(csv), task, str(reps), *extra],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"stopped after the {timeout_s:.0f} s cap"
    if proc.returncode != 0:
        return "R failed: " + proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "R failed"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def rel_diff(ours: np.ndarray, ref: np.ndarray) -> float:
    ours, ref = np.atleast_1d(np.asarray(ours, float)), np.atleast_1d(np.asarray(ref, float))
    return float(np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-8)))


def growth_exponent(rows: list[Row], attr: str) -> float | None:
    """Least-squares slope of log(time) on log(k): 1 is linear, 3 cubic."""
    pts = [(r.k, getattr(r, attr)) for r in rows if getattr(r, attr) is not None]
    if len(pts) < 2:
        return None
    ks, ts = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(ks, ts, 1)[0])


def bench_reml(sizes, *, use_r: bool, r_max_k: int, r_timeout: float, workdir: Path) -> list[Row]:
    rows = []
    for k in sizes:
        data = make_data(k, SEED)
        fit_regrow(data)  # warm-up (imports, BLAS threads)
        seconds, cpu, res = best_time(lambda d=data: fit_regrow(d), repeats=20 if k <= 2_000 else 5)
        row = Row("REML, 2 moderators", k, seconds, regrow_cpu_s=cpu)
        if not use_r:
            row.note = "metafor not run"
        elif k > r_max_k:
            row.note = f"metafor skipped (k > {r_max_k}; use --full)"
        else:
            csv = workdir / f"reml_{k}.csv"
            write_csv(data, csv)
            out = run_r(csv, "fit", 5 if k <= 100 else 1, r_timeout)
            if isinstance(out, str):
                row.note = "metafor " + out
            else:
                row.metafor_s = max(float(out["seconds"]), 1e-3)  # system.time resolves 1 ms
                row.metafor_cpu_s = max(float(out["cpu_seconds"]), 1e-3)
                ours = np.concatenate([[res.tau2], res.beta])
                ref = np.concatenate([[out["tau2"]], out["beta"]])
                row.max_rel_diff = rel_diff(ours, ref)
                row.agree = row.max_rel_diff <= AGREE_RTOL
        rows.append(row)
        print(
            f"  k={k:>6}: regrow {seconds * 1e3:9.2f} ms"
            + (f", metafor {row.metafor_s:8.3f} s" if row.metafor_s else f"  ({row.note})"),
            flush=True,
        )
    return rows


def bench_permutest(*, use_r: bool, r_timeout: float, workdir: Path) -> Row:
    data = make_data(PERM_K, SEED)
    res = fit_regrow(data)
    try:
        from regrow.meta import permutest
    except ImportError:
        return Row(
            "permutest 1000 iter", PERM_K, math.nan, note="regrow permutest not available: not measured"
        )
    permutest(res, iter=10, seed=1)  # warm-up
    seconds, cpu, perm = best_time(
        lambda: permutest(res, iter=PERM_ITER, seed=SEED), repeats=5, budget_s=20.0
    )
    row = Row("permutest 1000 iter", PERM_K, seconds, regrow_cpu_s=cpu)
    ours_p = _perm_pvals(perm)
    row.extra["regrow_pval_perm"] = ours_p
    if use_r:
        csv = workdir / "perm.csv"
        write_csv(data, csv)
        out = run_r(csv, "perm", 1, r_timeout, str(SEED), str(PERM_ITER))
        if isinstance(out, str):
            row.note = "metafor " + out
        else:
            row.metafor_s = max(float(out["seconds"]), 1e-3)
            row.metafor_cpu_s = max(float(out["cpu_seconds"]), 1e-3)
            row.extra["metafor_pval_perm"] = [*np.atleast_1d(out["pval_perm"]), out["QMp_perm"]]
            # Different random permutations: p-values agree only within Monte-Carlo error,
            # about 3 * sqrt(p (1 - p) / iter) (at most 0.047 for 1,000 iterations).
            if ours_p is not None:
                ref = np.asarray(row.extra["metafor_pval_perm"], float)
                mc = 3 * np.sqrt(np.maximum(ref * (1 - ref), 1e-4) / PERM_ITER) + 2.0 / PERM_ITER
                row.agree = bool(np.all(np.abs(np.asarray(ours_p) - ref) <= mc))
                row.max_rel_diff = float(np.max(np.abs(np.asarray(ours_p) - ref)))
    else:
        row.note = "metafor not run"
    return row


def _perm_pvals(perm) -> list[float] | None:
    """Permutation p-values of each coefficient, then of the omnibus QM test."""
    value = getattr(perm, "pval", None)
    if value is None:
        return None
    out = [float(v) for v in np.atleast_1d(np.asarray(value, dtype=float))]
    qmp = getattr(perm, "QMp", None)
    return [*out, float(qmp)] if qmp is not None else out


def report(rows: list[Row], perm: Row | None) -> str:
    lines = [
        f"{'workload':<22}{'k':>7}{'regrow':>12}{'metafor':>12}{'metafor/regrow':>16}{'(cpu time)':>12}"
        "  agreement",
    ]
    for r in [*rows, *([perm] if perm else [])]:
        ours = "n/a" if math.isnan(r.regrow_s) else _fmt_s(r.regrow_s)
        theirs = _fmt_s(r.metafor_s) if r.metafor_s is not None else "-"
        ratio = f"{r.ratio:,.0f}x" if r.ratio is not None and not math.isnan(r.ratio) else "-"
        cpu_ratio = f"{r.cpu_ratio:,.0f}x" if r.cpu_ratio is not None else "-"
        if r.agree is None:
            agree = r.note
        else:
            what = "|p diff|" if r.name.startswith("permutest") else "max rel diff"
            agree = ("ok" if r.agree else "MISMATCH") + f" ({what} {r.max_rel_diff:.1e})"
            if r.note:
                agree += f"; {r.note}"
        lines.append(f"{r.name:<22}{r.k:>7}{ours:>12}{theirs:>12}{ratio:>16}{cpu_ratio:>12}  {agree}")
    g_ours, g_r = growth_exponent(rows, "regrow_s"), growth_exponent(rows, "metafor_s")
    lines.append("")
    lines.append("growth exponent in k (slope of log time on log k; 1 = linear):")
    lines.append(f"  regrow : {g_ours:.2f}" if g_ours is not None else "  regrow : n/a")
    if g_r is not None:
        ks = [r.k for r in rows if r.metafor_s is not None]
        lines.append(f"  metafor: {g_r:.2f} (k = {', '.join(map(str, ks))})")
    if perm is not None and "regrow_pval_perm" in perm.extra:
        lines.append("")
        lines.append(
            f"permutation p-values (intrcpt, x1, x2, QM): regrow {_fmt_p(perm.extra['regrow_pval_perm'])}"
            + (
                f", metafor {_fmt_p(perm.extra['metafor_pval_perm'])}"
                if "metafor_pval_perm" in perm.extra
                else ""
            )
        )
    return "\n".join(lines)


def _fmt_s(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _fmt_p(values) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in values) + "]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="also run metafor beyond k = 2,000 (slow)")
    parser.add_argument("--no-r", action="store_true", help="time regrow only")
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=list(SIZES),
        help="comma-separated study counts (default 100,1000,2000,10000)",
    )
    parser.add_argument("--r-timeout", type=float, default=600.0, help="cap on each Rscript call, seconds")
    parser.add_argument("--no-perm", action="store_true", help="skip the permutation test")
    args = parser.parse_args(argv)

    use_r = not args.no_r and shutil.which("Rscript") is not None
    if not args.no_r and not use_r:
        print("Rscript not found: timing regrow only (apt-get install -y r-base-core r-cran-metafor).")
    r_max_k = max(args.sizes) if args.full else R_MAX_K_DEFAULT
    print(
        f"regrow vs metafor, seed {SEED}; metafor timed with system.time() inside Rscript, regrow with "
        f"perf_counter (best of repeats). metafor runs up to k = {r_max_k}"
        + ("" if args.full else " (pass --full for larger k)")
        + ".",
        flush=True,
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at start"
        + (" (busy: wall times are inflated; the cpu-time ratio is steadier)" if load > 1 else ""),
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="regrow-bench-") as tmp:
        workdir = Path(tmp)
        rows = bench_reml(args.sizes, use_r=use_r, r_max_k=r_max_k, r_timeout=args.r_timeout, workdir=workdir)
        perm = (
            None if args.no_perm else bench_permutest(use_r=use_r, r_timeout=args.r_timeout, workdir=workdir)
        )
    print()
    print(report(rows, perm))
    failed = [r for r in [*rows, *([perm] if perm else [])] if r.agree is False]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
