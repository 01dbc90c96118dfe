"""In the trials: effect sizes, the meta-analysis engine (agreeing with R's metafor), and the evidence review.

The public surface is listed in ``__all__``; everything else lives in private ``_name`` modules.
"""

from regrow.evidence._anova import LikelihoodRatioTest, WaldTest, lrt, wald_test
from regrow.evidence._design import design_matrix
from regrow.evidence._escalc import ESCALC_MEASURES, ESCALC_TO, EffectSizes, escalc, escalc_frame
from regrow.evidence._profile import confint_profile
from regrow.evidence._rma import TESTS, Interval, Prediction, RMAResult, TauConfint, rma
from regrow.evidence._tau2 import METHODS, Control

__all__ = [
    "ESCALC_MEASURES",
    "ESCALC_TO",
    "EffectSizes",
    "escalc",
    "escalc_frame",
    "METHODS",
    "TESTS",
    "Control",
    "Interval",
    "LikelihoodRatioTest",
    "Prediction",
    "RMAResult",
    "TauConfint",
    "WaldTest",
    "confint_profile",
    "design_matrix",
    "lrt",
    "rma",
    "wald_test",
]
