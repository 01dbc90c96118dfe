"""Read a PDF back with poppler (``pdftotext``, ``pdfinfo``, ``pdftoppm``, ``pdfimages``), and the example
journal's constants.

``.ci/setup-pdf.sh`` installs poppler-utils and sets ``REGROW_REQUIRE_PDF_TOOLS=1``; with it a missing tool
fails these tests instead of skipping them (as ``REGROW_REQUIRE_BROWSER`` does for the browser tests).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

#: The example journal's last day (fixed, so every run builds the same journal).
DEMO_TODAY = dt.date(2026, 6, 1)
#: The example patient's name (the demo's default person is called "me"; a clinic names its patients).
DEMO_NAME = "Alex Example"
#: The shift (rows, columns) between the two vertex photos of the ``photo_journal`` fixture, in pixels.
PHOTO_SHIFT_PX = (12, 20)
REQUIRE_ENV = "REGROW_REQUIRE_PDF_TOOLS"


def pdf_tool(name: str) -> str:
    """The path of a poppler tool; a skip without it, a failure with ``REGROW_REQUIRE_PDF_TOOLS=1``."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (poppler-utils; run `source .ci/setup-pdf.sh`)"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {message}")
        pytest.skip(message)
    return path


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text (``pdftotext``), whitespace collapsed to single spaces."""
    path = tmp_path / f"text-{uuid.uuid4().hex[:8]}.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        [pdf_tool("pdftotext"), "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, timeout=60
    )
    return re.sub(r"\s+", " ", out.stdout.decode("utf-8"))


def pdf_pages(pdf: bytes, tmp_path: Path) -> int:
    """The page count ``pdfinfo`` reads (it refuses a file that is not a valid PDF)."""
    path = tmp_path / f"info-{uuid.uuid4().hex[:8]}.pdf"
    path.write_bytes(pdf)
    out = subprocess.run([pdf_tool("pdfinfo"), str(path)], capture_output=True, check=True, timeout=60)
    match = re.search(r"^Pages:\s+(\d+)", out.stdout.decode(), flags=re.M)
    assert match, out.stdout
    return int(match.group(1))
