"""Is it working for me? The n-of-1 progress model, verdicts, split-scalp analysis and plots.

Data flow: measurements (from ``regrow.measure`` or typed in) and the journal's treatment context go in;
a :class:`ProgressReport` with per-site and overall change from baseline, 95% intervals, probabilities,
comparisons with placebo arms and the trial-expected response, a verdict and its caveats comes out. The overall
verdict follows the site verdicts by one stated rule (:data:`VERDICT_RULE`); measurements flagged for review
are listed, not used (``ProgressReport.excluded``); uncertain automatic counts weigh less (``counted_less``).
"""

from __future__ import annotations

from regrow.progress._analysis import analyse_progress, natural_history_for
from regrow.progress._constants import NATURAL_HISTORY, NaturalHistory
from regrow.progress._model import TrendPosterior, fit_trend
from regrow.progress._overall import VERDICT_RULE, combine_site_verdicts
from regrow.progress._plot import plot_progress
from regrow.progress._split import (
    SplitAssignment,
    SplitScalpResult,
    analyse_split_scalp,
    randomise_split_scalp,
)
from regrow.progress._types import (
    Caveat,
    CountedLess,
    ExcludedMeasurement,
    ExpectedResponse,
    Interval,
    Observation,
    ProgressReport,
    SiteProgress,
    TreatmentContext,
    Verdict,
    VisitChange,
)

__all__ = [
    "NATURAL_HISTORY",
    "VERDICT_RULE",
    "Caveat",
    "CountedLess",
    "ExcludedMeasurement",
    "ExpectedResponse",
    "Interval",
    "NaturalHistory",
    "Observation",
    "ProgressReport",
    "SiteProgress",
    "SplitAssignment",
    "SplitScalpResult",
    "TreatmentContext",
    "TrendPosterior",
    "Verdict",
    "VisitChange",
    "analyse_progress",
    "analyse_split_scalp",
    "combine_site_verdicts",
    "fit_trend",
    "natural_history_for",
    "plot_progress",
    "randomise_split_scalp",
]
