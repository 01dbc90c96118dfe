"""Before/after of one site: two photos, the later one lined up on the earlier (:mod:`regrow._compare`)."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from typing import Any

from regrow.errors import InputError, NotFoundError

__all__ = ["AlignedCache", "compare_view"]

#: Aligned images kept in memory (a phone compares a few pairs at a time).
_CACHE_ITEMS = 16


def compare_view(service: Any, *, site: str | None, a: int | None, b: int | None) -> dict[str, Any]:
    """The sites with photos, the chosen site's photos, and the chosen pair (default: first and latest).

    Raises
    ------
    NotFoundError
        ``site`` has no photos, or ``a``/``b`` is not a photo of ``site``.
    """
    sites = service.photos()["sites"]
    if not sites:
        return {"sites": [], "site": None, "photos": [], "a": None, "b": None}
    if site is None:
        site = next(iter(sites))
    if site not in sites:
        raise NotFoundError(f"No photos of the site '{site}'; choose one of: {', '.join(sites)}.")
    photos = sites[site]
    by_id = {p["id"]: p for p in photos}
    for name, value in (("before", a), ("after", b)):
        if value is not None and value not in by_id:
            raise NotFoundError(
                f"Photo {value} ({name}) is not a photo of the {site}; choose one from the list."
            )
    first = by_id[a] if a is not None else photos[0]
    second = by_id[b] if b is not None else photos[-1]
    if first["taken_at"] > second["taken_at"]:
        first, second = second, first
    return {"sites": list(sites), "site": site, "photos": photos, "a": first, "b": second}


class AlignedCache:
    """PNG bytes of photo ``b`` (or its overlay) lined up on photo ``a``, computed once per pair."""

    def __init__(self) -> None:
        self._items: OrderedDict[tuple[int, int, str], tuple[bytes, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, service: Any, a: int, b: int, layer: str) -> tuple[bytes, Any]:
        """``(png, alignment)``; ``layer`` is ``image`` or ``overlay`` (the detections drawn on it)."""
        if layer not in ("image", "overlay"):
            raise InputError.invalid("layer", layer, "image or overlay")
        key = (a, b, layer)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = _aligned_png(service, a, b, layer)
        with self._lock:
            self._items[key] = value
            while len(self._items) > _CACHE_ITEMS:
                self._items.popitem(last=False)
        return value


def _read(path: Any) -> Any:
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _aligned_png(service: Any, a: int, b: int, layer: str) -> tuple[bytes, Any]:
    from PIL import Image

    from regrow._compare import align_photos, apply_alignment

    pa, pb = service.photo(a), service.photo(b)
    if pa["site"] != pb["site"]:
        raise InputError.invalid("b", b, f"a photo of the same site as photo {a} ({pa['site']})")
    ma, mb = pa.get("measurement") or {}, pb.get("measurement") or {}
    earlier = _read(service.photo_file(a, "image"))
    later = _read(service.photo_file(b, "image"))
    alignment = align_photos(
        earlier, later, earlier_um_per_px=ma.get("um_per_px"), later_um_per_px=mb.get("um_per_px")
    )
    source = later if layer == "image" else _read(service.photo_file(b, "overlay"))
    if source.shape[:2] != later.shape[:2]:  # an overlay drawn at another size: bring it to the photo's
        import numpy as np

        size = (later.shape[1], later.shape[0])
        source = np.asarray(Image.fromarray(source).resize(size, Image.Resampling.BILINEAR))
    aligned = apply_alignment(source, alignment, earlier.shape[:2])
    buf = io.BytesIO()
    Image.fromarray(aligned).save(buf, format="PNG", optimize=False, compress_level=3)
    return buf.getvalue(), alignment
