"""Outputs of the review: the JSON object, the study-level CSV export and the HTML report."""

from __future__ import annotations

import base64
import csv
import html
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from regrow.evidence._review import METHOD, TEST, ComparisonResult, Pooled
from regrow.evidence._trials import EvidenceData
from regrow.evidence._verdict import overall_summary

__all__ = ["EXPORT_COLUMNS", "export_rows", "summary_dict", "write_csv", "write_html"]

EXPORT_COLUMNS = (
    "comparison",
    "study_id",
    "slab",
    "measure",
    "yi",
    "vi",
    "sei",
    "n1i",
    "n2i",
    "paired",
    "imputed",
    "imputation",
    "derivation",
    "needle_length_mm",
    "interval_days",
    "duration_weeks",
    "adjunct",
    "condition",
)


def _pooled_dict(p: Pooled | None, ratio: bool) -> dict[str, Any] | None:
    return None if p is None else p.to_dict(ratio=ratio)


def comparison_dict(r: ComparisonResult, screening=None) -> dict[str, Any]:
    """One comparison as a JSON-ready dict (ratios on the ratio scale, log scale in the export).

    ``screening`` (the screening log) lets the comparison with published reviews say why their included-study
    lists are not known.
    """
    from regrow.evidence._published import versus_published

    comp = r.comparison
    p = r.pooled
    base = _pooled_dict(p, r.ratio) or {
        "k": 0,
        "n_participants": 0,
        "estimate": None,
        "ci_lb": None,
        "ci_ub": None,
        "pi_lb": None,
        "pi_ub": None,
        "I2": None,
        "tau2": None,
    }
    if r.sensitivity is None:
        sens: dict[str, Any] = {
            "k": 0,
            "estimate": None,
            "ci_lb": None,
            "ci_ub": None,
            "note": "no study without imputed numbers",
        }
    else:
        sens = _pooled_dict(r.sensitivity, r.ratio)
        sens["note"] = (
            "same as the main analysis (nothing imputed)"
            if not r.imputed_studies
            else ("single study, not pooled" if r.sensitivity.k == 1 else "pooled without imputed studies")
        )
    return {
        "id": comp.id,
        "title": comp.title,
        "outcome": comp.outcome,
        "unit": comp.unit,
        **base,
        "measure": comp.measure,
        "scale": "ratio (exp of the pooled log ratio)" if r.ratio else comp.unit,
        "model": f"rma(yi, vi, method='{METHOD}', test='{TEST}')"
        if p is not None and p.k >= 2
        else ("single study (z interval)" if p is not None else None),
        "certainty": r.certainty.label,
        "certainty_domains": r.certainty.to_dict(),
        "imputed_studies": r.imputed_studies,
        "sensitivity_without_imputed": sens,
        "leave_one_out": [{"omitted": sid, **_pooled_dict(lp, r.ratio)} for sid, lp in r.leave_one_out],
        "studies": [
            {
                "id": e.study_id,
                "label": e.label,
                "yi": e.yi,
                "vi": e.vi,
                "n1": e.n1,
                "n2": e.n2,
                "weight_pct": (p.weights_pct[i] if p is not None else None),
                "imputed": list(e.imputed),
                "derivation": list(e.derivation),
            }
            for i, e in enumerate(r.effects)
        ],
        "not_pooled": [{"id": n.study_id, "label": n.label, "reason": n.reason} for n in r.not_pooled],
        "moderators": list(r.moderators),
        "published": [
            {
                "id": m.id,
                "citation": m.citation,
                "measure": m.measure,
                "k": m.k_studies.value,
                "estimate": m.estimate.value,
                "ci_lb": m.ci_low.value,
                "ci_ub": m.ci_high.value,
                "I2": m.i2_percent.value,
                "notes": m.notes,
            }
            for m in r.published
        ],
        "comparison_with_published": versus_published(r, screening),
        "verdict": r.verdict,
    }


def summary_dict(
    data: EvidenceData, results: list[ComparisonResult] | None = None, *, full=None
) -> dict[str, Any]:
    """The whole review as one JSON-ready object (the ``regrow evidence --json`` output).

    Besides the pairwise ``comparisons`` it carries the ``networks``, the ``published`` reviews beside our
    estimates, the verdicts on the article's ``claims``, the ``prisma`` flow counts, the ``provenance`` of every
    pooled number (with ``provenance_coverage``) and the issue's ``targets``.
    """
    from regrow.evidence._full_review import full_review
    from regrow.evidence._network_report import network_dict

    full = full_review(data, results) if full is None else full
    return _plain(
        {
            "data_version": data.data_version,
            "source": data.source,
            "model": {"method": METHOD, "test": TEST, "level": 95},
            "summary": overall_summary(full.results),
            "claims": full.claims,
            "targets": full.targets,
            "prisma": full.prisma.to_dict(),
            "comparisons": {r.comparison.id: comparison_dict(r, full.screening) for r in full.results},
            "networks": {nr.spec.id: network_dict(nr) for nr in full.networks},
            "published": full.published,
            "provenance": full.provenance,
            "provenance_coverage": {k: v for k, v in full.coverage.items() if k != "missing"},
        }
    )


def _plain(obj: Any) -> Any:
    """numpy values as Python ones and non-finite numbers (an undefined p-value, a league table's diagonal) as
    None, recursively: strict JSON for every consumer (the CLI, the web API)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def export_rows(results: list[ComparisonResult]) -> list[dict[str, Any]]:
    """The study-level effect sizes used, one row per study and comparison (log scale for ratios)."""
    rows = []
    for r in results:
        for e in r.effects:
            rows.append(
                {
                    "comparison": r.comparison.id,
                    "study_id": e.study_id,
                    "slab": e.label,
                    "measure": e.measure,
                    "yi": repr(float(e.yi)),
                    "vi": repr(float(e.vi)),
                    "sei": repr(math.sqrt(e.vi)),
                    "n1i": e.n1,
                    "n2i": e.n2,
                    "paired": e.paired,
                    "imputed": e.is_imputed,
                    "imputation": " | ".join(e.imputed),
                    "derivation": " | ".join(e.derivation),
                    **{
                        k: ("" if e.moderators.get(k) is None else e.moderators[k])
                        for k in (
                            "needle_length_mm",
                            "interval_days",
                            "duration_weeks",
                            "adjunct",
                            "condition",
                        )
                    },
                }
            )
    return rows


def write_csv(results: list[ComparisonResult], target: io.TextIOBase | str | Path) -> None:
    """Write :func:`export_rows` as CSV (full float precision, so metafor reproduces every pooled number).

    In R: ``d <- read.csv(file); for each comparison: rma(yi, vi, data = subset(d, comparison == id),
    method = "REML", test = "knha")`` (exp() the estimate for RR).
    """
    rows = export_rows(results)
    if isinstance(target, str | Path):
        with open(target, "w", newline="", encoding="utf-8") as fh:
            _write(fh, rows)
    else:
        _write(target, rows)


def _write(fh, rows) -> None:
    writer = csv.DictWriter(fh, fieldnames=list(EXPORT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


# -------------------------------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#222}
h1{font-size:1.6rem}h2{font-size:1.25rem;border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0;width:100%}
th,td{border:1px solid #ddd;padding:.25rem .4rem;text-align:left;vertical-align:top}th{background:#f3f3f3}
.verdict{background:#f6f8fb;border-left:4px solid #1f4e79;padding:.6rem .8rem}
.league td{text-align:center;font-size:.8rem}.diag{background:#eee}
.cert{font-weight:bold}.imp{color:#a00}img{max-width:100%;height:auto}small{color:#555}
"""


def _img(png: bytes | None, alt: str, out_dir: Path, name: str) -> str:
    if png is None:
        return ""
    (out_dir / name).write_bytes(png)
    b64 = base64.b64encode(png).decode("ascii")
    return f'<p><img src="data:image/png;base64,{b64}" alt="{html.escape(alt)}"></p>'


def _fmt(x: Any) -> str:
    if x is None:
        return "&ndash;"
    if isinstance(x, float):
        return f"{x:.3g}"
    return html.escape(str(x))


def write_html(
    data: EvidenceData, out_dir: str | Path, results: list[ComparisonResult] | None = None, *, full=None
) -> Path:
    """Write ``index.html`` (self-contained, figures embedded) plus the figures into ``out_dir``.

    The report holds the article's claims with their verdicts, the issue's targets, the PRISMA 2020 flow
    diagram (``prisma.svg``), the network meta-analyses (``network_<id>.png``, league tables, rankings,
    consistency checks, CINeMA tables), the published reviews beside our estimates, the per-study provenance
    table and, per pairwise comparison, the forest and funnel plots (``forest_<id>.png``, ``funnel_<id>.png``).

    Returns
    -------
    Path
        The path of ``index.html``.
    """
    from regrow.evidence._full_review import full_review
    from regrow.evidence._report_html import review_sections
    from regrow.evidence._report_plots import forest_png, funnel_png

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    full = full_review(data, results) if full is None else full
    results = full.results
    summary = overall_summary(results)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>regrow evidence review</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(summary['question'])}</h1>",
        f"<p class='verdict'>{html.escape(summary['answer'])}</p>",
        f"<p><b>Does it last?</b> {html.escape(summary['durability'])}</p>",
        f"<p><b>Is it safe?</b> {html.escape(summary['safety'])}</p>",
        f"<p><b>What changes the effect?</b> {html.escape(summary['factors'])}</p>",
        f"<p><small>Data version {html.escape(data.data_version)} ({html.escape(data.source)}). Model: "
        f"random effects, {METHOD} tau<sup>2</sup>, Knapp-Hartung CI, metafor-style prediction interval. "
        "Numbers come from abstracts and secondary sources; missing SDs are imputed conservatively and flagged.</small></p>",
        "<p><a href='#claims'>Claims</a> &middot; <a href='#targets'>Targets</a> &middot; <a href='#prisma'>PRISMA</a> "
        "&middot; <a href='#networks'>Networks</a> &middot; <a href='#published'>Published reviews</a> &middot; "
        "<a href='#provenance'>Provenance</a> &middot; <a href='#pairwise'>Pairwise results</a></p>",
        *review_sections(full, out, lambda png, alt, name: _img(png, alt, out, name)),
        "<h2 id='pairwise'>Pairwise summary table</h2><table><tr><th>Comparison</th><th>k</th><th>N</th><th>Measure</th>"
        "<th>Estimate [95% CI]</th><th>PI</th><th>I<sup>2</sup></th><th>Certainty</th><th>Imputed</th></tr>",
    ]
    for r in results:
        d = comparison_dict(r, full.screening)
        ci = (
            "&ndash;"
            if d["estimate"] is None
            else f"{_fmt(d['estimate'])} [{_fmt(d['ci_lb'])}, {_fmt(d['ci_ub'])}]"
        )
        pi = "&ndash;" if d["pi_lb"] is None else f"[{_fmt(d['pi_lb'])}, {_fmt(d['pi_ub'])}]"
        parts.append(
            f"<tr><td><a href='#{d['id']}'>{html.escape(d['title'])}</a><br><small>{html.escape(d['outcome'])}</small></td>"
            f"<td>{d['k']}</td><td>{d['n_participants']}</td><td>{d['measure']}</td><td>{ci}</td><td>{pi}</td>"
            f"<td>{_fmt(d['I2'])}</td><td class='cert'>{html.escape(d['certainty'])}</td>"
            f"<td>{len(d['imputed_studies'])}</td></tr>"
        )
    parts.append("</table>")
    for r in results:
        d = comparison_dict(r, full.screening)
        parts.append(f"<h2 id='{d['id']}'>{html.escape(d['title'])}: {html.escape(d['outcome'])}</h2>")
        parts.append(f"<p class='verdict'>{html.escape(d['verdict'])}</p>")
        parts.append(_img(forest_png(r), f"Forest plot: {d['title']}", out, f"forest_{d['id']}.png"))
        parts.append(_img(funnel_png(r), f"Funnel plot: {d['title']}", out, f"funnel_{d['id']}.png"))
        if r.effects:
            parts.append(
                "<table><tr><th>Study</th><th>yi</th><th>SE</th><th>n</th><th>Derivation</th><th>Imputed</th></tr>"
            )
            for e in r.effects:
                parts.append(
                    f"<tr><td>{html.escape(e.label)} ({e.study_id})</td><td>{e.yi:.3g}</td><td>{math.sqrt(e.vi):.3g}</td>"
                    f"<td>{e.n1}/{e.n2}{' (paired)' if e.paired else ''}</td><td>{html.escape('; '.join(e.derivation))}</td>"
                    f"<td class='imp'>{html.escape('; '.join(e.imputed))}</td></tr>"
                )
            parts.append("</table>")
        if r.not_pooled:
            parts.append(
                "<p><b>Reported but not usable:</b> "
                + "; ".join(
                    f"{html.escape(n.label)} ({n.study_id}): {html.escape(n.reason)}" for n in r.not_pooled
                )
                + "</p>"
            )
        sens = d["sensitivity_without_imputed"]
        parts.append(
            f"<p><b>Without imputed studies:</b> k = {sens['k']}, estimate {_fmt(sens['estimate'])} "
            f"[{_fmt(sens['ci_lb'])}, {_fmt(sens['ci_ub'])}] ({html.escape(sens['note'])}).</p>"
        )
        if r.certainty.domains:
            parts.append("<table><tr><th>GRADE domain</th><th>Rated down</th><th>Why</th></tr>")
            parts.append(f"<tr><td>start</td><td></td><td>{html.escape(r.certainty.start_reason)}</td></tr>")
            for dom in r.certainty.domains:
                parts.append(
                    f"<tr><td>{dom.name.replace('_', ' ')}</td><td>{dom.downgrade}</td>"
                    f"<td>{html.escape(dom.explanation)}</td></tr>"
                )
            parts.append("</table>")
        mods = "; ".join(f"{m['moderator']}: {m['result']}" for m in r.moderators if r.effects)
        if mods:
            parts.append(f"<p><b>Moderators:</b> {html.escape(mods)}</p>")
        if d["comparison_with_published"]:
            parts.append(
                f"<p><b>Published meta-analyses:</b> {html.escape(d['comparison_with_published'])}</p>"
            )
    parts.append("</body></html>")
    index = out / "index.html"
    index.write_text("\n".join(parts), encoding="utf-8")
    return index
