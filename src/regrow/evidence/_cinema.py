"""CINeMA-style confidence in every network estimate, with each of the six domains judged by a stated rule.

CINeMA (Nikolakopoulou et al. 2020, PLoS Med 17(4):e1003082, doi:10.1371/journal.pmed.1003082) judges each
network estimate on six domains as "no concerns", "some concerns" or "major concerns". The judgements here are
mechanical so that they can be checked and rerun; each one says what it rests on:

* **Within-study bias**: each study's RoB 2 overall judgement scored low = 1, some concerns (or no information)
  = 2, high = 3; a study without a RoB 2 judgement scores 3 when it is not randomised and 2 otherwise. The
  score is averaged with the study's contribution to the estimate as weight (:class:`Component` contributions);
  an average below 1.5 is no concerns, below 2.5 some concerns, otherwise major concerns (CINeMA's "average
  risk of bias" rule).
* **Reporting bias**: missing evidence (ROB-ME, Page et al. 2023, doi:10.1136/bmj-2023-076754). Studies that
  compared the treatments behind the estimate but whose results could not be used are counted: none is no
  concerns, any is some concerns, and major concerns when they hold half or more of the participants. A funnel
  plot needs ten or more studies (Sterne 2011, doi:10.1136/bmj.d4002), which no network here has.
* **Indirectness**: the contribution-weighted share from studies flagged ``indirect`` in the evidence file
  (other devices, PRP as the delivery route, ...); half or more is some concerns (GRADE 8's rule, as in the
  pairwise certainty).
* **Imprecision**: the 95% CI against the minimal important difference (MID) either side of no effect: a CI that
  crosses neither -MID nor +MID is no concerns, one of them some concerns, both major concerns. Without an
  established MID the CI is judged against no effect (crossing it is some concerns).
* **Heterogeneity**: the prediction interval against the same boundaries: no concerns when it crosses the same
  boundaries as the CI, some concerns when it crosses one more, major concerns when it crosses both and the CI
  none. Not assessable (and not rated down) without a model or when no comparison has two studies.
* **Incoherence**: the node split of the comparison (direct vs indirect evidence, SIDE) and the
  design-by-treatment test: p < 0.05 for the split is major concerns; p < 0.10 for the split or the global test
  is some concerns. An estimate resting only on indirect evidence, with no loop to test the consistency
  assumption, is some concerns; one resting only on direct evidence is no concerns.

The confidence starts high and drops one level per domain with some concerns and two per domain with major
concerns, to very low at worst.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from regrow.evidence._grade import LEVELS, MID, PUBLICATION_BIAS_MIN_K

__all__ = ["JUDGEMENTS", "CinemaJudgement", "DomainJudgement", "judge_component"]

JUDGEMENTS = ("no concerns", "some concerns", "major concerns")
#: RoB 2 overall judgements as scores (CINeMA's low / moderate / high).
ROB_SCORE = {"low": 1, "some_concerns": 2, "no_information": 2, "high": 3}
#: p-value thresholds of the incoherence domain.
SPLIT_MAJOR_P = 0.05
INCOHERENCE_SOME_P = 0.10
#: Share (of participants, of contribution) at and above which a domain is judged more serious.
HALF = 0.5


@dataclass(frozen=True)
class DomainJudgement:
    """One CINeMA domain: the judgement and the reason for it."""

    name: str
    judgement: str
    reason: str

    @property
    def downgrade(self) -> int:
        return JUDGEMENTS.index(self.judgement)

    def to_dict(self) -> dict[str, Any]:
        return {"judgement": self.judgement, "reason": self.reason}


@dataclass(frozen=True)
class CinemaJudgement:
    """The confidence in one network estimate (``treat1`` minus ``treat2``)."""

    treat1: str
    treat2: str
    label: str
    domains: tuple[DomainJudgement, ...]

    @property
    def reasons(self) -> list[str]:
        ds = sorted((d for d in self.domains if d.downgrade), key=lambda d: -d.downgrade)
        return [f"{d.name.replace('_', ' ')}: {d.reason}" for d in ds]

    def to_dict(self) -> dict[str, Any]:
        return {"confidence": self.label, "domains": {d.name: d.to_dict() for d in self.domains}}


def _rob_score(study) -> int:
    if study.rob2 is not None:
        return ROB_SCORE[study.rob2.overall]
    return 2 if study.randomised == "yes" else 3


def _level(score: float) -> str:
    return JUDGEMENTS[0] if score < 1.5 else (JUDGEMENTS[1] if score < 2.5 else JUDGEMENTS[2])


def _within_study_bias(shares: dict[str, float], studies: dict) -> DomainJudgement:
    score = sum(w * _rob_score(studies[s]) for s, w in shares.items())
    high = sum(w for s, w in shares.items() if _rob_score(studies[s]) == 3)
    return DomainJudgement(
        "within_study_bias",
        _level(score),
        f"contribution-weighted RoB score {score:.2f} (1 low, 2 some concerns, 3 high); {high:.0%} of the "
        "contribution from studies at high risk or not randomised",
    )


def _reporting_bias(shares, component, excluded, studies) -> DomainJudgement:
    pairs = set()
    for s in component.studies:
        if shares.get(s.study_id, 0.0) > 0:
            t = s.treatments
            pairs |= {frozenset((t[i], t[j])) for i in range(len(t)) for j in range(i + 1, len(t))}
    missing = [e for e in excluded if e.missing_results and any(p <= set(e.treatments) for p in pairs)]
    if not missing:
        return DomainJudgement(
            "reporting_bias",
            JUDGEMENTS[0],
            "no study that compared these treatments is missing from the analysis; "
            + _funnel_note(component),
        )
    used = sum(s.n_participants for s in component.studies if shares.get(s.study_id, 0.0) > 0)
    lost = sum(e.n_total or 0 for e in missing)
    share = lost / (lost + used) if lost + used else 0.0
    judgement = JUDGEMENTS[2] if share >= HALF else JUDGEMENTS[1]
    names = ", ".join(f"{e.label} ({e.study_id})" for e in missing)
    return DomainJudgement(
        "reporting_bias",
        judgement,
        f"results missing from {len(missing)} stud{'y' if len(missing) == 1 else 'ies'} that compared these "
        f"treatments ({names}): {lost} of {lost + used} participants ({share:.0%}); {_funnel_note(component)}",
    )


def _funnel_note(component) -> str:
    k = len(component.studies)
    if k < PUBLICATION_BIAS_MIN_K:
        return f"too few studies ({k} < {PUBLICATION_BIAS_MIN_K}) for a funnel plot"
    return "small-study effects not tested (no comparison-adjusted funnel plot is drawn)"


def _indirectness(shares, studies) -> DomainJudgement:
    share = sum(w for s, w in shares.items() if studies[s].indirect)
    flagged = sorted(s for s, w in shares.items() if studies[s].indirect and w > 0)
    judgement = JUDGEMENTS[1] if share >= HALF else JUDGEMENTS[0]
    what = "; ".join(f"{s}: {', '.join(studies[s].indirect)}" for s in flagged)
    return DomainJudgement(
        "indirectness",
        judgement,
        f"{share:.0%} of the contribution from studies flagged indirect" + (f" ({what})" if what else ""),
    )


def _mid(spec) -> float | None:
    if spec.measure in ("SMD", "RR", "OR"):
        m = MID[spec.measure]
        return math.log(m) if spec.ratio else m
    return MID.get(spec.unit)


def _crossed(lo: float, hi: float, bounds: tuple[float, ...]) -> int:
    return sum(lo < b < hi for b in bounds)


def _imprecision(est: dict, spec) -> DomainJudgement:
    mid = _mid(spec)
    lo, hi = est["ci_lb"], est["ci_ub"]
    if mid is None:
        crosses = lo < 0.0 < hi
        return DomainJudgement(
            "imprecision",
            JUDGEMENTS[1] if crosses else JUDGEMENTS[0],
            f"no minimal important difference is established for {spec.unit}; the CI "
            f"{'includes' if crosses else 'excludes'} no effect",
        )
    n = _crossed(lo, hi, (-mid, mid))
    shown = f"{math.exp(mid):g} (ratio)" if spec.ratio else f"{mid:g}"
    return DomainJudgement(
        "imprecision",
        JUDGEMENTS[n],
        f"the 95% CI crosses {('neither', 'one', 'both')[n]} of the MID boundaries (MID {shown})",
    )


def _heterogeneity(est: dict, spec, component) -> DomainJudgement:
    if est.get("pi_lb") is None:
        return DomainJudgement(
            "heterogeneity", JUDGEMENTS[0], "not assessable: a single study (not rated down, but unknown)"
        )
    if not any(len(component.direct_studies(a, b)) >= 2 for a, b in component.pairs()):
        return DomainJudgement(
            "heterogeneity",
            JUDGEMENTS[0],
            f"tau^2 = {component.tau2:.3g}, but no comparison "
            "has two studies, so it is barely estimable (not rated down, but unknown)",
        )
    mid = _mid(spec)
    bounds = (0.0,) if mid is None else (-mid, mid)
    ci_n = _crossed(est["ci_lb"], est["ci_ub"], bounds)
    pi_n = _crossed(est["pi_lb"], est["pi_ub"], bounds)
    extra = pi_n - ci_n
    judgement = JUDGEMENTS[0] if extra <= 0 else (JUDGEMENTS[2] if extra >= 2 else JUDGEMENTS[1])
    return DomainJudgement(
        "heterogeneity",
        judgement,
        f"tau^2 = {component.tau2:.3g}; the prediction interval crosses {pi_n} and the CI {ci_n} of the "
        f"{'MID boundaries' if mid is not None else 'no-effect line'}",
    )


def _incoherence(a: str, b: str, component) -> DomainJudgement:
    split = component.split(a, b)
    dbt = component.design_by_treatment
    direct = component.direct_studies(a, b)
    global_p = None if dbt is None else dbt.pval
    tail = "" if global_p is None else f"; design-by-treatment p = {global_p:.2g}"
    if split is not None:
        if split.pval < SPLIT_MAJOR_P:
            judgement = JUDGEMENTS[2]
        elif split.pval < INCOHERENCE_SOME_P or (global_p is not None and global_p < INCOHERENCE_SOME_P):
            judgement = JUDGEMENTS[1]
        else:
            judgement = JUDGEMENTS[0]
        return DomainJudgement(
            "incoherence",
            judgement,
            f"direct vs indirect evidence differ by {split.diff:.3g} (node split p = {split.pval:.2g}){tail}",
        )
    if not direct:
        if global_p is None:
            return DomainJudgement(
                "incoherence",
                JUDGEMENTS[1],
                "only indirect evidence, and no loop to test the consistency it assumes",
            )
        judgement = JUDGEMENTS[1] if global_p < INCOHERENCE_SOME_P else JUDGEMENTS[0]
        return DomainJudgement("incoherence", judgement, f"only indirect evidence{tail}")
    if global_p is not None and global_p < INCOHERENCE_SOME_P:
        return DomainJudgement(
            "incoherence", JUDGEMENTS[1], f"only direct evidence for this comparison{tail}"
        )
    return DomainJudgement(
        "incoherence", JUDGEMENTS[0], f"only direct evidence (nothing to be incoherent with){tail}"
    )


def _judge(a: str, b: str, component, spec, data, excluded) -> CinemaJudgement:
    studies = {s.id: s for s in data.studies}
    if component.result is None:
        shares = {component.studies[0].study_id: 1.0}
    else:
        shares = component.contributions[(a, b)]
    est = component.estimate(a, b)
    domains = (
        _within_study_bias(shares, studies),
        _reporting_bias(shares, component, excluded, studies),
        _indirectness(shares, studies),
        _imprecision(est, spec),
        _heterogeneity(est, spec, component),
        _incoherence(a, b, component),
    )
    level = max(1, 4 - sum(d.downgrade for d in domains))
    return CinemaJudgement(a, b, LEVELS[level], domains)


def judge_component(component, spec, data, excluded):
    """The component with a :class:`CinemaJudgement` for every pair of its treatments (both orders).

    Returns
    -------
    Component
    """
    out: dict[tuple[str, str], CinemaJudgement] = {}
    for a, b in component.pairs():
        judged = _judge(a, b, component, spec, data, excluded)
        out[(a, b)] = judged
        out[(b, a)] = dataclasses.replace(judged, treat1=b, treat2=a)
    return dataclasses.replace(component, certainty=out)
