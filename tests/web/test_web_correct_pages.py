"""Correcting the journal through the pages (no JavaScript): edit forms, delete buttons, one-click undo, the
History page, duplicates confirmed by a tick box, photo corrections by x/y, review, the limits of the inputs,
and export -> delete everything -> import restoring every row and photo."""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
import zipfile

import pytest

from conftest import UM_PER_PX, page_token
from regrow import journal as jr

TODAY = dt.date.today()


def _post(client, path: str, data: dict, *, token_from: str = "/") -> object:
    return client.post(
        path, data={"csrf_token": page_token(client, token_from), **data}, follow_redirects=False
    )


def _follow(client, response) -> str:
    assert response.status_code == 303, response.text[:3000]
    return client.get(response.headers["location"]).text


def _flash(page: str) -> str:
    found = re.search(r'<div class="flash" role="status">(.*?)</div>', page, re.S)
    assert found, "no flash message on the page"
    return found.group(1)


def _undo_form(page: str) -> dict[str, str]:
    flash = _flash(page)
    group = re.search(r'name="group_id" value="([0-9a-f]+)"', flash).group(1)
    nxt = re.search(r'name="next" value="([^"]+)"', flash).group(1)
    return {"group_id": group, "next": nxt}


def _field_error(page: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="f-{field}-err">(.*?)</p>', page, re.S)
    assert found, f"no error shown by {field}"
    return html.unescape(found.group(1))


def _rows(app) -> dict:
    with jr.session_scope(app.state.engine) as session:
        snap = jr.snapshot(session)
    snap.pop("change")
    return snap


@pytest.fixture
def device(api) -> dict:
    r = api.post("/api/devices", json={"name": "Roller", "kind": "roller", "needle_length_mm": 0.5})
    assert r.status_code == 201
    return r.json()


def test_edit_a_session_by_its_form_then_undo_it_with_one_click(app, client, api, device):
    when = dt.datetime.combine(TODAY, dt.time(6, 30))
    api.post(
        "/api/sessions", json={"device_id": device["id"], "performed_at": when.isoformat(), "pain_0_10": 2}
    )
    before = _rows(app)
    log = client.get("/log").text
    assert 'href="/records/session/1/edit"' in log and 'action="/records/session/1/delete"' in log
    form = client.get("/records/session/1/edit").text
    assert 'value="2"' in form and f'value="{when.isoformat(timespec="minutes")}"' in form
    r = _post(
        client,
        "/records/session/1/edit",
        {
            "device_id": "1",
            "performed_at": when.isoformat(timespec="minutes"),
            "needle_length_mm": "0.5",
            "pain_0_10": "6",
        },
    )
    page = _follow(client, r)
    assert "Needling session 1 changed: pain (0-10)." in _flash(page)
    assert "pain (0-10) 2 -&gt; 6" in _flash(page)  # in words, not the field name
    history = client.get("/api/history").json()["history"][0]
    assert history["interface"] == "web" and history["summary"] == "edited session 1: pain_0_10 2 -> 6"
    undo = _undo_form(page)
    assert undo["next"] == "/log"
    page = _follow(client, _post(client, "/undo", undo))
    assert "Undone: edited session 1: pain (0-10) 2 -&gt; 6." in _flash(page)
    assert _rows(app) == before
    # an undo link used twice refuses instead of undoing the change before
    r = _post(client, "/undo", undo)
    assert r.status_code == 422 and "That change was undone already" in r.text
    assert _rows(app) == before


def test_nothing_changed_stores_nothing(app, client, api, device):
    api.post("/api/notes", json={"text": "hello", "written_at": "2025-01-02T03:04"})
    count = len(client.get("/api/history").json()["history"])
    page = _follow(
        client, _post(client, "/records/note/1/edit", {"text": "hello", "written_at": "2025-01-02T03:04"})
    )
    assert "Nothing changed." in _flash(page) and 'name="group_id"' not in _flash(page)
    assert len(client.get("/api/history").json()["history"]) == count


def test_a_refused_edit_shows_the_rule_by_the_field_and_keeps_the_input(app, client, api, device):
    api.post("/api/doses", json={"kind": "minoxidil", "taken_at": "2025-02-01T08:00", "strength": "5%"})
    before = _rows(app)
    r = _post(
        client,
        "/records/dose/1/edit",
        {"kind": "minoxidil", "taken_at": "9999-12-31T08:00", "strength": "1%"},
    )
    assert r.status_code == 422
    assert "no later than" in _field_error(r.text, "taken_at") and 'value="1%"' in r.text
    r = _post(client, "/records/device/1/edit", {"name": "Roller", "kind": "roller", "needle_length_mm": "9"})
    message = _field_error(r.text, "needle_length_mm")
    assert "(0, 3] mm" in message and "Source:" in message
    r = _post(
        client,
        "/records/device/1/edit",
        {
            "name": "Roller",
            "kind": "roller",
            "needle_length_mm": "0.5",
            "retired_at": "2025-02-01T10:00",
            "first_use": "2025-03-01",
        },
    )
    assert "not before first use" in _field_error(r.text, "retired_at")
    assert _rows(app) == before
    assert client.get("/records/dose/99/edit").status_code == 404
    assert client.get("/records/sofa/1/edit").status_code == 404


def test_a_used_device_offers_retire_instead_and_an_unused_one_is_deleted(app, client, api, device):
    api.post("/api/sessions", json={"device_id": device["id"]})
    r = _post(client, f"/records/device/{device['id']}/delete", {})
    assert (
        r.status_code == 422
        and "Retire it instead" in r.text
        and 'name="device_in_use" value="retire"' in r.text
    )
    page = _follow(
        client, _post(client, f"/records/device/{device['id']}/delete", {"device_in_use": "retire"})
    )
    assert "retired instead of deleted" in _flash(page)
    spare = api.post("/api/devices", json={"name": "Pen", "kind": "pen", "needle_length_mm": 0.25}).json()
    page = _follow(client, _post(client, f"/records/device/{spare['id']}/delete", {}))
    assert f"Deleted device {spare['id']}." in _flash(page)
    assert [d["id"] for d in client.get("/api/devices").json()["devices"]] == [device["id"]]


def test_a_duplicate_form_shows_a_tick_box_that_stores_it(app, client, device):
    data = {"device_id": "1", "performed_at": f"{TODAY.isoformat()}T07:00"}
    _follow(client, _post(client, "/log/session", data, token_from="/log"))
    r = _post(
        client, "/log/session", {**data, "performed_at": f"{TODAY.isoformat()}T19:00"}, token_from="/log"
    )
    assert r.status_code == 409
    assert "tick &#39;Yes, log another session that day&#39; and save again" in r.text
    assert (
        '<input type="checkbox" name="allow_duplicate" value="on"> Yes, log another session that day'
        in r.text
    )
    assert "--allow-duplicate" not in r.text
    assert len(client.get("/api/log").json()["sessions"]) == 1
    page = _follow(
        client, _post(client, "/log/session", {**data, "allow_duplicate": "on"}, token_from="/log")
    )
    assert "Session logged" in _flash(page)
    assert len(client.get("/api/log").json()["sessions"]) == 2


def test_duplicate_hand_counts_and_doses_too(client):
    count = {"site": "vertex", "hair_count": "20", "area_cm2": "0.1", "taken_at": TODAY.isoformat()}
    _follow(client, _post(client, "/photos/count", count, token_from="/photos"))
    r = _post(client, "/photos/count", count, token_from="/photos")
    assert r.status_code == 409 and 'name="allow_duplicate"' in r.text
    dose = {"kind": "minoxidil", "taken_at": f"{TODAY.isoformat()}T08:00"}
    _follow(client, _post(client, "/log/dose", dose, token_from="/log"))
    r = _post(client, "/log/dose", dose, token_from="/log")
    assert r.status_code == 409 and 'name="allow_duplicate"' in r.text


def test_history_page_lists_what_when_old_new_and_interface(client, api, device):
    api.patch(f"/api/devices/{device['id']}", json={"lot": "L-42"})
    _follow(
        client,
        _post(
            client,
            f"/records/device/{device['id']}/edit",
            {"name": "MF8", "kind": "roller", "needle_length_mm": "0.5", "lot": "L-42"},
        ),
    )
    page = client.get("/history").text
    assert page.index("edited device 1: name &#39;Roller&#39; -&gt; &#39;MF8&#39;") < page.index(
        "edited device 1: lot empty"  # raw None in words
    )
    assert "· on these pages" in page and "· through the JSON API" in page
    assert re.search(
        r'<td data-label="Row">device 1</td><td data-label="Field">lot</td><td data-label="Old">–</td>'
        r'<td data-label="New">L-42</td>',
        page,
    )
    page = _follow(
        client,
        _post(client, "/undo", {"group_id": re.search(r'name="group_id" value="(\w+)"', page).group(1)}),
    )
    assert "Undone: edited device 1: name" in _flash(page) and "<strong>undone</strong>" in page


def test_profile_fields_can_be_emptied_and_the_profile_cleared(client):
    _follow(client, _post(client, "/profile", {"sex": "male", "birth_year": "1985", "grade": "III"}))
    _follow(client, _post(client, "/profile", {"sex": "male", "birth_year": "", "grade": "III"}))
    profile = client.get("/api/profile").json()["profile"]
    assert profile["birth_year"] is None and profile["grade"] == "III"
    page = _follow(client, _post(client, "/profile/clear", {}))
    assert "Profile and screening answers cleared" in _flash(page)
    assert client.get("/api/profile").json()["profile"] is None
    _follow(client, _post(client, "/undo", _undo_form(page)))
    assert client.get("/api/profile").json()["profile"]["grade"] == "III"


def test_the_plan_form_stores_a_new_version_from_a_date(client, device):
    start = TODAY - dt.timedelta(days=10)
    _follow(
        client,
        _post(client, "/plan", {"start_date": start.isoformat(), "device_id": "1"}, token_from="/plan"),
    )
    page = client.get("/plan").text
    assert (
        'action="/plan/edit"' in page
        and f'name="effective_from" type="date" value="{TODAY.isoformat()}"' in page
    )
    values = dict(
        re.findall(r'<input id="f-(\w+)" name="\w+" type="(?:number|date|text)" value="([^"]*)"', page)
    )
    values.update(device_id="1", maintenance_interval_days="21")
    r = _post(client, "/plan/edit", {**values, "effective_from": "1999-01-01"}, token_from="/plan")
    assert r.status_code == 422 and "not before" in _field_error(r.text, "effective_from")
    page = _follow(client, _post(client, "/plan/edit", values, token_from="/plan"))
    assert f"Plan changed from {TODAY.isoformat()} on (version 2)" in _flash(page)
    plan = client.get("/api/plan").json()
    assert plan["plan"]["maintenance_interval_days"] == 21 and len(plan["history"]) == 2
    page = _follow(client, _post(client, "/plans/2/delete", {}, token_from="/plan"))
    assert client.get("/api/plan").json()["plan"]["id"] == 1 and "Plan version 2 deleted." in _flash(page)


def test_date_and_number_inputs_carry_the_plausibility_limits(client, device):
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    log = client.get("/log").text
    assert (
        'type="datetime-local" value=""' in log
        and f'max="{tomorrow}T23:59"' in log
        and 'min="1900-01-01T00:00"' in log
    )
    assert re.search(r'name="pain_0_10" type="number" value=""\s+min="0" max="10" step="1"', log)
    devices = client.get("/devices").text
    assert re.search(
        r'name="needle_length_mm" type="number" value=""\s+required\s+min="0" max="3" step="any"', devices
    )
    assert 'name="first_use" type="date" value=""' in devices and f'max="{tomorrow}"' in devices
    plan = client.get("/plan").text
    plan_max = (TODAY + dt.timedelta(days=366)).isoformat()
    assert re.search(
        rf'name="start_date" type="date" value="[^"]*"\s+required\s+min="1900-01-01" max="{plan_max}"', plan
    )
    client.post("/profile", data={"csrf_token": page_token(client, "/profile"), "birth_year": "1980"})
    assert 'min="1980-01-01T00:00"' in client.get("/log").text
    assert 'maxlength="5000"' in log  # notes: the journal's text limit


def _photo(api, synthetic) -> int:
    _, jpeg = synthetic
    r = api.post(
        "/api/photos",
        data={"site": "vertex", "um_per_px": str(UM_PER_PX)},
        files=[("files", ("a.jpg", jpeg, "image/jpeg"))],
    )
    assert r.status_code == 201
    return r.json()["items"][0]["photo"]["id"]


def test_photo_page_corrections_without_javascript(client, api, synthetic):
    photo_id = _photo(api, synthetic)
    fix = api.get(f"/api/photos/{photo_id}/corrections").json()
    page = client.get(f"/photos/{photo_id}").text
    assert (
        page.count('<line x1="') == len(fix["hairs"])
        and 'id="add-form"' in page
        and 'id="remove-form"' in page
    )
    assert f'{fix["hair_count"]} hairs <span class="prov prov-automatic">automatic</span>' in page
    hair = next(h for h in fix["hairs"] if h["counted"])
    x, y = (hair["exit_x_px"] + hair["tip_x_px"]) / 2, (hair["exit_y_px"] + hair["tip_y_px"]) / 2
    page = _follow(
        client,
        _post(
            client,
            f"/photos/{photo_id}/corrections",
            {"action": "remove", "x_px": f"{x:.1f}", "y_px": f"{y:.1f}", "hair_index": ""},
        ),
    )
    assert f"Detection removed; count now {fix['hair_count'] - 1} hairs (corrected)." in _flash(page)
    assert f'data-index="{hair["index"]}" class="hair removed"' in page
    page = _follow(
        client,
        _post(client, f"/photos/{photo_id}/corrections", {"action": "add", "x_px": "12", "y_px": "20"}),
    )
    assert f"count now {fix['hair_count']} hairs (corrected)" in _flash(page) and 'class="added"' in page
    r = _post(client, f"/photos/{photo_id}/corrections", {"action": "add", "x_px": "-3", "y_px": "20"})
    assert r.status_code == 422 and "Invalid x px -3.0" in _field_error(r.text, "add-x_px")
    r = _post(client, f"/photos/{photo_id}/corrections", {"action": "remove", "x_px": "1", "y_px": "1"})
    assert r.status_code == 422 and "within" in _field_error(r.text, "rm-x_px")
    first = api.get(f"/api/photos/{photo_id}/corrections").json()["corrections"][0]["id"]
    page = _follow(client, _post(client, f"/photos/{photo_id}/corrections/{first}/delete", {}))
    assert f"Correction {first} taken back" in _flash(page)
    page = _follow(client, _post(client, f"/photos/{photo_id}/count", {"hair_count": "99"}))
    assert "Count now" in _flash(page) and "your count 99" in page
    photos = client.get("/photos").text
    assert 'prov prov-corrected">corrected</span>' in photos  # the strip and the counts table show it too


def test_deleting_a_photo_from_its_page_and_undo_brings_the_files_back(client, api, synthetic):
    photo_id = _photo(api, synthetic)
    image = client.get(f"/api/photos/{photo_id}/image").content
    page = _follow(client, _post(client, f"/records/photo/{photo_id}/delete", {}))
    assert f"Deleted photo {photo_id}." in _flash(page)
    assert client.get(f"/api/photos/{photo_id}/image").status_code == 404
    _follow(client, _post(client, "/undo", _undo_form(page)))
    assert client.get(f"/api/photos/{photo_id}/image").content == image


def test_flagged_counts_wait_for_review_on_the_photos_and_today_pages(client, api):
    earlier = (TODAY - dt.timedelta(days=28)).isoformat()
    api.post(
        "/api/measurements", json={"site": "vertex", "hair_count": 30, "area_cm2": 0.1, "taken_at": earlier}
    )
    low = api.post(
        "/api/measurements",
        json={"site": "vertex", "hair_count": 9, "area_cm2": 0.1, "taken_at": TODAY.isoformat()},
    ).json()
    assert "1 measurement waiting for your review" in client.get("/").text
    photos = client.get("/photos").text
    section = photos[photos.index('id="review"') : photos.index('id="counts"')]
    assert (
        "density fell 70%" in html.unescape(section)
        and "Accept" in section
        and "Correct" in section
        and "Delete" in section
    )
    page = _follow(
        client,
        _post(
            client,
            f"/measurements/{low['id']}/review",
            {"decision": "accept", "next": "/photos#review"},
            token_from="/photos",
        ),
    )
    assert f"Measurement {low['id']} accepted" in _flash(page) and 'id="review"' not in page
    r = _post(
        client,
        f"/measurements/{low['id']}/review",
        {"decision": "accept", "next": "https://evil.example/"},
        token_from="/photos",
    )
    assert r.status_code == 422  # not flagged any more; and no redirect to another site ever
    r = _post(client, "/undo", {"group_id": "", "next": "//evil.example/x"})
    assert r.headers["location"].startswith("/history")


def test_data_page_links_the_pascal_voc_export(client):
    page = client.get("/data").text
    assert 'href="/api/labels/voc.zip"' in page and "Export corrections as Pascal-VOC" in page


def test_export_delete_everything_import_restores_every_row_and_photo(app, client, api, synthetic):
    """Via the web: a journal with edits, a deleted and restored photo and hand corrections is exported from
    the Data page, deleted with the form, and imported with the form: every row (ids, history included) and
    every photo file comes back byte for byte."""
    photo_id = _photo(api, synthetic)
    api.post(f"/api/photos/{photo_id}/corrections", json={"action": "remove", "hair_index": 0})
    api.post(f"/api/photos/{photo_id}/corrections", json={"action": "add", "x_px": 30, "y_px": 40})
    api.post("/api/devices", json={"name": "R", "kind": "roller", "needle_length_mm": 0.5})
    api.post("/api/sessions", json={"device_id": 1, "pain_0_10": 3})
    api.patch("/api/sessions/1", json={"pain_0_10": 4})
    deleted = api.delete("/api/devices/1", params={"device_in_use": "retire"}).json()
    assert deleted["retired"]
    api.post("/api/notes", json={"text": "<b>not markup</b>"})
    files = {p: client.get(f"/api/photos/{photo_id}/{p}").content for p in ("image", "overlay")}
    before = _rows(app)
    with jr.session_scope(app.state.engine) as session:
        history_before = jr.snapshot(session)["change"]
    assert 'href="/api/export"' in client.get("/data").text
    archive = client.get("/api/export").content
    page = _follow(
        client, _post(client, "/data/delete", {"confirm": "delete everything"}, token_from="/data")
    )
    assert "Deleted" in _flash(page) and 'name="group_id"' not in _flash(page)  # no undo for this one
    assert client.get("/api/photos").json()["photos"] == []
    r = client.post(
        "/data/import",
        data={"csrf_token": page_token(client, "/data")},
        files={"file": ("export.zip", archive, "application/zip")},
        follow_redirects=False,
    )
    assert "Restored" in _flash(_follow(client, r))
    assert _rows(app) == before
    with jr.session_scope(app.state.engine) as session:
        assert jr.snapshot(session)["change"] == history_before
    for part, data in files.items():
        assert client.get(f"/api/photos/{photo_id}/{part}").content == data
    assert "&lt;b&gt;not markup&lt;/b&gt;" in client.get("/log").text
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        document = json.loads(z.read("journal.json"))
    assert len(document["tables"]["hair_correction"]) == 2


def test_a_site_name_close_to_one_in_use_asks_for_a_tick(client):
    count = {"site": "vertex", "hair_count": "20", "area_cm2": "0.1", "taken_at": TODAY.isoformat()}
    _follow(client, _post(client, "/photos/count", count, token_from="/photos"))
    r = _post(client, "/photos/count", {**count, "site": "vertx"}, token_from="/photos")
    assert r.status_code == 409 and "tick &#39;Yes, this is a new site&#39; and save again" in r.text
    assert '<input type="checkbox" name="new_site" value="on"> Yes, this is a new site' in r.text
    page = _follow(
        client,
        _post(client, "/photos/count", {**count, "site": "vertx", "new_site": "on"}, token_from="/photos"),
    )
    assert "Count for vertx stored" in _flash(page)
