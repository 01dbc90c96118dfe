"""The bundled evidence file: it loads, matches the shared extraction, and broken rows give clear errors."""

from __future__ import annotations

import copy
import csv
import re

import pytest
import yaml

from regrow.errors import DataFileError
from regrow.evidence._trials import bundled_path, dump_data, load_data, parse_data


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(bundled_path().read_text(encoding="utf-8"))


def test_bundled_file_loads_and_round_trips():
    data = load_data(bundled_path())
    assert len(data.studies) == 23
    assert {m.id for m in data.published} >= {"MA1", "MA1b", "MA2", "MA3", "MA4", "MA5", "MA6", "SR1"}
    assert all(s.urls for s in data.studies)
    assert parse_data(yaml.safe_load(dump_data(data))) == data


def test_every_trial_in_the_shared_extraction_is_bundled(shared_dir):
    with open(shared_dir / "evidence" / "trials-extraction.csv", newline="", encoding="utf-8") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    data = load_data(bundled_path())
    assert {s.id for s in data.studies} == set(rows)


def _first_number(text):
    match = re.search(r"-?\d+(\.\d+)?", text)
    return None if match is None else float(match.group())


@pytest.mark.parametrize("study_id", ["T1", "T2", "T4", "T12", "T14", "AA1"])
def test_reported_means_match_the_extraction_csv(shared_dir, study_id):
    with open(shared_dir / "evidence" / "trials-extraction.csv", newline="", encoding="utf-8") as fh:
        row = next(r for r in csv.DictReader(fh) if r["id"] == study_id)
    outcome = load_data(bundled_path()).study(study_id).outcomes[0]
    assert outcome.intervention.mean.value == _first_number(row["int_value"])
    assert outcome.comparator.mean.value == _first_number(row["comp_value"])


def test_unverified_numbers_stay_missing(shared_dir):
    data = load_data(bundled_path())
    t1 = data.study("T1").outcomes[0]
    # The extraction marks Dhurat's SDs and per-arm n UNVERIFIED: they must not be filled in.
    for arm in (t1.intervention, t1.comparator):
        assert arm.sd.value is None and arm.sd.status == "unverified"
        assert arm.n.value is None
    assert data.study("T7").outcomes[0].intervention.mean.value is None
    assert data.study("T4").year.value is None


def _broken(raw, path, value):
    doc = copy.deepcopy(raw)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "needles"),
    [
        (
            ["studies", 3, "outcomes", 0, "intervention", "sd"],
            {"value": -1, "status": "abstract"},
            ["study 'T4'", "studies entry 4", "outcomes[0].intervention.sd.value", "-1", "> 0"],
        ),
        (
            ["studies", 0, "needle_length_mm"],
            {"value": 12.0, "status": "abstract"},
            ["study 'T1'", "needle_length_mm.value", "12.0", "(0, 3.0] mm"],
        ),
        (["studies", 1, "outcomes", 0, "unit"], "hairs/m2", ["study 'T2'", "outcomes[0].unit", "hairs/m2"]),
        (
            ["studies", 1, "outcomes", 0, "intervention", "mean"],
            {"value": 3.0, "status": "unverified"},
            ["study 'T2'", "intervention.mean.status", "unverified numbers stay empty"],
        ),
        (
            ["studies", 1, "outcomes", 0, "intervention", "mean"],
            {"value": None, "status": "abstract"},
            ["intervention.mean.value", "needs a value"],
        ),
        (["studies", 2, "urls"], [], ["study 'T3'", "'urls'", "source URL"]),
        (["studies", 2, "desing"], "parallel", ["study 'T3'", "'desing'", "a known field"]),
        (
            ["studies", 10, "outcomes", 0, "intervention", "events"],
            {"value": 40, "status": "abstract"},
            ["study 'T11'", "intervention.events.value", "<= n (31)"],
        ),
        (
            ["studies", 0, "outcomes", 0, "comparison"],
            "mn_magic",
            ["study 'T1'", "outcomes[0].comparison", "mn_magic"],
        ),
    ],
)
def test_a_broken_row_names_the_study_and_field(raw, path, value, needles):
    with pytest.raises(DataFileError) as info:
        parse_data(_broken(raw, path, value), path="evidence.yaml")
    message = str(info.value)
    for needle in needles:
        assert needle in message, message
    assert info.value.column is not None


def test_duplicate_ids_are_rejected(raw):
    doc = copy.deepcopy(raw)
    doc["studies"][1]["id"] = "T1"
    with pytest.raises(DataFileError, match=r"study 'T1' \(studies entry 2\), field 'id'.*unique"):
        parse_data(doc)


def test_invalid_yaml_reports_the_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nstudies: [\n  {id: T1\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"bad.yaml: not valid YAML at line \d+"):
        load_data(bad)


def test_wrong_schema_version(raw):
    doc = dict(raw, schema_version=99)
    with pytest.raises(DataFileError, match=r"schema_version.*99.*must be 1"):
        parse_data(doc)
