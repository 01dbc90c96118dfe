"""Photos and per-site hair measurements (written by the image and progress features)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy.orm import Session

from regrow.errors import InputError

from ._fields import MEASUREMENT_SOURCES, check_choice, check_number, check_text, now, parse_datetime
from ._models import Measurement, Photo
from ._owned import get_owned, owned_rows
from ._photo_store import check_photo_file_name

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
    photo = Photo(
        person_id=person_id,
        taken_at=parse_datetime("taken_at", taken_at),
        site=check_text("site", site),
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
    replicate: int = 0,
    notes: str | None = None,
) -> Measurement:
    """Store one hair measurement of one scalp site.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    person_id : int
    taken_at : datetime, date or ISO 8601 str
        When the image or count was taken (a date means midnight).
    site : str
        Scalp site name, e.g. ``"vertex"``; compare like with like.
    area_cm2 : float
        Counted area in cm², > 0.
    hair_count : int, optional
        Hairs counted in the area, >= 0.
    density_per_cm2 : float, optional
        Hairs per cm²; when omitted and ``hair_count`` is given it is ``hair_count / area_cm2``.
    diameter_um : float, optional
        Mean shaft diameter in µm, > 0.
    terminal_count, vellus_count : int, optional
        Counts by hair class, >= 0.
    photo_id : int, optional
        The :class:`Photo` measured (must belong to ``person_id``).
    source : {"manual", "image"}
    quality_flags : list of str or dict, optional
        JSON-serialisable quality notes from the image checks.
    um_per_px : float, optional
        Calibration, µm per pixel, > 0.
    camera : str, optional
        Device or camera name.
    replicate : int
        Replicate index within one visit (0, 1, 2, ...).
    notes : str, optional

    Returns
    -------
    Measurement
        The new row (flushed: ``id`` is set).

    Raises
    ------
    InputError
        A field is out of range or inconsistent; the message names it.
    NotFoundError
        ``photo_id`` is not one of this person's photos.
    """
    area = check_number("area_cm2", area_cm2, low=0, low_open=True, unit="cm²")
    count = check_number("hair_count", hair_count, low=0, integer=True, optional=True)
    density = check_number("density_per_cm2", density_per_cm2, low=0, optional=True, unit="hairs/cm²")
    if density is None and count is not None:
        density = count / area
    if photo_id is not None:
        get_photo(session, person_id=person_id, photo_id=photo_id)
    flags = [] if quality_flags is None else quality_flags
    try:
        json.dumps(flags)
    except (TypeError, ValueError) as exc:
        raise InputError.invalid("quality_flags", flags, "a JSON list of strings or a JSON object") from exc
    row = Measurement(
        person_id=person_id,
        taken_at=parse_datetime("taken_at", taken_at),
        site=check_text("site", site),
        hair_count=count,
        area_cm2=area,
        density_per_cm2=density,
        diameter_um=check_number("diameter_um", diameter_um, low=0, low_open=True, optional=True, unit="µm"),
        terminal_count=check_number("terminal_count", terminal_count, low=0, integer=True, optional=True),
        vellus_count=check_number("vellus_count", vellus_count, low=0, integer=True, optional=True),
        photo_id=photo_id,
        source=check_choice("source", source, MEASUREMENT_SOURCES),
        quality_flags=flags,
        um_per_px=check_number("um_per_px", um_per_px, low=0, low_open=True, optional=True, unit="µm/px"),
        camera=check_text("camera", camera, optional=True),
        replicate=check_number("replicate", replicate, low=0, integer=True),
        notes=check_text("notes", notes, optional=True),
        created_at=now(),
    )
    session.add(row)
    session.flush()
    return row


def list_measurements(session: Session, *, person_id: int, site: str | None = None) -> list[Measurement]:
    """This person's measurements ordered by time, site and replicate (optionally one site only)."""
    return owned_rows(
        session,
        Measurement,
        person_id=person_id,
        order_by=(Measurement.taken_at, Measurement.site, Measurement.replicate),
        site=site,
    )
