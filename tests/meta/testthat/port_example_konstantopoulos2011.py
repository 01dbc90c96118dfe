"""Port of metafor 3.8-1 tests/testthat/test_analysis_example_konstantopoulos2011.r. The rma.mv blocks are
category mv (outside the in-scope count, reported on their own line); not ported: the restart=TRUE block
(rma_mv has no iteration limit to restart from) and the tau^2-per-district block (its assertions parse
printed output)."""

from __future__ import annotations

import numpy as np
from harness import block, col, data

from regrow.meta import confint_mv, predict_mv, ranef_mv, rma, rma_mv

FILE = "test_analysis_example_konstantopoulos2011.r"


@block("results are correct for the two-level random-effects model fitted with rma().")
def two_level(c):
    d = data("dat.konstantopoulos2011")
    res = rma(col(d, "yi"), col(d, "vi"))
    c.checks({16: res.beta, 17: res.se, 18: res.tau2, 19: res.se_tau2})
    ci = res.confint()
    c.checks({24: ci.tau2.ci_lb, 25: ci.tau2.ci_ub})


@block("results are correct for the two-level mixed-effects model fitted with rma().")
def two_level_mixed(c):
    d = data("dat.konstantopoulos2011")
    year = col(d, "year")
    res = rma(col(d, "yi"), col(d, "vi"), mods={"I(year - mean(year))": year - year.mean()})
    c.checks({34: res.beta, 35: res.se, 36: res.tau2, 37: res.se_tau2})
    ci = res.confint()
    c.checks({41: ci.tau2.ci_lb, 42: ci.tau2.ci_ub})


# ------------------------------------------------------------------ rma.mv blocks (counted on their own line)


def _mv(**kw):
    d = data("dat.konstantopoulos2011")
    d["year_c"] = d["year"] - d["year"].mean()
    return d, rma_mv("yi", "vi", data=d, **kw)


ML = "~ 1 | district/study"


@block("results are correct for the two-level random-effects model fitted with rma.mv().")
def mv_two_level(c):
    _, res = _mv(random="~ 1 | study")
    c.checks({51: res.beta, 52: res.se, 53: res.sigma2})


@block(
    "results are correct for the three-level random-effects model fitted with rma.mv() using ML estimation."
)
def mv_three_level_ml(c):
    _, res = _mv(random=ML, method="ML")
    c.checks({65: res.beta, 66: res.se, 67: res.sigma2})
    sav = predict_mv(res)
    c.check(70, [sav.pi_lb, sav.pi_ub])


@block(
    "results are correct for the three-level mixed-effects model fitted with rma.mv() using ML estimation."
)
def mv_three_level_mixed_ml(c):
    _, res = _mv(mods="~ year_c", random=ML, method="ML")
    c.checks({81: res.beta, 82: res.se, 83: res.sigma2})


@block(
    "results are correct for the three-level random-effects model fitted with rma.mv() using REML estimation."
)
def mv_three_level_reml(c):
    _, res = _mv(random=ML)
    s2 = res.sigma2
    c.checks(
        {
            94: res.beta,
            95: res.se,
            96: s2,
            99: s2[0] / s2.sum(),
            102: s2.sum(),
            105: res.fit_stats["REML"]["ll"],
        }
    )
    rows = []
    for ci in confint_mv(res):
        rows.append([ci.estimate, ci.ci_lb, ci.ci_ub])
        rows.append(np.sqrt([ci.estimate, ci.ci_lb, ci.ci_ub]))
    c.check(111, np.round(np.array(rows), 4).ravel(order="F"))


@block(
    "results are correct for the three-level random-effects model when using the multivariate parameterization."
)
def mv_multivariate(c):
    _, res = _mv(random="~ study | district")
    c.checks({139: res.beta, 140: res.se, 141: res.tau2, 142: res.rho, 145: res.fit_stats["REML"]["ll"]})


@block(
    "BLUPs are calculated correctly for the three-level random-effects model (multilevel parameterization)."
)
def mv_blups(c):
    _, res = _mv(random=ML)
    sav = ranef_mv(res)
    c.checks({176: sav[0].pred, 177: sav[0].se, 178: sav[1].pred, 179: sav[1].se})


@block("results are correct when allowing for different tau^2 per district.")
def mv_tau2_per_district(c):
    d = data("dat.konstantopoulos2011")
    d = d.iloc[np.random.default_rng(1234).permutation(len(d))].reset_index(
        drop=True
    )  # order must not matter
    res = rma_mv("yi", "vi", data=d, random=["~ 1 | district", "~ district | study"], struct="DIAG")
    c.checks({209: res.beta, 210: res.se, 211: res.tau2, 215: res.tau2})
    assert res.g_levels == sorted(res.g_levels, key=int)
    c.check(217, [int((d["district"].astype(str) == lvl).sum()) for lvl in res.g_levels])
    c.check(219, [int(lvl) for lvl in res.g_levels])
