"""The consult report: one PDF per patient and visit, for a clinician to read in a consult and hand over.

Two steps, so a web route or the CLI can call them around its own access checks and audit::

    data = consult_report_data(engine, store, person_id, visit="2026-06-01")   # a JSON-ready dict
    pdf = render_consult_pdf(data)                                              # bytes (WeasyPrint)

``consult_report_data`` reads the journal (nothing is written); ``render_consult_pdf`` needs the ``clinic``
extra (WeasyPrint) and reads the before/after photos from the paths in ``data``.
"""

from __future__ import annotations

from ._data import consult_report_data, visit_dates
from ._render import consult_report_html, consult_report_pdf, render_consult_pdf

__all__ = [
    "consult_report_data",
    "consult_report_html",
    "consult_report_pdf",
    "render_consult_pdf",
    "visit_dates",
]
