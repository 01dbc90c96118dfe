"""Whole-process speed of ``regrow meta rma`` against ``Rscript`` + metafor on the same jobs, plus the
in-process REML meta-regression (k = 1,000, two moderators) from bench_meta.py; all ratios in one table.

Whole-process means what a user waits for: start the interpreter, load the package, read the CSV, fit,
print JSON. Each command runs several times and the best wall time counts (both sides alike); the JSON
outputs are compared (tau^2 and coefficients to a relative 1e-5).

Targets (issue #15): whole-process >= 20x, in-process k = 1,000 REML with 2 moderators >= 50x.

Usage::

    python benchmarks/bench_meta_process.py           # needs Rscript with metafor for the ratios
    python benchmarks/bench_meta_process.py --repeats 3
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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_meta import SEED, best_time, fit_regrow, make_data, rel_diff, run_r, write_csv

WHOLE_TARGET = 20.0
INPROCESS_TARGET = 50.0
AGREE_RTOL = 1e-5

R_JOB = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1])
mods <- if (nchar(args[3]) > 0) as.formula(paste("~", gsub(",", "+", args[3]))) else NULL
res <- if (is.null(mods)) rma(yi, vi, data = dat, method = args[2]) else rma(yi, vi, mods = mods, data = dat, method = args[2])
cat(jsonlite::toJSON(list(tau2 = res$tau2, beta = as.numeric(coef(res))), digits = NA, auto_unbox = TRUE), "\n")
"""

#: (name, k, method, moderators)
JOBS = (
    ("10 studies, REML", 10, "REML", ""),
    ("13 studies, DL + 1 moderator", 13, "DL", "x1"),
    ("1000 studies, REML + 2 mods", 1000, "REML", "x1,x2"),
)


def _time_cmd(cmd: list[str], repeats: int, env: dict | None = None) -> tuple[float, str]:
    best, out = math.inf, ""
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:3])} failed: {proc.stderr.strip()[-300:]}")
        best, out = min(best, elapsed), proc.stdout
    return best, out


def _regrow_cmd() -> list[str]:
    exe = shutil.which("regrow")
    return [exe] if exe else [sys.executable, "-m", "regrow"]


def whole_process(repeats: int, use_r: bool, workdir: Path) -> list[dict]:
    rows = []
    script = workdir / "job.R"
    script.write_text(R_JOB)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", "")}
    for name, k, method, mods in JOBS:
        data = make_data(k, SEED)
        csv = workdir / f"job_{k}.csv"
        write_csv(data, csv)
        cmd = [*_regrow_cmd(), "meta", "rma", str(csv), "--method", method, "--json"]
        if mods:
            cmd += ["--mods", mods]
        ours_s, ours_out = _time_cmd(cmd, repeats, env)
        ours = json.loads(ours_out)
        row = {"name": name, "regrow_s": ours_s, "metafor_s": None, "agree": None}
        if use_r:
            r_s, r_out = _time_cmd(["Rscript", str(script), str(csv), method, mods], repeats)
            theirs = json.loads(r_out.strip().splitlines()[-1])
            mine = np.concatenate([[ours["tau2"]], [c["estimate"] for c in ours["coefficients"]]])
            ref = np.concatenate([[theirs["tau2"]], np.atleast_1d(theirs["beta"])])
            row.update(metafor_s=r_s, max_rel_diff=rel_diff(mine, ref))
            row["agree"] = row["max_rel_diff"] <= AGREE_RTOL or abs(ref[0]) < 1e-10
        rows.append(row)
    return rows


def in_process(use_r: bool, workdir: Path) -> dict:
    data = make_data(1000, SEED)
    fit_regrow(data)
    seconds, _, res = best_time(lambda: fit_regrow(data), repeats=20)
    row = {"name": "in-process k=1000 REML + 2 mods", "regrow_s": seconds, "metafor_s": None, "agree": None}
    if use_r:
        csv = workdir / "inproc.csv"
        write_csv(data, csv)
        out = run_r(csv, "fit", 3, 600.0)
        if isinstance(out, dict):
            row["metafor_s"] = max(float(out["seconds"]), 1e-3)
            row["max_rel_diff"] = rel_diff(np.concatenate([[res.tau2], res.beta]),
                                           np.concatenate([[out["tau2"]], out["beta"]]))  # fmt: skip
            row["agree"] = row["max_rel_diff"] <= AGREE_RTOL
    return row


def _json_key_check(workdir: Path) -> None:
    """The CLI's JSON must have the keys read above (fail loudly, not with a KeyError later)."""
    csv = workdir / "check.csv"
    write_csv(make_data(5, SEED), csv)
    out = json.loads(subprocess.run([*_regrow_cmd(), "meta", "rma", str(csv), "--json"], capture_output=True,
                                    text=True, check=True).stdout)  # fmt: skip
    assert "tau2" in out and "coefficients" in out, sorted(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per command (best wall time counts)")
    parser.add_argument("--no-r", action="store_true", help="time regrow only")
    args = parser.parse_args(argv)
    use_r = not args.no_r and shutil.which("Rscript") is not None
    if not args.no_r and not use_r:
        print("Rscript not found: timing regrow only, no ratios (install R with metafor to compare).")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f}; best of {args.repeats} runs per command")
    with tempfile.TemporaryDirectory(prefix="regrow-bench-") as tmp:
        workdir = Path(tmp)
        _json_key_check(workdir)
        rows = whole_process(args.repeats, use_r, workdir)
        inproc = in_process(use_r, workdir)
    print(f"\n{'job':<34}{'regrow':>11}{'metafor':>11}{'ratio':>9}{'target':>9}  agreement")
    failed = False
    for row, target in [*((r, WHOLE_TARGET) for r in rows), (inproc, INPROCESS_TARGET)]:
        ratio = row["metafor_s"] / row["regrow_s"] if row["metafor_s"] else None
        ok = "-" if row["agree"] is None else ("ok" if row["agree"] else "MISMATCH")
        if row.get("max_rel_diff") is not None:
            ok += f" (max rel diff {row['max_rel_diff']:.1e})"
        theirs = f"{row['metafor_s']:.3f} s" if row["metafor_s"] else "-"
        shown = f"{ratio:.0f}x" if ratio else "-"
        meets = "" if ratio is None else ("" if ratio >= target else " (below target)")
        print(f"{row['name']:<34}{row['regrow_s']:>9.3f} s{theirs:>11}{shown:>9}{target:>8.0f}x  {ok}{meets}")
        failed |= row["agree"] is False
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
