"""A realistic example person for ``regrow serve --demo`` and the benchmarks (seeded, made from code).

The example follows the defaults of the trial protocols (weekly x4 then every 2 weeks, 5% minoxidil twice
daily, photos every 4 weeks; ../shared/research/clinical-notes.md 1.1) through the same checks a person's own
entries go through: sessions are logged by :meth:`JournalService.log_session` (the safety rules run), doses
that would fall inside a post-session hold are skipped using :func:`regrow.protocol.active_holds`, and the
measurements come from synthetic trichoscopy images (:func:`regrow.measure.synthesize`) measured by
:func:`regrow.measure.measure_image` through the same upload path as real photos. Nothing here is real data:
the demo journal says so in its profile notes and the plan's name.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from regrow import journal as jr
from regrow import protocol as pr
from regrow._interface import interface
from regrow.errors import InputError

from ._service import JournalService

__all__ = ["DEMO_SITES", "fill_demo"]

#: Demo sites: (name, follicular units per cm2 at baseline, relative change by week 24). Illustrative
#: numbers for the synthetic images, not clinical facts; the vertex responds, the frontal site does not.
DEMO_SITES = (("vertex", 62.0, 0.18), ("frontal", 70.0, 0.0))
#: Synthetic camera: 8 um per pixel over 720 x 960 pixels (0.44 cm2 per image).
_UM_PER_PX = 8.0
_SHAPE = (720, 960)
#: Replace a roller after about 6 weeks (the bundled device.age_limit rule's heuristic, clinical-notes 1.5).
_DEVICE_WEEKS = 6


def fill_demo(
    target: Any,
    *,
    months: int = 6,
    today: dt.date | None = None,
    images: bool = True,
    replicates: int = 2,
    seed: int = 20250301,
) -> dict[str, Any]:
    """Fill an empty journal with an example person: profile, devices, plan, sessions, doses, measurements.

    Parameters
    ----------
    target : fastapi.FastAPI or JournalService
        The app from :func:`regrow.web.create_app` (or its ``state.service``); its journal must hold no
        records yet.
    months : int
        Length of the history up to ``today`` (6 for the demo, 60 for the five-year benchmark).
    today : datetime.date, optional
        The last day of the history; today when omitted.
    images : bool
        Measure synthetic images (True, the demo) or store hand counts drawn from the same model (False,
        fast, for benchmarks).
    replicates : int
        Images (or counts) per site and visit.
    seed : int
        Seed of every random choice.

    Returns
    -------
    dict
        Counts of what was created.

    Raises
    ------
    InputError
        The journal already holds records (the demo never mixes with real data).
    """
    with interface("demo"):  # the history says where these rows came from
        return _fill_demo(target, months=months, today=today, images=images, replicates=replicates, seed=seed)


def _fill_demo(
    target: Any, *, months: int, today: dt.date | None, images: bool, replicates: int, seed: int
) -> dict[str, Any]:
    service: JournalService = target.state.service if hasattr(target, "state") else target
    if not 1 <= months <= 120:
        raise InputError.invalid("months", months, "an integer in [1, 120]")
    if not service.is_empty():
        raise InputError.invalid(
            "journal", "not empty", "an empty journal (the demo never mixes with your data)"
        )
    rng = np.random.default_rng(seed)
    today = today or dt.date.today()
    start = today - dt.timedelta(weeks=round(months * 52 / 12))
    length_weeks = max(24, round(months * 52 / 12) + 26)
    service.set_profile(
        {
            "sex": "male",
            "birth_year": today.year - 34,
            "diagnosis": "AGA",
            "diagnosis_confirmed_by_clinician": True,
            "grade_scale": "norwood_hamilton",
            "grade": "III-vertex",
            "hair_colour": "black",
            "fitzpatrick_skin_type": 3,
            "medications": [],
        }
    )
    service.set_screening(dict.fromkeys(jr.SCREENING_QUESTIONS, False))

    def new_device(first_use: dt.date, number: int) -> int:
        return service.add_device(
            {
                "name": f"Demo roller #{number} (0.5 mm)",
                "kind": "roller",
                "needle_length_mm": 0.5,
                "needle_count": 192,
                "lot": f"DEMO-{number:03d}",
                "first_use": first_use.isoformat(),
            }
        )["id"]

    device_id = new_device(start, 1)
    plan = service.create_plan(
        {
            "name": "Demo plan (example data, not a real person)",
            "start_date": start.isoformat(),
            "device_id": device_id,
            "length_weeks": length_weeks,
            "minoxidil": True,
        },
        {},
    )["plan"]
    record = pr.PlanRecord.from_mapping({**plan, "start_date": start})
    counts = {"sessions": 0, "doses": 0, "events": 0, "devices": 1, "measurements": 0, "photos": 0}
    device_started, device_number = start, 1
    for index, day in enumerate(pr.planned_session_dates(record)):
        if day > today:
            break
        if index > 3 and rng.random() < 0.06:  # now and then a session is missed
            continue
        day = max(start, day + dt.timedelta(days=int(rng.integers(-1, 2))))
        if (day - device_started).days >= _DEVICE_WEEKS * 7:
            service.retire_device(device_id, reason="replaced after 6 weeks", at=f"{day.isoformat()}T19:00")
            device_number += 1
            device_id = new_device(day, device_number)
            device_started = day
            counts["devices"] += 1
        service.disinfect_device(
            device_id, method="70% isopropyl alcohol soak", at=f"{day.isoformat()}T20:00"
        )
        service.log_session(
            {
                "device_id": device_id,
                "performed_at": f"{day.isoformat()}T20:30",
                "area": "vertex and frontal",
                "passes": 4,
                "endpoint": "erythema",
                "pain_0_10": int(rng.integers(1, 4)),
                "applied_during": ["sterile saline"],
                "applied_after": [],
            },
            {},
        )
        counts["sessions"] += 1
        if index == 0:
            service.log_event(
                {
                    "kind": "erythema",
                    "severity": "mild",
                    "onset_at": f"{day.isoformat()}T21:00",
                    "resolved_at": f"{(day + dt.timedelta(days=1)).isoformat()}T12:00",
                    "notes": "Redness faded overnight.",
                }
            )
            counts["events"] += 1
    counts["doses"] = _add_doses(service, start, today, rng)
    made = _add_measurements(service, start, today, rng, images=images, replicates=replicates)
    counts.update(made)
    return counts


def _add_doses(service: JournalService, start: dt.date, today: dt.date, rng: np.random.Generator) -> int:
    """Minoxidil twice daily, skipped inside post-session holds (as the protocol asks) and now and then."""
    added = 0
    with jr.session_scope(service.engine) as session:
        me = jr.get_or_create_default_person(session).id
        sessions = [
            pr.SessionRecord.from_mapping(s.as_dict()) for s in jr.list_sessions(session, person_id=me)
        ]
        day = start
        now = dt.datetime.combine(today, dt.time(23, 59))
        while day <= today:
            for hour in (8, 20):
                when = dt.datetime.combine(day, dt.time(hour, int(rng.integers(0, 30))))
                if when > now or rng.random() < 0.05:
                    continue
                if pr.active_holds(sessions, service.rules, now=when):
                    continue
                jr.add_dose(
                    session, person_id=me, kind="minoxidil", taken_at=when, strength="5%", amount="1 mL"
                )
                added += 1
            day += dt.timedelta(days=1)
    return added


def _unit_density(base: float, change_by_24: float, weeks: float) -> float:
    # Illustrative response shape for the example only: linear to week 24, then flat.
    return base * (1.0 + change_by_24 * min(max(weeks, 0.0), 24.0) / 24.0)


def _add_measurements(
    service: JournalService,
    start: dt.date,
    today: dt.date,
    rng: np.random.Generator,
    *,
    images: bool,
    replicates: int,
) -> dict[str, int]:
    from regrow.measure import synthesize

    made = {"measurements": 0, "photos": 0}
    week = -2  # a baseline visit two weeks before the first session
    with tempfile.TemporaryDirectory() as tmp:
        while True:
            day = start + dt.timedelta(weeks=week)
            if day > today:
                break
            for site_index, (site, base, change) in enumerate(DEMO_SITES):
                units = _unit_density(base, change, float(week))
                for rep in range(replicates):
                    seed = int(rng.integers(0, 2**31 - 1))
                    if images:
                        from PIL import Image

                        synth = synthesize(
                            shape=_SHAPE, um_per_px=_UM_PER_PX, unit_density_per_cm2=units, seed=seed
                        )
                        path = Path(tmp) / f"{site}-{day.isoformat()}-{rep}.png"
                        Image.fromarray(synth.image).save(path)
                        service.add_photo(
                            path.read_bytes(),
                            suffix=".png",
                            original_name=path.name,
                            site=site,
                            taken_at=f"{day.isoformat()}T10:{site_index}{rep}",
                            um_per_px=_UM_PER_PX,
                            device=None,
                            camera="Demo trichoscope (synthetic images)",
                        )
                        made["photos"] += 1
                    else:
                        area_cm2 = _SHAPE[0] * _SHAPE[1] * _UM_PER_PX**2 * 1e-8
                        hairs_per_unit = 1.7  # mean of the synthesizer's default 1/2/3-hair unit mix
                        count = int(rng.poisson(units * hairs_per_unit * area_cm2))
                        service.add_measurement(
                            {
                                "taken_at": day.isoformat(),
                                "site": site,
                                "hair_count": count,
                                "area_cm2": area_cm2,
                                "camera": "Demo trichoscope (simulated counts)",
                                # replicate counts of one visit are meant, not a duplicate typed twice
                                "allow_duplicate": rep > 0,
                            }
                        )
                    made["measurements"] += 1
            week += 4
    return made
