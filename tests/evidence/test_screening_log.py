"""The screening log: it loads, every included study is traceable, PRISMA counts add up, bad rows are named."""

from __future__ import annotations

import copy

import pytest
import yaml

from regrow.errors import DataFileError
from regrow.evidence._screening import (
    bundled_screening_path,
    check_against_evidence,
    load_screening,
    parse_screening,
    prisma_counts,
)
from regrow.evidence._trials import bundled_path, load_data


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(bundled_screening_path().read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def log():
    return load_screening()


@pytest.fixture(scope="module")
def data():
    return load_data(bundled_path())


def test_every_included_study_is_in_the_evidence_file_and_back(log, data):
    check_against_evidence(log, {s.id for s in data.studies})
    included = {r.study for r in log.records if r.decision == "included"}
    assert included == {s.id for s in data.studies}


def test_every_pooled_study_has_a_screening_record(log, data):
    from regrow.evidence._review import review

    pooled = {e.study_id for r in review(data) for e in r.effects}
    counts = prisma_counts(log, pooled_study_ids=pooled)
    assert counts.studies_in_meta_analysis == len(pooled) >= 13


def test_prisma_flow_adds_up(log):
    c = prisma_counts(log)
    identified = c.identified_databases + c.identified_registers + c.identified_other
    assert identified == len(log.records)
    assert c.screened == identified - c.duplicates_removed
    assert c.sought == c.screened - c.excluded_screening
    assert c.assessed == c.sought - c.not_retrieved
    assert c.assessed == sum(c.excluded_eligibility.values()) + c.reports_included
    assert c.studies_included == 26
    assert max(c.to_dict()["excluded_eligibility"].values()) == next(
        iter(c.to_dict()["excluded_eligibility"].values())
    )


def test_counts_of_a_small_log_by_hand():
    doc = {
        "schema_version": 1,
        "queries": {"q1": "microneedling minoxidil"},
        "records": [
            {"id": "a", "title": "A", "url": "https://x.org/a", "found_by": {"method": "search", "query": "q1"},
             "decision": "included", "assessed_on": "abstract", "study": "T1"},
            {"id": "b", "title": "A copy", "url": "https://y.org/a", "found_by": {"method": "search", "query": "q1"},
             "decision": "duplicate", "duplicate_of": "a"},
            {"id": "c", "title": "C", "url": "https://x.org/c", "found_by": {"method": "register"},
             "decision": "excluded_screening", "reason": "no micro-needling arm"},
            {"id": "d", "title": "D", "identifier": "PMID 1", "found_by": {"method": "citation"},
             "decision": "not_retrieved", "reason": "not found"},
            {"id": "e", "title": "E", "url": "https://x.org/e", "found_by": {"method": "previous_extraction"},
             "decision": "excluded_eligibility", "assessed_on": "abstract", "reason": "single arm"},
            {"id": "f", "title": "F", "url": "https://x.org/f", "found_by": {"method": "search", "query": "q1"},
             "decision": "included", "assessed_on": "full_text", "study": "T1"},
        ],
    }  # fmt: skip
    c = prisma_counts(parse_screening(doc), pooled_study_ids={"T1", "T9"})
    # 3 via search, 1 via a register, 2 via other methods; 1 duplicate -> 5 screened; 1 out at screening ->
    # 4 sought; 1 not retrieved -> 3 assessed; 1 excluded (single arm) -> 2 reports of 1 study, 1 pooled.
    assert (c.identified_databases, c.identified_registers, c.identified_other) == (3, 1, 2)
    assert (c.duplicates_removed, c.screened, c.excluded_screening) == (1, 5, 1)
    assert (c.sought, c.not_retrieved, c.assessed) == (4, 1, 3)
    assert c.excluded_eligibility == {"single arm": 1}
    assert (c.studies_included, c.reports_included, c.studies_in_meta_analysis) == (1, 2, 1)


def _broken(raw, index, key, value):
    doc = copy.deepcopy(raw)
    if value is None:
        doc["records"][index].pop(key, None)
    else:
        doc["records"][index][key] = value
    return doc


@pytest.mark.parametrize(
    ("index", "key", "value", "needles"),
    [
        (0, "decision", "maybe", ["record 'S001'", "'decision'", "'maybe'", "included"]),
        (0, "study", None, ["record 'S001'", "'study'", "decision is 'included'"]),
        (1, "duplicate_of", "S002", ["record 'S002'", "'duplicate_of'", "non-duplicate record"]),
        (1, "duplicate_of", "S999", ["record 'S002'", "'duplicate_of'", "'S999'"]),
        (0, "found_by", {"method": "search", "query": "q99"}, ["record 'S001'", "found_by.query", "'q99'"]),
        (0, "found_by", {"method": "search"}, ["record 'S001'", "found_by.query", "method 'search'"]),
        (0, "found_by", {"method": "google"}, ["record 'S001'", "found_by.method", "'google'"]),
        (0, "url", "ftp://x", ["record 'S001'", "'url'", "http(s) URL"]),
        (0, "assessed_on", "rumour", ["record 'S001'", "'assessed_on'", "'rumour'"]),
        (49, "reason", None, ["record 'S050'", "'reason'", "excluded_eligibility"]),
        (0, "colour", "red", ["record 'S001'", "'colour'", "a known field"]),
    ],
)
def test_a_broken_record_names_itself_and_the_field(raw, index, key, value, needles):
    with pytest.raises(DataFileError) as info:
        parse_screening(_broken(raw, index, key, value), path="screening.yaml")
    for needle in needles:
        assert needle in str(info.value), str(info.value)


def test_a_record_without_url_or_identifier_is_refused(raw):
    doc = copy.deepcopy(raw)
    doc["records"][0].pop("url")
    with pytest.raises(DataFileError, match=r"record 'S001'.*'url'.*identifier"):
        parse_screening(doc)


def test_an_included_record_for_an_unknown_study_is_refused(log):
    with pytest.raises(DataFileError, match=r"record 'S001'.*'study'.*'T1'"):
        check_against_evidence(log, {"T2"})


def test_a_study_without_an_included_record_is_refused(log, data):
    with pytest.raises(DataFileError, match=r"studies X1 .*no 'included' record"):
        check_against_evidence(log, {s.id for s in data.studies} | {"X1"})
