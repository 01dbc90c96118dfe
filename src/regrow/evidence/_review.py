"""The living review: study-level effect sizes, pooling, sensitivity analyses and moderators.

Analysis choices (stated once, used everywhere):

* Random-effects model, REML tau^2 with the Knapp-Hartung (``test="knha"``) confidence interval and the
  metafor prediction interval, the set Cochrane's RevMan Web adopted in January 2025
  (/work/shared/research/meta-analysis-notes.md, section 5.4). In metafor: ``rma(yi, vi, method="REML",
  test="knha")``. Pooled only where at least two studies give an effect.
* Missing SDs are imputed only by the conservative donor rule (the largest SD of comparable arms, Furukawa
  2006 doi:10.1016/j.jclinepi.2005.06.006), missing per-arm n by an equal split of the reported total, and an
  unknown baseline-end correlation as r = 0 (the largest change SD any non-negative correlation gives).
  Every imputation is flagged per study and every pooled result is repeated without the imputed studies.
* Split-scalp (paired) studies use the exact paired p-value for the SE of the within-person difference when it
  is reported (Cochrane Handbook 6.5.2.3 and 23.2.7); otherwise they are analysed as independent groups, which
  is conservative when the within-person correlation is positive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regrow.errors import InputError
from regrow.evidence import _extraction as ex
from regrow.evidence._trials import Arm, Comparison, EvidenceData, Outcome, PublishedMA, SdDonor, Study

__all__ = [
    "META_REGRESSION_MIN_K",
    "METHOD",
    "TEST",
    "ComparisonResult",
    "NotPooled",
    "Pooled",
    "StudyEffect",
    "effects_for",
    "outcome_effect",
    "pool",
    "review",
    "review_comparison",
]

#: tau^2 estimator and test for every pooled result (metafor names).
METHOD = "REML"
TEST = "knha"
#: Cochrane Handbook 10.11.5.1: meta-regression "should generally not be considered when there are fewer than
#: ten studies in a meta-analysis" (per characteristic modelled).
META_REGRESSION_MIN_K = 10
#: Subgroup analysis: at least two subgroups with at least two studies each (otherwise a subgroup "estimate" is
#: a single study).
SUBGROUP_MIN_PER_LEVEL = 2
MODERATORS = (
    "needle_length_mm",
    "interval_days",
    "duration_weeks",
    "baseline_severity",
    "adjunct",
    "condition",
)


@dataclass(frozen=True)
class StudyEffect:
    """One study's effect for one comparison, with how it was derived and what was imputed."""

    study_id: str
    label: str
    comparison: str
    measure: str
    yi: float
    vi: float
    n1: int
    n2: int
    paired: bool
    derivation: tuple[str, ...] = ()
    imputed: tuple[str, ...] = ()
    moderators: dict[str, Any] = field(default_factory=dict)
    events: int | None = None

    @property
    def is_imputed(self) -> bool:
        return bool(self.imputed)

    @property
    def n_participants(self) -> int:
        """People in the analysis: a split-scalp person counts once."""
        return self.n1 if self.paired else self.n1 + self.n2


@dataclass(frozen=True)
class NotPooled:
    """A study that reports this comparison but gives no usable effect, and why."""

    study_id: str
    label: str
    reason: str


@dataclass(frozen=True)
class Pooled:
    """A pooled (k >= 2) or single-study (k = 1) estimate, on the analysis scale (log for RR)."""

    k: int
    estimate: float
    se: float
    ci_lb: float
    ci_ub: float
    pi_lb: float | None
    pi_ub: float | None
    I2: float | None
    tau2: float | None
    QE: float | None = None
    QEp: float | None = None
    n_participants: int = 0
    study_ids: tuple[str, ...] = ()
    weights_pct: tuple[float, ...] = ()
    fit: Any = None

    def to_dict(self, *, ratio: bool = False) -> dict[str, Any]:
        t = math.exp if ratio else (lambda x: x)

        def tr(x):
            return None if x is None else t(x)

        return {
            "k": self.k,
            "n_participants": self.n_participants,
            "estimate": tr(self.estimate),
            "ci_lb": tr(self.ci_lb),
            "ci_ub": tr(self.ci_ub),
            "pi_lb": tr(self.pi_lb),
            "pi_ub": tr(self.pi_ub),
            "I2": self.I2,
            "tau2": self.tau2,
        }


@dataclass(frozen=True)
class ComparisonResult:
    """Everything the review says about one comparison."""

    comparison: Comparison
    effects: tuple[StudyEffect, ...]
    not_pooled: tuple[NotPooled, ...]
    pooled: Pooled | None
    sensitivity: Pooled | None
    leave_one_out: tuple[tuple[str, Pooled], ...]
    moderators: tuple[dict[str, Any], ...]
    published: tuple[PublishedMA, ...]
    certainty: Any = None
    verdict: str = ""

    @property
    def imputed_studies(self) -> list[str]:
        return [e.study_id for e in self.effects if e.is_imputed]

    @property
    def ratio(self) -> bool:
        return self.comparison.measure in ("RR", "OR")


# ------------------------------------------------------------------------------------------ effect sizes


def _v(number) -> float | None:
    return None if number is None or not number.known else float(number.value)


def _arm_n(study: Study, outcome: Outcome, arm: Arm, imputed: list[str], which: str) -> int | None:
    n = _v(arm.n)
    if n is not None:
        return int(n)
    study_arm = next((a for a in study.arms if a.id == arm.arm), None)
    if study_arm is not None and study_arm.n_analysed.known:
        return int(study_arm.n_analysed.value)
    if study_arm is not None and study_arm.n_randomised.known:
        imputed.append(
            f"{which} n analysed assumed equal to the {int(study_arm.n_randomised.value)} randomised"
        )
        return int(study_arm.n_randomised.value)
    total = _v(study.n_total)
    if total is None:
        return None
    if outcome.paired:
        imputed.append(f"{which} n imputed as the number of people ({int(total)})")
        return int(total)
    groups = len(study.arms) if study.arms else 2
    share = "half" if groups == 2 else f"1/{groups}"
    imputed.append(
        f"{which} n imputed as {share} of the reported total ({int(total)} -> {int(total) // groups}; "
        "equal allocation assumed)"
    )
    return int(total) // groups


def _arm_mean_sd(arm: Arm, outcome: Outcome, n: int, derivation: list[str], which: str):
    """Mean and SD as reported or derived by a published method (no imputation here)."""
    mean, sd = _v(arm.mean), _v(arm.sd)
    if mean is None and outcome.value_type == "change" and arm.end_mean.known and arm.baseline_mean.known:
        mean = arm.end_mean.value - arm.baseline_mean.value
        derivation.append(
            f"{which} change = end - baseline ({arm.end_mean.value:g} - {arm.baseline_mean.value:g})"
        )
    if mean is None and outcome.value_type == "end" and arm.end_mean.known:
        mean = arm.end_mean.value
        sd = sd if sd is not None else _v(arm.end_sd)
    if mean is None and arm.median.known and arm.q1.known and arm.q3.known:
        if arm.minimum.known and arm.maximum.known:
            mean, sd5 = ex.mean_sd_from_five_numbers(
                arm.minimum.value, arm.q1.value, arm.median.value, arm.q3.value, arm.maximum.value, n
            )
            derivation.append(f"{which} mean/SD from the five-number summary (Luo 2018; Shi 2020)")
        else:
            mean, sd5 = ex.mean_sd_from_median_iqr(arm.q1.value, arm.median.value, arm.q3.value, n)
            derivation.append(f"{which} mean/SD from median and IQR (Luo 2018; Wan 2014)")
        sd = sd if sd is not None else sd5
    elif mean is None and arm.median.known and arm.minimum.known and arm.maximum.known:
        mean, sdr = ex.mean_sd_from_median_range(arm.minimum.value, arm.median.value, arm.maximum.value, n)
        derivation.append(f"{which} mean/SD from median and range (Luo 2018; Wan 2014)")
        sd = sd if sd is not None else sdr
    if sd is None and arm.se.known:
        sd = ex.sd_from_se(arm.se.value, n)
        derivation.append(f"{which} SD from SE (Cochrane 6.5.2.2)")
    if sd is None and arm.ci_low.known and arm.ci_high.known:
        sd = ex.sd_from_ci(arm.ci_low.value, arm.ci_high.value, n)
        derivation.append(f"{which} SD from the 95% CI (Cochrane 6.5.2.2)")
    return mean, sd


def _donor_sd(
    donors: tuple[SdDonor, ...], comp: Comparison, outcome: Outcome
) -> tuple[SdDonor, float] | None:
    """The largest comparable donor SD and that SD in the outcome's own unit (None when there is none).

    For an SMD (unit ``mixed``) a donor in hairs/cm2 also serves an outcome counted per square inch or per
    1-inch circle, converted to that area; a count in an unreported area has no donor.
    """
    pool = []
    for d in donors:
        if d.outcome != comp.outcome or d.value_type != outcome.value_type:
            continue
        if d.unit == comp.unit:
            pool.append((d, d.sd.value / (_scale(comp, outcome) or 1.0)))
        elif comp.measure == "SMD" and d.unit == outcome.unit:
            pool.append((d, d.sd.value))
        elif (
            comp.measure == "SMD"
            and d.unit == "hairs/cm2"
            and outcome.unit in ("hairs/inch2", "hairs/inch_circle")
        ):
            pool.append((d, d.sd.value / ex.convert_density_to_per_cm2(1.0, outcome.unit)))
    return max(pool, key=lambda item: item[0].sd.value) if pool else None


def _scale(comp: Comparison, outcome: Outcome) -> float | None:
    """Factor turning the outcome's unit into the comparison's unit (None when impossible)."""
    if comp.measure in ("SMD", "RR", "OR") or comp.unit == outcome.unit:
        return 1.0
    if comp.unit == "hairs/cm2" and outcome.unit in ("hairs/inch2", "hairs/inch_circle"):
        return ex.convert_density_to_per_cm2(1.0, outcome.unit)
    if comp.unit == "um" and outcome.unit == "mm":
        return 1000.0
    return None


def _moderators(study: Study, outcome: Outcome) -> dict[str, Any]:
    return {
        "needle_length_mm": _v(study.needle_length_mm),
        "interval_days": _v(study.interval_days),
        "duration_weeks": _v(study.duration_weeks),
        "baseline_severity": study.baseline_severity,
        "adjunct": outcome.adjunct or "none",
        "condition": study.condition,
    }


def _continuous(study, outcome, comp, donors) -> StudyEffect | NotPooled:
    from regrow.meta import escalc

    label = study.label
    scale = _scale(comp, outcome)
    if scale is None:
        return NotPooled(study.id, label, f"unit {outcome.unit!r} cannot be converted to {comp.unit}")
    if comp.measure == "SMD" and outcome.value_type != "change":
        return NotPooled(
            study.id, label, "end values cannot be mixed with change scores in an SMD (Cochrane 10.5.2)"
        )
    imputed: list[str] = []
    derivation: list[str] = []
    n1 = _arm_n(study, outcome, outcome.intervention, imputed, "intervention")
    n2 = _arm_n(study, outcome, outcome.comparator, imputed, "comparator")
    if n1 is None or n2 is None:
        return NotPooled(study.id, label, "per-arm n and total n not reported")
    m1, sd1 = _arm_mean_sd(outcome.intervention, outcome, n1, derivation, "intervention")
    m2, sd2 = _arm_mean_sd(outcome.comparator, outcome, n2, derivation, "comparator")
    p = _v(outcome.p_value)

    def effect(yi: float, vi: float) -> StudyEffect:
        return StudyEffect(
            study.id,
            label,
            comp.id,
            comp.measure,
            yi,
            vi,
            n1,
            n2,
            outcome.paired,
            tuple(derivation),
            tuple(imputed),
            _moderators(study, outcome),
        )

    if comp.measure == "SMD" and sd1 is None and sd2 is None:
        smd = _smd_from_exact_p(outcome, (n1, n2, m1, m2, p), derivation)
        if smd is not None:
            return effect(*smd)
    if m1 is None or m2 is None:
        missing = "intervention" if m1 is None else "comparator"
        return NotPooled(study.id, label, f"{missing} mean not reported in the sources consulted")
    if scale != 1.0:
        derivation.append(f"converted {outcome.unit} to {comp.unit} (x {scale:.6g})")

    if comp.measure == "MD" and sd1 is None and sd2 is None and p is not None and m1 != m2:
        # Cochrane 6.5.2.3: SE of the difference from its exact p-value (paired: t on n - 1 df).
        df = n1 - 1 if outcome.paired else n1 + n2 - 2
        md = (m1 - m2) * scale
        se = ex.se_md_from_p(md, p, df)
        derivation.append(
            f"SE of the {'within-person ' if outcome.paired else ''}difference from the exact p = {p:g} "
            f"(t on {df} df; Cochrane 6.5.2.3)"
        )
        return effect(md, se**2)
    for which, arm, sd_ref in (
        ("intervention", outcome.intervention, "sd1"),
        ("comparator", outcome.comparator, "sd2"),
    ):
        current = sd1 if sd_ref == "sd1" else sd2
        if current is not None:
            continue
        if outcome.value_type == "change" and arm.baseline_sd.known and arm.end_sd.known:
            r = _v(outcome.correlation)
            if r is None:
                r = 0.0
                imputed.append(f"{which} baseline-end correlation imputed as r = 0 (conservative)")
            current = ex.change_sd(arm.baseline_sd.value, arm.end_sd.value, r)
            derivation.append(f"{which} change SD from baseline/end SDs (Cochrane 6.5.2.8)")
        else:
            found = _donor_sd(donors, comp, outcome)
            if found is None:
                return NotPooled(
                    study.id, label, f"{which} SD not reported and no comparable SD to impute from"
                )
            donor, current = found
            imputed.append(
                f"{which} SD imputed as {donor.sd.value:g} {donor.unit} (largest comparable SD: {donor.label})"
            )
        if sd_ref == "sd1":
            sd1 = current
        else:
            sd2 = current
    if outcome.paired:
        derivation.append(
            "split-scalp sides analysed as independent groups (conservative for positive correlation)"
        )
    es = escalc(
        comp.measure,
        m1i=[m1 * scale],
        m2i=[m2 * scale],
        sd1i=[sd1 * scale],
        sd2i=[sd2 * scale],
        n1i=[n1],
        n2i=[n2],
    )
    return effect(float(es.yi[0]), float(es.vi[0]))


def _smd_from_exact_p(outcome: Outcome, numbers, derivation: list[str]) -> tuple[float, float] | None:
    """Hedges' g and its variance from an exact two-sided p of a two-group comparison with no SD reported.

    The sign comes from the means or, when they are not reported, from the outcome's ``direction``.
    Paired (split-scalp) p-values give a within-person d, not a between-group one, so they are not used.
    """
    from regrow.meta import escalc

    n1, n2, m1, m2, p = numbers
    if p is None or outcome.paired:
        return None
    if m1 is not None and m2 is not None and m1 != m2:
        sign = 1.0 if m1 > m2 else -1.0
    elif outcome.direction is not None:
        sign = 1.0 if outcome.direction == "intervention_higher" else -1.0
    else:
        return None
    df = n1 + n2 - 2
    d = sign * ex.smd_from_t(ex.t_from_p(p, df), n1, n2)
    es = escalc("SMD", m1i=[d], m2i=[0.0], sd1i=[1.0], sd2i=[1.0], n1i=[n1], n2i=[n2])
    derivation.append(
        f"SMD from the exact p = {p:g} (t on {df} df; d = t sqrt(1/n1 + 1/n2), Lipsey & Wilson 2001; "
        "Hedges' correction)"
        + ("" if m1 is not None and m2 is not None else f"; direction from the text ({outcome.direction})")
    )
    return float(es.yi[0]), float(es.vi[0])


def _binary(study, outcome, comp) -> StudyEffect | NotPooled:
    from regrow.meta import escalc

    derivation: list[str] = []
    counts = []
    for which, arm in (("intervention", outcome.intervention), ("comparator", outcome.comparator)):
        n = _v(arm.n)
        if n is None:
            return NotPooled(study.id, study.label, f"{which} n not reported, so events cannot be counted")
        events = _v(arm.events)
        if events is None and arm.proportion.known:
            events = round(arm.proportion.value * n)
            derivation.append(f"{which} events = {arm.proportion.value:g} x {int(n)}")
        if events is None:
            return NotPooled(study.id, study.label, f"{which} events not reported")
        counts.append((int(events), int(n)))
    (a, n1), (c, n2) = counts
    es = escalc(comp.measure, ai=[a], n1i=[n1], ci=[c], n2i=[n2])
    if not np.isfinite(es.yi[0]):
        return NotPooled(study.id, study.label, "no events in either arm")
    if a in (0, n1) or c in (0, n2):
        derivation.append("0.5 added to each cell (zero cell; metafor's default)")
    return StudyEffect(
        study.id,
        study.label,
        comp.id,
        comp.measure,
        float(es.yi[0]),
        float(es.vi[0]),
        n1,
        n2,
        False,
        tuple(derivation),
        (),
        _moderators(study, outcome),
        events=a + c,
    )


def effects_for(data: EvidenceData, comparison_id: str) -> tuple[list[StudyEffect], list[NotPooled]]:
    """Study-level effects for one comparison, and the studies that report it but cannot be used.

    Returns
    -------
    (list of StudyEffect, list of NotPooled)
    """
    comp = data.comparison(comparison_id)
    effects: list[StudyEffect] = []
    skipped: list[NotPooled] = []
    for study in data.studies:
        for outcome in study.outcomes:
            if outcome.comparison != comp.id and outcome.comparison not in comp.pool_from:
                continue
            item = outcome_effect(study, outcome, comp, data.sd_donors)
            (effects if isinstance(item, StudyEffect) else skipped).append(item)
    return effects, skipped


def outcome_effect(
    study: Study, outcome: Outcome, comp: Comparison, donors: tuple[SdDonor, ...]
) -> StudyEffect | NotPooled:
    """One outcome's effect on the scale of ``comp`` (its measure and unit), or why there is none.

    The same conversions and flagged imputations as the pairwise review; the network meta-analysis uses it with
    comparisons of its own (e.g. an SMD over every counting area).

    Returns
    -------
    StudyEffect or NotPooled
    """
    if comp.measure in ("RR", "OR"):
        item = _binary(study, outcome, comp)
    else:
        item = _continuous(study, outcome, comp, donors)
    if isinstance(item, StudyEffect) and not (np.isfinite(item.yi) and np.isfinite(item.vi) and item.vi > 0):
        return NotPooled(study.id, study.label, "effect size could not be computed")
    return item


# ------------------------------------------------------------------------------------------------ pooling


def pool(effects: list[StudyEffect] | tuple[StudyEffect, ...], *, level: float = 95.0) -> Pooled | None:
    """Pool study effects (REML + Knapp-Hartung); a single study is returned as it is (z interval).

    Returns
    -------
    Pooled or None
        None when there is no study.
    """
    effects = list(effects)
    if not effects:
        return None
    n_part = sum(e.n_participants for e in effects)
    ids = tuple(e.study_id for e in effects)
    if len(effects) == 1:
        e = effects[0]
        se = math.sqrt(e.vi)
        crit = ex.critical_value(level)
        return Pooled(
            1,
            e.yi,
            se,
            e.yi - crit * se,
            e.yi + crit * se,
            None,
            None,
            None,
            None,
            n_participants=n_part,
            study_ids=ids,
            weights_pct=(100.0,),
        )
    from regrow.meta import rma

    yi = np.array([e.yi for e in effects])
    vi = np.array([e.vi for e in effects])
    fit = rma(yi, vi, method=METHOD, test=TEST, level=level, slab=[e.label for e in effects])
    pred = fit.predict()
    return Pooled(
        k=fit.k,
        estimate=float(fit.beta[0]),
        se=float(fit.se[0]),
        ci_lb=float(fit.ci_lb[0]),
        ci_ub=float(fit.ci_ub[0]),
        pi_lb=float(np.ravel(pred.pi_lb)[0]),
        pi_ub=float(np.ravel(pred.pi_ub)[0]),
        I2=float(fit.I2),
        tau2=float(fit.tau2),
        QE=float(fit.QE),
        QEp=float(fit.QEp),
        n_participants=n_part,
        study_ids=ids,
        weights_pct=tuple(float(w) for w in fit.weights_pct),
        fit=fit,
    )


def _moderator_analysis(effects: list[StudyEffect]) -> tuple[dict[str, Any], ...]:
    """Subgroups / meta-regression per moderator where k allows; otherwise say so plainly."""
    out = []
    k = len(effects)
    for name in MODERATORS:
        values = [(e, e.moderators.get(name)) for e in effects if e.moderators.get(name) is not None]
        distinct = sorted({str(v) for _, v in values})
        entry: dict[str, Any] = {"moderator": name, "k_with_value": len(values), "values": distinct}
        if len(distinct) < 2:
            entry["result"] = (
                f"cannot tell: {'no study reports it' if not values else 'all studies share one value'}"
                f" (k = {k})"
            )
            out.append(entry)
            continue
        numeric = all(isinstance(v, int | float) for _, v in values)
        if numeric and len(values) >= META_REGRESSION_MIN_K:
            from regrow.meta import rma

            fit = rma(
                [e.yi for e, _ in values],
                [e.vi for e, _ in values],
                mods=np.array([[float(v)] for _, v in values]),
                mod_names=[name],
                method=METHOD,
                test=TEST,
            )
            entry.update(
                slope=float(fit.beta[1]),
                ci_lb=float(fit.ci_lb[1]),
                ci_ub=float(fit.ci_ub[1]),
                p=float(fit.pval[1]),
                result=f"meta-regression slope {fit.beta[1]:.3g} (p = {fit.pval[1]:.2g})",
            )
            out.append(entry)
            continue
        groups: dict[str, list[StudyEffect]] = {}
        for e, v in values:
            groups.setdefault(str(v), []).append(e)
        big = {g: es for g, es in groups.items() if len(es) >= SUBGROUP_MIN_PER_LEVEL}
        if len(big) >= 2:
            per = {g: pool(es) for g, es in big.items()}
            entry["subgroups"] = {g: p.to_dict() for g, p in per.items()}
            entry["result"] = "subgroups: " + "; ".join(
                f"{g}: {p.estimate:.3g} [{p.ci_lb:.3g}, {p.ci_ub:.3g}] (k = {p.k})" for g, p in per.items()
            )
        else:
            entry["result"] = (
                f"too few studies to tell (k = {len(values)} with a value; meta-regression needs >= "
                f"{META_REGRESSION_MIN_K}, subgroups need >= {SUBGROUP_MIN_PER_LEVEL} studies in each of two groups)"
            )
        out.append(entry)
    return tuple(out)


def review_comparison(data: EvidenceData, comparison_id: str) -> ComparisonResult:
    """Effects, pooled estimate, sensitivity analyses, moderators and certainty for one comparison."""
    from regrow.evidence._grade import grade
    from regrow.evidence._verdict import verdict_for

    comp = data.comparison(comparison_id)
    effects, skipped = effects_for(data, comparison_id)
    pooled = pool(effects)
    clean = [e for e in effects if not e.is_imputed]
    sensitivity = pool(clean) if len(clean) < len(effects) else pooled
    loo: list[tuple[str, Pooled]] = []
    if len(effects) >= 3:
        for e in effects:
            rest = [x for x in effects if x is not e]
            loo.append((e.study_id, pool(rest)))
    result = ComparisonResult(
        comparison=comp,
        effects=tuple(effects),
        not_pooled=tuple(skipped),
        pooled=pooled,
        sensitivity=sensitivity,
        leave_one_out=tuple(loo),
        moderators=_moderator_analysis(effects),
        published=tuple(m for m in data.published if m.comparison == comp.id),
    )
    certainty = grade(result, data)
    result = _replace(result, certainty=certainty)
    return _replace(result, verdict=verdict_for(result))


def _replace(obj, **changes):
    from dataclasses import replace

    return replace(obj, **changes)


def review(data: EvidenceData) -> list[ComparisonResult]:
    """Run the review for every comparison in the evidence file, in file order."""
    if not data.comparisons:
        raise InputError.invalid("comparisons", [], "at least one comparison in the evidence file")
    return [review_comparison(data, c.id) for c in data.comparisons]
