"""Plain-language verdicts that never claim more than the data allow.

Wording follows the GRADE informative statements (Santesso et al. 2020, doi:10.1016/j.jclinepi.2019.10.014):
high certainty "increases", moderate "probably increases", low "may increase", very low "we are very uncertain
whether ...". Edge cases are said out loud: a single study is not a pooled estimate, imputed SDs are an
assumption, and extreme heterogeneity makes an average of limited use.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["EXTREME_I2", "format_effect", "overall_summary", "verdict_for"]

#: I2 at or above which the review says the trials disagree strongly (Cochrane Handbook 10.10.2: 75-100%
#: "considerable heterogeneity").
EXTREME_I2 = 75.0

_UNIT_WORDS = {
    "hairs/cm2": "hairs/cm2",
    "um": "um of shaft diameter",
    "percent": "percentage points",
    "count_area_unknown": "hairs per target area (area not reported)",
}


def format_effect(value: float, measure: str, unit: str) -> str:
    """A number with its unit, as it appears in a verdict (ratios already exponentiated)."""
    if measure in ("RR", "OR"):
        return f"{value:.2f}"
    if measure == "SMD":
        return f"{value:.2f} SD"
    return f"{value:.1f} {_UNIT_WORDS.get(unit, unit)}"


def _parts(title: str) -> tuple[str, str]:
    head = re.sub(r"\s*\([^)]*\)", "", title.split(":", 1)[-1]).strip()
    if " vs " in head:
        a, b = head.split(" vs ", 1)
        return a.strip()[0].lower() + a.strip()[1:], b.strip()
    return head, "the comparator"


def _tx(x: float, ratio: bool) -> float:
    return math.exp(x) if ratio else x


def _weeks(result) -> str:
    weeks = sorted(
        {e.moderators.get("duration_weeks") for e in result.effects if e.moderators.get("duration_weeks")}
    )
    if not weeks:
        return ""
    return f" at {weeks[0]:g} weeks" if len(weeks) == 1 else f" at {weeks[0]:g}-{weeks[-1]:g} weeks"


def verdict_for(result) -> str:
    """The plain-language verdict for one comparison result.

    Parameters
    ----------
    result : ComparisonResult
        With ``certainty`` already graded.

    Returns
    -------
    str
        One short paragraph.
    """
    comp = result.comparison
    intervention, comparator = _parts(comp.title)
    pooled = result.pooled
    if pooled is None:
        reported = len(result.not_pooled)
        why = (
            f"{reported} {'study reports' if reported == 1 else 'studies report'} it, but without usable numbers "
            f"({'; '.join(sorted({n.reason for n in result.not_pooled}))})"
            if reported
            else "no study in the evidence file reports it"
        )
        return (
            f"No answer for {intervention} vs {comparator} ({comp.outcome}): {why}. "
            "We cannot say whether it helps or not."
        )
    ratio = result.ratio
    measure, unit = comp.measure, comp.unit
    est, lo, hi = (_tx(v, ratio) for v in (pooled.estimate, pooled.ci_lb, pooled.ci_ub))
    null = 1.0 if ratio else 0.0
    if measure in ("RR", "OR", "SMD"):
        effect = f"{format_effect(est, measure, unit)} (95% CI {format_effect(lo, measure, unit)} to {format_effect(hi, measure, unit)})"
    else:  # the unit once, after the interval: "12.0 (95% CI 3.8 to 20.2) hairs/cm2"
        effect = f"{est:.1f} (95% CI {lo:.1f} to {hi:.1f}) {_UNIT_WORDS.get(unit, unit)}"
    if ratio:
        effect = f"a risk ratio of {effect}"
    certainty = result.certainty
    label = certainty.label
    outcome = comp.outcome.split(",")[0]
    when = _weeks(result)
    clear = lo > null or hi < null
    direction = "increases" if est > null else "reduces"
    if label == "very low":
        sentence = (
            f"We are very uncertain whether {intervention} changes {outcome} compared with {comparator}"
        )
        sentence += f"{when}: the estimate is {effect}."
    elif not clear:
        sentence = (
            f"The data cannot tell whether {intervention} changes {outcome} compared with {comparator}{when}: "
            f"{effect} includes no effect."
        )
    else:
        verb = {"high": direction, "moderate": f"probably {direction}", "low": f"may {direction[:-1]}"}[label]
        sentence = f"{intervention[0].upper() + intervention[1:]} {verb} {outcome} compared with {comparator}{when}, by about {effect}."
    parts = [sentence]
    if pooled.k == 1:
        e = result.effects[0]
        parts.append(
            f"Only one study ({e.label}, {e.n_participants} people) gives numbers, so this is that study's "
            "result, not a pooled estimate, and nobody has checked that it replicates."
        )
    else:
        parts.append(f"Pooled from {pooled.k} studies ({pooled.n_participants} people).")
    imputed = result.imputed_studies
    if imputed and len(imputed) == len(result.effects):
        parts.append(
            "Every study's SD or sample size had to be imputed (flagged), so the interval rests on an assumption; "
            "without imputed studies nothing is left to estimate from."
        )
    elif imputed:
        sens = result.sensitivity
        if sens is not None:
            s_est, s_lo, s_hi = (_tx(v, ratio) for v in (sens.estimate, sens.ci_lb, sens.ci_ub))
            parts.append(
                f"{len(imputed)} of {len(result.effects)} studies needed imputed numbers; without them "
                f"(k = {sens.k}): {format_effect(s_est, measure, unit)} "
                f"({format_effect(s_lo, measure, unit)} to {format_effect(s_hi, measure, unit)})."
            )
    if pooled.I2 is not None and pooled.I2 >= EXTREME_I2:
        pi = ""
        if pooled.pi_lb is not None:
            pi_lo, pi_hi = _tx(pooled.pi_lb, ratio), _tx(pooled.pi_ub, ratio)
            pi = (
                f"; a new trial could find anything from {format_effect(pi_lo, measure, unit)} to "
                f"{format_effect(pi_hi, measure, unit)}"
            )
        parts.append(
            f"The trials disagree strongly (I2 = {pooled.I2:.0f}%){pi}, so the average is of limited use."
        )
    reasons = certainty.reasons
    because = f", because {' and '.join(reasons[:2])}" if reasons else ""
    parts.append(f"Certainty: {label}{because}.")
    return " ".join(parts)


#: Durability and safety, stated only as far as the sources go (/work/shared/research/evidence-notes.md
#: sections 5 and 6; clinical-notes.md section 5.2).
DURABILITY = (
    "No trial has followed people who stopped micro-needling while also stopping minoxidil or "
    "finasteride, so whether gains last after stopping is unknown. The follow-ups that exist (Dhurat "
    "2013: 8 months, secondary report; Aggarwal 2020: 3 months after the last session; the 2022 FPHL "
    "trial: 12 weeks) all kept the background drug going. For minoxidil itself, gains were lost within 24"
    " weeks of stopping (Price 1999, PMID 10534633)."
)
SAFETY = (
    "In the trials, adverse effects were mild and transient: erythema and pinpoint bleeding (the "
    "treatment endpoint), mild pain, itching, headache. A systematic review found no serious adverse "
    "events in 657 micro-needled subjects (English 2022, doi:10.1007/s13555-021-00653-2); Ahmed 2025 "
    "counted 74 vs 59 events with vs without micro-needling, mostly mild. Across all indications, rare "
    "persistent harms include tram-track scarring and granulomatous reactions when non-approved topicals "
    "are needled into skin (Chu 2021, Dermatol Surg 47(9):1249-1254). Trials were small and short, so "
    "rare harms cannot be excluded."
)
FACTORS = (
    "Needle depth, session interval, treatment duration and baseline severity have each been proposed to "
    "change the effect, but no study set here is large enough to test them (meta-regression needs about "
    "ten studies per factor). Published syntheses disagree: Ahmed 2025 found no effect of depth, duration"
    " or device; Xu 2024 reported larger effects below 1 mm and at 12 weeks; a cross-trial regression "
    "suggested longer courses with less frequent sessions. A split-scalp study found 0.5 mm better than "
    "0.3 mm for density (Korean J Dermatol 2016, n = 11)."
)


def overall_summary(results: list) -> dict[str, Any]:
    """The answer to the seed's question across comparisons, plus durability, safety and modifying factors."""
    main = next((r for r in results if r.comparison.id == "mn_mx_vs_mx_density"), None)
    if main is None or main.pooled is None:
        answer = "The bundled trials do not give a usable pooled estimate for micro-needling + minoxidil."
    else:
        answer = (
            "Possibly, as an add-on to minoxidil, but the evidence is weak. "
            f"For micro-needling + minoxidil vs minoxidil the certainty is {main.certainty.label}: "
            + main.verdict
        )
    return {
        "question": "Does micro-needling for hair growth really work?",
        "answer": answer,
        "durability": DURABILITY,
        "safety": SAFETY,
        "factors": FACTORS,
    }
