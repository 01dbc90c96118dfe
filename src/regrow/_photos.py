"""Storing a scalp photo, written once for both front ends (``regrow.cli`` and ``regrow.web``).

The steps join :mod:`regrow.measure` (strip, measure, draw) and :mod:`regrow.journal` (files and rows), which
must not know each other. The original bytes never touch the disk: they are decoded and re-encoded without
metadata in memory, then the clean file, its overlay and its summary go into the journal's photo folder and
the photo and measurement rows are committed, all under the folder's write lock (see
:mod:`regrow.journal._photo_store` for why a crash then leaves nothing behind that a sweep does not remove).
"""

from __future__ import annotations

import importlib
import io
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from regrow import journal as jr
from regrow.errors import ImageError, InputError

__all__ = ["DEFAULT_MAX_IMAGE_PIXELS", "measure_module", "store_photo"]

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


def store_photo(
    engine: Engine,
    store: jr.PhotoStore,
    data: bytes,
    *,
    person_id: int,
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
    suffix : str
        Stored format: ``.jpg``, ``.png``, ``.tif`` or ``.webp``.
    original_name : str
        The file name the person chose (kept in the summary, shown in messages).
    site : str
        Scalp site, e.g. ``vertex``.
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
    result = measure.measure_image(rgb, um_per_px=um_per_px, device=device or None, name=original_name)
    overlay = _png(measure.render_overlay(rgb, result))
    summary = result.to_dict(include_hairs=False)
    summary["original_name"] = original_name
    # The sidecar keeps every detection: the web overlay draws them for hand correction, and corrected photos
    # become training labels (regrow photo labels).
    sidecar = json.dumps({**summary, "hairs": result.to_dict()["hairs"]}, default=str).encode("utf-8")
    diameters = (
        result.diameter_um if isinstance(result.diameter_um, Mapping) else {"mean": result.diameter_um}
    )
    try:
        with store.writing():
            name = store.put(clean, suffix)
            store.put_derived(name[:64], "overlay", overlay)
            store.put_derived(name[:64], "sidecar", sidecar)
            with jr.session_scope(engine) as session:
                photo = jr.add_photo(
                    session,
                    person_id=person_id,
                    taken_at=when,
                    site=site_name,
                    file_name=name,
                    sha256=name[:64],
                    width=int(result.width_px),
                    height=int(result.height_px),
                    allow_duplicate=allow_duplicate,
                    new_site=new_site,
                )
                measurement = jr.add_measurement(
                    session,
                    person_id=person_id,
                    taken_at=when,
                    site=site_name,
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
                    camera=camera or (result.calibration or {}).get("device"),
                    notes=f"image: {original_name}",
                )
                photo_row = photo.as_dict()
                measurement_row = measurement.as_dict()
    except BaseException:
        # Files whose rows were not committed: remove them now if no writer is in flight (else the next
        # sweep at start-up does).
        jr.sweep_photos(engine, store)
        raise
    photo_row.pop("file_name", None)
    return {"photo": photo_row, "measurement": measurement_row, "result": summary}
