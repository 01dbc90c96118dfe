"""Read the journal's records into the model's inputs (measurements, treatment context, expected response).

The model itself never touches the database; this adapter is used by the CLI and the web app.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Mapping
from typing import Any

from regrow.progress._types import ExpectedResponse, Observation, TreatmentContext

__all__ = [
    "context_from_journal",
    "expected_from_evidence",
    "observation_from_row",
    "observations_from_journal",
]


def _flags(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, Mapping):
        return tuple(str(k) for k, v in value.items() if v)
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return (str(value),)


def observation_from_row(row: Mapping[str, Any]) -> Observation:
    """Convert one journal ``Measurement`` row (as a dict) into an :class:`Observation`.

    Density is ``density_per_cm2`` when stored, else ``hair_count / area_cm2``.
    """
    taken = row["taken_at"]
    day = taken.date() if isinstance(taken, dt.datetime) else taken
    density = row.get("density_per_cm2")
    count, area = row.get("hair_count"), row.get("area_cm2")
    if density is None and count is not None and area:
        density = count / area
    return Observation(
        measured_on=day,
        site=row["site"],
        density_per_cm2=float(density) if density is not None else float("nan"),
        count=count,
        area_cm2=area,
        diameter_um=row.get("diameter_um"),
        quality_flags=_flags(row.get("quality_flags")),
        device=row.get("camera"),
        um_per_px=row.get("um_per_px"),
    )


def observations_from_journal(session: Any, *, person_id: int) -> list[Observation]:
    """All of a person's measurements that carry a density (rows without count or density are skipped)."""
    from regrow import journal as jr

    out = []
    for m in jr.list_measurements(session, person_id=person_id):
        row = m.as_dict()
        if row.get("density_per_cm2") is None and row.get("hair_count") is None:
            continue
        out.append(observation_from_row(row))
    return out


def context_from_journal(
    session: Any, *, person_id: int, start: dt.date | None = None, as_of: dt.date | None = None
) -> TreatmentContext:
    """Treatment context from the journal: plan start, minoxidil start, adherence, last session, sex.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    person_id : int
    start : datetime.date, optional
        Overrides the plan's start date.
    as_of : datetime.date, optional
        Adherence is computed up to this date (the latest measurement); today when omitted.

    Returns
    -------
    TreatmentContext
        Fields the journal does not know stay unset.
    """
    from regrow import journal as jr
    from regrow import protocol as pr

    plan = jr.get_active_plan(session, person_id=person_id)
    sessions = jr.list_sessions(session, person_id=person_id)
    first_minoxidil = jr.first_dose(session, person_id=person_id, kind="minoxidil")
    profile = jr.get_profile(session, person_id=person_id)
    plan_start = plan.start_date if plan is not None else None
    if start is None:
        start = plan_start or (sessions[0].performed_at.date() if sessions else None)
    minox = first_minoxidil.taken_at.date() if first_minoxidil is not None else None
    if minox is None and plan is not None and plan.minoxidil:
        minox = plan.start_date
    adherence = None
    if plan is not None:
        record = pr.PlanRecord.from_mapping(plan.as_dict())
        done = [pr.SessionRecord.from_mapping(s.as_dict()) for s in sessions]
        adherence = pr.adherence(record, done, as_of=as_of or dt.date.today()).ratio
        if adherence is not None:
            adherence = min(1.0, adherence)
    sex = profile.sex if profile is not None and profile.sex in ("male", "female") else None
    return TreatmentContext(
        start=start,
        minoxidil_start=minox,
        adherence=adherence,
        last_session=sessions[-1].performed_at.date() if sessions else None,
        sex=sex,
    )


def expected_from_evidence(weeks: float | None) -> ExpectedResponse | None:
    """The trial-expected density change from :mod:`regrow.evidence`, when it offers one.

    Looks for ``regrow.evidence.expected_density_change(weeks=...)`` returning an object (or mapping) with
    ``change_per_cm2``, ``ci_lb``, ``ci_ub``, ``weeks`` and ``source``; returns ``None`` (and the report
    carries a ``no_expected`` caveat) when it is absent or has no answer.
    """
    try:
        evidence = importlib.import_module("regrow.evidence")
    except ImportError:
        return None
    fn = getattr(evidence, "expected_density_change", None)
    if fn is None:
        return None
    res = fn(weeks=weeks)
    if res is None:
        return None
    get = res.get if isinstance(res, Mapping) else lambda k: getattr(res, k)
    return ExpectedResponse(
        change_per_cm2=float(get("change_per_cm2")),
        ci_lb=float(get("ci_lb")),
        ci_ub=float(get("ci_ub")),
        weeks=float(get("weeks")),
        source=str(get("source")),
    )
