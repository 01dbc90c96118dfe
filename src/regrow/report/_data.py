"""Gather what a consult report shows for one patient and visit, as one JSON-ready dict.

Nothing is decided here: the journal stores (:mod:`regrow.journal`), :mod:`regrow.progress` gives the
verdict, :mod:`regrow.protocol` the adherence and the safety findings, :mod:`regrow.evidence` the review's
verdict. This module picks the visit, keeps what was known on that day, and collects the pieces.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from regrow import __version__
from regrow import _wiring as wire
from regrow import journal as jr
from regrow import protocol as pr
from regrow.errors import InputError

from ._evidence import evidence_summary
from ._wording import DIAGNOSIS_WORDS, GRADE_SCALE_WORDS, VERDICT_LABELS, plain_text, verdict_sentence

__all__ = ["consult_report_data", "visit_dates"]

#: How many visit dates the error for an unknown visit lists in full (the rest are counted).
_LISTED_DATES = 24


@contextmanager
def _read_session(session_or_engine: Any) -> Iterator[Any]:
    """The session given, or a read transaction on the engine given (rolled back: a report writes nothing)."""
    from sqlalchemy.engine import Engine

    if not isinstance(session_or_engine, Engine):
        yield session_or_engine
        return
    with jr.session_scope(session_or_engine) as session:
        try:
            yield session
        finally:
            session.rollback()


def _day(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def visit_dates(session: Any, *, person_id: int) -> list[dt.date]:
    """The days with a photo or a measurement of this person, oldest first (the visits a report can show).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    person_id : int

    Returns
    -------
    list of datetime.date
    """
    days = {_day(p.taken_at) for p in jr.list_photos(session, person_id=person_id)}
    days |= {_day(m.taken_at) for m in jr.list_measurements(session, person_id=person_id)}
    return sorted(days)


def _choose_visit(visit: Any, available: list[dt.date]) -> dt.date | None:
    if visit is None:
        return available[-1] if available else None
    day = jr.parse_date("visit", visit)
    if day in available:
        return day
    if not available:
        raise InputError.invalid(
            "visit", day.isoformat(), "a day with a photo or a measurement (this patient has none yet)"
        )
    shown = [d.isoformat() for d in available[-_LISTED_DATES:]]
    more = len(available) - len(shown)
    listed = ", ".join(shown) + (f" (and {more} earlier)" if more else "")
    raise InputError.invalid("visit", day.isoformat(), f"one of the visit dates {listed}")


def _until(records: pr.JournalRecords, end: dt.datetime) -> pr.JournalRecords:
    """The records as they stood at ``end``: sessions, doses, events and disinfections after it left out."""
    return dataclasses.replace(
        records,
        sessions=tuple(s for s in records.sessions if s.performed_at <= end),
        doses=tuple(d for d in records.doses if d.taken_at <= end),
        events=tuple(e for e in records.events if e.onset_at <= end),
        disinfections=tuple(d for d in records.disinfections if d.disinfected_at <= end),
    )


def _patient(session: Any, person_id: int, visit: dt.date) -> dict[str, Any]:
    person = jr.get_person(session, person_id=person_id)
    profile = jr.get_profile(session, person_id=person_id)
    out: dict[str, Any] = {
        "person_id": person.id,
        "name": person.display_name,
        "sex": None,
        "birth_year": None,
        "age_years": None,
        "diagnosis": None,
        "diagnosis_label": None,
        "diagnosis_confirmed_by_clinician": None,
        "grade_scale": None,
        "grade": None,
        "grade_label": None,
        "fitzpatrick_skin_type": None,
        "medications": [],
        "has_profile": profile is not None,
    }
    if profile is None:
        return out
    out.update(
        sex=profile.sex,
        birth_year=profile.birth_year,
        # a birth year only: the age at the visit is this or one less
        age_years=None if profile.birth_year is None else visit.year - profile.birth_year,
        diagnosis=profile.diagnosis,
        diagnosis_label=DIAGNOSIS_WORDS.get(profile.diagnosis or "", profile.diagnosis),
        diagnosis_confirmed_by_clinician=profile.diagnosis_confirmed_by_clinician,
        grade_scale=profile.grade_scale,
        grade=profile.grade,
        fitzpatrick_skin_type=profile.fitzpatrick_skin_type,
        medications=list(profile.medications or []),
    )
    if profile.grade:
        scale = GRADE_SCALE_WORDS.get(profile.grade_scale or "", profile.grade_scale)
        out["grade_label"] = f"{scale} {profile.grade}" if scale else profile.grade
    return out


def _plan(records: pr.JournalRecords, visit: dt.date) -> dict[str, Any] | None:
    versions = records.versions()
    if not versions:
        return None
    plan, start = versions[-1], versions[0].start_date
    days = (visit - start).days
    return {
        "name": plan.name,
        "start_date": start.isoformat(),
        "length_weeks": plan.length_weeks,
        "needle_length_mm": plan.needle_length_mm,
        "loading_interval_days": plan.loading_interval_days,
        "loading_sessions": plan.loading_sessions,
        "maintenance_interval_days": plan.maintenance_interval_days,
        "minoxidil": plan.minoxidil,
        "minoxidil_strength_pct": plan.minoxidil_strength_pct,
        "versions": len(versions),
        # week 1 is the start date's week; a visit before the start is a baseline visit (week None)
        "programme_week": days // 7 + 1 if days >= 0 else None,
        "days_before_start": -days if days < 0 else None,
    }


def _photo_entry(photo: Any, measurement: Any, store: Any) -> dict[str, Any]:
    return {
        "photo_id": photo.id,
        "taken_at": photo.taken_at.isoformat(timespec="minutes"),
        "date": _day(photo.taken_at).isoformat(),
        "path": str(store.path(photo.file_name)),
        "width_px": photo.width,
        "height_px": photo.height,
        "um_per_px": None if measurement is None else measurement.um_per_px,
        "hair_count": None if measurement is None else measurement.hair_count,
        "area_cm2": None if measurement is None else measurement.area_cm2,
        "density_per_cm2": None if measurement is None else _density(measurement),
    }


def _density(m: Any) -> float | None:
    """As the progress model reads it: the effective count over the area, else the stored density."""
    if m.hair_count is not None and m.area_cm2:
        return m.hair_count / m.area_cm2
    return m.density_per_cm2


def _photos(session: Any, store: Any, person_id: int, visit: dt.date) -> list[dict[str, Any]]:
    """Per site: the first photo and the latest photo up to the visit (the visit's own when it has one)."""
    by_photo = {
        m.photo_id: m for m in jr.list_measurements(session, person_id=person_id) if m.photo_id is not None
    }
    sites: dict[str, list[Any]] = {}
    for p in jr.list_photos(session, person_id=person_id):
        if _day(p.taken_at) <= visit:
            sites.setdefault(p.site, []).append(p)
    out = []
    for site, photos in sorted(sites.items()):
        first, latest = photos[0], photos[-1]
        at_visit = _day(latest.taken_at) == visit
        out.append(
            {
                "site": site,
                "n_photos": len(photos),
                "before": _photo_entry(first, by_photo.get(first.id), store),
                "after": None
                if latest.id == first.id
                else _photo_entry(latest, by_photo.get(latest.id), store),
                "after_is_visit": at_visit,
            }
        )
    return out


def _progress(session: Any, person_id: int, visit: dt.date | None) -> dict[str, Any]:
    """The progress model on the measurements up to the visit, as the ``progress`` command runs it."""
    from regrow import progress as pg
    from regrow.progress._journal import (
        context_from_journal,
        expected_from_evidence,
        observations_from_journal,
    )

    obs = [
        o for o in observations_from_journal(session, person_id=person_id) if visit and o.measured_on <= visit
    ]
    as_of = max((o.measured_on for o in obs), default=None)
    ctx = context_from_journal(session, person_id=person_id, as_of=as_of)
    if visit is not None:
        sessions = [
            s for s in jr.list_sessions(session, person_id=person_id) if _day(s.performed_at) <= visit
        ]
        ctx = dataclasses.replace(ctx, last_session=_day(sessions[-1].performed_at) if sessions else None)
    weeks = (as_of - ctx.start).days / 7.0 if (as_of and ctx.start) else None
    expected = expected_from_evidence(weeks)
    report = pg.analyse_progress(obs, context=ctx, expected=expected, trajectory=True)
    body = _plain(report.to_dict())
    body["n_measurements"] = len(obs)
    body["verdict_label"] = VERDICT_LABELS.get(body["verdict"], body["verdict"])
    body["reason"] = plain_text(body["reason"])
    counts = _visit_counts(obs)
    for entry, site in zip(body["sites"], report.sites, strict=True):
        entry["verdict_label"] = VERDICT_LABELS.get(entry["verdict"], entry["verdict"])
        entry["sentence"] = verdict_sentence(entry)
        entry["reason"] = plain_text(entry["reason"])
        entry["trajectory"] = _plain(site.trajectory) if site.trajectory else None
        if not entry["visits"]:  # the model builds no visits from one measurement: list it as measured
            entry["visits"] = _measured_visits(obs, site.site)
        for v in entry["visits"]:
            v.update(counts.get((site.site, v["measured_on"]), {}))
    messages = [c["message"] for c in body["caveats"]] + [
        f"{s['site']}: {c['message']}"
        for s in body["sites"]
        for c in s["caveats"]
        if c not in body["caveats"]
    ]
    body["caveat_messages"] = [plain_text(m) for m in dict.fromkeys(messages)]
    return body


def _measured_visits(obs: list[Any], site: str) -> list[dict[str, Any]]:
    """A site's visits as measured (day, images, mean density), without the model's change."""
    days: dict[dt.date, list[float]] = {}
    for o in obs:
        if o.site == site and o.density_per_cm2 == o.density_per_cm2:  # not NaN
            days.setdefault(o.measured_on, []).append(o.density_per_cm2)
    none = {"estimate": None, "ci_lb": None, "ci_ub": None}
    return [
        {
            "measured_on": day.isoformat(),
            "weeks_since_start": None,
            "n_images": len(values),
            "mean_density_per_cm2": sum(values) / len(values),
            "change_per_cm2": dict(none),
            "change_pct": dict(none),
            "baseline": i == 0,
            "in_fit": False,
        }
        for i, (day, values) in enumerate(sorted(days.items()))
    ]


def _visit_counts(obs: list[Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Hairs counted and area covered per site and day (the raw counts behind each visit's mean density)."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for o in obs:
        entry = out.setdefault((o.site, o.measured_on.isoformat()), {"hairs_counted": 0, "area_cm2": 0.0})
        if o.count is None or not o.area_cm2 or entry["hairs_counted"] is None:
            entry["hairs_counted"] = entry["area_cm2"] = None
            continue
        entry["hairs_counted"] += int(o.count)
        entry["area_cm2"] += float(o.area_cm2)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN has no JSON form
        return None
    return value


def _adherence(records: pr.JournalRecords, as_of: dt.date) -> dict[str, Any] | None:
    versions = records.versions()
    if not versions:
        return None
    body = pr.adherence(versions, records.sessions, as_of=as_of).to_dict()
    last = max((s.performed_at for s in records.sessions), default=None)
    body["last_session"] = None if last is None else last.date().isoformat()
    return body


def _safety(records: pr.JournalRecords, rules: pr.RuleSet, end: dt.datetime) -> dict[str, Any]:
    order = {"stop": 0, "caution": 1, "info": 2}
    findings = sorted(
        (f.to_dict() for f in pr.check_journal(records, rules, now=end)),
        key=lambda f: order.get(f["severity"], 3),
    )
    for f in findings:
        f["message"] = plain_text(f["message"])
    events = [
        {
            "id": e.id,
            "kind": e.kind,
            "severity": e.severity,
            "onset": e.onset_at.isoformat(timespec="minutes"),
            "resolved": None
            if e.resolved_at is None or e.resolved_at > end
            else e.resolved_at.isoformat(timespec="minutes"),
        }
        for e in records.events
    ]
    return {"findings": findings, "events": events}


def _missing(data: dict[str, Any]) -> list[str]:
    """What the journal does not hold, in words, so a report never shows an empty box without a reason."""
    out = []
    if data["visit"]["date"] is None:
        out.append("No photos or measurements yet: there is no visit to report on.")
    if not data["patient"]["has_profile"]:
        out.append("No profile: sex, birth year, diagnosis and grade are not recorded.")
    if data["plan"] is None:
        out.append("No treatment plan: the programme week and adherence cannot be given.")
    if data["adherence"] is not None and not data["adherence"]["done_to_date"]:
        out.append("No micro-needling sessions logged up to this visit.")
    if data["visit"]["date"] is not None and not data["photos"]:
        out.append("No photos up to this visit: no before/after images.")
    if data["visit"]["date"] is not None and not data["progress"]["n_measurements"]:
        out.append("No hair counts up to this visit: no trend and no verdict.")
    if data["evidence"].get("error"):
        out.append(f"The evidence summary is not available: {data['evidence']['error']}")
    return out


def consult_report_data(
    session_or_engine: Any,
    store: Any,
    person_id: int,
    *,
    visit: Any = None,
    rules: Any = None,
    evidence_file: str | Path | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Everything a consult report shows for one patient at one visit, as a JSON-ready dict.

    The report looks at the journal as it stood at the end of the visit day: measurements, photos,
    sessions, doses, adverse events and disinfections after it are left out; the profile, the plan and
    the devices are the current ones. Nothing is written.

    Parameters
    ----------
    session_or_engine : sqlalchemy.orm.Session or sqlalchemy.Engine
        A journal (:func:`regrow.journal.open_journal`); with an engine, a read transaction is opened.
    store : regrow.journal.PhotoStore
        The journal's photo folder (the before/after images are read from it when rendering).
    person_id : int
        The patient (a journal person).
    visit : datetime.date or str, optional
        The visit day (ISO 8601); default: the most recent day with a photo or a measurement.
    rules : regrow.protocol.RuleSet or str or Path, optional
        The safety rules in force, or a clinic's rule file; default: the bundled rules.
    evidence_file : str or Path, optional
        Evidence YAML for the evidence summary; default: the bundled review.
    now : datetime.datetime, optional
        The generation time printed in the footer (UTC); now when omitted.

    Returns
    -------
    dict
        ``patient``, ``visit`` (``date``, ``available``), ``plan``, ``photos``, ``progress``, ``adherence``,
        ``safety``, ``evidence``, ``missing`` (sentences saying what the journal does not hold),
        ``generated_at`` and ``regrow_version``.

    Raises
    ------
    NotFoundError
        ``person_id`` is not a person of this journal.
    InputError
        ``visit`` is not a date, or not a day with a photo or measurement (the error lists the days).
    """
    if not isinstance(rules, pr.RuleSet):
        rules = pr.load_rules(rules)
    if isinstance(person_id, bool) or not isinstance(person_id, int):
        raise InputError.invalid("person_id", person_id, "a person id (an integer)")
    generated = now or dt.datetime.now(dt.UTC)
    with _read_session(session_or_engine) as session:
        jr.get_person(session, person_id=person_id)  # NotFoundError before anything else
        available = visit_dates(session, person_id=person_id)
        day = _choose_visit(visit, available)
        as_of = day or generated.date()
        end = dt.datetime.combine(as_of, dt.time.max)
        records = _until(wire.journal_records(session, person_id=person_id), end)
        data: dict[str, Any] = {
            "generated_at": generated.isoformat(timespec="minutes"),
            "regrow_version": __version__,
            "patient": _patient(session, person_id, as_of),
            "visit": {
                "date": None if day is None else day.isoformat(),
                "chosen": "given" if visit is not None else "latest",
                "number": None if day is None else available.index(day) + 1,
                "available": [d.isoformat() for d in available],
            },
            "plan": _plan(records, as_of),
            "photos": [] if day is None else _photos(session, store, person_id, day),
            "progress": _progress(session, person_id, day),
            "adherence": _adherence(records, as_of),
            "safety": _safety(records, rules, end),
        }
    data["evidence"] = evidence_summary(evidence_file)
    data["missing"] = _missing(data)
    return data
