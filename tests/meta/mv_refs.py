"""The metafor 3.8-1 references for rma_mv, vcalc and network meta-analysis (``refs_mv/``), and how to compare.

The references are written by ``refs_mv/make_refs_mv.R`` (committed). Tolerances (named, and why):

* ``MV_RTOL = 1e-5``: rma.mv fits with nlminb's relative tolerance tightened to 1e-12 (bobyqa where nlminb
  refuses): both sides maximise the same likelihood to ~1e-8; what is left is where each optimiser stops on a
  flat likelihood (up to ~7e-6 relative for dat.berkey1998's UN model, where regrow's log-likelihood is the
  higher one).
* ``DEFAULT_RTOL = 1e-4``: the same fits with metafor's default control, as a user runs them: nlminb's default
  stopping rule leaves the variance components up to ~7e-5 (relative) from the maximum.
* ``CLOSED_RTOL = 1e-9``: closed-form results (vcalc, fixed-effect fits, fits with every component fixed).
* ``ABS_TOL = 1e-8``: variance components on the boundary (0), which R reports as ~1e-10 and the like.
* ``CI_RTOL = 1e-6``: profile-likelihood bounds (both sides solve to 1e-10 on likelihoods converged to ~1e-8).

Import as ``from mv_refs import ...`` (the test folder is on ``sys.path``).
"""

from __future__ import annotations

import csv
import json
import math
from functools import cache
from pathlib import Path

import numpy as np
import pytest

REFS = Path(__file__).resolve().parent / "refs_mv"
MV_RTOL = 1e-5
DEFAULT_RTOL = 1e-4
CLOSED_RTOL = 1e-9
ABS_TOL = 1e-8
CI_RTOL = 1e-6

#: regrow.meta's public names for rma_mv, vcalc and network meta-analysis.
MV_PUBLIC = {
    "MV_METHODS", "MV_STRUCTS", "MV_TESTS", "NETWORK_MEASURES", "DesignByTreatment", "MVConfint",
    "MVLikelihoodRatioTest", "MVPrediction", "MVProfile", "MVRanef", "MVResult", "MVRobustResult", "MVWaldTest",
    "NetworkData", "NetworkEffects", "NetworkLeague", "NetworkRanking", "NetworkResult", "NodeSplit",
    "confint_mv", "design_by_treatment", "format_mv_summary", "format_network_summary", "lrt_mv",
    "network_arms", "network_contrasts", "network_meta", "network_rank", "node_split", "plot_network",
    "predict_mv", "profile_mv", "pscores", "random_inconsistency", "ranef_mv", "rma_mv", "robust_mv", "vcalc",
    "wald_mv",
}  # fmt: skip


@cache
def ref(name: str) -> dict:
    """One reference file (``refs_mv/<name>.json``); fails loudly when it is missing."""
    path = REFS / f"{name}.json"
    if not path.is_file():
        pytest.fail(f"rma.mv reference missing: {path} (run Rscript tests/meta/refs_mv/make_refs_mv.R)")
    return json.loads(path.read_text())


def load(name: str) -> dict[str, np.ndarray]:
    """A data set written by the R script: numeric columns as float arrays, others as object arrays."""
    path = REFS / "data" / f"{name}.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    out: dict[str, np.ndarray] = {}
    for key in rows[0]:
        cells = [r[key] for r in rows]
        try:
            out[key] = np.array([float(c) if c != "NA" else math.nan for c in cells])
        except ValueError:
            out[key] = np.array(cells, dtype=object)
    return out


def close(actual, expected, *, rtol: float = MV_RTOL, atol: float = ABS_TOL, what: str = "") -> None:
    """Elementwise ``|a - e| <= atol + rtol |e|`` with a message naming the quantity."""
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=what)


def check_fit(res, r: dict, *, rtol: float = MV_RTOL, label: str = "") -> None:
    """Compare a fit with a ``fit_out`` reference: coefficients, variance components, tests, fit statistics."""
    assert res.k == r["k"] and res.p == r["p"] and res.parms == r["parms"], label
    assert res.coef_names == r["coef_names"], label
    for ours, theirs in (
        ("beta", "beta"),
        ("se", "se"),
        ("zval", "zval"),
        ("ci_lb", "ci_lb"),
        ("ci_ub", "ci_ub"),
    ):
        close(getattr(res, ours), r[theirs], rtol=rtol, what=f"{label} {ours}")
    close(res.pval, r["pval"], rtol=rtol, atol=1e-12, what=f"{label} pval")
    close(res.vb, r["vb"], rtol=rtol, atol=1e-12, what=f"{label} vb")
    for comp in ("sigma2", "tau2", "rho", "gamma2", "phi"):
        if comp in r:
            close(getattr(res, comp), r[comp], rtol=rtol, what=f"{label} {comp}")
        else:
            value = getattr(res, comp)
            assert value is None or np.size(value) == 0, f"{label}: {comp} present but not in the reference"
    if "sigma2" in r:
        assert res.s_nlevels == list(np.atleast_1d(r["s_nlevels"])), label
        assert res.s_names == list(np.atleast_1d(r["s_names"])), label
    if "g_levels" in r:
        assert res.g_levels == list(np.atleast_1d(r["g_levels"])), label
        close(res.G, r["G"], rtol=rtol, what=f"{label} G")
    close(res.QE, r["QE"], rtol=CLOSED_RTOL * 1e3, what=f"{label} QE")
    close(res.QM, r["QM"], rtol=rtol, what=f"{label} QM")
    close(res.QMp, r["QMp"], rtol=rtol, atol=1e-12, what=f"{label} QMp")
    assert res.QMdf[0] == np.atleast_1d(r["QMdf"])[0], label
    if res.test == "t":
        close(res.QMdf[1], np.atleast_1d(r["QMdf"])[1], rtol=1e-12, what=f"{label} QMdf")
        close(res.ddf, r["ddf"], rtol=1e-12, what=f"{label} ddf")
    fitted = "REML" if res.method == "REML" else "ML"
    for method in ("ML", "REML"):
        # at the maximum the fitted criterion is flat, so it agrees far better than the other one
        tol = 1e-8 if method == fitted else rtol
        for stat in ("ll", "dev", "AIC", "BIC", "AICc"):
            close(res.fit_stats[method][stat], r["fit_stats"][method][stat], rtol=tol, atol=1e-8,
                  what=f"{label} {method} {stat}")  # fmt: skip


def check_default(res, r: dict, *, label: str = "") -> None:
    """Agreement with the fit that metafor's default control gives."""
    d = r["default"]
    close(res.beta, d["beta"], rtol=DEFAULT_RTOL, what=f"{label} default beta")
    close(res.se, d["se"], rtol=DEFAULT_RTOL, what=f"{label} default se")
    for comp in ("sigma2", "tau2", "rho", "gamma2", "phi"):
        if comp in d:
            close(getattr(res, comp), d[comp], rtol=DEFAULT_RTOL, atol=1e-6, what=f"{label} default {comp}")
    method = "REML" if res.method == "REML" else "ML"
    # metafor's default optimum is never above the maximum
    assert res.fit_stats[method]["ll"] >= d["ll"] - 1e-9, label
