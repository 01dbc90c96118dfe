"""Correcting the journal through the JSON API: edit, delete and undo for every record kind, plan versions,
duplicates confirmed, history with the interface, hand corrections of a photo, typed counts, review, labels."""

from __future__ import annotations

import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
import zipfile

import pytest

from conftest import UM_PER_PX, app_routes
from regrow import journal as jr

TODAY = dt.date.today()
NOW = dt.datetime.combine(TODAY, dt.time(7, 0))


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def _error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    if field is not None:
        assert error.get("field") == field, error
    return error


def _rows(app) -> dict:
    """Every row of the journal except the history (which only grows)."""
    with jr.session_scope(app.state.engine) as session:
        snap = jr.snapshot(session)
    snap.pop("change")
    return snap


def _upload(api, jpeg: bytes, site: str = "vertex", **extra) -> dict:
    data = {"site": site, "um_per_px": str(UM_PER_PX), **extra}
    body = _ok(api.post("/api/photos", data=data, files=[("files", ("a.jpg", jpeg, "image/jpeg"))]), 201)
    return body["items"][0]


@pytest.fixture
def journal(api, synthetic) -> dict[str, int]:
    """One record of every kind, made through the API; ``{kind: id}``."""
    _, jpeg = synthetic
    device = _ok(
        api.post("/api/devices", json={"name": "Roller", "kind": "roller", "needle_length_mm": 0.5}), 201
    )
    spare = _ok(api.post("/api/devices", json={"name": "Pen", "kind": "pen", "needle_length_mm": 0.25}), 201)
    session = _ok(
        api.post(
            "/api/sessions",
            json={
                "device_id": device["id"],
                "performed_at": (NOW - dt.timedelta(days=2)).isoformat(),
                "applied_during": ["minoxidil"],
                "acknowledge": {"topical.not_approved": "my clinic's protocol"},
                "pain_0_10": 2,
            },
        ),
        201,
    )["session"]
    dose = _ok(api.post("/api/doses", json={"kind": "minoxidil", "strength": "5%"}), 201)["dose"]
    event = _ok(
        api.post("/api/events", json={"kind": "itch", "severity": "mild", "session_id": session["id"]}), 201
    )["event"]
    count = _ok(
        api.post(
            "/api/measurements",
            json={"site": "frontal", "hair_count": 15, "area_cm2": 0.1, "taken_at": TODAY.isoformat()},
        ),
        201,
    )
    note = _ok(api.post("/api/notes", json={"text": "started the plan"}), 201)["note"]
    cleaned = _ok(api.post(f"/api/devices/{device['id']}/disinfections", json={"method": "alcohol"}), 201)
    photo = _upload(api, jpeg)["photo"]
    (ack,) = _ok(api.get("/api/acknowledgements"))["acknowledgements"]
    return {
        "device": spare["id"],
        "used_device": device["id"],
        "session": session["id"],
        "dose": dose["id"],
        "event": event["id"],
        "measurement": count["id"],
        "note": note["id"],
        "disinfection": cleaned["id"],
        "photo": photo["id"],
        "acknowledgement": ack["id"],
    }


EDITS = {
    "device": ("name", "Pen B"),
    "session": ("pain_0_10", 4),
    "dose": ("strength", "2%"),
    "event": ("severity", "moderate"),
    "measurement": ("hair_count", 12),
    "photo": ("site", "occipital"),
    "acknowledgement": ("reason", "my dermatologist agreed"),
    "note": ("text", "started the plan on Monday"),
    "disinfection": ("method", "autoclave"),
}
PLURAL = {k: ("photos" if k == "photo" else f"{k}s") for k in EDITS}
PLURAL.update(dose="doses")


@pytest.mark.parametrize("kind", sorted(EDITS))
def test_every_kind_edits_then_undo_restores_every_row(app, api, journal, kind):
    field, value = EDITS[kind]
    row_id = journal[kind]
    before = _rows(app)
    body = _ok(api.patch(f"/api/{PLURAL[kind]}/{row_id}", json={field: value}))
    assert body["record"][field] == value and body["undo"]["group_id"]
    newest = _ok(api.get("/api/history", params={"limit": 1}))["history"][0]
    assert newest["interface"] == "api" and newest["group_id"] == body["undo"]["group_id"]
    change = next(c for c in newest["changes"] if c["new"] and c["new"].get(field) == value)
    assert change["old"][field] != value  # the old value is kept next to the new one
    assert _rows(app) != before
    undone = _ok(api.post("/api/undo", json={"group_id": body["undo"]["group_id"]}))
    assert undone["undone"]["group_id"] == body["undo"]["group_id"]
    assert _rows(app) == before


@pytest.mark.parametrize("kind", sorted(EDITS))
def test_every_kind_deletes_then_undo_restores_every_row(app, api, journal, kind):
    row_id = journal[kind]
    before = _rows(app)
    image = api.get(f"/api/photos/{journal['photo']}/image").content
    body = _ok(api.delete(f"/api/{PLURAL[kind]}/{row_id}"))
    assert body["retired"] is False and body["undo"]["summary"]
    if kind != "photo":
        _error(api.get(f"/api/{PLURAL[kind]}/{row_id}"), 404, "not_found")
    else:
        _error(api.get(f"/api/photos/{row_id}/image"), 404, "not_found")
    _ok(api.post("/api/undo", json={"group_id": body["undo"]["group_id"]}))
    assert _rows(app) == before
    assert api.get(f"/api/photos/{journal['photo']}/image").content == image


def test_a_refused_edit_names_the_field_with_range_and_source_and_changes_nothing(app, api, journal):
    before = _rows(app)
    history = _ok(api.get("/api/history"))["history"]
    err = _error(api.patch(f"/api/sessions/{journal['session']}", json={"pain_0_10": 11}), 422, "invalid")
    assert err["field"] == "pain_0_10" and "[0, 10]" in err["message"] and "Source:" in err["message"]
    err = _error(
        api.patch(f"/api/sessions/{journal['session']}", json={"performed_at": "9999-12-31T10:00"}),
        422,
        "invalid",
    )
    assert err["field"] == "performed_at" and "no later than" in err["message"]
    _error(
        api.patch(f"/api/measurements/{journal['measurement']}", json={"hair_count": 10**9}), 422, "invalid"
    )
    _error(api.patch(f"/api/doses/{journal['dose']}", json={"colour": "red"}), 422, "invalid", "colour")
    _error(api.patch(f"/api/doses/{journal['dose']}", json={}), 422, "invalid", "fields")
    _error(api.patch("/api/doses/999999", json={"strength": "1%"}), 404, "not_found")
    _error(api.patch(f"/api/sessions/{journal['session']}", json={"applied_during": 5}), 422, "invalid")
    assert _rows(app) == before and _ok(api.get("/api/history"))["history"] == history


def test_a_device_sessions_used_is_retired_instead_never_deleted(app, api, journal):
    used = journal["used_device"]
    err = _error(api.delete(f"/api/devices/{used}"), 422, "invalid", "device_in_use")
    assert "Retire it instead" in err["message"] and "1 session" in err["message"]
    body = _ok(api.delete(f"/api/devices/{used}", params={"device_in_use": "retire"}))
    assert body["retired"] is True
    device = _ok(api.get(f"/api/devices/{used}"))
    assert device["retired_at"] and device["use_count"] == 1
    _error(
        api.delete(f"/api/devices/{used}", params={"device_in_use": "melt"}), 422, "invalid", "device_in_use"
    )


def test_a_photo_measurement_is_corrected_on_the_photo_not_deleted_alone(api, journal):
    photo_measurement = _ok(api.get(f"/api/photos/{journal['photo']}"))["measurement"]["id"]
    err = _error(api.delete(f"/api/measurements/{photo_measurement}"), 422, "invalid", "measurement")
    assert "delete the photo" in err["message"]


def test_profile_edit_clear_and_undo(api):
    _ok(api.put("/api/profile", json={"sex": "male", "birth_year": 1985, "medications": ["finasteride"]}))
    body = _ok(api.patch("/api/profile", json={"medications": None, "grade": "III"}))
    assert body["profile"]["medications"] == [] and body["profile"]["grade"] == "III"
    assert body["profile"]["birth_year"] == 1985  # fields not given stay
    _error(api.patch("/api/profile", json={"birth_year": 1800}), 422, "invalid", "birth_year")
    _ok(api.put("/api/profile/screening", json={"pregnancy": False}))
    cleared = _ok(api.delete("/api/profile"))
    assert cleared["deleted"] == {"profile": 1, "screening_answer": 1}
    assert _ok(api.get("/api/profile"))["profile"] is None
    _ok(api.post("/api/undo", json={"group_id": cleared["undo"]["group_id"]}))
    restored = _ok(api.get("/api/profile"))
    assert restored["profile"]["grade"] == "III" and restored["screening"] == {"pregnancy": False}


def test_plan_edit_is_a_new_version_from_a_date_and_new_stops_need_acknowledging(api):
    device = _ok(api.post("/api/devices", json={"name": "R", "kind": "roller", "needle_length_mm": 0.5}), 201)
    start = TODAY - dt.timedelta(days=28)
    first = _ok(api.post("/api/plan", json={"start_date": start.isoformat(), "device_id": device["id"]}), 201)
    early = (start + dt.timedelta(days=1, hours=20)).isoformat()
    old_session = _ok(api.post("/api/sessions", json={"device_id": device["id"], "performed_at": early}), 201)
    err = _error(
        api.patch("/api/plan", json={"maintenance_interval_days": 10, "effective_from": "2000-01-01"}),
        422,
        "invalid",
        "effective_from",
    )
    assert "not before" in err["message"]
    # a deeper needle is a new stop finding: refused until acknowledged, and then recorded
    err = _error(api.patch("/api/plan", json={"needle_length_mm": 2.0}), 409, "blocked", "acknowledge")
    assert "needle.clinic_only" in err["allowed"]
    assert _ok(api.get("/api/plan"))["plan"]["id"] == first["plan"]["id"]
    body = _ok(
        api.patch(
            "/api/plan",
            json={
                "needle_length_mm": 2.0,
                "effective_from": TODAY.isoformat(),
                "acknowledge": {"needle.clinic_only": "done by my dermatologist"},
            },
        )
    )
    version = body["plan"]
    assert version["id"] != first["plan"]["id"] and version["effective_from"] == TODAY.isoformat()
    assert version["supersedes_id"] == first["plan"]["id"] and version["needle_length_mm"] == 2.0
    session = _ok(api.get(f"/api/sessions/{old_session['session']['id']}"))
    assert session["plan_id"] == first["plan"]["id"]  # the past keeps the plan it was done under
    ack = _ok(api.get("/api/acknowledgements"))["acknowledgements"][-1]
    assert ack["plan_id"] == version["id"] and ack["action"] == "plan_edit"
    deleted = _ok(api.delete(f"/api/plans/{version['id']}"))
    assert _ok(api.get("/api/plan"))["plan"]["id"] == first["plan"]["id"]
    _ok(api.post("/api/undo", json={"group_id": deleted["undo"]["group_id"]}))
    assert _ok(api.get("/api/plan"))["plan"]["id"] == version["id"]
    _error(api.delete("/api/plans/424242"), 404, "not_found")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/sessions", {"device_id": 1, "performed_at": NOW.isoformat()}),
        ("/api/doses", {"kind": "minoxidil", "taken_at": NOW.isoformat()}),
        ("/api/events", {"kind": "itch", "severity": "mild", "onset_at": NOW.isoformat()}),
        (
            "/api/measurements",
            {"site": "vertex", "hair_count": 20, "area_cm2": 0.1, "taken_at": TODAY.isoformat()},
        ),
    ],
)
def test_duplicates_answer_409_until_confirmed(app, api, path, body):
    _ok(api.post("/api/devices", json={"name": "R", "kind": "roller", "needle_length_mm": 0.5}), 201)
    _ok(api.post(path, json=body), 201)
    before = _rows(app)
    err = _error(api.post(path, json=body), 409, "duplicate", "allow_duplicate")
    assert '"allow_duplicate": true' in err["message"] and "--allow-duplicate" not in err["message"]
    assert _rows(app) == before
    _ok(api.post(path, json={**body, "allow_duplicate": True}), 201)


def test_an_edit_that_makes_a_duplicate_is_confirmed_the_same_way(api):
    _ok(api.post("/api/devices", json={"name": "R", "kind": "roller", "needle_length_mm": 0.5}), 201)
    one = _ok(api.post("/api/sessions", json={"device_id": 1, "performed_at": NOW.isoformat()}), 201)
    yesterday = (NOW - dt.timedelta(days=1)).isoformat()
    two = _ok(api.post("/api/sessions", json={"device_id": 1, "performed_at": yesterday}), 201)
    moved = {"performed_at": (NOW + dt.timedelta(minutes=30)).isoformat()}
    _error(api.patch(f"/api/sessions/{two['session']['id']}", json=moved), 409, "duplicate")
    body = _ok(api.patch(f"/api/sessions/{two['session']['id']}", json={**moved, "allow_duplicate": True}))
    assert body["record"]["performed_at"].startswith(TODAY.isoformat())
    assert one["session"]["id"] != two["session"]["id"]


def test_the_same_photo_twice_is_a_duplicate_until_confirmed(api, synthetic):
    _, jpeg = synthetic
    _upload(api, jpeg)
    r = api.post(
        "/api/photos",
        data={"site": "vertex", "um_per_px": str(UM_PER_PX)},
        files=[("files", ("a.jpg", jpeg, "image/jpeg"))],
    )
    err = _error(r, 409, "duplicate")
    assert (
        r.json()["items"][0]["duplicate_label"] == "Yes, store it again"
        and "allow_duplicate" in err["message"]
    )
    _upload(api, jpeg, allow_duplicate="on")
    assert len(_ok(api.get("/api/photos"))["photos"]) == 2


def test_undo_reverts_only_the_change_it_names_and_walks_back(api):
    a = _ok(api.post("/api/notes", json={"text": "one"}), 201)["note"]
    first = _ok(api.patch(f"/api/notes/{a['id']}", json={"text": "two"}))["undo"]
    second = _ok(api.patch(f"/api/notes/{a['id']}", json={"text": "three"}))["undo"]
    err = _error(api.post("/api/undo", json={"group_id": first["group_id"]}), 422, "invalid", "group_id")
    assert "no longer the newest" in err["message"]
    assert _ok(api.get(f"/api/notes/{a['id']}"))["text"] == "three"
    _ok(api.post("/api/undo", json={"group_id": second["group_id"]}))
    _ok(api.post("/api/undo"))  # no group: the newest not undone, here the first edit
    assert _ok(api.get(f"/api/notes/{a['id']}"))["text"] == "one"
    history = _ok(api.get("/api/history"))
    assert [g["undo_of"] is not None for g in history["history"][:2]] == [True, True]
    _ok(api.post("/api/undo"))  # the note's creation
    _error(api.post("/api/undo"), 404, "not_found")
    _error(api.post("/api/undo", json={"group_id": "x"}), 404, "not_found")


# --- photos: one count with its provenance, hand corrections, labels -------------------------------------------


def test_hand_corrections_change_the_count_and_are_kept(api, synthetic):
    _, jpeg = synthetic
    photo_id = _upload(api, jpeg)["photo"]["id"]
    fix = _ok(api.get(f"/api/photos/{photo_id}/corrections"))
    automatic = fix["automatic_count"]
    counted = [h for h in fix["hairs"] if h["counted"]]
    assert fix["count_source"] == "automatic" and fix["hair_count"] == automatic == len(counted)
    first = counted[0]
    body = _ok(
        api.post(
            f"/api/photos/{photo_id}/corrections", json={"action": "remove", "hair_index": first["index"]}
        ),
        201,
    )
    assert (body["hair_count"], body["count_source"]) == (automatic - 1, "corrected")
    assert body["hairs"][first["index"]]["removed"] is True
    _error(
        api.post(
            f"/api/photos/{photo_id}/corrections", json={"action": "remove", "hair_index": first["index"]}
        ),
        422,
        "invalid",
        "hair_index",
    )
    # a tap on the middle of another detection removes that one
    other = counted[1]
    mid = {
        "x_px": (other["exit_x_px"] + other["tip_x_px"]) / 2,
        "y_px": (other["exit_y_px"] + other["tip_y_px"]) / 2,
    }
    body = _ok(api.post(f"/api/photos/{photo_id}/corrections", json={"action": "remove", **mid}), 201)
    assert body["corrections"][-1]["hair_index"] == other["index"] and body["hair_count"] == automatic - 2
    for _ in range(3):
        body = _ok(
            api.post(f"/api/photos/{photo_id}/corrections", json={"action": "add", "x_px": 5, "y_px": 6}), 201
        )
    assert body["hair_count"] == automatic + 1
    # a typed count does not override corrected detections, and is never averaged with them
    body = _ok(api.put(f"/api/photos/{photo_id}/count", json={"hair_count": automatic + 40}))
    assert (body["hair_count"], body["manual_count"], body["count_source"]) == (
        automatic + 1,
        automatic + 40,
        "corrected",
    )
    for correction in body["corrections"]:
        body = _ok(api.delete(f"/api/corrections/{correction['id']}"))
    assert (body["hair_count"], body["count_source"]) == (automatic + 40, "manual")
    body = _ok(api.put(f"/api/photos/{photo_id}/count", json={"hair_count": None}))
    assert (body["hair_count"], body["count_source"]) == (automatic, "automatic")
    measurement = _ok(api.get(f"/api/photos/{photo_id}"))["measurement"]
    assert measurement["density_per_cm2"] == pytest.approx(automatic / measurement["area_cm2"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "add", "x_px": -1, "y_px": 5}, "x_px"),
        ({"action": "add", "x_px": 5, "y_px": 1e9}, "y_px"),
        ({"action": "add", "x_px": 5}, "y_px"),
        ({"action": "paint", "x_px": 5, "y_px": 5}, "action"),
        ({"action": "remove", "x_px": 1, "y_px": 1}, "x_px"),
        ({"action": "remove", "hair_index": 10**6}, "hair_index"),
        ({"action": "remove", "hair_index": -1}, "hair_index"),
    ],
)
def test_bad_corrections_name_the_field_and_store_nothing(app, api, synthetic, body, field):
    _, jpeg = synthetic
    photo_id = _upload(api, jpeg)["photo"]["id"]
    before = _rows(app)
    _error(api.post(f"/api/photos/{photo_id}/corrections", json=body), 422, "invalid", field)
    assert _rows(app) == before


def test_corrected_photos_export_as_pascal_voc(api, synthetic):
    _, jpeg = synthetic
    photo_id = _upload(api, jpeg)["photo"]["id"]
    empty = api.get("/api/labels/voc.zip")
    assert empty.status_code == 200 and empty.headers["x-regrow-images"] == "0"
    fix = _ok(api.get(f"/api/photos/{photo_id}/corrections"))
    _ok(api.post(f"/api/photos/{photo_id}/corrections", json={"action": "remove", "hair_index": 0}), 201)
    _ok(
        api.post(f"/api/photos/{photo_id}/corrections", json={"action": "add", "x_px": 320, "y_px": 240}), 201
    )
    r = api.get("/api/labels/voc.zip")
    assert r.headers["content-type"] == "application/zip" and "attachment" in r.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        names = sorted(archive.namelist())
        (xml_name,) = [n for n in names if n.endswith(".xml")]
        root = ET.fromstring(archive.read(xml_name))
    assert len(names) == 2 and root.findtext("filename") in names
    boxes = root.findall("object")
    assert len(boxes) == fix["automatic_count"] - 1 + 1 == int(r.headers["x-regrow-boxes"])


def test_flagged_measurements_wait_for_review_then_are_accepted(api):
    day = TODAY - dt.timedelta(days=30)
    _ok(
        api.post(
            "/api/measurements",
            json={"site": "vertex", "hair_count": 20, "area_cm2": 0.1, "taken_at": day.isoformat()},
        ),
        201,
    )
    dropped = _ok(
        api.post(
            "/api/measurements",
            json={"site": "vertex", "hair_count": 5, "area_cm2": 0.1, "taken_at": TODAY.isoformat()},
        ),
        201,
    )
    assert dropped["review_status"] == "flagged" and "fell 75%" in dropped["review_reason"]
    _error(api.post("/api/measurements/1/review", json={"accept": True}), 422, "invalid", "measurement")
    body = _ok(api.post(f"/api/measurements/{dropped['id']}/review", json={"accept": True}))
    assert body["measurement"]["review_status"] == "accepted" and body["undo"]
    _error(api.post(f"/api/measurements/{dropped['id']}/review", json={}), 422, "invalid", "accept")


def test_one_image_stored_for_two_sites_exports_once_and_restores_both(api, synthetic):
    _, jpeg = synthetic
    _upload(api, jpeg, site="vertex")
    _upload(api, jpeg, site="occipital")  # the same file backs two photo rows
    export = api.get("/api/export")
    assert export.status_code == 200
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        names = archive.namelist()
    assert len(names) == len(set(names))
    _ok(api.post("/api/delete", json={"confirm": "delete everything"}))
    restored = _ok(api.post("/api/import", files={"file": ("e.zip", export.content, "application/zip")}))
    assert restored["restored"]["photo"] == 2
    photos = _ok(api.get("/api/photos"))["photos"]
    assert {p["site"] for p in photos} == {"vertex", "occipital"}
    assert all(api.get(f"/api/photos/{p['id']}/image").status_code == 200 for p in photos)


def test_a_site_name_close_to_one_in_use_is_confirmed_as_new(api):
    body = {"hair_count": 20, "area_cm2": 0.1, "taken_at": TODAY.isoformat()}
    _ok(api.post("/api/measurements", json={**body, "site": "vertex"}), 201)
    err = _error(api.post("/api/measurements", json={**body, "site": "vertx"}), 409, "duplicate", "site")
    assert "did you mean 'vertex'" in err["message"] and err["message"].endswith(
        'repeat with "new_site": true.'
    )
    assert "--new-site" not in err["message"]
    _ok(api.post("/api/measurements", json={**body, "site": "vertx", "new_site": True}), 201)


def test_every_unsafe_route_refuses_a_request_without_the_csrf_token(app, client, journal):
    before = _rows(app)
    routes = [
        (method, route.path)
        for route in app_routes(app)
        for method in sorted(getattr(route, "methods", None) or ())
        if method in ("POST", "PUT", "PATCH", "DELETE")
    ]
    assert len(routes) > 50
    token = client.headers.pop("x-csrf-token")
    try:
        for method, path in routes:
            url = re.sub(r"\{kind\}", "session", re.sub(r"\{\w+\}", "1", path))
            r = client.request(method, url, data={"confirm": "delete everything"})
            assert r.status_code == 403, f"{method} {url}: {r.status_code}"
    finally:
        client.headers["x-csrf-token"] = token
    assert _rows(app) == before
