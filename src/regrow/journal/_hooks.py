"""A test hook that pauses inside a write transaction so a crash test can kill the process there.

Set ``REGROW_TEST_PAUSE_AT=<point>:<seconds>`` (and optionally ``REGROW_TEST_PAUSE_MARKER=<file>``, touched
when the pause starts). Unset in normal use, where :func:`pause_point` does nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_ENV = "REGROW_TEST_PAUSE_AT"
MARKER_ENV = "REGROW_TEST_PAUSE_MARKER"


def pause_point(name: str) -> None:
    """Sleep here when ``$REGROW_TEST_PAUSE_AT`` names this point (tests only)."""
    spec = os.environ.get(PAUSE_ENV)
    if not spec:
        return
    point, _, seconds = spec.partition(":")
    if point != name:
        return
    marker = os.environ.get(MARKER_ENV)
    if marker:
        Path(marker).write_text(name)
    time.sleep(float(seconds or 30))
