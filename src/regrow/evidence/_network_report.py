"""The network meta-analyses as JSON and as HTML: graph, league table, ranking, consistency, CINeMA table."""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

from regrow.evidence._network_review import Component, NetworkReview
from regrow.evidence._trials import TREATMENTS

__all__ = ["network_dict", "network_graph_png", "network_html"]

#: Row colours of the confidence labels in the HTML league table.
_COLOURS = {"high": "#cfe8cf", "moderate": "#e3f0c8", "low": "#fbefc5", "very low": "#f6d2cc"}


def _tr(spec, x: float | None) -> float | None:
    if x is None:
        return None
    return math.exp(x) if spec.ratio else float(x)


def _pair_dict(comp: Component, spec, a: str, b: str) -> dict[str, Any]:
    est = comp.estimate(a, b)
    out = {"treat1": a, "treat2": b, "scale": "ratio" if spec.ratio else spec.unit}
    out.update({k: (_tr(spec, v) if k not in ("se", "pval") else v) for k, v in est.items()})
    out["direct_studies"] = [s.study_id for s in comp.direct_studies(a, b)]
    if comp.contributions:
        out["contributions"] = {s: round(w, 6) for s, w in comp.contributions[(a, b)].items() if w > 0}
    out["certainty"] = comp.certainty[(a, b)].to_dict()
    return out


def _component_dict(comp: Component, spec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "treatments": list(comp.treatments),
        "reference": comp.reference,
        "studies": [s.study_id for s in comp.studies],
        "tau2": comp.tau2,
        "notes": list(comp.notes),
        "comparisons": [_pair_dict(comp, spec, a, b) for a, b in comp.pairs()],
    }
    if comp.result is None:
        return out
    out["effects"] = comp.effects.to_dict()["effects"]
    out["league"] = comp.league.to_dict()
    out["ranking"] = comp.ranking.to_dict()
    out["design_by_treatment"] = (
        None if comp.design_by_treatment is None else comp.design_by_treatment.to_dict()
    )
    out["node_split"] = [row.to_dict() for row in comp.node_split]
    return out


def network_dict(nr: NetworkReview) -> dict[str, Any]:
    """One network as a JSON-ready dict (estimates of ratio measures on the ratio scale, league table on the
    analysis scale)."""
    spec = nr.spec
    return {
        "id": spec.id,
        "title": spec.title,
        "outcome": spec.outcome,
        "measure": spec.measure,
        "unit": spec.unit,
        "model": "contrast-based rma.mv(yi, V, mods = treatment contrasts, random = ~ comp | study, rho = 1/2), "
        "REML; P-scores, SUCRA with 95% rank intervals; design-by-treatment and node splitting",
        "connected": nr.connected,
        "n_components": len(nr.components),
        "treatments_compared": list(nr.treatments_compared),
        "treatments_with_data": list(nr.treatments_with_data),
        "treatments_without_data": [t for t in nr.treatments_compared if t not in nr.treatments_with_data],
        "bridging_studies": list(nr.bridging),
        "studies": [
            {
                "id": s.study_id,
                "label": s.label,
                "treatments": list(s.treatments),
                "contrasts": [
                    {"treat1": t, "treat2": s.baseline, "yi": y, "vi": s.V[i][i]}
                    for i, (t, y) in enumerate(zip(s.treat1, s.yi, strict=True))
                ],
                "n_participants": s.n_participants,
                "from_arms": s.from_arms,
                "derivation": list(s.derivation),
                "imputed": list(s.imputed),
            }
            for s in nr.studies
        ],
        "excluded": [
            {"id": e.study_id, "label": e.label, "treatments": list(e.treatments), "reason": e.reason}
            for e in nr.excluded
        ],
        "components": [_component_dict(c, spec) for c in nr.components],
    }


def network_graph_png(nr: NetworkReview) -> bytes | None:
    """The network graph of every usable study (separate parts drawn apart), as PNG bytes."""
    from regrow.evidence._network_review import _network_data
    from regrow.meta import new_figure, plot_network, png_bytes

    studies = list(nr.studies)
    if not studies:
        return None
    net = _network_data(studies, nr.spec.measure)
    order = [t for c in nr.components for t in c.treatments]
    fig = new_figure(6.4, 6.4)
    ax = fig.add_subplot(1, 1, 1)
    parts = "" if nr.connected else f"; {len(nr.components)} separate parts"
    plot_network(
        net,
        order=order,
        ax=ax,
        labels={t: TREATMENTS[t] for t in order},
        title=f"{nr.spec.title}\n{len(studies)} studies{parts} (line: studies; node: participants)",
    )
    return png_bytes(fig, dpi=110)


def _e(x: Any) -> str:
    return html.escape(str(x))


def _num(x: float | None, spec) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "&ndash;"
    return f"{x:.2f}" if spec.measure in ("SMD", "RR", "OR") else f"{x:.1f}"


def _league_html(comp: Component, spec) -> str:
    t = comp.treatments
    rows = [
        "<table class='league'><tr><th></th>" + "".join(f"<th>{_e(TREATMENTS[x])}</th>" for x in t) + "</tr>"
    ]
    for a in t:
        cells = [f"<th>{_e(TREATMENTS[a])}</th>"]
        for b in t:
            if a == b:
                cells.append(f"<td class='diag'><b>{_e(a)}</b></td>")
                continue
            est = comp.estimate(a, b)
            label = comp.certainty[(a, b)].label
            cells.append(
                f"<td style='background:{_COLOURS[label]}'>{_num(_tr(spec, est['estimate']), spec)} "
                f"({_num(_tr(spec, est['ci_lb']), spec)} to {_num(_tr(spec, est['ci_ub']), spec)})<br>"
                f"<small>{_e(label)}</small></td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</table>")
    what = (
        "risk ratio" if spec.ratio else ("SMD" if spec.measure == "SMD" else f"mean difference ({spec.unit})")
    )
    return (
        f"<p><small>Each cell: the row treatment against the column treatment, {what} (95% CI), with the "
        "CINeMA confidence.</small></p>" + "".join(rows)
    )


def _ranking_html(comp: Component) -> str:
    rk = comp.ranking
    order = np.argsort(-rk.pscore, kind="stable")
    rows = [
        "<table><tr><th>Treatment</th><th>P-score</th><th>SUCRA (MC s.e.)</th><th>Mean rank</th>"
        "<th>95% rank interval</th></tr>"
    ]
    for i in order:
        rows.append(
            f"<tr><td>{_e(TREATMENTS[rk.treatments[i]])}</td><td>{rk.pscore[i]:.2f}</td>"
            f"<td>{rk.sucra[i]:.2f} ({rk.sucra_mcse[i]:.3f})</td><td>{rk.mean_rank[i]:.2f}</td>"
            f"<td>{rk.rank_lb[i]:.0f} to {rk.rank_ub[i]:.0f}</td></tr>"
        )
    rows.append("</table>")
    return (
        "<p><small>Rank 1 = the most hair (or responders). A 95% rank interval spanning most ranks means the "
        f"ranking is uncertain; {rk.n_sim} draws, seed {rk.seed}.</small></p>" + "".join(rows)
    )


def _consistency_html(comp: Component, spec) -> str:
    parts = []
    dbt = comp.design_by_treatment
    if dbt is not None:
        parts.append(
            f"<p><b>Design-by-treatment interaction:</b> Q = {dbt.QM:.2f} on {dbt.df} df, p = {dbt.pval:.3g} "
            f"(tau<sup>2</sup> under inconsistency {dbt.tau2:.3g}).</p>"
        )
    if comp.node_split:
        parts.append(
            "<table><tr><th>Comparison</th><th>Direct</th><th>Indirect</th><th>Difference</th><th>p</th></tr>"
        )
        for row in comp.node_split:
            parts.append(
                f"<tr><td>{_e(row.treat1)} vs {_e(row.treat2)}</td><td>{row.direct:.3g} ({row.direct_se:.3g})</td>"
                f"<td>{row.indirect:.3g} ({row.indirect_se:.3g})</td><td>{row.diff:.3g} ({row.diff_se:.3g})</td>"
                f"<td>{row.pval:.3g}</td></tr>"
            )
        parts.append(
            "</table><p><small>Node splitting on the analysis scale (log for ratios); SE in brackets.</small></p>"
        )
    return "".join(parts)


def _cinema_html(comp: Component, spec) -> str:
    names = (
        "within_study_bias",
        "reporting_bias",
        "indirectness",
        "imprecision",
        "heterogeneity",
        "incoherence",
    )
    rows = [
        "<table><tr><th>Comparison</th><th>Estimate (95% CI)</th>"
        + "".join(f"<th>{n.replace('_', ' ')}</th>" for n in names)
        + "<th>Confidence</th></tr>"
    ]
    for a, b in comp.pairs():
        cj = comp.certainty[(a, b)]
        est = comp.estimate(a, b)
        dom = {d.name: d for d in cj.domains}
        cells = "".join(
            f"<td title='{_e(dom[n].reason)}'>{_e(dom[n].judgement)}<br><small>{_e(dom[n].reason)}</small></td>"
            for n in names
        )
        rows.append(
            f"<tr><td>{_e(TREATMENTS[a])} vs {_e(TREATMENTS[b])}</td><td>{_num(_tr(spec, est['estimate']), spec)} "
            f"({_num(_tr(spec, est['ci_lb']), spec)} to {_num(_tr(spec, est['ci_ub']), spec)})</td>{cells}"
            f"<td class='cert' style='background:{_COLOURS[cj.label]}'>{_e(cj.label)}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def network_html(nr: NetworkReview, img) -> str:
    """The HTML section of one network; ``img(png, alt, name)`` embeds a PNG and returns its tag."""
    spec = nr.spec
    out = [f"<h3 id='network-{spec.id}'>{_e(spec.title)}</h3>"]
    compared = ", ".join(TREATMENTS[t] for t in nr.treatments_compared)
    out.append(
        f"<p>Trials of pattern hair loss compare {len(nr.treatments_compared)} treatments on this outcome "
        f"({_e(compared)}); {len(nr.studies)} studies give usable contrasts.</p>"
    )
    missing = [t for t in nr.treatments_compared if t not in nr.treatments_with_data]
    if missing:
        out.append(
            "<p><b>Compared by trials but without usable numbers:</b> "
            + _e(", ".join(TREATMENTS[t] for t in missing))
            + ".</p>"
        )
    if not nr.connected:
        parts = " | ".join(", ".join(c.treatments) for c in nr.components)
        bridge = (
            f" Trials that would link them if their results could be read: {_e(', '.join(nr.bridging))}."
            if nr.bridging
            else ""
        )
        out.append(
            f"<p class='verdict'>The network is not connected: no usable trial links these groups of "
            f"treatments ({_e(parts)}), so each part is analysed on its own and no estimate crosses between "
            f"them.{bridge}</p>"
        )
    out.append(img(network_graph_png(nr), f"Network graph: {spec.title}", f"network_{spec.id}.png"))
    for i, comp in enumerate(nr.components, 1):
        title = f"Part {i}: " if len(nr.components) > 1 else ""
        out.append(f"<h4>{title}{_e(', '.join(TREATMENTS[t] for t in comp.treatments))}</h4>")
        studies = ", ".join(
            f"{s.label} ({s.study_id}{', imputed' if s.is_imputed else ''})" for s in comp.studies
        )
        out.append(
            f"<p>Studies: {_e(studies)}. Reference: {_e(TREATMENTS[comp.reference])}."
            + (f" tau<sup>2</sup> = {comp.tau2:.3g}." if comp.tau2 is not None else "")
            + "</p>"
        )
        for note in comp.notes:
            out.append(f"<p><small>Note: {_e(note)}.</small></p>")
        out.append(_league_html(comp, spec))
        if comp.ranking is not None:
            out.append(_ranking_html(comp))
        out.append(_consistency_html(comp, spec))
        out.append("<p><b>CINeMA confidence per comparison</b> (hover or read the reasons):</p>")
        out.append(_cinema_html(comp, spec))
    if nr.excluded:
        out.append(
            "<p><b>Studies this network cannot use:</b> "
            + "; ".join(f"{_e(e.label)} ({e.study_id}): {_e(e.reason)}" for e in nr.excluded)
            + "</p>"
        )
    return "\n".join(out)
