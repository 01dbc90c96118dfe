"""Correcting the journal from the web: edit, delete, undo, history, hand corrections, count review.

A mixin of :class:`regrow.web._service.JournalService`. Every change goes through :mod:`regrow._edits` (which
moves a deleted photo's files to the trash so undo can restore them) or :mod:`regrow.journal` (which checks
every value with the same rules as adding it and records the change in the history). Each change answers with
an ``undo`` offer: the history group it made, so the page can show a one-click undo of exactly that change.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from regrow import _edits
from regrow import _wiring as wire
from regrow import journal as jr
from regrow import protocol as pr
from regrow.errors import DuplicateError, InputError, NotFoundError

from ._context import current_person
from ._records import RECORDS

__all__ = ["EditMixin", "confirm_key", "duplicate_label", "duplicate_message"]

#: Largest id a row can have (SQLite's signed 64-bit INTEGER); larger numbers name no row.
_MAX_ROW_ID = 2**63 - 1
#: Lists of kinds that have no list function of their own in the service.
_LISTERS = {
    "session": "list_sessions",
    "dose": "list_doses",
    "event": "list_events",
    "acknowledgement": "list_acknowledgements",
    "note": "list_notes",
    "disinfection": "list_disinfections",
    "device": "list_devices",
    "measurement": "list_measurements",
    "photo": "list_photos",
}
#: A tap removes the detection whose shaft passes within this fraction of the image's larger side
#: (at least ``_MIN_TAP_PX``): about a fingertip on a phone showing the whole image.
_TAP_FRACTION = 0.03
_MIN_TAP_PX = 15.0


def _plain(value: Any) -> Any:
    from ._service import plain

    return plain(value)


def confirm_key(exc: DuplicateError) -> str:
    """The request key that confirms a refused likely duplicate: ``new_site`` for a site name very close to
    one in use, else ``allow_duplicate``."""
    return "new_site" if "--new-site" in f"{exc} {exc.allowed or ''}" else "allow_duplicate"


def duplicate_message(exc: DuplicateError, *, api: bool) -> str:
    """The journal's refusal of a likely duplicate, ending with how to confirm it here (a form's tick box, or
    the JSON key) instead of the CLI's option."""
    text = str(exc)
    cut = text.find("repeat with --")
    head = text if cut < 0 else text[:cut]
    if api:
        return f'{head}repeat with "{confirm_key(exc)}": true.'
    return f"{head}tick '{duplicate_label(exc)}' and save again."


def duplicate_label(exc: DuplicateError) -> str:
    """The wording of the confirmation box the journal's message asks for (``web: tick '...'``)."""
    found = re.search(r"web: tick '([^']+)'", f"{exc} {exc.allowed or ''}")
    return found.group(1) if found else "Yes, store it anyway"


class EditMixin:
    """Edit, delete, undo and history for :class:`JournalService` (needs ``engine``, ``store``, ``rules``)."""

    engine: Any
    store: jr.PhotoStore
    rules: pr.RuleSet

    def _tx(self) -> AbstractContextManager[tuple[Any, int]]:  # provided by JournalService
        raise NotImplementedError

    def _me(self) -> int:  # provided by JournalService
        raise NotImplementedError

    # --- reading ------------------------------------------------------------------------------------

    def record(self, kind: str, row_id: int) -> dict[str, Any]:
        """One record of ``kind`` as JSON (a photo without its file name).

        Raises
        ------
        NotFoundError
            No such record of this person.
        """
        spec = _kind(kind)
        with self._tx() as (session, me):
            row = _owned(session, jr.EDITABLE[spec.kind][0], row_id, me, kind)
            body = _plain(row.as_dict())
            if kind == "device":
                body["sessions_done"] = sum(
                    1 for s in jr.list_sessions(session, person_id=me) if s.device_id == row.id
                )
        body.pop("file_name", None)
        return body

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Every record of ``kind``, oldest first."""
        _kind(kind)
        with self._tx() as (session, me):
            rows = [_plain(r.as_dict()) for r in getattr(jr, _LISTERS[kind])(session, person_id=me)]
        for row in rows:
            row.pop("file_name", None)
        return rows

    def history(self, *, limit: int = 50) -> dict[str, Any]:
        """The newest ``limit`` changes (what, when, old and new values, interface) and what undo would revert.

        The history is read once (the newest group nobody undid is what undo reverts, as
        :func:`regrow.journal.undoable_group` finds it) and reused while the history's row count and newest
        id are unchanged: history rows are only ever added, or all deleted with the person's data.
        """
        from sqlalchemy import func, select

        with self._tx() as (session, me):
            key = (
                me,
                limit,
                *session.execute(
                    select(
                        func.count(jr.Change.id),
                        func.min(jr.Change.id),
                        func.max(jr.Change.id),
                        func.max(jr.Change.at),
                    ).where(jr.Change.person_id == me)
                ).one(),
            )
            cached = self._history_cache.get(key)
            if cached is not None:
                return cached
            groups = jr.list_history(session, person_id=me)
        nxt = next((g for g in groups if g.undo_of is None and g.undone_by is None), None)
        body = {
            "history": [g.to_dict() for g in groups[:limit]],
            "undoable": None if nxt is None else _offer(nxt),
        }
        self._history_cache = {key: body}
        return body

    def flagged(self) -> list[dict[str, Any]]:
        """Measurements waiting for review (possible but unusual values; not analysed until accepted)."""
        with self._tx() as (session, me):
            rows = session.scalars(_flagged(me).order_by(jr.Measurement.taken_at, jr.Measurement.id))
            return [_plain(m.as_dict()) for m in rows]

    def flagged_count(self) -> int:
        """How many measurements wait for review (one count query: the Today page shows it)."""
        from sqlalchemy import func, select

        with self._tx() as (session, me):
            return session.scalar(select(func.count()).select_from(_flagged(me).subquery())) or 0

    def date_limits(self) -> dict[str, str]:
        """``min``/``max`` for date inputs from the plausibility rules (birth year, a day of slack, plans)."""
        rules = jr.plausibility()["dates"]
        profile = None
        if not (self.clinic and current_person.get() is None):  # clinic pages outside a patient: no profile
            with self._tx() as (session, me):
                profile = jr.get_profile(session, person_id=me)
        earliest = max(int(rules["earliest_year"]), (profile.birth_year or 0) if profile else 0)
        today = dt.date.today()
        latest = today + dt.timedelta(days=int(rules["future_slack_days"]))
        plan_latest = today + dt.timedelta(days=int(rules["plan_start_future_days"]))
        return {
            "date_min": f"{earliest:04d}-01-01",
            "date_max": latest.isoformat(),
            "datetime_min": f"{earliest:04d}-01-01T00:00",
            "datetime_max": f"{latest.isoformat()}T23:59",
            "plan_max": plan_latest.isoformat(),
        }

    # --- edit, delete, undo --------------------------------------------------------------------------

    def undo_offer(self) -> dict[str, Any] | None:
        """What undo would revert now: ``{"group_id", "summary"}`` of the newest change (``None``: nothing)."""
        with self._tx() as (session, me):
            group = jr.undoable_group(session, person_id=me)
        return None if group is None else _offer(group)

    def edit(
        self,
        kind: str,
        row_id: int,
        fields: Mapping[str, Any],
        *,
        allow_duplicate: bool = False,
        new_site: bool = False,
    ) -> dict[str, Any]:
        """Change some fields of one record (the same checks as adding it); with the undo offer.

        Raises
        ------
        InputError
            A value the journal refuses (field, range and source named), or no field to change.
        DuplicateError
            The change makes it look like another record of that day (repeat with ``allow_duplicate``).
        NotFoundError
            No such record.
        """
        _kind(kind)
        self._check_links(kind, fields)
        row = _edits.edit(
            self.engine,
            person_id=self._me(),
            kind=kind,
            row_id=row_id,
            fields=dict(fields),
            allow_duplicate=allow_duplicate,
            new_site=new_site,
        )
        body = _plain(row)
        body.pop("file_name", None)
        return {"record": body, "undo": self.undo_offer()}

    def _check_links(self, kind: str, fields: Mapping[str, Any]) -> None:
        """A session's device and a side effect's session must be this person's: checked before the edit
        (the journal sets the link first, and the database would refuse an unknown id with a bare
        foreign-key error instead of naming the field)."""
        with self._tx() as (session, me):
            if kind == "session" and "device_id" in fields:
                jr.get_device(session, person_id=me, device_id=fields["device_id"])
            if kind == "event" and fields.get("session_id") is not None:
                _owned(session, jr.TreatmentSession, fields["session_id"], me, "session")

    def delete(self, kind: str, row_id: int, *, device_in_use: str = "refuse") -> dict[str, Any]:
        """Delete one record (a photo's files go to the trash; a used device can be retired instead).

        Raises
        ------
        InputError
            A device sessions were done with (``device_in_use="refuse"``; field ``device_in_use``), or a
            photo's measurement (delete the photo, or correct its count).
        """
        if kind != "plan":  # a plan version is deleted by id too (its edits are new versions)
            _kind(kind)
        me = self._me()
        try:
            result = _edits.delete(
                self.engine, self.store, person_id=me, kind=kind, row_id=row_id, device_in_use=device_in_use
            )
        except InputError as exc:
            if kind == "device" and exc.field == "device" and device_in_use == "refuse":
                used = self.record("device", row_id)["sessions_done"]
                raise InputError(
                    f"Device {row_id} cannot be deleted: {used} session(s) were done with it and keep it in "
                    "their history. Retire it instead (it stays listed as retired).",
                    field="device_in_use",
                    value="refuse",
                    allowed="retire (the device is kept as retired)",
                ) from None
            raise
        result = {k: v for k, v in result.items() if k != "photo_files"}
        return {**result, "undo": self.undo_offer()}

    def edit_profile(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Change profile fields (``None`` clears an optional one); with the undo offer."""
        body = _edits.edit(
            self.engine, person_id=self._me(), kind="profile", row_id=None, fields=dict(fields)
        )
        return {"profile": _plain(body), "undo": self.undo_offer()}

    def clear_profile(self) -> dict[str, Any]:
        """Delete the profile and screening answers only (the rest stays); with the undo offer."""
        result = _edits.delete(self.engine, self.store, person_id=self._me(), kind="profile", row_id=None)
        return {"deleted": result["deleted"], "undo": self.undo_offer()}

    def edit_plan(
        self, fields: Mapping[str, Any], *, effective_from: Any, acknowledge: Mapping[str, str]
    ) -> dict[str, Any]:
        """Change the active plan from ``effective_from`` on: a new version (sessions before keep theirs).

        The new version is checked like a new plan; a stop finding it has and the version before did not
        must be acknowledged with a reason (recorded with the version).

        Raises
        ------
        InputError
            No active plan, a bad field or an effective date before the active version's.
        RuleBlockedError
            A new stop finding without an acknowledgement.
        """
        wire.check_acknowledged_ids(acknowledge, self.rules)
        with self._tx() as (session, me):
            records = wire.journal_records(session, person_id=me)
            if records.plan is None:
                raise InputError.invalid("plan", None, "created first (Create plan on the Plan page)")
            before = {
                f.rule_id for f in pr.check_plan(records.plan, records, self.rules) if f.severity == "stop"
            }
            row = jr.edit_plan(session, person_id=me, fields=dict(fields), effective_from=effective_from)
            findings = pr.check_plan(wire.record(pr.PlanRecord, row), records, self.rules)
            new = [f for f in findings if f.severity == "stop" and f.rule_id not in before]
            for f in pr.require_acknowledged(new, acknowledge):
                jr.add_acknowledgement(
                    session,
                    person_id=me,
                    rule_id=f.rule_id,
                    reason=acknowledge[f.rule_id],
                    action="plan_edit",
                    plan_id=row.id,
                    finding_message=f.message,
                )
            body = {"plan": _plain(row.as_dict()), "findings": [f.to_dict() for f in findings]}
        return {**body, "undo": self.undo_offer()}

    def undo(self, group_id: str | None = None) -> dict[str, Any]:
        """Revert the newest change not undone yet; ``group_id``: only if that is still the newest one.

        Raises
        ------
        NotFoundError
            Nothing to undo.
        InputError
            ``group_id`` is no longer the newest change (another came after it; field ``group_id``).
        """
        if group_id:
            with self._tx() as (session, me):
                newest = jr.undoable_group(session, person_id=me)
                named = next(
                    (g for g in jr.list_history(session, person_id=me) if g.group_id == group_id), None
                )
            if named is not None and named.undone_by is not None:
                raise InputError(
                    f"That change was undone already: '{named.summary}'.",
                    field="group_id",
                    value=group_id,
                    allowed="a change that is not undone yet (see History)",
                )
            if newest is None:
                raise NotFoundError("Nothing to undo: every change in the history is undone already.")
            if newest.group_id != group_id:
                raise InputError(
                    f"That change is no longer the newest one, so undo would revert another: "
                    f"'{newest.summary}'. Open the History page to see what changed since.",
                    field="group_id",
                    value=group_id,
                    allowed=newest.group_id,
                )
        result = _edits.undo(self.engine, self.store, person_id=self._me())
        return {**result, "undo": None}

    # --- photos: counts, corrections, review ---------------------------------------------------------

    def _photo_measurement(self, session: Any, me: int, photo_id: int) -> tuple[Any, Any]:
        photo = jr.get_photo(session, person_id=me, photo_id=photo_id)
        measurement = next(
            (m for m in jr.list_measurements(session, person_id=me) if m.photo_id == photo.id), None
        )
        if measurement is None:
            raise InputError.invalid("photo_id", photo_id, "a measured photo (this one has no measurement)")
        return photo, measurement

    def _hairs(self, sha256: str) -> list[dict[str, Any]] | None:
        sidecar = self.store.sidecar_path(sha256)
        if not sidecar.is_file():
            return None
        return json.loads(sidecar.read_text(encoding="utf-8")).get("hairs")

    def corrections(self, photo_id: int) -> dict[str, Any]:
        """A photo's count (with its provenance), its detections and the hand corrections made so far."""
        with self._tx() as (session, me):
            photo, m = self._photo_measurement(session, me, photo_id)
            rows = [
                _plain(c.as_dict()) for c in jr.list_corrections(session, person_id=me, photo_id=photo.id)
            ]
            sha, width, height = photo.sha256, photo.width, photo.height
            count = _count(m)
        removed = {c["hair_index"] for c in rows if c["action"] == "remove" and c["hair_index"] is not None}
        hairs = [{**h, "index": i, "removed": i in removed} for i, h in enumerate(self._hairs(sha) or [])]
        return {
            "photo_id": photo_id,
            "width": width,
            "height": height,
            **count,
            "hairs": hairs,
            "corrections": rows,
            "tap_radius_px": _tap_radius(width, height),
        }

    def add_correction(
        self, photo_id: int, *, action: Any, x_px: Any = None, y_px: Any = None, hair_index: Any = None
    ) -> dict[str, Any]:
        """Add a missed hair at a point, or remove a false detection (by ``hair_index`` or the nearest one
        to the point); the photo's count becomes ``corrected``.

        Raises
        ------
        InputError
            A point outside the image, no detection near the point, a detection removed already, or a bad
            action (each names its field).
        """
        with self._tx() as (session, me):
            photo, _ = self._photo_measurement(session, me, photo_id)
            sha, width, height = photo.sha256, photo.width, photo.height
            removed = {
                c.hair_index
                for c in jr.list_corrections(session, person_id=me, photo_id=photo.id)
                if c.action == "remove" and c.hair_index is not None
            }
        hairs = self._hairs(sha)
        if action == "add" and hair_index is not None:
            raise InputError.invalid(
                "hair_index", hair_index, "left out when adding a hair (it names a detection)"
            )
        if action == "remove" and hairs:
            hair_index, x_px, y_px = _pick_hair(
                hairs, removed, hair_index, x_px, y_px, _tap_radius(width, height)
            )
        with self._tx() as (session, me):
            jr.add_correction(
                session,
                person_id=me,
                photo_id=photo_id,
                action=action,
                x_px=x_px,
                y_px=y_px,
                hair_index=hair_index,
            )
        return {**self.corrections(photo_id), "undo": self.undo_offer()}

    def delete_correction(self, correction_id: int) -> dict[str, Any]:
        """Take back one hand correction; the photo's count follows."""
        with self._tx() as (session, me):
            row = jr.delete_correction(session, person_id=me, correction_id=correction_id)
            photo_id = row.photo_id
        return {**self.corrections(photo_id), "undo": self.undo_offer()}

    def set_photo_count(self, photo_id: int, hair_count: Any) -> dict[str, Any]:
        """Your own count for a photo (``None``: back to the automatic one); corrected detections still win."""
        with self._tx() as (session, me):
            _, m = self._photo_measurement(session, me, photo_id)
            jr.edit_record(
                session, person_id=me, kind="measurement", row_id=m.id, fields={"hair_count": hair_count}
            )
        return {**self.corrections(photo_id), "undo": self.undo_offer()}

    def review(self, measurement_id: int, *, accept: bool) -> dict[str, Any]:
        """Accept a flagged measurement (it is analysed from now on), or check it again (``accept=False``)."""
        with self._tx() as (session, me):
            row = jr.review_measurement(session, person_id=me, measurement_id=measurement_id, accept=accept)
            body = _plain(row.as_dict())
        return {"measurement": body, "undo": self.undo_offer()}

    def labels_zip(self) -> tuple[bytes, dict[str, Any]]:
        """Corrected photos as Pascal-VOC labels (an image and its ``.xml`` each), zipped."""
        from regrow._labels import export_voc

        with tempfile.TemporaryDirectory(prefix="regrow-labels-") as tmp:
            out = Path(tmp) / "labels"
            written = export_voc(self.engine, self.store, out, person_id=self._me())
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in _files(out):
                    archive.write(path, path.name)
        return buffer.getvalue(), written


# --- helpers -----------------------------------------------------------------------------------------------


def _kind(kind: str) -> Any:
    if kind not in RECORDS:
        raise NotFoundError(f"No record kind {kind!r}; one of: {', '.join(RECORDS)}.")
    return RECORDS[kind]


def _owned(session: Any, model: type, row_id: Any, me: int, kind: str) -> Any:
    ok = isinstance(row_id, int) and 1 <= row_id <= _MAX_ROW_ID
    row = session.get(model, row_id) if ok else None
    if row is None or row.person_id != me:
        raise NotFoundError(f"No {RECORDS[kind].label} with id {row_id!r}.")
    return row


def _flagged(me: int) -> Any:
    from sqlalchemy import select

    m = jr.Measurement
    return select(m).where(m.person_id == me, m.review_status == "flagged")


def _offer(group: Any) -> dict[str, Any]:
    return {"group_id": group.group_id, "summary": group.summary}


def _count(m: Any) -> dict[str, Any]:
    return {
        "measurement_id": m.id,
        "hair_count": m.hair_count,
        "count_source": m.count_source,
        "automatic_count": m.automatic_count,
        "manual_count": m.manual_count,
        "corrected_count": m.corrected_count,
        "density_per_cm2": m.density_per_cm2,
        "review_status": m.review_status,
        "review_reason": m.review_reason,
    }


def _tap_radius(width: int, height: int) -> float:
    return max(_MIN_TAP_PX, _TAP_FRACTION * max(width, height))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if abs(value) < 1e12 else None


def _pick_hair(
    hairs: list[dict[str, Any]], removed: set[int], index: Any, x: Any, y: Any, radius: float
) -> tuple[int | None, Any, Any]:
    """The detection a removal means: ``index`` checked, else the nearest counted one within ``radius``."""
    from regrow._labels import _distance_to_shaft

    live = [i for i, h in enumerate(hairs) if h.get("counted", True) and i not in removed]
    if index is not None:
        if isinstance(index, bool) or not isinstance(index, int) or index not in live:
            allowed = (
                "the number of a detected hair that is not removed yet (0 to "
                f"{len(hairs) - 1}; already removed: {sorted(removed) or 'none'})"
            )
            raise InputError.invalid("hair_index", index, allowed)
        hair = hairs[index]
        if _number(x) is None or _number(y) is None:
            x = (hair["exit_x_px"] + hair["tip_x_px"]) / 2
            y = (hair["exit_y_px"] + hair["tip_y_px"]) / 2
        return index, x, y
    px, py = _number(x), _number(y)
    if px is None or py is None:
        return None, x, y  # the journal refuses the point and names the field
    near = sorted(live, key=lambda i: _distance_to_shaft(hairs[i], px, py))
    if not near or _distance_to_shaft(hairs[near[0]], px, py) > radius:
        raise InputError.invalid(
            "x_px",
            f"({px:g}, {py:g})",
            f"a point within {radius:.0f} px of a detected hair that is not removed yet (tap on the hair)",
        )
    return near[0], x, y


def _files(folder: Path) -> Iterator[Path]:
    if folder.is_dir():
        yield from sorted(p for p in folder.iterdir() if p.is_file())
