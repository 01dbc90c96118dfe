"""The codes, units and URLs of regrow's FHIR bundles (one table: the exporter, the importer and docs/fhir.md
read the same names).

No LOINC or SNOMED CT code for a trichoscopic hair density, hair-shaft diameter or terminal/vellus count could
be verified (searched 2026-12: the LOINC observation-codes value set and SNOMED CT browsers list none), so
regrow defines its own code systems under :data:`BASE_URL`. Units are UCUM (``http://unitsofmeasure.org``)
case-sensitive codes; counts use the UCUM annotation ``{hairs}``.
"""

from __future__ import annotations

from typing import Any

from regrow.journal import (
    COUNT_PRECEDENCE,
    DEVICE_KINDS,
    DOSE_KINDS,
    ENDPOINTS,
    GRADE_SCALES,
    SCREENING_QUESTIONS,
)

__all__ = [
    "BASE_URL",
    "BUNDLE_ID_SYSTEM",
    "CODED_COLUMNS",
    "CODE_SYSTEMS",
    "COLUMN_UNITS",
    "COMPONENT_CODES",
    "DERIVED_FILE_URL",
    "FHIR_VERSION",
    "FHIR_VERSION_SYSTEM",
    "JOURNAL_ROW_URL",
    "MEDIA_SUFFIXES",
    "PATIENT_KEY_SYSTEM",
    "SHA256_SYSTEM",
    "UCUM",
    "code_system",
    "coding",
]

#: Namespace of every regrow code system, extension and identifier system. ``.invalid`` is reserved
#: (RFC 2606), so the URLs can never collide with someone else's; they are names, not web pages.
BASE_URL = "https://regrow.invalid/fhir"
#: The FHIR release the bundles follow: fhir.resources 8 ships R5 (default), R4B and STU3 but no R4 4.0.1
#: package, so bundles are R4B (4.3.0), which keeps ``Media`` and is R4-compatible for the resources used.
FHIR_VERSION = "4.3.0"
#: Bundle.meta.tag system naming the FHIR version (the FHIRVersion code system of the specification).
FHIR_VERSION_SYSTEM = "http://hl7.org/fhir/FHIR-version"
UCUM = "http://unitsofmeasure.org"

JOURNAL_ROW_URL = f"{BASE_URL}/StructureDefinition/journal-row"
DERIVED_FILE_URL = f"{BASE_URL}/StructureDefinition/photo-derived-file"
BUNDLE_ID_SYSTEM = f"{BASE_URL}/bundle-id"
PATIENT_KEY_SYSTEM = f"{BASE_URL}/patient-key"
SHA256_SYSTEM = f"{BASE_URL}/sha256"

#: Photo content types and the suffix the photo folder stores each under.
MEDIA_SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/tiff": ".tif", "image/webp": ".webp"}

#: regrow code systems: name -> {code: display}. ``CodeSystem/<name>`` under :data:`BASE_URL`.
CODE_SYSTEMS: dict[str, dict[str, str]] = {
    "resource-kind": {
        "trichoscopy": "Trichoscopic hair measurement at one scalp site (panel of components)",
        "micro-needling": "Micro-needling session of the scalp",
        "device-disinfection": "Disinfection of a micro-needling device",
        "rule-acknowledgement": "Acknowledgement of a 'stop' safety finding, with a reason",
        "note": "Free-text journal note",
        "hair-correction": "Correction of one hair detection on a photo (added or removed)",
    },
    "measurement": {
        "hair-count": "Hair count in the measured area (the count in use)",
        "hair-density": "Hair density: hairs per square centimetre",
        "hair-diameter-mean": "Mean hair-shaft diameter",
        "terminal-count": "Terminal hair count",
        "vellus-count": "Vellus hair count",
        "area": "Measured scalp area",
        "automatic-count": "Hair count by the automatic detector",
        "manual-count": "Hair count typed by a person for the image",
        "corrected-count": "Hair count after a person's corrections of the detections",
        "count-se": "Standard error of the hair count",
    },
    "device-property": {
        "needle-length": "Needle length",
        "needle-count": "Number of needles",
    },
    "screening": {q: f"Screening question: {q.replace('_', ' ')}" for q in SCREENING_QUESTIONS},
    "device-kind": {k: k for k in DEVICE_KINDS},
    "diagnosis": {
        "AGA": "Androgenetic alopecia",
        "FPHL": "Female pattern hair loss",
        "alopecia_areata": "Alopecia areata",
        "other": "Other hair loss",
    },
    "grade-scale": {g: g.replace("_", "-") for g in GRADE_SCALES},
    "endpoint": {e: e.replace("_", " ") for e in ENDPOINTS},
    "dose-kind": {k: k for k in DOSE_KINDS},
    "measurement-source": {"manual": "Counted by hand", "image": "Measured from an image"},
    "count-source": {c: f"{c} count" for c in COUNT_PRECEDENCE},
    "review-status": {
        "flagged": "Unusual value, not used until accepted",
        "accepted": "Accepted by a person",
    },
    "correction-action": {"add": "Missed hair added", "remove": "False detection removed"},
}

#: Measurement columns written as Observation.component: column -> (code, UCUM unit).
COMPONENT_CODES: dict[str, tuple[str, str]] = {
    "hair_count": ("hair-count", "{hairs}"),
    "density_per_cm2": ("hair-density", "/cm2"),
    "diameter_um": ("hair-diameter-mean", "um"),
    "terminal_count": ("terminal-count", "{hairs}"),
    "vellus_count": ("vellus-count", "{hairs}"),
    "area_cm2": ("area", "cm2"),
    "automatic_count": ("automatic-count", "{hairs}"),
    "manual_count": ("manual-count", "{hairs}"),
    "corrected_count": ("corrected-count", "{hairs}"),
    "count_se": ("count-se", "{hairs}"),
}

#: Columns written as a UCUM Quantity inside the journal-row extension: column -> UCUM unit.
COLUMN_UNITS: dict[str, str] = {
    "needle_length_mm": "mm",
    "area_cm2": "cm2",
    "um_per_px": "um/{px}",
    "minoxidil_strength_pct": "%",
    "minoxidil_hold_hours": "h",
    "loading_interval_days": "d",
    "maintenance_interval_days": "d",
    "prp_interval_days": "d",
    "length_weeks": "wk",
    "photo_interval_weeks": "wk",
    "prp_maintenance_months": "mo",
    "x_px": "{px}",
    "y_px": "{px}",
}

#: Columns written as a Coding of a regrow code system: (table, column) -> code system name.
CODED_COLUMNS: dict[tuple[str, str], str] = {
    ("treatment_session", "endpoint"): "endpoint",
    ("measurement", "count_source"): "count-source",
    ("measurement", "review_status"): "review-status",
    ("hair_correction", "action"): "correction-action",
}


def code_system(name: str) -> str:
    """The URL of regrow code system ``name`` (``<BASE_URL>/CodeSystem/<name>``)."""
    return f"{BASE_URL}/CodeSystem/{name}"


def coding(name: str, code: str) -> dict[str, Any]:
    """A Coding of regrow code system ``name`` with its display."""
    return {"system": code_system(name), "code": code, "display": CODE_SYSTEMS[name][code]}
