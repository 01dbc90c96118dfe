"""Photos and per-site hair measurements (written by the image and progress features)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy.orm import Session

from regrow.errors import InputError

from ._crud import check_when, refuse_duplicate
from ._fields import MEASUREMENT_SOURCES, check_choice, check_number, check_text, now
from ._models import Measurement, Photo
from ._owned import get_owned, owned_query, owned_rows
from ._photo_store import check_photo_file_name
from ._plausibility import check_range, plausible_range, quality_gate, unusual_measurement
from ._sites import canonical_site, check_new_site

__all__ = ["add_measurement", "add_photo", "get_photo", "list_measurements", "list_photos"]


def add_photo(
    session: Session,
    *,
    person_id: int,
    taken_at: dt.datetime | dt.date | str,
    site: str,
    file_name: str,
    sha256: str,
    width: int,
    height: int,
    allow_duplicate: bool = False,
    new_site: bool = False,
) -> Photo:
    """Record a stored photo (the caller has already put the EXIF-stripped file into the photo folder).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    person_id : int
    taken_at : datetime, date or ISO 8601 str
    site : str
        Scalp site name, e.g. ``"vertex"``.
    file_name : str
        The file's name in the photo folder, ``<sha256><suffix>``
        (:meth:`regrow.journal.PhotoStore.put` returns it); never a path.
    sha256 : str
        Hex SHA-256 of the stored bytes (64 lowercase hex digits).
    width, height : int
        Pixel size, at least 1.
    allow_duplicate : bool
        Store it although the same image (same SHA-256) is already stored for this site.
    new_site : bool
        Confirm a site name never used before that is very close to one in use.

    Returns
    -------
    Photo
        The new row (flushed: ``id`` is set).

    Raises
    ------
    InputError
        A field is missing or out of range; the message names it.
    """
    digest = str(sha256).lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise InputError.invalid("sha256", sha256, "64 hexadecimal digits")
    name = check_photo_file_name(file_name, field="file_name")
    if name[:64] != digest:
        raise InputError.invalid("file_name", file_name, f"named after the photo's sha256 {digest}")
    site_name = canonical_site(site)
    check_new_site(site_name, sites_in_use(session, person_id=person_id), allow=new_site)
    stored = session.scalars(
        owned_query(Photo, person_id=person_id, sha256=digest, site=site_name).limit(1)
    ).first()
    refuse_duplicate(
        f"this same image of {site_name}",
        stored,
        allow=allow_duplicate,
        how="--allow-duplicate (web: tick 'Yes, store it again')",
    )
    photo = Photo(
        person_id=person_id,
        taken_at=check_when(session, "taken_at", taken_at, person_id=person_id),
        site=site_name,
        file_name=name,
        sha256=digest,
        width=check_number("width", width, low=1, integer=True, unit="px"),
        height=check_number("height", height, low=1, integer=True, unit="px"),
        created_at=now(),
    )
    session.add(photo)
    session.flush()
    return photo


def get_photo(session: Session, *, person_id: int, photo_id: int) -> Photo:
    """The photo ``photo_id`` of this person.

    Raises
    ------
    NotFoundError
        No such photo for this person.
    """
    return get_owned(session, Photo, photo_id, person_id=person_id, field="photo_id")


def list_photos(session: Session, *, person_id: int, site: str | None = None) -> list[Photo]:
    """This person's photos, oldest first (optionally one site only)."""
    return owned_rows(session, Photo, person_id=person_id, order_by=(Photo.taken_at, Photo.id), site=site)


#: Checks of a measurement's own fields (counts, sizes and calibration: plausibility.yaml).
MEASUREMENT_FIELDS = {
    "site": lambda v: canonical_site(v),
    "area_cm2": lambda v: check_range("area_cm2", v),
    "hair_count": lambda v: check_range("hair_count", v, optional=True),
    "density_per_cm2": lambda v: check_range("density_per_cm2", v, optional=True),
    "diameter_um": lambda v: check_range("diameter_um", v, optional=True),
    "terminal_count": lambda v: check_range("terminal_count", v, optional=True),
    "vellus_count": lambda v: check_range("vellus_count", v, optional=True),
    "um_per_px": lambda v: check_range("um_per_px", v, optional=True),
    "camera": lambda v: check_text("camera", v, optional=True),
    "notes": lambda v: check_text("notes", v, optional=True),
    "replicate": lambda v: check_number("replicate", v, low=0, high=1000, integer=True),
    "count_se": lambda v: check_number("count_se", v, low=0, high=5000, optional=True, unit="hairs"),
}
#: Which count a photo's measurement shows: corrected detections, then a typed count, then the detector's.
COUNT_PRECEDENCE = ("corrected", "manual", "automatic")


def effective_count(row: Measurement) -> tuple[int | None, str]:
    """The one count of a measurement and where it comes from, by :data:`COUNT_PRECEDENCE`."""
    for source in COUNT_PRECEDENCE:
        value = getattr(row, f"{source}_count")
        if value is not None:
            return value, source
    return None, row.count_source or ("automatic" if row.source == "image" else "manual")


def apply_count(row: Measurement) -> None:
    """Set ``hair_count``, ``count_source`` and ``density_per_cm2`` from the stored counts (no averaging)."""
    count, source = effective_count(row)
    if count is not None:
        row.hair_count = count
        row.count_source = source
        row.density_per_cm2 = count / row.area_cm2


def previous_density(
    session: Session, *, person_id: int, site: str, before: dt.datetime, exclude_id: int | None = None
) -> float | None:
    """The last usable density of ``site`` before ``before`` (flagged values are not used)."""
    query = (
        owned_query(Measurement, person_id=person_id, site=site)
        .where(Measurement.taken_at < before, Measurement.density_per_cm2.is_not(None))
        .where((Measurement.review_status.is_(None)) | (Measurement.review_status != "flagged"))
        .order_by(Measurement.taken_at.desc(), Measurement.id.desc())
    )
    if exclude_id is not None:
        query = query.where(Measurement.id != exclude_id)
    row = session.scalars(query.limit(1)).first()
    return None if row is None else row.density_per_cm2


def flag_if_unusual(session: Session, row: Measurement) -> None:
    """Flag a possible but unusual measurement for review (or clear a flag the values no longer need)."""
    if row.review_status == "accepted":
        return
    gated = (
        quality_gate(row.quality_flags) if row.source == "image" and row.count_source == "automatic" else None
    )
    reason = gated or unusual_measurement(
        density_per_cm2=row.density_per_cm2,
        diameter_um=row.diameter_um,
        previous_density_per_cm2=previous_density(
            session, person_id=row.person_id, site=row.site, before=row.taken_at, exclude_id=row.id
        ),
    )
    row.review_status = None if reason is None else "flagged"
    row.review_reason = reason


def add_measurement(
    session: Session,
    *,
    person_id: int,
    taken_at: dt.datetime | dt.date | str,
    site: str,
    area_cm2: float,
    hair_count: int | None = None,
    density_per_cm2: float | None = None,
    diameter_um: float | None = None,
    terminal_count: int | None = None,
    vellus_count: int | None = None,
    photo_id: int | None = None,
    source: str = "manual",
    quality_flags: list[str] | dict[str, Any] | None = None,
    um_per_px: float | None = None,
    camera: str | None = None,
    replicate: int | None = None,
    notes: str | None = None,
    count_se: float | None = None,
    allow_duplicate: bool = False,
    new_site: bool = False,
) -> Measurement:
    """Store one hair measurement of one scalp site.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    person_id : int
    taken_at : datetime, date or ISO 8601 str
        When the image or count was taken (a date means midnight); not in the future.
    site : str
        Scalp site name, e.g. ``"vertex"``; compare like with like.
    area_cm2 : float
        Counted area in cm², in (0, 800].
    hair_count : int, optional
        Hairs counted in the area, 0..5000 (and at most 600 per cm²). From an image it is the detector's
        count (``automatic_count``); typed by hand it is a ``manual`` count.
    density_per_cm2 : float, optional
        Hairs per cm², 0..600; when omitted and ``hair_count`` is given it is ``hair_count / area_cm2``.
    diameter_um : float, optional
        Mean shaft diameter in µm, 5..250.
    terminal_count, vellus_count : int, optional
        Counts by hair class.
    photo_id : int, optional
        The :class:`Photo` measured (must belong to ``person_id``).
    source : {"manual", "image"}
    quality_flags : list of str or dict, optional
        JSON-serialisable quality notes from the image checks.
    um_per_px : float, optional
        Calibration, µm per pixel.
    camera : str, optional
        Device or camera name.
    replicate : int, optional
        Replicate index within one visit (0, 1, 2, ...); by default the next one of this site that day.
    notes : str, optional
    count_se : float, optional
        Standard error of the count (hairs) from the measurer.
    allow_duplicate : bool
        Store a hand count although one of the same site is stored that day.
    new_site : bool
        Confirm a site name never used before that is very close to one in use.

    Returns
    -------
    Measurement
        The new row (flushed: ``id`` is set). A possible but unusual value (a density drop of over 50% since
        the last visit, ...) is stored with ``review_status="flagged"`` and is not analysed until accepted.

    Raises
    ------
    InputError
        A field out of its plausible range (the message gives the range and its source) or inconsistent.
    NotFoundError
        ``photo_id`` is not one of this person's photos.
    DuplicateError
        A hand count of the same site that day, unless ``allow_duplicate``.
    """
    given = {
        "site": site,
        "area_cm2": area_cm2,
        "hair_count": hair_count,
        "density_per_cm2": density_per_cm2,
        "diameter_um": diameter_um,
        "terminal_count": terminal_count,
        "vellus_count": vellus_count,
        "um_per_px": um_per_px,
        "camera": camera,
        "notes": notes,
        "replicate": 0 if replicate is None else replicate,
        "count_se": count_se,
    }
    values = {key: MEASUREMENT_FIELDS[key](value) for key, value in given.items()}
    check_new_site(values["site"], sites_in_use(session, person_id=person_id), allow=new_site)
    check_count_density(values)
    kind = check_choice("source", source, MEASUREMENT_SOURCES)
    when = check_when(session, "taken_at", taken_at, person_id=person_id)
    if photo_id is not None:
        get_photo(session, person_id=person_id, photo_id=photo_id)
    if kind == "manual" and photo_id is None:
        refuse_duplicate(
            f"a hand count of {values['site']} on {when.date().isoformat()}",
            _same_day_manual(session, person_id=person_id, site=values["site"], day=when.date()),
            allow=allow_duplicate,
            how="--allow-duplicate (web: tick 'Yes, store another count that day')",
        )
    flags = [] if quality_flags is None else quality_flags
    try:
        json.dumps(flags)
    except (TypeError, ValueError) as exc:
        raise InputError.invalid("quality_flags", flags, "a JSON list of strings or a JSON object") from exc
    if replicate is None:
        start = dt.datetime.combine(when.date(), dt.time())
        same_day = owned_query(Measurement, person_id=person_id, site=values["site"]).where(
            Measurement.taken_at >= start, Measurement.taken_at < start + dt.timedelta(days=1)
        )
        values["replicate"] = len(session.scalars(same_day).all())
    count = values.pop("hair_count")
    row = Measurement(
        person_id=person_id,
        taken_at=when,
        photo_id=photo_id,
        source=kind,
        quality_flags=flags,
        created_at=now(),
        hair_count=count,
        automatic_count=count if kind == "image" else None,
        manual_count=count if kind == "manual" else None,
        count_source="automatic" if kind == "image" else "manual",
        **values,
    )
    if row.density_per_cm2 is None and count is not None:
        row.density_per_cm2 = count / row.area_cm2
    session.add(row)
    session.flush()
    flag_if_unusual(session, row)
    session.flush()
    return row


def sites_in_use(session: Session, *, person_id: int) -> set[str]:
    """The site names this person's measurements and photos use."""
    from sqlalchemy import select

    found = set(
        session.scalars(select(Measurement.site).where(Measurement.person_id == person_id).distinct())
    )
    return found | set(session.scalars(select(Photo.site).where(Photo.person_id == person_id).distinct()))


def check_count_density(values: dict[str, Any]) -> None:
    """A count and a density given together must agree (within rounding), and the count fit its area."""
    count, area, density = values.get("hair_count"), values.get("area_cm2"), values.get("density_per_cm2")
    if count is None or not area:
        return
    implied = count / area
    ceiling = plausible_range("density_per_cm2").high
    if implied > ceiling:
        raise InputError.invalid(
            "hair_count",
            count,
            f"at most {ceiling:g} hairs per cm² of the counted area ({area:g} cm² holds at most "
            f"{int(ceiling * area)}) (Source: {plausible_range('density_per_cm2').source})",
        )
    if density is not None and abs(density - implied) > max(0.5, 0.01 * implied):
        raise InputError.invalid(
            "density_per_cm2", density, f"hair_count / area_cm2 = {implied:.1f} when both are given"
        )


def _same_day_manual(session: Session, *, person_id: int, site: str, day: dt.date) -> Measurement | None:
    start = dt.datetime.combine(day, dt.time())
    query = owned_query(Measurement, person_id=person_id, site=site, source="manual").where(
        Measurement.taken_at >= start,
        Measurement.taken_at < start + dt.timedelta(days=1),
        Measurement.photo_id.is_(None),
    )
    return session.scalars(query.limit(1)).first()


def list_measurements(session: Session, *, person_id: int, site: str | None = None) -> list[Measurement]:
    """This person's measurements ordered by time, site and replicate (optionally one site only)."""
    return owned_rows(
        session,
        Measurement,
        person_id=person_id,
        order_by=(Measurement.taken_at, Measurement.site, Measurement.replicate),
        site=site,
    )
