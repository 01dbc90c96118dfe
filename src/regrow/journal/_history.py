"""History and undo: every create, update and delete of a journal row is appended to the ``change`` table.

Recording is automatic: sessions made by :func:`regrow.journal.session_scope` are :class:`JournalSession`
objects, whose flush hooks note the full row before and after each change, and whose commit hook appends
them, in the same transaction, as one *group* (one action of the person: "log a session" is the session row
plus the device's use count plus any acknowledgement). So no write path can forget its history, and history
is never written for a change that was rolled back.

:func:`undo_last` reverts the newest group that is not itself an undo and has not been undone, by writing the
rows back as they were (ids included); the undo is recorded as a group of its own with ``undo_of`` set, so the
history stays append-only and a second undo reverts the group before. The interface a change came from
(``cli``, ``web``, ``api``, ``python``) is a context variable the front ends set (:func:`interface`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Float, event, insert, inspect, select
from sqlalchemy.orm import Session

from regrow._interface import current_interface, interface
from regrow.errors import InputError, NotFoundError

from ._fields import now
from ._models import Base, Change, Person

__all__ = [
    "NO_HISTORY",
    "ChangeGroup",
    "JournalSession",
    "current_interface",
    "interface",
    "list_history",
    "undo_last",
    "undoable_group",
]


class JournalSession(Session):
    """The ORM session of the journal: records every change of a tracked row into ``change``."""


#: ``session.info`` key that turns recording off for one transaction: an import writes the exported
#: history itself, and is not an edit a person could undo.
NO_HISTORY = "regrow_no_history"


def _tracked(obj: Any) -> bool:
    """A row of a person's journal (clinic tables, accounts and the audit log have no undo history)."""
    return (
        isinstance(obj, Base)
        and not isinstance(obj, Change | Person)
        and obj.__tablename__ in _journal_tables()
    )


def _journal_tables() -> frozenset[str]:
    global _JOURNAL_TABLES
    if _JOURNAL_TABLES is None:
        from ._export import TABLES

        _JOURNAL_TABLES = frozenset(m.__tablename__ for m in TABLES)
    return _JOURNAL_TABLES


_JOURNAL_TABLES: frozenset[str] | None = None


def _table_models() -> dict[str, type[Base]]:
    from ._export import TABLES

    return {m.__tablename__: m for m in TABLES if m not in (Change, Person)}


def _row_id(obj: Any) -> int:
    return obj.id if "id" in obj.__table__.columns else obj.person_id


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _values(obj: Any, *, before: bool = False) -> dict[str, Any]:
    """The row's column values (``before``: as loaded from the database, ignoring pending changes)."""
    state = inspect(obj)
    out = {}
    for column in obj.__table__.columns:
        attr = state.attrs[column.key]
        value = attr.value
        if before:
            history = attr.history
            if history.deleted:
                value = history.deleted[0]
            elif history.added and not history.unchanged:
                value = None
        out[column.key] = _plain(value)
    return out


def _record(session: Session, action: str, obj: Any, old: dict | None, new: dict | None) -> None:
    session.info.setdefault("regrow_changes", []).append(
        {
            "person_id": getattr(obj, "person_id", None),
            "action": action,
            "table_name": obj.__tablename__,
            "row_id": _row_id(obj),
            "old": old,
            "new": new,
        }
    )


@event.listens_for(JournalSession, "before_flush")
def _before_flush(session: Session, _context, _instances) -> None:
    if session.info.get(NO_HISTORY):
        return
    pending = session.info.setdefault("regrow_new", [])
    pending.extend(obj for obj in session.new if _tracked(obj))
    for obj in session.dirty:
        if _tracked(obj) and session.is_modified(obj, include_collections=False):
            old, new = _values(obj, before=True), _values(obj)
            if old != new:
                _record(session, "update", obj, old, new)
    for obj in session.deleted:
        if _tracked(obj):
            _record(session, "delete", obj, _values(obj, before=True), None)


@event.listens_for(JournalSession, "after_flush")
def _after_flush(session: Session, _context) -> None:
    if session.info.get(NO_HISTORY):
        return
    for obj in session.info.pop("regrow_new", []):
        _record(session, "create", obj, None, _values(obj))


@event.listens_for(JournalSession, "before_commit")
def _before_commit(session: Session) -> None:
    session.flush()
    changes = session.info.pop("regrow_changes", [])
    if not changes:
        return
    group = uuid.uuid4().hex
    stamp = now()
    undo_of = session.info.get("regrow_undo_of")
    rows = [
        {**change, "group_id": group, "at": stamp, "interface": current_interface(), "undo_of": undo_of}
        for change in changes
    ]
    session.execute(insert(Change.__table__), rows)


@event.listens_for(JournalSession, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("regrow_changes", None)
    session.info.pop("regrow_new", None)


# --- reading ---------------------------------------------------------------------------------------------


@dataclass
class ChangeGroup:
    """One action in the history: the changes of one transaction."""

    group_id: str
    at: dt.datetime
    interface: str
    undo_of: str | None
    changes: list[dict[str, Any]] = field(default_factory=list)
    undone_by: str | None = None

    @property
    def summary(self) -> str:
        """One line for a person: what changed (``Edited treatment_session 4: pain_0_10 3 -> 5``)."""
        parts = []
        for change in _net(self.changes):
            parts.append(_describe(change))
        text = "; ".join(parts[:3]) + (f"; and {len(parts) - 3} more" if len(parts) > 3 else "")
        return f"Undo of: {text}" if self.undo_of else text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "group_id": self.group_id,
            "at": self.at.isoformat(timespec="seconds"),
            "interface": self.interface,
            "summary": self.summary,
            "undo_of": self.undo_of,
            "undone_by": self.undone_by,
            "changes": [
                {k: c[k] for k in ("action", "table_name", "row_id", "old", "new")} for c in self.changes
            ],
        }


_LABELS = {
    "treatment_session": "session",
    "adjunct_dose": "dose",
    "adverse_event": "side effect",
    "rule_acknowledgement": "acknowledgement",
    "hair_correction": "hair correction",
    "screening_answer": "screening answer",
}
_QUIET = {"updated_at", "created_at"}


def _shown(value: Any) -> str:
    """A stored value as a person reads it in a history line: numbers to 4 significant digits, no value as
    "empty"."""
    if value is None:
        return "empty"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)


def _describe(change: dict[str, Any]) -> str:
    label = f"{_LABELS.get(change['table_name'], change['table_name'])} {change['row_id']}"
    if change["old"] is None:
        return f"added {label}"
    if change["new"] is None:
        return f"deleted {label}"
    diffs = [
        f"{key} {_shown(change['old'].get(key))} -> {_shown(value)}"
        for key, value in change["new"].items()
        if change["old"].get(key) != value and key not in _QUIET
    ]
    return f"edited {label}: " + ", ".join(diffs[:4]) if diffs else f"edited {label}"


def _net(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per row: its state before the group (``old``) and after it (``new``)."""
    by_row: dict[tuple[str, int], dict[str, Any]] = {}
    for change in changes:
        key = (change["table_name"], change["row_id"])
        if key not in by_row:
            by_row[key] = {**change}
        else:
            by_row[key]["new"] = change["new"]
    return [c for c in by_row.values() if c["old"] != c["new"]]


def _groups(session: Session, *, person_id: int) -> list[ChangeGroup]:
    rows = session.scalars(select(Change).where(Change.person_id == person_id).order_by(Change.id)).all()
    groups: dict[str, ChangeGroup] = {}
    for row in rows:
        group = groups.get(row.group_id)
        if group is None:
            group = groups[row.group_id] = ChangeGroup(row.group_id, row.at, row.interface, row.undo_of)
        group.changes.append(
            {
                "action": row.action,
                "table_name": row.table_name,
                "row_id": row.row_id,
                "old": row.old,
                "new": row.new,
            }
        )
    for group in groups.values():
        if group.undo_of in groups:
            groups[group.undo_of].undone_by = group.group_id
    return list(groups.values())


def list_history(session: Session, *, person_id: int, limit: int | None = None) -> list[ChangeGroup]:
    """This person's history, newest first (``limit`` groups at most)."""
    groups = _groups(session, person_id=person_id)[::-1]
    return groups if limit is None else groups[:limit]


def undoable_group(session: Session, *, person_id: int) -> ChangeGroup | None:
    """The group :func:`undo_last` would revert: the newest that is not an undo and was not undone."""
    for group in list_history(session, person_id=person_id):
        if group.undo_of is None and group.undone_by is None:
            return group
    return None


# --- undo -----------------------------------------------------------------------------------------------


def _from_plain(model: type[Base], values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        column = model.__table__.columns.get(key)
        if column is None or value is None:
            out[key] = value
            continue
        kind = column.type
        if isinstance(kind, DateTime):
            out[key] = dt.datetime.fromisoformat(value)
        elif isinstance(kind, Date):
            out[key] = dt.date.fromisoformat(value)
        elif isinstance(kind, Float) and not isinstance(kind, JSON):
            out[key] = float(value)
        else:
            out[key] = value
    return out


def undo_last(session: Session, *, person_id: int) -> ChangeGroup:
    """Revert this person's newest change that was not undone yet; the undo is recorded as a change too.

    Rows the change created are deleted, rows it deleted are written back with their ids, rows it edited
    get their earlier values back.

    Returns
    -------
    ChangeGroup
        The group that was reverted.

    Raises
    ------
    NotFoundError
        Nothing left to undo.
    InputError
        A row the change touched was changed since in a way that cannot be reverted (named).
    """
    group = undoable_group(session, person_id=person_id)
    if group is None:
        raise NotFoundError("Nothing to undo: the history holds no change that was not undone yet.")
    models = _table_models()
    order = list(models)
    net = _net(group.changes)
    session.info["regrow_undo_of"] = group.group_id
    created = sorted((c for c in net if c["old"] is None), key=lambda c: -order.index(c["table_name"]))
    deleted = sorted((c for c in net if c["new"] is None), key=lambda c: order.index(c["table_name"]))
    edited = [c for c in net if c["old"] is not None and c["new"] is not None]
    # Order matters for foreign keys: rows the change deleted come back first (parents before children),
    # then edited rows get their old values (links to those rows included), then rows it created go
    # (children before parents).
    for change in deleted:
        model = models[change["table_name"]]
        if _current(session, model, change) is not None:
            raise InputError(
                f"Cannot undo: {_describe(change)}, but a row with its id exists again.",
                field="undo",
                value=group.group_id,
            )
        session.add(model(**_from_plain(model, change["old"])))
        session.flush()
    for change in edited:
        model = models[change["table_name"]]
        row = _current(session, model, change)
        if row is None:
            raise InputError(
                f"Cannot undo: {_describe(change)} no longer exists.", field="undo", value=group.group_id
            )
        for key, value in _from_plain(model, change["old"]).items():
            setattr(row, key, value)
        session.flush()
    for change in created:
        row = _current(session, models[change["table_name"]], change)
        if row is not None:
            session.delete(row)
            session.flush()
    return group


def _current(session: Session, model: type[Base], change: dict[str, Any]) -> Any:
    return session.get(model, change["row_id"])
