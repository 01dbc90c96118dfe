"""Our estimates beside the published meta-analyses', and why they differ, worked out from the data.

Every reason is computed, not written in advance: which trials each side pooled (from the published review's
``included_studies`` when its list could be read, otherwise from its trial count and the screening log's record
of why the list could not be read), which of our trials report the comparison without usable numbers, whether
the two estimates are on one scale, whether the outcomes are the same, how many of our trials rest on imputed
numbers, and the models.
"""

from __future__ import annotations

from typing import Any

from regrow.evidence._network_review import NetworkReview
from regrow.evidence._review import METHOD, ComparisonResult
from regrow.evidence._trials import TREATMENTS, EvidenceData, PublishedMA

__all__ = ["compare_published", "screening_reason", "versus_published"]


def _short(citation: str) -> str:
    author = citation.split(" et al")[0].split(",")[0].strip().strip("'")
    year = next(
        (
            w.strip(";:.,()")
            for w in citation.split()
            if w.strip(";:.,()").isdigit() and 1990 < int(w.strip(";:.,()")) < 2100
        ),
        "",
    )
    return f"{author} {year}".strip()


def _num(x: Any) -> float | None:
    return None if x is None or not x.known else float(x.value)


def screening_reason(ma: PublishedMA, screening) -> str | None:
    """Why the review's included-study list is not known, from the screening log record of its report.

    The record is found by the review's URL or DOI among the log's records (a duplicate copy resolves to the
    record it duplicates). Returns None when no record matches.
    """
    if screening is None:
        return None
    keys = {k for k in (ma.url, ma.doi) if k}
    by_id = {r.id: r for r in screening.records}
    for rec in screening.records:
        if (rec.url and rec.url in keys) or (ma.doi and rec.url and ma.doi in rec.url):
            target = by_id.get(rec.duplicate_of, rec) if rec.decision == "duplicate" else rec
            if target.reason:
                return f"screening record {target.id}: {target.reason}"
    return None


def _fmt(x: float | None, measure: str) -> str:
    if x is None:
        return "not reported"
    return f"{x:.2f}" if measure in ("SMD", "RR", "OR") else f"{x:.3g}"


def _pairwise_side(r: ComparisonResult) -> dict[str, Any]:
    p = r.pooled
    side: dict[str, Any] = {
        "kind": "pairwise",
        "id": r.comparison.id,
        "title": r.comparison.title,
        "outcome": r.comparison.outcome,
        "measure": r.comparison.measure,
        "unit": r.comparison.unit,
        "model": f"random effects, {METHOD} tau^2, Knapp-Hartung CI"
        if p is not None and p.k >= 2
        else "a single study",
        "certainty": r.certainty.label,
        "study_ids": [e.study_id for e in r.effects],
        "imputed_ids": r.imputed_studies,
        "unusable": [(n.study_id, n.label, n.reason) for n in r.not_pooled],
    }
    if p is None:
        side.update(
            estimable=False, why_not="no trial of ours gives usable numbers for it", k=0, n_participants=0
        )
        return side
    d = p.to_dict(ratio=r.ratio)
    side.update(
        estimable=True,
        k=p.k,
        n_participants=p.n_participants,
        **{key: d[key] for key in ("estimate", "ci_lb", "ci_ub")},
    )
    sens = r.sensitivity
    if r.imputed_studies:
        side["without_imputed"] = None if sens is None else sens.to_dict(ratio=r.ratio)
    return side


def _not_estimable(side: dict[str, Any], why: str) -> dict[str, Any]:
    side.update(estimable=False, k=0, n_participants=0, study_ids=[], imputed_ids=[], certainty="no evidence",
                why_not=why)  # fmt: skip
    return side


def _network_side(nr: NetworkReview, t1: str, t2: str) -> dict[str, Any]:
    import math

    spec = nr.spec
    side: dict[str, Any] = {
        "kind": "network",
        "id": spec.id,
        "title": f"{TREATMENTS[t1]} vs {TREATMENTS[t2]} in the network '{spec.title}'",
        "outcome": spec.outcome,
        "measure": spec.measure,
        "unit": spec.unit,
        "model": f"contrast-based network meta-analysis, common tau^2 ({METHOD}), z-based CI",
        "unusable": [
            (e.study_id, e.label, e.reason)
            for e in nr.excluded
            if e.missing_results and {t1, t2} <= set(e.treatments)
        ],
    }
    c1, c2 = nr.component_of(t1), nr.component_of(t2)
    if c1 is None or c2 is None:
        absent = [t for t, c in ((t1, c1), (t2, c2)) if c is None]
        return _not_estimable(
            side, f"no usable trial of ours includes {' or '.join(TREATMENTS[t] for t in absent)}"
        )
    if c1 is not c2:
        link = (
            f"; trials that would link them if their results could be read: {', '.join(nr.bridging)}"
            if nr.bridging
            else ""
        )
        return _not_estimable(
            side,
            f"in our network they fall in separate parts that no usable trial links "
            f"({', '.join(c1.treatments)} | {', '.join(c2.treatments)}){link}",
        )
    est = c1.estimate(t1, t2)
    shares = {c1.studies[0].study_id: 1.0} if c1.result is None else c1.contributions[(t1, t2)]
    used = [s for s in c1.studies if shares.get(s.study_id, 0.0) > 0]
    t = math.exp if spec.ratio else (lambda v: v)
    side.update(
        estimable=True,
        k=len(used),
        n_participants=sum(s.n_participants for s in used),
        estimate=t(est["estimate"]),
        ci_lb=t(est["ci_lb"]),
        ci_ub=t(est["ci_ub"]),
        certainty=c1.certainty[(t1, t2)].label,
        study_ids=[s.study_id for s in used],
        imputed_ids=[s.study_id for s in used if s.is_imputed],
        direct_ids=[s.study_id for s in c1.direct_studies(t1, t2)],
    )
    return side


def _differences(ma: PublishedMA, side: dict[str, Any], why_unknown: str | None) -> list[str]:
    out = []
    k_theirs, n_theirs = _num(ma.k_studies), _num(ma.n_patients)
    theirs = f"they pooled {'an unreported number of' if k_theirs is None else int(k_theirs)} trials"
    if n_theirs is not None:
        theirs += f" ({int(n_theirs)} people)"
    ours = f"we pooled {side['k']}" + (f" ({side['n_participants']} people)" if side["k"] else "")
    if ma.included_studies is not None:
        shared = sorted(set(ma.included_studies) & set(side["study_ids"]))
        only_ours = sorted(set(side["study_ids"]) - set(ma.included_studies))
        missing = None if k_theirs is None else int(k_theirs) - len(ma.included_studies)
        text = f"Trials: {theirs}, {ours}; both use {', '.join(shared) or 'none'}"
        if only_ours:
            text += f"; only ours use {', '.join(only_ours)}"
        if missing:
            text += f"; {missing} of theirs are not in our evidence file"
        out.append(text + ".")
    else:
        why = why_unknown or "their included-study list is not recorded in the evidence file"
        text = f"Trials: {theirs}, {ours}; which trials they pooled is not known ({why})"
        if k_theirs is not None and k_theirs > side["k"]:
            text += f", so at least {int(k_theirs) - side['k']} of their trials are not in our estimate"
        out.append(text + ".")
    if side.get("unusable"):
        listed = "; ".join(f"{sid} {label} ({reason})" for sid, label, reason in side["unusable"])
        out.append(
            f"{len(side['unusable'])} of our trials compare these treatments but give no usable numbers: {listed}."
        )
    if not side["estimable"]:
        out.append(f"We have no estimate: {side['why_not']}.")
    if ma.measure != side["measure"]:
        out.append(
            f"Scales: theirs is {ma.measure}, ours is {side['measure']} ({side['unit']}); the two numbers are "
            "not on one scale and cannot be set against each other."
        )
    elif side["estimable"] and _num(ma.estimate) is not None:
        x = _num(ma.estimate)
        inside = side["ci_lb"] <= x <= side["ci_ub"]
        text = (
            f"Same scale ({ma.measure}): their estimate {_fmt(x, ma.measure)} lies {'inside' if inside else 'outside'} "
            f"our 95% CI ({_fmt(side['ci_lb'], ma.measure)} to {_fmt(side['ci_ub'], ma.measure)})"
        )
        lo, hi = _num(ma.ci_low), _num(ma.ci_high)
        if lo is not None and hi is not None:
            overlap = lo <= side["ci_ub"] and side["ci_lb"] <= hi
            text += f"; the two CIs {'overlap' if overlap else 'do not overlap'}"
        out.append(text + ".")
    if ma.outcome.strip().lower() != side["outcome"].strip().lower():
        out.append(f"Outcomes: theirs is '{ma.outcome}', ours is '{side['outcome']}'.")
    imputed = side.get("imputed_ids") or []
    if imputed:
        text = (
            f"Imputation: {len(imputed)} of our {side['k']} trials ({', '.join(imputed)}) rest on imputed SDs or "
            "sample sizes (flagged); theirs are not described in the sources reached"
        )
        w = side.get("without_imputed")
        if w is not None:
            text += (
                f"; without the imputed trials ours is {_fmt(w['estimate'], side['measure'])} (k = {w['k']})"
            )
        elif "without_imputed" in side:
            text += "; without them no trial of ours is left"
        out.append(text + ".")
    out.append(
        f"Models: theirs is {ma.model or 'not reported in the sources reached'}; ours is {side['model']}."
    )
    return out


def compare_published(
    data: EvidenceData,
    results: list[ComparisonResult],
    networks: list[NetworkReview],
    screening=None,
) -> list[dict[str, Any]]:
    """Each published meta-analysis beside our matching estimates (pairwise and network), with the reasons.

    Returns
    -------
    list of dict
        One per published review: its numbers, ``ours`` (one entry per matching estimate of ours) and, per
        entry, ``differences``: the reasons in plain words.
    """
    by_comp = {r.comparison.id: r for r in results}
    by_net = {n.spec.id: n for n in networks}
    out = []
    for ma in data.published:
        sides = []
        if ma.comparison is not None and ma.comparison in by_comp:
            sides.append(_pairwise_side(by_comp[ma.comparison]))
        if ma.network is not None and ma.network in by_net:
            sides.append(_network_side(by_net[ma.network], *ma.treatments))
        why = screening_reason(ma, screening)
        entry: dict[str, Any] = {
            "id": ma.id,
            "citation": ma.citation,
            "short": _short(ma.citation),
            "outcome": ma.outcome,
            "measure": ma.measure,
            "k": _num(ma.k_studies),
            "n_patients": _num(ma.n_patients),
            "estimate": _num(ma.estimate),
            "ci_lb": _num(ma.ci_low),
            "ci_ub": _num(ma.ci_high),
            "I2": _num(ma.i2_percent),
            "model": ma.model,
            "url": ma.url,
            "treatments": list(ma.treatments),
            "ours": [],
        }
        for side in sides:
            side = dict(side)
            side["differences"] = _differences(ma, side, why)
            side["unusable"] = [{"id": s, "label": lab, "reason": why_} for s, lab, why_ in side["unusable"]]
            entry["ours"].append(side)
        if not sides:
            entry["not_compared"] = (
                "its estimate is not matched to one of our comparisons (the sources reached do not say which "
                "comparison it belongs to, or it is not a pooled effect)"
            )
        out.append(entry)
    return out


def versus_published(r: ComparisonResult, screening=None) -> str | None:
    """One paragraph: this comparison's estimate beside each published review of it, with the computed reasons.

    Returns
    -------
    str or None
        None when no published review is matched to the comparison.
    """
    if not r.published:
        return None
    side = _pairwise_side(r)
    parts = []
    for ma in r.published:
        est = _num(ma.estimate)
        ci = (
            f" [{_fmt(_num(ma.ci_low), ma.measure)}, {_fmt(_num(ma.ci_high), ma.measure)}]"
            if ma.ci_low.known and ma.ci_high.known
            else ""
        )
        k = "?" if not ma.k_studies.known else int(ma.k_studies.value)
        head = f"{_short(ma.citation)}: {ma.measure} {_fmt(est, ma.measure)}{ci} (k = {k})"
        parts.append(head + ". " + " ".join(_differences(ma, side, screening_reason(ma, screening))))
    ours = (
        "we have no pooled estimate"
        if not side["estimable"]
        else f"ours: {side['measure']} {_fmt(side['estimate'], side['measure'])} [{_fmt(side['ci_lb'], side['measure'])}, "
        f"{_fmt(side['ci_ub'], side['measure'])}] (k = {side['k']})"
    )
    return f"{ours[0].upper() + ours[1:]}. " + " | ".join(parts)
