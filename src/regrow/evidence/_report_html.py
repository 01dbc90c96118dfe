"""The report's review-wide HTML sections: the article's claims, the issue's targets, the PRISMA flow diagram,
the networks, the published reviews side by side and the per-study provenance table."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

__all__ = ["review_sections"]


def _e(x: Any) -> str:
    return "&ndash;" if x is None else html.escape(str(x))


def _n(x: Any, measure: str = "MD") -> str:
    if x is None:
        return "&ndash;"
    return f"{x:.2f}" if measure in ("SMD", "RR", "OR") else f"{x:.3g}"


def _claims(full) -> str:
    rows = [
        "<h2 id='claims'>The article's claims: what the trials support</h2>",
        "<table><tr><th>Claim</th><th>What the trials support</th><th>Certainty</th></tr>",
    ]
    for c in full.claims:
        evidence = "".join(
            f"<li>{_e(e['title'])}: {_e(e['text'])} <i>({_e(e['certainty'])})</i></li>" for e in c["evidence"]
        )
        details = (
            f"<details><summary>evidence ({len(c['evidence'])})</summary><ul>{evidence}</ul></details>"
            if evidence
            else ""
        )
        rows.append(
            f"<tr><td>{_e(c['claim'])}</td><td>{_e(c['verdict'])}{details}</td>"
            f"<td class='cert'>{_e(c['certainty'])}</td></tr>"
        )
    rows.append(
        "</table><p><small>Certainty: GRADE for pairwise results, CINeMA for network estimates; "
        "'no evidence' when no trial measures it, 'not graded' for descriptions without a comparison.</small></p>"
    )
    return "\n".join(rows)


def _targets(full) -> str:
    rows = [
        "<h2 id='targets'>What this review reaches, and what it cannot</h2>",
        "<table><tr><th>Check (issue #16)</th><th>Required</th><th>Reached</th><th>Met</th><th>Why not</th></tr>",
    ]
    for t in full.targets:
        why = "<ul>" + "".join(f"<li>{_e(w)}</li>" for w in t["why_not"]) + "</ul>" if t["why_not"] else ""
        rows.append(
            f"<tr><td>{_e(t['check'])}</td><td>{_e(t['required'])}</td><td>{_e(t['reached'])}</td>"
            f"<td class='cert'>{'yes' if t['met'] else 'no'}</td><td>{why}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


def _prisma(full, out: Path) -> str:
    from regrow.evidence._prisma import prisma_svg

    svg = prisma_svg(full.prisma)
    (out / "prisma.svg").write_bytes(svg)
    b64 = base64.b64encode(svg).decode("ascii")
    c = full.prisma
    return (
        f"<h2 id='prisma'>How the trials were found (PRISMA 2020)</h2><p><img src='data:image/svg+xml;base64,{b64}' "
        f"alt='PRISMA 2020 flow diagram'></p><p><small>From the screening log ({len(full.screening.records)} records; "
        f"searched {_e(full.screening.searched)}). {c.studies_included} studies are included; "
        f"{c.studies_in_meta_analysis} give a pooled effect.</small></p>"
    )


def _networks(full, img) -> str:
    from regrow.evidence._network_report import network_html

    parts = [
        "<h2 id='networks'>Network meta-analyses</h2>",
        "<p>Every pattern-hair-loss trial arm with a usable number enters the network of its outcome, so that "
        "treatments never compared head to head can be compared through common comparators. Random effects "
        "with one heterogeneity variance (REML), as in metafor's network examples; P-scores and SUCRA for "
        "ranking; design-by-treatment and node splitting for inconsistency; CINeMA-style confidence per "
        "comparison. Alopecia areata trials are not networked with pattern hair loss (another disease); their "
        "pairwise results are below.</p>",
    ]
    for nr in full.networks:
        parts.append(network_html(nr, img))
    return "\n".join(parts)


def _published(full) -> str:
    rows = [
        "<h2 id='published'>Our estimates beside the published meta-analyses</h2>",
        "<table><tr><th>Published</th><th>Their estimate</th><th>Ours</th><th>Why they differ</th></tr>",
    ]
    for p in full.published:
        ci = (
            f" ({_n(p['ci_lb'], p['measure'])} to {_n(p['ci_ub'], p['measure'])})"
            if p["ci_lb"] is not None
            else ""
        )
        k = "?" if p["k"] is None else int(p["k"])
        theirs = f"{_e(p['measure'])} {_n(p['estimate'], p['measure'])}{ci}<br><small>k = {k}; {_e(p['outcome'])}</small>"
        cite = f"<a href='{_e(p['url'])}'>{_e(p['citation'])}</a>" if p["url"] else _e(p["citation"])
        if not p["ours"]:
            rows.append(
                f"<tr><td>{cite}</td><td>{theirs}</td><td>&ndash;</td><td>{_e(p['not_compared'])}</td></tr>"
            )
            continue
        for i, side in enumerate(p["ours"]):
            if side["estimable"]:
                ours = (
                    f"{_e(side['measure'])} {_n(side['estimate'], side['measure'])} ({_n(side['ci_lb'], side['measure'])} "
                    f"to {_n(side['ci_ub'], side['measure'])})<br><small>{_e(side['kind'])}: k = {side['k']}, "
                    f"{side['n_participants']} people; certainty {_e(side['certainty'])}</small>"
                )
            else:
                ours = f"not estimable<br><small>{_e(side['kind'])}</small>"
            why = "<ul>" + "".join(f"<li>{_e(d)}</li>" for d in side["differences"]) + "</ul>"
            lead = (
                f"<td rowspan='{len(p['ours'])}'>{cite}</td><td rowspan='{len(p['ours'])}'>{theirs}</td>"
                if i == 0
                else ""
            )
            rows.append(f"<tr>{lead}<td>{ours}</td><td>{why}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _provenance(full) -> str:
    cov = full.coverage
    rows = [
        "<h2 id='provenance'>Where every pooled number comes from</h2>",
        f"<p>{cov['with_provenance']} of {cov['numbers']} reported numbers behind the pooled results carry the URL "
        f"they were read from and where in it; {cov['imputations']} imputations are listed with their donor or "
        "rule.</p><details><summary>per-study provenance table</summary>",
        "<table><tr><th>Study</th><th>Used in</th><th>Outcome</th><th>Arm</th><th>Number</th><th>Value</th>"
        "<th>Status</th><th>Source (location)</th></tr>",
    ]
    for r in full.provenance:
        value = r["note"] if r["field"] == "imputation" else r["value"]
        src = f"<a href='{_e(r['source'])}'>{_e(r['source'])}</a>" if r["source"] else "&ndash;"
        rows.append(
            f"<tr><td>{_e(r['label'])} ({_e(r['study'])})</td><td>{_e(r['used_in'])}</td><td>{_e(r['outcome'])}</td>"
            f"<td>{_e(r['arm'])}</td><td>{_e(r['field'])}</td><td>{_e(value)}</td><td>{_e(r['status'])}</td>"
            f"<td>{src}<br><small>{_e(r['location'])}</small></td></tr>"
        )
    rows.append("</table></details>")
    return "\n".join(rows)


def review_sections(full, out: Path, img) -> list[str]:
    """The review-wide HTML sections, in report order; figures are also written into ``out``.

    ``img(png, alt, name)`` embeds PNG bytes and writes them to ``out / name``.
    """
    return [
        _claims(full),
        _targets(full),
        _prisma(full, out),
        _networks(full, img),
        _published(full),
        _provenance(full),
    ]
