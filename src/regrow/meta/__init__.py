"""regrow's meta-analysis engine: effect sizes, models, diagnostics and plots that agree with R's metafor.

Pure numpy/scipy: nothing here imports the journal, the web app or the micro-needling review
(:mod:`regrow.evidence`, which uses this package only through the names below). The plotting functions
(:func:`plot_forest`, :func:`plot_funnel`, :func:`plot_bubble`, :func:`save_figure`, :func:`png_bytes`,
:func:`new_figure`) import matplotlib only when first used.

The public surface is ``__all__``; everything else lives in private ``_name`` modules.

Examples
--------
>>> from regrow.meta import rma
>>> res = rma([0.1, 0.3, 0.35, 0.6], [0.01, 0.02, 0.015, 0.03], method="DL")
>>> round(res.beta[0], 4)
0.2937
"""

from __future__ import annotations

import importlib
from typing import Any

from regrow.meta._anova import LikelihoodRatioTest, WaldTest, lrt, wald_test
from regrow.meta._cumul import Cumulative, cumul
from regrow.meta._design import design_matrix
from regrow.meta._escalc import ESCALC_MEASURES, ESCALC_TO, EffectSizes, escalc, escalc_frame
from regrow.meta._escalc_input import ARGUMENT_NAMES as ESCALC_ARGUMENTS
from regrow.meta._influence import (
    BLUP,
    Influence,
    LeaveOneOut,
    Residuals,
    blup,
    hatvalues,
    influence,
    leave1out,
    rstandard,
    rstudent,
)
from regrow.meta._mh import MH_MEASURES, MHResult, RevmanResult, revman_mh_dl, rma_mh, rma_peto
from regrow.meta._mv import MV_METHODS, MV_TESTS, MVResult, rma_mv
from regrow.meta._mv_infer import (
    MVLikelihoodRatioTest,
    MVPrediction,
    MVRanef,
    MVWaldTest,
    lrt_mv,
    predict_mv,
    ranef_mv,
    wald_mv,
)
from regrow.meta._mv_profile import MVConfint, MVProfile, confint_mv, profile_mv
from regrow.meta._mv_robust import MVRobustResult, robust_mv
from regrow.meta._mv_struct import STRUCTS as MV_STRUCTS
from regrow.meta._mv_summary import format_mv_summary, format_network_summary
from regrow.meta._network import NetworkEffects, NetworkLeague, NetworkResult, network_meta
from regrow.meta._network_consistency import (
    DesignByTreatment,
    NodeSplit,
    design_by_treatment,
    node_split,
    random_inconsistency,
)
from regrow.meta._network_data import ARM_MEASURES as NETWORK_MEASURES
from regrow.meta._network_data import NetworkData, network_arms, network_contrasts
from regrow.meta._network_plot import plot_network
from regrow.meta._network_rank import NetworkRanking, network_rank, pscores
from regrow.meta._permutest import PermutationTest, permutest
from regrow.meta._profile import confint_profile
from regrow.meta._pubbias import (
    REGTEST_MODELS,
    REGTEST_PREDICTORS,
    FsnResult,
    RanktestResult,
    RegtestResult,
    fsn,
    ranktest,
    regtest,
)
from regrow.meta._rma import TESTS, Interval, Prediction, RMAResult, TauConfint, rma
from regrow.meta._robust import RobustResult, robust
from regrow.meta._selection import HCResult, hc
from regrow.meta._selmodel import SELMODEL_ALTERNATIVES, SELMODEL_TYPES, SelectionModel, selmodel
from regrow.meta._subgroup import (
    CommonTau2,
    LevelFit,
    SubgroupAnalysis,
    SubgroupDifferences,
    SubgroupTest,
    subgroup,
    subgroup_difference_test,
)
from regrow.meta._summary import format_summary
from regrow.meta._tau2 import METHODS, Control
from regrow.meta._trimfill import TrimfillResult, trimfill
from regrow.meta._vcalc import vcalc

#: Names that need matplotlib, mapped to ``(module, attribute)``; imported on first access.
_LAZY = {
    "plot_bubble": ("regrow.meta._plots", "plot_bubble"),
    "save_figure": ("regrow.meta._plots", "save"),
    "png_bytes": ("regrow.meta._plots", "png_bytes"),
    "new_figure": ("regrow.meta._plots", "new_figure"),
    "plot_forest": ("regrow.meta._plots_forest", "plot_forest"),
    "plot_funnel": ("regrow.meta._plots_funnel", "plot_funnel"),
}


def __getattr__(name: str) -> Any:
    """Import the plotting names (and matplotlib) only when first asked for."""
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'regrow.meta' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BLUP",
    "ESCALC_ARGUMENTS",
    "ESCALC_MEASURES",
    "ESCALC_TO",
    "METHODS",
    "MH_MEASURES",
    "REGTEST_MODELS",
    "REGTEST_PREDICTORS",
    "SELMODEL_ALTERNATIVES",
    "SELMODEL_TYPES",
    "TESTS",
    "CommonTau2",
    "Control",
    "Cumulative",
    "EffectSizes",
    "FsnResult",
    "HCResult",
    "Influence",
    "Interval",
    "LeaveOneOut",
    "LevelFit",
    "LikelihoodRatioTest",
    "MHResult",
    "PermutationTest",
    "Prediction",
    "RMAResult",
    "RanktestResult",
    "RegtestResult",
    "Residuals",
    "RevmanResult",
    "RobustResult",
    "SelectionModel",
    "SubgroupAnalysis",
    "SubgroupDifferences",
    "SubgroupTest",
    "TauConfint",
    "TrimfillResult",
    "WaldTest",
    "blup",
    "confint_profile",
    "cumul",
    "design_matrix",
    "escalc",
    "escalc_frame",
    "format_summary",
    "fsn",
    "hatvalues",
    "hc",
    "influence",
    "leave1out",
    "lrt",
    "new_figure",
    "permutest",
    "plot_bubble",
    "plot_forest",
    "plot_funnel",
    "png_bytes",
    "ranktest",
    "regtest",
    "revman_mh_dl",
    "rma",
    "rma_mh",
    "rma_peto",
    "robust",
    "rstandard",
    "rstudent",
    "save_figure",
    "selmodel",
    "subgroup",
    "subgroup_difference_test",
    "trimfill",
    "wald_test",
]

# multilevel/multivariate models and network meta-analysis
__all__ += [
    "MV_METHODS",
    "MV_STRUCTS",
    "MV_TESTS",
    "NETWORK_MEASURES",
    "DesignByTreatment",
    "MVConfint",
    "MVLikelihoodRatioTest",
    "MVPrediction",
    "MVProfile",
    "MVRanef",
    "MVResult",
    "MVRobustResult",
    "MVWaldTest",
    "NetworkData",
    "NetworkEffects",
    "NetworkLeague",
    "NetworkRanking",
    "NetworkResult",
    "NodeSplit",
    "confint_mv",
    "design_by_treatment",
    "format_mv_summary",
    "format_network_summary",
    "lrt_mv",
    "network_arms",
    "network_contrasts",
    "network_meta",
    "network_rank",
    "node_split",
    "plot_network",
    "predict_mv",
    "profile_mv",
    "pscores",
    "random_inconsistency",
    "ranef_mv",
    "rma_mv",
    "robust_mv",
    "vcalc",
    "wald_mv",
]
