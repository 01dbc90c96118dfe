"""Arm-level rows for the network: shared arms enter once, conflicting copies are refused, the treatments cover
the issue's list."""

from __future__ import annotations

import dataclasses

import pytest

from regrow.errors import DataFileError
from regrow.evidence._arm_data import arm_rows, network_treatments
from regrow.evidence._trials import Number, bundled_path, load_data


@pytest.fixture(scope="module")
def data():
    return load_data(bundled_path())


def test_an_arm_shared_by_two_comparisons_enters_once(data):
    rows = [r for r in arm_rows(data) if r.study_id == "T11"]
    assert sorted((r.arm_id, r.treatment) for r in rows) == [
        ("A", "minoxidil"),
        ("B", "prp_minoxidil"),
        ("C", "mn_prp_minoxidil"),
    ]
    arm_c = next(r for r in rows if r.arm_id == "C")
    assert arm_c.comparisons == ("mn_mx_vs_mx_responders", "mn_prp_vs_prp_responders")
    assert arm_c.number("events").value == 26 and arm_c.number("n").value == 31
    # Three-arm T14: the PRP + MN arm carries its numbers and their provenance once.
    t14 = {r.arm_id: r for r in arm_rows(data) if r.study_id == "T14"}
    assert set(t14) == {"A", "B", "C"}
    assert t14["A"].number("mean").value == 22.1 and t14["A"].number("mean").has_provenance


def test_rows_can_be_limited_to_comparisons(data):
    rows = arm_rows(data, comparisons={"mn_mx_vs_mx_density"})
    assert {r.comparisons for r in rows} == {("mn_mx_vs_mx_density",)}
    assert {r.treatment for r in rows} == {"minoxidil", "mn_minoxidil", "mn_other_topical_minoxidil"}


def test_conflicting_copies_of_an_arm_are_refused(data):
    t11 = data.study("T11")
    second = t11.outcomes[1]
    changed = dataclasses.replace(
        second, intervention=dataclasses.replace(second.intervention, events=Number(25.0, "abstract"))
    )
    bad = dataclasses.replace(t11, outcomes=(t11.outcomes[0], changed))
    broken = dataclasses.replace(data, studies=tuple(bad if s.id == "T11" else s for s in data.studies))
    with pytest.raises(DataFileError, match=r"study 'T11', arm 'C'.*different numbers"):
        arm_rows(broken)


def test_the_pattern_hair_loss_network_has_every_treatment_the_issue_names(data):
    agafphl = {**network_treatments(data, condition="AGA"), **network_treatments(data, condition="FPHL")}
    for treatment in ("minoxidil", "mn", "mn_minoxidil", "mn_prp", "prp", "mn_other_topical", "placebo"):
        assert agafphl.get(treatment, 0) >= 1, treatment
    aa = network_treatments(data, condition="AA")
    assert "intralesional_corticosteroid" in aa and "minoxidil" not in aa
