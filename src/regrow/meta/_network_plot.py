"""The network graph: treatments on a circle, one line per directly compared pair.

Line width grows with the number of studies making the comparison (the number is printed on the line); node
area grows with the number of participants randomised to the treatment (or, when arm sizes are unknown, the
number of studies including it). matplotlib is imported only when a plot is drawn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from regrow.errors import InputError, MissingExtraError
from regrow.meta._network_data import NetworkData

__all__ = ["plot_network"]


def _pyplot():
    try:
        from matplotlib import pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is a core dependency
        raise MissingExtraError("matplotlib", "plots") from exc
    return plt


def plot_network(
    net: NetworkData,
    *,
    order: list[str] | None = None,
    title: str | None = None,
    path: str | Path | None = None,
    ax=None,
    labels: dict[str, str] | None = None,
):
    """Draw the network graph of :class:`NetworkData` (or of a fitted network via ``result.plot()``).

    Parameters
    ----------
    net : NetworkData
    order : list of str, optional
        Treatments in the order they go round the circle (default: sorted, or the network order).
    title : str, optional
    path : str or Path, optional
        Also save the figure there (PNG, SVG or PDF by extension).
    ax : matplotlib Axes, optional
        Draw into these axes instead of a new figure.
    labels : dict, optional
        Display names for treatments.

    Returns
    -------
    matplotlib.figure.Figure
    """
    treatments = list(order) if order is not None else net.treatments
    if sorted(treatments) != net.treatments:
        raise InputError(
            f"order must list each treatment of the network once: {', '.join(net.treatments)}.", field="order"
        )
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 6.4))
    else:
        fig = ax.figure
    t = len(treatments)
    angle = np.pi / 2 - 2 * np.pi * np.arange(t) / t
    xy = {name: (np.cos(a), np.sin(a)) for name, a in zip(treatments, angle, strict=True)}
    edges: dict[tuple[str, str], int] = {}
    for arms in net.arms.values():
        for i, a in enumerate(arms):
            for b in arms[i + 1 :]:
                key = tuple(sorted((a, b)))
                edges[key] = edges.get(key, 0) + 1
    most = max(edges.values())
    for (a, b), count in edges.items():
        (x1, y1), (x2, y2) = xy[a], xy[b]
        ax.plot([x1, x2], [y1, y2], color="#4a6f8a", linewidth=1.0 + 7.0 * count / most, zorder=1,
                solid_capstyle="round")  # fmt: skip
        ax.text((x1 + x2) / 2, (y1 + y2) / 2, str(count), ha="center", va="center", fontsize=8, zorder=3,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"})  # fmt: skip
    if net.arm_n:
        size = {tr: sum(n for (_, t_), n in net.arm_n.items() if t_ == tr) for tr in treatments}
        what = "participants"
    else:
        size = {tr: sum(tr in arms for arms in net.arms.values()) for tr in treatments}
        what = "studies"
    biggest = max(size.values()) or 1
    for name in treatments:
        x, y = xy[name]
        share = size[name] / biggest
        ax.scatter([x], [y], s=200 + 1400 * share, color="#d9e6ef", edgecolor="#2f4f64", zorder=2)
        offset = 1.2 + 0.12 * share  # clear of the node, whose radius grows with its size
        ax.text(offset * x, offset * y, (labels or {}).get(name, name), ha="center", va="center", fontsize=9)
    ax.set_xlim(-1.6, 1.6)
    ax.set_ylim(-1.6, 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(
        title or f"{len(net.arms)} studies, {t} treatments (line: studies; node: {what})", fontsize=10
    )
    if path is not None:
        fig.savefig(Path(path), bbox_inches="tight", dpi=150)
    return fig
