"""Helpers shared by the command modules: JSON output, option parsing and lazy imports.

Nothing here imports numpy or any regrow capability: ``regrow --help`` must start in a fraction of a second,
so a command module names its heavy dependencies with :func:`lazy_module` / :func:`lazy_attr` and they load
only when a command runs.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
import types
from collections.abc import Callable
from typing import Any

__all__ = [
    "DATABASE_URL_ENV",
    "emit_json",
    "lazy_attr",
    "lazy_module",
    "split_csv_option",
    "to_jsonable",
]

#: The journal's database URL variable (``regrow.journal.DATABASE_URL_ENV``; a test keeps them equal), here so
#: that declaring ``--db`` does not import SQLAlchemy.
DATABASE_URL_ENV = "REGROW_DATABASE_URL"


class _LazyModule(types.ModuleType):
    """A stand-in that imports the real module on first attribute access."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__dict__["_lazy_target"] = name

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self.__dict__["_lazy_target"])
        return getattr(module, attribute)


def lazy_module(name: str) -> types.ModuleType:
    """A module proxy for ``name`` that imports it only when one of its attributes is first used.

    Parameters
    ----------
    name : str
        Absolute module name, e.g. ``"regrow.journal"``.

    Returns
    -------
    module
        ``jr = lazy_module("regrow.journal")`` then ``jr.open_journal(...)`` imports ``regrow.journal``
        at that call.
    """
    return _LazyModule(name)


def lazy_attr(module: str, name: str) -> Callable[..., Any]:
    """A function that imports ``module`` on its first call and forwards to ``module.name``.

    Parameters
    ----------
    module, name : str
        Where the real function lives.

    Returns
    -------
    callable
    """

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"Lazy forwarder to ``{module}.{name}``."
    return call


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and non-finite floats into plain JSON values.

    NaN becomes ``null``; +/-inf become the strings ``"Infinity"`` / ``"-Infinity"`` (the convention of the
    metafor reference files), so the output is strict JSON.
    """
    np = sys.modules.get("numpy")  # numpy objects exist only if numpy was imported by someone
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if np is not None:
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


def plural(n: int, word: str) -> str:
    """``1 visit``, ``2 visits``: a count with its noun (``word`` in the plural, ending in s).

    Parameters
    ----------
    n : int
    word : str
        The plural, e.g. ``"visits"``; the singular drops its final ``s``.

    Returns
    -------
    str
    """
    return f"{n} {word[:-1] if n == 1 and word.endswith('s') else word}"
