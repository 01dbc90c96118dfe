"""metafor 3.8-1's own testthat assertions, ported (tests/meta/testthat/): none of those recorded as passing
in status.json may regress, and no ported block may crash. The slow blocks (continuous selection models,
about 40 s) run with ``pytest -m slow``, which also checks that status.json is current.

Refresh status.json after porting more with ``python tests/meta/testthat/harness.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "testthat"))
import harness


@pytest.fixture(scope="module")
def status():
    return harness.run_all(include_slow=False)


@pytest.fixture(scope="module")
def status_all():
    return harness.run_all()


def _regressions(status):
    recorded = json.loads(harness.STATUS.read_text())["assertions"]
    return {
        aid: status[aid]
        for aid, entry in recorded.items()
        if entry["status"] == "pass" and status[aid][0] not in ("pass", "skipped_slow")
    }


def test_recorded_passes_still_pass(status):
    regressed = _regressions(status)
    assert not regressed, (
        f"{len(regressed)} metafor assertions no longer pass: {dict(list(regressed.items())[:5])}"
    )


def test_no_ported_block_fails_or_crashes(status):
    bad = {aid: v for aid, v in status.items() if v[0] in ("fail", "error")}
    assert not bad, dict(list(bad.items())[:5])


@pytest.mark.slow
def test_slow_blocks_and_status_file(status_all):
    regressed = _regressions(status_all)
    assert not regressed, (
        f"{len(regressed)} metafor assertions no longer pass: {dict(list(regressed.items())[:5])}"
    )
    recorded = json.loads(harness.STATUS.read_text())
    assert recorded["summary"] == harness.summary(status_all), "run python tests/meta/testthat/harness.py"


def test_every_assertion_is_accounted_for(status):
    assertions = harness.load_assertions()
    assert set(status) == set(assertions)
    assert all(v[0].startswith("excluded:") == (assertions[aid]["category"] in harness.EXCLUDED)
               for aid, v in status.items())  # fmt: skip
