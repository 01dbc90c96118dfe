"""Follicular units: hairs grouped by exit point."""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

__all__ = ["FU_LINK_DISTANCE_UM", "group_units", "unit_histogram"]

#: Exit points closer than this join one follicular unit (single linkage). The lower end of the
#: 0.3-0.5 mm DBSCAN radius suggested in research/hair-imaging-notes.md section 5.4 ("to tune"); at
#: trichoscopy magnification the hairs of one unit leave a single opening, units lie about 1 mm apart.
FU_LINK_DISTANCE_UM = 300.0


def group_units(
    exit_um: np.ndarray, component: np.ndarray, *, link_distance_um: float = FU_LINK_DISTANCE_UM
) -> np.ndarray:
    """Label each hair with a unit index (0, 1, ...).

    Hairs that touch in one detected shaft region always share a unit; otherwise single-linkage
    clustering of exit points at ``link_distance_um``.

    Parameters
    ----------
    exit_um : numpy.ndarray
        (n, 2) exit points in micrometres.
    component : numpy.ndarray
        (n,) detector region label of each hair.
    link_distance_um : float
        Linkage distance.

    Returns
    -------
    numpy.ndarray
        (n,) int unit labels, numbered in order of first appearance.
    """
    n = len(exit_um)
    if n == 0:
        return np.zeros(0, dtype=int)
    if n == 1:
        return np.zeros(1, dtype=int)
    lab = fcluster(
        linkage(np.asarray(exit_um, float), method="single"), t=link_distance_um, criterion="distance"
    )
    # merge clusters that share a detector component (union-find over labels)
    parent = {int(v): int(v) for v in lab}

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    first: dict[int, int] = {}
    for lbl, comp in zip(lab, component, strict=True):
        if int(comp) in first:
            ra, rb = find(int(lbl)), find(first[int(comp)])
            if ra != rb:
                parent[ra] = rb
        else:
            first[int(comp)] = int(lbl)
    roots = [find(int(v)) for v in lab]
    order: dict[int, int] = {}
    return np.array([order.setdefault(r, len(order)) for r in roots], dtype=int)


def unit_histogram(units: np.ndarray) -> dict[str, int]:
    """Counts of 1-, 2-, 3- and 4-or-more-hair units."""
    hist = {"1": 0, "2": 0, "3": 0, "4+": 0}
    if len(units) == 0:
        return hist
    _, sizes = np.unique(units, return_counts=True)
    for s in sizes:
        hist[str(int(s)) if s < 4 else "4+"] += 1
    return hist
