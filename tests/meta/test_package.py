"""The package boundary of the engine: its public names, its imports, and the deprecation path."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from mv_refs import MV_PUBLIC

import regrow.evidence
import regrow.meta

SRC = Path(regrow.meta.__file__).resolve().parents[2]

#: The public API of regrow.meta; a rename or removal here must be deliberate (and documented).
PUBLIC = {
    "AGGREGATE_STRUCTS", "AnovaResult", "BLUP", "CommonTau2", "Control", "Cumulative", "ESCALC_ARGUMENTS",
    "ESCALC_MEASURES", "ESCALC_TO", "EffectSizes", "FIT_STATS", "FsnResult", "HCResult", "Influence",
    "Interval", "LSResult", "LeaveOneOut", "LevelFit", "LikelihoodRatioTest", "METHODS", "MHResult",
    "MH_MEASURES", "NA_ACTIONS", "PermutationTest", "Prediction", "REGTEST_MODELS", "REGTEST_PREDICTORS",
    "RMAResult", "RandomEffects", "RanktestResult", "RegtestResult", "Residuals", "RevmanResult",
    "RobustResult", "SELMODEL_ALTERNATIVES", "SELMODEL_TYPES", "SelectionModel", "SubgroupAnalysis",
    "SubgroupDifferences", "SubgroupTest", "TESTS", "TRANSF", "Table3D", "TauConfint", "TrimfillResult",
    "VIFResult", "WaldTest", "aggregate", "aic", "anova", "bic", "blup", "confint_profile", "cooks_distance",
    "cumul", "design_matrix", "deviance", "df_residual", "dfbetas", "escalc", "escalc_frame", "fitstats",
    "fitted", "format_summary", "formula", "fsn", "hatvalues", "hc", "influence", "leave1out", "loglik", "lrt",
    "new_figure", "nobs", "permutest", "plot_bubble", "plot_forest", "plot_funnel", "png_bytes", "ranef",
    "ranktest", "regtest", "residuals", "revman_mh_dl", "rma", "rma_mh", "rma_peto", "robust", "rstandard",
    "rstudent", "save_figure", "selmodel", "simulate", "subgroup", "subgroup_difference_test", "to_long",
    "to_table", "to_wide", "transf", "trimfill", "vcov", "vif", "wald_test", "weights",
}  # fmt: skip
PUBLIC |= {"FOREST_ORDERS", "SAVE_FORMATS"}
PUBLIC |= {
    "AnovaResult", "LSResult", "NA_ACTIONS", "RandomEffects", "TRANSF", "Table3D", "VIFResult", "anova",
    "cooks_distance", "dfbetas", "fitted", "ranef", "residuals", "simulate", "to_long", "to_table", "to_wide",
    "transf", "vcov", "vif", "weights",
}  # fmt: skip
PUBLIC |= {
    "TES_TESTS", "TesResult", "density_cor", "density_smd", "density_zcor", "dfround", "replmiss", "tes",
    "update", "vec2mat",
}  # fmt: skip
PUBLIC |= set(MV_PUBLIC)  # rma_mv, vcalc and network meta-analysis: pinned in test_mv_api.py


def test_public_names_are_pinned():
    assert set(regrow.meta.__all__) == PUBLIC


def test_every_public_callable_has_a_numpydoc_docstring():
    missing = []
    for name in regrow.meta.__all__:
        obj = getattr(regrow.meta, name)
        if callable(obj) and not isinstance(obj, type) and not (obj.__doc__ or "").strip():
            missing.append(name)
        elif callable(obj) and not isinstance(obj, type) and "Returns\n" not in (obj.__doc__ or ""):
            missing.append(f"{name} (no Returns section)")
    assert not missing


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def _loaded(modules: set[str], *roots: str) -> set[str]:
    return {m for m in modules if any(m == r or m.startswith(r + ".") for r in roots)}


HEAVY = ("matplotlib", "pandas", "sqlalchemy", "fastapi", "scipy.stats", "scipy.optimize", "statsmodels")
APP = ("regrow.evidence", "regrow.journal", "regrow.web", "regrow.progress", "regrow.measure")


def test_importing_the_engine_loads_no_heavy_library_or_app_code():
    assert _loaded(_imported_after("import regrow.meta"), *HEAVY, *APP, "numpy", "scipy") == set()


def test_fitting_a_model_needs_only_numpy():
    fit = (
        "from regrow.meta import escalc, rma; "
        "es = escalc('SMD', m1i=[1, 2, 3], m2i=[0, 1, 1], sd1i=[1, 1, 2], sd2i=[1, 1, 2], n1i=[9, 10, 11], "
        "n2i=[12, 12, 12]); "
        "r = rma(es.yi, es.vi, mods={'x': [1.0, 2.0, 4.0]}, method='DL', test='knha'); "
        "r0 = rma(es.yi, es.vi); r0.confint(); r0.predict(); r0.to_dict()"
    )
    loaded = _imported_after(fit)
    assert _loaded(loaded, *HEAVY, *APP, "scipy") == set()
    assert "numpy" in loaded


def test_the_command_line_starts_without_numpy_or_any_capability():
    loaded = _imported_after("import regrow.cli")
    assert (
        _loaded(loaded, *HEAVY, *APP, "numpy", "scipy", "regrow.meta", "yaml", "PIL", "cv2", "rich") == set()
    )


def test_plots_are_imported_on_first_use():
    loaded = _imported_after("import regrow.meta; regrow.meta.plot_forest")
    assert "matplotlib" in loaded


def _private_imports(path: Path) -> list[str]:
    """``from regrow.X._y import ...`` / ``import regrow.X._y`` where X is not the file's own package."""
    rel = path.relative_to(SRC).with_suffix("")
    own = rel.parts[1] if len(rel.parts) > 2 else None  # regrow/<package>/module.py
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] != "regrow" or len(parts) < 3:
                continue
            if parts[1] != own and parts[2].startswith("_"):
                found.append(f"{rel}: {name}")
    return found


@pytest.mark.parametrize(
    "package", ["meta", "evidence", "cli/meta.py", "cli/meta_escalc.py", "cli/evidence.py"]
)
def test_no_module_imports_another_packages_private_names(package):
    target = SRC / "regrow" / package
    files = [target] if target.suffix == ".py" else sorted(target.rglob("*.py"))
    assert files
    assert [hit for f in files for hit in _private_imports(f)] == []


def test_engine_never_imports_the_review_or_the_app():
    for path in sorted((SRC / "regrow" / "meta").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            modules = [module] if module else [a.name for a in getattr(node, "names", [])]
            if isinstance(node, ast.Import | ast.ImportFrom):
                bad = [
                    m
                    for m in modules
                    if m
                    and m.split(".")[:2]
                    in (
                        ["regrow", p]
                        for p in ("evidence", "journal", "web", "progress", "measure", "protocol", "cli")
                    )
                ]
                assert not bad, f"{path.name}: {bad}"


def test_old_engine_names_still_work_from_evidence_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match=r"regrow\.evidence\.rma moved to regrow\.meta\.rma"):
        rma = regrow.evidence.rma
    assert rma is regrow.meta.rma
    with pytest.warns(DeprecationWarning, match="plot_forest"):
        assert regrow.evidence.plot_forest is regrow.meta.plot_forest


def test_unknown_evidence_names_are_still_attribute_errors():
    with pytest.raises(AttributeError, match="no_such_name"):
        regrow.evidence.no_such_name  # noqa: B018


def test_constants_written_out_in_the_command_line_match_their_sources():
    from regrow.cli._common import DATABASE_URL_ENV
    from regrow.cli.meta_escalc import TO_CHOICES
    from regrow.journal import DATABASE_URL_ENV as journal_env

    assert journal_env == DATABASE_URL_ENV
    assert TO_CHOICES == regrow.meta.ESCALC_TO
