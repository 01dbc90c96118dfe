"""The living review of the micro-needling trials: the bundled data, the evidence store, the pooled
comparisons with their certainty and verdicts, and the report.

The statistics come from the engine, :mod:`regrow.meta`, through its public API only. The engine's names
(``rma``, ``escalc``, ``plot_forest``, ...) used to be importable from here; they still are for one release,
with a :class:`DeprecationWarning` saying where they moved.

The public surface is listed in ``__all__``; everything else lives in private ``_name`` modules.
"""

from __future__ import annotations

import warnings
from typing import Any

from regrow.evidence._claims import claim_verdicts
from regrow.evidence._entry import read_csv_studies, study_entry
from regrow.evidence._expected import expected_density_change
from regrow.evidence._export_r import export_r
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
from regrow.evidence._full_review import FullReview, full_review
from regrow.evidence._living import rerun_report
from regrow.evidence._network_review import NetworkReview, network_review, network_reviews
from regrow.evidence._network_specs import NETWORKS, NetworkSpec
from regrow.evidence._published import compare_published
from regrow.evidence._report import comparison_dict, summary_dict, write_csv, write_html
from regrow.evidence._report_plots import forest_png, funnel_png
from regrow.evidence._review import ComparisonResult, review, review_comparison
from regrow.evidence._screening import load_screening, prisma_counts
from regrow.evidence._store import merge_studies, read_studies, save_user_copy
from regrow.evidence._trials import (
    EvidenceData,
    Study,
    bundled_path,
    dump_data,
    load_data,
    parse_data,
    parse_study,
    user_data_path,
)
from regrow.evidence._verdict import overall_summary

__all__ = [
    "NETWORKS",
    "ComparisonResult",
    "EvidenceData",
    "FullReview",
    "NetworkReview",
    "NetworkSpec",
    "Study",
    "bundled_path",
    "change_sd",
    "claim_verdicts",
    "compare_published",
    "comparison_dict",
    "convert_density_to_per_cm2",
    "dump_data",
    "expected_density_change",
    "export_r",
    "forest_png",
    "full_review",
    "funnel_png",
    "load_data",
    "load_screening",
    "mean_sd_from_five_numbers",
    "mean_sd_from_median_iqr",
    "mean_sd_from_median_range",
    "merge_studies",
    "network_review",
    "network_reviews",
    "overall_summary",
    "parse_data",
    "parse_study",
    "prisma_counts",
    "read_csv_studies",
    "read_studies",
    "rerun_report",
    "review",
    "review_comparison",
    "save_user_copy",
    "sd_from_ci",
    "sd_from_se",
    "sd_pooled_from_se_md",
    "se_md_from_ci",
    "se_md_from_p",
    "study_entry",
    "summary_dict",
    "t_from_p",
    "user_data_path",
    "write_csv",
    "write_html",
]


def __getattr__(name: str) -> Any:
    """The engine's names, moved to :mod:`regrow.meta`: still served for one release, with a warning."""
    import regrow.meta

    if name not in regrow.meta.__all__:
        raise AttributeError(f"module 'regrow.evidence' has no attribute {name!r}")
    warnings.warn(
        f"regrow.evidence.{name} moved to regrow.meta.{name}; import it from there "
        "(regrow.evidence will stop re-exporting engine names in the next release).",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(regrow.meta, name)
