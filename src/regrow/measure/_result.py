"""Result types of a hair measurement."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Hair", "Measurement"]


@dataclass(frozen=True)
class Hair:
    """One detected hair.

    Attributes
    ----------
    exit_x_px, exit_y_px : float
        Where the shaft leaves the skin (full-resolution pixel coordinates, x right, y down).
    tip_x_px, tip_y_px : float
        The visible far end of the shaft.
    length_um : float
        Visible length in the frame.
    diameter_um : float or None
        Shaft diameter (full width at half maximum, median along the shaft); None when no clean
        cross-section was found (the shaft runs into a neighbour or the frame edge everywhere).
    unit : int
        Follicular-unit index (hairs sharing an exit point share a unit).
    counted : bool
        False for hairs cut by the frame edge or an overlay with too little visible shaft (default rule;
        see ``DetectorSettings.count_edge_rule``): shown, not counted.
    terminal : bool or None
        diameter_um above the vellus threshold; None without a diameter.
    confidence : float or None
        Learned method: calibrated probability that this is a hair (None for the classical method).
    """

    exit_x_px: float
    exit_y_px: float
    tip_x_px: float
    tip_y_px: float
    length_um: float
    diameter_um: float | None
    unit: int
    counted: bool
    terminal: bool | None
    confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Measurement:
    """Hair measurement of one image (see :func:`regrow.measure.measure_image`).

    ``to_dict()`` gives the JSON shape printed by ``regrow measure --json``.

    Count uncertainty (learned method): ``count_se`` is the standard error of ``hair_count`` in hairs and
    ``count_interval`` its approximate 95 % interval; ``low_confidence`` is True when the image should count
    for less (``confidence_reasons`` says why, in plain words). The classical method has no per-image
    uncertainty model: ``count_se`` and ``count_interval`` are None there.
    """

    image: str
    width_px: int
    height_px: int
    um_per_px: float
    calibration: dict[str, Any]
    area_cm2: float
    hair_count: int
    density_per_cm2: float
    diameter_um: dict[str, float | None]
    terminal_count: int
    vellus_count: int
    unknown_diameter_count: int
    terminal_vellus_ratio: float | None
    vellus_threshold_um: float
    follicular_units: dict[str, int]
    unit_count: int
    mean_hairs_per_unit: float | None
    cumulative_thickness_mm: float
    cumulative_thickness_mm_per_cm2: float
    quality_flags: list[str]
    seconds: float
    hairs: list[Hair] = field(default_factory=list)
    method: str = "classical"
    model: str | None = None
    count_se: float | None = None
    count_interval: list[float] | None = None
    low_confidence: bool = False
    confidence_reasons: list[str] = field(default_factory=list)

    def to_dict(self, *, include_hairs: bool = True) -> dict[str, Any]:
        """Plain JSON-ready dict; ``hairs`` is a list of per-hair dicts unless ``include_hairs`` is False."""
        out = {k: v for k, v in asdict(self).items() if k != "hairs"}
        if include_hairs:
            out["hairs"] = [h.to_dict() for h in self.hairs]
        return out

    def csv_row(self) -> dict[str, Any]:
        """One flat row for the batch CSV (no per-hair data)."""
        row = {k: v for k, v in self.to_dict(include_hairs=False).items() if not isinstance(v, dict | list)}
        for k, v in self.diameter_um.items():
            row[f"diameter_um_{k}"] = v
        for k, v in self.follicular_units.items():
            row[f"units_{k}_hair"] = v
        row["calibration_method"] = self.calibration.get("method")
        row["device"] = self.calibration.get("device")
        row["quality_flags"] = ";".join(self.quality_flags)
        row["confidence_reasons"] = "; ".join(self.confidence_reasons)
        if self.count_interval is not None:
            row["count_interval_low"], row["count_interval_high"] = self.count_interval
        return row
