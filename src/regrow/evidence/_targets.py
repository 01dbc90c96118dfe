"""The targets issue #16 set for the review, checked against the data, with the reasons where one is not met.

Each target is recomputed from the evidence, the screening log and the results, so the table changes as
trials are added; the reasons name the trials and records that stand in the way.
"""

from __future__ import annotations

from typing import Any

from regrow.evidence._trials import TREATMENTS, EvidenceData

__all__ = ["NAMED_TREATMENTS", "review_targets"]

#: Issue #16: ">= 8 trials, most with SDs from full text or a documented conversion" in the main comparison.
MIN_TRIALS_MAIN = 8
#: Issue #16: distinct trials pooled ">= the largest published review (13 RCTs)" (Pei 2024, 13 RCTs).
MIN_DISTINCT_TRIALS = 13
MAIN_COMPARISONS = ("mn_mx_vs_mx_density", "mn_mx_vs_mx_density_smd")
#: The seven treatments issue #16 names as network nodes.
NAMED_TREATMENTS = ("minoxidil", "mn", "mn_minoxidil", "mn_prp", "prp", "mn_other_topical", "placebo")
_CONVERSIONS = ("exact p", "from the SE", "from the 95% CI", "baseline/end SDs", "median", "five-number")


def _sd_basis(effect, study) -> str:
    """Where a pooled effect's spread comes from: ``imputed``, ``documented conversion``, ``full text`` or
    ``reported (<statuses>)`` (e.g. read from an abstract)."""
    if any("SD imputed" in t or "correlation imputed" in t for t in effect.imputed):
        return "imputed"
    if any(any(c in d for c in _CONVERSIONS) for d in effect.derivation):
        return "documented conversion"
    statuses = {
        getattr(getattr(o, side), f).status
        for o in study.outcomes
        for side in ("intervention", "comparator")
        for f in ("sd", "se", "ci_low", "baseline_sd", "end_sd")
        if getattr(getattr(o, side), f).known
    }
    return "full text" if statuses == {"full_text"} else "reported (" + ", ".join(sorted(statuses)) + ")"


def _main_target(data: EvidenceData, by_comp, screening) -> dict[str, Any]:
    studies = {s.id: s for s in data.studies}
    parts, reasons, met = [], [], True
    for cid in MAIN_COMPARISONS:
        r = by_comp.get(cid)
        if r is None:
            continue
        bases = [_sd_basis(e, studies[e.study_id]) for e in r.effects]
        full = sum(b in ("full text", "documented conversion") for b in bases)
        parts.append(
            f"{r.comparison.measure} ({cid}): {len(r.effects)} trials ({', '.join(e.study_id for e in r.effects)}); "
            f"{full} with the SDs from full text or a documented conversion, "
            f"{bases.count('imputed')} with imputed SDs"
        )
        met &= len(r.effects) >= MIN_TRIALS_MAIN and full > len(r.effects) / 2
        for n in r.not_pooled:
            reasons.append(f"{n.study_id} {n.label}: {n.reason}")
    if screening is not None:
        for rec in screening.records:
            if rec.decision == "not_retrieved":
                reasons.append(f"screening {rec.id} ({rec.title}): {rec.reason}")
    return {
        "check": "trials in the MN + minoxidil vs minoxidil density comparison",
        "required": f">= {MIN_TRIALS_MAIN}, most with SDs from full text or a documented conversion",
        "reached": "; ".join(parts),
        "met": met,
        "why_not": list(dict.fromkeys(reasons)) if not met else [],
    }


def _distinct_target(results, networks, screening) -> dict[str, Any]:
    pooled = {e.study_id for r in results for e in r.effects} | {
        s.study_id for n in networks for s in n.studies
    }
    included = (
        set() if screening is None else {r.study for r in screening.records if r.decision == "included"}
    )
    missing = sorted(pooled - included) if screening is not None else []
    met = len(pooled) >= MIN_DISTINCT_TRIALS and not missing
    return {
        "check": "distinct trials pooled across all comparisons",
        "required": f">= {MIN_DISTINCT_TRIALS} (the largest published review named in issue #16, Pei 2024), each "
        "with a screening-log entry",
        "reached": f"{len(pooled)} ({', '.join(sorted(pooled))}); "
        + (
            "every one has an included screening record"
            if not missing
            else f"no screening record: {', '.join(missing)}"
        ),
        "met": met,
        "why_not": [] if met else [f"only {len(pooled)} studies give a usable effect"],
    }


def _treatment_target(data: EvidenceData, networks) -> dict[str, Any]:
    compared = {a.treatment for s in data.studies if s.condition in ("AGA", "FPHL") for a in s.arms}
    named = [t for t in NAMED_TREATMENTS if t in compared]
    with_data = {t for n in networks for t in n.treatments_with_data}
    missing = [t for t in named if t not in with_data]
    reasons = []
    for t in missing:
        why = {f"{e.study_id}: {e.reason}" for n in networks for e in n.excluded if t in e.treatments}
        reasons.append(
            f"{TREATMENTS[t]}: " + ("; ".join(sorted(why)) or "no study with a networked outcome includes it")
        )
    absent = [t for t in NAMED_TREATMENTS if t not in compared]
    return {
        "check": "network treatments",
        "required": "every treatment issue #16 names that any trial compares: " + ", ".join(NAMED_TREATMENTS),
        "reached": f"{len(named) - len(missing)} of the {len(named)} compared ones are in a fitted network "
        f"({', '.join(t for t in named if t in with_data)})"
        + (f"; not compared by any pattern-hair-loss trial: {', '.join(absent)}" if absent else ""),
        "met": not missing,
        "why_not": reasons,
    }


def review_targets(data: EvidenceData, results, networks, screening, coverage) -> list[dict[str, Any]]:
    """The issue's targets: what is required, what the data reach, whether it is met and, if not, why.

    Returns
    -------
    list of dict
        ``check``, ``required``, ``reached``, ``met`` and ``why_not`` (reasons naming trials and records).
    """
    by_comp = {r.comparison.id: r for r in results}
    provenance = {
        "check": "numbers with provenance (URL + location)",
        "required": "100% of pooled numbers",
        "reached": f"{coverage['with_provenance']} of {coverage['numbers']} reported numbers behind pooled results "
        f"({coverage['share']:.0%}); {coverage['imputations']} imputations listed with their rule or donor",
        "met": coverage["with_provenance"] == coverage["numbers"],
        "why_not": [f"{r['study']} {r['field']}: no URL or location" for r in coverage["missing"]],
    }
    return [
        _main_target(data, by_comp, screening),
        _distinct_target(results, networks, screening),
        _treatment_target(data, networks),
        provenance,
    ]
