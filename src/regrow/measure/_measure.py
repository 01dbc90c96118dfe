"""``measure_image``: calibration + detection + units + diameters + quality flags -> Measurement."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from regrow.errors import InputError

from ._calibration import Calibration, resolve_calibration
from ._detect import DetectorSettings, detect_hairs, overlay_mask
from ._detector import HairModel, load_model
from ._learned import confidence_reasons, learned_hairs, sharpness
from ._loading import DEFAULT_MAX_PIXELS, as_rgb_array, load_image_safely
from ._result import Hair, Measurement
from ._units import FU_LINK_DISTANCE_UM, group_units, unit_histogram

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "MIN_RELIABLE_HAIRS",
    "UNCLIPPED_LENGTH_UM",
    "VELLUS_THRESHOLD_UM",
    "measure_image",
    "quality_flags",
]

#: Counting methods: "learned" (the detector network run by onnxruntime) and "classical" (the image-processing
#: pipeline of ``_detect``). The learned method may become the default only when the bundled (synthetic-only)
#: model beats the classical one on the held-out fdu-dev patients in the same benchmark run
#: (benchmarks/bench_measure.py); it does not yet (docs/measure.md, "How well it works"), so the default
#: stays classical.
METHODS = ("learned", "classical")
DEFAULT_METHOD = "classical"
#: Default terminal/vellus cut-off: a hair with a shaft diameter at or below this is counted as vellus.
#: TrichoScan's convention (Hoffmann, Eur J Dermatol 2001;11:362; as recorded in
#: research/hair-imaging-notes.md section 1.1, marked there "memory - verify"); 30 um is the other common
#: cut-off (same note, section 3). Image-based diameters run high (+40 % vs caliper, Folliscope study,
#: note section 1.3), so keep the threshold configurable.
VELLUS_THRESHOLD_UM = 40.0
#: Fewer counted hairs than this make the density unreliable: the Poisson counting error alone is
#: 1/sqrt(n) (> 32 % below 10 hairs).
MIN_RELIABLE_HAIRS = 10
#: Visible shafts longer than this mean the site was not clipped (clipped stubs are ~0.3-1 mm; the
#: trichogram protocols clip to about 0.5-1 mm, note section 1.1).
UNCLIPPED_LENGTH_UM = 2000.0
#: Sharpness (99.9th percentile of the gradient over the 0.5-99.5 % grey range, at the working scale) below
#: this means the image is blurred: a step edge blurred by a Gaussian of sigma s pixels scores about
#: 1/(s sqrt(2 pi)), so 0.08 is an edge spread of about 5 working pixels (27 um). Heuristic, not clinical.
MIN_SHARPNESS = 0.08


def quality_flags(
    rgb: np.ndarray,
    hairs: list[Hair],
    um_per_px: float,
    *,
    scale: float,
    overlay: np.ndarray | None = None,
    contrast_scale: float = 1.0,
) -> list[str]:
    """Quality flags of one image (sorted names; empty when nothing is wrong).

    ``blurred``, ``underexposed``, ``overexposed``, ``overlay_burned_in``, ``hair_not_clipped``,
    ``too_few_hairs``, ``low_contrast_hair`` (classical: thresholds lowered for light/grey hair),
    ``coarse_resolution`` (pixels over 10 um at the classical working scale: vellus hairs are under two pixels wide).
    ``scale`` is the classical detector's working scale (working px per image px; both methods use it, so
    the flags do not depend on the method), ``overlay`` an overlay mask at that scale.
    """
    flags = set()
    h, w = rgb.shape[:2]
    small = (
        cv2.resize(rgb, (max(16, round(w * scale)), max(16, round(h * scale))), interpolation=cv2.INTER_AREA)
        if scale < 1.0
        else rgb
    )
    if sharpness(small) < MIN_SHARPNESS:
        flags.add("blurred")
    v = small.max(axis=2)
    if float(np.median(v)) < 60:
        flags.add("underexposed")
    if float((v >= 250).mean()) > 0.05:
        flags.add("overexposed")
    if overlay is None:
        overlay = overlay_mask(small)
    if overlay.any():
        flags.add("overlay_burned_in")
    else:
        r, g, b = (small[..., i].astype(np.int16) for i in range(3))
        strokes = ((r - np.maximum(g, b)) > 70) | (((b - r) > 90) & (b > 150))
        if float(strokes.mean()) > 1e-4:
            flags.add("overlay_burned_in")
    if hairs and sum(h.length_um > UNCLIPPED_LENGTH_UM for h in hairs) >= max(1, 0.3 * len(hairs)):
        flags.add("hair_not_clipped")
    if sum(h.counted for h in hairs) < MIN_RELIABLE_HAIRS:
        flags.add("too_few_hairs")
    if contrast_scale < 1.0:
        flags.add("low_contrast_hair")
    if um_per_px / scale > 10.0:
        flags.add("coarse_resolution")
    return sorted(flags)


def _q(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def measure_image(
    image: str | os.PathLike[str] | np.ndarray,
    *,
    um_per_px: float | None = None,
    device: str | None = None,
    calibration: Calibration | None = None,
    method: str | None = None,
    model: str | os.PathLike[str] | HairModel | None = None,
    threshold: float | None = None,
    vellus_threshold_um: float = VELLUS_THRESHOLD_UM,
    unit_link_um: float = FU_LINK_DISTANCE_UM,
    settings: DetectorSettings | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    name: str | None = None,
) -> Measurement:
    """Count hairs and measure density, diameters, terminal/vellus and follicular units in one image.

    Parameters
    ----------
    image : path-like or numpy.ndarray
        A file (read with :func:`load_image_safely`) or an (H, W[, 3]) array (RGB).
    um_per_px : float, optional
        Micrometres per pixel. Exactly one of ``um_per_px``, ``device`` or ``calibration``.
    device : str, optional
        A device profile name (see ``devices.yaml``).
    calibration : Calibration, optional
        A ready calibration, e.g. from :func:`calibrate_from_ruler`.
    method : {"learned", "classical"}, optional
        Default :data:`DEFAULT_METHOD` ("classical"). "learned" runs a hair-detector model through
        onnxruntime; "classical" the image-processing pipeline. Passing ``model`` implies "learned".
    model : path-like or HairModel, optional
        Learned method only: a model file (e.g. from ``regrow measure train``); default the bundled
        synthetic-only model. A bad file raises :class:`ModelFileError`; the classical method is never
        substituted.
    threshold : float, optional
        Learned method only: score threshold in (0, 1) instead of the model's own.
    vellus_threshold_um : float
        Hairs with diameter at or below this are vellus (default :data:`VELLUS_THRESHOLD_UM`).
    unit_link_um : float
        Exit points closer than this form one follicular unit.
    settings : DetectorSettings, optional
        Classical method only: detector settings.
    max_pixels : int
        Largest image accepted (decompression-bomb guard).
    name : str, optional
        Name reported as ``image`` (default: the path, or ``"<array>"``).

    Returns
    -------
    Measurement
        Counts use only hairs marked ``Hair.counted``; the learned method adds ``count_se``,
        ``count_interval``, ``low_confidence`` and ``confidence_reasons``, and ``Hair.confidence``.

    Raises
    ------
    ImageError
        The file cannot be read safely.
    ModelFileError
        The model file is missing, corrupt or incompatible.
    InputError
        Bad calibration, method or settings.
    """
    t0 = time.perf_counter()
    if method is None:
        method = "learned" if model is not None else DEFAULT_METHOD
    if method not in METHODS:
        raise InputError.invalid("method", method, "'learned' or 'classical'")
    if method == "classical" and (model is not None or threshold is not None):
        raise InputError.invalid("model/threshold", model or threshold, "used only with method 'learned'")
    if method == "learned" and settings is not None:
        raise InputError.invalid("settings", settings, "used only with method 'classical'")
    if threshold is not None and not (np.isfinite(threshold) and 0 < threshold < 1):
        raise InputError.invalid("threshold", threshold, "a number in (0, 1)")
    if calibration is None:
        calibration = resolve_calibration(um_per_px=um_per_px, device=device)
    elif um_per_px is not None or device is not None:
        raise InputError.invalid("calibration", "calibration plus um_per_px/device", "only one of them")
    if not (np.isfinite(vellus_threshold_um) and 0 < vellus_threshold_um < 500):
        raise InputError.invalid("vellus_threshold_um", vellus_threshold_um, "a number in (0, 500) um")
    if not (np.isfinite(unit_link_um) and 0 < unit_link_um <= 5000):
        raise InputError.invalid("unit_link_um", unit_link_um, "a number in (0, 5000] um")
    hair_model = None
    if method == "learned":
        hair_model = model if isinstance(model, HairModel) else load_model(model)
    if isinstance(image, np.ndarray):
        rgb = as_rgb_array(image)
        label = name or "<array>"
    else:
        rgb = load_image_safely(image, max_pixels=max_pixels)
        label = name or str(Path(image))
    upp = calibration.um_per_px
    flag_scale = min(1.0, upp / DetectorSettings().work_um_per_px)
    count_se = None
    if hair_model is not None:
        raw, count_se, _ = learned_hairs(
            rgb, upp, hair_model, threshold=threshold, vellus_threshold_um=vellus_threshold_um
        )
        components = np.arange(len(raw))
        flags_kw: dict = {"scale": flag_scale}
    else:
        det = detect_hairs(rgb, upp, settings)
        raw = [
            Hair(
                exit_x_px=r.exit_xy[0],
                exit_y_px=r.exit_xy[1],
                tip_x_px=r.tip_xy[0],
                tip_y_px=r.tip_xy[1],
                length_um=r.length_px * upp,
                diameter_um=None if r.diameter_px is None else r.diameter_px * upp,
                unit=0,
                counted=r.counted,
                terminal=None if r.diameter_px is None else bool(r.diameter_px * upp > vellus_threshold_um),
            )
            for r in det.hairs
        ]
        components = np.array([r.component for r in det.hairs], int)
        flags_kw = {"scale": det.scale, "overlay": det.overlay, "contrast_scale": det.contrast_scale}
    exit_um = np.array([[h.exit_x_px, h.exit_y_px] for h in raw], float).reshape(-1, 2) * upp
    units = group_units(exit_um, components, link_distance_um=unit_link_um)
    hairs = [replace(h, unit=int(u)) for h, u in zip(raw, units, strict=True)]
    counted = [h for h in hairs if h.counted]
    h, w = rgb.shape[:2]
    area_cm2 = (h * upp) * (w * upp) * 1e-8
    diam = [h.diameter_um for h in counted if h.diameter_um is not None]
    terminal = sum(1 for h in counted if h.terminal is True)
    vellus = sum(1 for h in counted if h.terminal is False)
    counted_units = np.array([h.unit for h in counted], int)
    hist = unit_histogram(counted_units)
    n_units = len(np.unique(counted_units))
    cum_mm = float(sum(diam)) / 1000.0
    flags = quality_flags(rgb, hairs, upp, **flags_kw)
    n = len(counted)
    interval = None
    if count_se is not None:
        interval = [max(0.0, n - 1.96 * count_se), n + 1.96 * count_se]
    reasons = confidence_reasons(flags, n, count_se)
    return Measurement(
        image=label,
        width_px=int(w),
        height_px=int(h),
        um_per_px=float(upp),
        calibration=calibration.to_dict(),
        area_cm2=float(area_cm2),
        hair_count=n,
        density_per_cm2=float(n / area_cm2),
        diameter_um={
            "median": _q(diam, 50),
            "p10": _q(diam, 10),
            "p90": _q(diam, 90),
            "mean": float(np.mean(diam)) if diam else None,
        },
        terminal_count=int(terminal),
        vellus_count=int(vellus),
        unknown_diameter_count=int(n - terminal - vellus),
        terminal_vellus_ratio=(terminal / vellus) if vellus else None,
        vellus_threshold_um=float(vellus_threshold_um),
        follicular_units=hist,
        unit_count=n_units,
        mean_hairs_per_unit=(n / n_units) if n_units else None,
        cumulative_thickness_mm=cum_mm,
        cumulative_thickness_mm_per_cm2=cum_mm / area_cm2,
        quality_flags=flags,
        seconds=float(time.perf_counter() - t0),
        hairs=hairs,
        method=method,
        model=None if hair_model is None else hair_model.name,
        count_se=None if count_se is None else float(count_se),
        count_interval=interval,
        low_confidence=bool(reasons),
        confidence_reasons=reasons,
    )
