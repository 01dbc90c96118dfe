"""Import a FHIR bundle as one journal person: everything checked first, then one transaction.

Order: parse and size-check the JSON, validate every entry with fhir.resources, read every entry into rows
(codes, units, references, photo checksums), then, under the photo folder's write lock, check the target
(an empty person, or a new one) and that the patient is not already in the journal, put the photo files,
and insert the rows in one transaction. Any error before the commit leaves the database unchanged (photo
files already put and then unused are removed by the next sweep, as with the archive import).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from regrow.errors import DuplicateError, InputError, NotFoundError
from regrow.journal import TABLES, Change, Person, PhotoStore, Profile, session_scope

from ._codes import DERIVED_FILE_URL, FHIR_VERSION_SYSTEM, PATIENT_KEY_SYSTEM
from ._export import patient_key
from ._read import PARSERS, classify
from ._validate import MAX_BUNDLE_BYTES, load_bundle, validate_bundle
from ._values import MODELS, Ref, Where, check_row, journal_row_tables

__all__ = ["MAX_PHOTO_BYTES", "ImportSummary", "check_bundle", "import_bundle"]

#: Largest photo (decoded) taken from a bundle, in bytes: the archive import's member limit.
MAX_PHOTO_BYTES = 128 * 1024 * 1024
_DERIVED_KINDS = ("overlay", "sidecar")


@dataclass(frozen=True)
class ImportSummary:
    """What :func:`import_bundle` wrote."""

    person_id: int
    created_person: bool
    resources: dict[str, int]
    rows: dict[str, int]
    photo_files_written: int = 0
    photo_files_present: int = 0
    photos_without_files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "person_id": self.person_id,
            "created_person": self.created_person,
            "resources": self.resources,
            "rows": self.rows,
            "photo_files_written": self.photo_files_written,
            "photo_files_present": self.photo_files_present,
            "photos_without_files": self.photos_without_files,
        }


@dataclass
class _Parsed:
    person: dict[str, Any]
    profile: dict[str, Any] | None
    key: str
    rows: dict[str, list[tuple[str, dict[str, Any]]]]
    files: dict[str, dict[str, bytes]]
    resources: dict[str, int]
    dropped: list[str] = field(default_factory=list)


def _decode(data: Any, where: Where, field: str) -> bytes:
    if not isinstance(data, str) or len(data) > MAX_PHOTO_BYTES * 4 // 3 + 4:
        raise where.error(field, f"must be base64 of at most {MAX_PHOTO_BYTES} bytes")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise where.error(field, "is not valid base64") from exc


def _photo_files(resource: dict[str, Any], row: dict[str, Any], where: Where) -> dict[str, bytes] | None:
    """The photo bytes (checked against the SHA-256, and the size and SHA-1 hash when given) and its derived
    files; ``None`` when the bundle carries no bytes."""
    content = resource.get("content") or {}
    files: dict[str, bytes] = {}
    for ext in resource.get("extension", []):
        if ext.get("url") != DERIVED_FILE_URL:
            continue
        attachment = ext.get("valueAttachment") or {}
        if attachment.get("title") not in _DERIVED_KINDS:
            raise where.error(
                "extension[photo-derived-file].title",
                f"unknown {attachment.get('title')!r}; must be one of {', '.join(_DERIVED_KINDS)}",
            )
        files[attachment["title"]] = _decode(
            attachment.get("data"), where, "extension[photo-derived-file].data"
        )
    if "data" not in content:
        return files or None
    data = _decode(content["data"], where, "content.data")
    if hashlib.sha256(data).hexdigest() != row["sha256"]:
        raise where.error("content.data", "does not match the photo's SHA-256 identifier (damaged or edited)")
    if "size" in content and content["size"] != len(data):
        raise where.error("content.size", f"is {content['size']} but the data holds {len(data)} bytes")
    if "hash" in content and content["hash"] != base64.b64encode(hashlib.sha1(data).digest()).decode("ascii"):
        raise where.error("content.hash", "does not match the SHA-1 of the data")
    return {"photo": data, **files}


def _parse(document: dict[str, Any], store: PhotoStore | None) -> _Parsed:
    entries = validate_bundle(document)
    refs: dict[str, str] = {}
    tables: list[tuple[Where, str, dict[str, Any]]] = []
    for index, entry in enumerate(entries):
        resource = entry["resource"]
        where = Where(index, resource["resourceType"])
        if entry["fullUrl"] in refs:
            raise where.error("fullUrl", f"{entry['fullUrl']!r} is used by an earlier entry")
        table = classify(resource, where)
        refs[entry["fullUrl"]] = table
        tables.append((where, table, entry))
    patients = [t for t in tables if t[1] == "person"]
    if len(patients) != 1:
        raise InputError.invalid(
            "Bundle entries", f"{len(patients)} Patient resources", "exactly one Patient"
        )
    if sum(t[1] == "condition" for t in tables) > 1:
        raise InputError.invalid("Bundle entries", "several Condition resources", "at most one Condition")
    patient_url = patients[0][2]["fullUrl"]
    parsed = _Parsed({}, None, "", {}, {}, dict(Counter(w.resource_type for w, _, _ in tables)))
    dropped: set[str] = set()
    for where, table, entry in tables:
        resource = entry["resource"]
        for key in ("subject", "patient"):
            if key in resource and (resource[key] or {}).get("reference") != patient_url:
                raise where.error(f"{key}.reference", f"must name the bundle's Patient ({patient_url})")
        if resource.get("modifierExtension"):
            url = (resource["modifierExtension"][0] or {}).get("url")
            raise where.error(
                "modifierExtension", f"{url!r} changes the meaning of the resource; regrow does not know it"
            )
        allowed = {"person", "profile"} if table == "person" else {table}
        for named in journal_row_tables(resource):
            if named not in allowed:
                raise where.error(
                    "extension[journal-row].table", f"{named!r} does not belong on a {table} resource"
                )
        values = PARSERS[table](resource, where, refs)
        if table == "person":
            parsed.person, parsed.profile = values["person"], values["profile"]
            ids = [
                i.get("value")
                for i in resource.get("identifier", [])
                if i.get("system") == PATIENT_KEY_SYSTEM
            ]
            parsed.key = ids[0] if ids else ""
            continue
        if table == "condition":
            parsed.rows.setdefault("condition", []).append((entry["fullUrl"], values))
            continue
        if table == "photo":
            files = _photo_files(resource, values, where)
            if (files is None or "photo" not in files) and (
                store is None or not store.path(values["file_name"]).is_file()
            ):
                # no bytes in the bundle nor in the photo folder: left out, as the archive import does
                dropped.add(entry["fullUrl"])
                continue
            if files:
                parsed.files[values["file_name"]] = files
        if table == "treatment_session" and values["needle_length_mm"] is None and values["device_id"]:
            device = dict(parsed.rows.get("device", [])).get(values["device_id"].full_url, {})
            values["needle_length_mm"] = device.get("needle_length_mm")  # as the journal: the device's
        check_row(table, values, where)
        if table == "screening_answer" and any(
            row["question"] == values["question"] for _, row in parsed.rows.get(table, [])
        ):
            raise where.error("code", f"screening question {values['question']!r} is answered twice")
        parsed.rows.setdefault(table, []).append((entry["fullUrl"], values))
    _drop_photos(parsed, dropped)
    if parsed.profile is not None or "condition" in parsed.rows:
        profile = parsed.profile or {}
        for _, condition in parsed.rows.pop("condition", []):
            profile.update(condition)
        for column in MODELS["profile"].__table__.columns:
            profile.setdefault(column.key, None)
        profile.pop("person_id", None)
        if profile.get("diagnosis_confirmed_by_clinician") is None:
            profile["diagnosis_confirmed_by_clinician"] = False
        if profile.get("medications") is None:
            profile["medications"] = []
        if profile.get("updated_at") is None:
            profile["updated_at"] = parsed.person["created_at"]
        parsed.profile = check_row("profile", profile, patients[0][0])
    parsed.key = parsed.key or patient_key(Person(**parsed.person))
    parsed.dropped = sorted(dropped)
    return parsed


def _drop_photos(parsed: _Parsed, dropped: set[str]) -> None:
    """Measurements keep their values without the link; corrections of a dropped photo go with it."""
    if not dropped:
        return
    for _, row in parsed.rows.get("measurement", []):
        if isinstance(row.get("photo_id"), Ref) and row["photo_id"].full_url in dropped:
            row["photo_id"] = None
    parsed.rows["hair_correction"] = [
        (url, row)
        for url, row in parsed.rows.get("hair_correction", [])
        if row["photo_id"].full_url not in dropped
    ]


def _is_empty(session: Any, person_id: int) -> bool:
    for model in TABLES:
        if model in (Person, Change):
            continue
        if session.scalar(select(func.count()).select_from(model).where(model.person_id == person_id)):
            return False
    return True


def _target(
    session: Any,
    parsed: _Parsed,
    person_id: int | None,
    allow_duplicate: bool,
    within: list[int] | None = None,
) -> tuple[Person, bool]:
    target = None
    if person_id is not None:
        target = session.get(Person, person_id) if isinstance(person_id, int) else None
        if target is None:
            raise NotFoundError(f"No patient {person_id!r} in this journal to import into.")
        if not _is_empty(session, target.id):
            raise InputError.invalid(
                "patient",
                f"{person_id} (holds records)",
                "an empty patient, or no --patient to create a new one",
            )
    if not allow_duplicate:
        candidates = select(Person).order_by(Person.id)
        if within is not None:  # clinic mode: only this clinic's patients (another clinic's stay unseen)
            candidates = candidates.where(Person.id.in_(within))
        for person in session.scalars(candidates):
            if person is not target and patient_key(person) == parsed.key:
                raise DuplicateError(
                    f"This bundle's patient (key {parsed.key}) is already in the journal as patient {person.id} "
                    f"({person.display_name!r}); nothing was imported. Import it again as a new patient with "
                    "--allow-duplicate (allow_duplicate=True)."
                )
    if target is None:
        target = Person(**parsed.person, is_default=False)
        session.add(target)
        session.flush()
        return target, True
    target.display_name, target.created_at = parsed.person["display_name"], parsed.person["created_at"]
    return target, False


def _insert(
    session: Any, model: type, rows: list[tuple[str, dict[str, Any]]], person_id: int, new_ids: dict[str, int]
) -> None:
    """Insert one table's rows in bundle order, references resolved to the new ids (recorded in ``new_ids``)."""
    table = model.__tablename__
    self_ref = any(k.column.table.name == table for c in model.__table__.columns for k in c.foreign_keys)
    added = []
    for url, values in rows:
        resolved = {k: new_ids[v.full_url] if isinstance(v, Ref) else v for k, v in values.items()}
        row = model(person_id=person_id, **resolved)
        session.add(row)
        added.append((url, row))
        if self_ref:  # a later row of this table may refer to this one (a plan version it superseded)
            session.flush()
            new_ids[url] = row.id
    session.flush()
    new_ids.update((url, row.id) for url, row in added)


def import_bundle(
    engine: Engine,
    store: PhotoStore,
    bundle: dict[str, Any] | bytes | str,
    *,
    person_id: int | None = None,
    allow_duplicate: bool = False,
    max_bytes: int = MAX_BUNDLE_BYTES,
    within: list[int] | None = None,
) -> ImportSummary:
    """Import a FHIR R4/R4B Bundle (as written by :func:`export_bundle`) as one journal person.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        A migrated journal.
    store : PhotoStore
        Its photo folder; photo files are stored under names built from their checked SHA-256.
    bundle : dict, bytes or str
        The Bundle (JSON bytes/text are parsed; at most ``max_bytes``).
    person_id : int, optional
        Fill this existing, empty patient (its name and creation time are taken from the bundle; it keeps
        being the default person if it was). Default: create a new patient.
    allow_duplicate : bool
        Import although a patient with the bundle's patient key is already in the journal.
    max_bytes : int
        Largest JSON accepted, in bytes (default :data:`MAX_BUNDLE_BYTES`).
    within : list of int, optional
        Look for a duplicate among these patients only (clinic mode: the clinic's own patients, so an
        import never reveals another clinic's patient). Default: every person in the journal.

    Returns
    -------
    ImportSummary

    Raises
    ------
    DataFileError
        Not JSON, not a Bundle, a FHIR version other than R4/R4B, a resource fhir.resources rejects, an
        unknown code or unit, a broken reference, a photo whose bytes do not match its SHA-256, too large.
        The message names the entry (index from 0), the resource type and the field.
    DuplicateError
        The patient is already in the journal (names the patient id) and ``allow_duplicate`` is false.
    NotFoundError, InputError
        ``person_id`` is not a patient of this journal, or holds records.
    """
    parsed = _parse(load_bundle(bundle, max_bytes=max_bytes), store)
    from regrow.journal._history import NO_HISTORY

    written = present = 0
    with store.writing(), session_scope(engine) as session:
        session.info[NO_HISTORY] = True  # an import is not undoable (as the archive import)
        target, created = _target(session, parsed, person_id, allow_duplicate, within)
        for name, files in parsed.files.items():
            if "photo" in files:
                if store.path(name).is_file():
                    present += 1
                else:
                    store.put(files["photo"], name[64:])
                    written += 1
            for kind in _DERIVED_KINDS:
                if kind in files:
                    store.put_derived(name[:64], kind, files[kind])
        if parsed.profile is not None:
            session.add(Profile(person_id=target.id, **parsed.profile))
        new_ids: dict[str, int] = {}
        counts = {"person": 1, "profile": int(parsed.profile is not None)}
        for model in TABLES:
            if model.__tablename__ not in ("person", "profile", "change"):
                rows = parsed.rows.get(model.__tablename__, [])
                _insert(session, model, rows, target.id, new_ids)
                counts[model.__tablename__] = len(rows)
        person = target.id
    return ImportSummary(
        person_id=person,
        created_person=created,
        resources=parsed.resources,
        rows=counts,
        photo_files_written=written,
        photo_files_present=present,
        photos_without_files=parsed.dropped,
    )


def check_bundle(
    bundle: dict[str, Any] | bytes | str, *, max_bytes: int = MAX_BUNDLE_BYTES
) -> dict[str, Any]:
    """Every check :func:`import_bundle` runs before writing, without a journal.

    Returns
    -------
    dict
        ``{"fhir_version": ..., "entries": n, "resources": {type: n}, "photos_without_bytes": n}``.

    Raises
    ------
    DataFileError
        As :func:`import_bundle`, naming the entry, resource type and field.
    """
    document = load_bundle(bundle, max_bytes=max_bytes)
    parsed = _parse(document, None)
    tags = (document.get("meta") or {}).get("tag") or []
    versions = [t.get("code") for t in tags if isinstance(t, dict) and t.get("system") == FHIR_VERSION_SYSTEM]
    return {
        "fhir_version": versions[0] if versions else "unmarked (read as R4B)",
        "entries": sum(parsed.resources.values()),
        "resources": parsed.resources,
        "photos_without_bytes": len(parsed.dropped),
    }
