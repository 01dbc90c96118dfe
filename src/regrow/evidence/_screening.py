"""The screening log: every record the review considered, what was decided, and the PRISMA 2020 flow counts.

The log lives in ``regrow/evidence/data/screening.yaml``. Each record is one copy of one report found by one
method (a search of the stored pages, a trial registry, a review's table, or the session-1 extraction); copies
of a report already logged are marked ``duplicate``. Counts follow the PRISMA 2020 flow diagram (Page et al.
2021, BMJ 372:n71, doi:10.1136/bmj.n71): records identified (databases and registers vs other methods),
duplicates removed, records screened and excluded, reports sought and not retrieved, reports assessed and
excluded with reasons, and studies and reports included.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from regrow.errors import DataFileError

__all__ = [
    "ASSESSED_ON",
    "DECISIONS",
    "METHODS",
    "PrismaCounts",
    "ScreeningLog",
    "ScreeningRecord",
    "bundled_screening_path",
    "check_against_evidence",
    "load_screening",
    "parse_screening",
    "prisma_counts",
]

#: How a record was found. PRISMA's left column ("databases and registers") holds search and register; the
#: right column ("other methods") holds citation searching and the session-1 extraction.
METHODS = ("search", "register", "citation", "previous_extraction")
DATABASE_METHODS = ("search", "register")
DECISIONS = ("duplicate", "excluded_screening", "not_retrieved", "excluded_eligibility", "included")
#: What was read to make an eligibility decision.
ASSESSED_ON = ("full_text", "abstract", "secondary", "registry")
SCREENING_NAME = "screening.yaml"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


@dataclass(frozen=True)
class ScreeningRecord:
    """One record considered by the review."""

    id: str
    title: str
    method: str
    decision: str
    url: str | None = None
    identifier: str | None = None
    query: str | None = None
    duplicate_of: str | None = None
    reason: str | None = None
    assessed_on: str | None = None
    study: str | None = None


@dataclass(frozen=True)
class ScreeningLog:
    """The whole log: when and how it was searched, the queries and the records."""

    searched: str
    queries: tuple[tuple[str, str], ...]
    records: tuple[ScreeningRecord, ...]
    source: str = SCREENING_NAME

    def record(self, record_id: str) -> ScreeningRecord:
        for rec in self.records:
            if rec.id == record_id:
                return rec
        raise KeyError(record_id)


@dataclass(frozen=True)
class PrismaCounts:
    """The numbers of a PRISMA 2020 flow diagram (new review, databases/registers and other methods)."""

    identified_databases: int
    identified_registers: int
    identified_other: int
    duplicates_removed: int
    screened: int
    excluded_screening: int
    sought: int
    not_retrieved: int
    assessed: int
    excluded_eligibility: dict[str, int]
    studies_included: int
    reports_included: int
    studies_in_meta_analysis: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts, with the exclusion reasons most frequent first."""
        out = dict(self.__dict__)
        out["excluded_eligibility"] = dict(sorted(self.excluded_eligibility.items(), key=lambda kv: -kv[1]))
        return out


def _fail(path: str, index: int | None, ident: Any, field: str, value: Any, allowed: str) -> DataFileError:
    entry = "" if index is None else f"record {ident!r} (records entry {index}), "
    return DataFileError(
        f"{path}: {entry}field {field!r}: invalid value {value!r}; must be {allowed}.",
        path=path,
        row=index,
        column=field,
    )


def _text(path, index, ident, field, value, *, required=False) -> str | None:
    if value is None or value == "":
        if required:
            raise _fail(path, index, ident, field, value, "a non-empty text")
        return None
    if not isinstance(value, str):
        raise _fail(path, index, ident, field, value, "text")
    return value


def _record(path: str, index: int, raw: Any, queries: dict[str, str]) -> ScreeningRecord:
    ident = raw.get("id") if isinstance(raw, dict) else None
    if not isinstance(raw, dict):
        raise _fail(path, index, ident, "(record)", raw, "a mapping")
    allowed = (
        "id",
        "title",
        "url",
        "identifier",
        "found_by",
        "decision",
        "duplicate_of",
        "reason",
        "assessed_on",
        "study",
    )
    for key in raw:
        if key not in allowed:
            raise _fail(path, index, ident, key, raw[key], f"a known field (one of {', '.join(allowed)})")
    if not isinstance(ident, str) or not _ID.match(ident):
        raise _fail(path, index, ident, "id", ident, "a short id of letters, digits, '_', '.' or '-'")
    url = _text(path, index, ident, "url", raw.get("url"))
    identifier = _text(path, index, ident, "identifier", raw.get("identifier"))
    if url is None and identifier is None:
        raise _fail(path, index, ident, "url", None, "an http(s) URL, or an identifier when no URL was seen")
    if url is not None and not re.match(r"^https?://", url):
        raise _fail(path, index, ident, "url", url, "an http(s) URL")
    found = raw.get("found_by")
    if not isinstance(found, dict) or found.get("method") not in METHODS:
        value = found.get("method") if isinstance(found, dict) else found
        raise _fail(path, index, ident, "found_by.method", value, f"one of {', '.join(METHODS)}")
    query = found.get("query")
    if query is not None and query not in queries:
        raise _fail(path, index, ident, "found_by.query", query, "the key of a query listed under 'queries'")
    if found["method"] == "search" and query is None:
        raise _fail(path, index, ident, "found_by.query", None, "the query that found it (method 'search')")
    decision = raw.get("decision")
    if decision not in DECISIONS:
        raise _fail(path, index, ident, "decision", decision, f"one of {', '.join(DECISIONS)}")
    rec = ScreeningRecord(
        id=ident,
        title=_text(path, index, ident, "title", raw.get("title"), required=True),
        method=found["method"],
        decision=decision,
        url=url,
        identifier=identifier,
        query=query,
        duplicate_of=_text(path, index, ident, "duplicate_of", raw.get("duplicate_of")),
        reason=_text(path, index, ident, "reason", raw.get("reason")),
        assessed_on=raw.get("assessed_on"),
        study=_text(path, index, ident, "study", raw.get("study")),
    )
    _check_decision(path, index, rec)
    return rec


def _check_decision(path: str, index: int, rec: ScreeningRecord) -> None:
    needs = {
        "duplicate": ("duplicate_of",),
        "excluded_screening": ("reason",),
        "not_retrieved": ("reason",),
        "excluded_eligibility": ("reason", "assessed_on"),
        "included": ("study", "assessed_on"),
    }[rec.decision]
    for field in needs:
        if getattr(rec, field) is None:
            raise _fail(path, index, rec.id, field, None, f"given when the decision is {rec.decision!r}")
    if rec.assessed_on is not None and rec.assessed_on not in ASSESSED_ON:
        raise _fail(path, index, rec.id, "assessed_on", rec.assessed_on, f"one of {', '.join(ASSESSED_ON)}")
    if rec.study is not None and rec.decision != "included":
        raise _fail(path, index, rec.id, "study", rec.study, "omitted unless the decision is 'included'")


def parse_screening(raw: Any, *, path: str = SCREENING_NAME) -> ScreeningLog:
    """Validate a screening log document and build a :class:`ScreeningLog`.

    Raises
    ------
    DataFileError
        Naming the record and field at fault.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("records"), list):
        raise DataFileError(f"{path}: the file must hold a mapping with a 'records' list.", path=path)
    if raw.get("schema_version") != 1:
        raise _fail(path, None, None, "schema_version", raw.get("schema_version"), "1")
    queries = raw.get("queries") or {}
    if not isinstance(queries, dict) or not all(isinstance(v, str) for v in queries.values()):
        raise _fail(path, None, None, "queries", queries, "a mapping of query keys to query texts")
    records = [_record(path, i + 1, r, queries) for i, r in enumerate(raw["records"])]
    ids = [r.id for r in records]
    by_id = {r.id: r for r in records}
    for i, rec in enumerate(records):
        if ids.count(rec.id) > 1:
            raise _fail(path, i + 1, rec.id, "id", rec.id, "unique (another record uses it)")
        if rec.duplicate_of is not None:
            target = by_id.get(rec.duplicate_of)
            if target is None or target.decision == "duplicate":
                raise _fail(
                    path,
                    i + 1,
                    rec.id,
                    "duplicate_of",
                    rec.duplicate_of,
                    "the id of a logged, non-duplicate record",
                )
    return ScreeningLog(
        searched=str(raw.get("searched", "")),
        queries=tuple((str(k), v) for k, v in queries.items()),
        records=tuple(records),
        source=path,
    )


def bundled_screening_path() -> Path:
    """The screening log shipped with the package."""
    return Path(str(resources.files("regrow.evidence") / "data" / SCREENING_NAME))


def load_screening(path: str | Path | None = None) -> ScreeningLog:
    """Load and validate a screening log (the bundled one when ``path`` is omitted)."""
    from regrow.evidence._trials import read_yaml

    path = bundled_screening_path() if path is None else Path(path)
    name = path.name if path == bundled_screening_path() else str(path)
    return parse_screening(read_yaml(path, name), path=name)


def check_against_evidence(log: ScreeningLog, study_ids: set[str] | frozenset[str]) -> None:
    """Every included record names a study of the evidence file, and every study has an included record.

    Raises
    ------
    DataFileError
        Naming the record or study that does not match.
    """
    included = {r.study for r in log.records if r.decision == "included"}
    for i, rec in enumerate(log.records):
        if rec.decision == "included" and rec.study not in study_ids:
            raise _fail(
                log.source, i + 1, rec.id, "study", rec.study, "the id of a study in the evidence file"
            )
    missing = sorted(set(study_ids) - included)
    if missing:
        raise DataFileError(
            f"{log.source}: studies {', '.join(missing)} of the evidence file have no 'included' record; "
            "every included study must be traceable to a screened record.",
            path=log.source,
            column="study",
        )


def prisma_counts(log: ScreeningLog, *, pooled_study_ids: set[str] | None = None) -> PrismaCounts:
    """The PRISMA 2020 flow counts of a screening log.

    Parameters
    ----------
    log : ScreeningLog
    pooled_study_ids : set of str, optional
        Studies that give at least one pooled effect (from the review); fills ``studies_in_meta_analysis``.

    Returns
    -------
    PrismaCounts
        Each stage equals the previous one minus its exclusions, so the diagram adds up.
    """
    recs = log.records
    methods = Counter(r.method for r in recs)
    decisions = Counter(r.decision for r in recs)
    screened = len(recs) - decisions["duplicate"]
    sought = screened - decisions["excluded_screening"]
    assessed = sought - decisions["not_retrieved"]
    reasons = Counter(r.reason for r in recs if r.decision == "excluded_eligibility")
    included = [r for r in recs if r.decision == "included"]
    studies = {r.study for r in included}
    return PrismaCounts(
        identified_databases=methods["search"],
        identified_registers=methods["register"],
        identified_other=methods["citation"] + methods["previous_extraction"],
        duplicates_removed=decisions["duplicate"],
        screened=screened,
        excluded_screening=decisions["excluded_screening"],
        sought=sought,
        not_retrieved=decisions["not_retrieved"],
        assessed=assessed,
        excluded_eligibility=dict(reasons),
        studies_included=len(studies),
        reports_included=len(included),
        studies_in_meta_analysis=None if pooled_study_ids is None else len(studies & set(pooled_study_ids)),
    )
