"""GRADE-style certainty of evidence per comparison, with every domain computed and explained.

The rules are the GRADE working group's, made mechanical so that they can be checked and re-run:

* Start high for randomised evidence, low when most of the weight comes from non-randomised studies
  (Guyatt et al. 2011, GRADE 1, doi:10.1016/j.jclinepi.2010.04.026).
* Risk of bias (GRADE 4, doi:10.1016/j.jclinepi.2010.07.017): rate down one level when at least half of the
  weight comes from studies whose randomisation is absent or not described, and one more when at least half
  of the weight rests on imputed SDs or sample sizes (missing outcome data).
* Inconsistency (GRADE 7, doi:10.1016/j.jclinepi.2011.03.017): I2 and the prediction interval.
* Imprecision (GRADE 6, doi:10.1016/j.jclinepi.2011.01.012): the CI against no effect and the minimal important
  difference, and the optimal information size (400 participants for continuous outcomes, 300 events).
* Indirectness (GRADE 8, doi:10.1016/j.jclinepi.2011.04.014): share of weight from studies flagged indirect.
* Publication bias (GRADE 5, doi:10.1016/j.jclinepi.2011.01.011): Egger's test only when k >= 10 (Sterne et al.
  2011, doi:10.1136/bmj.d4002; Cochrane Handbook 13.3.5.4); otherwise reported as untestable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from regrow.evidence._trials import EvidenceData

__all__ = ["LEVELS", "MID", "PUBLICATION_BIAS_MIN_K", "Certainty", "Domain", "grade"]

LEVELS = {4: "high", 3: "moderate", 2: "low", 1: "very low"}

#: Minimal important differences by comparison unit / measure.
#: hairs/cm2: the density difference dermatologists first perceive, 43.36 hairs/cm2 (22.66%), from 120
#: dermatologists rating standardized photos (/work/shared/research/clinical-notes.md, section 5.4).
#: SMD: half a standard deviation (Norman, Sloan, Wyrwich 2003, doi:10.1097/01.MLR.0000062554.74615.4C).
#: RR: 1.25 (and 0.80), GRADE 6's default thresholds for appreciable benefit or harm.
MID: dict[str, float] = {"hairs/cm2": 43.36, "SMD": 0.5, "RR": 1.25, "OR": 1.25}
#: GRADE 6 rule of thumb for the optimal information size.
OIS_PARTICIPANTS = 400
OIS_EVENTS = 300
#: Egger's test has too little power below ten studies (Sterne 2011; Cochrane Handbook 13.3.5.4).
PUBLICATION_BIAS_MIN_K = 10


@dataclass(frozen=True)
class Domain:
    """One GRADE domain: how many levels it rates down (0-2) and why, in words."""

    name: str
    downgrade: int
    explanation: str
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"downgrade": self.downgrade, "explanation": self.explanation}


@dataclass(frozen=True)
class Certainty:
    """The certainty of one comparison's evidence."""

    level: int | None
    label: str
    start: int
    start_reason: str
    domains: tuple[Domain, ...]

    @property
    def reasons(self) -> list[str]:
        """Explanations of the domains that rated down, most serious first."""
        ds = sorted((d for d in self.domains if d.downgrade), key=lambda d: -d.downgrade)
        return [d.summary or d.explanation for d in ds]

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.label,
            "start": LEVELS.get(self.start, "none"),
            "start_reason": self.start_reason,
            "domains": {d.name: d.to_dict() for d in self.domains},
        }


def _weights(result) -> list[float]:
    pooled = result.pooled
    if pooled is None:
        return []
    return list(pooled.weights_pct) or [100.0 / len(result.effects)] * len(result.effects)


def _share(result, predicate) -> float:
    weights = _weights(result)
    return sum(w for e, w in zip(result.effects, weights, strict=True) if predicate(e)) / max(
        sum(weights), 1e-12
    )


def _risk_of_bias(result, data: EvidenceData) -> Domain:
    studies = {s.id: s for s in data.studies}
    not_random = _share(result, lambda e: studies[e.study_id].randomised != "yes")
    imputed = _share(result, lambda e: e.is_imputed)
    unblinded = _share(result, lambda e: studies[e.study_id].blinding in ("none", "unclear"))
    down = int(not_random >= 0.5) + int(imputed >= 0.5)
    parts = [
        f"{not_random:.0%} of the weight from studies whose randomisation is absent or not described",
        f"{imputed:.0%} rests on imputed SDs or sample sizes",
        f"{unblinded:.0%} from studies without a described blinded assessor",
        "all numbers come from abstracts or secondary sources, not full trial reports",
    ]
    short = []
    if not_random >= 0.5:
        short.append("most of the weight comes from studies whose randomisation is absent or not described")
    if imputed >= 0.5:
        short.append("most of the weight rests on imputed SDs or sample sizes")
    return Domain("risk_of_bias", min(down, 2), "; ".join(parts) + ".", " and ".join(short))


def _inconsistency(result) -> Domain:
    p = result.pooled
    if p is None or p.k < 2:
        return Domain(
            "inconsistency", 0, "not assessable with fewer than two studies (not rated down, but unknown)."
        )
    null = 0.0  # log scale for ratios, so no effect is 0 for every measure
    pi_crosses = p.pi_lb is not None and p.pi_lb < null < p.pi_ub
    ci_crosses = p.ci_lb < null < p.ci_ub
    if p.I2 >= 75 and pi_crosses:
        down = 2
    elif p.I2 >= 50 or (pi_crosses and not ci_crosses):
        down = 1
    else:
        down = 0
    pi = (
        ""
        if p.pi_lb is None
        else f"; the prediction interval {'includes' if pi_crosses else 'excludes'} no effect"
    )
    text = f"I2 = {p.I2:.0f}% across {p.k} studies{pi}"
    return Domain("inconsistency", down, text + ".", f"the trials disagree ({text})")


def _imprecision(result) -> Domain:
    p = result.pooled
    comp = result.comparison
    ratio = result.ratio
    lo, hi = p.ci_lb, p.ci_ub
    mid = MID.get(comp.measure) if comp.measure in ("SMD", "RR", "OR") else MID.get(comp.unit)
    if mid is not None and ratio:
        mid = math.log(mid)
    crosses_null = lo < 0 < hi
    both = mid is not None and lo < -mid and hi > mid
    straddles = mid is not None and (lo < mid < hi or lo < -mid < hi)
    reasons = []
    if crosses_null:
        reasons.append("the confidence interval includes no effect")
    if both:
        reasons.append("it spans both important benefit and important harm")
    elif straddles:
        reasons.append("it includes effects both below and above the minimal important difference")
    if mid is None:
        reasons.append(
            "no minimal important difference is established for this outcome; judged against no effect"
        )
    else:
        reasons.append(
            f"minimal important difference used: {math.exp(mid):g} (ratio)"
            if ratio
            else f"minimal important difference used: {mid:g} {'SD' if comp.measure == 'SMD' else comp.unit}"
        )
    if ratio:
        events = sum(e.events or 0 for e in result.effects)
        small = events < OIS_EVENTS
        reasons.append(f"{events} events (optimal information size {OIS_EVENTS})")
    else:
        small = p.n_participants < OIS_PARTICIPANTS
        reasons.append(f"{p.n_participants} participants (optimal information size {OIS_PARTICIPANTS})")
    if both:
        down = 2
    elif crosses_null:
        down = 1 + int(small)
    else:
        down = int(straddles or small)
    return Domain(
        "imprecision", min(down, 2), "; ".join(reasons) + ".", "the result is imprecise (" + reasons[0] + ")"
    )


def _indirectness(result, data: EvidenceData) -> Domain:
    studies = {s.id: s for s in data.studies}
    flagged = [e for e in result.effects if studies[e.study_id].indirect]
    share = _share(result, lambda e: bool(studies[e.study_id].indirect)) if result.effects else 0.0
    conditions = sorted({studies[e.study_id].condition for e in result.effects})
    notes = [f"{share:.0%} of the weight from studies flagged indirect"]
    notes += [f"{e.label}: {'; '.join(studies[e.study_id].indirect)}" for e in flagged]
    if len(conditions) > 1:
        notes.append(f"mixes conditions ({', '.join(conditions)})")
    times = sorted(
        {e.moderators.get("duration_weeks") for e in result.effects if e.moderators.get("duration_weeks")}
    )
    if times:
        notes.append(f"treatment durations {', '.join(f'{t:g}' for t in times)} weeks; no long-term outcomes")
    why = "; ".join(f"{e.label}: {'; '.join(studies[e.study_id].indirect)}" for e in flagged)
    return Domain(
        "indirectness", int(share >= 0.5), "; ".join(notes) + ".", f"the evidence is indirect ({why})"
    )


def _publication_bias(result) -> Domain:
    p = result.pooled
    k = 0 if p is None else p.k
    if k < PUBLICATION_BIAS_MIN_K:
        return Domain(
            "publication_bias",
            0,
            f"not testable: k = {k} < {PUBLICATION_BIAS_MIN_K} (Egger's test and funnel asymmetry have too little "
            "power); not rated down, but small positive trials from single centres are common in this field.",
        )
    from regrow.meta import rma

    yi = np.array([e.yi for e in result.effects])
    vi = np.array([e.vi for e in result.effects])
    fit = rma(yi, vi, mods=np.sqrt(vi)[:, None], mod_names=["sei"], method="REML", test="z")
    pval = float(fit.pval[1])
    down = int(pval < 0.10)
    text = f"Egger regression test (sei as moderator) p = {pval:.3f} (k = {k})"
    return Domain("publication_bias", down, text + ".", f"small-study effects are suspected ({text})")


def grade(result, data: EvidenceData) -> Certainty:
    """Rate the certainty of the evidence for one :class:`~regrow.evidence._review.ComparisonResult`.

    Returns
    -------
    Certainty
        ``level`` None and label ``"no evidence"`` when no study gives a usable effect.
    """
    if result.pooled is None:
        return Certainty(None, "no evidence", 0, "no study reports usable numbers for this comparison", ())
    studies = {s.id: s for s in data.studies}
    nonrandom = _share(result, lambda e: studies[e.study_id].design in ("cohort", "case_series"))
    if nonrandom >= 0.5:
        start, why = 2, "most of the weight comes from non-randomised studies (start low)"
    else:
        start, why = 4, "controlled trials (start high)"
    domains = (
        _risk_of_bias(result, data),
        _inconsistency(result),
        _indirectness(result, data),
        _imprecision(result),
        _publication_bias(result),
    )
    level = max(1, start - sum(d.downgrade for d in domains))
    return Certainty(level, LEVELS[level], start, why, domains)
