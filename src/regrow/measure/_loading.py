"""Safe image loading and metadata stripping.

Every image a person or a clinic hands to regrow goes through :func:`load_image_safely`: the pixel count is
checked *before* decoding (decompression bombs), truncated files fail loudly, EXIF orientation is applied,
and grayscale, palette, CMYK, alpha and 16-bit images are converted to 8-bit RGB. :func:`strip_metadata`
writes a stored copy without EXIF/GPS/XMP/comments (photos are health data, PRODUCT.md "Privacy").
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from regrow.errors import ImageError, InputError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "as_rgb_array",
    "clean_image_bytes",
    "load_image_safely",
    "strip_metadata",
]

#: Largest image accepted, in pixels (50 MP: a 8,000 x 6,000 phone photo fits, a 20,000 x 20,000 bomb not).
DEFAULT_MAX_PIXELS = 50_000_000
#: Largest file accepted, in bytes.
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
#: Container formats accepted (Pillow names).
ALLOWED_FORMATS = ("JPEG", "PNG", "TIFF", "BMP", "WEBP")
_SAVE_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}


def _to_rgb8(im: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to an (H, W, 3) uint8 RGB array (16-bit and float scaled by their range)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        if im.mode == "F":
            top = max(float(arr.max(initial=0.0)), 1.0) if arr.max(initial=0.0) > 1.0 else 1.0
        gray = np.clip(np.rint(arr / top * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.uint8).copy()
    return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def as_rgb_array(image: np.ndarray, *, name: str = "image") -> np.ndarray:
    """Validate an in-memory image and return it as a contiguous (H, W, 3) uint8 RGB array.

    Parameters
    ----------
    image : numpy.ndarray
        (H, W) grayscale or (H, W, 3|4) RGB(A); uint8, uint16 (scaled by 65535) or float in [0, 1].
    name : str
        Field name used in error messages.

    Returns
    -------
    numpy.ndarray
        (H, W, 3) uint8.

    Raises
    ------
    InputError
        Wrong dimensionality, channel count, dtype or an empty image.
    """
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or arr.shape[0] < 16 or arr.shape[1] < 16:
        raise InputError.invalid(
            f"{name}.shape", tuple(np.shape(image)), "(H, W), (H, W, 3) or (H, W, 4), H, W >= 16"
        )
    if arr.dtype == np.uint8:
        out = arr
    elif arr.dtype == np.uint16:
        out = np.rint(arr.astype(np.float64) / 65535.0 * 255.0).astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
            raise InputError.invalid(f"{name}.values", "outside [0, 1] or not finite", "floats in [0, 1]")
        out = np.rint(arr * 255.0).astype(np.uint8)
    else:
        raise InputError.invalid(f"{name}.dtype", str(arr.dtype), "uint8, uint16 or float in [0, 1]")
    if out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    elif out.shape[2] == 4:
        out = out[..., :3]
    return np.ascontiguousarray(out)


def load_image_safely(
    path: str | os.PathLike[str] | bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    name: str | None = None,
) -> np.ndarray:
    """Decode an image file (or its bytes, never written to disk) into an upright 8-bit RGB array, refusing
    anything unsafe.

    Parameters
    ----------
    path : path-like or bytes
        The image file (JPEG, PNG, TIFF, BMP or WebP), or its content in memory.
    max_pixels : int
        Largest width x height accepted; checked from the header *before* decoding.
    max_bytes : int
        Largest file size accepted.
    name : str, optional
        How to call the image in messages (default: the path, or ``"image"`` for bytes).

    Returns
    -------
    numpy.ndarray
        (H, W, 3) uint8 RGB, EXIF orientation applied.

    Raises
    ------
    ImageError
        Missing file, not an image, a format not allowed, too many pixels (decompression bomb),
        too large a file, or a truncated/corrupt file. The message names the file.
    """
    if isinstance(path, bytes | bytearray | memoryview):
        source: Path | io.BytesIO = io.BytesIO(bytes(path))
        p = name or "image"
        size = len(path)
    else:
        source = p = Path(path)
        if not p.is_file():
            raise ImageError.invalid("image", str(p), "an existing image file")
        size = p.stat().st_size
        p = name or p
    if size > max_bytes:
        raise ImageError.invalid("image", f"{p} ({size} bytes)", f"a file of at most {max_bytes} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(source)
    except Image.DecompressionBombError as exc:
        raise ImageError.invalid(
            "image", f"{p} (decompression bomb)", f"at most {max_pixels} pixels"
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageError.invalid("image", str(p), f"a readable image ({', '.join(ALLOWED_FORMATS)})") from exc
    with im:
        if im.format not in ALLOWED_FORMATS:
            raise ImageError.invalid("image format", f"{p}: {im.format}", ", ".join(ALLOWED_FORMATS))
        w, h = im.size
        if w * h > max_pixels:
            raise ImageError.invalid("image", f"{p} ({w} x {h} pixels)", f"at most {max_pixels} pixels")
        if w < 16 or h < 16:
            raise ImageError.invalid("image", f"{p} ({w} x {h} pixels)", "at least 16 x 16 pixels")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im.load()
                upright = ImageOps.exif_transpose(im)
                return _to_rgb8(upright if upright is not None else im)
        except (OSError, ValueError, SyntaxError) as exc:
            raise ImageError.invalid("image", f"{p} ({exc})", "a complete, uncorrupted image file") from exc


def strip_metadata(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    jpeg_quality: int = 95,
) -> Path:
    """Write a copy of an image with its pixels upright and every metadata block removed.

    EXIF (including GPS), XMP, IPTC, ICC profiles and comments are dropped; the orientation tag is applied
    to the pixels first so the copy looks the same. The copy is written to a temporary file in the
    destination folder and renamed into place, so nothing is written when reading or encoding fails.

    Parameters
    ----------
    src : path-like
        The original image (read with :func:`load_image_safely`).
    dst : path-like
        Where to write; the suffix picks the format (.jpg/.jpeg, .png, .tif/.tiff, .webp).
    max_pixels : int
        Passed to :func:`load_image_safely`.
    jpeg_quality : int
        JPEG quality for .jpg copies, 1-100.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ImageError
        The source cannot be read safely.
    InputError
        Unknown destination suffix or a bad quality.
    """
    out = Path(dst)
    data, _ = clean_image_bytes(src, out.suffix, max_pixels=max_pixels, jpeg_quality=jpeg_quality)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".strip-", suffix=out.suffix, dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def clean_image_bytes(
    src: str | os.PathLike[str] | bytes,
    suffix: str,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    jpeg_quality: int = 95,
    name: str | None = None,
) -> tuple[bytes, np.ndarray]:
    """Decode an image safely and encode a copy without any metadata, all in memory.

    This is :func:`strip_metadata` without files: an upload can be cleaned before anything of it touches
    the disk.

    Parameters
    ----------
    src : path-like or bytes
        The original image (read with :func:`load_image_safely`).
    suffix : str
        The format of the copy: .jpg/.jpeg, .png, .tif/.tiff or .webp.
    max_pixels : int
        Passed to :func:`load_image_safely`.
    jpeg_quality : int
        JPEG quality for .jpg copies, 1-100.
    name : str, optional
        How to call the image in messages.

    Returns
    -------
    data : bytes
        The encoded copy (no EXIF, GPS, XMP, IPTC, ICC or comments; orientation applied to the pixels).
    rgb : numpy.ndarray
        The decoded (H, W, 3) uint8 pixels of the original.

    Raises
    ------
    ImageError
        The source cannot be read safely.
    InputError
        Unknown suffix or a bad quality.
    """
    fmt = _SAVE_FORMATS.get(str(suffix).lower())
    if fmt is None:
        raise InputError.invalid("dst suffix", suffix, "one of " + ", ".join(sorted(_SAVE_FORMATS)))
    if not 1 <= int(jpeg_quality) <= 100:
        raise InputError.invalid("jpeg_quality", jpeg_quality, "an integer in [1, 100]")
    rgb = load_image_safely(src, max_pixels=max_pixels, name=name)
    clean = Image.fromarray(rgb, mode="RGB")  # a fresh image carries no info/exif
    buffer = io.BytesIO()
    kwargs = {"quality": int(jpeg_quality)} if fmt == "JPEG" else {}
    clean.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue(), rgb
