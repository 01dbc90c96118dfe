"""Spatial calibration: micrometres per pixel from a number, a device profile or a photographed ruler/grid."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from regrow.errors import DataFileError, InputError

__all__ = ["Calibration", "DeviceProfile", "calibrate_from_ruler", "device_profiles", "resolve_calibration"]

#: Plausible range for trichoscopy/phototrichogram pixels on the scalp (0.2 um: 1000x; 100 um: a plain photo).
UM_PER_PX_RANGE = (0.2, 100.0)


@dataclass(frozen=True)
class DeviceProfile:
    """One named device: its pixel size on the scalp and where that number comes from."""

    name: str
    um_per_px: float
    description: str = ""
    source: str = ""
    width_px: int | None = None
    height_px: int | None = None


@dataclass(frozen=True)
class Calibration:
    """The scale used for one measurement.

    Attributes
    ----------
    um_per_px : float
        Micrometres per image pixel.
    method : str
        ``"explicit"``, ``"device"`` or ``"ruler"``.
    device : str or None
        The device profile name when ``method == "device"``.
    """

    um_per_px: float
    method: str
    device: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"um_per_px": self.um_per_px, "method": self.method, "device": self.device}


def _check_um_per_px(value: Any, field: str = "um_per_px") -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError.invalid(
            field, value, f"a number in [{UM_PER_PX_RANGE[0]}, {UM_PER_PX_RANGE[1]}]"
        ) from exc
    if not np.isfinite(v) or not UM_PER_PX_RANGE[0] <= v <= UM_PER_PX_RANGE[1]:
        raise InputError.invalid(
            field, value, f"a number in [{UM_PER_PX_RANGE[0]}, {UM_PER_PX_RANGE[1]}] um/px"
        )
    return v


def _parse_profiles(text: str, origin: str) -> dict[str, DeviceProfile]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise DataFileError(f"{origin}: not valid YAML ({exc})", path=origin) from exc
    rows = data.get("devices") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise DataFileError(f"{origin}: expected a top-level 'devices:' list", path=origin, column="devices")
    out: dict[str, DeviceProfile] = {}
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or not isinstance(row.get("name"), str) or not row["name"].strip():
            raise DataFileError(
                f"{origin}: device {i} needs a non-empty 'name'", path=origin, row=i, column="name"
            )
        try:
            upp = _check_um_per_px(row.get("um_per_px"), "um_per_px")
        except InputError as exc:
            raise DataFileError(
                f"{origin}: device {row['name']!r}: {exc}", path=origin, row=i, column="um_per_px"
            ) from exc
        out[row["name"].strip().lower()] = DeviceProfile(
            name=row["name"].strip(),
            um_per_px=upp,
            description=str(row.get("description", "")),
            source=str(row.get("source", "")),
            width_px=row.get("width_px"),
            height_px=row.get("height_px"),
        )
    return out


@lru_cache(maxsize=8)
def _profiles_cached(extra: str | None) -> dict[str, DeviceProfile]:
    text = resources.files("regrow.measure").joinpath("devices.yaml").read_text(encoding="utf-8")
    profiles = _parse_profiles(text, "regrow/measure/devices.yaml")
    if extra:
        path = Path(extra)
        if not path.is_file():
            raise DataFileError(f"REGROW_DEVICE_PROFILES file {extra!r} does not exist", path=extra)
        profiles.update(_parse_profiles(path.read_text(encoding="utf-8"), extra))
    return profiles


def device_profiles() -> dict[str, DeviceProfile]:
    """The bundled device profiles plus those in the YAML file named by ``REGROW_DEVICE_PROFILES``.

    Returns
    -------
    dict of str to DeviceProfile
        Keyed by lower-case name.

    Raises
    ------
    DataFileError
        A profile file is malformed (names the file, row and column).
    """
    return dict(_profiles_cached(os.environ.get("REGROW_DEVICE_PROFILES") or None))


def resolve_calibration(*, um_per_px: float | None = None, device: str | None = None) -> Calibration:
    """Pick the calibration from an explicit um/px or a named device profile (exactly one).

    Raises
    ------
    InputError
        Both or neither given, an implausible um/px, or an unknown device name (lists the known ones).
    """
    if um_per_px is not None and device is not None:
        raise InputError.invalid("calibration", "both um_per_px and device", "one of um_per_px or device")
    if um_per_px is not None:
        return Calibration(_check_um_per_px(um_per_px), "explicit")
    if device is not None:
        profiles = device_profiles()
        prof = profiles.get(str(device).strip().lower())
        if prof is None:
            names = ", ".join(sorted(p.name for p in profiles.values()))
            raise InputError.invalid("device", device, f"a known device profile ({names})")
        return Calibration(prof.um_per_px, "device", prof.name)
    raise InputError.invalid(
        "calibration",
        None,
        "given: pass um_per_px (--um-per-px), a device (--device) or a ruler photo (--ruler)",
    )


def calibrate_from_ruler(
    image: np.ndarray, *, pitch_um: float = 1000.0, min_peak_ratio: float = 100.0
) -> Calibration:
    """Micrometres per pixel from a photo of a ruler or grid with a known line pitch.

    The dominant spatial frequency of the image (the tick or grid-line spacing) is found as the strongest
    peak of the windowed 2-D power spectrum away from the origin; sub-bin precision comes from a parabolic
    fit on the log power, and the estimate is refined on the harmonic nearest to 1/8 of the Nyquist band.

    Parameters
    ----------
    image : numpy.ndarray
        (H, W, 3) uint8 RGB or (H, W) grayscale photo of the ruler/grid taken with the measuring device.
    pitch_um : float
        Distance between neighbouring lines in micrometres (1000 for mm ticks).
    min_peak_ratio : float
        The peak must exceed the median power of the searched band by this factor (white noise: about 20), else no periodic pattern.

    Returns
    -------
    Calibration
        ``method == "ruler"``.

    Raises
    ------
    InputError
        Bad pitch, or no clear periodic pattern (the photo is not a ruler/grid, or out of focus).
    """
    if not np.isfinite(pitch_um) or pitch_um <= 0:
        raise InputError.invalid("pitch_um", pitch_um, "a positive number of micrometres")
    gray = np.asarray(image, dtype=np.float64)
    if gray.ndim == 3:
        gray = gray[..., :3].mean(axis=2)
    h, w = gray.shape
    n = int(2 ** np.ceil(np.log2(max(h, w)))) * 2
    win = np.outer(np.hanning(h), np.hanning(w))
    spec = np.abs(np.fft.fftshift(np.fft.fft2((gray - gray.mean()) * win, s=(n, n)))) ** 2
    cy = cx = n // 2
    yy, xx = np.mgrid[0:n, 0:n]
    rr = np.hypot(yy - cy, xx - cx)
    # periods between 4 px and a third of the image side
    r_min, r_max = n / (min(h, w) / 3.0), n / 4.0
    band = (rr >= r_min) & (rr <= r_max) & ((yy > cy) | ((yy == cy) & (xx > cx)))
    if not band.any():
        raise InputError.invalid("ruler image", f"{w} x {h} px", "at least 24 x 24 pixels")
    masked = np.where(band, spec, 0.0)
    py, px = np.unravel_index(int(np.argmax(masked)), spec.shape)
    ratio = spec[py, px] / max(float(np.median(spec[band])), 1e-12)
    if ratio < min_peak_ratio:
        raise InputError.invalid(
            "ruler image",
            f"peak/background {ratio:.1f}",
            f"a sharp ruler or grid (peak ratio >= {min_peak_ratio})",
        )

    def refine(y: int, x: int) -> tuple[float, float]:
        logp = np.log(spec[y - 1 : y + 2, x - 1 : x + 2] + 1e-12)
        dy = 0.5 * (logp[0, 1] - logp[2, 1]) / (logp[0, 1] - 2 * logp[1, 1] + logp[2, 1] - 1e-12)
        dx = 0.5 * (logp[1, 0] - logp[1, 2]) / (logp[1, 0] - 2 * logp[1, 1] + logp[1, 2] - 1e-12)
        return y + float(np.clip(dy, -0.5, 0.5)) - cy, x + float(np.clip(dx, -0.5, 0.5)) - cx

    fy, fx = refine(py, px)
    # refine on a higher harmonic (relative bin error shrinks by the harmonic number)
    k = max(1, int(r_max / 2 // max(np.hypot(fy, fx), 1e-9)))
    if k > 1:
        hy, hx = round(cy + k * fy), round(cx + k * fx)
        y0, y1, x0, x1 = hy - 2, hy + 3, hx - 2, hx + 3
        if y0 >= 1 and y1 < n - 1 and x0 >= 1 and x1 < n - 1:
            sub = spec[y0:y1, x0:x1]
            oy, ox = np.unravel_index(int(np.argmax(sub)), sub.shape)
            if spec[y0 + oy, x0 + ox] > 4 * float(np.median(spec[band])):
                gy, gx = refine(y0 + oy, x0 + ox)
                fy, fx = gy / k, gx / k
    period_px = n / float(np.hypot(fy, fx))
    repeat = _profile_autocorrelation(gray, period_px, fy, fx)
    if repeat < MIN_RULER_REPEAT:
        # A scalp photo has a spectral peak too (parallel hairs), but its profile does not repeat line by line.
        raise InputError.invalid(
            "ruler image",
            f"repeat {repeat:.2f} at the strongest period ({period_px:.0f} px)",
            f"a ruler or grid whose lines repeat evenly (profile autocorrelation >= {MIN_RULER_REPEAT})",
        )
    return Calibration(_check_um_per_px(pitch_um / period_px), "ruler")


#: Smallest autocorrelation, at one period, of the image's profile across the ruler lines. Synthetic rulers
#: and grids with noise score 0.94-1.00 and synthetic scalp photos -0.07 to 0.24 (measured on
#: ``regrow.measure.synthesize`` seeds 0-5 and the rulers of the calibration tests); 0.5 sits between.
MIN_RULER_REPEAT = 0.5


def _profile_autocorrelation(gray: np.ndarray, period_px: float, fy: float, fx: float) -> float:
    """Autocorrelation at a lag of one period of the mean grey level along the pattern's direction."""
    h, w = gray.shape
    norm = float(np.hypot(fy, fx))
    yy, xx = np.mgrid[0:h, 0:w]
    u = xx * (fx / norm) + yy * (fy / norm)
    bins = np.round(u - u.min()).astype(int).ravel()
    sums = np.bincount(bins, gray.ravel())
    counts = np.bincount(bins)
    keep = counts > max(3, 0.2 * counts.max())  # the ends of a tilted frame are a few pixels: too noisy
    profile = sums[keep] / counts[keep]
    profile = profile - profile.mean()
    lag = round(period_px)
    if lag < 1 or lag >= profile.size // 2:
        return 0.0
    a, b = profile[:-lag], profile[lag:]
    denom = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    return 0.0 if denom == 0 else float(np.dot(a, b) / denom)
