"""Names the plot options accept, without importing matplotlib (the CLI checks them before fitting)."""

from __future__ import annotations

__all__ = ["FOREST_ORDERS", "SAVE_FORMATS"]

#: File formats :func:`regrow.meta.save_figure` writes, chosen by the file extension.
SAVE_FORMATS = ("png", "svg", "pdf")

#: Row orders :func:`regrow.meta.plot_forest` accepts (``order=``).
FOREST_ORDERS = ("obs", "prec", "weight", "label")
