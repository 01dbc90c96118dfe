"""Agreement with R's metafor beyond the shipped references: other metadat datasets and large synthetic
meta-regressions (numeric and categorical moderators), every estimator, z and Knapp-Hartung tests.

Needs ``Rscript`` with metafor (Debian: ``apt-get install -y r-base-core r-cran-metafor``). Run::

    python benchmarks/metafor_agreement.py            # prints the worst relative difference per quantity

It exits non-zero when any quantity differs by more than the test-suite tolerances (1e-6 closed form,
1e-5 iterative). ``tests/meta/test_metafor_live.py`` (marked slow) runs it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from regrow.meta import rma

DATASETS = [
    "dat.assink2016",
    "dat.bangertdrowns2004",
    "dat.begg1989",
    "dat.berkey1998",
    "dat.kalaian1996",
    "dat.knapp2017",
    "dat.konstantopoulos2011",
    "dat.lehmann2018",
    "dat.mccurdy2020",
    "dat.michael2013",
    "dat.riley2003",
    "dat.tannersmith2016",
]
METHODS = ["FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"]
CLOSED = {"FE", "DL", "HE", "HS", "SJ"}

R_SCRIPT = r"""
suppressMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
out <- list()
CTRL <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
fitall <- function(dat, mods, label) {
  res <- list()
  for (m in c("FE","DL","HE","HS","SJ","ML","REML","EB","PM")) for (t in c("z","knha")) {
    if (m == "FE" && t == "knha") next
    r <- tryCatch(if (is.null(mods)) rma(yi, vi, data = dat, method = m, test = t, control = CTRL)
                  else rma(yi, vi, mods = mods, data = dat, method = m, test = t, control = CTRL),
                  error = function(e) NULL)
    if (is.null(r)) next
    o <- list(beta = c(r$beta), se = c(r$se), tau2 = r$tau2, se_tau2 = r$se.tau2, QE = r$QE, QM = r$QM,
              I2 = r$I2, H2 = r$H2, names = rownames(r$beta))
    if (m != "FE" && is.null(mods)) {
      p <- predict(r); o$pi <- c(p$pi.lb, p$pi.ub)
      ci <- tryCatch(confint(r, control = list(tol = 1e-12, maxiter = 10000, tau2.max = 1e6)), error = function(e) NULL)
      if (!is.null(ci)) o$qp <- c(ci$random["tau^2", "ci.lb"], ci$random["tau^2", "ci.ub"])
    }
    res[[paste(m, t)]] <- o
  }
  res
}
for (n in strsplit(args[1], ",")[[1]]) {
  dat <- get(n); dat <- dat[!is.na(dat$yi) & !is.na(dat$vi), ]
  write.csv(dat[, c("yi", "vi")], file.path(args[2], paste0(n, ".csv")), row.names = FALSE)
  out[[n]] <- fitall(dat, NULL, n)
}
for (f in list.files(args[2], pattern = "^synthetic_.*csv$")) {
  dat <- read.csv(file.path(args[2], f))
  out[[f]] <- fitall(dat, ~ x1 + x2 + grp, f)
}
writeLines(jsonlite::toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", na = "null"),
           file.path(args[2], "metafor.json"))
"""


def synthetic(k: int, seed: int) -> pd.DataFrame:
    """A meta-regression with two numeric moderators and a three-level factor (seeded)."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0, 1, k)
    x2 = rng.uniform(0, 10, k)
    grp = rng.choice(["a", "b", "c"], k)
    vi = rng.uniform(0.005, 0.2, k)
    yi = 0.2 + 0.1 * x1 - 0.03 * x2 + (grp == "b") * 0.15 + rng.normal(0, np.sqrt(vi + 0.04))
    return pd.DataFrame({"yi": yi, "vi": vi, "x1": x1, "x2": x2, "grp": grp})


def main() -> int:
    if shutil.which("Rscript") is None:
        print("Rscript not found: install r-base-core and r-cran-metafor", file=sys.stderr)
        return 2
    worst: dict[str, float] = {}
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for k, seed in ((60, 1), (400, 2)):
            synthetic(k, seed).to_csv(folder / f"synthetic_k{k}.csv", index=False)
        r_file = folder / "agree.R"
        r_file.write_text(R_SCRIPT)
        subprocess.run(
            ["Rscript", str(r_file), ",".join(DATASETS), str(folder)],
            check=True,
            capture_output=True,
            text=True,
        )
        refs = json.loads((folder / "metafor.json").read_text())
        for name, fits in refs.items():
            data = pd.read_csv(folder / (name if name.endswith(".csv") else f"{name}.csv"))
            mods = data[["x1", "x2", "grp"]] if name.startswith("synthetic") else None
            for key, ref in fits.items():
                method, test = key.split()
                res = rma(data["yi"], data["vi"], mods=mods, method=method, test=test)
                ours = {
                    "beta": res.beta,
                    "se": res.se,
                    "tau2": res.tau2,
                    "QE": res.QE,
                    "QM": res.QM,
                    "I2": res.I2,
                    "H2": res.H2,
                }
                if method != "FE":
                    ours["se_tau2"] = res.se_tau2
                if "pi" in ref:
                    p = res.predict()
                    ours["pi"] = [p.pi_lb[0], p.pi_ub[0]]
                if "qp" in ref:
                    ci = res.confint()
                    ours["qp"] = [ci.tau2.ci_lb, ci.tau2.ci_ub]
                assert (
                    list(ref["names"] if isinstance(ref["names"], list) else [ref["names"]]) == res.coef_names
                )
                rtol = 1e-6 if method in CLOSED else 1e-5
                for q, value in ours.items():
                    r = np.atleast_1d(np.asarray(ref[q], dtype=float))
                    o = np.atleast_1d(np.asarray(value, dtype=float))
                    rel = np.max(np.abs(o - r) / np.maximum(np.abs(r), 1e-300), initial=0.0)
                    absd = np.max(np.abs(o - r), initial=0.0)
                    err = 0.0 if absd < 1e-9 else rel
                    worst[q] = max(worst.get(q, 0.0), err)
                    if err > rtol:
                        failures.append(f"{name} {key} {q}: ours {o} metafor {r} (rel {rel:.2e})")
    print(
        f"{len(refs)} data sets x estimators x tests compared with metafor "
        "(differences under 1e-9 absolute count as 0)"
    )
    for q, err in sorted(worst.items()):
        print(f"  worst relative difference in {q:8s} {err:.2e}")
    for line in failures:
        print("DIFFERS:", line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
