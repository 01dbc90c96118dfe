"""Corrected photos as training labels: Pascal-VOC XML (what ``regrow measure train`` and LabelImg read).

A photo whose detections the person corrected has the best labels the journal holds: every detected hair
that was not removed, plus every hair added by hand. Each becomes one box: a detected hair's box spans its
exit point and tip, padded by half its diameter (at least 4 px); a hand-added hair is a point, so it gets a
square of the median detected box size around it. Removals match the detection named by ``hair_index``, or
else the detection whose shaft passes nearest the tapped point.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import Engine

from regrow import journal as jr

__all__ = ["export_voc", "voc_boxes"]

#: Smallest half-width of a box, in pixels (a thin hair still gets a box a detector can learn from).
MIN_HALF_PX = 4.0


def _detected_box(hair: dict[str, Any], um_per_px: float) -> tuple[float, float, float, float]:
    pad = max(MIN_HALF_PX, (hair.get("diameter_um") or 0.0) / um_per_px / 2)
    xs = (hair["exit_x_px"], hair["tip_x_px"])
    ys = (hair["exit_y_px"], hair["tip_y_px"])
    return min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad


def _distance_to_shaft(hair: dict[str, Any], x: float, y: float) -> float:
    ax, ay, bx, by = hair["exit_x_px"], hair["exit_y_px"], hair["tip_x_px"], hair["tip_y_px"]
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / length2))
    return ((ax + t * dx - x) ** 2 + (ay + t * dy - y) ** 2) ** 0.5


def voc_boxes(
    hairs: list[dict[str, Any]], corrections: list[Any], *, um_per_px: float, width: int, height: int
) -> list[tuple[float, float, float, float]]:
    """The boxes of a corrected photo: counted detections not removed, plus hand-added hairs.

    Returns
    -------
    list of (xmin, ymin, xmax, ymax)
        Clipped to the image.
    """
    kept = [i for i, h in enumerate(hairs) if h.get("counted", True)]
    for c in corrections:
        if c.action != "remove" or not kept:
            continue
        if c.hair_index is not None and c.hair_index in kept:
            kept.remove(c.hair_index)
        else:
            kept.remove(min(kept, key=lambda i: _distance_to_shaft(hairs[i], c.x_px, c.y_px)))
    boxes = [_detected_box(hairs[i], um_per_px) for i in kept]
    sizes = [max(b[2] - b[0], b[3] - b[1]) for b in boxes] or [40.0]
    half = statistics.median(sizes) / 2
    boxes += [
        (c.x_px - half, c.y_px - half, c.x_px + half, c.y_px + half) for c in corrections if c.action == "add"
    ]
    return [
        (max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1))
        for x0, y0, x1, y1 in boxes
    ]


def _xml(name: str, width: int, height: int, boxes: list[tuple[float, float, float, float]]) -> str:
    objects = "".join(
        "  <object><name>hair</name><difficult>0</difficult><bndbox>"
        f"<xmin>{round(x0)}</xmin><ymin>{round(y0)}</ymin><xmax>{round(x1)}</xmax><ymax>{round(y1)}</ymax>"
        "</bndbox></object>\n"
        for x0, y0, x1, y1 in boxes
    )
    return (
        f"<annotation>\n  <filename>{escape(name)}</filename>\n"
        f"  <size><width>{width}</width><height>{height}</height><depth>3</depth></size>\n{objects}</annotation>\n"
    )


def export_voc(engine: Engine, store: jr.PhotoStore, out: str | Path, *, person_id: int) -> dict[str, Any]:
    """Write ``<date>_p<person>_<photo id>.<ext>`` and its ``.xml`` for every photo with corrections.

    Returns
    -------
    dict
        ``{"images": n, "boxes": n, "skipped": [{"photo_id", "reason"}]}``.
    """
    from regrow.journal._private import private_dir, write_private

    folder = private_dir(out, tighten=False)
    written = {"images": 0, "boxes": 0, "skipped": []}
    with jr.session_scope(engine) as session:
        measurements = {
            m.photo_id: m for m in jr.list_measurements(session, person_id=person_id) if m.photo_id
        }
        for photo in jr.list_photos(session, person_id=person_id):
            corrections = jr.list_corrections(session, person_id=person_id, photo_id=photo.id)
            if not corrections:
                continue
            sidecar = store.sidecar_path(photo.sha256)
            hairs = (
                json.loads(sidecar.read_text(encoding="utf-8")).get("hairs") if sidecar.is_file() else None
            )
            m = measurements.get(photo.id)
            if hairs is None or m is None or not m.um_per_px:
                written["skipped"].append(
                    {"photo_id": photo.id, "reason": "no stored detections (measured before regrow 0.2)"}
                )
                continue
            boxes = voc_boxes(
                hairs, corrections, um_per_px=m.um_per_px, width=photo.width, height=photo.height
            )
            stem = f"{photo.taken_at:%y%m%d}_p{person_id}_{photo.id}"
            image_name = f"{stem}{photo.file_name[64:]}"
            write_private(folder / image_name, store.path(photo.file_name).read_bytes())
            write_private(folder / f"{stem}.xml", _xml(image_name, photo.width, photo.height, boxes).encode())
            written["images"] += 1
            written["boxes"] += len(boxes)
    return written
