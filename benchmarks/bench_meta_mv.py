"""Benchmark regrow's rma_mv and network meta-analysis against R's metafor rma.mv, side by side in one run.

What is timed (both in-process, no interpreter start-up):

* a three-level model (``random = ~ 1 | study/es``) with two moderators, REML, on seeded synthetic data: 1,000
  effect sizes in 200 studies (the issue's target: at least 10x faster than metafor) and 200 in 40;
* a bivariate model with known sampling covariances (``random = ~ outcome | study``, ``struct = "UN"``),
  2 outcomes in each of 200 studies;
* the senn2013 network (26 studies, 10 treatments; ``random = ~ comp | study``, ``rho = 1/2``).

metafor is timed inside one ``Rscript`` per workload with ``system.time()`` around the ``rma.mv()`` call;
regrow inside this process with ``time.perf_counter`` (best of several calls). Both fits must agree (variance
components and coefficients to a relative 1e-4, the precision of metafor's default stopping rule). metafor
builds the dense k x k marginal covariance matrix; regrow works block by block, so the ratio grows with k.

Usage::

    python benchmarks/bench_meta_mv.py              # all workloads, metafor and regrow
    python benchmarks/bench_meta_mv.py --no-r       # regrow only
    python benchmarks/bench_meta_mv.py --sizes 200  # a quicker run
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench_meta import best_time  # same timing rule as the rma benchmark (run from benchmarks/)
from regrow.meta import network_arms, network_meta, rma_mv

SEED = 20261203
#: (effect sizes, studies) of the three-level workload.
SIZES = ((200, 40), (1_000, 200))
#: Agreement required between regrow and metafor (relative; metafor at its default control).
AGREE_RTOL = 1e-4
#: The issue's speed target for 1,000 effect sizes in 200 studies.
TARGET_RATIO = 10.0
REFS = Path(__file__).resolve().parents[1] / "tests" / "meta" / "refs_mv" / "data"

R_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1])
task <- args[2]
if (task == "multilevel") {
  tm <- system.time(res <- rma.mv(yi, vi, mods = ~ x1 + x2, random = ~ 1 | study/es, data = dat))
  vc <- res$sigma2
} else if (task == "bivariate") {
  V <- bldiag(lapply(split(dat, dat$study), function(d) {
    v <- diag(d$vi); v[1, 2] <- v[2, 1] <- d$cov[1]; v }))
  tm <- system.time(res <- rma.mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | study, struct = "UN",
                                  data = dat))
  vc <- c(res$tau2, res$rho)
} else {
  V <- bldiag(lapply(split(dat, factor(dat$study, levels = unique(dat$study))), function(d) {
    v <- matrix(d$vbase[1], nrow(d), nrow(d)); diag(v) <- d$vi; v }))
  X <- as.matrix(dat[, grep("^t_", names(dat))])
  tm <- system.time(res <- rma.mv(dat$yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2,
                                  data = dat))
  vc <- res$tau2
}
out <- list(seconds = tm[["elapsed"]], cpu_seconds = tm[["user.self"]] + tm[["sys.self"]], vc = vc,
            beta = as.numeric(coef(res)), metafor = as.character(packageVersion("metafor")))
cat(jsonlite::toJSON(out, digits = NA, auto_unbox = TRUE), "\n")
"""


def multilevel_data(k: int, n_studies: int, seed: int) -> dict[str, np.ndarray]:
    """Synthetic three-level data (not clinical values): yi = 0.3 + 0.1 x1 - 0.2 x2 + u_study + u_es + e, with
    study variance 0.05, within-study variance 0.02 and sampling variances uniform on [0.01, 0.1]."""
    rng = np.random.default_rng([seed, k])
    sizes = np.full(n_studies, k // n_studies)
    sizes[: k - sizes.sum()] += 1
    jitter = rng.integers(-2, 3, n_studies)  # unequal study sizes, same total
    jitter -= round(float(jitter.mean()))
    sizes = np.maximum(1, sizes + jitter)
    while sizes.sum() != k:
        i = rng.integers(n_studies)
        sizes[i] += 1 if sizes.sum() < k else (-1 if sizes[i] > 1 else 0)
    study = np.repeat(np.arange(1, n_studies + 1), sizes)
    es = np.concatenate([np.arange(1, s + 1) for s in sizes])
    x1 = rng.normal(size=k)
    x2 = rng.binomial(1, 0.4, k).astype(float)
    vi = rng.uniform(0.01, 0.1, k)
    u = rng.normal(0, np.sqrt(0.05), n_studies)[study - 1]
    yi = 0.3 + 0.1 * x1 - 0.2 * x2 + u + rng.normal(0, np.sqrt(0.02), k) + rng.normal(0, np.sqrt(vi))
    return {"study": study, "es": es, "x1": x1, "x2": x2, "yi": yi, "vi": vi}


def bivariate_data(n_studies: int, seed: int) -> dict[str, np.ndarray]:
    """Synthetic two-outcome data (not clinical values): true effects 0.4 and -0.3 with variances 0.03/0.02 and
    correlation 0.5, sampling correlation 0.6 within study."""
    rng = np.random.default_rng([seed, n_studies, 2])
    G = np.array([[0.03, 0.5 * np.sqrt(0.03 * 0.02)], [0.5 * np.sqrt(0.03 * 0.02), 0.02]])
    vi = rng.uniform(0.005, 0.05, (n_studies, 2))
    cov = 0.6 * np.sqrt(vi[:, 0] * vi[:, 1])
    yi = np.empty((n_studies, 2))
    for s in range(n_studies):
        S = np.diag(vi[s])
        S[0, 1] = S[1, 0] = cov[s]
        yi[s] = rng.multivariate_normal([0.4, -0.3], G + S)
    return {
        "study": np.repeat(np.arange(1, n_studies + 1), 2),
        "outcome": np.tile(np.array(["AL", "PD"], dtype=object), n_studies),
        "yi": yi.ravel(),
        "vi": vi.ravel(),
        "cov": np.repeat(cov, 2),
    }


def write_csv(data: dict[str, np.ndarray], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(data))
        for row in zip(*data.values(), strict=True):
            writer.writerow([f"{v:.17g}" if isinstance(v, float | np.floating) else v for v in row])


def run_r(csv_path: Path, task: str, timeout_s: float) -> dict | str:
    script = csv_path.parent / "bench_mv.R"
    script.write_text(R_SCRIPT)
    try:
        proc = subprocess.run(
            ["Rscript", str(script), str(csv_path), task], capture_output=True, text=True, timeout=timeout_s,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"stopped after the {timeout_s:.0f} s cap"
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()
        return "R failed: " + (tail[-1] if tail else "no message")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def rel_diff(ours, ref) -> float:
    ours, ref = np.atleast_1d(np.asarray(ours, float)), np.atleast_1d(np.asarray(ref, float))
    return float(np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-6)))


def network_workload() -> tuple[dict[str, np.ndarray], callable]:
    """senn2013 as the contrast rows regrow fits (written out for R with the same V and design)."""
    with (REFS / "senn2013.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    study = [r["study"] for r in rows]
    trt = [r["trt"] for r in rows]
    m, sd, n = (np.array([float(r[c]) for r in rows]) for c in ("mi", "sdi", "ni"))
    net = network_arms(study, trt, measure="MD", mean=m, sd=sd, n=n)
    res = network_meta(net, reference="placebo")
    data = res.fit._setup
    order = res.treatments
    out: dict[str, np.ndarray] = {
        "study": np.array(res.data.study, dtype=object),
        "comp": np.array(
            [f"{a}-{b}" for a, b in zip(res.data.treat1, res.data.treat2, strict=True)], dtype=object
        ),
        "yi": data["y"],
        "vi": data["V_diag"],
        "vbase": _baseline_variance(data),
    }
    for j, t in enumerate(order[1:]):
        out[f"t_{t}"] = data["X"][:, j]

    def fit():
        return network_meta(net, reference="placebo")

    return out, fit


def _baseline_variance(setup) -> np.ndarray:
    """The covariance of each row with its study's other rows (0 for two-arm studies, where it is unused)."""
    out = np.zeros(setup["y"].size)
    for rows, mat in setup["V_blocks"]:
        out[rows] = mat[0, 1]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-r", action="store_true", help="time regrow only")
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[k for k, _ in SIZES],
                        help="effect-size counts of the three-level workload (studies = k / 5)")  # fmt: skip
    parser.add_argument("--r-timeout", type=float, default=900.0, help="cap on each Rscript call, seconds")
    args = parser.parse_args(argv)
    use_r = not args.no_r and shutil.which("Rscript") is not None
    if not args.no_r and not use_r:
        print("Rscript not found: timing regrow only (apt-get install -y r-base-core r-cran-metafor).")
    print(f"regrow rma_mv vs metafor rma.mv, seed {SEED}; metafor timed with system.time() inside Rscript.")
    rows: list[tuple[str, int, float, float, float | None, float | None, str]] = []
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        jobs = []
        for k in args.sizes:
            data = multilevel_data(k, max(1, k // 5), SEED)
            jobs.append((f"3-level, {k // 5} studies", k, data, "multilevel",
                         lambda d=data: rma_mv(d["yi"], d["vi"], mods="~ x1 + x2", random="~ 1 | study/es", data=d),
                         lambda r: (r.sigma2, r.beta)))  # fmt: skip
        biv = bivariate_data(200, SEED)

        def fit_biv(d=biv):
            blocks = [
                np.array([[d["vi"][i], d["cov"][i]], [d["cov"][i], d["vi"][i + 1]]])
                for i in range(0, len(d["yi"]), 2)
            ]
            return rma_mv(
                d["yi"], blocks, mods="~ outcome - 1", random="~ outcome | study", struct="UN", data=d
            )

        jobs.append(("bivariate UN, 200 studies", biv["yi"].size, biv, "bivariate", fit_biv,
                     lambda r: (np.concatenate([r.tau2, r.rho]), r.beta)))  # fmt: skip
        net_data, net_fit = network_workload()
        jobs.append(("network senn2013", net_data["yi"].size, net_data, "network", net_fit,
                     lambda r: ([r.tau2], r.fit.beta)))  # fmt: skip
        for name, k, data, task, fit, extract in jobs:
            fit()  # warm-up: imports, BLAS threads
            seconds, cpu, res = best_time(fit, repeats=10, budget_s=10.0)
            r_s = r_cpu = None
            note = "metafor not run"
            if use_r:
                path = work / f"{task}_{k}.csv"
                write_csv(data, path)
                out = run_r(path, task, args.r_timeout)
                if isinstance(out, str):
                    note = "metafor " + out
                else:
                    r_s, r_cpu = max(float(out["seconds"]), 1e-3), max(float(out["cpu_seconds"]), 1e-3)
                    vc, beta = extract(res)
                    diff = max(rel_diff(vc, out["vc"]), rel_diff(beta, out["beta"]))
                    ok = diff <= AGREE_RTOL
                    failed |= not ok
                    note = ("ok" if ok else "MISMATCH") + f" (max rel diff {diff:.1e})"
            rows.append((name, k, seconds, cpu, r_s, r_cpu, note))
            print(
                f"  {name}: regrow {seconds * 1e3:.1f} ms" + (f", metafor {r_s:.2f} s" if r_s else ""),
                flush=True,
            )
    print()
    print(f"{'workload':<28}{'k':>6}{'regrow':>11}{'metafor':>11}{'ratio':>10}{'cpu ratio':>11}  agreement")
    for name, k, s, cpu, r_s, r_cpu, note in rows:
        ratio = f"{r_s / s:,.0f}x" if r_s else "-"
        cpu_ratio = f"{r_cpu / cpu:,.0f}x" if r_cpu and cpu > 0 else "-"
        theirs = (f"{r_s * 1e3:.0f} ms" if r_s < 1 else f"{r_s:.1f} s") if r_s else "-"
        print(f"{name:<28}{k:>6}{s * 1e3:>8.1f} ms{theirs:>11}{ratio:>10}{cpu_ratio:>11}  {note}")
    target = [r for r in rows if r[1] == 1_000 and r[0].startswith("3-level") and r[4]]
    if target:
        ratio = target[0][4] / target[0][2]
        verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
        print(f"\n1,000 effects in 200 studies: regrow is {ratio:,.0f}x faster than metafor ({verdict} the "
              f">= {TARGET_RATIO:.0f}x target).")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
