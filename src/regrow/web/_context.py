"""Who a request is for: the patient whose journal the routes read and write (clinic mode).

The clinic middleware sets :data:`current_person` for a request under ``/patients/<id>/``; the journal
service reads it. Unset (the single-person app), the service uses the journal's default person. Worker
threads of the routes and background measuring jobs run in a copy of the request's context, so they see it.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["current_person"]

#: The journal person of this request in clinic mode; ``None`` in the single-person app.
current_person: ContextVar[int | None] = ContextVar("regrow_current_person", default=None)
