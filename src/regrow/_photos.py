"""Storing a scalp photo, written once for both front ends (``regrow.cli`` and ``regrow.web``).

The steps join :mod:`regrow.measure` (strip, measure, draw) and :mod:`regrow.journal` (files and rows), which
must not know each other. The original bytes never touch the disk: they are decoded and re-encoded without
metadata in memory, then the clean file, its overlay and its summary go into the journal's photo folder and
the photo and measurement rows are committed, all under the folder's write lock (see
:mod:`regrow.journal._photo_store` for why a crash then leaves nothing behind that a sweep does not remove).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import io
import json
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from regrow import journal as jr
from regrow.errors import DuplicateError, ImageError, InputError

__all__ = [
    "DEFAULT_MAX_IMAGE_PIXELS",
    "PreparedPhoto",
    "measure_module",
    "prepare_photo",
    "save_photos",
    "store_photo",
]

#: Largest photo the journal accepts, in pixels, checked from the header before decoding. 16 MP holds a
#: phone's default 12 MP frame (4,032 x 3,024) and any trichoscope (1-5 MP). Measured on a loaded 2-core
#: machine (worst-case noise JPEGs, decode + clean re-encode): 12 MP 2.4 s / 341 MB peak, 16 MP 2.2 s /
#: 407 MB, 24 MP 2.7 s / 554 MB, 49 MP 7.9 s / 1,005 MB (the hardening review saw 10 s / 860 MB at 49 MP).
DEFAULT_MAX_IMAGE_PIXELS = 16_000_000


def measure_module():
    """``regrow.measure`` (imported late: everything else works while it is unavailable)."""
    try:
        return importlib.import_module("regrow.measure")
    except ImportError as exc:
        raise InputError(
            "Measuring images needs regrow.measure, which is not available in this installation; "
            "enter a hand count instead.",
            field="files",
        ) from exc


def _png(rgb: Any) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class PreparedPhoto:
    """A photo cleaned and measured in memory, ready to be stored (nothing written yet)."""

    clean: bytes
    suffix: str
    site: str
    taken_at: dt.datetime
    result: Any
    overlay: bytes
    sidecar: bytes
    summary: dict[str, Any]
    original_name: str
    camera: str | None = None
    allow_duplicate: bool = False
    new_site: bool = False


#: Setting naming a hair-detector model (``.onnx``, e.g. from ``regrow measure train``) that measures every
#: photo stored in the journal, from the CLI and the web app alike; unset = the default method (classical).
HAIR_MODEL_SETTING = "REGROW_HAIR_MODEL"


def journal_hair_model() -> str | None:
    """The model file the journal measures photos with (``REGROW_HAIR_MODEL``), or None for the default.

    A file that is missing or not a hair detector is refused with one line when the first photo is measured
    (``ModelFileError``); the default method is never substituted silently.
    """
    value = os.environ.get(HAIR_MODEL_SETTING, "").strip()
    return value or None


def prepare_photo(
    data: bytes,
    *,
    suffix: str,
    original_name: str,
    site: str,
    taken_at: Any,
    um_per_px: float | None = None,
    device: str | None = None,
    camera: str | None = None,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    allow_duplicate: bool = False,
    new_site: bool = False,
    skip_sha256: Collection[str] = (),
) -> PreparedPhoto:
    """Strip and measure a photo in memory; stores nothing (:func:`save_photos` does).

    Parameters
    ----------
    data : bytes
        The image as received.
    suffix : str
        Stored format: ``.jpg``, ``.png``, ``.tif`` or ``.webp``.
    original_name : str
        The file name the person chose (kept in the summary, shown in messages).
    site : str
        Scalp site, e.g. ``vertex`` (stored canonically).
    taken_at : datetime, date or ISO 8601 str
    um_per_px, device : optional
        Calibration: micrometres per pixel, or a device profile name.
    camera : str, optional
    max_pixels : int
        Largest image accepted (checked before decoding).
    allow_duplicate : bool
        Store the same image again for this site.
    new_site : bool
        Confirm a new site name that is close to one in use.
    skip_sha256 : collection of str
        SHA-256s of the clean images already stored for this person and site (the journal's duplicate key):
        such an image is refused before it is measured, unless ``allow_duplicate``. Lets a batch run
        without a database (``regrow measure --dask``'s workers) skip what is already stored.

    Raises
    ------
    ImageError
        The file is not a safe, readable image (names ``original_name``).
    InputError
        A bad site, date or calibration.
    DuplicateError
        The clean image's SHA-256 is in ``skip_sha256``.
    """
    measure = measure_module()
    if not str(site or "").strip():
        raise InputError.invalid("site", site, "a scalp site name such as vertex")
    site_name = jr.canonical_site(site)
    when = jr.parse_datetime("taken_at", taken_at)
    try:
        clean, _ = measure.clean_image_bytes(data, suffix, max_pixels=max_pixels, name=original_name)
        rgb = measure.load_image_safely(clean, max_pixels=max_pixels, name=original_name)
    except ImageError as exc:
        raise ImageError(str(exc), field="files", value=original_name) from exc
    digest = hashlib.sha256(clean).hexdigest()
    if digest in skip_sha256 and not allow_duplicate:
        raise DuplicateError(
            f"{original_name}: this same image of {site_name} is already stored; it was not measured again.",
            field="allow_duplicate",
            value=digest,
            allowed="--allow-duplicate",
        )
    result = measure.measure_image(
        rgb, um_per_px=um_per_px, device=device or None, name=original_name, model=journal_hair_model()
    )
    summary = result.to_dict(include_hairs=False)
    summary["original_name"] = original_name
    # The sidecar keeps every detection: the web overlay draws them for hand correction, and corrected photos
    # become training labels (regrow photo labels).
    sidecar = json.dumps({**summary, "hairs": result.to_dict()["hairs"]}, default=str).encode("utf-8")
    return PreparedPhoto(
        clean=clean,
        suffix=suffix,
        site=site_name,
        taken_at=when,
        result=result,
        overlay=_png(measure.render_overlay(rgb, result)),
        sidecar=sidecar,
        summary=summary,
        original_name=original_name,
        camera=camera,
        allow_duplicate=allow_duplicate,
        new_site=new_site,
    )


def _rows(session: Any, person_id: int, name: str, prepared: PreparedPhoto) -> tuple[Any, Any]:
    result = prepared.result
    diameters = (
        result.diameter_um if isinstance(result.diameter_um, Mapping) else {"mean": result.diameter_um}
    )
    photo = jr.add_photo(
        session,
        person_id=person_id,
        taken_at=prepared.taken_at,
        site=prepared.site,
        file_name=name,
        sha256=name[:64],
        width=int(result.width_px),
        height=int(result.height_px),
        allow_duplicate=prepared.allow_duplicate,
        new_site=prepared.new_site,
    )
    measurement = jr.add_measurement(
        session,
        person_id=person_id,
        taken_at=prepared.taken_at,
        site=prepared.site,
        area_cm2=float(result.area_cm2),
        hair_count=int(result.hair_count),
        density_per_cm2=float(result.density_per_cm2),
        diameter_um=diameters.get("mean"),
        terminal_count=int(result.terminal_count),
        vellus_count=int(result.vellus_count),
        photo_id=photo.id,
        source="image",
        quality_flags=list(result.quality_flags),
        um_per_px=float(result.um_per_px),
        camera=prepared.camera or (result.calibration or {}).get("device"),
        count_se=getattr(result, "count_se", None),
        notes=f"image: {prepared.original_name}",
        new_site=True,  # checked with the photo
    )
    return photo, measurement


def save_photos(
    engine: Engine,
    store: jr.PhotoStore,
    prepared: list[PreparedPhoto],
    *,
    person_id: int,
    also: Callable[[Any], Any] | None = None,
) -> list[dict[str, Any]]:
    """Store prepared photos (files first, then every row in ONE transaction, under the folder's lock).

    Parameters
    ----------
    also : callable, optional
        Called with the session inside the same transaction (an import adds its hand counts there), so
        everything is stored or nothing is.

    Returns
    -------
    list of dict
        ``{"photo": row, "measurement": row, "result": summary}`` per photo (the photo row without its file
        name).
    """
    out: list[dict[str, Any]] = []
    try:
        with store.writing():
            names = []
            for item in prepared:
                name = store.put(item.clean, item.suffix)
                store.put_derived(name[:64], "overlay", item.overlay)
                store.put_derived(name[:64], "sidecar", item.sidecar)
                names.append(name)
            with jr.session_scope(engine) as session:
                for name, item in zip(names, prepared, strict=True):
                    photo, measurement = _rows(session, person_id, name, item)
                    row = photo.as_dict()
                    row.pop("file_name", None)
                    out.append({"photo": row, "measurement": measurement.as_dict(), "result": item.summary})
                if also is not None:
                    also(session)
    except BaseException:
        # Files whose rows were not committed: remove them now if no writer is in flight (else the next
        # sweep at start-up does).
        jr.sweep_photos(engine, store)
        raise
    return out


def store_photo(
    engine: Engine, store: jr.PhotoStore, data: bytes, *, person_id: int, **options: Any
) -> dict[str, Any]:
    """Strip, measure and store one photo with its measurement (all or nothing).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A migrated journal.
    store : PhotoStore
        The journal's photo folder.
    data : bytes
        The image as received (never written to disk as it is).
    person_id : int
    **options
        The keywords of :func:`prepare_photo`: ``suffix`` (``.jpg``, ``.png``, ``.tif`` or ``.webp``),
        ``original_name``, ``site``, ``taken_at``, the calibration ``um_per_px`` or ``device``, ``camera``,
        ``max_pixels``, ``allow_duplicate`` (the same image again for this site), ``new_site`` (confirm a new
        site name close to one in use).

    Returns
    -------
    dict
        ``{"photo": row, "measurement": row, "result": summary}`` (rows as ``as_dict()``; the photo row
        without its file name).

    Raises
    ------
    ImageError
        The file is not a safe, readable image (names ``original_name``).
    InputError
        A bad site, date or calibration.
    """
    return save_photos(engine, store, [prepare_photo(data, **options)], person_id=person_id)[0]
