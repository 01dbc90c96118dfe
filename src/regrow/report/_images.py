"""The before/after photos of the report as embedded JPEG images (the later photo lined up on the first)."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

__all__ = ["PRINT_WIDTH_PX", "photo_pair_images"]

#: Width of an embedded photo: 700 px over the report's 84 mm column is about 210 dots per inch, sharp on
#: paper while keeping the demo report's four photos well under a megabyte.
PRINT_WIDTH_PX = 700
#: JPEG quality of the embedded photos (85: no visible artefacts on hair shafts at print size).
JPEG_QUALITY = 85


def _read_rgb(path: str) -> Any:
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _data_uri(rgb: Any) -> str:
    from PIL import Image

    image = Image.fromarray(rgb)
    if image.width > PRINT_WIDTH_PX:
        height = max(1, round(image.height * PRINT_WIDTH_PX / image.width))
        image = image.resize((PRINT_WIDTH_PX, height), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def photo_pair_images(pair: dict[str, Any]) -> dict[str, Any]:
    """Embedded images for one site of ``data["photos"]``: ``before``, ``after`` (data URIs or None), the
    ``alignment`` used and ``problems`` (sentences: a photo file missing, an unreadable image).

    The later photo is resampled to the first photo's scale and shifted onto the same spot
    (:func:`regrow._compare.align_photos`); when no reliable shift is found it is shown as taken.
    """
    from regrow._compare import align_photos, apply_alignment

    out: dict[str, Any] = {"before": None, "after": None, "alignment": None, "problems": []}
    images: dict[str, Any] = {}
    for role in ("before", "after"):
        entry = pair.get(role)
        if entry is None:
            continue
        path = Path(entry["path"])
        if not path.is_file():
            out["problems"].append(f"The {role} photo of {entry['date']} is missing from the photo folder.")
            continue
        try:
            images[role] = _read_rgb(str(path))
        except (OSError, ValueError) as exc:
            out["problems"].append(f"The {role} photo of {entry['date']} cannot be read ({exc}).")
    if "before" in images:
        out["before"] = _data_uri(images["before"])
    if "after" in images:
        later = images["after"]
        if "before" in images:
            earlier = images["before"]
            alignment = align_photos(
                earlier,
                later,
                earlier_um_per_px=pair["before"].get("um_per_px"),
                later_um_per_px=pair["after"].get("um_per_px"),
            )
            out["alignment"] = {
                "found": alignment.found,
                "scale": alignment.scale,
                "shift_x_px": alignment.shift_x_px,
                "shift_y_px": alignment.shift_y_px,
            }
            if alignment.found or abs(alignment.scale - 1.0) > 1e-6:
                later = apply_alignment(later, alignment, earlier.shape[:2])
        out["after"] = _data_uri(later)
    return out
