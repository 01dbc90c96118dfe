"""Hair measurement from trichoscopy images: counts, density, diameters, terminal/vellus, follicular units.

Public API (stable; used by the journal and web layers)::

    measure_image(path_or_array, *, um_per_px=None, device=None, method="classical"|"learned",
                  model=None) -> Measurement   (.to_dict(); .count_se, .count_interval, .low_confidence)
                  (default "classical"; a ``model`` implies "learned")
    load_model(path=None) -> HairModel   (checks a model file; ModelFileError on a bad one)
    synthesize_scalp(seed, ...) -> SyntheticScalp (generator v2: realistic scenes, exact truth per hair)
    scan_labelled_folder(dir) -> VocScan; split_by_patient(items); patient_of(name)
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
from ._detector import BUNDLED_MODEL, HairModel, ModelFileError, load_model
from ._evaluate import (
    Evaluation,
    agreement_plot,
    evaluate_counts,
    evaluate_directory,
    match_points,
    read_voc_boxes,
)
from ._loading import DEFAULT_MAX_PIXELS, clean_image_bytes, load_image_safely, strip_metadata
from ._measure import DEFAULT_METHOD, METHODS, VELLUS_THRESHOLD_UM, measure_image
from ._render import render_overlay
from ._result import Hair, Measurement
from ._synthetic import SyntheticHair, SyntheticImage, synthesize
from ._synthetic_v2 import ScalpHair, SyntheticScalp, contact_sheet, synthesize_scalp
from ._voc import LabelledImage, VocScan, patient_of, scan_labelled_folder, split_by_patient

__all__ = [
    "BUNDLED_MODEL",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_METHOD",
    "METHODS",
    "VELLUS_THRESHOLD_UM",
    "BatchItem",
    "Calibration",
    "DetectorSettings",
    "DeviceProfile",
    "Evaluation",
    "Hair",
    "HairModel",
    "LabelledImage",
    "Measurement",
    "ModelFileError",
    "ScalpHair",
    "SyntheticHair",
    "SyntheticImage",
    "SyntheticScalp",
    "VocScan",
    "agreement_plot",
    "calibrate_from_ruler",
    "clean_image_bytes",
    "contact_sheet",
    "device_profiles",
    "evaluate_counts",
    "evaluate_directory",
    "load_image_safely",
    "load_model",
    "match_points",
    "measure_batch",
    "measure_image",
    "patient_of",
    "read_voc_boxes",
    "render_overlay",
    "resolve_calibration",
    "scan_labelled_folder",
    "split_by_patient",
    "strip_metadata",
    "synthesize",
    "synthesize_scalp",
    "write_csv",
]
