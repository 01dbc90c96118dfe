"""Who may do what in clinic mode: one table for every route, one table for every role.

Every route of the web app has exactly one *kind* in :data:`ROUTES` (a route missing from the table is
refused for everybody, and a test fails); every role has the set of kinds it may use in :data:`ALLOWED`.
Routes of one patient's record are served under ``/patients/<id>/`` (the same pages and API as the home
journal); who may open which patient is :func:`may_open_patient`.

Kinds
-----
- ``open``: no sign-in (the sign-in page, static files).
- ``signed-in``: any signed-in account, no health data (guides, the evidence review, the CSRF token, one's own
  account settings, signing out).
- ``directory``: the clinic's list of patients (names and record numbers) and registering a patient.
- ``accounts``: the clinic's accounts (add, reset a password, unlock, deactivate).
- ``audit``: the audit log and its export.
- ``read``: read one patient's record (pages and API).
- ``upload``: add a scalp photo to one patient's record.
- ``record``: log what was done (sessions, doses, side effects, notes, devices, measurements, counts).
- ``manage``: change or delete what is stored (edits, deletions, undo, the plan, the profile), label exports.
- ``export``: a patient's whole record out (FHIR bundle, consult report).
- ``import``: a FHIR bundle in, as a new patient.
- ``home-only``: the single-person journal's own export, import and "delete everything", which would act on
  the whole database in a clinic: nobody may use them in clinic mode.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ALLOWED", "KINDS", "PATIENT_KINDS", "ROUTES", "allowed", "may_open_patient"]

KINDS = (
    "open",
    "signed-in",
    "directory",
    "accounts",
    "audit",
    "read",
    "upload",
    "record",
    "manage",
    "export",
    "import",
    "home-only",
)
#: Kinds that act on one patient's record: served only under ``/patients/<id>/``.
PATIENT_KINDS = frozenset({"read", "upload", "record", "manage", "export"})

#: What each role may do. An admin runs the clinic's accounts and audit and registers patients, but does not
#: open health records (least privilege); a patient reads their own record and adds their own photos.
ALLOWED: dict[str, frozenset[str]] = {
    "admin": frozenset({"open", "signed-in", "directory", "accounts", "audit"}),
    "clinician": frozenset(
        {"open", "signed-in", "directory", "read", "upload", "record", "manage", "export", "import"}
    ),
    "assistant": frozenset({"open", "signed-in", "directory", "read", "upload", "record"}),
    "patient": frozenset({"open", "signed-in", "read", "upload"}),
}

_R, _U, _C, _M = "read", "upload", "record", "manage"

#: ``(method, route path) -> kind`` for every route of the app in clinic mode.
ROUTES: dict[tuple[str, str], str] = {
    # --- sign-in, clinic pages -------------------------------------------------------------------------
    ("GET", "/login"): "open",
    ("POST", "/login"): "open",
    ("GET", "/static"): "open",
    ("GET", "/favicon.ico"): "open",
    ("POST", "/logout"): "signed-in",
    ("GET", "/account"): "signed-in",
    ("POST", "/account/password"): "signed-in",
    ("POST", "/account/totp"): "signed-in",
    ("POST", "/account/totp/confirm"): "signed-in",
    ("POST", "/account/totp/disable"): "signed-in",
    ("GET", "/clinic"): "directory",
    ("POST", "/clinic/patients"): "directory",
    ("GET", "/clinic/accounts"): "accounts",
    ("POST", "/clinic/accounts"): "accounts",
    ("POST", "/clinic/accounts/{account_id}/reset"): "accounts",
    ("POST", "/clinic/accounts/{account_id}/unlock"): "accounts",
    ("POST", "/clinic/accounts/{account_id}/deactivate"): "accounts",
    ("POST", "/clinic/accounts/{account_id}/activate"): "accounts",
    ("GET", "/clinic/audit"): "audit",
    ("GET", "/clinic/audit.csv"): "audit",
    ("POST", "/clinic/import"): "import",
    ("GET", "/record/fhir.json"): "export",
    ("GET", "/record/report.pdf"): "export",
    # --- content that is the same for everybody ------------------------------------------------------
    ("GET", "/openapi.json"): "signed-in",
    ("GET", "/api"): "signed-in",
    ("GET", "/api/csrf"): "signed-in",
    ("GET", "/docs"): "signed-in",
    ("GET", "/docs/{topic}"): "signed-in",
    ("GET", "/evidence"): "signed-in",
    ("GET", "/api/evidence"): "signed-in",
    ("GET", "/api/evidence/{comparison_id}/{kind}.png"): "signed-in",
    # --- one patient's record: pages ----------------------------------------------------------------
    ("GET", "/"): _R,
    ("GET", "/profile"): _R,
    ("POST", "/profile"): _M,
    ("POST", "/profile/screening"): _M,
    ("POST", "/profile/clear"): _M,
    ("GET", "/plan"): _R,
    ("POST", "/plan"): _M,
    ("POST", "/plan/edit"): _M,
    ("POST", "/plans/{plan_id}/delete"): _M,
    ("GET", "/log"): _R,
    ("POST", "/log/session"): _C,
    ("POST", "/log/dose"): _C,
    ("POST", "/log/event"): _C,
    ("POST", "/log/note"): _C,
    ("POST", "/log/event/{event_id}/resolve"): _C,
    ("GET", "/devices"): _R,
    ("POST", "/devices"): _C,
    ("POST", "/devices/{device_id}/disinfect"): _C,
    ("POST", "/devices/{device_id}/retire"): _C,
    ("GET", "/photos"): _R,
    ("POST", "/photos"): _U,
    ("POST", "/photos/count"): _C,
    ("GET", "/photos/{photo_id}"): _R,
    ("POST", "/photos/{photo_id}/corrections"): _C,
    ("POST", "/photos/{photo_id}/corrections/{correction_id}/delete"): _M,
    ("POST", "/photos/{photo_id}/count"): _C,
    ("POST", "/measurements/{measurement_id}/review"): _C,
    ("GET", "/progress"): _R,
    ("GET", "/compare"): _R,
    ("GET", "/compare/aligned.png"): _R,
    ("GET", "/history"): _R,
    ("POST", "/undo"): _M,
    ("GET", "/records/{kind}/{row_id}/edit"): _M,
    ("POST", "/records/{kind}/{row_id}/edit"): _M,
    ("POST", "/records/{kind}/{row_id}/delete"): _M,
    ("GET", "/data"): "home-only",
    ("POST", "/data/import"): "home-only",
    ("POST", "/data/delete"): "home-only",
    # --- one patient's record: API ------------------------------------------------------------------
    ("GET", "/api/today"): _R,
    ("GET", "/api/profile"): _R,
    ("PUT", "/api/profile"): _M,
    ("PATCH", "/api/profile"): _M,
    ("DELETE", "/api/profile"): _M,
    ("PUT", "/api/profile/screening"): _M,
    ("GET", "/api/devices"): _R,
    ("POST", "/api/devices"): _C,
    ("GET", "/api/devices/{row_id}"): _R,
    ("PATCH", "/api/devices/{row_id}"): _M,
    ("DELETE", "/api/devices/{row_id}"): _M,
    ("POST", "/api/devices/{device_id}/disinfections"): _C,
    ("POST", "/api/devices/{device_id}/retire"): _C,
    ("GET", "/api/plan"): _R,
    ("POST", "/api/plan"): _M,
    ("PATCH", "/api/plan"): _M,
    ("POST", "/api/plan/check"): _M,
    ("DELETE", "/api/plans/{plan_id}"): _M,
    ("GET", "/api/plan/schedule.ics"): _R,
    ("GET", "/api/log"): _R,
    ("GET", "/api/sessions"): _R,
    ("POST", "/api/sessions"): _C,
    ("GET", "/api/sessions/{row_id}"): _R,
    ("PATCH", "/api/sessions/{row_id}"): _M,
    ("DELETE", "/api/sessions/{row_id}"): _M,
    ("GET", "/api/doses"): _R,
    ("POST", "/api/doses"): _C,
    ("GET", "/api/doses/{row_id}"): _R,
    ("PATCH", "/api/doses/{row_id}"): _M,
    ("DELETE", "/api/doses/{row_id}"): _M,
    ("GET", "/api/events"): _R,
    ("POST", "/api/events"): _C,
    ("GET", "/api/events/{row_id}"): _R,
    ("PATCH", "/api/events/{row_id}"): _M,
    ("DELETE", "/api/events/{row_id}"): _M,
    ("POST", "/api/events/{event_id}/resolve"): _C,
    ("GET", "/api/notes"): _R,
    ("POST", "/api/notes"): _C,
    ("GET", "/api/notes/{row_id}"): _R,
    ("PATCH", "/api/notes/{row_id}"): _M,
    ("DELETE", "/api/notes/{row_id}"): _M,
    ("GET", "/api/disinfections"): _R,
    ("GET", "/api/disinfections/{row_id}"): _R,
    ("PATCH", "/api/disinfections/{row_id}"): _M,
    ("DELETE", "/api/disinfections/{row_id}"): _M,
    ("GET", "/api/acknowledgements"): _R,
    ("GET", "/api/acknowledgements/{row_id}"): _R,
    ("PATCH", "/api/acknowledgements/{row_id}"): _M,
    ("DELETE", "/api/acknowledgements/{row_id}"): _M,
    ("GET", "/api/photos"): _R,
    ("POST", "/api/photos"): _U,
    ("GET", "/api/photos/jobs"): _R,
    ("GET", "/api/photos/{photo_id}"): _R,
    ("GET", "/api/photos/{photo_id}/image"): _R,
    ("GET", "/api/photos/{photo_id}/overlay"): _R,
    ("PATCH", "/api/photos/{row_id}"): _M,
    ("DELETE", "/api/photos/{row_id}"): _M,
    ("GET", "/api/photos/{photo_id}/corrections"): _R,
    ("POST", "/api/photos/{photo_id}/corrections"): _C,
    ("DELETE", "/api/corrections/{correction_id}"): _M,
    ("PUT", "/api/photos/{photo_id}/count"): _C,
    ("GET", "/api/measurements"): _R,
    ("POST", "/api/measurements"): _C,
    ("GET", "/api/measurements/{row_id}"): _R,
    ("PATCH", "/api/measurements/{row_id}"): _M,
    ("DELETE", "/api/measurements/{row_id}"): _M,
    ("POST", "/api/measurements/{measurement_id}/review"): _C,
    ("GET", "/api/progress"): _R,
    ("GET", "/api/history"): _R,
    ("POST", "/api/undo"): _M,
    ("GET", "/api/labels/voc.zip"): _M,
    ("GET", "/api/export"): "home-only",
    ("POST", "/api/import"): "home-only",
    ("POST", "/api/delete"): "home-only",
}


def allowed(role: str, kind: str) -> bool:
    """Whether ``role`` may use a route of ``kind`` (unknown roles and kinds: no)."""
    return kind in ALLOWED.get(role, frozenset())


def may_open_patient(account: Any, *, person_id: int, clinic_id_of_patient: int | None) -> bool:
    """Whether ``account`` (an account row, or anything with its ``clinic_id``, ``role`` and ``person_id``) may
    open patient ``person_id`` at all (which routes then is :func:`allowed`).

    Clinicians and assistants open every patient of their own clinic, a patient only their own record, an
    admin none. A patient of another clinic (or no patient: ``clinic_id_of_patient`` is ``None``) is never
    opened; the caller answers 404 so that its existence is not revealed.
    """
    if clinic_id_of_patient is None or clinic_id_of_patient != account.clinic_id:
        return False
    if account.role == "patient":
        return account.person_id == person_id
    return account.role in ("clinician", "assistant")
