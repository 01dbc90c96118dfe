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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers and IDEs; at run time every name is imported on first use
    from regrow.meta._aggregate import AGGREGATE_STRUCTS, aggregate
    from regrow.meta._anova import LikelihoodRatioTest, WaldTest, lrt, wald_test
    from regrow.meta._anova_general import AnovaResult, anova
    from regrow.meta._cumul import Cumulative, cumul
    from regrow.meta._design import design_matrix
    from regrow.meta._escalc import ESCALC_MEASURES, ESCALC_TO, EffectSizes, escalc, escalc_frame
    from regrow.meta._escalc_input import ARGUMENT_NAMES as ESCALC_ARGUMENTS
    from regrow.meta._fitstats import FIT_STATS, aic, bic, deviance, df_residual, fitstats, loglik, nobs
    from regrow.meta._fsn import FsnResult, fsn
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
    from regrow.meta._ls import LSResult
    from regrow.meta._methods import (
        RandomEffects,
        cooks_distance,
        dfbetas,
        fitted,
        formula,
        ranef,
        residuals,
        simulate,
        vcov,
        weights,
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
    from regrow.meta._pdfs import density_cor, density_smd, density_zcor
    from regrow.meta._permutest import PermutationTest, permutest
    from regrow.meta._plots import new_figure, plot_bubble, png_bytes
    from regrow.meta._plots import save as save_figure
    from regrow.meta._plots_forest import plot_forest
    from regrow.meta._plots_funnel import plot_funnel
    from regrow.meta._profile import confint_profile
    from regrow.meta._pubbias import (
        REGTEST_MODELS,
        REGTEST_PREDICTORS,
        RanktestResult,
        RegtestResult,
        ranktest,
        regtest,
    )
    from regrow.meta._reshape import Table3D, to_long, to_table, to_wide
    from regrow.meta._rma import NA_ACTIONS, TESTS, Interval, Prediction, RMAResult, TauConfint, rma
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
    from regrow.meta._tes import TES_TESTS, TesResult, tes
    from regrow.meta._tools import dfround, replmiss, vec2mat
    from regrow.meta._transf import TRANSF, transf
    from regrow.meta._trimfill import TrimfillResult, trimfill
    from regrow.meta._update import update
    from regrow.meta._vcalc import vcalc
    from regrow.meta._vif import VIFResult, vif

#: Every public name, mapped to ``(module, attribute)``: imported on first access, so that
#: ``import regrow.meta`` is instant and ``from regrow.meta import rma`` loads only what ``rma`` needs.
_LAZY = {
    "formula": ("regrow.meta._methods", "formula"),
    "FIT_STATS": ("regrow.meta._fitstats", "FIT_STATS"),
    "aic": ("regrow.meta._fitstats", "aic"),
    "bic": ("regrow.meta._fitstats", "bic"),
    "deviance": ("regrow.meta._fitstats", "deviance"),
    "df_residual": ("regrow.meta._fitstats", "df_residual"),
    "fitstats": ("regrow.meta._fitstats", "fitstats"),
    "loglik": ("regrow.meta._fitstats", "loglik"),
    "nobs": ("regrow.meta._fitstats", "nobs"),
    "AGGREGATE_STRUCTS": ("regrow.meta._aggregate", "AGGREGATE_STRUCTS"),
    "aggregate": ("regrow.meta._aggregate", "aggregate"),
    "vif": ("regrow.meta._vif", "vif"),
    "VIFResult": ("regrow.meta._vif", "VIFResult"),
    "LSResult": ("regrow.meta._ls", "LSResult"),
    "to_long": ("regrow.meta._reshape", "to_long"),
    "to_table": ("regrow.meta._reshape", "to_table"),
    "to_wide": ("regrow.meta._reshape", "to_wide"),
    "Table3D": ("regrow.meta._reshape", "Table3D"),
    "anova": ("regrow.meta._anova_general", "anova"),
    "AnovaResult": ("regrow.meta._anova_general", "AnovaResult"),
    "fitted": ("regrow.meta._methods", "fitted"),
    "residuals": ("regrow.meta._methods", "residuals"),
    "weights": ("regrow.meta._methods", "weights"),
    "vcov": ("regrow.meta._methods", "vcov"),
    "ranef": ("regrow.meta._methods", "ranef"),
    "RandomEffects": ("regrow.meta._methods", "RandomEffects"),
    "simulate": ("regrow.meta._methods", "simulate"),
    "cooks_distance": ("regrow.meta._methods", "cooks_distance"),
    "dfbetas": ("regrow.meta._methods", "dfbetas"),
    "transf": ("regrow.meta._transf", "transf"),
    "TRANSF": ("regrow.meta._transf", "TRANSF"),
    "NA_ACTIONS": ("regrow.meta._rma", "NA_ACTIONS"),
    "LikelihoodRatioTest": ("regrow.meta._anova", "LikelihoodRatioTest"),
    "WaldTest": ("regrow.meta._anova", "WaldTest"),
    "lrt": ("regrow.meta._anova", "lrt"),
    "wald_test": ("regrow.meta._anova", "wald_test"),
    "Cumulative": ("regrow.meta._cumul", "Cumulative"),
    "cumul": ("regrow.meta._cumul", "cumul"),
    "design_matrix": ("regrow.meta._design", "design_matrix"),
    "ESCALC_MEASURES": ("regrow.meta._escalc", "ESCALC_MEASURES"),
    "ESCALC_TO": ("regrow.meta._escalc", "ESCALC_TO"),
    "EffectSizes": ("regrow.meta._escalc", "EffectSizes"),
    "escalc": ("regrow.meta._escalc", "escalc"),
    "escalc_frame": ("regrow.meta._escalc", "escalc_frame"),
    "ESCALC_ARGUMENTS": ("regrow.meta._escalc_input", "ARGUMENT_NAMES"),
    "BLUP": ("regrow.meta._influence", "BLUP"),
    "Influence": ("regrow.meta._influence", "Influence"),
    "LeaveOneOut": ("regrow.meta._influence", "LeaveOneOut"),
    "Residuals": ("regrow.meta._influence", "Residuals"),
    "blup": ("regrow.meta._influence", "blup"),
    "hatvalues": ("regrow.meta._influence", "hatvalues"),
    "influence": ("regrow.meta._influence", "influence"),
    "leave1out": ("regrow.meta._influence", "leave1out"),
    "rstandard": ("regrow.meta._influence", "rstandard"),
    "rstudent": ("regrow.meta._influence", "rstudent"),
    "MHResult": ("regrow.meta._mh", "MHResult"),
    "MH_MEASURES": ("regrow.meta._mh", "MH_MEASURES"),
    "RevmanResult": ("regrow.meta._mh", "RevmanResult"),
    "revman_mh_dl": ("regrow.meta._mh", "revman_mh_dl"),
    "rma_mh": ("regrow.meta._mh", "rma_mh"),
    "rma_peto": ("regrow.meta._mh", "rma_peto"),
    "PermutationTest": ("regrow.meta._permutest", "PermutationTest"),
    "permutest": ("regrow.meta._permutest", "permutest"),
    "new_figure": ("regrow.meta._plots", "new_figure"),
    "plot_bubble": ("regrow.meta._plots", "plot_bubble"),
    "png_bytes": ("regrow.meta._plots", "png_bytes"),
    "save_figure": ("regrow.meta._plots", "save"),
    "SAVE_FORMATS": ("regrow.meta._plot_names", "SAVE_FORMATS"),
    "FOREST_ORDERS": ("regrow.meta._plot_names", "FOREST_ORDERS"),
    "plot_forest": ("regrow.meta._plots_forest", "plot_forest"),
    "plot_funnel": ("regrow.meta._plots_funnel", "plot_funnel"),
    "confint_profile": ("regrow.meta._profile", "confint_profile"),
    "FsnResult": ("regrow.meta._fsn", "FsnResult"),
    "REGTEST_MODELS": ("regrow.meta._pubbias", "REGTEST_MODELS"),
    "REGTEST_PREDICTORS": ("regrow.meta._pubbias", "REGTEST_PREDICTORS"),
    "RanktestResult": ("regrow.meta._pubbias", "RanktestResult"),
    "RegtestResult": ("regrow.meta._pubbias", "RegtestResult"),
    "fsn": ("regrow.meta._fsn", "fsn"),
    "ranktest": ("regrow.meta._pubbias", "ranktest"),
    "regtest": ("regrow.meta._pubbias", "regtest"),
    "Interval": ("regrow.meta._rma", "Interval"),
    "Prediction": ("regrow.meta._rma", "Prediction"),
    "RMAResult": ("regrow.meta._rma", "RMAResult"),
    "TESTS": ("regrow.meta._rma", "TESTS"),
    "TauConfint": ("regrow.meta._rma", "TauConfint"),
    "rma": ("regrow.meta._rma", "rma"),
    "RobustResult": ("regrow.meta._robust", "RobustResult"),
    "robust": ("regrow.meta._robust", "robust"),
    "HCResult": ("regrow.meta._selection", "HCResult"),
    "hc": ("regrow.meta._selection", "hc"),
    "SELMODEL_ALTERNATIVES": ("regrow.meta._selmodel", "SELMODEL_ALTERNATIVES"),
    "SELMODEL_TYPES": ("regrow.meta._selmodel", "SELMODEL_TYPES"),
    "SelectionModel": ("regrow.meta._selmodel", "SelectionModel"),
    "selmodel": ("regrow.meta._selmodel", "selmodel"),
    "CommonTau2": ("regrow.meta._subgroup", "CommonTau2"),
    "LevelFit": ("regrow.meta._subgroup", "LevelFit"),
    "SubgroupAnalysis": ("regrow.meta._subgroup", "SubgroupAnalysis"),
    "SubgroupDifferences": ("regrow.meta._subgroup", "SubgroupDifferences"),
    "SubgroupTest": ("regrow.meta._subgroup", "SubgroupTest"),
    "subgroup": ("regrow.meta._subgroup", "subgroup"),
    "subgroup_difference_test": ("regrow.meta._subgroup", "subgroup_difference_test"),
    "format_summary": ("regrow.meta._summary", "format_summary"),
    "Control": ("regrow.meta._tau2", "Control"),
    "METHODS": ("regrow.meta._tau2", "METHODS"),
    "TrimfillResult": ("regrow.meta._trimfill", "TrimfillResult"),
    "trimfill": ("regrow.meta._trimfill", "trimfill"),
    # multilevel/multivariate models and network meta-analysis
    "MV_METHODS": ("regrow.meta._mv", "MV_METHODS"),
    "MV_TESTS": ("regrow.meta._mv", "MV_TESTS"),
    "MVResult": ("regrow.meta._mv", "MVResult"),
    "rma_mv": ("regrow.meta._mv", "rma_mv"),
    "MVLikelihoodRatioTest": ("regrow.meta._mv_infer", "MVLikelihoodRatioTest"),
    "MVPrediction": ("regrow.meta._mv_infer", "MVPrediction"),
    "MVRanef": ("regrow.meta._mv_infer", "MVRanef"),
    "MVWaldTest": ("regrow.meta._mv_infer", "MVWaldTest"),
    "lrt_mv": ("regrow.meta._mv_infer", "lrt_mv"),
    "predict_mv": ("regrow.meta._mv_infer", "predict_mv"),
    "ranef_mv": ("regrow.meta._mv_infer", "ranef_mv"),
    "wald_mv": ("regrow.meta._mv_infer", "wald_mv"),
    "MVConfint": ("regrow.meta._mv_profile", "MVConfint"),
    "MVProfile": ("regrow.meta._mv_profile", "MVProfile"),
    "confint_mv": ("regrow.meta._mv_profile", "confint_mv"),
    "profile_mv": ("regrow.meta._mv_profile", "profile_mv"),
    "MVRobustResult": ("regrow.meta._mv_robust", "MVRobustResult"),
    "robust_mv": ("regrow.meta._mv_robust", "robust_mv"),
    "MV_STRUCTS": ("regrow.meta._mv_struct", "STRUCTS"),
    "format_mv_summary": ("regrow.meta._mv_summary", "format_mv_summary"),
    "format_network_summary": ("regrow.meta._mv_summary", "format_network_summary"),
    "NetworkEffects": ("regrow.meta._network", "NetworkEffects"),
    "NetworkLeague": ("regrow.meta._network", "NetworkLeague"),
    "NetworkResult": ("regrow.meta._network", "NetworkResult"),
    "network_meta": ("regrow.meta._network", "network_meta"),
    "DesignByTreatment": ("regrow.meta._network_consistency", "DesignByTreatment"),
    "NodeSplit": ("regrow.meta._network_consistency", "NodeSplit"),
    "design_by_treatment": ("regrow.meta._network_consistency", "design_by_treatment"),
    "node_split": ("regrow.meta._network_consistency", "node_split"),
    "random_inconsistency": ("regrow.meta._network_consistency", "random_inconsistency"),
    "NETWORK_MEASURES": ("regrow.meta._network_data", "ARM_MEASURES"),
    "NetworkData": ("regrow.meta._network_data", "NetworkData"),
    "network_arms": ("regrow.meta._network_data", "network_arms"),
    "network_contrasts": ("regrow.meta._network_data", "network_contrasts"),
    "plot_network": ("regrow.meta._network_plot", "plot_network"),
    "NetworkRanking": ("regrow.meta._network_rank", "NetworkRanking"),
    "network_rank": ("regrow.meta._network_rank", "network_rank"),
    "pscores": ("regrow.meta._network_rank", "pscores"),
    "vcalc": ("regrow.meta._vcalc", "vcalc"),
    "TES_TESTS": ("regrow.meta._tes", "TES_TESTS"),
    "TesResult": ("regrow.meta._tes", "TesResult"),
    "tes": ("regrow.meta._tes", "tes"),
    "update": ("regrow.meta._update", "update"),
    "vec2mat": ("regrow.meta._tools", "vec2mat"),
    "replmiss": ("regrow.meta._tools", "replmiss"),
    "dfround": ("regrow.meta._tools", "dfround"),
    "density_smd": ("regrow.meta._pdfs", "density_smd"),
    "density_cor": ("regrow.meta._pdfs", "density_cor"),
    "density_zcor": ("regrow.meta._pdfs", "density_zcor"),
}


def __getattr__(name: str) -> Any:
    """Import a public name (and only the modules it needs) when first asked for."""
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
    "AGGREGATE_STRUCTS",
    "BLUP",
    "ESCALC_ARGUMENTS",
    "ESCALC_MEASURES",
    "ESCALC_TO",
    "FIT_STATS",
    "FOREST_ORDERS",
    "METHODS",
    "MH_MEASURES",
    "NA_ACTIONS",
    "REGTEST_MODELS",
    "REGTEST_PREDICTORS",
    "SAVE_FORMATS",
    "SELMODEL_ALTERNATIVES",
    "SELMODEL_TYPES",
    "TESTS",
    "TRANSF",
    "AnovaResult",
    "CommonTau2",
    "Control",
    "Cumulative",
    "EffectSizes",
    "FsnResult",
    "HCResult",
    "Influence",
    "Interval",
    "LSResult",
    "LeaveOneOut",
    "LevelFit",
    "LikelihoodRatioTest",
    "MHResult",
    "PermutationTest",
    "Prediction",
    "RMAResult",
    "RandomEffects",
    "RanktestResult",
    "RegtestResult",
    "Residuals",
    "RevmanResult",
    "RobustResult",
    "SelectionModel",
    "SubgroupAnalysis",
    "SubgroupDifferences",
    "SubgroupTest",
    "Table3D",
    "TauConfint",
    "TrimfillResult",
    "VIFResult",
    "WaldTest",
    "aggregate",
    "aic",
    "anova",
    "bic",
    "blup",
    "confint_profile",
    "cooks_distance",
    "cumul",
    "design_matrix",
    "deviance",
    "df_residual",
    "dfbetas",
    "escalc",
    "escalc_frame",
    "fitstats",
    "fitted",
    "format_summary",
    "formula",
    "fsn",
    "hatvalues",
    "hc",
    "influence",
    "leave1out",
    "loglik",
    "lrt",
    "new_figure",
    "nobs",
    "permutest",
    "plot_bubble",
    "plot_forest",
    "plot_funnel",
    "png_bytes",
    "ranef",
    "ranktest",
    "regtest",
    "residuals",
    "revman_mh_dl",
    "rma",
    "rma_mh",
    "rma_peto",
    "robust",
    "rstandard",
    "rstudent",
    "save_figure",
    "selmodel",
    "simulate",
    "subgroup",
    "subgroup_difference_test",
    "to_long",
    "to_table",
    "to_wide",
    "transf",
    "trimfill",
    "vcov",
    "vif",
    "wald_test",
    "weights",
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

# metafor's smaller tools: the test of excess significance, matrix and data helpers, sampling densities
__all__ += [
    "TES_TESTS",
    "TesResult",
    "density_cor",
    "density_smd",
    "density_zcor",
    "dfround",
    "replmiss",
    "tes",
    "update",
    "vec2mat",
]
