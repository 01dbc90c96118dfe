"""`regrow evidence --export-r DIR`: the data and an R script with which metafor reproduces every pooled and
network number (the R run is the slow test)."""

from __future__ import annotations

import csv
import shutil
import subprocess

import numpy as np
import pytest

from regrow.cli import main
from regrow.evidence._export_r import regrow_numbers
from regrow.evidence._full_review import full_review
from regrow.evidence._trials import bundled_path, load_data

#: Agreement claimed with metafor 3.8-1: 1e-6 relative; numbers at a boundary (tau^2 or I^2 of zero, where the
#: two optimisers stop ~1e-12 apart) are compared to 1e-8 absolute.
REL, ABS = 1e-6, 1e-8


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REGROW_EVIDENCE_FILE", str(out / "no-user-copy.yaml"))
        mp.setenv("XDG_DATA_HOME", str(out / "data"))
        assert main(["evidence", "--export-r", str(out / "r")]) == 0
    return out / "r"


def _csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_the_folder_holds_data_numbers_and_script(exported):
    names = {p.name for p in exported.iterdir()}
    assert {"effects.csv", "pools.csv", "networks.csv", "network_contrasts.csv", "regrow_results.csv",
            "reproduce.R"} <= names  # fmt: skip
    full = full_review(load_data(bundled_path()))
    pools = {p["pool_id"]: p for p in _csv(exported / "pools.csv")}
    for r in full.results:
        if r.effects:
            main_pool = pools[f"{r.comparison.id}/main"]
            assert len(main_pool["effects"].split(";")) == r.pooled.k
    assert "mn_mx_vs_mx_density_smd/subgroup_interval_days_7.0" in pools
    fitted = [
        (n.spec.id, i) for n in full.networks for i, c in enumerate(n.components, 1) if c.result is not None
    ]
    assert [(r["network"], int(r["part"])) for r in _csv(exported / "networks.csv")] == fitted


def test_exported_numbers_are_regrows_and_the_matrices_are_valid(exported):
    full = full_review(load_data(bundled_path()))
    written = {r["key"]: float(r["value"]) for r in _csv(exported / "regrow_results.csv")}
    assert written == pytest.approx(regrow_numbers(full), rel=1e-15)
    density = next(r for r in full.results if r.comparison.id == "mn_mx_vs_mx_density")
    assert written["pairwise/mn_mx_vs_mx_density/main/estimate"] == density.pooled.estimate
    for row in _csv(exported / "networks.csv"):
        V = np.loadtxt(exported / row["V_file"], delimiter=",", ndmin=2)
        assert np.allclose(V, V.T) and np.linalg.eigvalsh(V).min() > 0


@pytest.mark.slow
def test_metafor_reproduces_every_number(exported):
    """Runs the exported reproduce.R (needs Rscript + metafor: r-base-core, r-cran-metafor); -m slow."""
    assert shutil.which("Rscript"), "Rscript not found: install r-base-core and r-cran-metafor"
    done = subprocess.run(["Rscript", str(exported / "reproduce.R"), str(exported)], capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip
    assert "there is no package called" not in done.stderr, "metafor is not installed for R"
    assert done.returncode == 0, done.stderr
    assert "compared" in done.stdout and "not refitted" not in done.stdout, done.stdout
    ours = {r["key"]: float(r["value"]) for r in _csv(exported / "regrow_results.csv")}
    theirs = {r["key"]: float(r["value"]) for r in _csv(exported / "metafor_results.csv")}
    assert set(ours) <= set(theirs), sorted(set(ours) - set(theirs))
    assert len(ours) > 300
    bad = {k: (v, theirs[k]) for k, v in ours.items() if v != pytest.approx(theirs[k], rel=REL, abs=ABS)}
    assert not bad, bad
