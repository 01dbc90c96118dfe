"""Hair measurement from trichoscopy images: counts, density, diameters, terminal/vellus, follicular units.

Public API (stable; used by the journal and web layers)::

    measure_image(path_or_array, *, um_per_px=None, device=None) -> Measurement   (.to_dict())
    load_image_safely(path, *, max_pixels=...) -> RGB uint8 array
    strip_metadata(src, dst) -> Path
    render_overlay(image, measurement, path=None) -> RGB uint8 array
    synthesize(...) -> SyntheticImage (image + exact ground truth)
    measure_batch(...), evaluate_directory(...), calibrate_from_ruler(...)
"""

from ._batch import BatchItem, measure_batch, write_csv
from ._calibration import (
    Calibration,
    DeviceProfile,
    calibrate_from_ruler,
    device_profiles,
    resolve_calibration,
)
from ._detect import DetectorSettings
from ._evaluate import (
    Evaluation,
    agreement_plot,
    evaluate_counts,
    evaluate_directory,
    match_points,
    read_voc_boxes,
)
from ._loading import DEFAULT_MAX_PIXELS, clean_image_bytes, load_image_safely, strip_metadata
from ._measure import VELLUS_THRESHOLD_UM, measure_image
from ._render import render_overlay
from ._result import Hair, Measurement
from ._synthetic import SyntheticHair, SyntheticImage, synthesize

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "VELLUS_THRESHOLD_UM",
    "BatchItem",
    "Calibration",
    "DetectorSettings",
    "DeviceProfile",
    "Evaluation",
    "Hair",
    "Measurement",
    "SyntheticHair",
    "SyntheticImage",
    "agreement_plot",
    "calibrate_from_ruler",
    "clean_image_bytes",
    "device_profiles",
    "evaluate_counts",
    "evaluate_directory",
    "load_image_safely",
    "match_points",
    "measure_batch",
    "measure_image",
    "read_voc_boxes",
    "render_overlay",
    "resolve_calibration",
    "strip_metadata",
    "synthesize",
    "write_csv",
]
