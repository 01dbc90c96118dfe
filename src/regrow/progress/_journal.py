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

    ``hair_count`` is the photo's one effective count (corrected > manual > automatic), so the density is
    ``hair_count / area_cm2`` whenever there is a count (a stored density could predate a correction), else
    the stored ``density_per_cm2``. The count's provenance, its standard error and the review flag go along.
    """
    taken = row["taken_at"]
    day = taken.date() if isinstance(taken, dt.datetime) else taken
    density = row.get("density_per_cm2")
    count, area = row.get("hair_count"), row.get("area_cm2")
    if count is not None and area:
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
        count_se=row.get("count_se"),
        count_source=row.get("count_source"),
        review_status=row.get("review_status"),
        review_reason=row.get("review_reason"),
        measurement_id=row.get("id"),
        photo_id=row.get("photo_id"),
    )


def observations_from_journal(session: Any, *, person_id: int) -> list[Observation]:
    """All of a person's measurements that carry a density (rows without count or density are skipped).

    Flagged ones are included: :func:`regrow.progress.analyse_progress` lists them and leaves them out.
    """
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

    Adherence is computed over every version of the plan, each day judged by the version then in force.

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
    from regrow._wiring import journal_records

    records = journal_records(session, person_id=person_id)
    versions = records.versions()
    sessions = sorted(records.sessions, key=lambda s: s.performed_at)
    first_minoxidil = jr.first_dose(session, person_id=person_id, kind="minoxidil")
    if start is None:
        start = (
            versions[0].start_date if versions else (sessions[0].performed_at.date() if sessions else None)
        )
    minox = first_minoxidil.taken_at.date() if first_minoxidil is not None else None
    if minox is None:
        # no dose logged: minoxidil began when the first plan version with it took effect
        minox = next((pr.governs_from(versions, i) for i, v in enumerate(versions) if v.minoxidil), None)
    adherence = None
    if versions:
        adherence = pr.adherence(versions, sessions, as_of=as_of or dt.date.today()).ratio
        if adherence is not None:
            adherence = min(1.0, adherence)
    profile = records.profile
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
