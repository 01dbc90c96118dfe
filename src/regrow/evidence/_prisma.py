"""The PRISMA 2020 flow diagram of the review, drawn from the screening log's counts (SVG, via matplotlib).

The boxes follow the PRISMA 2020 flow diagram for new systematic reviews (Page et al. 2021, BMJ 372:n71,
doi:10.1136/bmj.n71): identification (databases and registers, other methods), duplicates removed, screening,
retrieval, eligibility with the reasons for exclusion, and the studies included. Every number comes from
:func:`regrow.evidence._screening.prisma_counts`; nothing is typed in.
"""

from __future__ import annotations

import io
import textwrap

__all__ = ["prisma_boxes", "prisma_svg"]

_WRAP = 58


def prisma_boxes(counts) -> list[tuple[str, str, str]]:
    """The diagram's boxes as (stage, main box text, side box text) rows, top to bottom.

    Parameters
    ----------
    counts : PrismaCounts

    Returns
    -------
    list of (str, str, str)
    """
    reasons = "\n".join(f"  {why} (n = {n})" for why, n in counts.to_dict()["excluded_eligibility"].items())
    included = (
        f"Studies included in the review (n = {counts.studies_included})\n"
        f"Reports of included studies (n = {counts.reports_included})"
    )
    if counts.studies_in_meta_analysis is not None:
        included += f"\nStudies giving a pooled effect (n = {counts.studies_in_meta_analysis})"
    return [
        (
            "Identification",
            f"Records identified from:\n  searches of stored pages (n = {counts.identified_databases})\n"
            f"  trial registers (n = {counts.identified_registers})\n  other methods: citation searching and the "
            f"earlier extraction (n = {counts.identified_other})",
            f"Duplicate records removed\n(n = {counts.duplicates_removed})",
        ),
        (
            "Screening",
            f"Records screened\n(n = {counts.screened})",
            f"Records excluded\n(n = {counts.excluded_screening})",
        ),
        (
            "",
            f"Reports sought for retrieval\n(n = {counts.sought})",
            f"Reports not retrieved\n(n = {counts.not_retrieved})",
        ),
        ("", f"Reports assessed for eligibility\n(n = {counts.assessed})", f"Reports excluded:\n{reasons}"),
        ("Included", included, ""),
    ]


def _wrap(text: str) -> str:
    out = []
    for line in text.splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        out.extend(textwrap.wrap(line, _WRAP, subsequent_indent=indent + "  ") or [""])
    return "\n".join(out)


def prisma_svg(counts, *, fmt: str = "svg") -> bytes:
    """Draw the PRISMA 2020 flow diagram of ``counts`` and return it as SVG (or PNG) bytes.

    Parameters
    ----------
    counts : PrismaCounts
    fmt : {"svg", "png"}, default "svg"

    Returns
    -------
    bytes
        An SVG document (or PNG image).
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    from regrow.meta import new_figure  # matplotlib, only when drawn

    rows = [(stage, _wrap(main), _wrap(side)) for stage, main, side in prisma_boxes(counts)]
    line_h, pad, gap = 0.16, 0.12, 0.35  # inches: per text line, inside a box, between rows
    heights = [(max(main.count("\n"), side.count("\n")) + 1) * line_h + 2 * pad for _, main, side in rows]
    total = sum(heights) + gap * (len(rows) - 1) + 0.3
    fig = new_figure(9.0, total)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 9.0)
    ax.set_ylim(0, total)
    ax.axis("off")
    main_x, side_x, width = 0.75, 5.05, 3.8
    arrow = {"arrowstyle": "-|>", "mutation_scale": 9, "color": "#333333", "lw": 0.8}
    top = total - 0.15
    previous_bottom = None
    for (stage, main, side), height in zip(rows, heights, strict=True):
        bottom = top - height
        for x, text in ((main_x, main), (side_x, side)):
            if not text:
                continue
            ax.add_patch(
                FancyBboxPatch(
                    (x, bottom), width, height, boxstyle="square,pad=0", fc="white", ec="#333333", lw=0.8
                )
            )
            ax.text(x + pad, top - pad, text, va="top", ha="left", fontsize=7.5, linespacing=1.25)
        if side:
            ax.add_patch(
                FancyArrowPatch((main_x + width, (top + bottom) / 2), (side_x, (top + bottom) / 2), **arrow)
            )
        if previous_bottom is not None:
            ax.add_patch(
                FancyArrowPatch((main_x + width / 2, previous_bottom), (main_x + width / 2, top), **arrow)
            )
        if stage:
            ax.text(
                0.32,
                (top + bottom) / 2,
                stage,
                rotation=90,
                va="center",
                ha="center",
                fontsize=8.5,
                fontweight="bold",
                bbox={"boxstyle": "round,pad=0.3", "fc": "#dbe7f3", "ec": "#7f9fbf", "lw": 0.6},
            )
        previous_bottom = bottom
        top = bottom - gap
    from matplotlib import rc_context

    buf = io.BytesIO()
    with rc_context({"svg.fonttype": "none"}):  # text stays text: searchable, and readable by screen readers
        fig.savefig(buf, format=fmt, dpi=110)
    return buf.getvalue()
