"""External check against a live R/metafor on data sets beyond the shipped references (run with -m slow)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

AGREEMENT = Path(__file__).resolve().parents[2] / "benchmarks" / "metafor_agreement.py"


@pytest.mark.slow
def test_agreement_with_live_metafor_on_more_datasets():
    assert shutil.which("Rscript"), "Rscript not found: install r-base-core and r-cran-metafor"
    done = subprocess.run(
        [sys.executable, str(AGREEMENT)], capture_output=True, text=True, timeout=1800, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "compared with metafor" in done.stdout
