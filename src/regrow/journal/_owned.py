"""Person-scoped reads: every lookup and listing of one person's rows goes through here.

A row of another person is "not found" (never shown), so one person's journal can hold many people later
(clinic mode) without a read leaking across them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from regrow.errors import NotFoundError

__all__ = ["MAX_ROW_ID", "get_owned", "is_row_id", "owned_query", "owned_rows"]

M = TypeVar("M")

#: Largest id a row can have (a signed 64-bit INTEGER in SQLite and BIGINT range in PostgreSQL); a larger
#: number cannot name a row, so it is "not found" before the database is asked (which would overflow).
MAX_ROW_ID = 2**63 - 1


def is_row_id(value: Any) -> bool:
    """True when ``value`` is an int that could be a row id (1..MAX_ROW_ID)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ROW_ID


def get_owned(session: Session, model: type[M], row_id: Any, *, person_id: int, field: str) -> M:
    """The ``model`` row ``row_id`` when it belongs to ``person_id``.

    Raises
    ------
    NotFoundError
        No such row for this person; the message names ``field`` and echoes ``row_id``.
    """
    row = session.get(model, row_id) if is_row_id(row_id) else None
    if row is None or row.person_id != person_id:
        raise NotFoundError(f"Unknown {field} {row_id!r} for person {person_id}.")
    return row


def owned_query(model: type[M], *, person_id: int, **equal: Any) -> Select[tuple[M]]:
    """``select(model)`` of this person's rows, narrowed to ``column == value`` for each value not ``None``."""
    query = select(model).where(model.person_id == person_id)
    for column, value in equal.items():
        if value is not None:
            query = query.where(getattr(model, column) == value)
    return query


def owned_rows(
    session: Session, model: type[M], *, person_id: int, order_by: Sequence[Any], **equal: Any
) -> list[M]:
    """This person's ``model`` rows in ``order_by`` order (filtered as in :func:`owned_query`)."""
    return list(session.scalars(owned_query(model, person_id=person_id, **equal).order_by(*order_by)))
