"""Line up two scalp photos of one site for a before/after view: same scale, then the same spot.

The later photo is first resampled to the earlier photo's scale (micrometres per pixel, so one hair is as
thick in both), then shifted by the translation that phase correlation finds between the two (Reddy &
Chatterji 1996, doi:10.1109/83.506761; :func:`skimage.registration.phase_cross_correlation`). Only a shift
is estimated: a handheld trichoscope held against the scalp changes position between visits, rarely its
angle; a shift larger than half the image is refused as not found.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_ERROR", "Alignment", "align_photos", "apply_alignment"]

#: Phase-correlation error above which no shift is trusted (1 - normalised peak energy). Set on synthetic
#: trichoscopy images (tests/test_compare.py): the same spot shifted, with noise, gives 0.2-0.3; unrelated
#: images of the same density give 0.96-0.99.
MAX_ERROR = 0.9
#: Largest image side used to estimate the shift (larger images are shrunk for speed; the shift is scaled
#: back to full size).
ESTIMATE_SIDE_PX = 512


@dataclass(frozen=True)
class Alignment:
    """How to map the later photo onto the earlier one.

    Attributes
    ----------
    scale : float
        Resampling factor of the later photo (its um/px divided by the earlier photo's um/px).
    shift_y_px, shift_x_px : float
        Shift of the resampled later photo, in pixels of the earlier photo.
    found : bool
        False when no reliable shift was found (then the shift is 0 and only the scale is applied).
    error : float
        Phase-correlation error (0 = perfect match, 1 = none).
    """

    scale: float
    shift_y_px: float
    shift_x_px: float
    found: bool
    error: float


def _gray(rgb: np.ndarray) -> np.ndarray:
    image = np.asarray(rgb, dtype=np.float64)
    if image.ndim == 3:
        image = image[..., :3].mean(axis=2)
    return image


def _resize(image: np.ndarray, scale: float, shape: tuple[int, ...] | None = None) -> np.ndarray:
    from skimage.transform import rescale, resize

    if shape is not None:
        return resize(image, shape, order=1, preserve_range=True, anti_aliasing=True)
    if abs(scale - 1.0) < 1e-6:
        return image
    channel_axis = 2 if image.ndim == 3 else None
    return rescale(
        image, scale, order=1, preserve_range=True, anti_aliasing=scale < 1, channel_axis=channel_axis
    )


def _fit(image: np.ndarray, shape: tuple[int, int], fill: float = 0.0) -> np.ndarray:
    """Crop or zero-pad ``image`` (top-left anchored) to ``shape`` (rows, columns)."""
    out = np.full(shape + image.shape[2:], fill, dtype=image.dtype)
    rows, cols = min(shape[0], image.shape[0]), min(shape[1], image.shape[1])
    out[:rows, :cols] = image[:rows, :cols]
    return out


def align_photos(
    earlier_rgb: np.ndarray,
    later_rgb: np.ndarray,
    *,
    earlier_um_per_px: float | None,
    later_um_per_px: float | None,
) -> Alignment:
    """Estimate the scale and shift that put ``later_rgb`` over ``earlier_rgb``.

    Parameters
    ----------
    earlier_rgb, later_rgb : numpy.ndarray
        Images, (rows, columns) or (rows, columns, channels).
    earlier_um_per_px, later_um_per_px : float or None
        Their scales; when either is unknown the photos are taken to share a scale.

    Returns
    -------
    Alignment
    """
    from skimage.registration import phase_cross_correlation

    scale = 1.0
    if earlier_um_per_px and later_um_per_px and earlier_um_per_px > 0 and later_um_per_px > 0:
        scale = float(later_um_per_px) / float(earlier_um_per_px)
    ref = _gray(earlier_rgb)
    mov = _fit(_resize(_gray(later_rgb), scale), ref.shape)
    shrink = min(1.0, ESTIMATE_SIDE_PX / max(ref.shape))
    if shrink < 1.0:
        small = (max(1, round(ref.shape[0] * shrink)), max(1, round(ref.shape[1] * shrink)))
        ref, mov = _resize(ref, 1.0, small), _resize(mov, 1.0, small)
    ref = (ref - ref.mean()) * np.outer(np.hanning(ref.shape[0]), np.hanning(ref.shape[1]))
    mov = (mov - mov.mean()) * np.outer(np.hanning(mov.shape[0]), np.hanning(mov.shape[1]))
    shift, error, _ = phase_cross_correlation(ref, mov, normalization=None, upsample_factor=4)
    dy, dx = (float(s) / shrink for s in shift)
    found = (
        bool(np.isfinite(error))
        and error <= MAX_ERROR
        and abs(dy) < ref.shape[0] / shrink / 2
        and abs(dx) < ref.shape[1] / shrink / 2
    )
    if not found:
        dy = dx = 0.0
    return Alignment(scale=scale, shift_y_px=dy, shift_x_px=dx, found=found, error=float(error))


def apply_alignment(later_rgb: np.ndarray, alignment: Alignment, shape: tuple[int, int]) -> np.ndarray:
    """The later image resampled and shifted into the earlier image's frame (``shape``: its rows, columns);
    uncovered pixels are mid grey."""
    from scipy.ndimage import shift as nd_shift

    image = _resize(np.asarray(later_rgb, dtype=np.float64), alignment.scale)
    image = _fit(image, shape, fill=128.0)
    offsets = (alignment.shift_y_px, alignment.shift_x_px) + (0.0,) * (image.ndim - 2)
    moved = nd_shift(image, offsets, order=1, mode="constant", cval=128.0)
    return np.clip(moved, 0, 255).astype(np.uint8)
