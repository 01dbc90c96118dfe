"""FHIR R4B export and import of one journal person (a clinic's patient), built and validated with
fhir.resources.

Typical use::

    from regrow import journal as jr
    from regrow.fhir import export_bundle, import_bundle

    with jr.session_scope(engine) as session:
        bundle = export_bundle(session, store, person_id)       # a JSON-ready Bundle dict
    summary = import_bundle(other_engine, other_store, bundle)  # a new person, all or nothing

See docs/fhir.md for the resource mapping, the code systems and the units.
"""

from __future__ import annotations

from ._codes import BASE_URL, CODE_SYSTEMS, COMPONENT_CODES, FHIR_VERSION, code_system
from ._export import ROW_COLUMNS, export_bundle, patient_key
from ._import import MAX_PHOTO_BYTES, ImportSummary, check_bundle, import_bundle
from ._validate import MAX_BUNDLE_BYTES, load_bundle, validate_bundle

__all__ = [
    "BASE_URL",
    "CODE_SYSTEMS",
    "COMPONENT_CODES",
    "FHIR_VERSION",
    "MAX_BUNDLE_BYTES",
    "MAX_PHOTO_BYTES",
    "ROW_COLUMNS",
    "ImportSummary",
    "check_bundle",
    "code_system",
    "export_bundle",
    "import_bundle",
    "load_bundle",
    "patient_key",
    "validate_bundle",
]
