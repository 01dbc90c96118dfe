"""Canonical scalp-site names (``sites.yaml``): trimmed, case-folded, synonyms mapped, near-misses caught."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from regrow.errors import DuplicateError

from ._fields import check_text

__all__ = ["SITES_FILE", "canonical_site", "check_new_site", "known_sites"]

SITES_FILE = Path(__file__).with_name("sites.yaml")


@functools.cache
def _table() -> tuple[dict[str, str], float]:
    import yaml

    data = yaml.safe_load(SITES_FILE.read_text(encoding="utf-8"))
    mapping: dict[str, str] = {}
    for name, synonyms in data["sites"].items():
        mapping[name] = name
        for synonym in synonyms or ():
            mapping[_fold(synonym)] = name
    return mapping, float(data["close_ratio"])


def _fold(text: str) -> str:
    return " ".join(text.replace("_", " ").split()).casefold()


def known_sites() -> dict[str, list[str]]:
    """Canonical site names and their synonyms."""
    mapping, _ = _table()
    out: dict[str, list[str]] = {}
    for synonym, name in mapping.items():
        out.setdefault(name, [])
        if synonym != name:
            out[name].append(synonym)
    return out


def canonical_site(value: Any, *, field: str = "site") -> str:
    """The stored form of a site name: trimmed, lower-case, single spaces, synonyms mapped (``Crown`` ->
    ``vertex``).

    Raises
    ------
    InputError
        Not a non-empty text within the site limit.
    """
    text = _fold(check_text(field, value))
    mapping, _ = _table()
    return mapping.get(text, text)


def check_new_site(site: str, existing: Iterable[str], *, allow: bool, field: str = "site") -> None:
    """Refuse a site name never used before that is very close to one in use ("vertx" for "vertex").

    Raises
    ------
    DuplicateError
        Naming the close site and how to confirm a new one.
    """
    existing = set(existing)
    if allow or site in existing:
        return
    _, ratio = _table()
    close = difflib.get_close_matches(site, sorted(existing | set(known_sites())), n=1, cutoff=ratio)
    if close and close[0] != site:
        raise DuplicateError(
            f"Site {site!r} is new but very close to {close[0]!r}; did you mean {close[0]!r}? If {site!r} really "
            "is another site, repeat with --new-site (web: tick 'Yes, this is a new site').",
            field=field,
            value=site,
            allowed=f"{close[0]!r}, or a new site confirmed with --new-site",
        )
