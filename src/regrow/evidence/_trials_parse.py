"""Validation of evidence files: every field checked, every error naming the study, the field and the value.

Besides types and ranges, the checks that catch inconsistent arms are:

* ``n_analysed`` of a study arm may not exceed its ``n_randomised``, and an outcome arm's ``n`` may not exceed
  the randomised size of the study arm it belongs to;
* SDs, SEs and baseline/end SDs must be > 0;
* a reported confidence interval must contain the reported mean;
* an arm's ``treatment`` must come from :data:`regrow.evidence._trials.TREATMENTS`, and every outcome arm of a
  study that lists its arms must name one of them;
* a number's ``source`` must be one of the study's URLs (or a key of its ``sources``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from regrow.errors import DataFileError
from regrow.evidence._trials import (
    ARM_NUMBER_FIELDS,
    BLINDING,
    BUNDLED_NAME,
    CONDITIONS,
    DESIGNS,
    DIRECTIONS,
    MAX_NEEDLE_LENGTH_MM,
    MEASURES,
    MISSING,
    RANDOMISED,
    ROB2_DOMAINS,
    ROB2_JUDGEMENTS,
    SCHEMA_VERSION,
    STATUSES,
    TREATMENTS,
    UNITS,
    VALUE_TYPES,
    Arm,
    Comparison,
    EvidenceData,
    Number,
    Outcome,
    PublishedMA,
    RiskOfBias,
    SdDonor,
    Study,
    StudyArm,
)

__all__ = ["ACCESS", "parse_data", "parse_study"]

#: What could be read of a study: its full report, only the abstract, only a secondary source (a review
#: table or news summary), only a trial registry entry, or nothing beyond its title.
ACCESS = ("full_text", "abstract", "secondary", "registry", "title_only")

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
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


@dataclass(frozen=True)
class _Provenance:
    """The URLs a study's numbers may cite and the defaults for numbers that give none."""

    sources: dict[str, str]
    urls: frozenset[str]
    default_source: str | None = None
    default_location: str | None = None

    def resolve(self, where: _Where, name: str, source: Any) -> str:
        if isinstance(source, str) and source in self.sources:
            return self.sources[source]
        if isinstance(source, str) and source in self.urls:
            return source
        keys = ", ".join(sorted(self.sources)) or "none defined"
        raise where.fail(name, source, f"one of the study's URLs or a key of its sources ({keys})")

    def with_defaults(self, where: _Where, prefix: str, raw: dict) -> _Provenance:
        """A copy whose defaults come from ``raw['source']``/``raw['location']`` when given."""
        source, location = self.default_source, self.default_location
        if raw.get("source") is not None:
            source = self.resolve(where, f"{prefix}source", raw["source"])
        if raw.get("location") is not None:
            location = _text(where, f"{prefix}location", raw["location"])
        return _Provenance(self.sources, self.urls, source, location)


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
    "n_randomised": (1, None, True, True),
    "n_analysed": (1, None, True, True),
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


def _number(where: _Where, name: str, raw: Any, prov: _Provenance | None = None) -> Number:
    """Parse ``{value, status[, note, source, location]}``, the shorthand ``UNVERIFIED``, or nothing."""
    basename = name.rsplit(".", 1)[-1]
    if raw is None or (isinstance(raw, str) and raw.strip().upper() == "UNVERIFIED"):
        return MISSING
    if not isinstance(raw, dict):
        raise where.fail(name, raw, '{value: <number>, status: <where it was read>} or "UNVERIFIED"')
    for key in raw:
        if key not in ("value", "status", "note", "source", "location"):
            raise where.fail(f"{name}.{key}", raw[key], "one of value, status, note, source, location")
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
    source, location = _number_provenance(where, name, raw, prov)
    return Number(value, status, note, source, location)


def _number_provenance(where: _Where, name: str, raw: dict, prov: _Provenance | None):
    location = _text(where, f"{name}.location", raw.get("location"))
    source = raw.get("source")
    if prov is None:
        if source is not None and not (isinstance(source, str) and re.match(r"^https?://", source)):
            raise where.fail(f"{name}.source", source, "an http(s) URL")
        return source, location
    source = prov.default_source if source is None else prov.resolve(where, f"{name}.source", source)
    return source, location if location is not None else prov.default_location


def _outcome_arm(where: _Where, prefix: str, raw: Any, prov: _Provenance, arms: dict[str, StudyArm]) -> Arm:
    if not isinstance(raw, dict):
        raise where.fail(prefix, raw, "a mapping of arm fields (n, mean, sd, ...)")
    allowed = ("label", "arm", *ARM_NUMBER_FIELDS)
    _check_keys(where, f"{prefix}.", raw, allowed, ())
    arm_id = raw.get("arm")
    if arms and arm_id is None:
        raise where.fail(f"{prefix}.arm", arm_id, f"the id of one of the study's arms ({', '.join(arms)})")
    if arm_id is not None and arm_id not in arms:
        allowed_ids = ", ".join(arms) or "none: the study lists no arms"
        raise where.fail(f"{prefix}.arm", arm_id, f"the id of one of the study's arms ({allowed_ids})")
    values: dict[str, Any] = {"label": _text(where, f"{prefix}.label", raw.get("label")), "arm": arm_id}
    for name in ARM_NUMBER_FIELDS:
        values[name] = _number(where, f"{prefix}.{name}", raw.get(name), prov)
    arm = Arm(**values)
    _check_arm_consistency(where, prefix, arm, arms.get(arm_id) if arm_id else None)
    return arm


def _check_arm_consistency(where: _Where, prefix: str, arm: Arm, study_arm: StudyArm | None) -> None:
    if arm.events.known and arm.n.known and arm.events.value > arm.n.value:
        raise where.fail(f"{prefix}.events.value", arm.events.value, f"<= n ({arm.n.value:g})")
    if arm.ci_low.known and arm.ci_high.known and arm.ci_low.value >= arm.ci_high.value:
        raise where.fail(f"{prefix}.ci_high.value", arm.ci_high.value, f"> ci_low ({arm.ci_low.value:g})")
    if arm.mean.known and (arm.ci_low.known or arm.ci_high.known):
        lo = arm.ci_low.value if arm.ci_low.known else -math.inf
        hi = arm.ci_high.value if arm.ci_high.known else math.inf
        if not lo <= arm.mean.value <= hi:
            raise where.fail(
                f"{prefix}.mean.value",
                arm.mean.value,
                f"inside the arm's confidence interval [{lo:g}, {hi:g}] (a CI must contain its mean)",
            )
    randomised = study_arm.n_randomised if study_arm is not None else MISSING
    if arm.n.known and randomised.known and arm.n.value > randomised.value:
        raise where.fail(
            f"{prefix}.n.value",
            arm.n.value,
            f"<= n_randomised of arm {study_arm.id!r} ({randomised.value:g}); "
            "more people cannot be analysed than were randomised",
        )


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
    "direction",
    "notes",
    "source",
    "location",
)


def _outcome(
    where: _Where,
    prefix: str,
    raw: Any,
    comparison_ids: set[str],
    prov: _Provenance,
    arms: dict[str, StudyArm],
) -> Outcome:
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
    prov = prov.with_defaults(where, f"{prefix}.", raw)
    intervention = _outcome_arm(where, f"{prefix}.intervention", raw["intervention"], prov, arms)
    comparator = _outcome_arm(where, f"{prefix}.comparator", raw["comparator"], prov, arms)
    if intervention.arm is not None and intervention.arm == comparator.arm:
        raise where.fail(
            f"{prefix}.comparator.arm", comparator.arm, "a different arm than the intervention's"
        )
    return Outcome(
        comparison=str(raw["comparison"]),
        outcome=_text(where, f"{prefix}.outcome", raw["outcome"], required=True),
        unit=unit,
        value_type=value_type,
        time_weeks=None if time is None else float(time),
        paired=paired,
        adjunct=_text(where, f"{prefix}.adjunct", raw.get("adjunct")),
        intervention=intervention,
        comparator=comparator,
        p_value=_number(where, f"{prefix}.p_value", raw.get("p_value"), prov),
        correlation=_number(where, f"{prefix}.correlation", raw.get("correlation"), prov),
        direction=None
        if raw.get("direction") is None
        else _choice(where, f"{prefix}.direction", raw["direction"], DIRECTIONS),
        notes=_text(where, f"{prefix}.notes", raw.get("notes")),
        source=prov.default_source if raw.get("source") is not None else None,
        location=prov.default_location if raw.get("location") is not None else None,
    )


def _study_arms(where: _Where, raw: Any, prov: _Provenance) -> tuple[StudyArm, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise where.fail("arms", raw, "a list of arms ({id, treatment, n_randomised, ...})")
    arms: list[StudyArm] = []
    for i, entry in enumerate(raw):
        prefix = f"arms[{i}]"
        if not isinstance(entry, dict):
            raise where.fail(prefix, entry, "a mapping with id and treatment")
        keys = ("id", "treatment", "label", "n_randomised", "n_analysed", "co_treatment", "needle_length_mm")
        _check_keys(where, f"{prefix}.", entry, (*keys, "notes"), ("id", "treatment"))
        arm_id = str(entry["id"])
        if not _ID.match(arm_id) or any(a.id == arm_id for a in arms):
            raise where.fail(
                f"{prefix}.id", entry["id"], "a short id (letters, digits) unique within the study"
            )
        treatment = _choice(where, f"{prefix}.treatment", entry["treatment"], tuple(TREATMENTS))
        arm = StudyArm(
            id=arm_id,
            treatment=treatment,
            label=_text(where, f"{prefix}.label", entry.get("label")),
            n_randomised=_number(where, f"{prefix}.n_randomised", entry.get("n_randomised"), prov),
            n_analysed=_number(where, f"{prefix}.n_analysed", entry.get("n_analysed"), prov),
            co_treatment=_text(where, f"{prefix}.co_treatment", entry.get("co_treatment")),
            needle_length_mm=_number(
                where, f"{prefix}.needle_length_mm", entry.get("needle_length_mm"), prov
            ),
            notes=_text(where, f"{prefix}.notes", entry.get("notes")),
        )
        if arm.n_analysed.known and arm.n_randomised.known and arm.n_analysed.value > arm.n_randomised.value:
            raise where.fail(
                f"{prefix}.n_analysed.value",
                arm.n_analysed.value,
                f"<= n_randomised ({arm.n_randomised.value:g}); more people cannot be analysed than randomised",
            )
        arms.append(arm)
    return tuple(arms)


_ROB_ORDER = {"low": 0, "no_information": 1, "some_concerns": 1, "high": 2}


def _rob2(where: _Where, raw: Any) -> RiskOfBias | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise where.fail("rob2", raw, "a mapping of RoB 2 domains")
    keys = (*ROB2_DOMAINS, "overall", "basis")
    _check_keys(where, "rob2.", raw, keys, keys)
    values = {d: _choice(where, f"rob2.{d}", raw[d], ROB2_JUDGEMENTS) for d in (*ROB2_DOMAINS, "overall")}
    worst = max(_ROB_ORDER[values[d]] for d in ROB2_DOMAINS)
    if _ROB_ORDER[values["overall"]] < worst:
        raise where.fail(
            "rob2.overall", values["overall"], "no better than the worst domain (RoB 2 overall algorithm)"
        )
    return RiskOfBias(**values, basis=_text(where, "rob2.basis", raw["basis"], required=True))


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
    "sources",
    "provenance",
    "arms",
    "rob2",
    "access",
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


def _study_provenance(where: _Where, raw: dict, urls: tuple[str, ...]) -> _Provenance:
    sources_raw = raw.get("sources") or {}
    if not isinstance(sources_raw, dict):
        raise where.fail("sources", sources_raw, "a mapping of short names to URLs")
    sources: dict[str, str] = {}
    for key, url in sources_raw.items():
        if not _ID.match(str(key)):
            raise where.fail("sources", key, "short names made of letters, digits, '_', '.' or '-'")
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise where.fail(f"sources.{key}", url, "an http(s) URL")
        sources[str(key)] = url
    prov = _Provenance(sources, frozenset(urls) | frozenset(sources.values()))
    default = raw.get("provenance")
    if default is None:
        return prov
    if not isinstance(default, dict):
        raise where.fail("provenance", default, "a mapping {source, location}")
    _check_keys(where, "provenance.", default, ("source", "location"), ())
    return prov.with_defaults(where, "provenance.", default)


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
    prov = _study_provenance(where, raw, urls)
    arms = _study_arms(where, raw.get("arms"), prov)
    arm_map = {a.id: a for a in arms}
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
        "sources": tuple(prov.sources.items()),
        "arms": arms,
        "rob2": _rob2(where, raw.get("rob2")),
        "access": None if raw.get("access") is None else _choice(where, "access", raw["access"], ACCESS),
        "outcomes": tuple(
            _outcome(where, f"outcomes[{i}]", o, comparison_ids or set(), prov, arm_map)
            for i, o in enumerate(outcomes_raw)
        ),
    }
    for name in _STUDY_NUMBERS:
        values[name] = _number(where, name, raw.get(name), prov)
    for name in _STUDY_TEXT:
        values[name] = _text(where, name, raw.get(name))
    study = Study(**values)
    for i, outcome in enumerate(study.outcomes):
        if outcome.paired and study.design != "split_scalp":
            raise where.fail(f"outcomes[{i}].paired", True, "false unless the study design is 'split_scalp'")
    _check_shared_arms(where, study)
    return study


def _check_shared_arms(where: _Where, study: Study) -> None:
    """An arm compared in two outcomes of the same measurement must carry the same numbers in both."""
    seen: dict[tuple, tuple[str, dict]] = {}
    for i, outcome in enumerate(study.outcomes):
        for side in ("intervention", "comparator"):
            arm = getattr(outcome, side)
            if arm.arm is None:
                continue
            key = (arm.arm, outcome.outcome, outcome.unit, outcome.value_type, outcome.time_weeks)
            values = {name: getattr(arm, name).value for name in ARM_NUMBER_FIELDS}
            if key in seen and seen[key][1] != values:
                first, old = seen[key]
                field = next(n for n in ARM_NUMBER_FIELDS if old[n] != values[n])
                raise where.fail(
                    f"outcomes[{i}].{side}.{field}",
                    values[field],
                    f"{old[field]!r} as in {first} (the same arm {arm.arm!r} and outcome must report the same value)",
                )
            seen.setdefault(key, (f"outcomes[{i}].{side}", values))


def _comparison(path: str, index: int, raw: Any) -> Comparison:
    where = _Where(path, "comparisons", index, raw.get("id") if isinstance(raw, dict) else None)
    if not isinstance(raw, dict):
        raise where.fail("(comparison)", raw, "a mapping")
    keys = ("id", "title", "outcome", "measure", "unit")
    _check_keys(where, "", raw, (*keys, "pool_from"), keys)
    if not _ID.match(str(raw["id"])):
        raise where.fail("id", raw["id"], "letters, digits, '_', '.' or '-'")
    return Comparison(
        id=str(raw["id"]),
        title=str(raw["title"]),
        outcome=str(raw["outcome"]),
        measure=_choice(where, "measure", raw["measure"], MEASURES),
        unit=_choice(where, "unit", raw["unit"], UNITS),
        pool_from=_text_list(where, "pool_from", raw.get("pool_from")),
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
    "treatments",
    "network",
    "included_studies",
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
    treatments = _text_list(where, "treatments", raw.get("treatments"))
    if treatments and (len(treatments) != 2 or any(t not in TREATMENTS for t in treatments)):
        raise where.fail(
            "treatments", list(treatments), "two treatments of the controlled list (intervention, comparator)"
        )
    network = raw.get("network")
    if network is not None:
        from regrow.evidence._network_specs import NETWORK_IDS

        if network not in NETWORK_IDS or not treatments:
            raise where.fail("network", network, f"one of {', '.join(NETWORK_IDS)}, given with 'treatments'")
    included = raw.get("included_studies")
    if included is not None:
        included = _text_list(where, "included_studies", included)
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
        treatments=treatments,
        network=network,
        included_studies=included,
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
    for i, comp in enumerate(comparisons):
        for other in comp.pool_from:
            if other not in ids or other == comp.id:
                where = _Where(path, "comparisons", i + 1, comp.id)
                raise where.fail("pool_from", other, "the id of another comparison in this file")
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
    for i, ma in enumerate(published):
        for sid in ma.included_studies or ():
            if sid not in seen:
                where = _Where(path, "published_meta_analyses", i + 1, ma.id)
                raise where.fail("included_studies", sid, "the id of a study in this file")
    return EvidenceData(
        data_version=str(raw.get("data_version", "unversioned")),
        comparisons=comparisons,
        sd_donors=donors,
        studies=tuple(studies),
        published=published,
        source=path,
    )
