"""Overlay image for a person to check a measurement."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from regrow.errors import InputError

from ._loading import as_rgb_array, load_image_safely
from ._result import Measurement

__all__ = ["render_overlay"]

_TERMINAL = (40, 220, 40)
_VELLUS = (255, 210, 0)
_UNKNOWN = (200, 200, 200)
_NOT_COUNTED = (150, 150, 150)
_UNIT = (0, 200, 255)


def render_overlay(
    image: str | os.PathLike[str] | np.ndarray,
    measurement: Measurement,
    path: str | os.PathLike[str] | None = None,
    *,
    show_diameters: bool = True,
) -> np.ndarray:
    """Draw every hair on the image: shaft line, exit point, diameter label and unit outline.

    Counted terminal hairs are green, vellus hairs yellow, hairs without a diameter light grey, and hairs
    not counted (cut by the frame edge with too little shaft visible) dashed grey. Units with two or more hairs get a cyan circle
    labelled with their hair count. A header line repeats count, density and median diameter.

    Parameters
    ----------
    image : path-like or numpy.ndarray
        The measured image (same size as the measurement).
    measurement : Measurement
        Result of :func:`regrow.measure.measure_image` on ``image``.
    path : path-like, optional
        Write the overlay here as PNG (atomically; no metadata).
    show_diameters : bool
        Print each hair's diameter in um next to it.

    Returns
    -------
    numpy.ndarray
        (H, W, 3) uint8 RGB overlay.

    Raises
    ------
    InputError
        The image size differs from the measurement's.
    """
    rgb = as_rgb_array(image) if isinstance(image, np.ndarray) else load_image_safely(image)
    h, w = rgb.shape[:2]
    if (w, h) != (measurement.width_px, measurement.height_px):
        raise InputError.invalid(
            "image size", f"{w} x {h}", f"the measured size {measurement.width_px} x {measurement.height_px}"
        )
    out = np.ascontiguousarray(rgb.copy())
    s = max(h, w) / 1280.0
    thick = max(1, round(2 * s))
    font = 0.45 * max(s, 0.5)
    by_unit: dict[int, list] = {}
    for hair in measurement.hairs:
        p0 = (round(hair.exit_x_px), round(hair.exit_y_px))
        p1 = (round(hair.tip_x_px), round(hair.tip_y_px))
        if not hair.counted:
            col = _NOT_COUNTED
        elif hair.terminal is None:
            col = _UNKNOWN
        else:
            col = _TERMINAL if hair.terminal else _VELLUS
        if hair.counted:
            cv2.line(out, p0, p1, col, thick, cv2.LINE_AA)
        else:
            n = 8
            for i in range(0, n, 2):
                a = (round(p0[0] + (p1[0] - p0[0]) * i / n), round(p0[1] + (p1[1] - p0[1]) * i / n))
                b = (
                    round(p0[0] + (p1[0] - p0[0]) * (i + 1) / n),
                    round(p0[1] + (p1[1] - p0[1]) * (i + 1) / n),
                )
                cv2.line(out, a, b, col, thick, cv2.LINE_AA)
        cv2.circle(out, p0, max(2, round(4 * s)), (255, 0, 255) if hair.counted else col, -1, cv2.LINE_AA)
        if show_diameters and hair.diameter_um is not None and hair.counted:
            cv2.putText(
                out, f"{hair.diameter_um:.0f}", (p1[0] + 4, p1[1]), 0, font, (0, 0, 0), thick + 2, cv2.LINE_AA
            )
            cv2.putText(out, f"{hair.diameter_um:.0f}", (p1[0] + 4, p1[1]), 0, font, col, thick, cv2.LINE_AA)
        if hair.counted:
            by_unit.setdefault(hair.unit, []).append(p0)
    for pts in by_unit.values():
        if len(pts) < 2:
            continue
        arr = np.array(pts, np.float32)
        (cx, cy), rad = cv2.minEnclosingCircle(arr)
        rad = rad + 12 * s
        cv2.circle(out, (round(cx), round(cy)), round(rad), _UNIT, thick, cv2.LINE_AA)
        cv2.putText(
            out, str(len(pts)), (round(cx - rad), round(cy - rad)), 0, font * 1.3, _UNIT, thick, cv2.LINE_AA
        )
    med = measurement.diameter_um.get("median")
    header = (
        f"{measurement.hair_count} hairs  {measurement.density_per_cm2:.0f}/cm2  median {med:.0f} um"
        if med is not None
        else f"{measurement.hair_count} hairs"
    )
    cv2.rectangle(out, (0, h - round(26 * s)), (w, h), (0, 0, 0), -1)
    cv2.putText(
        out, header, (round(6 * s), h - round(8 * s)), 0, font * 1.3, (255, 255, 255), thick, cv2.LINE_AA
    )
    if path is not None:
        dst = Path(path)
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".overlay-", suffix=".png", dir=dst.parent)
        os.close(fd)
        try:
            Image.fromarray(out, mode="RGB").save(tmp, format="PNG")
            os.replace(tmp, dst)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return out
