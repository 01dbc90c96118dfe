"""The network meta-analysis of the review: every treatment the trials compare, one network per outcome.

Each network (:data:`regrow.evidence._network_specs.NETWORKS`) takes, from every pattern-hair-loss study, the
outcomes it admits and turns them into study contrasts with their sampling covariance:

* a study with one usable outcome gives that outcome's effect exactly as the pairwise review computes it
  (:func:`regrow.evidence._review.outcome_effect`: the same conversions, the same flagged imputations);
* a multi-arm study with several usable outcomes gives each arm against its first arm in the network order,
  from the arms' own numbers (each arm once, :func:`regrow.evidence._arm_data.arm_rows`), so that the shared arm
  makes its contrasts correlated: for a mean difference the covariance is the shared arm's ``sd^2 / n``, for a
  log risk ratio ``1/x - 1/n`` (0.5 added to every arm when an arm has no events or only events, as metafor and
  netmeta do), and for standardised mean differences ``1/n_shared + g_1 g_2 / (2 N)`` with ``N`` the study's total
  (Gleser & Olkin 2009, in Cooper, Hedges & Valentine (eds.), The Handbook of Research Synthesis and
  Meta-Analysis, 2nd ed., ch. 19; metafor's gleser2009 analysis example).

The contrasts are fitted with :func:`regrow.meta.network_meta` (random effects, one tau^2 for every comparison,
REML). A network whose treatments fall into groups that no usable study links is analysed per connected part and
says so, naming the studies that would link them if their results could be read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from regrow.errors import InputError
from regrow.evidence import _review as rv
from regrow.evidence._network_specs import NETWORKS, REFERENCE_PREFERENCE, NetworkSpec
from regrow.evidence._trials import TREATMENTS, Comparison, EvidenceData, Outcome, Study

__all__ = [
    "N_SIM",
    "SEED",
    "Component",
    "Excluded",
    "NetworkReview",
    "NetworkStudy",
    "network_review",
    "network_reviews",
    "network_studies",
]

#: Draws for SUCRA and rank probabilities, and their seed (same seed, same numbers).
N_SIM = 10_000
SEED = 0


@dataclass(frozen=True)
class NetworkStudy:
    """One study's contrasts in a network: ``yi[r]`` is ``treat1[r]`` minus ``baseline``; ``V`` their covariance."""

    study_id: str
    label: str
    baseline: str
    treat1: tuple[str, ...]
    yi: tuple[float, ...]
    V: tuple[tuple[float, ...], ...]
    arm_n: tuple[tuple[str, float], ...]
    comparisons: tuple[str, ...]
    derivation: tuple[str, ...] = ()
    imputed: tuple[str, ...] = ()
    from_arms: bool = False

    @property
    def treatments(self) -> tuple[str, ...]:
        return (self.baseline, *self.treat1)

    @property
    def n_participants(self) -> int:
        return int(sum(n for _, n in self.arm_n))

    @property
    def is_imputed(self) -> bool:
        return bool(self.imputed)


@dataclass(frozen=True)
class Excluded:
    """A study that compares treatments of this network's outcome but gives no usable contrast, and why."""

    study_id: str
    label: str
    treatments: tuple[str, ...]
    reason: str
    n_total: int | None = None
    missing_results: bool = True


@dataclass(frozen=True)
class Component:
    """A connected part of a network and its fit (``result`` is None for a single study, which is not a model).

    ``contributions[(a, b)]`` maps each study to its share of the estimate of ``a`` minus ``b``: the absolute
    weights of that estimate as a linear combination of the study contrasts (the hat matrix of the network
    estimates, Krahn, Binder & Koenig 2013, doi:10.1186/1471-2288-13-35), summed per study and scaled to 1.
    """

    treatments: tuple[str, ...]
    reference: str
    studies: tuple[NetworkStudy, ...]
    result: Any = None
    effects: Any = None
    league: Any = None
    ranking: Any = None
    design_by_treatment: Any = None
    node_split: tuple[Any, ...] = ()
    notes: tuple[str, ...] = ()
    contributions: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    certainty: dict[tuple[str, str], Any] = field(default_factory=dict)

    @property
    def tau2(self) -> float | None:
        return None if self.result is None else float(self.result.tau2)

    def direct_studies(self, a: str, b: str) -> list[NetworkStudy]:
        """Studies of this component with arms of both treatments."""
        return [s for s in self.studies if a in s.treatments and b in s.treatments]

    def pairs(self) -> list[tuple[str, str]]:
        """Every pair (later treatment, earlier treatment) in the network order: the league table's lower half."""
        t = self.treatments
        return [(t[j], t[i]) for i in range(len(t)) for j in range(i + 1, len(t))]

    def estimate(self, a: str, b: str) -> dict[str, float] | None:
        """``a`` minus ``b`` on the analysis scale: estimate, se, CI and prediction interval (None if no model)."""
        if self.league is None:
            return self._single_study_estimate(a, b)
        i, j = self.treatments.index(a), self.treatments.index(b)
        lg = self.league
        crit = (lg.ci_ub[i, j] - lg.estimate[i, j]) / lg.se[i, j] if lg.se[i, j] > 0 else 0.0
        spread = float(np.sqrt(lg.se[i, j] ** 2 + (self.tau2 or 0.0)))
        return {
            "estimate": float(lg.estimate[i, j]),
            "se": float(lg.se[i, j]),
            "ci_lb": float(lg.ci_lb[i, j]),
            "ci_ub": float(lg.ci_ub[i, j]),
            "pi_lb": float(lg.estimate[i, j] - crit * spread),
            "pi_ub": float(lg.estimate[i, j] + crit * spread),
            "pval": float(lg.pval[i, j]),
        }

    def _single_study_estimate(self, a: str, b: str) -> dict[str, float]:
        """A single study's own contrast (z interval; no prediction interval without a model)."""
        from regrow.evidence._extraction import critical_value

        (study,) = self.studies
        t = study.treatments
        y = np.concatenate([[0.0], study.yi])
        V = np.zeros((len(t), len(t)))
        V[1:, 1:] = np.array(study.V)
        i, j = t.index(a), t.index(b)
        est = float(y[i] - y[j])
        se = float(np.sqrt(V[i, i] + V[j, j] - 2 * V[i, j]))
        crit = critical_value(95.0)
        pval = math.erfc(abs(est / se) / math.sqrt(2.0)) if se > 0 else float("nan")
        return {
            "estimate": est,
            "se": se,
            "ci_lb": est - crit * se,
            "ci_ub": est + crit * se,
            "pi_lb": None,
            "pi_ub": None,
            "pval": pval,
        }

    def split(self, a: str, b: str):
        """The node split of ``a`` vs ``b`` (either order; estimates of ``a`` minus ``b``), or None."""
        for row in self.node_split:
            if {row.treat1, row.treat2} == {a, b}:
                return row
        return None


@dataclass(frozen=True)
class NetworkReview:
    """One network: the studies it uses, those it cannot, and its connected parts with their fits."""

    spec: NetworkSpec
    studies: tuple[NetworkStudy, ...]
    excluded: tuple[Excluded, ...]
    components: tuple[Component, ...]
    treatments_compared: tuple[str, ...]
    bridging: tuple[str, ...] = ()

    @property
    def treatments_with_data(self) -> tuple[str, ...]:
        return tuple(t for c in self.components for t in c.treatments)

    @property
    def connected(self) -> bool:
        return len(self.components) <= 1

    def component_of(self, treatment: str) -> Component | None:
        for comp in self.components:
            if treatment in comp.treatments:
                return comp
        return None


# ------------------------------------------------------------------------------------------ the contrasts


def _comparison(spec: NetworkSpec) -> Comparison:
    """The pairwise comparison object whose measure and unit the network's study effects use."""
    return Comparison(
        id=f"network:{spec.id}", title=spec.title, outcome=spec.outcome, measure=spec.measure, unit=spec.unit
    )


def _order_key(treatment: str) -> tuple[int, str]:
    pref = (
        REFERENCE_PREFERENCE.index(treatment)
        if treatment in REFERENCE_PREFERENCE
        else len(REFERENCE_PREFERENCE)
    )
    return pref, treatment


def _chosen_outcomes(study: Study, spec: NetworkSpec) -> list[Outcome]:
    """The study's outcomes this network admits, one per pair of arms (the latest time point)."""
    if study.condition not in spec.conditions:
        return []
    best: dict[frozenset, Outcome] = {}
    for outcome in study.outcomes:
        if outcome.unit not in spec.units or outcome.value_type not in spec.value_types:
            continue
        if outcome.intervention.arm is None or outcome.comparator.arm is None:
            continue
        key = frozenset((outcome.intervention.arm, outcome.comparator.arm))
        old = best.get(key)
        if old is None or (outcome.time_weeks or -1.0) > (old.time_weeks or -1.0):
            best[key] = outcome
    return list(best.values())


def _arm_stats(study: Study, outcome: Outcome, arm, spec: NetworkSpec, notes: list[str], imputed: list[str]):
    """An arm's (n, mean, sd) or (n, events) on the network's scale; None when the arm lacks them."""
    which = f"arm {arm.arm}"
    n = rv._arm_n(study, outcome, arm, imputed, which)
    if n is None:
        return None
    if spec.measure in ("RR", "OR"):
        events = rv._v(arm.events)
        if events is None and arm.proportion.known:
            events = round(arm.proportion.value * n)
            notes.append(f"{which} events = {arm.proportion.value:g} x {n}")
        return None if events is None else (n, float(events))
    mean, sd = rv._arm_mean_sd(arm, outcome, n, notes, which)
    scale = rv._scale(_comparison(spec), outcome)
    if mean is None or sd is None or scale is None:
        return None
    return n, mean * scale, sd * scale


def _from_arms(study: Study, outcomes: list[Outcome], spec: NetworkSpec) -> NetworkStudy | None:
    """Contrasts of a multi-arm study from its arms' numbers (None when an arm lacks them)."""
    from regrow.meta import escalc

    arms: dict[str, tuple[str, tuple]] = {}
    notes: list[str] = []
    imputed: list[str] = []
    for outcome in outcomes:
        for arm in (outcome.intervention, outcome.comparator):
            if arm.arm in arms:
                continue
            stats = _arm_stats(study, outcome, arm, spec, notes, imputed)
            if stats is None:
                return None
            arms[arm.arm] = (study.arm(arm.arm).treatment, stats)
    treatments = [t for t, _ in arms.values()]
    if len(set(treatments)) != len(treatments):
        return None
    ordered = sorted(arms.values(), key=lambda item: _order_key(item[0]))
    (base_t, base), others = ordered[0], ordered[1:]
    k = len(others)
    if spec.measure == "RR":
        counts = [s for _, s in ordered]
        corrected = any(x in (0, n) for n, x in counts)
        add = 0.5 if corrected else 0.0
        if corrected:
            notes.append("0.5 added to every arm (an arm with no events or only events; metafor/netmeta)")
        logr = [np.log((x + add) / (n + 2 * add)) for n, x in counts]
        var = [1 / (x + add) - 1 / (n + 2 * add) for n, x in counts]
        yi = [logr[i + 1] - logr[0] for i in range(k)]
        V = np.full((k, k), var[0])
        V[np.diag_indices(k)] += var[1:]
    elif spec.measure == "MD":
        var = [sd**2 / n for n, _, sd in (s for _, s in ordered)]
        yi = [s[1] - base[1] for _, s in others]
        V = np.full((k, k), var[0])
        V[np.diag_indices(k)] += var[1:]
    else:  # SMD: Hedges' g of each arm against the first, Gleser & Olkin covariances
        n_b, m_b, sd_b = base
        es = escalc(
            "SMD",
            m1i=[s[1] for _, s in others],
            m2i=[m_b] * k,
            sd1i=[s[2] for _, s in others],
            sd2i=[sd_b] * k,
            n1i=[s[0] for _, s in others],
            n2i=[n_b] * k,
        )
        yi = [float(y) for y in es.yi]
        total = n_b + sum(s[0] for _, s in others)
        V = 1.0 / n_b + np.outer(yi, yi) / (2.0 * total)
        V[np.diag_indices(k)] = es.vi
        notes.append("covariance of the SMDs sharing an arm: 1/n + g1 g2 / (2 N) (Gleser & Olkin 2009)")
    return NetworkStudy(
        study_id=study.id,
        label=study.label,
        baseline=base_t,
        treat1=tuple(t for t, _ in others),
        yi=tuple(float(y) for y in yi),
        V=tuple(tuple(float(v) for v in row) for row in V),
        arm_n=tuple((t, float(s[0])) for t, s in ordered),
        comparisons=tuple(dict.fromkeys(o.comparison for o in outcomes)),
        derivation=tuple(dict.fromkeys(notes)),
        imputed=tuple(dict.fromkeys(imputed)),
        from_arms=True,
    )


def _from_effect(study: Study, outcome: Outcome, effect: rv.StudyEffect) -> NetworkStudy:
    t_int = study.arm(outcome.intervention.arm).treatment
    t_com = study.arm(outcome.comparator.arm).treatment
    # stored as the later treatment (network order) minus the earlier one, like every study's contrasts
    if _order_key(t_int) < _order_key(t_com):
        base, other, yi = t_int, t_com, -effect.yi
        n_pairs = ((t_int, effect.n1), (t_com, effect.n2))
    else:
        base, other, yi = t_com, t_int, effect.yi
        n_pairs = ((t_com, effect.n2), (t_int, effect.n1))
    if effect.paired:  # a split-scalp person counts once
        n_pairs = ((n_pairs[0][0], effect.n1 / 2), (n_pairs[1][0], effect.n1 / 2))
    return NetworkStudy(
        study_id=study.id,
        label=study.label,
        baseline=base,
        treat1=(other,),
        yi=(float(yi),),
        V=((float(effect.vi),),),
        arm_n=tuple((t, float(n)) for t, n in n_pairs),
        comparisons=(outcome.comparison,),
        derivation=effect.derivation,
        imputed=effect.imputed,
    )


def network_studies(data: EvidenceData, spec: NetworkSpec) -> tuple[list[NetworkStudy], list[Excluded]]:
    """The usable studies of one network and the studies it cannot use, with the reason.

    Returns
    -------
    (list of NetworkStudy, list of Excluded)
    """
    comp = _comparison(spec)
    used: list[NetworkStudy] = []
    excluded: list[Excluded] = []
    for study in data.studies:
        outcomes = _chosen_outcomes(study, spec)
        if not outcomes:
            continue
        treatments = tuple(sorted({a.treatment for a in study.arms}, key=_order_key))
        n_total = None if not study.n_total.known else int(study.n_total.value)
        effects: list[tuple[Outcome, rv.StudyEffect]] = []
        reasons: list[str] = []
        missing = False
        for outcome in outcomes:
            t1, t2 = (
                study.arm(outcome.intervention.arm).treatment,
                study.arm(outcome.comparator.arm).treatment,
            )
            if t1 == t2:
                reasons.append(
                    f"both arms receive {TREATMENTS[t1]} (a comparison within one treatment, e.g. of "
                    "needle depth, has no place in a network of treatments)"
                )
                continue
            item = rv.outcome_effect(study, outcome, comp, data.sd_donors)
            if isinstance(item, rv.NotPooled):
                reasons.append(item.reason)
                missing = True
            else:
                effects.append((outcome, item))
        if not effects:
            why = "; ".join(dict.fromkeys(reasons))
            excluded.append(Excluded(study.id, study.label, treatments, why, n_total, missing))
            continue
        if len(effects) == 1:
            used.append(_from_effect(study, *effects[0]))
            continue
        multi = _from_arms(study, [o for o, _ in effects], spec)
        if multi is None:  # keep the largest contrast; the others' covariance with it is unknown
            outcome, effect = max(effects, key=lambda oe: oe[1].n_participants)
            used.append(_from_effect(study, outcome, effect))
            reasons.append(
                "only one contrast used: the arms' own numbers are incomplete, so the covariance of "
                "its contrasts is unknown"
            )
        else:
            used.append(multi)
    return used, excluded


# ---------------------------------------------------------------------------------------------- components


def _components(studies: list[NetworkStudy]) -> list[list[NetworkStudy]]:
    parent: dict[str, str] = {}

    def find(t: str) -> str:
        parent.setdefault(t, t)
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for s in studies:
        for t in s.treat1:
            parent[find(t)] = find(s.baseline)
    groups: dict[str, list[NetworkStudy]] = {}
    for s in studies:
        groups.setdefault(find(s.baseline), []).append(s)
    return sorted(
        groups.values(),
        key=lambda g: (
            -len({t for s in g for t in s.treatments}),
            -len(g),
            min(_order_key(t) for s in g for t in s.treatments),
        ),
    )


def _reference(studies: list[NetworkStudy]) -> str:
    treatments = {t for s in studies for t in s.treatments}
    for t in REFERENCE_PREFERENCE:
        if t in treatments:
            return t
    counts = {t: sum(t in s.treatments for s in studies) for t in treatments}
    return min(treatments, key=lambda t: (-counts[t], t))


def _network_data(studies: list[NetworkStudy], measure: str):
    from regrow.meta import NetworkData

    study, t1, t2, ys, blocks, arms, arm_n = [], [], [], [], [], {}, {}
    for s in studies:
        study.extend([s.study_id] * len(s.treat1))
        t1.extend(s.treat1)
        t2.extend([s.baseline] * len(s.treat1))
        ys.extend(s.yi)
        V = np.array(s.V, dtype=float)
        if np.linalg.eigvalsh(V)[0] <= 0:
            raise InputError(
                f"Study {s.study_id!r}: the covariance of its contrasts is not positive definite.",
                field="study",
            )
        blocks.append(V)
        arms[s.study_id] = list(s.treatments)
        arm_n.update({(s.study_id, t): n for t, n in s.arm_n})
    return NetworkData(
        measure=measure,
        study=study,
        treat1=t1,
        treat2=t2,
        yi=np.array(ys),
        V_blocks=blocks,
        arms=arms,
        arm_n=arm_n,
    )


def _hat_rows(result) -> tuple[np.ndarray, list[str]]:
    """``H`` with ``beta = H y`` for the fitted contrast model, and the study of each contrast row.

    The marginal covariance of the contrasts is ``V + tau^2 C``, with ``C`` 1 for the same comparison and 1/2 for
    two comparisons of one study (``random = ~ comp | study``, ``rho = 1/2``).
    """
    net = result.data
    others = list(result.treatments[1:])
    X = np.array(
        [[(a == t) - (b == t) for t in others] for a, b in zip(net.treat1, net.treat2, strict=True)],
        dtype=float,
    )
    from scipy.linalg import block_diag

    k = len(net.study)
    M = block_diag(*net.V_blocks)
    comp = [f"{a}|{b}" for a, b in zip(net.treat1, net.treat2, strict=True)]
    for i in range(k):
        for j in range(k):
            if net.study[i] == net.study[j]:
                M[i, j] += result.tau2 * (1.0 if comp[i] == comp[j] else 0.5)
    Mi_X = np.linalg.solve(M, X)
    H = np.linalg.solve(X.T @ Mi_X, Mi_X.T)
    return H, list(net.study)


def contributions(result) -> dict[tuple[str, str], dict[str, float]]:
    """Each study's share of every network estimate (see :class:`Component`).

    Returns
    -------
    dict
        ``(a, b) -> {study_id: share}`` for every ordered pair of the network's treatments, shares summing to 1.
    """
    H, study_of_row = _hat_rows(result)
    treatments = list(result.treatments)
    out: dict[tuple[str, str], dict[str, float]] = {}
    for i, a in enumerate(treatments):
        for j, b in enumerate(treatments):
            if i == j:
                continue
            L = np.zeros(len(treatments) - 1)
            if i > 0:
                L[i - 1] += 1.0
            if j > 0:
                L[j - 1] -= 1.0
            weights = np.abs(L @ H)
            total = float(weights.sum()) or 1.0
            shares: dict[str, float] = {}
            for w, s in zip(weights, study_of_row, strict=True):
                shares[s] = shares.get(s, 0.0) + float(w) / total
            out[(a, b)] = shares
    return out


def _fit_component(studies: list[NetworkStudy], spec: NetworkSpec) -> Component:
    from regrow.meta import network_meta

    reference = _reference(studies)
    treatments = {t for s in studies for t in s.treatments}
    order = tuple([reference, *sorted(treatments - {reference})])
    if len(studies) == 1:
        return Component(
            order,
            reference,
            tuple(studies),
            notes=("one study: its own result, not a network estimate (no model is fitted)",),
        )
    net = _network_data(studies, spec.measure)
    result = network_meta(net, reference=reference, heterogeneity="common", method="REML")
    notes = list(result.warnings)
    try:
        dbt = result.design_by_treatment()
    except InputError:
        dbt = None
        notes.append("no loop and no comparison made in two designs: inconsistency cannot be tested")
    split = tuple(result.node_split())
    if dbt is not None and not split:
        notes.append("no comparison has both direct and indirect evidence: node splitting is not possible")
    if not any(
        len(Component(order, reference, tuple(studies)).direct_studies(a, b)) >= 2
        for i, a in enumerate(order)
        for b in order[i + 1 :]
    ):
        notes.append(
            "no comparison has two or more studies, so heterogeneity (tau^2) rests on the model alone"
        )
    return Component(
        treatments=tuple(result.treatments),
        reference=result.reference,
        studies=tuple(studies),
        result=result,
        effects=result.effects(),
        league=result.league(),
        ranking=result.rank(small_values=spec.small_values, n_sim=N_SIM, seed=SEED),
        design_by_treatment=dbt,
        node_split=split,
        notes=tuple(notes),
        contributions=contributions(result),
    )


def _bridging(studies: list[NetworkStudy], excluded: list[Excluded], n_components: int) -> tuple[str, ...]:
    """Excluded studies (alone, or two together) that would join separate parts of the network if their
    results were usable, e.g. ``("T18", "T9 + T17b")``."""
    if n_components <= 1:
        return ()

    def probe(ex: Excluded) -> NetworkStudy:
        k = len(ex.treatments) - 1
        return NetworkStudy(
            ex.study_id, ex.label, ex.treatments[0], ex.treatments[1:], (0.0,) * k, (), (), ()
        )

    candidates = [e for e in excluded if e.missing_results and len(e.treatments) >= 2]
    singles = [e for e in candidates if len(_components([*studies, probe(e)])) < n_components]
    out = [e.study_id for e in singles]
    rest = [e for e in candidates if e not in singles]
    for i, a in enumerate(rest):
        for b in rest[i + 1 :]:
            if len(_components([*studies, probe(a), probe(b)])) < n_components:
                out.append(f"{a.study_id} + {b.study_id}")
    return tuple(out)


def network_review(data: EvidenceData, spec: NetworkSpec) -> NetworkReview:
    """Build and fit one network (per connected part), with ranking, consistency checks and CINeMA certainty.

    Returns
    -------
    NetworkReview
    """
    from regrow.evidence._cinema import judge_component

    studies, excluded = network_studies(data, spec)
    parts = _components(studies)
    components = tuple(judge_component(_fit_component(p, spec), spec, data, excluded) for p in parts)
    compared = sorted(
        {t for s in studies for t in s.treatments} | {t for e in excluded for t in e.treatments},
        key=_order_key,
    )
    return NetworkReview(
        spec=spec,
        studies=tuple(studies),
        excluded=tuple(excluded),
        components=components,
        treatments_compared=tuple(compared),
        bridging=_bridging(studies, excluded, len(parts)),
    )


def network_reviews(data: EvidenceData) -> list[NetworkReview]:
    """Every network of :data:`NETWORKS` that at least one study informs (usable or not)."""
    out = []
    for spec in NETWORKS:
        review = network_review(data, spec)
        if review.studies or review.excluded:
            out.append(review)
    return out
