"""Inputs and results of the progress model: plain frozen dataclasses that export to dicts."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from regrow.errors import InputError

__all__ = [
    "COUNT_SOURCES",
    "REVIEW_STATUSES",
    "Caveat",
    "CountedLess",
    "ExcludedMeasurement",
    "ExpectedResponse",
    "Interval",
    "Observation",
    "ProgressReport",
    "SiteProgress",
    "TreatmentContext",
    "Verdict",
    "VisitChange",
]


#: Where a count comes from (the journal's precedence: corrected > manual > automatic).
COUNT_SOURCES = ("corrected", "manual", "automatic")
#: Review states of a measurement: ``flagged`` values wait for the person and are not analysed.
REVIEW_STATUSES = ("flagged", "accepted")


class Verdict(StrEnum):
    """The answer to "is it working for me?" for one site or overall."""

    TOO_EARLY = "too_early"
    RESPONDING = "responding"
    NOT_RESPONDING = "not_responding"
    INCONCLUSIVE = "inconclusive"
    DECLINING = "declining"


@dataclass(frozen=True)
class Observation:
    """One measurement of one scalp image (or one hand count) at one site on one day.

    Attributes
    ----------
    measured_on : datetime.date
        Day of the visit; several observations on one day and site are replicate images.
    site : str
        Scalp site name (``"vertex"``, ``"left"``, ...), matched after stripping blanks, case-insensitively.
    density_per_cm2 : float
        Hairs per cm2 (``count / area_cm2`` when those are given).
    count : int, optional
        Hairs counted, when known.
    area_cm2 : float, optional
        Counted area in cm2, when known (sets a Poisson floor on the noise prior).
    diameter_um : float, optional
        Mean shaft diameter in micrometres.
    quality_flags : tuple of str
        Image-quality problems reported by the measurement (empty when fine).
    device : str, optional
        Camera or device identity; a change between visits is flagged.
    um_per_px : float, optional
        Calibration of the image; a change between visits is flagged.
    count_se : float, optional
        Standard error of ``count`` (hairs) from the automatic counter; it makes the image count for less
        (see :func:`regrow.progress.analyse_progress`). Ignored when ``count_source`` is ``"manual"`` or
        ``"corrected"``: a count typed or corrected by hand replaces the detector's, and its uncertainty.
    count_source : {"automatic", "manual", "corrected"}, optional
        Where ``count`` comes from (the journal keeps one count per photo by that precedence).
    review_status : {"flagged", "accepted"}, optional
        ``"flagged"``: a possible but unusual value waiting for the person's review; it is listed in the
        report's ``excluded`` and not analysed until accepted.
    review_reason : str, optional
        Why it was flagged, in plain words.
    measurement_id, photo_id : int, optional
        The journal rows this observation comes from (to name it in the report; one count per photo).
    """

    measured_on: dt.date
    site: str
    density_per_cm2: float
    count: int | None = None
    area_cm2: float | None = None
    diameter_um: float | None = None
    quality_flags: tuple[str, ...] = ()
    device: str | None = None
    um_per_px: float | None = None
    count_se: float | None = None
    count_source: str | None = None
    review_status: str | None = None
    review_reason: str | None = None
    measurement_id: int | None = None
    photo_id: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.measured_on, dt.date):
            raise InputError.invalid("measured_on", self.measured_on, "a date (YYYY-MM-DD)")
        if not str(self.site).strip():
            raise InputError.invalid("site", self.site, "a non-empty site name")
        d = self.density_per_cm2
        if not isinstance(d, int | float) or not math.isfinite(d) or d < 0:
            raise InputError.invalid("density_per_cm2", d, "a finite number >= 0 hairs/cm2")
        if self.area_cm2 is not None and not (math.isfinite(self.area_cm2) and self.area_cm2 > 0):
            raise InputError.invalid("area_cm2", self.area_cm2, "a number > 0 cm2")
        if self.count is not None and self.count < 0:
            raise InputError.invalid("count", self.count, "an integer >= 0")
        if self.diameter_um is not None and not (math.isfinite(self.diameter_um) and self.diameter_um > 0):
            raise InputError.invalid("diameter_um", self.diameter_um, "a number > 0 um")
        se = self.count_se
        if se is not None and (not isinstance(se, int | float) or not math.isfinite(se) or se < 0):
            raise InputError.invalid("count_se", se, "a finite number >= 0 hairs")
        if self.count_source not in (None, *COUNT_SOURCES):
            raise InputError.invalid(
                "count_source", self.count_source, ", ".join(COUNT_SOURCES) + " or unset"
            )
        if self.review_status not in (None, *REVIEW_STATUSES):
            raise InputError.invalid(
                "review_status", self.review_status, ", ".join(REVIEW_STATUSES) + " or unset"
            )

    @property
    def flagged(self) -> bool:
        """Waiting for the person's review (not analysed)."""
        return self.review_status == "flagged"

    @property
    def density_se_per_cm2(self) -> float | None:
        """Standard error of the density from the automatic counter's ``count_se`` (``None``: not known, or
        the count was typed or corrected by hand)."""
        if self.count_se is None or self.count_source in ("manual", "corrected"):
            return None
        if self.area_cm2:
            return self.count_se / self.area_cm2
        if self.count:
            return self.count_se * self.density_per_cm2 / self.count
        return None

    @classmethod
    def from_count(
        cls, measured_on: dt.date, site: str, count: int, area_cm2: float, **kw: Any
    ) -> Observation:
        """Build an observation from a hair count in a known area."""
        if not isinstance(count, int) or count < 0:
            raise InputError.invalid("count", count, "an integer >= 0")
        if not isinstance(area_cm2, int | float) or not math.isfinite(area_cm2) or area_cm2 <= 0:
            raise InputError.invalid("area_cm2", area_cm2, "a number > 0 cm2")
        return cls(measured_on, site, count / area_cm2, count=count, area_cm2=float(area_cm2), **kw)


@dataclass(frozen=True)
class TreatmentContext:
    """What the journal knows about the treatment, used for the start date and the caveats.

    Attributes
    ----------
    start : datetime.date, optional
        Treatment start; visits on or before it (plus a grace week) are the baseline.
    minoxidil_start : datetime.date, optional
        When minoxidil was started (flags the 2-8 week shedding window).
    adherence : float, optional
        Share of planned sessions done, in [0, 1].
    last_session : datetime.date, optional
        Date of the most recent micro-needling session (flags a stop in treatment).
    sex : str, optional
        ``"male"`` or ``"female"``; picks the placebo arm to compare with (men's when unknown).
    hemisphere : str
        ``"north"`` (default) or ``"south"``, for the autumn-shedding months.
    """

    start: dt.date | None = None
    minoxidil_start: dt.date | None = None
    adherence: float | None = None
    last_session: dt.date | None = None
    sex: str | None = None
    hemisphere: str = "north"

    def __post_init__(self) -> None:
        if self.adherence is not None and not (0.0 <= self.adherence <= 1.0):
            raise InputError.invalid("adherence", self.adherence, "a fraction in [0, 1]")
        if self.sex not in (None, "male", "female"):
            raise InputError.invalid("sex", self.sex, "'male', 'female' or unset")
        if self.hemisphere not in ("north", "south"):
            raise InputError.invalid("hemisphere", self.hemisphere, "'north' or 'south'")


@dataclass(frozen=True)
class ExpectedResponse:
    """The trial-expected change in density for this treatment (from the evidence review).

    Attributes
    ----------
    change_per_cm2, ci_lb, ci_ub : float
        Expected change from baseline (hairs/cm2) and its 95% interval.
    weeks : float
        Time point of the expectation.
    source : str
        Where it comes from (analysis, trials, certainty).
    """

    change_per_cm2: float
    ci_lb: float
    ci_ub: float
    weeks: float
    source: str


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95% interval; ``None`` fields mean "cannot be estimated honestly"."""

    estimate: float | None
    ci_lb: float | None
    ci_ub: float | None

    @classmethod
    def empty(cls) -> Interval:
        return cls(None, None, None)


@dataclass(frozen=True)
class Caveat:
    """A reason to read a result with care: a stable ``code`` and a plain-words ``message``."""

    code: str
    message: str


@dataclass(frozen=True)
class ExcludedMeasurement:
    """A measurement the analysis did not use, and why.

    Attributes
    ----------
    measured_on : datetime.date
    site : str
    code : str
        ``"flagged"`` (waiting for the person's review) or ``"same_photo"`` (another measurement of the same
        photo is the one count used).
    message : str
        Plain words, e.g. ``"2025-03-01 vertex, density dropped 63% since the last visit: waiting for your
        review"``.
    measurement_id : int, optional
    """

    measured_on: dt.date
    site: str
    code: str
    message: str
    measurement_id: int | None = None


@dataclass(frozen=True)
class CountedLess:
    """An image that counted for less than the site's best image in the trend, and why.

    Attributes
    ----------
    measured_on : datetime.date
    site : str
    weight : float
        Its weight relative to the site's most certain image (1 = full weight).
    count, count_se : float, optional
        The count and its standard error (hairs).
    message : str
        Plain words.
    measurement_id : int, optional
    """

    measured_on: dt.date
    site: str
    weight: float
    count: int | None
    count_se: float | None
    message: str
    measurement_id: int | None = None


@dataclass(frozen=True)
class VisitChange:
    """One visit of one site: what was measured and the model's change from baseline at that date."""

    measured_on: dt.date
    weeks_since_start: float
    n_images: int
    mean_density_per_cm2: float
    change_per_cm2: Interval
    change_pct: Interval
    baseline: bool
    in_fit: bool


@dataclass(frozen=True)
class SiteProgress:
    """The progress of one site (or ``"overall"``)."""

    site: str
    verdict: Verdict
    reason: str
    weeks_since_start: float | None
    n_visits: int
    n_images: int
    baseline_per_cm2: Interval
    change_per_cm2: Interval
    change_pct: Interval
    prob_improved: float | None
    prob_any_improvement: float | None
    prob_visible_improvement: float | None
    mdc95_per_cm2: float | None
    diameter_change_um: Interval
    natural_history: dict[str, Any] | None
    expected: dict[str, Any] | None
    caveats: tuple[Caveat, ...]
    visits: tuple[VisitChange, ...] = ()
    trajectory: dict[str, list[float]] | None = field(default=None, repr=False)
    #: Whether this site has enough data to count towards the overall verdict (a baseline before the start,
    #: at least 3 visits over 12 weeks or more, and an estimable trend); see ``VERDICT_RULE``.
    enough_data: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON-ready dict (dates as ISO strings, verdict as its value)."""
        out = asdict(self)
        out["verdict"] = self.verdict.value
        for v in out["visits"]:
            v["measured_on"] = v["measured_on"].isoformat()
        out.pop("trajectory", None)
        return out


@dataclass(frozen=True)
class ProgressReport:
    """The whole answer: overall plus per site, and what it assumed."""

    overall: SiteProgress
    sites: tuple[SiteProgress, ...]
    start: dt.date | None
    caveats: tuple[Caveat, ...]
    #: How the overall verdict follows from the site verdicts (:data:`regrow.progress.VERDICT_RULE`).
    verdict_rule: str = ""
    #: Measurements left out (flagged for review, or a second count of one photo).
    excluded: tuple[ExcludedMeasurement, ...] = ()
    #: Images that counted for less because their automatic count is uncertain.
    counted_less: tuple[CountedLess, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: the overall keys at top level, then ``sites``, ``verdict_rule``,
        ``excluded`` and ``counted_less``."""
        top = self.overall.to_dict()
        top.pop("visits", None)
        top["caveats"] = [asdict(c) for c in self.caveats]
        top["start"] = self.start.isoformat() if self.start else None
        top["sites"] = [s.to_dict() for s in self.sites]
        top["verdict_rule"] = self.verdict_rule
        top["excluded"] = [{**asdict(e), "measured_on": e.measured_on.isoformat()} for e in self.excluded]
        top["counted_less"] = [
            {**asdict(c), "measured_on": c.measured_on.isoformat()} for c in self.counted_less
        ]
        return top
