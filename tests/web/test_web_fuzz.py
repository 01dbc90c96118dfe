"""Fuzz every form and every API route with the bad values of issue #12 (empty, 10,000 characters, -1, 1e309,
NaN, 9999-12-31, 0000-00-00, markup, path traversal, huge integers, NUL, right-to-left override, ``[]``, ...).

For every field of every route, each bad value of the field's type replaces it in a valid base request:
- the answer is a 4xx (never a 5xx, never an exception or a dropped connection);
- the message names the field (API: the error's ``field`` or its message; pages: the error by the field or
  the form's error text);
- nothing is stored (no history row, no photo file, the same rows);
and afterwards every page and every API read still renders. Path ids get bad values too. The tests check that
the cases cover every route of the app and every input of every form the pages render, and that each base
request alone is accepted (so a refusal is the bad value's doing).

The default run sends each field a rotating sample of its bad values (a few thousand requests, well under a
minute); ``pytest -m slow`` sends every bad value, then random text from Hypothesis, to a real server over
HTTP.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import random
import re
import sqlite3
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fuzz_cases import (
    EDIT,
    FORM_BAD,
    JSON_BAD,
    NAMES,
    PAGES,
    PATH_BAD,
    RAW,
    TODAY,
    Case,
    api_cases,
    bad_imports,
    form_cases,
    page_forms,
    path_cases,
    tiny_image,
    too_long,
)

from conftest import app_routes, serve
from regrow.web import Settings, create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

#: Values per field in the default run (the slow run sends them all).
SAMPLE = 4


# --- a journal with one record of every kind ----------------------------------------------------------------


def build_journal(api) -> dict[str, Any]:
    """Profile, two devices, a plan, sessions (one with an acknowledgement), a dose, a side effect, a note, a
    disinfection, hand counts (one flagged for review) and a measured photo with a correction."""

    def post(path: str, body: dict, status: int = 201) -> dict:
        r = api.post(path, json=body)
        assert r.status_code == status, (path, r.text)
        return r.json()

    day = TODAY.isoformat()
    api.put("/api/profile", json={"birth_year": 1980, "sex": "female"})
    used = post("/api/devices", {"name": "Roller", "kind": "roller", "needle_length_mm": 0.5})
    spare = post("/api/devices", {"name": "Spare", "kind": "pen", "needle_length_mm": 0.25})
    start = (TODAY - dt.timedelta(days=14)).isoformat()
    post("/api/plan", {"start_date": start, "device_id": used["id"]})
    session = post(
        "/api/sessions", {"device_id": used["id"], "performed_at": f"{start}T06:00", "pain_0_10": 1}
    )
    post(
        "/api/sessions",
        {
            "device_id": used["id"],
            "performed_at": f"{start}T07:00",
            "applied_during": ["minoxidil"],
            "acknowledge": {"topical.not_approved": "clinic protocol"},
            "allow_duplicate": True,
        },
    )
    post("/api/doses", {"kind": "minoxidil", "taken_at": f"{start}T09:00"})
    event = post("/api/events", {"kind": "itch", "severity": "mild", "onset_at": f"{start}T10:00"})
    note = post("/api/notes", {"text": "started"})
    cleaned = post(f"/api/devices/{used['id']}/disinfections", {"method": "alcohol"})
    hand = post("/api/measurements", {"site": "vertex", "hair_count": 20, "area_cm2": 0.1, "taken_at": start})
    flagged = post("/api/measurements", {"site": "vertex", "hair_count": 5, "area_cm2": 0.1, "taken_at": day})
    assert flagged["review_status"] == "flagged"
    r = api.post(
        "/api/photos",
        data={"site": "frontal", "um_per_px": "8", "taken_at": start},
        files=[("files", ("tiny.png", tiny_image(), "image/png"))],
    )
    assert r.status_code == 201, r.text
    photo = r.json()["items"][0]["photo"]
    fix = post(f"/api/photos/{photo['id']}/corrections", {"action": "add", "x_px": 10, "y_px": 10})
    live = [h for h in fix["hairs"] if h["counted"]]
    assert len(live) >= 2, "the fuzz image needs two detections (one removed by a form, one by the API)"
    (ack,) = api.get("/api/acknowledgements").json()["acknowledgements"]
    return {
        "start": start,
        "used_device": used["id"],
        "device": spare["id"],
        "session": session["session"]["id"],
        "dose": 1,
        "event": event["event"]["id"],
        "note": note["note"]["id"],
        "disinfection": cleaned["id"],
        "measurement": hand["id"],
        "flagged": flagged["id"],
        "photo": photo["id"],
        "photo_size": (photo["width"], photo["height"]),
        "hairs": [h["index"] for h in live[:2]],
        "correction": fix["corrections"][0]["id"],
        "acknowledgement": ack["id"],
        "plan": api.get("/api/plan").json()["plan"]["id"],
    }


# --- sending and checking --------------------------------------------------------------------------------------


class Journal:
    """What a refused request must leave unchanged: the history, the rows and the photo folder."""

    def __init__(self, app) -> None:
        self.db = Path(app.state.settings.database_url.removeprefix("sqlite:///"))
        self.photos = Path(app.state.settings.photos_dir)

    def state(self) -> tuple[Any, ...]:
        with sqlite3.connect(self.db) as con:
            changes = con.execute("select count(*), max(id) from change").fetchone()
            rows = tuple(
                con.execute(f"select count(*) from {t}").fetchone()[0]
                for t in ("device", "plan", "treatment_session", "adjunct_dose", "adverse_event", "note")
            )
        files = tuple(sorted(p.name for p in self.photos.rglob("*") if p.is_file() and p.name != ".lock"))
        return changes, rows, files


def _encode(base: dict[str, Any], field: str, value: Any) -> str:
    body = {**base, field: "\x00marker"}
    text = json.dumps(body)
    if isinstance(value, str) and value.startswith(RAW):
        return text.replace('"\\u0000marker"', value.removeprefix(RAW))
    return text.replace('"\\u0000marker"', json.dumps(value))


def send(client, case: Case, field: str | None, value: Any, token: str):
    headers = {"x-csrf-token": token}
    if case.style == "json":
        content = json.dumps(case.base) if field is None else _encode(case.base, field, value)
        return client.request(
            case.method, case.path, content=content, headers={**headers, "content-type": "application/json"}
        )
    data = dict(case.base)
    if field is not None:
        data[field] = value
    if case.style == "form":
        data["csrf_token"] = token
    return client.request(
        case.method, case.path, data=data, files=case.files, headers=headers, follow_redirects=False
    )


def _error_text(response) -> tuple[str, set[str]]:
    """The refusal's words, and the fields it was shown by."""
    if response.headers.get("content-type", "").startswith("application/json"):
        error = response.json()["error"]
        return error["message"], {error.get("field") or ""}
    page = response.text
    by_field = set(re.findall(r'id="f-(?:add-|rm-)?([\w]+)-err"', page))
    texts = re.findall(
        r'<p class="error"[^>]*>(.*?)</p>|<div class="form-errors"[^>]*>(.*?)</div>', page, re.S
    )
    return html.unescape(" ".join(a + b for a, b in texts)), by_field


def check_refused(case: Case, field: str, value: Any, response) -> None:
    label = f"{case.label} {field}={value!r:.60}"
    assert 400 <= response.status_code < 500, f"{label}: {response.status_code} {response.text[:400]}"
    text, by_field = _error_text(response)
    names = (field, *NAMES.get(field, ()), *case.names.get(field, ()))
    named = field in by_field or any(re.search(rf"\b{re.escape(n)}\b", text) for n in names)
    assert named, f"{label}: the refusal does not name the field: {text[:300]!r}"


def bad_values(
    kind: str, field: str, required: bool, style: str, *, sample: int | None, rng: random.Random
) -> list:
    if style == "json":
        values = list(JSON_BAD[kind if kind in JSON_BAD else "text"])
        if kind == "text":
            values.append(too_long(field))
        if required:
            values += [None] if kind in ("bool", "action", "confirm") else ["", None]
        if kind == "date":
            values += [too_long(field)]
    else:
        table = {"group": "text", "confirm": "confirm"}
        values = list(FORM_BAD.get(kind, FORM_BAD[table.get(kind, "text")]))
        if kind in ("text", "group"):
            values.append(too_long(field))
        if required and kind not in ("confirm", "decision"):
            values += ["", "   "]
    if sample is not None and len(values) > sample:
        values = rng.sample(values, sample)
    return values


def run_cases(client, app, cases: list[Case], *, sample: int | None, seed: int = 12) -> int:
    """Send every case's bad values; returns the number of requests."""
    token = client.get("/api/csrf").json()["csrf_token"]
    journal = Journal(app)
    rng = random.Random(seed)
    sent = 0
    for case in cases:
        for field, (kind, required) in case.fields.items():
            for value in bad_values(
                kind, field, required, "json" if case.style == "json" else "form", sample=sample, rng=rng
            ):
                if kind == "group" and value in ("", None):
                    continue  # no group: undo the newest change (a valid request)
                before = journal.state()
                response = send(client, case, field, value, token)
                sent += 1
                check_refused(case, field, value, response)
                assert journal.state() == before, f"{case.label} {field}={value!r:.60}: something was stored"
    return sent


def run_paths(client, app, ids: dict[str, Any]) -> int:
    token = client.get("/api/csrf").json()["csrf_token"]
    journal = Journal(app)
    sent = 0
    for method, _route, template in path_cases(ids):
        for bad in PATH_BAD:
            before = journal.state()
            body = {"content": "{}", "headers": {"content-type": "application/json", "x-csrf-token": token}}
            if not template.startswith("/api"):
                body = {"data": {"csrf_token": token}, "headers": {"x-csrf-token": token}}
            response = client.request(method, template.format(bad), **body)
            sent += 1
            ok = response.status_code < 500 and (method == "GET" or 400 <= response.status_code < 500)
            assert ok, f"{method} {template.format(bad)}: {response.status_code} {response.text[:300]}"
            assert journal.state() == before, f"{method} {template.format(bad)} changed the journal"
    return sent


def run_imports(client, app) -> int:
    token = client.get("/api/csrf").json()["csrf_token"]
    journal = Journal(app)
    for path in ("/api/import", "/data/import"):
        for name, data, kind in bad_imports():
            for replace in ("", "on"):
                before = journal.state()
                r = client.post(
                    path,
                    data={"csrf_token": token, "replace": replace},
                    files={"file": (name, data, kind)},
                    headers={"x-csrf-token": token},
                )
                assert 400 <= r.status_code < 500, f"{path} {name}: {r.status_code} {r.text[:300]}"
                text, by_field = _error_text(r)
                named = "file" in by_field or name in text or re.search(r"\b(file|export|archive)\b", text)
                assert named, f"{path} {name}: the refusal names neither the file nor the field: {text[:300]}"
                assert journal.state() == before, f"{path} {name} replace={replace!r} changed the journal"
    return 2 * 2 * len(bad_imports())


def every_page_renders(client, ids: dict[str, Any]) -> None:
    paths = [*PAGES, f"/photos/{ids['photo']}", *(f"/records/{k}/{ids[k]}/edit" for k in EDIT)]
    paths += ["/api/today", "/api/log", "/api/plan", "/api/devices", "/api/photos", "/api/measurements"]
    paths += ["/api/progress", "/api/history", "/api/profile", f"/api/photos/{ids['photo']}/corrections"]
    paths += ["/api/export", "/api/labels/voc.zip", "/api/plan/schedule.ics", "/openapi.json"]
    for path in paths:
        r = client.get(path)
        assert r.status_code == 200, f"{path} answers {r.status_code} after the fuzz: {r.text[:300]}"


@pytest.fixture
def fuzz_app(tmp_path) -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'journal.sqlite'}", photos_dir=tmp_path / "photos"
    )
    app = create_app(settings)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.headers["x-csrf-token"] = client.get("/api/csrf").json()["csrf_token"]
        ids = build_journal(client)
        yield app, client, ids
    app.state.engine.dispose()


# --- the tests --------------------------------------------------------------------------------------------------


def test_the_cases_cover_every_route_and_every_form_input(fuzz_app):
    app, client, ids = fuzz_app
    cases = form_cases(client, ids) + api_cases(ids)
    covered = {(c.method, c.route) for c in cases} | {(m, r) for m, r, _ in path_cases(ids)}
    covered |= {("POST", "/api/import"), ("POST", "/data/import")}  # run_imports sends them broken files
    covered |= {("DELETE", "/api/profile")}  # takes no input (its form twin, POST /profile/clear, is a case)
    unsafe = {
        (method, route.path)
        for route in app_routes(app)
        for method in getattr(route, "methods", None) or ()
        if method in ("POST", "PUT", "PATCH", "DELETE")
    }
    assert unsafe - covered == set(), f"routes no fuzz case sends bad values to: {sorted(unsafe - covered)}"
    # every key of every JSON body the API describes is a fuzzed field
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    for case in cases:
        if case.style != "json":
            continue
        body = spec["paths"][case.route][case.method.lower()].get("requestBody", {})
        schema = body.get("content", {}).get("application/json", {}).get("schema", {})
        schema = next((s for s in schema.get("anyOf", [schema]) if "$ref" in s), schema)
        keys = (
            set(schemas[schema["$ref"].rsplit("/", 1)[1]].get("properties", {}))
            if "$ref" in schema
            else set()
        )
        fuzzed = set().union(*(c.fields for c in cases if (c.method, c.route) == (case.method, case.route)))
        assert keys <= fuzzed, f"{case.label}: body keys no case fuzzes: {keys - fuzzed}"
    # every input a page renders in a form is a fuzzed field (or a control of the form itself)
    controls = {
        "csrf_token",
        "next",
        "acknowledge",
        "ack_reason",
        "allow_duplicate",
        "minoxidil",
        "replace",
        "file",
        "files",
        "device_in_use",
        "tap",
        "decision",
        "action",
        "hair_index",
        "group_id",
        "confirm",
    }

    def general(path: str) -> str:  # the same form of another record: /devices/1/retire ~ /devices/2/retire
        return re.sub(r"/\d+", "/N", path)

    fields: dict[str, set[str]] = {}
    for case in cases:
        if case.style != "json":
            fields.setdefault(general(case.path), set()).update(case.fields)
    pages = [*PAGES, f"/photos/{ids['photo']}", *(f"/records/{k}/{ids[k]}/edit" for k in EDIT)]
    for page in pages:
        for action, inputs in page_forms(client, page):
            route_fields = fields.get(general(action))
            if route_fields is None:
                assert set(inputs) <= controls, (
                    f"{page}: form {action} has inputs no case fuzzes: {set(inputs)}"
                )
                continue
            missing = set(inputs) - route_fields - controls
            assert not missing, f"{page}: form {action} has inputs no case fuzzes: {missing}"


def test_every_base_request_alone_is_accepted(fuzz_app):
    """A refusal in the fuzz is the bad value's doing: each base request, sent as it is, is accepted."""
    _, client, ids = fuzz_app
    token = client.get("/api/csrf").json()["csrf_token"]
    last = ("/undo", "/api/undo", "/profile/clear", "/data/delete", "/api/delete")
    cases = form_cases(client, ids) + api_cases(ids)
    for case in sorted(cases, key=lambda c: last.index(c.path) if c.path in last else -1):
        if case.method == "PATCH" and case.path.startswith("/api/") and not case.base:
            continue  # a PATCH of nothing is refused on purpose ("at least one field")
        r = send(client, case, None, None, token)
        if case.path == "/api/measurements/" + str(ids["flagged"]) + "/review":
            assert r.status_code in (200, 422), r.text  # accepted by the form case just before
            continue
        assert r.status_code in (200, 201, 303), f"{case.label}: the base request is refused: {r.text[:500]}"


def test_fuzz_every_form_and_api_route(fuzz_app):
    app, client, ids = fuzz_app
    sent = run_cases(client, app, form_cases(client, ids) + api_cases(ids), sample=SAMPLE)
    sent += run_paths(client, app, ids)
    sent += run_imports(client, app)
    every_page_renders(client, ids)
    assert sent > 1000


@pytest.mark.slow
def test_fuzz_over_http_every_bad_value_then_random_values(tmp_path):
    """Against a real server over HTTP (a dropped connection fails): every bad value of every field, then
    random text and JSON from Hypothesis. A random value may be valid; it must never cause a 5xx, and a
    refused one stores nothing."""
    import httpx
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'j.sqlite'}", photos_dir=tmp_path / "photos")
    )
    with serve(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        client.headers["x-csrf-token"] = client.get("/api/csrf").json()["csrf_token"]
        ids = build_journal(client)
        cases = form_cases(client, ids) + api_cases(ids)
        sent = run_cases(client, app, cases, sample=None)
        sent += run_paths(client, app, ids) + run_imports(client, app)
        assert sent > 3000
        token = client.headers["x-csrf-token"]
        journal = Journal(app)
        text = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
        json_value = st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
            max_leaves=6,
        )
        fielded = [c for c in cases if c.fields and "delete" not in c.path and "undo" not in c.path]

        @settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        @given(data=st.data())
        def random_request(data):
            case = data.draw(st.sampled_from(fielded))
            field = data.draw(st.sampled_from(sorted(case.fields)))
            value = data.draw(json_value if case.style == "json" else text)
            before = journal.state()
            response = send(client, case, field, value, token)
            assert response.status_code < 500, f"{case.label} {field}={value!r:.80}: {response.text[:300]}"
            if response.status_code >= 400:
                assert journal.state() == before, f"{case.label} {field}={value!r:.80} stored something"

        random_request()
        every_page_renders(client, ids)
    app.state.engine.dispose()
