"""The bad values, the field types of every form and route, and the request cases of ``test_web_fuzz.py``.

Every form and every API route that changes something is a :class:`Case`: a valid base request and the type
of each field. Each bad value of a field's type replaces that field in the base; the app must refuse it with a
message naming the field and store nothing. The table is written out by hand (not read from the app), and
the tests check it covers every route of the app and every input of every form the pages render.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from html.parser import HTMLParser
from typing import Any

TODAY = dt.date.today()
LONG = "x" * 10_000
MARKUP = "<script>alert(1)</script>"
TRAVERSAL = "../../../../etc/passwd"
RTL = "abc\u202edef"
NUL = "a\x00b"

#: Bad values as a form posts them (text), by field type. A value here is wrong for every field of its type.
FORM_BAD: dict[str, list[str]] = {
    "int": ["abc", "-1", "1e309", "NaN", "9" * 40, "1.5", NUL, "[]", MARKUP, TRAVERSAL, LONG, "9999-12-31"],
    "float": ["abc", "-1", "1e309", "NaN", "inf", "-inf", "9" * 400, NUL, "[]", MARKUP, TRAVERSAL, LONG],
    "date": [
        "9999-12-31",
        "0000-00-00",
        "2025-02-30",
        "1800-01-01",
        "31/12/2025",
        "yesterday",
        NUL,
        "[]",
        MARKUP,
        TRAVERSAL,
        LONG,
        "-1",
        "NaN",
    ],
    "choice": ["nope", NUL, "[]", MARKUP, TRAVERSAL, LONG, RTL, "-1", "ROLLER "],
    "text": [NUL, RTL, "\x07bell"],  # plus one character over the field's limit (see too_long) and blanks
    "list": ["[]", "-", "a, []", NUL, RTL, "x" * 201],
    "times": ["[]", "25:00", "noon", NUL, LONG],
    "id": ["abc", "-1", "0", "9" * 40, "1.5", NUL, "[]", "424242", MARKUP],
    "yesno": ["perhaps", NUL, "[]", LONG, "-1", MARKUP],
    "action": ["paint", NUL, "[]", LONG, MARKUP, "ADD"],
    "decision": ["maybe", NUL, "[]", LONG, ""],
    "confirm": ["yes", "delete", NUL, LONG, MARKUP, ""],
}

#: Bad JSON values by field type. ``RAW`` marks JSON text sent as it is (1e309 and NaN have no Python literal
#: json.dumps would write).
RAW = "\x00raw:"
JSON_BAD: dict[str, list[Any]] = {
    "int": ["abc", -1, RAW + "1e309", RAW + "NaN", 10**40, 1.5, [], {}, True, "5", LONG],
    "float": ["abc", -1, RAW + "1e309", RAW + "NaN", RAW + "-Infinity", [], {}, True, "1.5", LONG],
    "date": ["9999-12-31", "0000-00-00", "2025-02-30", "1800-01-01", NUL, LONG, MARKUP, 5, [], {}, True],
    "choice": ["nope", NUL, LONG, MARKUP, TRAVERSAL, RTL, 5, [], {}, True],
    "text": [NUL, RTL, 5, [], {}, True, 1.5],
    "list": ["abc", [""], ["[]"], [NUL], [RTL], [5], {}, 5, ["x" * 201], [[]]],
    "times": ["08:00", ["25:00"], ["noon"], [5], 5, {}],
    "id": ["abc", -1, 0, 10**40, 1.5, [], {}, True, 424242, "1"],
    "bool": ["yes", 1, 0, [], {}, "true"],
    "acknowledge": ["x", [], {"no.such_rule": "why"}, {"topical.not_approved": 5}, 5],
    "action": ["paint", NUL, LONG, 5, [], "ADD"],
    "group": [LONG, NUL, 5, [], {}, "0" * 32],
    "confirm": ["yes", NUL, LONG, 5, []],
}
#: Bad path ids (and bad query values) of routes that name a record.
PAGES = (
    "/",
    "/profile",
    "/plan",
    "/log",
    "/devices",
    "/photos",
    "/progress",
    "/evidence",
    "/history",
    "/data",
    "/api",
)
PATH_BAD = ["-1", "0", "abc", "9" * 30, "1.5", "%00", "..%2F..%2Fetc%2Fpasswd", "424242"]


def too_long(field: str) -> str:
    """One character more than the journal's limit of ``field`` (the same limit in CLI, API and forms)."""
    from regrow.journal._fields import DEFAULT_TEXT_MAX_CHARS, TEXT_MAX_CHARS

    names = {"retired_reason": "reason", "ack_reason": "reason", "at": "method"}
    return "y" * (TEXT_MAX_CHARS.get(names.get(field, field), DEFAULT_TEXT_MAX_CHARS) + 1)


@dataclasses.dataclass
class Case:
    """One route with a valid base request and its fields: ``{name: (type, required)}``."""

    method: str
    route: str  # the app's route path, e.g. /records/{kind}/{row_id}/edit
    path: str  # the path requested, e.g. /records/session/1/edit
    style: str  # form, json, multipart or none
    base: dict[str, Any]
    fields: dict[str, tuple[str, bool]]
    #: extra words a refusal of a field may name it by (the journal's name of the thing)
    names: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    files: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


NAMES = {
    "device_id": ("device",),
    "session_id": ("session",),
    "retired_reason": ("reason",),
    "at": ("disinfected_at", "retired_at", "resolved_at"),
    "hair_index": ("hair_index", "detection"),
    "x_px": ("x_px", "point"),
    "y_px": ("y_px", "point"),
    "file": ("file", "export", "archive", "journal"),
    # the safety rules look at what was on the skin before its text is checked: a stop finding names it
    "applied_during": ("applied_during", "on the skin during needling"),
}


def tiny_image() -> bytes:
    """A small synthetic trichoscopy image (fast to measure)."""
    from PIL import Image

    from regrow.measure import synthesize

    synth = synthesize(shape=(160, 200), um_per_px=8.0, unit_density_per_cm2=90.0, seed=3)
    buffer = io.BytesIO()
    Image.fromarray(synth.image).save(buffer, format="PNG")
    return buffer.getvalue()


#: Bad uploads for an import (each must be refused and leave the journal as it was).
def bad_imports() -> list[tuple[str, bytes, str]]:
    import zipfile

    def zipped(members: dict[str, bytes]) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for name, data in members.items():
                z.writestr(name, data)
        return out.getvalue()

    return [
        ("empty.zip", b"", "application/zip"),
        ("junk.zip", b"PK\x03\x04 not really a zip", "application/zip"),
        ("x.json", b"{not json", "application/json"),
        ("x.json", json.dumps({"format": "regrow-journal", "tables": []}).encode(), "application/json"),
        ("evil.zip", zipped({"../../evil.txt": b"x", "journal.json": b"{}"}), "application/zip"),
        ("x.exe", b"MZ", "application/octet-stream"),
        ("../../x.zip", b"PK", "application/zip"),
    ]


# --- the forms a page renders, and the cases --------------------------------------------------------------


class _Forms(HTMLParser):
    """Every ``<form method=post>`` of a page: its action and the names and values a browser would post."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self.forms.append((a.get("action", ""), {}))
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                self.forms[-1][1].setdefault(a["name"], "")
                return
            if kind == "file":
                return
            self.forms[-1][1][a["name"]] = a.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select" and a.get("name"):  # a select without a name is a page control, never posted
            self._select = a.get("name")
            self.forms[-1][1].setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in a:
            self.forms[-1][1][self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.forms[-1][1][self._textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self.forms:
            self.forms[-1][1][self._textarea] += data


def page_forms(client, path: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Forms()
    parser.feed(client.get(path).text)
    return parser.forms


PROFILE = {
    "sex": ("choice", False),
    "birth_year": ("int", False),
    "diagnosis": ("choice", False),
    "diagnosis_confirmed_by_clinician": ("yesno", False),
    "grade_scale": ("choice", False),
    "grade": ("text", False),
    "hair_colour": ("text", False),
    "fitzpatrick_skin_type": ("int", False),
    "medications": ("list", False),
}
SCREENING = {
    q: ("yesno", False)
    for q in (
        "scarring_alopecia",
        "active_scalp_infection",
        "keloid_tendency",
        "bleeding_disorder_or_anticoagulants",
        "pregnancy",
        "isotretinoin",
    )
}
PLAN = {
    "name": ("text", False),
    "start_date": ("date", True),
    "device_id": ("id", False),
    "needle_length_mm": ("float", False),
    "length_weeks": ("int", False),
    "loading_interval_days": ("int", False),
    "loading_sessions": ("int", False),
    "maintenance_interval_days": ("int", False),
    "minoxidil_strength_pct": ("float", False),
    "minoxidil_times": ("times", False),
    "minoxidil_hold_hours": ("float", False),
    "prp_sessions": ("int", False),
    "prp_interval_days": ("int", False),
    "prp_maintenance_months": ("int", False),
    "photo_interval_weeks": ("int", False),
    "first_evaluation_week": ("int", False),
    "decision_week": ("int", False),
}
SESSION = {
    "device_id": ("id", True),
    "performed_at": ("date", False),
    "needle_length_mm": ("float", False),
    "passes": ("int", False),
    "area": ("text", False),
    "area_cm2": ("float", False),
    "endpoint": ("choice", False),
    "pain_0_10": ("int", False),
    "applied_during": ("list", False),
    "applied_after": ("list", False),
    "notes": ("text", False),
}
DOSE = {
    "kind": ("choice", True),
    "taken_at": ("date", False),
    "strength": ("text", False),
    "amount": ("text", False),
    "notes": ("text", False),
}
EVENT = {
    "kind": ("text", True),
    "severity": ("choice", True),
    "onset_at": ("date", False),
    "resolved_at": ("date", False),
    "session_id": ("id", False),
    "notes": ("text", False),
}
DEVICE = {
    "name": ("text", True),
    "kind": ("choice", True),
    "needle_length_mm": ("float", True),
    "needle_count": ("int", False),
    "lot": ("text", False),
    "first_use": ("date", False),
}
COUNT = {
    "taken_at": ("date", False),
    "site": ("text", True),
    "hair_count": ("int", True),
    "area_cm2": ("float", True),
    "diameter_um": ("float", False),
    "camera": ("text", False),
    "notes": ("text", False),
}
UPLOAD = {
    "site": ("text", True),
    "taken_at": ("date", False),
    "um_per_px": ("float", False),
    "device": ("choice", False),
    "camera": ("text", False),
}
#: Editable fields by record kind (an empty required field is refused like any bad value).
EDIT = {
    "device": {**DEVICE, "retired_at": ("date", False), "retired_reason": ("text", False)},
    "session": {**SESSION, "performed_at": ("date", True), "needle_length_mm": ("float", True)},
    "dose": {**DOSE, "taken_at": ("date", True)},
    "event": {**EVENT, "onset_at": ("date", True)},
    "measurement": {
        "taken_at": ("date", True),
        "site": ("text", True),
        "hair_count": ("int", True),
        "area_cm2": ("float", True),
        "diameter_um": ("float", False),
        "terminal_count": ("int", False),
        "vellus_count": ("int", False),
        "notes": ("text", False),
    },
    "photo": {"site": ("text", True), "taken_at": ("date", True)},
    "acknowledgement": {"reason": ("text", True)},
    "note": {"text": ("text", True), "written_at": ("date", True)},
    "disinfection": {"method": ("text", True), "disinfected_at": ("date", True)},
}
PLURAL = {
    "device": "devices",
    "session": "sessions",
    "dose": "doses",
    "event": "events",
    "measurement": "measurements",
    "photo": "photos",
    "acknowledgement": "acknowledgements",
    "note": "notes",
    "disinfection": "disinfections",
}


def form_cases(client, ids: dict[str, Any]) -> list[Case]:
    start = ids["start"]
    forms = {action: values for path in PAGES for action, values in page_forms(client, path)}
    plan_now = dict(forms["/plan/edit"])
    cases = [
        Case("POST", "/profile", "/profile", "form", {}, PROFILE),
        Case("POST", "/profile/screening", "/profile/screening", "form", {}, SCREENING),
        Case(
            "POST", "/plan", "/plan", "form", {"start_date": start, "device_id": "1", "minoxidil": "on"}, PLAN
        ),
        Case(
            "POST",
            "/plan/edit",
            "/plan/edit",
            "form",
            {**plan_now, "minoxidil": "on"},
            {**PLAN, "effective_from": ("date", False)},
        ),
        Case(
            "POST",
            "/log/session",
            "/log/session",
            "form",
            {"device_id": "1", "performed_at": f"{TODAY}T20:00", "allow_duplicate": "on"},
            SESSION,
        ),
        Case("POST", "/log/dose", "/log/dose", "form", {"kind": "prp", "allow_duplicate": "on"}, DOSE),
        Case(
            "POST",
            "/log/event",
            "/log/event",
            "form",
            {"kind": "pain", "severity": "mild", "allow_duplicate": "on"},
            EVENT,
        ),
        Case(
            "POST",
            "/log/note",
            "/log/note",
            "form",
            {"text": "a note"},
            {"text": ("text", True), "written_at": ("date", False)},
        ),
        Case(
            "POST",
            "/log/event/{event_id}/resolve",
            f"/log/event/{ids['event']}/resolve",
            "form",
            {},
            {"at": ("date", False)},
        ),
        Case(
            "POST",
            "/devices",
            "/devices",
            "form",
            {"name": "New", "kind": "stamp", "needle_length_mm": "0.25"},
            DEVICE,
        ),
        Case(
            "POST",
            "/devices/{device_id}/disinfect",
            f"/devices/{ids['used_device']}/disinfect",
            "form",
            {},
            {"method": ("text", False), "at": ("date", False)},
        ),
        Case(
            "POST",
            "/devices/{device_id}/retire",
            f"/devices/{ids['device']}/retire",
            "form",
            {},
            {"reason": ("text", False), "at": ("date", False)},
        ),
        Case(
            "POST",
            "/photos",
            "/photos",
            "multipart",
            {"site": "occipital", "um_per_px": "8", "taken_at": start, "allow_duplicate": "on"},
            UPLOAD,
            files={"files": ("tiny.png", tiny_image(), "image/png")},
        ),
        Case(
            "POST",
            "/photos/count",
            "/photos/count",
            "form",
            {"site": "occipital", "hair_count": "20", "area_cm2": "0.1", "allow_duplicate": "on"},
            COUNT,
        ),
        Case(
            "POST",
            "/photos/{photo_id}/corrections",
            f"/photos/{ids['photo']}/corrections",
            "form",
            {"action": "add", "x_px": "5", "y_px": "5"},
            {"action": ("action", True), "x_px": ("float", True), "y_px": ("float", True)},
        ),
        Case(
            "POST",
            "/photos/{photo_id}/count",
            f"/photos/{ids['photo']}/count",
            "form",
            {"hair_count": "3"},
            {"hair_count": ("int", False)},
        ),
        Case(
            "POST",
            "/measurements/{measurement_id}/review",
            f"/measurements/{ids['flagged']}/review",
            "form",
            {"decision": "accept"},
            {"decision": ("decision", True)},
        ),
        Case(
            "POST",
            "/undo",
            "/undo",
            "form",
            {},
            {"group_id": ("group", False)},
            names={"group_id": ("change", "undo")},
        ),
        Case(
            "POST",
            "/data/delete",
            "/data/delete",
            "form",
            {"confirm": "delete everything"},
            {"confirm": ("confirm", True)},
        ),
        Case("POST", "/profile/clear", "/profile/clear", "form", {}, {}),
    ]
    if ids["hairs"]:
        cases.append(
            Case(
                "POST",
                "/photos/{photo_id}/corrections",
                f"/photos/{ids['photo']}/corrections",
                "form",
                {"action": "remove", "hair_index": str(ids["hairs"][0]), "x_px": "", "y_px": ""},
                {"hair_index": ("int", False)},
            )
        )
    for kind, fields in EDIT.items():
        path = f"/records/{kind}/{ids[kind]}/edit"
        cases.append(
            Case(
                "POST",
                "/records/{kind}/{row_id}/edit",
                path,
                "form",
                dict(forms_of(client, path)[path]),
                fields,
            )
        )
    return cases


def forms_of(client, path: str) -> dict[str, dict[str, str]]:
    return dict(page_forms(client, path))


def api_cases(ids: dict[str, Any]) -> list[Case]:
    start = ids["start"]
    j = "json"
    profile = {k: (("bool", False) if t == "yesno" else (t, r)) for k, (t, r) in PROFILE.items()}
    screening = {k: ("bool", False) for k in SCREENING}
    plan = {**PLAN, "minoxidil": ("bool", False), "acknowledge": ("acknowledge", False)}
    session = {**SESSION, "allow_duplicate": ("bool", False), "acknowledge": ("acknowledge", False)}
    count = {**COUNT, "allow_duplicate": ("bool", False), "new_site": ("bool", False)}
    cases = [
        Case("PUT", "/api/profile", "/api/profile", j, {}, profile),
        Case("PATCH", "/api/profile", "/api/profile", j, {}, profile),
        Case("PUT", "/api/profile/screening", "/api/profile/screening", j, {}, screening),
        Case(
            "POST",
            "/api/devices",
            "/api/devices",
            j,
            {"name": "N", "kind": "pen", "needle_length_mm": 0.5},
            DEVICE,
        ),
        Case(
            "POST",
            "/api/devices/{device_id}/disinfections",
            f"/api/devices/{ids['used_device']}/disinfections",
            j,
            {},
            {"method": ("text", False), "at": ("date", False)},
        ),
        Case(
            "POST",
            "/api/devices/{device_id}/retire",
            f"/api/devices/{ids['device']}/retire",
            j,
            {},
            {"reason": ("text", False), "at": ("date", False)},
        ),
        Case(
            "POST",
            "/api/plan",
            "/api/plan",
            j,
            {"start_date": start, "device_id": 1, "minoxidil": True},
            plan,
        ),
        Case(
            "POST",
            "/api/plan/check",
            "/api/plan/check",
            j,
            {"start_date": start, "device_id": 1, "minoxidil": True},
            plan,
        ),
        Case(
            "PATCH",
            "/api/plan",
            "/api/plan",
            j,
            {"minoxidil": True, "effective_from": TODAY.isoformat()},
            {**plan, "effective_from": ("date", False)},
        ),
        Case(
            "POST",
            "/api/sessions",
            "/api/sessions",
            j,
            {"device_id": 1, "performed_at": f"{TODAY}T20:00", "allow_duplicate": True},
            session,
        ),
        Case(
            "POST",
            "/api/doses",
            "/api/doses",
            j,
            {"kind": "prp", "allow_duplicate": True},
            {**DOSE, "allow_duplicate": ("bool", False)},
        ),
        Case(
            "POST",
            "/api/events",
            "/api/events",
            j,
            {"kind": "pain", "severity": "mild", "allow_duplicate": True},
            {**EVENT, "allow_duplicate": ("bool", False)},
        ),
        Case(
            "POST",
            "/api/notes",
            "/api/notes",
            j,
            {"text": "n"},
            {"text": ("text", True), "written_at": ("date", False)},
        ),
        Case(
            "POST",
            "/api/events/{event_id}/resolve",
            f"/api/events/{ids['event']}/resolve",
            j,
            {},
            {"at": ("date", False)},
        ),
        Case(
            "POST",
            "/api/measurements",
            "/api/measurements",
            j,
            {"site": "occipital", "hair_count": 20, "area_cm2": 0.1, "allow_duplicate": True},
            count,
        ),
        Case(
            "POST",
            "/api/photos",
            "/api/photos",
            "multipart",
            {"site": "occipital", "um_per_px": "8", "taken_at": start, "allow_duplicate": "on"},
            UPLOAD,
            files={"files": ("tiny.png", tiny_image(), "image/png")},
        ),
        Case(
            "POST",
            "/api/photos/{photo_id}/corrections",
            f"/api/photos/{ids['photo']}/corrections",
            j,
            {"action": "add", "x_px": 5, "y_px": 5},
            {"action": ("action", True), "x_px": ("float", True), "y_px": ("float", True)},
        ),
        Case(
            "PUT",
            "/api/photos/{photo_id}/count",
            f"/api/photos/{ids['photo']}/count",
            j,
            {"hair_count": 3},
            {"hair_count": ("int", False)},
        ),
        Case(
            "POST",
            "/api/measurements/{measurement_id}/review",
            f"/api/measurements/{ids['flagged']}/review",
            j,
            {"accept": True},
            {"accept": ("bool", True)},
        ),
        Case(
            "POST",
            "/api/undo",
            "/api/undo",
            j,
            {},
            {"group_id": ("group", False)},
            names={"group_id": ("change", "undo")},
        ),
        Case(
            "POST",
            "/api/delete",
            "/api/delete",
            j,
            {"confirm": "delete everything"},
            {"confirm": ("confirm", True)},
        ),
    ]
    if len(ids["hairs"]) > 1:
        cases.append(
            Case(
                "POST",
                "/api/photos/{photo_id}/corrections",
                f"/api/photos/{ids['photo']}/corrections",
                j,
                {"action": "remove", "hair_index": ids["hairs"][1]},
                {"hair_index": ("int", False)},
            )
        )
    for kind, fields in EDIT.items():
        path = f"/api/{PLURAL[kind]}/{ids[kind]}"
        route = f"/api/{PLURAL[kind]}/{{row_id}}"
        confirm = {"allow_duplicate": ("bool", False)}
        if "site" in fields:  # records with a site also take the confirmation of a new site name
            confirm["new_site"] = ("bool", False)
        cases.append(Case("PATCH", route, path, j, {}, {**fields, **confirm}))
    return cases


def path_cases(ids: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(method, route, path with ``{}`` where the bad id goes) of every route that names a record."""
    out = [
        ("POST", "/records/{kind}/{row_id}/delete", "/records/session/{}/delete"),
        ("POST", "/records/{kind}/{row_id}/edit", "/records/note/{}/edit"),
        ("POST", "/records/{kind}/{row_id}/delete", "/records/{}/1/delete"),
        ("GET", "/records/{kind}/{row_id}/edit", "/records/device/{}/edit"),
        ("POST", "/plans/{plan_id}/delete", "/plans/{}/delete"),
        (
            "POST",
            "/photos/{photo_id}/corrections/{correction_id}/delete",
            f"/photos/{ids['photo']}/corrections/{{}}/delete",
        ),
        ("POST", "/photos/{photo_id}/corrections", "/photos/{}/corrections"),
        ("POST", "/photos/{photo_id}/count", "/photos/{}/count"),
        ("GET", "/photos/{photo_id}", "/photos/{}"),
        ("POST", "/measurements/{measurement_id}/review", "/measurements/{}/review"),
        ("POST", "/log/event/{event_id}/resolve", "/log/event/{}/resolve"),
        ("POST", "/devices/{device_id}/disinfect", "/devices/{}/disinfect"),
        ("POST", "/devices/{device_id}/retire", "/devices/{}/retire"),
        ("DELETE", "/api/plans/{plan_id}", "/api/plans/{}"),
        ("DELETE", "/api/corrections/{correction_id}", "/api/corrections/{}"),
        ("GET", "/api/photos/{photo_id}/corrections", "/api/photos/{}/corrections"),
        ("POST", "/api/photos/{photo_id}/corrections", "/api/photos/{}/corrections"),
        ("PUT", "/api/photos/{photo_id}/count", "/api/photos/{}/count"),
        ("POST", "/api/measurements/{measurement_id}/review", "/api/measurements/{}/review"),
        ("POST", "/api/events/{event_id}/resolve", "/api/events/{}/resolve"),
        ("POST", "/api/devices/{device_id}/retire", "/api/devices/{}/retire"),
        ("POST", "/api/devices/{device_id}/disinfections", "/api/devices/{}/disinfections"),
        ("GET", "/api/photos/{photo_id}", "/api/photos/{}"),
        ("GET", "/api/photos/{photo_id}/image", "/api/photos/{}/image"),
        ("GET", "/api/photos/{photo_id}/overlay", "/api/photos/{}/overlay"),
        ("GET", "/api/evidence/{comparison_id}/{kind}.png", "/api/evidence/{}/forest.png"),
        ("GET", "/api/today", "/api/today?at={}"),
        ("GET", "/api/log", "/api/log?limit={}"),
        ("GET", "/api/history", "/api/history?limit={}"),
        ("GET", "/api/progress", "/api/progress?site={}"),
        ("DELETE", "/api/devices/{row_id}", f"/api/devices/{ids['device']}?device_in_use={{}}"),
    ]
    for kind, plural in PLURAL.items():
        route = f"/api/{plural}/{{row_id}}"
        out.append(("DELETE", route, f"/api/{plural}/{{}}"))
        if kind != "photo":
            out.append(("GET", route, f"/api/{plural}/{{}}"))
        out.append(("PATCH", route, f"/api/{plural}/{{}}"))
    return out
