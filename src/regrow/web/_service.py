"""Glue between the web routes and the core: read and write the journal, call protocol/progress/evidence.

Every method returns JSON-ready dicts (the API answers them as they are; the pages render the same dicts).
No rule, threshold or statistic lives here: the journal stores, :mod:`regrow.protocol` checks and
schedules, :mod:`regrow.progress` analyses, :mod:`regrow.evidence` reviews, :mod:`regrow.measure` measures.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from regrow import _photos
from regrow import _wiring as wire
from regrow import journal as jr
from regrow import protocol as pr
from regrow.errors import InputError, NotFoundError

from ._context import current_person
from ._edit_service import EditMixin

__all__ = ["JournalService", "plain"]


def plain(value: Any) -> Any:
    """Dates and times as ISO strings, recursively (the API's JSON shape)."""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _row(obj: Any) -> dict[str, Any]:
    return plain(obj.as_dict())


def _journal_fingerprint(session: Any, person_id: int) -> tuple[Any, ...]:
    """What the journal-wide records (:func:`regrow._wiring.journal_records`) and the treatment context
    (:func:`regrow.progress._journal.context_from_journal`) are read from, in a few aggregate queries: the
    row count and newest id of each table they read, the profile's last update, and the count and newest id
    of the journal's history (every add, edit and delete writes one, from any interface). Equal fingerprints
    mean the same inputs, so what was computed for one is still right."""
    from sqlalchemy import func, select

    from regrow.journal import _models as m

    out: list[Any] = [person_id]
    for model in (
        m.Plan,
        m.TreatmentSession,
        m.AdjunctDose,
        m.Device,
        m.Disinfection,
        m.AdverseEvent,
        m.ScreeningAnswer,
        m.Change,
    ):
        out.extend(
            session.execute(
                select(func.count(model.id), func.max(model.id)).where(model.person_id == person_id)
            ).one()
        )
    out.append(session.execute(select(m.Profile.updated_at).where(m.Profile.person_id == person_id)).scalar())
    return tuple(out)


def _now() -> dt.datetime:
    return dt.datetime.now().replace(second=0, microsecond=0)


class JournalService(EditMixin):
    """One journal (engine), its photo folder and the rules in force.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A migrated journal (:func:`regrow.journal.open_journal`).
    photos_dir : Path
        Where stripped uploads and their overlays are stored.
    rules_file : str or Path, optional
        A clinic's rule overrides.
    evidence_file : str or Path, optional
        Evidence YAML for the Evidence page.
    max_image_pixels : int
        Largest image accepted.
    clinic : bool
        Clinic mode: every call is for the patient of the request (:data:`regrow.web._context.current_person`)
        and the default person is never created.

    On start the photo folder is swept: files no photo row references (left by a crash between writing a
    file and committing its row) and temporary files are removed. Editing, deleting, undo, history and hand
    corrections come from :class:`regrow.web._edit_service.EditMixin`.
    """

    def __init__(
        self,
        engine: Any,
        *,
        photos_dir: Path,
        rules_file: str | Path | None = None,
        evidence_file: str | Path | None = None,
        max_image_pixels: int = _photos.DEFAULT_MAX_IMAGE_PIXELS,
        clinic: bool = False,
    ) -> None:
        self.engine = engine
        self.clinic = clinic
        self.photos_dir = Path(photos_dir)
        self.store = jr.PhotoStore(self.photos_dir)
        jr.sweep_photos(engine, self.store)
        self.rules = pr.load_rules(rules_file)
        self.evidence_file = evidence_file
        self.max_image_pixels = max_image_pixels
        self._evidence: tuple[Any, list[Any], dict[str, Any]] | None = None
        self._png_cache: dict[tuple[str, str], bytes | None] = {}
        self._progress_cache: dict[tuple[Any, ...], Any] = {}
        self._context_cache: dict[tuple[Any, ...], Any] = {}
        self._records_cache: dict[tuple[Any, ...], Any] = {}
        self._history_cache: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    # --- plumbing -----------------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[tuple[Any, int]]:
        """One transaction and the person it is for: the request's patient in clinic mode
        (:data:`regrow.web._context.current_person`), else the journal's default person."""
        with jr.session_scope(self.engine) as session:
            patient = current_person.get()
            if patient is not None:
                yield session, patient
            elif self.clinic:
                raise NotFoundError("No patient chosen; open a patient from the clinic's list.")
            else:
                yield session, jr.get_or_create_default_person(session).id

    def _me(self) -> int:
        """The id of the request's patient (clinic mode) or of the journal's default person."""
        with self._tx() as (_, me):
            return me

    @staticmethod
    def _findings(findings: list[pr.Finding]) -> list[dict[str, Any]]:
        return [f.to_dict() for f in findings]

    # --- today ----------------------------------------------------------------------------------------

    def _records(self, session: Any = None, me: int | None = None) -> pr.JournalRecords:
        """The journal-wide records, reused while :func:`_journal_fingerprint` is unchanged (reading every
        dose of five years takes most of a page's time)."""
        if session is None:
            with self._tx() as (session, me):
                return self._records(session, me)
        key = _journal_fingerprint(session, me)
        with self._lock:
            cached = self._records_cache.get(key)
        if cached is None:
            cached = wire.journal_records(session, person_id=me)
            with self._lock:
                self._records_cache = {key: cached}  # the newest only: a change makes a new key
        return cached

    def today(
        self, *, now: dt.datetime | None = None, records: pr.JournalRecords | None = None
    ) -> dict[str, Any]:
        """What is due, minoxidil holds in force, open findings and adherence (``regrow today``).

        ``records``: the journal already read (:func:`regrow._wiring.journal_records`), to read it once.
        """
        now = now or _now()
        records = records or self._records()
        plan = records.plan
        versions = records.versions()  # the past is scored by the plan version in force on its day
        due = (
            [] if plan is None else pr.due_today(versions, records.sessions, records.doses, today=now.date())
        )
        hold_hours = None if plan is None else plan.minoxidil_hold_hours
        holds = pr.active_holds(records.sessions, self.rules, now=now, hold_hours=hold_hours)
        body: dict[str, Any] = {
            "now": now.isoformat(timespec="minutes"),
            "plan_id": None if plan is None else plan.id,
            "plan_name": None if plan is None else plan.name,
            "due": due,
            "holds": [h.to_dict() for h in holds],
            "findings": self._findings(pr.check_journal(records, self.rules, now=now)),
            "adherence": None
            if plan is None
            else pr.adherence(versions, records.sessions, as_of=now.date()).to_dict(),
            "next_session_due": None
            if plan is None
            else plain(pr.next_session_due(versions, records.sessions)),
            "has_profile": records.profile is not None,
        }
        return body

    def home(
        self, *, now: dt.datetime | None = None, window_days: int = 28
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(today, dashboard)`` for the home page, from one read of the journal.

        The dashboard: per-site verdicts (the progress model's), the next session, sessions and minoxidil
        doses over the last ``window_days`` days, open safety findings (stop and caution, from ``today``) and
        each site's first and latest photo.
        """
        now = now or _now()
        records = self._records()
        today_body = self.today(now=now, records=records)
        day, since = now.date(), now.date() - dt.timedelta(days=window_days)
        versions, plan = records.versions(), records.plan
        planned = [d for d in pr.planned_session_dates(versions) if since < d <= day] if versions else []
        done = [s for s in records.sessions if since < s.performed_at.date() <= day]
        doses = [d for d in records.doses if d.kind == "minoxidil" and since < d.taken_at.date() <= day]
        report, _ = self.progress(trajectory=False)
        pairs = [
            {"site": site, "first": items[0], "latest": items[-1] if len(items) > 1 else None}
            for site, items in self.photos()["sites"].items()
        ]
        minoxidil = plan is not None and plan.minoxidil
        dashboard = {
            "window_days": window_days,
            "sites": report["sites"] if report["n_measurements"] else [],
            "next_session_due": today_body["next_session_due"],
            "sessions_planned": len(planned),
            "sessions_done": len(done),
            "minoxidil_doses": len(doses) if minoxidil else None,
            "minoxidil_per_day": len(plan.minoxidil_times) if minoxidil else None,
            "safety": [f for f in today_body["findings"] if f["severity"] in ("stop", "caution")],
            "photo_pairs": pairs,
        }
        return today_body, dashboard

    # --- profile and screening ---------------------------------------------------------------------

    def profile(self) -> dict[str, Any]:
        """The profile, screening answers and the screening findings."""
        with self._tx() as (session, me):
            profile = jr.get_profile(session, person_id=me)
            records = self._records(session, me)
            return {
                "person_id": me,
                "profile": None if profile is None else _row(profile),
                "screening": jr.list_screening(session, person_id=me),
                "findings": self._findings(
                    [
                        f
                        for f in pr.check_journal(records, self.rules, now=_now())
                        if f.rule_id.startswith("screen.")
                    ]
                ),
            }

    def set_profile(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Set the given profile fields (``None`` values are left as they are)."""
        with self._tx() as (session, me):
            jr.set_profile(session, person_id=me, **{k: v for k, v in fields.items() if v is not None})
        return self.profile()

    def set_screening(self, answers: Mapping[str, bool | None]) -> dict[str, Any]:
        """Store yes/no screening answers; returns the profile view with the screening findings."""
        with self._tx() as (session, me):
            jr.set_screening(
                session, person_id=me, answers={k: v for k, v in answers.items() if v is not None}
            )
        return self.profile()

    # --- devices --------------------------------------------------------------------------------------

    def _device_row(self, session: Any, me: int, device: Any) -> dict[str, Any]:
        cleaned = jr.list_disinfections(session, person_id=me, device_id=device.id)
        findings = pr.check_device(
            pr.DeviceRecord.from_mapping(device.as_dict()), self.rules, on=dt.date.today()
        )
        return {
            **_row(device),
            "last_disinfected_at": plain(cleaned[-1].disinfected_at) if cleaned else None,
            "disinfections": [_row(c) for c in cleaned[::-1]],
            "findings": self._findings(findings),
        }

    def devices(self) -> list[dict[str, Any]]:
        """Every device with use count, last disinfection and its findings (use/age limits)."""
        with self._tx() as (session, me):
            return [self._device_row(session, me, d) for d in jr.list_devices(session, person_id=me)]

    def add_device(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Register a device; returns it with its findings."""
        with self._tx() as (session, me):
            device = jr.add_device(session, person_id=me, **fields)
            return self._device_row(session, me, device)

    def disinfect_device(self, device_id: int, *, method: str | None, at: Any) -> dict[str, Any]:
        """Record a disinfection (now when ``at`` is None)."""
        with self._tx() as (session, me):
            row = jr.record_disinfection(
                session,
                person_id=me,
                device_id=device_id,
                disinfected_at=at or _now(),
                method=method or "70% isopropyl alcohol soak",
            )
            return _row(row)

    def retire_device(self, device_id: int, *, reason: str | None, at: Any) -> dict[str, Any]:
        """Retire a device (kept in the history)."""
        with self._tx() as (session, me):
            return _row(
                jr.retire_device(
                    session, person_id=me, device_id=device_id, retired_at=at or _now(), reason=reason
                )
            )

    # --- plans ----------------------------------------------------------------------------------------

    def _draft_plan(self, session: Any, me: int, fields: Mapping[str, Any]) -> pr.PlanRecord:
        return wire.draft_plan(
            session, person_id=me, rules=self.rules, fields=fields, length_allowed="given, or a device chosen"
        )

    def plan(self) -> dict[str, Any]:
        """The active plan, its planned session dates, next session due, adherence and findings."""
        with self._tx() as (session, me):
            row = jr.get_active_plan(session, person_id=me)
            records = self._records(session, me)
            history = [_row(p) for p in jr.list_plans(session, person_id=me)]
        if row is None:
            return {
                "plan": None,
                "planned_sessions": [],
                "next_session_due": None,
                "adherence": None,
                "findings": [],
                "history": history,
                "defaults": plain(pr.PLAN_DEFAULTS),
            }
        plan, versions = records.plan, records.versions()
        findings = pr.check_plan(plan, records, self.rules)
        return {
            "plan": _row(row),
            "planned_sessions": plain(pr.planned_session_dates(versions)),
            "next_session_due": plain(pr.next_session_due(versions, records.sessions)),
            "adherence": pr.adherence(versions, records.sessions, as_of=dt.date.today()).to_dict(),
            "findings": self._findings(findings),
            "history": history,
            "defaults": plain(pr.PLAN_DEFAULTS),
        }

    def check_plan(
        self, fields: Mapping[str, Any], acknowledge: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Findings for a draft plan, without storing anything (the live checks while editing).

        Raises
        ------
        InputError
            A field storing the plan would refuse (named, with its range and source).
        """
        wire.check_acknowledged_ids(acknowledge or {}, self.rules)
        with self._tx() as (session, me):
            plan = self._draft_plan(session, me, fields)
            # the same field checks as storing it, so a draft with a bad value is refused here already
            cleaned = {key: jr.PLAN_FIELDS[key](value) for key, value in plan.storable().items()}
            jr.check_plan_fields(session, person_id=me, fields=cleaned)
            findings = pr.check_plan(plan, wire.journal_records(session, person_id=me), self.rules)
            session.rollback()
        return {"findings": self._findings(findings), "planned_sessions": len(pr.planned_session_dates(plan))}

    def create_plan(self, fields: Mapping[str, Any], acknowledge: Mapping[str, str]) -> dict[str, Any]:
        """Store a new plan (it becomes the active one); stop findings must be acknowledged with a reason."""
        with self._tx() as (session, me):
            plan = self._draft_plan(session, me, fields)
            row, findings = wire.store_plan(
                session, person_id=me, plan=plan, rules=self.rules, acknowledge=acknowledge
            )
            return {"plan": _row(row), "findings": self._findings(findings)}

    def schedule_ics(self) -> bytes:
        """The active plan as an iCalendar file."""
        with self._tx() as (session, me):
            row = jr.get_active_plan(session, person_id=me)
            if row is None:
                raise NotFoundError("No active plan yet; create one on the Plan page.")
            plan = pr.PlanRecord.from_mapping(row.as_dict())
        return pr.schedule_to_ical(pr.plan_schedule(plan, rules=self.rules), plan_id=plan.id)

    # --- log: sessions, doses, events ---------------------------------------------------------------------

    def log(self, *, limit: int = 20) -> dict[str, Any]:
        """The latest sessions, doses and events (newest first) and the devices to choose from."""
        with self._tx() as (session, me):
            sessions = jr.list_sessions(session, person_id=me)
            doses = jr.list_doses(session, person_id=me)
            events = jr.list_events(session, person_id=me)
            devices = jr.list_devices(session, person_id=me, include_retired=False)
            return {
                "sessions": [_row(s) for s in sessions[::-1][:limit]],
                "doses": [_row(d) for d in doses[::-1][:limit]],
                "events": [_row(e) for e in events[::-1][:limit]],
                "counts": {"sessions": len(sessions), "doses": len(doses), "events": len(events)},
                "devices": [_row(d) for d in devices],
            }

    def log_session(self, fields: Mapping[str, Any], acknowledge: Mapping[str, str]) -> dict[str, Any]:
        """Check a session with the same rules as ``regrow log session`` and store it (one transaction)."""
        values = dict(fields)
        if values.get("device_id") is None:
            raise InputError.invalid("device_id", None, "one of your devices (add one on the Devices page)")
        when = jr.parse_datetime("performed_at", values.get("performed_at") or _now())
        with self._tx() as (session, me):
            row, findings = wire.log_session(
                session,
                person_id=me,
                rules=self.rules,
                acknowledge=acknowledge,
                device_id=values["device_id"],
                performed_at=when,
                needle_length_mm=values.get("needle_length_mm"),
                passes=values.get("passes"),
                area=values.get("area"),
                area_cm2=values.get("area_cm2"),
                endpoint=values.get("endpoint"),
                pain_0_10=values.get("pain_0_10"),
                applied_during=values.get("applied_during"),
                applied_after=values.get("applied_after"),
                notes=values.get("notes"),
                allow_duplicate=bool(values.get("allow_duplicate")),
            )
            return {"session": _row(row), "findings": self._findings(findings)}

    def log_dose(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Store an adjunct dose; findings warn when minoxidil falls inside a post-session hold."""
        values = dict(fields)
        with self._tx() as (session, me):
            row, findings = wire.log_dose(
                session,
                person_id=me,
                rules=self.rules,
                kind=values.get("kind"),
                taken_at=values.get("taken_at") or _now(),
                strength=values.get("strength"),
                amount=values.get("amount"),
                notes=values.get("notes"),
                allow_duplicate=bool(values.get("allow_duplicate")),
            )
            return {"dose": _row(row), "findings": self._findings(findings)}

    def log_event(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Store an adverse event."""
        values = dict(fields)
        with self._tx() as (session, me):
            row = jr.add_event(
                session,
                person_id=me,
                kind=values.get("kind"),
                severity=values.get("severity"),
                onset_at=values.get("onset_at") or _now(),
                resolved_at=values.get("resolved_at"),
                session_id=values.get("session_id"),
                notes=values.get("notes"),
                allow_duplicate=bool(values.get("allow_duplicate")),
            )
            return {"event": _row(row)}

    def add_note(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Store a free-text note (now when ``written_at`` is not given)."""
        values = dict(fields)
        with self._tx() as (session, me):
            row = jr.add_note(
                session, person_id=me, text=values.get("text"), written_at=values.get("written_at") or _now()
            )
            return {"note": _row(row)}

    def resolve_event(self, event_id: int, *, at: Any) -> dict[str, Any]:
        """Mark an adverse event resolved."""
        with self._tx() as (session, me):
            return {
                "event": _row(
                    jr.resolve_event(session, person_id=me, event_id=event_id, resolved_at=at or _now())
                )
            }

    # --- photos and measurements ----------------------------------------------------------------------------

    def add_photo(
        self,
        data: bytes,
        *,
        suffix: str,
        original_name: str,
        site: str | None,
        taken_at: Any,
        um_per_px: float | None,
        device: str | None,
        camera: str | None,
        allow_duplicate: bool = False,
        new_site: bool = False,
    ) -> dict[str, Any]:
        """Strip an uploaded image's metadata in memory, measure it, store the photo and its measurement.

        Nothing is stored when reading or measuring fails (:func:`regrow._photos.store_photo`).
        """
        stored = _photos.store_photo(
            self.engine,
            self.store,
            data,
            person_id=self._me(),
            suffix=suffix,
            original_name=original_name,
            site=site or "",
            taken_at=taken_at or _now(),
            um_per_px=um_per_px,
            device=device,
            camera=camera,
            max_pixels=self.max_image_pixels,
            allow_duplicate=allow_duplicate,
            new_site=new_site,
        )
        return plain(stored)

    def photos(self) -> dict[str, Any]:
        """Every photo with its measurement, grouped by site and ordered by date (for side-by-side views)."""
        with self._tx() as (session, me):
            photos = jr.list_photos(session, person_id=me)
            by_photo = {
                m.photo_id: _row(m) for m in jr.list_measurements(session, person_id=me) if m.photo_id
            }
            items = [{**_row(p), "measurement": by_photo.get(p.id)} for p in photos]
        for item in items:
            item.pop("file_name", None)
        sites: dict[str, list[dict[str, Any]]] = {}
        for item in sorted(items, key=lambda i: (i["site"], i["taken_at"], i["id"])):
            sites.setdefault(item["site"], []).append(item)
        return {"photos": items, "sites": sites}

    def photo(self, photo_id: int) -> dict[str, Any]:
        """One photo, its measurement and the full measurement summary."""
        with self._tx() as (session, me):
            p = jr.get_photo(session, person_id=me, photo_id=photo_id)
            ms = [_row(m) for m in jr.list_measurements(session, person_id=me) if m.photo_id == p.id]
            body = {**_row(p), "measurement": ms[0] if ms else None}
        sidecar = self.store.sidecar_path(body["sha256"])
        body["result"] = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else None
        body.pop("file_name", None)
        return body

    def photo_file(self, photo_id: int, kind: str) -> Path:
        """The stored image (``kind="image"``) or its overlay (``"overlay"``) of a photo."""
        with self._tx() as (session, me):
            p = jr.get_photo(session, person_id=me, photo_id=photo_id)
            name, sha = p.file_name, p.sha256
        path = self.store.path(name) if kind == "image" else self.store.overlay_path(sha)
        if not path.is_file():
            raise NotFoundError(f"The {kind} file of photo {photo_id} is missing from the photo folder.")
        return path

    def measurements(self) -> list[dict[str, Any]]:
        """Every measurement (ordered by date, site, replicate)."""
        with self._tx() as (session, me):
            return [_row(m) for m in jr.list_measurements(session, person_id=me)]

    def add_measurement(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Store a hand count (``hair_count`` in ``area_cm2``) for a site and day."""
        values = dict(fields)
        for key in ("site", "hair_count", "area_cm2"):
            if values.get(key) is None:
                raise InputError.invalid(key, None, "given for a hand count")
        day = jr.parse_date("taken_at", values.get("taken_at") or dt.date.today())
        with self._tx() as (session, me):
            site = str(values["site"]).strip()
            m = jr.add_measurement(
                session,
                person_id=me,
                taken_at=day,
                site=site,
                hair_count=values["hair_count"],
                area_cm2=values["area_cm2"],
                diameter_um=values.get("diameter_um"),
                source="manual",
                camera=values.get("camera"),
                notes=values.get("notes"),
                allow_duplicate=bool(values.get("allow_duplicate")),
                new_site=bool(values.get("new_site")),
            )
            return _row(m)

    # --- progress ---------------------------------------------------------------------------------------

    def progress(self, *, site: str | None = None, trajectory: bool = True) -> tuple[dict[str, Any], Any]:
        """The progress report as JSON and as the :class:`regrow.progress.ProgressReport` (for charts)."""
        from regrow import progress as pg
        from regrow.progress._journal import (
            context_from_journal,
            expected_from_evidence,
            observations_from_journal,
        )

        with self._tx() as (session, me):
            obs = observations_from_journal(session, person_id=me)
            as_of = max((o.measured_on for o in obs), default=None)
            key = (_journal_fingerprint(session, me), as_of, dt.date.today() if as_of is None else None)
            with self._lock:
                ctx = self._context_cache.get(key)
            if ctx is None:
                ctx = context_from_journal(session, person_id=me, as_of=as_of)
                with self._lock:
                    self._context_cache = {key: ctx}  # the newest only: a change makes a new key
        weeks = (as_of - ctx.start).days / 7.0 if (as_of and ctx.start) else None
        expected = expected_from_evidence(weeks)
        # The analysis is a pure function of its inputs: memoise it on them (always fresh, never stale).
        key = (tuple(obs), ctx, expected, site, trajectory)
        with self._lock:
            report = self._progress_cache.get(key)
        if report is None:
            report = pg.analyse_progress(
                obs, context=ctx, expected=expected, site=site, trajectory=trajectory
            )
            with self._lock:
                self._progress_cache[key] = report
                while len(self._progress_cache) > 8:
                    self._progress_cache.pop(next(iter(self._progress_cache)))
        body = plain(report.to_dict())
        body["n_measurements"] = len(obs)
        return body, report

    def treatment_events(self, *, last_day: dt.date | None = None) -> list[Any]:
        """The treatment's events for the charts' time axis (:func:`regrow.web._charts.treatment_events`);
        ``last_day``: the last visit (a pause runs up to it)."""
        from ._charts import treatment_events

        with self._tx() as (session, me):
            active = jr.get_active_plan(session, person_id=me)
            plans = [pr.PlanRecord.from_mapping(p.as_dict()) for p in jr.list_plans(session, person_id=me)]
            versions = () if active is None else pr.version_chain(plans, active_id=active.id)
            first_minoxidil = jr.first_dose(session, person_id=me, kind="minoxidil")
            days = [s.performed_at.date() for s in jr.list_sessions(session, person_id=me)]
        return treatment_events(
            start=versions[0].start_date if versions else None,
            minoxidil_start=None if first_minoxidil is None else first_minoxidil.taken_at.date(),
            plan_changes=[v.effective_from for v in versions[1:] if v.effective_from],
            session_days=days,
            plan_active=active is not None,
            last_day=last_day,
        )

    # --- evidence ---------------------------------------------------------------------------------------

    def _review(self) -> tuple[Any, list[Any], dict[str, Any]]:
        with self._lock:
            if self._evidence is None:
                from regrow.evidence import load_data, review, summary_dict

                data = load_data(self.evidence_file)
                results = review(data)
                self._evidence = (data, results, plain(summary_dict(data, results)))
            return self._evidence

    def evidence(self) -> dict[str, Any]:
        """The evidence review (``regrow evidence --json``), computed once per app."""
        return self._review()[2]

    def evidence_plot(self, comparison_id: str, kind: str) -> bytes:
        """A forest or funnel plot of one comparison as PNG bytes (cached)."""
        from regrow.evidence import forest_png, funnel_png

        _, results, _ = self._review()
        result = next((r for r in results if r.comparison.id == comparison_id), None)
        if result is None or kind not in ("forest", "funnel"):
            raise NotFoundError(f"No {kind} plot for comparison {comparison_id!r}.")
        key = (comparison_id, kind)
        with self._lock:
            if key not in self._png_cache:
                self._png_cache[key] = (forest_png if kind == "forest" else funnel_png)(result)
            png = self._png_cache[key]
        if png is None:
            raise NotFoundError(f"No {kind} plot for comparison {comparison_id!r} (too few studies).")
        return png

    # --- data: export, import, delete ------------------------------------------------------------------------

    def is_empty(self) -> bool:
        """True when the journal holds nothing but (possibly) the default person created by opening it."""
        return jr.is_empty(self.engine)

    def export_archive(self) -> tuple[str, bytes]:
        """Everything in the journal with the photo files, as the archive ``regrow export`` writes."""
        data, summary = jr.archive_bytes(self.engine, self.store)
        return summary.path.name, data

    def import_archive(self, upload: Any, *, name: str, replace: bool) -> dict[str, Any]:
        """Restore an archive (or an older JSON export) from an open upload (see ``regrow import``)."""
        return jr.import_journal(self.engine, self.store, upload, replace=replace, name=name)

    def delete_everything(self) -> dict[str, Any]:
        """Delete every record about the person and every photo file the journal wrote (then VACUUM)."""
        return jr.delete_everything(self.engine, self.store, person_id=self._me())
