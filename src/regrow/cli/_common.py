"""Helpers shared by the command modules: JSON output and option parsing."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import numpy as np

__all__ = ["emit_json", "split_csv_option", "to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and non-finite floats into plain JSON values.

    NaN becomes ``null``; +/-inf become the strings ``"Infinity"`` / ``"-Infinity"`` (the convention of the
    metafor reference files), so the output is strict JSON.
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        if math.isnan(obj):
            return None
        if math.isinf(obj):
            return "Infinity" if obj > 0 else "-Infinity"
    return obj


def emit_json(obj: Any) -> None:
    """Print one strict-JSON document to stdout."""
    json.dump(to_jsonable(obj), sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def split_csv_option(value: str | None) -> list[str]:
    """Split a comma-separated option (``--mods a,b``) into names, dropping blanks."""
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]
