"""Reading and validating a FHIR bundle with fhir.resources (R4B models): JSON, size, version, every entry.

Every check runs before the importer writes anything; each error names the entry (index from 0), its resource
type and the field, in one line.
"""

from __future__ import annotations

import json
from typing import Any

from regrow.errors import DataFileError, MissingExtraError

from ._codes import FHIR_VERSION, FHIR_VERSION_SYSTEM
from ._values import Where

__all__ = [
    "ACCEPTED_FHIR_VERSIONS",
    "MAX_BUNDLE_BYTES",
    "MAX_ENTRIES",
    "load_bundle",
    "model_class",
    "validate_bundle",
    "validate_resource",
]

#: Largest bundle read, in bytes of JSON: a photo is at most 100 MB (``measure.DEFAULT_MAX_BYTES``) and
#: base64 adds a third, so 512 MiB holds a few photos of that size or hundreds of trichoscope images. It
#: bounds the memory a crafted file can make the importer use (the JSON, the models, the decoded photos).
MAX_BUNDLE_BYTES = 512 * 1024 * 1024
#: Most entries read from one bundle (a five-year daily journal has under 10,000).
MAX_ENTRIES = 200_000
#: FHIR versions (major.minor) whose JSON the R4B models read: R4 (4.0) and R4B (4.3).
ACCEPTED_FHIR_VERSIONS = ("4.0", "4.3")


def model_class(resource_type: str) -> Any:
    """The fhir.resources R4B model class of ``resource_type`` (``None`` when R4B has no such resource).

    Raises
    ------
    MissingExtraError
        fhir.resources is not installed.
    """
    try:
        from fhir.resources.R4B import get_fhir_model_class
    except ImportError as exc:
        raise MissingExtraError("fhir.resources", "clinic") from exc
    try:
        return get_fhir_model_class(resource_type)
    except (KeyError, ValueError, ImportError, AttributeError):
        return None


def _first_error(exc: Any) -> str:
    errors = exc.errors() if hasattr(exc, "errors") else []
    if not errors:
        return str(exc).splitlines()[0]
    first = errors[0]
    loc = ".".join(str(part) for part in first.get("loc", ()))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{loc}: {first.get('msg', 'invalid')}{more}"


def validate_resource(resource: Any, where: Where) -> None:
    """Validate one resource with its fhir.resources R4B model.

    Raises
    ------
    DataFileError
        Not an object, an unknown resource type, or a value the model rejects (names entry, type, field).
    """
    if not isinstance(resource, dict):
        raise where.error("resource", "must be a JSON object")
    cls = model_class(resource.get("resourceType", ""))
    if cls is None:
        raise where.error("resourceType", f"{resource.get('resourceType')!r} is not a FHIR R4B resource type")
    from pydantic import ValidationError

    try:
        cls.model_validate(resource)
    except ValidationError as exc:
        detail = _first_error(exc)
        field, _, message = detail.partition(": ")
        raise where.error(field or "resource", f"rejected by fhir.resources: {message or detail}") from exc


def load_bundle(bundle: dict[str, Any] | bytes | str, *, max_bytes: int = MAX_BUNDLE_BYTES) -> dict[str, Any]:
    """Parse bundle JSON (bytes or text) within ``max_bytes``; a dict passes through.

    Raises
    ------
    DataFileError
        Too large, not UTF-8 JSON, or not a JSON object.
    """
    if isinstance(bundle, dict):
        return bundle
    if isinstance(bundle, str):
        bundle = bundle.encode("utf-8")
    if not isinstance(bundle, bytes | bytearray):
        raise DataFileError(f"A FHIR bundle must be JSON bytes or a dict, not {type(bundle).__name__}.")
    if len(bundle) > max_bytes:
        raise DataFileError(
            f"The bundle is {len(bundle)} bytes; at most {max_bytes} bytes are imported "
            "(export without photos, or split it). Nothing was imported."
        )
    try:
        document = json.loads(bytes(bundle).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFileError(f"The bundle is not JSON ({exc}); nothing was imported.") from exc
    if not isinstance(document, dict):
        raise DataFileError("The bundle is not a JSON object; nothing was imported.")
    return document


def _check_version(bundle: dict[str, Any]) -> None:
    meta = bundle.get("meta") if isinstance(bundle.get("meta"), dict) else {}
    tags = meta.get("tag") if isinstance(meta.get("tag"), list) else []
    for tag in tags:
        if isinstance(tag, dict) and tag.get("system") == FHIR_VERSION_SYSTEM:
            version = str(tag.get("code"))
            if ".".join(version.split(".")[:2]) not in ACCEPTED_FHIR_VERSIONS:
                raise DataFileError(
                    f"Bundle meta.tag: FHIR version {version!r}; regrow reads R4 (4.0.x) and R4B (4.3.x) "
                    f"bundles (it writes {FHIR_VERSION}). Nothing was imported.",
                    column="meta.tag",
                )


def validate_bundle(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Check a bundle's shell, version marker and every entry with fhir.resources; return the entries.

    Raises
    ------
    DataFileError
        Not a Bundle, a FHIR version other than R4/R4B, too many entries, an entry without ``fullUrl`` or
        ``resource``, or a resource fhir.resources rejects.
    """
    if bundle.get("resourceType") != "Bundle":
        raise DataFileError(
            f"resourceType is {bundle.get('resourceType')!r}; a FHIR Bundle is expected. Nothing was imported.",
            column="resourceType",
        )
    _check_version(bundle)
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise DataFileError("Bundle entry must be a list; nothing was imported.", column="entry")
    if len(entries) > MAX_ENTRIES:
        raise DataFileError(
            f"The bundle has {len(entries)} entries; at most {MAX_ENTRIES} are imported.", column="entry"
        )
    shell = {key: value for key, value in bundle.items() if key != "entry"}
    validate_resource(shell, Where(-1, "Bundle"))
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        where = Where(index, resource.get("resourceType", "?") if isinstance(resource, dict) else "?")
        if not isinstance(entry, dict) or not isinstance(resource, dict):
            raise where.error("resource", "each entry needs a resource object")
        if not isinstance(entry.get("fullUrl"), str):
            raise where.error("fullUrl", "each entry needs a fullUrl (references point at it)")
        extra = set(entry) - {"fullUrl", "resource", "search", "request", "response", "link"}
        if extra:
            raise where.error(sorted(extra)[0], "is not a field of Bundle.entry")
        validate_resource(resource, where)
    return entries
