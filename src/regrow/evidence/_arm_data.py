"""Arm-level data for a network meta-analysis: one row per study, arm and outcome, each arm counted once.

The evidence file stores outcomes as pairwise contrasts (intervention vs comparator) because the pairwise
review needs them. A network model needs each arm once: an arm shared by two contrasts (Jha 2019 arm C is
compared with arm A and with arm B) must not enter twice. :func:`arm_rows` collects the arms of every outcome,
merges copies of the same arm (same study, arm id, outcome, unit, value type and time point) and refuses copies
that disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from regrow.errors import DataFileError
from regrow.evidence._trials import ARM_NUMBER_FIELDS, TREATMENTS, Arm, EvidenceData, Number, Outcome, Study

__all__ = ["ArmRow", "arm_rows", "network_treatments"]


@dataclass(frozen=True)
class ArmRow:
    """One arm of one study for one outcome, with the numbers as reported (each with its provenance)."""

    study_id: str
    arm_id: str
    treatment: str
    condition: str
    design: str
    outcome: str
    unit: str
    value_type: str
    time_weeks: float | None
    comparisons: tuple[str, ...]
    numbers: tuple[tuple[str, Number], ...]

    def number(self, name: str) -> Number:
        """The named number (``n``, ``mean``, ``sd``, ...); unverified when the arm does not report it."""
        return dict(self.numbers)[name]

    @property
    def treatment_label(self) -> str:
        return TREATMENTS[self.treatment]


def _key(study: Study, outcome: Outcome, arm: Arm) -> tuple:
    return (study.id, arm.arm, outcome.outcome, outcome.unit, outcome.value_type, outcome.time_weeks)


def _values(arm: Arm) -> dict[str, float | None]:
    return {name: getattr(arm, name).value for name in ARM_NUMBER_FIELDS}


def arm_rows(data: EvidenceData, *, comparisons: set[str] | None = None) -> list[ArmRow]:
    """Every arm of every outcome once, in file order.

    Parameters
    ----------
    data : EvidenceData
    comparisons : set of str, optional
        Keep only outcomes filed under these comparison ids.

    Returns
    -------
    list of ArmRow
        Arms of studies that list their arms; outcome arms without an ``arm`` id are skipped (they cannot be
        placed in a network).

    Raises
    ------
    DataFileError
        When two outcomes carry different numbers for the same arm, outcome and time point.
    """
    rows: dict[tuple, ArmRow] = {}
    for study in data.studies:
        arms = {a.id: a for a in study.arms}
        for outcome in study.outcomes:
            if comparisons is not None and outcome.comparison not in comparisons:
                continue
            for arm in (outcome.intervention, outcome.comparator):
                if arm.arm is None or arm.arm not in arms:
                    continue
                key = _key(study, outcome, arm)
                numbers = tuple((name, getattr(arm, name)) for name in ARM_NUMBER_FIELDS)
                if key in rows:
                    old = rows[key]
                    if {n: v.value for n, v in old.numbers} != _values(arm):
                        raise DataFileError(
                            f"{data.source}: study {study.id!r}, arm {arm.arm!r}: outcome {outcome.outcome!r} "
                            f"at {outcome.time_weeks} weeks carries different numbers in two comparisons; "
                            "the same arm must report the same values.",
                            path=data.source,
                            column=f"arm {arm.arm}",
                        )
                    rows[key] = ArmRow(
                        **{**old.__dict__, "comparisons": (*old.comparisons, outcome.comparison)}
                    )
                    continue
                rows[key] = ArmRow(
                    study_id=study.id,
                    arm_id=arm.arm,
                    treatment=arms[arm.arm].treatment,
                    condition=study.condition,
                    design=study.design,
                    outcome=outcome.outcome,
                    unit=outcome.unit,
                    value_type=outcome.value_type,
                    time_weeks=outcome.time_weeks,
                    comparisons=(outcome.comparison,),
                    numbers=numbers,
                )
    return list(rows.values())


def network_treatments(data: EvidenceData, *, condition: str | None = None) -> dict[str, int]:
    """How many studies randomise (or allocate) people to each treatment of the controlled list.

    Parameters
    ----------
    data : EvidenceData
    condition : str, optional
        Count only studies of this condition (``"AA"`` forms a separate network from pattern hair loss).

    Returns
    -------
    dict
        Treatment id -> number of studies with an arm of that treatment, most frequent first.
    """
    counts: dict[str, int] = {}
    for study in data.studies:
        if condition is not None and study.condition != condition:
            continue
        for treatment in {a.treatment for a in study.arms}:
            counts[treatment] = counts.get(treatment, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
