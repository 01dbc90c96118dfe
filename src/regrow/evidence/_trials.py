"""The bundled trial data: schema, loading and validation.

The data live in ``regrow/evidence/data/evidence.yaml`` (human-editable, versioned). A person's edits are kept
in a user copy (see :func:`user_data_path`); the installed file is never modified. Every number carries a
verification status; a number marked ``unverified`` has no value, and none is ever filled in by guessing.

Validation errors are :class:`regrow.errors.DataFileError` naming the file, the study (id and 1-based entry
number), the field path and the bad value, and saying what is allowed.
"""

from __future__ import annotations

import math
import os
import re
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
    "STATUSES",
    "Arm",
    "Comparison",
    "EvidenceData",
    "Number",
    "Outcome",
    "PublishedMA",
    "SdDonor",
    "Study",
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
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
# The FDA-cleared devices and the trials go to 2.5 mm (English 2022, PMC8776974: depths 0.5-2.5 mm); 3.0 mm
# is the upper bound accepted here.
MAX_NEEDLE_LENGTH_MM = 3.0


@dataclass(frozen=True)
class Number:
    """A reported number with where it was read. ``value`` is None exactly when ``status == "unverified"``."""

    value: float | None
    status: str = "unverified"
    note: str | None = None

    @property
    def known(self) -> bool:
        return self.value is not None

    def to_yaml(self) -> Any:
        if self.value is None and self.note is None:
            return "UNVERIFIED"
        out: dict[str, Any] = {"value": self.value, "status": self.status}
        if self.note:
            out["note"] = self.note
        return out


MISSING = Number(None, "unverified")


@dataclass(frozen=True)
class Arm:
    """One arm (or one side of a split scalp) of an outcome."""

    label: str | None = None
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
class Outcome:
    """One outcome of one study, for one comparison."""

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
    notes: str | None = None


@dataclass(frozen=True)
class Study:
    """A trial (or other study) with its design, population, protocol, sources and outcomes."""

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
    flags: tuple[str, ...] = ()
    indirect: tuple[str, ...] = ()
    outcomes: tuple[Outcome, ...] = ()

    @property
    def label(self) -> str:
        year = f"{int(self.year.value)}" if self.year.known else "n.d."
        return f"{self.first_author} {year}"


@dataclass(frozen=True)
class Comparison:
    """A question the review answers (e.g. micro-needling + minoxidil vs minoxidil, hair density)."""

    id: str
    title: str
    outcome: str
    measure: str
    unit: str


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
    """A published meta-analysis or systematic review, as reported."""

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


# ----------------------------------------------------------------------------------------------- parsing


_SINGULAR = {"studies": "study", "comparisons": "comparison", "published_meta_analyses": "meta-analysis"}


class _Where:
    """Builds error messages that name the file, the entry and the field path."""

    def __init__(self, path: str, section: str, index: int | None, ident: str | None):
        self.path, self.section, self.index, self.ident = path, section, index, ident

    def fail(self, fieldpath: str, value: Any, allowed: str) -> DataFileError:
        entry = f"{self.section} entry {self.index}" if self.index is not None else self.section
        if self.ident:
            entry = f"{_SINGULAR.get(self.section, self.section)} {self.ident!r} ({entry})"
        msg = f"{self.path}: {entry}, field {fieldpath!r}: invalid value {value!r}; must be {allowed}."
        return DataFileError(msg, path=self.path, row=self.index, column=fieldpath)


def _check_keys(where: _Where, prefix: str, raw: dict, allowed: tuple[str, ...], required: tuple[str, ...]):
    for key in raw:
        if key not in allowed:
            raise where.fail(f"{prefix}{key}", raw[key], f"a known field (one of {', '.join(allowed)})")
    for key in required:
        if raw.get(key) in (None, "", []):
            raise where.fail(f"{prefix}{key}", raw.get(key), "present (this field is required)")


def _text(where: _Where, name: str, value: Any, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise where.fail(name, value, "a non-empty text")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise where.fail(name, value, "text")
    return str(value)


def _choice(where: _Where, name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise where.fail(name, value, f"one of {', '.join(allowed)}")
    return str(value)


# (lower, upper, lower-inclusive, whole number) per numeric field name; None = unbounded.
_BOUNDS: dict[str, tuple[float | None, float | None, bool, bool]] = {
    "n": (1, None, True, True),
    "n_total": (1, None, True, True),
    "events": (0, None, True, True),
    "sd": (0, None, False, False),
    "se": (0, None, False, False),
    "baseline_sd": (0, None, False, False),
    "end_sd": (0, None, False, False),
    "proportion": (0, 1, True, False),
    "p_value": (0, 1, False, False),
    "correlation": (-1, 1, True, False),
    "needle_length_mm": (0, MAX_NEEDLE_LENGTH_MM, False, False),
    "interval_days": (0, 365, False, False),
    "sessions": (1, None, True, True),
    "duration_weeks": (0, 520, False, False),
    "year": (1900, 2100, True, True),
    "k_studies": (1, None, True, True),
    "n_patients": (1, None, True, True),
    "i2_percent": (0, 100, True, False),
}


def _describe_bounds(name: str) -> str:
    lo, hi, inclusive, whole = _BOUNDS[name]
    kind = "a whole number" if whole else "a number"
    if name == "needle_length_mm":
        return f"a number in (0, {MAX_NEEDLE_LENGTH_MM}] mm"
    if hi is None:
        return f"{kind} {'>=' if inclusive else '>'} {lo}"
    return f"{kind} in {'[' if inclusive else '('}{lo}, {hi}]"


def _number(where: _Where, name: str, raw: Any) -> Number:
    """Parse ``{value, status[, note]}``, the shorthand ``UNVERIFIED``, or nothing."""
    basename = name.rsplit(".", 1)[-1]
    if raw is None or (isinstance(raw, str) and raw.strip().upper() == "UNVERIFIED"):
        return MISSING
    if not isinstance(raw, dict):
        raise where.fail(name, raw, '{value: <number>, status: <where it was read>} or "UNVERIFIED"')
    for key in raw:
        if key not in ("value", "status", "note"):
            raise where.fail(f"{name}.{key}", raw[key], "one of value, status, note")
    status = raw.get("status")
    if status not in STATUSES:
        raise where.fail(f"{name}.status", status, f"one of {', '.join(STATUSES)}")
    note = _text(where, f"{name}.note", raw.get("note"))
    value = raw.get("value")
    if value is None:
        if status != "unverified":
            raise where.fail(f"{name}.value", value, f"a number (status {status!r} needs a value)")
        return Number(None, "unverified", note)
    if status == "unverified":
        raise where.fail(
            f"{name}.status", status, "a source status when a value is given (unverified numbers stay empty)"
        )
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise where.fail(f"{name}.value", value, "a finite number")
    value = float(value)
    if basename in _BOUNDS:
        lo, hi, inclusive, whole = _BOUNDS[basename]
        bad = (
            (lo is not None and (value < lo or (value == lo and not inclusive)))
            or (hi is not None and value > hi)
            or (whole and not value.is_integer())
        )
        if bad:
            raise where.fail(f"{name}.value", value, _describe_bounds(basename))
    return Number(value, status, note)


def _arm(where: _Where, prefix: str, raw: Any) -> Arm:
    if not isinstance(raw, dict):
        raise where.fail(prefix, raw, "a mapping of arm fields (n, mean, sd, ...)")
    allowed = ("label", *ARM_NUMBER_FIELDS)
    _check_keys(where, f"{prefix}.", raw, allowed, ())
    values: dict[str, Any] = {"label": _text(where, f"{prefix}.label", raw.get("label"))}
    for name in ARM_NUMBER_FIELDS:
        values[name] = _number(where, f"{prefix}.{name}", raw.get(name))
    arm = Arm(**values)
    if arm.events.known and arm.n.known and arm.events.value > arm.n.value:
        raise where.fail(f"{prefix}.events.value", arm.events.value, f"<= n ({arm.n.value:g})")
    if arm.ci_low.known and arm.ci_high.known and arm.ci_low.value >= arm.ci_high.value:
        raise where.fail(f"{prefix}.ci_high.value", arm.ci_high.value, f"> ci_low ({arm.ci_low.value:g})")
    return arm


_OUTCOME_KEYS = (
    "comparison",
    "outcome",
    "unit",
    "value_type",
    "time_weeks",
    "paired",
    "adjunct",
    "intervention",
    "comparator",
    "p_value",
    "correlation",
    "notes",
)


def _outcome(where: _Where, prefix: str, raw: Any, comparison_ids: set[str]) -> Outcome:
    if not isinstance(raw, dict):
        raise where.fail(prefix, raw, "a mapping describing one outcome")
    _check_keys(
        where,
        f"{prefix}.",
        raw,
        _OUTCOME_KEYS,
        ("comparison", "outcome", "unit", "value_type", "intervention", "comparator"),
    )
    if comparison_ids and raw["comparison"] not in comparison_ids:
        raise where.fail(
            f"{prefix}.comparison", raw["comparison"], f"one of {', '.join(sorted(comparison_ids))}"
        )
    unit = _choice(where, f"{prefix}.unit", raw["unit"], UNITS)
    value_type = _choice(where, f"{prefix}.value_type", raw["value_type"], VALUE_TYPES)
    if (unit == "events") != (value_type == "proportion"):
        raise where.fail(f"{prefix}.value_type", value_type, "'proportion' exactly when unit is 'events'")
    time = raw.get("time_weeks")
    if time is not None and (isinstance(time, bool) or not isinstance(time, int | float) or time <= 0):
        raise where.fail(f"{prefix}.time_weeks", time, "a positive number of weeks")
    paired = raw.get("paired", False)
    if not isinstance(paired, bool):
        raise where.fail(f"{prefix}.paired", paired, "true or false")
    return Outcome(
        comparison=str(raw["comparison"]),
        outcome=_text(where, f"{prefix}.outcome", raw["outcome"], required=True),
        unit=unit,
        value_type=value_type,
        time_weeks=None if time is None else float(time),
        paired=paired,
        adjunct=_text(where, f"{prefix}.adjunct", raw.get("adjunct")),
        intervention=_arm(where, f"{prefix}.intervention", raw["intervention"]),
        comparator=_arm(where, f"{prefix}.comparator", raw["comparator"]),
        p_value=_number(where, f"{prefix}.p_value", raw.get("p_value")),
        correlation=_number(where, f"{prefix}.correlation", raw.get("correlation")),
        notes=_text(where, f"{prefix}.notes", raw.get("notes")),
    )


_STUDY_NUMBERS = ("year", "n_total", "needle_length_mm", "interval_days", "sessions", "duration_weeks")
_STUDY_TEXT = (
    "citation",
    "doi",
    "pmid",
    "population",
    "intervention",
    "comparator",
    "device",
    "followup_after_treatment",
    "baseline_severity",
    "adverse_events",
    "verification",
)
_STUDY_KEYS = (
    "id",
    "first_author",
    "design",
    "randomised",
    "blinding",
    "condition",
    "urls",
    "flags",
    "indirect",
    "outcomes",
    *_STUDY_NUMBERS,
    *_STUDY_TEXT,
)


def _text_list(where: _Where, name: str, raw: Any, *, required: bool = False) -> tuple[str, ...]:
    if raw is None:
        raw = []
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        raise where.fail(name, raw, "a list of non-empty texts")
    if required and not raw:
        raise where.fail(name, raw, "a non-empty list (every study needs a source URL)")
    return tuple(raw)


def parse_study(
    raw: Any, *, path: str = BUNDLED_NAME, index: int | None = None, comparison_ids: set[str] | None = None
) -> Study:
    """Validate one study mapping and build a :class:`Study`.

    Parameters
    ----------
    raw : dict
        The study as read from YAML/JSON.
    path : str
        File name used in error messages.
    index : int, optional
        1-based position in the file's ``studies`` list, for error messages.
    comparison_ids : set of str, optional
        The comparisons an outcome may refer to; not checked when omitted.

    Returns
    -------
    Study

    Raises
    ------
    DataFileError
        Naming the study, the field path and the bad value.
    """
    ident = raw.get("id") if isinstance(raw, dict) else None
    where = _Where(path, "studies", index, str(ident) if ident is not None else None)
    if not isinstance(raw, dict):
        raise where.fail("(study)", raw, "a mapping of study fields")
    _check_keys(
        where, "", raw, _STUDY_KEYS, ("id", "first_author", "design", "randomised", "blinding", "condition")
    )
    if not _ID.match(str(raw["id"])):
        raise where.fail(
            "id", raw["id"], "1-40 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    urls = _text_list(where, "urls", raw.get("urls"), required=True)
    for url in urls:
        if not re.match(r"^https?://", url):
            raise where.fail("urls", url, "an http(s) URL")
    outcomes_raw = raw.get("outcomes") or []
    if not isinstance(outcomes_raw, list):
        raise where.fail("outcomes", outcomes_raw, "a list of outcomes")
    values: dict[str, Any] = {
        "id": str(raw["id"]),
        "first_author": _text(where, "first_author", raw["first_author"], required=True),
        "design": _choice(where, "design", raw["design"], DESIGNS),
        "randomised": _choice(where, "randomised", raw["randomised"], RANDOMISED),
        "blinding": _choice(where, "blinding", raw["blinding"], BLINDING),
        "condition": _choice(where, "condition", raw["condition"], CONDITIONS),
        "urls": urls,
        "flags": _text_list(where, "flags", raw.get("flags")),
        "indirect": _text_list(where, "indirect", raw.get("indirect")),
        "outcomes": tuple(
            _outcome(where, f"outcomes[{i}]", o, comparison_ids or set()) for i, o in enumerate(outcomes_raw)
        ),
    }
    for name in _STUDY_NUMBERS:
        values[name] = _number(where, name, raw.get(name))
    for name in _STUDY_TEXT:
        values[name] = _text(where, name, raw.get(name))
    study = Study(**values)
    for i, outcome in enumerate(study.outcomes):
        if outcome.paired and study.design != "split_scalp":
            raise where.fail(f"outcomes[{i}].paired", True, "false unless the study design is 'split_scalp'")
    return study


def _comparison(path: str, index: int, raw: Any) -> Comparison:
    where = _Where(path, "comparisons", index, raw.get("id") if isinstance(raw, dict) else None)
    if not isinstance(raw, dict):
        raise where.fail("(comparison)", raw, "a mapping")
    keys = ("id", "title", "outcome", "measure", "unit")
    _check_keys(where, "", raw, keys, keys)
    if not _ID.match(str(raw["id"])):
        raise where.fail("id", raw["id"], "letters, digits, '_', '.' or '-'")
    return Comparison(
        id=str(raw["id"]),
        title=str(raw["title"]),
        outcome=str(raw["outcome"]),
        measure=_choice(where, "measure", raw["measure"], MEASURES),
        unit=_choice(where, "unit", raw["unit"], UNITS),
    )


def _donor(path: str, index: int, raw: Any) -> SdDonor:
    where = _Where(path, "sd_donors", index, None)
    if not isinstance(raw, dict):
        raise where.fail("(donor)", raw, "a mapping")
    keys = ("outcome", "unit", "value_type", "sd", "label", "source")
    _check_keys(where, "", raw, keys, keys)
    sd = _number(where, "sd", raw["sd"])
    if not sd.known:
        raise where.fail("sd", raw["sd"], "a verified SD (a donor cannot itself be missing)")
    return SdDonor(
        outcome=str(raw["outcome"]),
        unit=_choice(where, "unit", raw["unit"], UNITS),
        value_type=_choice(where, "value_type", raw["value_type"], VALUE_TYPES),
        sd=sd,
        label=str(raw["label"]),
        source=str(raw["source"]),
    )


_MA_NUMBERS = ("estimate", "ci_low", "ci_high", "k_studies", "n_patients", "i2_percent")
_MA_KEYS = (
    "id",
    "citation",
    "comparison",
    "outcome",
    "measure",
    "doi",
    "pmid",
    "model",
    "notes",
    "url",
    *_MA_NUMBERS,
)


def _published(path: str, index: int, raw: Any, comparison_ids: set[str]) -> PublishedMA:
    where = _Where(path, "published_meta_analyses", index, raw.get("id") if isinstance(raw, dict) else None)
    if not isinstance(raw, dict):
        raise where.fail("(meta-analysis)", raw, "a mapping")
    _check_keys(where, "", raw, _MA_KEYS, ("id", "citation", "outcome", "measure"))
    comp = raw.get("comparison")
    if comp is not None and comp not in comparison_ids:
        raise where.fail("comparison", comp, f"null or one of {', '.join(sorted(comparison_ids))}")
    values = {name: _number(where, name, raw.get(name)) for name in _MA_NUMBERS}
    model = raw.get("model")
    return PublishedMA(
        id=str(raw["id"]),
        citation=str(raw["citation"]),
        comparison=comp,
        outcome=str(raw["outcome"]),
        measure=str(raw["measure"]),
        doi=_text(where, "doi", raw.get("doi")),
        pmid=_text(where, "pmid", raw.get("pmid")),
        model=None if model in (None, "UNVERIFIED") else str(model),
        notes=_text(where, "notes", raw.get("notes")),
        url=_text(where, "url", raw.get("url")),
        **values,
    )


def parse_data(raw: Any, *, path: str = BUNDLED_NAME) -> EvidenceData:
    """Validate a whole evidence document (as loaded from YAML) and build :class:`EvidenceData`.

    Raises
    ------
    DataFileError
        For the first problem found, naming the entry and field.
    """
    if not isinstance(raw, dict):
        raise DataFileError(f"{path}: the file must hold a mapping with a 'studies' list.", path=path)
    top = ("schema_version", "data_version", "comparisons", "sd_donors", "studies", "published_meta_analyses")
    for key in raw:
        if key not in top:
            raise DataFileError(
                f"{path}: unknown top-level field {key!r}; must be one of {', '.join(top)}.",
                path=path,
                column=key,
            )
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        raise DataFileError(
            f"{path}: field 'schema_version': invalid value {version!r}; must be {SCHEMA_VERSION}.",
            path=path,
            column="schema_version",
        )
    for key in ("comparisons", "studies"):
        if not isinstance(raw.get(key), list):
            raise DataFileError(f"{path}: field {key!r} must be a list.", path=path, column=key)
    comparisons = tuple(_comparison(path, i + 1, c) for i, c in enumerate(raw["comparisons"]))
    ids = {c.id for c in comparisons}
    studies = []
    seen: set[str] = set()
    for i, entry in enumerate(raw["studies"]):
        study = parse_study(entry, path=path, index=i + 1, comparison_ids=ids)
        if study.id in seen:
            raise DataFileError(
                f"{path}: study {study.id!r} (studies entry {i + 1}), field 'id': invalid value {study.id!r}; "
                "must be unique (another study already uses it).",
                path=path,
                row=i + 1,
                column="id",
            )
        seen.add(study.id)
        studies.append(study)
    donors = tuple(_donor(path, i + 1, d) for i, d in enumerate(raw.get("sd_donors") or []))
    published = tuple(
        _published(path, i + 1, m, ids) for i, m in enumerate(raw.get("published_meta_analyses") or [])
    )
    return EvidenceData(
        data_version=str(raw.get("data_version", "unversioned")),
        comparisons=comparisons,
        sd_donors=donors,
        studies=tuple(studies),
        published=published,
        source=path,
    )


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
        If the file cannot be parsed or breaks the schema (the message names the entry and field).
    NotFoundError
        Never for the default; an explicit missing ``path`` raises DataFileError.
    """
    if path is None:
        user = user_data_path()
        path = user if user.is_file() else bundled_path()
    path = Path(path)
    name = path.name if path == bundled_path() else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataFileError(f"{name}: cannot read the evidence file ({exc.strerror}).", path=name) from exc
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{name}: not a UTF-8 text file (byte {exc.start} cannot be decoded); save it as UTF-8 YAML.",
            path=name,
        ) from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = None if mark is None else mark.line + 1
        where = "" if row is None else f" at line {row}"
        raise DataFileError(
            f"{name}: not valid YAML{where}: {getattr(exc, 'problem', exc)}.", path=name, row=row
        ) from exc
    return parse_data(raw, path=name)


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
                or value == ()
                or (isinstance(value, Number) and value == MISSING)
                or value is False
            ):
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
    for study in doc["studies"]:
        study.pop("label", None)
    header = "# regrow evidence file (user copy). Same schema as the bundled evidence.yaml.\n"
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110)
