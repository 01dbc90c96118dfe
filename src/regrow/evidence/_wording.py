"""Words a reader sees instead of the evidence file's data-quality markers.

The evidence file marks numbers and names nobody could check as ``UNVERIFIED`` (a curator's marker, kept in
the data and in ``--json``). Text written for people says it in words.
"""

from __future__ import annotations

import re

__all__ = ["reader_text"]

_MARKER = re.compile(r"\bUNVERIFIED\b")


def reader_text(text: str) -> str:
    """``text`` with every ``UNVERIFIED`` marker written as "not verified".

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    return _MARKER.sub("not verified", text)
