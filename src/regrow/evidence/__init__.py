"""In the trials: effect sizes, the meta-analysis engine (agreeing with R's metafor), and the evidence review.

The public surface is listed in ``__all__``; everything else lives in private ``_name`` modules.
"""

from regrow.evidence._anova import LikelihoodRatioTest, WaldTest, lrt, wald_test
from regrow.evidence._cumul import Cumulative, cumul
from regrow.evidence._design import design_matrix
from regrow.evidence._escalc import ESCALC_MEASURES, ESCALC_TO, EffectSizes, escalc, escalc_frame
from regrow.evidence._expected import expected_density_change
from regrow.evidence._extraction import (
    change_sd,
    convert_density_to_per_cm2,
    mean_sd_from_five_numbers,
    mean_sd_from_median_iqr,
    mean_sd_from_median_range,
    sd_from_ci,
    sd_from_se,
    sd_pooled_from_se_md,
    se_md_from_ci,
    se_md_from_p,
    t_from_p,
)
from regrow.evidence._influence import (
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
from regrow.evidence._mh import MH_MEASURES, MHResult, RevmanResult, revman_mh_dl, rma_mh, rma_peto
from regrow.evidence._permutest import PermutationTest, permutest
from regrow.evidence._plots import plot_bubble
from regrow.evidence._plots import save as save_figure
from regrow.evidence._plots_forest import SubgroupTest, plot_forest, subgroup_difference_test
from regrow.evidence._plots_funnel import plot_funnel
from regrow.evidence._profile import confint_profile
from regrow.evidence._pubbias import (
    REGTEST_MODELS,
    REGTEST_PREDICTORS,
    FsnResult,
    RanktestResult,
    RegtestResult,
    fsn,
    ranktest,
    regtest,
)
from regrow.evidence._report import summary_dict, write_csv, write_html
from regrow.evidence._review import ComparisonResult, review
from regrow.evidence._rma import TESTS, Interval, Prediction, RMAResult, TauConfint, rma
from regrow.evidence._robust import RobustResult, robust
from regrow.evidence._selection import HCResult, hc
from regrow.evidence._selmodel import SELMODEL_ALTERNATIVES, SELMODEL_TYPES, SelectionModel, selmodel
from regrow.evidence._subgroup import CommonTau2, LevelFit, SubgroupAnalysis, SubgroupDifferences, subgroup
from regrow.evidence._summary import format_summary
from regrow.evidence._tau2 import METHODS, Control
from regrow.evidence._trials import EvidenceData, Study, load_data, parse_data
from regrow.evidence._trimfill import TrimfillResult, trimfill

__all__ = [
    "BLUP",
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
    "ComparisonResult",
    "Control",
    "Cumulative",
    "EffectSizes",
    "EvidenceData",
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
    "Study",
    "SubgroupAnalysis",
    "SubgroupDifferences",
    "SubgroupTest",
    "TauConfint",
    "TrimfillResult",
    "WaldTest",
    "blup",
    "change_sd",
    "confint_profile",
    "convert_density_to_per_cm2",
    "cumul",
    "design_matrix",
    "escalc",
    "escalc_frame",
    "expected_density_change",
    "format_summary",
    "fsn",
    "hatvalues",
    "hc",
    "influence",
    "leave1out",
    "load_data",
    "lrt",
    "mean_sd_from_five_numbers",
    "mean_sd_from_median_iqr",
    "mean_sd_from_median_range",
    "parse_data",
    "permutest",
    "plot_bubble",
    "plot_forest",
    "plot_funnel",
    "ranktest",
    "regtest",
    "review",
    "revman_mh_dl",
    "rma",
    "rma_mh",
    "rma_peto",
    "robust",
    "rstandard",
    "rstudent",
    "save_figure",
    "sd_from_ci",
    "sd_from_se",
    "sd_pooled_from_se_md",
    "se_md_from_ci",
    "se_md_from_p",
    "selmodel",
    "subgroup",
    "subgroup_difference_test",
    "summary_dict",
    "t_from_p",
    "trimfill",
    "wald_test",
    "write_csv",
    "write_html",
]
