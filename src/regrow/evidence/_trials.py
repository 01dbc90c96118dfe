"""The bundled trial data: schema, loading and saving.

The data live in ``regrow/evidence/data/evidence.yaml`` (human-editable, versioned). A person's edits are kept
in a user copy (see :func:`user_data_path`); the installed file is never modified. Every number carries a
verification status and, where it was read, its provenance (source URL and location in that source); a number
marked ``unverified`` has no value, and none is ever filled in by guessing.

Validation lives in :mod:`regrow.evidence._trials_parse`. Its errors are :class:`regrow.errors.DataFileError`
naming the file, the study (id and 1-based entry number), the field path and the bad value, and saying what
is allowed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from regrow.errors import DataFileError, InputError

__all__ = [
    "ARM_NUMBER_FIELDS",
    "BUNDLED_NAME",
    "DESIGNS",
    "ROB2_DOMAINS",
    "ROB2_JUDGEMENTS",
    "STATUSES",
    "TREATMENTS",
    "Arm",
    "Comparison",
    "EvidenceData",
    "Number",
    "Outcome",
    "PublishedMA",
    "RiskOfBias",
    "SdDonor",
    "Study",
    "StudyArm",
    "bundled_path",
    "dump_data",
    "load_data",
    "parse_data",
    "parse_study",
    "user_data_path",
]

BUNDLED_NAME = "evidence.yaml"
SCHEMA_VERSION = 1

#: Where a number was read (see the header of evidence.yaml).
STATUSES = ("full_text", "abstract", "secondary", "derived", "registry", "user", "unverified")
DESIGNS = ("parallel", "split_scalp", "controlled", "cohort", "case_series")
RANDOMISED = ("yes", "no", "unclear")
BLINDING = ("evaluator", "participant_and_evaluator", "none", "unclear")
CONDITIONS = ("AGA", "FPHL", "AA", "other")
UNITS = (
    "hairs/cm2",
    "hairs/inch2",
    "hairs/inch_circle",
    "count_area_unknown",
    "trichoscan_units",
    "um",
    "mm",
    "percent",
    "events",
    "mixed",
)
VALUE_TYPES = ("change", "end", "proportion")
MEASURES = ("MD", "SMD", "RR", "OR")
DIRECTIONS = ("intervention_higher", "comparator_higher")
ARM_NUMBER_FIELDS = (
    "n",
    "mean",
    "sd",
    "se",
    "ci_low",
    "ci_high",
    "median",
    "q1",
    "q3",
    "minimum",
    "maximum",
    "events",
    "proportion",
    "baseline_mean",
    "baseline_sd",
    "end_mean",
    "end_sd",
)

#: The controlled list of treatments an arm may receive (the nodes of a network meta-analysis). The first
#: seven are the treatments issue #16 names; the others exist because real arms combine them (Jha 2019 arm C
#: is micro-needling + PRP + minoxidil, not micro-needling + PRP) or belong to the alopecia areata trials.
TREATMENTS: dict[str, str] = {
    "minoxidil": "minoxidil",
    "mn": "micro-needling alone",
    "mn_minoxidil": "micro-needling + minoxidil",
    "mn_prp": "micro-needling + PRP",
    "prp": "PRP",
    "mn_other_topical": "micro-needling + other topicals",
    "placebo": "placebo / no treatment",
    "mn_prp_minoxidil": "micro-needling + PRP + minoxidil",
    "prp_minoxidil": "PRP + minoxidil",
    "mn_other_topical_minoxidil": "micro-needling + other topicals + minoxidil",
    "minoxidil_spironolactone": "minoxidil + oral spironolactone",
    "minoxidil_finasteride_topical": "topical minoxidil + finasteride",
    "intralesional_corticosteroid": "intralesional corticosteroid (alopecia areata)",
    "cryotherapy": "superficial cryotherapy (alopecia areata)",
    "laser_prp": "fractional CO2 laser + topical PRP (alopecia areata)",
}

#: RoB 2 (Sterne et al. 2019, BMJ 366:l4898, doi:10.1136/bmj.l4898) domains for randomised trials, and the
#: judgements allowed. ``no_information`` is used where only an abstract could be read.
ROB2_DOMAINS = ("randomisation", "deviations", "missing_data", "measurement", "selection")
ROB2_JUDGEMENTS = ("low", "some_concerns", "high", "no_information")

# The FDA-cleared devices and the trials go to 2.5 mm (English 2022, PMC8776974: depths 0.5-2.5 mm); 3.0 mm
# is the upper bound accepted here.
MAX_NEEDLE_LENGTH_MM = 3.0


@dataclass(frozen=True)
class Number:
    """A reported number with where it was read.

    ``value`` is None exactly when ``status == "unverified"``. ``source`` is the URL the number was read from
    and ``location`` where in that source (``"abstract, Results"``, ``"Table 2"``); both are resolved from the
    outcome's or study's defaults when the number does not give its own.
    """

    value: float | None
    status: str = "unverified"
    note: str | None = None
    source: str | None = None
    location: str | None = None

    @property
    def known(self) -> bool:
        return self.value is not None

    @property
    def has_provenance(self) -> bool:
        """True when a known value says both which URL and where in it it was read."""
        return self.known and bool(self.source) and bool(self.location)

    def to_yaml(self) -> Any:
        if self.value is None and self.note is None:
            return "UNVERIFIED"
        out: dict[str, Any] = {"value": self.value, "status": self.status}
        for name in ("note", "source", "location"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out


MISSING = Number(None, "unverified")


@dataclass(frozen=True)
class Arm:
    """One arm (or one side of a split scalp) of an outcome; ``arm`` names the study arm it belongs to."""

    label: str | None = None
    arm: str | None = None
    n: Number = MISSING
    mean: Number = MISSING
    sd: Number = MISSING
    se: Number = MISSING
    ci_low: Number = MISSING
    ci_high: Number = MISSING
    median: Number = MISSING
    q1: Number = MISSING
    q3: Number = MISSING
    minimum: Number = MISSING
    maximum: Number = MISSING
    events: Number = MISSING
    proportion: Number = MISSING
    baseline_mean: Number = MISSING
    baseline_sd: Number = MISSING
    end_mean: Number = MISSING
    end_sd: Number = MISSING


@dataclass(frozen=True)
class StudyArm:
    """A randomised group (or split-scalp side) and the treatment it received, from :data:`TREATMENTS`."""

    id: str
    treatment: str
    label: str | None = None
    n_randomised: Number = MISSING
    n_analysed: Number = MISSING
    co_treatment: str | None = None
    needle_length_mm: Number = MISSING
    notes: str | None = None


@dataclass(frozen=True)
class RiskOfBias:
    """A RoB 2 assessment: one judgement per domain, the overall judgement and what it rests on."""

    randomisation: str
    deviations: str
    missing_data: str
    measurement: str
    selection: str
    overall: str
    basis: str


@dataclass(frozen=True)
class Outcome:
    """One outcome of one study, for one comparison.

    ``direction`` (``"intervention_higher"`` or ``"comparator_higher"``) records which arm the text says did
    better when the means themselves are not reported; only an exact p-value can then give an SMD.
    """

    comparison: str
    outcome: str
    unit: str
    value_type: str
    intervention: Arm
    comparator: Arm
    time_weeks: float | None = None
    paired: bool = False
    adjunct: str | None = None
    p_value: Number = MISSING
    correlation: Number = MISSING
    direction: str | None = None
    notes: str | None = None
    source: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class Study:
    """A trial (or other study) with its design, population, arms, protocol, sources and outcomes."""

    id: str
    first_author: str
    design: str
    randomised: str
    blinding: str
    condition: str
    urls: tuple[str, ...]
    year: Number = MISSING
    citation: str | None = None
    doi: str | None = None
    pmid: str | None = None
    population: str | None = None
    intervention: str | None = None
    comparator: str | None = None
    n_total: Number = MISSING
    needle_length_mm: Number = MISSING
    device: str | None = None
    interval_days: Number = MISSING
    sessions: Number = MISSING
    duration_weeks: Number = MISSING
    followup_after_treatment: str | None = None
    baseline_severity: str | None = None
    adverse_events: str | None = None
    verification: str | None = None
    access: str | None = None
    flags: tuple[str, ...] = ()
    indirect: tuple[str, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()
    arms: tuple[StudyArm, ...] = ()
    rob2: RiskOfBias | None = None
    outcomes: tuple[Outcome, ...] = ()

    @property
    def label(self) -> str:
        year = f"{int(self.year.value)}" if self.year.known else "n.d."
        return f"{self.first_author} {year}"

    def arm(self, arm_id: str) -> StudyArm:
        """The study arm with this id (KeyError when there is none)."""
        for arm in self.arms:
            if arm.id == arm_id:
                return arm
        raise KeyError(arm_id)


@dataclass(frozen=True)
class Comparison:
    """A question the review answers (e.g. micro-needling + minoxidil vs minoxidil, hair density).

    ``pool_from`` names other comparisons whose outcomes this one also pools (an SMD analysis that uses the
    same arms as the MD analyses, on a scale that accepts every counting area).
    """

    id: str
    title: str
    outcome: str
    measure: str
    unit: str
    pool_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class SdDonor:
    """An SD that a missing SD of the same outcome, unit and value type may be replaced by."""

    outcome: str
    unit: str
    value_type: str
    sd: Number
    label: str
    source: str


@dataclass(frozen=True)
class PublishedMA:
    """A published meta-analysis or systematic review, as reported.

    ``comparison`` names the review's pairwise comparison it matches; ``treatments`` (intervention, comparator,
    from :data:`TREATMENTS`) and ``network`` (an id of :data:`regrow.evidence._network_specs.NETWORKS`) place its
    estimate in a network. ``included_studies`` lists the ids of this evidence file's studies that it pooled,
    when its included-study list could be read (None: not known).
    """

    id: str
    citation: str
    comparison: str | None
    outcome: str
    measure: str
    estimate: Number = MISSING
    ci_low: Number = MISSING
    ci_high: Number = MISSING
    k_studies: Number = MISSING
    n_patients: Number = MISSING
    i2_percent: Number = MISSING
    doi: str | None = None
    pmid: str | None = None
    model: str | None = None
    notes: str | None = None
    url: str | None = None
    treatments: tuple[str, ...] = ()
    network: str | None = None
    included_studies: tuple[str, ...] | None = None


@dataclass(frozen=True)
class EvidenceData:
    """Everything in one evidence file."""

    data_version: str
    comparisons: tuple[Comparison, ...]
    sd_donors: tuple[SdDonor, ...]
    studies: tuple[Study, ...]
    published: tuple[PublishedMA, ...]
    source: str = BUNDLED_NAME
    schema_version: int = SCHEMA_VERSION

    def comparison(self, comparison_id: str) -> Comparison:
        for comp in self.comparisons:
            if comp.id == comparison_id:
                return comp
        raise InputError.invalid("comparison", comparison_id, f"one of {[c.id for c in self.comparisons]}")

    def study(self, study_id: str) -> Study:
        for st in self.studies:
            if st.id == study_id:
                return st
        raise InputError.invalid("study", study_id, "the id of a study in the evidence file")


# --------------------------------------------------------------------------------------- parse (facade)


def parse_study(
    raw: Any, *, path: str = BUNDLED_NAME, index: int | None = None, comparison_ids: set[str] | None = None
) -> Study:
    """Validate one study mapping and build a :class:`Study` (see :mod:`regrow.evidence._trials_parse`).

    Raises
    ------
    DataFileError
        Naming the study, the field path and the bad value.
    """
    from regrow.evidence._trials_parse import parse_study as _parse_study

    return _parse_study(raw, path=path, index=index, comparison_ids=comparison_ids)


def parse_data(raw: Any, *, path: str = BUNDLED_NAME) -> EvidenceData:
    """Validate a whole evidence document (as loaded from YAML) and build :class:`EvidenceData`.

    Raises
    ------
    DataFileError
        For the first problem found, naming the entry and field.
    """
    from regrow.evidence._trials_parse import parse_data as _parse_data

    return _parse_data(raw, path=path)


# ------------------------------------------------------------------------------------------ files on disk


def bundled_path() -> Path:
    """The evidence file shipped inside the package (read-only; never written)."""
    return Path(str(resources.files("regrow.evidence") / "data" / BUNDLED_NAME))


def user_data_path() -> Path:
    """Where a person's edited copy of the evidence lives.

    ``$REGROW_EVIDENCE_FILE`` when set, otherwise ``<platformdirs user data dir>/regrow/evidence.yaml``.
    The file exists only after ``regrow evidence add`` or ``import`` has written it.
    """
    override = os.environ.get("REGROW_EVIDENCE_FILE")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("regrow", appauthor=False)) / BUNDLED_NAME


def read_yaml(path: Path, name: str) -> Any:
    """Read a UTF-8 YAML file; unreadable, non-UTF-8 or broken files raise one-line DataFileErrors."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(f"{name}: cannot read the file ({exc.strerror}).", path=name) from exc
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{name}: not a UTF-8 text file (byte {exc.start} cannot be decoded); save it as UTF-8 YAML.",
            path=name,
        ) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = None if mark is None else mark.line + 1
        where = "" if row is None else f" at line {row}"
        raise DataFileError(
            f"{name}: not valid YAML{where}: {getattr(exc, 'problem', exc)}.", path=name, row=row
        ) from exc


def load_data(path: str | Path | None = None) -> EvidenceData:
    """Load and validate an evidence file.

    Parameters
    ----------
    path : str or Path, optional
        A YAML (or JSON) evidence file. When omitted: the user copy if it exists, else the bundled file.

    Returns
    -------
    EvidenceData

    Raises
    ------
    DataFileError
        If the file cannot be read or parsed or breaks the schema (the message names the entry and field).
    """
    if path is None:
        user = user_data_path()
        path = user if user.is_file() else bundled_path()
    path = Path(path)
    name = path.name if path == bundled_path() else str(path)
    return parse_data(read_yaml(path, name), path=name)


# ----------------------------------------------------------------------------------------------- dumping


def _dump_value(obj: Any) -> Any:
    if isinstance(obj, Number):
        return obj.to_yaml()
    if isinstance(obj, tuple):
        return [_dump_value(x) for x in obj]
    if hasattr(obj, "__dataclass_fields__"):
        out = {}
        for f in fields(obj):
            value = getattr(obj, f.name)
            if (
                value is None
                or (value == () and f.name != "included_studies")
                or (isinstance(value, Number) and value == MISSING)
                or value is False
            ):
                continue
            if f.name == "sources":
                out[f.name] = dict(value)
                continue
            if (
                f.name == "included_studies" and value == ()
            ):  # known to pool none of ours: keep the empty list
                out[f.name] = []
                continue
            out[f.name] = _dump_value(value)
        return out
    return obj


def dump_data(data: EvidenceData) -> str:
    """Serialise :class:`EvidenceData` back to the YAML schema (round-trips through :func:`parse_data`)."""
    doc = {
        "schema_version": data.schema_version,
        "data_version": data.data_version,
        "comparisons": [_dump_value(c) for c in data.comparisons],
        "sd_donors": [_dump_value(d) for d in data.sd_donors],
        "studies": [_dump_value(s) for s in data.studies],
        "published_meta_analyses": [_dump_value(m) for m in data.published],
    }
    header = "# regrow evidence file (user copy). Same schema as the bundled evidence.yaml.\n"
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110)
