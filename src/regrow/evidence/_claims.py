"""The article's claims, each checked against what the trials in the evidence file support, and how surely.

The seed article (``../shared/seed/microneedling-article.txt``) claims that micro-needling, with PRP or topical
medication, improves hair growth and density; that it thickens hair and reduces scalp inflammation; that results
vary with severity, duration and the frequency of sessions; that the benefit may be temporary; and, through its
tips, that it is safe with a sterile device and professional advice. Each verdict below is assembled from the
pairwise results (GRADE certainty), the network estimates (CINeMA confidence) and the study records; nothing in
it is written before the data are read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from regrow.evidence._grade import LEVELS
from regrow.evidence._trials import TREATMENTS, EvidenceData
from regrow.evidence._verdict import format_effect

__all__ = ["CLAIMS", "ClaimSpec", "claim_verdicts"]

_RANK = {label: level for level, label in LEVELS.items()}
#: Minoxidil's own gains fade after stopping: "lost within 24 weeks" (Price et al. 1999, J Am Acad Dermatol
#: 41(5):717-721, PMID 10534633), the reference point for the durability claim.
MINOXIDIL_WITHDRAWAL = (
    "For minoxidil itself, the hair gained was lost within 24 weeks of stopping (Price 1999, PMID 10534633)."
)


@dataclass(frozen=True)
class ClaimSpec:
    """One claim of the article and the evidence that speaks to it.

    ``pairwise`` names comparisons of the evidence file; ``network`` names (network id, treatment, comparator)
    estimates; ``kind`` says how the verdict is formed: ``effect``, ``inflammation``, ``durability``,
    ``moderators`` or ``safety``.
    """

    id: str
    claim: str
    kind: str = "effect"
    pairwise: tuple[str, ...] = ()
    network: tuple[tuple[str, str, str], ...] = ()


CLAIMS: tuple[ClaimSpec, ...] = (
    ClaimSpec(
        "density",
        "Micro-needling, combined with PRP or topical medication, improves hair growth and hair density.",
        pairwise=(
            "mn_mx_vs_mx_density",
            "mn_mx_vs_mx_density_smd",
            "mn_prp_vs_prp_density",
            "mn_prp_vs_mn_density",
        ),
        network=(
            ("density_smd", "mn_minoxidil", "minoxidil"),
            ("density_smd", "mn_prp", "prp"),
            ("density_smd", "mn_prp", "mn"),
        ),
    ),
    ClaimSpec(
        "thickness",
        "Micro-needling increases the thickness of hair.",
        pairwise=("mn_mx_vs_mx_diameter",),
        network=(("diameter_md", "mn_minoxidil", "minoxidil"),),
    ),
    ClaimSpec("inflammation", "Micro-needling reduces inflammation in the scalp.", kind="inflammation"),
    ClaimSpec(
        "durability",
        "The benefits may be temporary and need ongoing treatment to last.",
        kind="durability",
    ),
    ClaimSpec(
        "moderators",
        "Results vary with the severity of hair loss, the duration of treatment, the frequency of sessions "
        "(and the needle length).",
        kind="moderators",
        pairwise=("mn_mx_vs_mx_density", "mn_mx_vs_mx_density_smd", "mn_depth_deeper_vs_shallower"),
    ),
    ClaimSpec(
        "safety",
        "Micro-needling is safe when done with a sterile device and professional advice.",
        kind="safety",
    ),
)


def _pairwise_entry(r) -> dict[str, Any]:
    comp = r.comparison
    entry = {"source": "pairwise", "id": comp.id, "title": f"{comp.title} ({comp.outcome})"}
    p = r.pooled
    if p is None:
        return {**entry, "usable": False, "text": "no trial gives usable numbers", "certainty": "no evidence"}
    d = p.to_dict(ratio=r.ratio)
    null = 1.0 if r.ratio else 0.0
    text = (
        f"{format_effect(d['estimate'], comp.measure, comp.unit)} (95% CI "
        f"{format_effect(d['ci_lb'], comp.measure, comp.unit)} to {format_effect(d['ci_ub'], comp.measure, comp.unit)}), "
        f"{'pooled from ' + str(p.k) + ' trials' if p.k > 1 else 'one trial'}, {p.n_participants} people"
    )
    return {
        **entry,
        "usable": True,
        "text": text,
        "certainty": r.certainty.label,
        "favourable": d["ci_lb"] > null,
        "against": d["ci_ub"] < null,
    }


def _network_entry(nr, t1: str, t2: str) -> dict[str, Any]:
    spec = nr.spec
    entry = {
        "source": "network",
        "id": f"{spec.id}:{t1}:{t2}",
        "title": f"{TREATMENTS[t1]} vs {TREATMENTS[t2]}, network '{spec.title}'",
    }
    comp = nr.component_of(t1)
    if comp is None or t2 not in comp.treatments:
        return {
            **entry,
            "usable": False,
            "text": "not estimable: no usable trial links them",
            "certainty": "no evidence",
        }
    est = comp.estimate(t1, t2)
    t = math.exp if spec.ratio else (lambda v: v)
    lo, mid, hi = t(est["ci_lb"]), t(est["estimate"]), t(est["ci_ub"])
    unit = spec.unit
    text = (
        f"{format_effect(mid, spec.measure, unit)} (95% CI {format_effect(lo, spec.measure, unit)} to "
        f"{format_effect(hi, spec.measure, unit)})"
    )
    null = 1.0 if spec.ratio else 0.0
    return {
        **entry,
        "usable": True,
        "text": text,
        "certainty": comp.certainty[(t1, t2)].label,
        "favourable": lo > null,
        "against": hi < null,
    }


def _effect_verdict(entries: list[dict[str, Any]]) -> tuple[str, str]:
    usable = [e for e in entries if e["usable"]]
    if not usable:
        return (
            "No trial gives usable numbers, so the trials can neither support nor refute it.",
            "no evidence",
        )
    support = [e for e in usable if e["favourable"]]
    against = [e for e in usable if e["against"]]
    if support:
        best = max(support, key=lambda e: _RANK.get(e["certainty"], 0))
        if _RANK[best["certainty"]] >= 2:
            names = "; ".join(e["title"] for e in support if _RANK[e["certainty"]] >= 2)
            verdict = f"The trials support it, with {best['certainty']} certainty, for: {names}."
        else:
            names = "; ".join(e["title"] for e in support)
            verdict = (
                f"Some estimates point that way ({names}), but with very low certainty: we are very uncertain "
                "whether it is true."
            )
        others = [e for e in usable if not e["favourable"]]
        if others:
            verdict += f" {len(others)} other estimate{'s' if len(others) > 1 else ''} include{'' if len(others) > 1 else 's'} no effect."
        return verdict, best["certainty"]
    best = max(usable, key=lambda e: _RANK.get(e["certainty"], 0))
    if against:
        return ("The trials point the other way for " + "; ".join(e["title"] for e in against) + "."), best[
            "certainty"
        ]
    return (
        "The trials do not show it: every estimate's 95% CI includes no effect "
        f"(best certainty: {best['certainty']})."
    ), best["certainty"]


def _inflammation(data: EvidenceData) -> tuple[str, str, list[dict[str, Any]]]:
    outcomes = [(s, o) for s in data.studies for o in s.outcomes]
    hits = [(s, o) for s, o in outcomes if "inflam" in o.outcome.lower()]
    if not hits:
        return (
            f"No trial in the evidence file measured scalp inflammation ({len(data.studies)} studies, "
            f"{len(outcomes)} outcomes checked), so the claim cannot be checked against trial data.",
            "no evidence",
            [],
        )
    lines = [
        {
            "source": "study",
            "id": s.id,
            "title": f"{s.label}: {o.outcome}",
            "usable": False,
            "text": "an inflammation outcome (not pooled by the review)",
            "certainty": "not graded",
        }
        for s, o in hits
    ]
    return (
        f"{len(hits)} outcome(s) concern inflammation but none is pooled by the review.",
        "not graded",
        lines,
    )


def _durability(data: EvidenceData, by_comp) -> tuple[str, str, list[dict[str, Any]]]:
    lines = []
    for s in data.studies:
        if s.followup_after_treatment:
            lines.append(
                {
                    "source": "study",
                    "id": s.id,
                    "title": f"{s.label}: follow-up after treatment",
                    "usable": False,
                    "text": s.followup_after_treatment,
                    "certainty": "not graded",
                }
            )
    after = []
    for s in data.studies:
        if not s.duration_weeks.known:
            continue
        for o in s.outcomes:
            if o.time_weeks is not None and o.time_weeks > s.duration_weeks.value:
                r = by_comp.get(o.comparison)
                eff = next((e for e in (r.effects if r else ()) if e.study_id == s.id), None)
                what = (
                    "no usable numbers"
                    if eff is None
                    else (
                        f"difference {format_effect(eff.yi, r.comparison.measure, r.comparison.unit)} between arms"
                    )
                )
                after.append(
                    f"{s.label} ({s.id}) measured {o.outcome} at week {o.time_weeks:g}, "
                    f"{o.time_weeks - s.duration_weeks.value:g} weeks after treatment ended ({what})"
                )
    verdict = (
        "The trials do not test it: no comparison in the evidence file sets stopping against continuing, so "
        "whether the benefit fades is unknown."
    )
    if after:
        verdict += " Measured after the last session: " + "; ".join(after) + "."
    verdict += (
        f" {len(lines)} trial(s) report some follow-up after treatment (listed below). "
        + MINOXIDIL_WITHDRAWAL
    )
    return verdict, "no evidence", lines


def _moderators(data: EvidenceData, spec: ClaimSpec, by_comp) -> tuple[str, str, list[dict[str, Any]]]:
    lines = []
    tested = []
    for cid in spec.pairwise:
        r = by_comp.get(cid)
        if r is None or not r.effects:
            continue
        for m in r.moderators:
            if m["moderator"] in ("needle_length_mm", "interval_days", "duration_weeks", "baseline_severity"):
                if "slope" in m or "subgroups" in m:
                    tested.append(f"{cid}: {m['moderator']}: {m['result']}")
                lines.append(
                    {
                        "source": "pairwise",
                        "id": f"{cid}:{m['moderator']}",
                        "title": f"{r.comparison.title}: {m['moderator']}",
                        "usable": "slope" in m or "subgroups" in m,
                        "text": m["result"],
                        "certainty": "not graded",
                    }
                )
    depth = by_comp.get("mn_depth_deeper_vs_shallower")
    depth_text = ""
    if depth is not None and depth.pooled is not None:
        e = _pairwise_entry(depth)
        depth_text = (
            f" The only head-to-head comparison of needle length gives {e['text']} "
            f"(certainty {e['certainty']})."
        )
    same_tx_depth = [
        s.id
        for s in data.studies
        if len({a.needle_length_mm.value for a in s.arms if a.needle_length_mm.known}) > 1
    ]
    intervals = sorted({s.interval_days.value for s in data.studies if s.interval_days.known})
    if tested:
        verdict = "Moderator analyses could be run: " + "; ".join(tested) + "."
    else:
        verdict = (
            "The trials cannot test it: no pooled comparison has the ten or more studies a meta-regression "
            "needs, or two subgroups of two or more studies."
        )
    verdict += depth_text
    verdict += (
        f" Trials with arms at different needle lengths: {', '.join(same_tx_depth) or 'none'}. No trial "
        "compares session frequencies head to head"
        + (
            f"; the trials' intervals run from {intervals[0]:g} to {intervals[-1]:g} days."
            if intervals
            else "."
        )
    )
    certainty = "no evidence" if depth is None or depth.pooled is None else depth.certainty.label
    return verdict, certainty, lines


def _safety(data: EvidenceData) -> tuple[str, str, list[dict[str, Any]]]:
    from regrow.evidence._verdict import SAFETY

    reported = [s for s in data.studies if s.adverse_events]
    lines = [
        {
            "source": "study",
            "id": s.id,
            "title": s.label,
            "usable": False,
            "text": s.adverse_events,
            "certainty": "not graded",
        }
        for s in reported
    ]
    counted = [o for s in data.studies for o in s.outcomes if "advers" in o.outcome.lower()]
    verdict = (
        f"{len(reported)} of {len(data.studies)} trials describe adverse events (listed below); "
        + (
            "none gives adverse-event counts per arm that the review could pool, so harms are described, "
            "not estimated. "
            if not counted
            else f"{len(counted)} outcomes count them. "
        )
        + SAFETY
    )
    return verdict, "not graded", lines


def claim_verdicts(data: EvidenceData, results: list, networks: list) -> list[dict[str, Any]]:
    """The verdict on each of the article's claims: what the trials support and with what certainty.

    Returns
    -------
    list of dict
        ``id``, ``claim``, ``verdict`` (plain words), ``certainty`` (GRADE/CINeMA label, ``no evidence`` or
        ``not graded``) and ``evidence`` (the estimates or records behind it).
    """
    by_comp = {r.comparison.id: r for r in results}
    by_net = {n.spec.id: n for n in networks}
    out = []
    for spec in CLAIMS:
        if spec.kind == "effect":
            entries = [_pairwise_entry(by_comp[c]) for c in spec.pairwise if c in by_comp]
            entries += [_network_entry(by_net[n], a, b) for n, a, b in spec.network if n in by_net]
            verdict, certainty = _effect_verdict(entries)
        elif spec.kind == "inflammation":
            verdict, certainty, entries = _inflammation(data)
        elif spec.kind == "durability":
            verdict, certainty, entries = _durability(data, by_comp)
        elif spec.kind == "moderators":
            verdict, certainty, entries = _moderators(data, spec, by_comp)
        else:
            verdict, certainty, entries = _safety(data)
        out.append(
            {
                "id": spec.id,
                "claim": spec.claim,
                "verdict": verdict,
                "certainty": certainty,
                "evidence": entries,
            }
        )
    return out
