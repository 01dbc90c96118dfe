"""Pin the public surface of each capability (httpx-style): a rename or removal must be deliberate."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["regrow.meta", "regrow.evidence", "regrow.journal", "regrow.protocol", "regrow.progress"]

#: Names the rest of the product (CLI, web, progress) relies on; each must stay exported.
REQUIRED = {
    "regrow.meta": {
        "rma",
        "escalc",
        "RMAResult",
        "Control",
        "confint_profile",
        "lrt",
        "wald_test",
        "leave1out",
        "influence",
        "rstandard",
        "rstudent",
        "blup",
        "cumul",
        "permutest",
        "subgroup",
        "regtest",
        "ranktest",
        "trimfill",
        "fsn",
        "hc",
        "selmodel",
        "rma_mh",
        "rma_peto",
        "robust",
        "plot_forest",
        "plot_funnel",
        "plot_bubble",
        "save_figure",
        "format_summary",
    },
    "regrow.evidence": {
        "review",
        "load_data",
        "expected_density_change",
        "summary_dict",
        "forest_png",
        "funnel_png",
        "save_user_copy",
        "merge_studies",
        "read_studies",
        "parse_study",
        "user_data_path",
    },
    "regrow.journal": {
        "open_journal",
        "make_engine",
        "session_scope",
        "get_or_create_default_person",
        "add_measurement",
        "list_measurements",
        "add_photo",
        "export_json",
        "import_data",
        "delete_person_data",
    },
    "regrow.protocol": {"load_rules", "check_plan", "check_session", "plan_schedule", "schedule_to_ical"},
    "regrow.progress": {"analyse_progress", "fit_trend", "plot_progress", "analyse_split_scalp"},
}


@pytest.mark.parametrize("package", PACKAGES)
def test_all_names_exist_and_are_unique(package):
    module = importlib.import_module(package)
    assert len(module.__all__) == len(set(module.__all__))
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing


@pytest.mark.parametrize("package", PACKAGES)
def test_required_names_are_exported(package):
    module = importlib.import_module(package)
    assert REQUIRED[package] <= set(module.__all__), REQUIRED[package] - set(module.__all__)


@pytest.mark.parametrize("package", PACKAGES)
def test_private_modules_stay_private(package):
    module = importlib.import_module(package)
    assert not [name for name in module.__all__ if name.startswith("_")]
