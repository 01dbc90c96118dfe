"""Edit, delete and undo for both front ends (``regrow.cli`` and ``regrow.web``), with the photo files.

Rows are the journal's (:mod:`regrow.journal`); the files of a photo live in its photo folder. A deleted
photo's files go to the folder's trash (hard links made before the rows are deleted, under the folder's
write lock), so undo can put them back before it restores the rows; the trash keeps them while undo can
still restore them (``TRASH_DAYS``), and sweeps remove them afterwards. Either way a crash leaves no row
without its file, and the next sweep removes any file without a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from regrow import journal as jr
from regrow.errors import NotFoundError

__all__ = ["delete", "edit", "undo"]


def edit(engine: Engine, *, person_id: int, kind: str, row_id: Any, fields: Mapping[str, Any], **kwargs: Any):
    """Edit one record (``plan``: a new version from ``effective_from``; ``profile``: the given fields).

    Returns
    -------
    dict
        The edited row (``as_dict()``).
    """
    with jr.session_scope(engine) as session:
        if kind == "plan":
            row = jr.edit_plan(
                session, person_id=person_id, fields=fields, effective_from=kwargs.get("effective_from")
            )
        elif kind == "profile":
            row = jr.set_profile(session, person_id=person_id, **fields)
        else:
            row = jr.edit_record(
                session,
                person_id=person_id,
                kind=kind,
                row_id=row_id,
                fields=fields,
                allow_duplicate=kwargs.get("allow_duplicate", False),
                new_site=kwargs.get("new_site", False),
            )
        return row.as_dict()


def delete(
    engine: Engine,
    store: jr.PhotoStore,
    *,
    person_id: int,
    kind: str,
    row_id: Any,
    device_in_use: str = "refuse",
) -> dict[str, Any]:
    """Delete one record; a photo's files move to the trash (undo brings them back).

    Returns
    -------
    dict
        What :func:`regrow.journal.delete_record` returns (``profile``: the rows deleted).
    """
    if kind == "profile":
        with jr.session_scope(engine) as session:
            return {
                "deleted": jr.delete_profile(session, person_id=person_id),
                "retired": False,
                "photo_files": [],
            }
    if kind != "photo":
        with jr.session_scope(engine) as session:
            return jr.delete_record(
                session, person_id=person_id, kind=kind, row_id=row_id, device_in_use=device_in_use
            )
    with store.writing(), jr.session_scope(engine) as session:
        photo = jr.get_photo(session, person_id=person_id, photo_id=row_id)
        store.to_trash(photo.file_name)  # before the rows go: a crash then leaves both, never neither
        result = jr.delete_record(session, person_id=person_id, kind=kind, row_id=row_id)
    jr.sweep_photos(engine, store)  # the live names (unreferenced now) go; the trash keeps the files
    return result


def undo(engine: Engine, store: jr.PhotoStore, *, person_id: int) -> dict[str, Any]:
    """Revert the newest change not undone yet (files of a deleted photo come back from the trash).

    Returns
    -------
    dict
        ``{"undone": group}`` (the reverted group, as :meth:`regrow.journal.ChangeGroup.to_dict`).

    Raises
    ------
    NotFoundError
        Nothing to undo, or a deleted photo whose files are no longer in the trash (named).
    """
    with store.writing(), jr.session_scope(engine) as session:
        group = jr.undoable_group(session, person_id=person_id)
        if group is None:
            raise NotFoundError("Nothing to undo: the history holds no change that was not undone yet.")
        trashed = [c for c in group.changes if c["table_name"] == "photo" and c["new"] is None and c["old"]]
        for change in trashed:
            if not store.from_trash(change["old"]["file_name"]):
                raise NotFoundError(
                    f"Cannot undo the deletion of photo {change['row_id']}: its files are no longer in "
                    f"the trash (kept {jr.TRASH_DAYS} days); nothing was changed."
                )
        reverted = jr.undo_last(session, person_id=person_id)
    jr.sweep_photos(engine, store)
    return {"undone": reverted.to_dict()}
