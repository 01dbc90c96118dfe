"""What a new or corrected trial changes: the whole review rerun before and after, and the differences in words
(for ``regrow evidence add`` and ``import``)."""

from __future__ import annotations

import math

from regrow.evidence._network_review import network_reviews
from regrow.evidence._review import review
from regrow.evidence._trials import TREATMENTS, EvidenceData

__all__ = ["rerun_report"]


def _pooled_text(r) -> str:
    p = r.pooled
    if p is None:
        return "no estimate"
    d = p.to_dict(ratio=r.ratio)
    return f"{r.comparison.measure} {d['estimate']:.4g} [{d['ci_lb']:.4g}, {d['ci_ub']:.4g}]"


def _network_state(nr) -> dict[tuple[str, str], str]:
    out = {}
    for comp in nr.components:
        for a, b in comp.pairs():
            est = comp.estimate(a, b)
            t = math.exp if nr.spec.ratio else (lambda v: v)
            out[(a, b)] = f"{t(est['estimate']):.4g} [{t(est['ci_lb']):.4g}, {t(est['ci_ub']):.4g}]"
    return out


def rerun_report(before: EvidenceData, after: EvidenceData, study_ids: list[str]) -> list[str]:
    """Rerun every comparison and network on ``after`` and say what differs from ``before``.

    Parameters
    ----------
    before, after : EvidenceData
        The evidence without and with the new or corrected trials.
    study_ids : list of str
        The trials added or corrected (their comparisons are always listed).

    Returns
    -------
    list of str
        One line per comparison or network estimate that changed, e.g. ``"mn_mx_vs_mx_density: k = 4 (was 3),
        MD 25.1 [3.2, 47] (was MD 30.7 [-49, 110]), certainty very low"``.
    """
    old = {r.comparison.id: r for r in review(before)}
    touched = {o.comparison for s in after.studies if s.id in study_ids for o in s.outcomes}
    lines = []
    for r in review(after):
        cid = r.comparison.id
        prev = old.get(cid)
        k = 0 if r.pooled is None else r.pooled.k
        k_old = 0 if prev is None or prev.pooled is None else prev.pooled.k
        now, was = _pooled_text(r), ("no estimate" if prev is None else _pooled_text(prev))
        if cid not in touched and now == was and k == k_old:
            continue
        change = f", {now} (was {was})" if now != was else f", {now} (unchanged)"
        lines.append(f"{cid}: k = {k} (was {k_old}){change}, certainty {r.certainty.label}")
    old_nets = {n.spec.id: n for n in network_reviews(before)}
    for nr in network_reviews(after):
        prev = old_nets.get(nr.spec.id)
        prev_state = {} if prev is None else _network_state(prev)
        state = _network_state(nr)
        n_old = 0 if prev is None else len(prev.studies)
        if state == prev_state and len(nr.studies) == n_old:
            continue
        parts = "" if nr.connected else f", {len(nr.components)} separate parts"
        lines.append(f"network {nr.spec.id}: {len(nr.studies)} studies (was {n_old}){parts}")
        for (a, b), text in state.items():
            if prev_state.get((a, b)) != text:
                was = prev_state.get((a, b), "not estimable")
                lines.append(f"  {TREATMENTS[a]} vs {TREATMENTS[b]}: {text} (was {was})")
    return lines
