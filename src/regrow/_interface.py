"""Which interface a change comes from (``cli``, ``web``, ``api``, ...), for the journal's history.

A tiny module with no heavy imports, so the CLI can set it before anything else is loaded.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

__all__ = ["INTERFACES", "current_interface", "interface", "set_default_interface"]

INTERFACES = ("cli", "web", "api", "python", "import", "demo")
_DEFAULT = ["python"]
_INTERFACE: contextvars.ContextVar[str | None] = contextvars.ContextVar("regrow_interface", default=None)


def _check(name: str) -> str:
    if name not in INTERFACES:
        from regrow.errors import InputError

        raise InputError.invalid("interface", name, "one of " + ", ".join(INTERFACES))
    return name


def set_default_interface(name: str) -> None:
    """The interface of this process's changes when no :func:`interface` block says otherwise."""
    _DEFAULT[0] = _check(name)


def current_interface() -> str:
    """The interface changes are attributed to now."""
    return _INTERFACE.get() or _DEFAULT[0]


@contextlib.contextmanager
def interface(name: str) -> Iterator[None]:
    """Attribute the changes made inside the block to ``name``."""
    token = _INTERFACE.set(_check(name))
    try:
        yield
    finally:
        _INTERFACE.reset(token)
