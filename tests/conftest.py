"""Shared fixtures: the reference folders beside the checkout and seeded random generators."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
#: ``../shared`` beside the checkout (CI clones the project with shared/ next to it).
SHARED_DIR = Path(os.environ.get("REGROW_SHARED_DIR", REPO_ROOT.parent / "shared"))

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _private_user_folders(tmp_path_factory, monkeypatch):
    """No test writes into the real user data folder: it and the photo folder default live in a temp dir.

    (A PostgreSQL journal's photo folder defaults to the user data folder, which a test must never touch.)
    """
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("REGROW_PHOTOS_DIR", str(home / "photos"))
    monkeypatch.delenv("REGROW_DATABASE_URL", raising=False)


@pytest.fixture
def shared_dir() -> Path:
    """The shared reference folder; fails loudly (never skips) when it is missing."""
    if not SHARED_DIR.is_dir():
        pytest.fail(f"../shared not found at {SHARED_DIR}; set REGROW_SHARED_DIR")
    return SHARED_DIR


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator so every random test is repeatable."""
    return np.random.default_rng(20261124)
