"""The JSON API: every endpoint, bad input, oversized uploads, CSRF failures, the one error shape."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
from PIL import Image

from conftest import UM_PER_PX, app_routes, png_with_gps
from regrow import protocol as pr

TODAY = dt.date.today()


def _error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error"} and body["error"]["code"] == code and body["error"]["message"]
    if field is not None:
        assert body["error"]["field"] == field
    return body["error"]


def _device(api, **over) -> dict:
    body = {"name": "Roller", "kind": "roller", "needle_length_mm": 0.5, **over}
    r = api.post("/api/devices", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _plan(api, device_id: int, start: dt.date = TODAY - dt.timedelta(days=14), **over) -> dict:
    r = api.post("/api/plan", json={"start_date": start.isoformat(), "device_id": device_id, **over})
    assert r.status_code == 201, r.text
    return r.json()


# --- meta, error shape, safety headers ----------------------------------------------------------------------


def test_csrf_endpoint_sets_cookie_and_token(client):
    r = client.get("/api/csrf")
    assert r.status_code == 200 and len(r.json()["csrf_token"]) == 64
    assert "regrow_csrf" in r.cookies or "regrow_csrf" in client.cookies


def test_security_headers_and_no_external_resources(client):
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    for path in ("/", "/plan", "/log", "/photos", "/progress", "/evidence", "/data", "/devices", "/profile"):
        html = client.get(path).text
        assert (
            "http://" not in html.replace("http://127.0.0.1", "") and "https://" not in html.split("<main")[0]
        )


def test_unknown_host_is_refused(app):
    from conftest import TestClient

    with TestClient(app, base_url="http://evil.example") as c:
        r = c.get("/api/today")
    _error(r, 400, "bad_host")


def test_not_found_has_the_error_shape(client):
    _error(client.get("/api/nothing-here"), 404, "not_found")
    _error(client.get("/api/photos/999"), 404, "not_found")


def test_openapi_describes_every_api_route(client, app):
    spec = client.get("/openapi.json").json()
    routes = {
        (m, r.path)
        for r in app_routes(app)
        if getattr(r, "path", "").startswith("/api/")
        for m in r.methods
        if m != "HEAD"
    }
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert routes <= documented
    assert "413" in spec["paths"]["/api/photos"]["post"]["responses"]
    # the local API index lists them too (no CDN-hosted Swagger UI)
    # /docs is the help for people (issue 14), not Swagger UI: nothing there loads from a CDN
    docs = client.get("/docs")
    assert (
        docs.status_code == 200
        and "swagger" not in docs.text.lower()
        and '<script src="http' not in docs.text
    )
    assert "/api/photos" in client.get("/api").text


# --- CSRF -----------------------------------------------------------------------------------------------


def test_post_without_csrf_token_is_forbidden(client):
    client.get("/")
    _error(
        client.post("/api/devices", json={"name": "x", "kind": "roller", "needle_length_mm": 0.5}),
        403,
        "forbidden",
    )
    assert client.get("/api/devices").json()["devices"] == []


def test_post_with_wrong_csrf_token_is_forbidden(client):
    client.get("/")
    r = client.post("/api/plan/check", json={"start_date": "2025-01-01"}, headers={"x-csrf-token": "0" * 64})
    _error(r, 403, "forbidden")


def test_token_of_another_cookie_is_forbidden(app, api):
    from conftest import TestClient

    token = api.headers["x-csrf-token"]
    with TestClient(app, base_url="http://127.0.0.1") as other:  # a different browser: its own cookie
        r = other.post("/api/doses", json={"kind": "minoxidil"}, headers={"x-csrf-token": token})
    _error(r, 403, "forbidden")


def test_cross_site_origin_is_forbidden(api):
    r = api.post("/api/doses", json={"kind": "minoxidil"}, headers={"origin": "http://evil.example"})
    _error(r, 403, "forbidden")


def test_form_post_without_token_is_forbidden(client):
    client.get("/devices")
    r = client.post("/devices", data={"name": "x", "kind": "roller", "needle_length_mm": "0.5"})
    assert r.status_code == 403 and "CSRF" in r.text


# --- profile --------------------------------------------------------------------------------------------


def test_profile_get_put_and_screening(api):
    assert api.get("/api/profile").json()["profile"] is None
    r = api.put("/api/profile", json={"sex": "female", "birth_year": 1990, "diagnosis": "FPHL"})
    assert r.status_code == 200 and r.json()["profile"]["sex"] == "female"
    r = api.put("/api/profile/screening", json={"scarring_alopecia": True})
    ids = {f["rule_id"]: f["severity"] for f in r.json()["findings"]}
    assert ids["screen.scarring_alopecia"] == "stop"  # a "yes" to scarring alopecia is a stop (rules.yaml)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sex": "robot"}, "sex"),
        ({"birth_year": 1066}, "birth_year"),
        ({"fitzpatrick_skin_type": 9}, "fitzpatrick_skin_type"),
    ],
)
def test_profile_bad_values_name_the_field(api, body, field):
    _error(api.put("/api/profile", json=body), 422, "invalid", field)


def test_unknown_and_mistyped_fields_are_refused(api):
    _error(api.put("/api/profile", json={"favourite_colour": "blue"}), 422, "invalid", "favourite_colour")
    _error(
        api.post("/api/devices", json={"name": "r", "kind": "roller", "needle_length_mm": "long"}),
        422,
        "invalid",
    )


# --- devices ----------------------------------------------------------------------------------------------


def test_devices_add_list_disinfect_retire(api):
    device = _device(api, first_use=(TODAY - dt.timedelta(days=60)).isoformat())
    # the bundled device.age_limit rule (replace after 42 days) fires for a 60-day-old device
    assert "device.age_limit" in {f["rule_id"] for f in device["findings"]}
    r = api.post(f"/api/devices/{device['id']}/disinfections", json={"method": "alcohol"})
    assert r.status_code == 201 and r.json()["method"] == "alcohol"
    listed = api.get("/api/devices").json()["devices"]
    assert listed[0]["last_disinfected_at"] is not None
    r = api.post(f"/api/devices/{device['id']}/retire", json={"reason": "blunt"})
    assert r.status_code == 200 and r.json()["retired_at"]


def test_device_bad_input(api):
    _error(
        api.post("/api/devices", json={"name": "r", "kind": "roller", "needle_length_mm": 7}),
        422,
        "invalid",
        "needle_length_mm",
    )
    _error(
        api.post("/api/devices", json={"name": "r", "kind": "wand", "needle_length_mm": 0.5}),
        422,
        "invalid",
        "kind",
    )
    _error(api.post("/api/devices/42/disinfections", json={}), 404, "not_found")
    _error(api.post("/api/devices/42/retire", json={}), 404, "not_found")


# --- plan -------------------------------------------------------------------------------------------------


def test_plan_create_show_check_and_ics(api):
    device = _device(api)
    start = TODAY - dt.timedelta(days=14)
    created = _plan(api, device["id"], start=start, minoxidil=True)
    assert created["plan"]["needle_length_mm"] == 0.5 and created["plan"]["active"]
    shown = api.get("/api/plan").json()
    # independent reference: weekly x4 then every 14 days over 24 weeks (defaults, clinical-notes 1.1)
    expected = [start + dt.timedelta(days=d) for d in (0, 7, 14, 21)]
    day = expected[-1] + dt.timedelta(days=14)
    while day < start + dt.timedelta(weeks=24):
        expected.append(day)
        day += dt.timedelta(days=14)
    assert shown["planned_sessions"] == [d.isoformat() for d in expected]
    check = api.post("/api/plan/check", json={"start_date": "2025-01-01", "needle_length_mm": 2.0})
    assert check.status_code == 200
    assert "needle.clinic_only" in {f["rule_id"] for f in check.json()["findings"]}
    assert len(api.get("/api/plan").json()["history"]) == 1  # the check stored nothing
    ics = api.get("/api/plan/schedule.ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert ics.text.count("BEGIN:VEVENT") >= len(expected)


def test_plan_stop_finding_blocks_until_acknowledged(api):
    body = {"start_date": TODAY.isoformat(), "needle_length_mm": 2.0}
    err = _error(api.post("/api/plan", json=body), 409, "blocked", "acknowledge")
    assert "needle.clinic_only" in err["allowed"]
    assert api.get("/api/plan").json()["plan"] is None
    r = api.post(
        "/api/plan", json={**body, "acknowledge": {"needle.clinic_only": "done by my dermatologist"}}
    )
    assert r.status_code == 201


def test_plan_bad_input(api):
    _error(api.post("/api/plan", json={"needle_length_mm": 0.5}), 422, "invalid", "start_date")
    _error(
        api.post("/api/plan", json={"start_date": "yesterday", "needle_length_mm": 0.5}),
        422,
        "invalid",
        "start_date",
    )
    _error(api.post("/api/plan", json={"start_date": "2025-01-01"}), 422, "invalid", "needle_length_mm")
    _error(
        api.post("/api/plan", json={"start_date": "2025-01-01", "needle_length_mm": 0.5, "length_weeks": 0}),
        422,
        "invalid",
        "length_weeks",
    )
    _error(api.post("/api/plan", json={"start_date": "2025-01-01", "device_id": 99}), 404, "not_found")
    _error(api.get("/api/plan/schedule.ics"), 404, "not_found")


# --- log ----------------------------------------------------------------------------------------------------


def test_log_session_dose_event_and_today(api):
    device = _device(api)
    _plan(api, device["id"], minoxidil=True)
    performed = dt.datetime.combine(TODAY, dt.time(7, 0))
    r = api.post(
        "/api/sessions",
        json={
            "device_id": device["id"],
            "performed_at": performed.isoformat(),
            "applied_during": ["sterile saline"],
        },
    )
    assert r.status_code == 201, r.text
    session = r.json()["session"]
    dose = api.post(
        "/api/doses", json={"kind": "minoxidil", "taken_at": (performed + dt.timedelta(hours=2)).isoformat()}
    )
    assert dose.status_code == 201
    # minoxidil 2 h after a 0.5 mm session falls in the 24 h hold (rules.yaml minoxidil.hold)
    assert "minoxidil.hold" in {f["rule_id"] for f in dose.json()["findings"]}
    event = api.post(
        "/api/events", json={"kind": "erythema", "severity": "mild", "session_id": session["id"]}
    )
    assert event.status_code == 201
    resolved = api.post(f"/api/events/{event.json()['event']['id']}/resolve", json={})
    assert resolved.status_code == 200 and resolved.json()["event"]["resolved_at"]
    log = api.get("/api/log").json()
    assert log["counts"] == {"sessions": 1, "doses": 1, "events": 1}
    today = api.get("/api/today", params={"at": (performed + dt.timedelta(hours=3)).isoformat()}).json()
    hold = today["holds"][0]
    assert hold["ends_at"] == (performed + dt.timedelta(hours=24)).isoformat(timespec="minutes")
    assert today["adherence"]["done_to_date"] == 1


def test_session_with_non_approved_topical_is_blocked(api):
    device = _device(api)
    body = {"device_id": device["id"], "applied_during": ["minoxidil"]}
    err = _error(api.post("/api/sessions", json=body), 409, "blocked", "acknowledge")
    assert "topical.not_approved" in err["allowed"]
    assert api.get("/api/log").json()["counts"]["sessions"] == 0
    ok = api.post("/api/sessions", json={**body, "acknowledge": {"topical.not_approved": "clinic protocol"}})
    assert ok.status_code == 201


def test_log_bad_input(api):
    _error(api.post("/api/sessions", json={}), 422, "invalid", "device_id")
    _error(api.post("/api/sessions", json={"device_id": 5}), 404, "not_found")
    device = _device(api)
    _plan(api, device["id"], start=TODAY)
    before = (TODAY - dt.timedelta(days=3)).isoformat()
    _error(
        api.post("/api/sessions", json={"device_id": device["id"], "performed_at": before}),
        422,
        "invalid",
        "performed_at",
    )
    _error(
        api.post("/api/sessions", json={"device_id": device["id"], "pain_0_10": 11}),
        422,
        "invalid",
        "pain_0_10",
    )
    _error(api.post("/api/doses", json={"kind": "coffee"}), 422, "invalid", "kind")
    _error(api.post("/api/events", json={"kind": "pain", "severity": "awful"}), 422, "invalid", "severity")
    _error(api.post("/api/events/77/resolve", json={}), 404, "not_found")
    _error(api.get("/api/log", params={"limit": 0}), 422, "invalid", "limit")
    _error(api.get("/api/today", params={"at": "noon"}), 422, "invalid", "at")


# --- photos and measurements ---------------------------------------------------------------------------------


def test_photo_upload_strips_metadata_and_measures(api, synthetic, web_settings):
    synth, jpeg = synthetic
    r = api.post(
        "/api/photos",
        data={"site": "vertex", "taken_at": "2025-03-01", "um_per_px": str(UM_PER_PX)},
        files=[("files", ("scalp.jpg", jpeg, "image/jpeg"))],
    )
    assert r.status_code == 201, r.text
    item = r.json()["items"][0]
    m = item["measurement"]
    # density is count / area, area from the scale: (480 * 8 um) x (640 * 8 um) in cm2
    area_cm2 = 480 * 640 * UM_PER_PX**2 * 1e-8
    assert m["area_cm2"] == pytest.approx(area_cm2)
    assert m["density_per_cm2"] == pytest.approx(m["hair_count"] / area_cm2)
    # against the synthetic ground truth (the detector's own accuracy is tested in tests/measure)
    assert abs(m["hair_count"] - synth.hair_count) <= max(2, 0.15 * synth.hair_count)
    stored = list(web_settings.photos_dir.glob("*.jpg"))
    assert len(stored) == 1
    with Image.open(stored[0]) as im:
        assert not im.getexif() and "exif" not in im.info  # no EXIF, no GPS
    photo_id = item["photo"]["id"]
    image = api.get(f"/api/photos/{photo_id}/image")
    assert image.status_code == 200 and image.content == stored[0].read_bytes()
    overlay = api.get(f"/api/photos/{photo_id}/overlay")
    assert overlay.status_code == 200 and overlay.content[:8] == b"\x89PNG\r\n\x1a\n"
    detail = api.get(f"/api/photos/{photo_id}").json()
    assert detail["result"]["hair_count"] == m["hair_count"] and "stored_path" not in detail
    listed = api.get("/api/photos").json()
    assert list(listed["sites"]) == ["vertex"]
    assert api.get("/api/measurements").json()["measurements"][0]["photo_id"] == photo_id


def test_photo_upload_many_and_partial_failure(api, synthetic):
    _, jpeg = synthetic
    files = [
        ("files", ("a.jpg", jpeg, "image/jpeg")),
        ("files", ("b.png", b"not really a png", "image/png")),
    ]
    r = api.post("/api/photos", data={"site": "vertex", "um_per_px": "8"}, files=files)
    assert r.status_code == 201
    items = r.json()["items"]
    assert (
        "measurement" in items[0]
        and items[1]["error"]["code"] == "invalid"
        and "b.png" in items[1]["error"]["message"]
    )
    assert len(api.get("/api/photos").json()["photos"]) == 1


def test_photo_upload_bad_input(api, synthetic):
    _, jpeg = synthetic
    one = [("files", ("a.jpg", jpeg, "image/jpeg"))]
    _error(api.post("/api/photos", data={"um_per_px": "8"}, files=one), 422, "invalid", "site")
    _error(api.post("/api/photos", data={"site": "vertex"}, files=one), 422, "invalid", "um_per_px")
    _error(
        api.post("/api/photos", data={"site": "vertex", "um_per_px": "huge"}, files=one),
        422,
        "invalid",
        "um_per_px",
    )
    _error(api.post("/api/photos", data={"site": "vertex", "um_per_px": "8"}), 422, "invalid", "files")
    svg = [("files", ("x.svg", b"<svg/>", "image/svg+xml"))]
    _error(
        api.post("/api/photos", data={"site": "vertex", "um_per_px": "8"}, files=svg),
        415,
        "unsupported_media_type",
    )
    six = [("files", (f"{i}.jpg", jpeg, "image/jpeg")) for i in range(6)]
    _error(
        api.post("/api/photos", data={"site": "vertex", "um_per_px": "8"}, files=six), 422, "invalid", "files"
    )
    assert api.get("/api/photos").json()["photos"] == []


def test_oversized_upload_is_refused_with_413(api, web_settings):
    big = b"\xff" * (web_settings.max_upload_bytes + 1)
    r = api.post(
        "/api/photos",
        data={"site": "vertex", "um_per_px": "8"},
        files=[("files", ("big.jpg", big, "image/jpeg"))],
    )
    _error(r, 413, "too_large")
    assert api.get("/api/photos").json()["photos"] == []


def test_oversized_streamed_body_without_length_is_refused(api, web_settings):
    def chunks():
        for _ in range(web_settings.max_upload_bytes // 65536 + 2):
            yield b"x" * 65536

    r = api.post(
        "/api/photos", content=chunks(), headers={"content-type": "multipart/form-data; boundary=zz"}
    )
    _error(r, 413, "too_large")


def test_decompression_bomb_is_refused(app, api):
    app.state.service.max_image_pixels = 10_000
    buf = io.BytesIO()
    Image.new("RGB", (200, 200), "white").save(buf, format="PNG")
    r = api.post(
        "/api/photos",
        data={"site": "vertex", "um_per_px": "8"},
        files=[("files", ("w.png", buf.getvalue(), "image/png"))],
    )
    err = _error(r, 422, "invalid")
    assert "pixels" in err["message"]


def test_hand_count_measurement(api):
    r = api.post(
        "/api/measurements",
        json={"site": "vertex", "taken_at": "2025-03-01", "hair_count": 150, "area_cm2": 1.25},
    )
    assert r.status_code == 201 and r.json()["density_per_cm2"] == pytest.approx(120.0)
    _error(
        api.post("/api/measurements", json={"site": "vertex", "hair_count": 10}), 422, "invalid", "area_cm2"
    )
    _error(
        api.post("/api/measurements", json={"site": "vertex", "hair_count": 10, "area_cm2": -1}),
        422,
        "invalid",
        "area_cm2",
    )


# --- progress, evidence ---------------------------------------------------------------------------------------


def test_progress_verdict_from_counts(api):
    assert (
        api.get("/api/progress").json()["verdict"] == "inconclusive"
        or api.get("/api/progress").status_code == 200
    )
    start = dt.date(2025, 1, 6)
    device = _device(api)
    _plan(api, device["id"], start=start)
    # a clear gain: 100 -> 140 hairs/cm2 over 24 weeks, three replicate counts per visit
    for week in range(-2, 27, 4):
        density = 100 + 40 * max(week, 0) / 24
        for noise in (-2, 0, 2):
            day = (start + dt.timedelta(weeks=week)).isoformat()
            api.post(
                "/api/measurements",
                json={
                    "site": "vertex",
                    "taken_at": day,
                    "hair_count": round(density + noise),
                    "area_cm2": 1.0,
                },
            )
    body = api.get("/api/progress").json()
    assert body["verdict"] == "responding"
    assert body["sites"][0]["change_per_cm2"]["ci_lb"] > 0
    assert api.get("/api/progress", params={"site": "VERTEX"}).json()["sites"][0]["site"] == "vertex"


def test_evidence_and_plots(api):
    body = api.get("/api/evidence").json()
    assert body["summary"]["question"] == "Does micro-needling for hair growth really work?"
    cid = "mn_mx_vs_mx_density"
    assert body["comparisons"][cid]["k"] >= 2
    png = api.get(f"/api/evidence/{cid}/forest.png")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    _error(api.get("/api/evidence/nope/forest.png"), 404, "not_found")
    _error(api.get(f"/api/evidence/{cid}/pie.png"), 404, "not_found")


# --- data ------------------------------------------------------------------------------------------------------


def _archive_document(content: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return json.loads(archive.read("journal.json"))


def test_export_import_delete_round_trip(api, synthetic, web_settings):
    _, jpeg = synthetic
    device = _device(api)
    _plan(api, device["id"])
    api.post(
        "/api/photos",
        data={"site": "vertex", "um_per_px": "8"},
        files=[("files", ("a.jpg", jpeg, "image/jpeg"))],
    )
    (photo,) = api.get("/api/photos").json()["photos"]
    image_before = api.get(f"/api/photos/{photo['id']}/image").content
    overlay_before = api.get(f"/api/photos/{photo['id']}/overlay").content
    export = api.get("/api/export")
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    assert export.headers["content-type"] == "application/zip"
    document = _archive_document(export.content)
    assert document["format"] == "regrow-journal" and len(document["tables"]["device"]) == 1
    # import into a non-empty journal is refused without replace
    files = {"file": ("export.zip", export.content, "application/zip")}
    _error(api.post("/api/import", files=files), 422, "invalid")
    _error(api.post("/api/delete", json={"confirm": "yes"}), 422, "invalid", "confirm")
    deleted = api.post("/api/delete", json={"confirm": "delete everything"})
    assert deleted.status_code == 200 and deleted.json()["deleted"]["device"] == 1
    assert [p.name for p in web_settings.photos_dir.iterdir() if p.name != ".lock"] == []
    assert api.get("/api/devices").json()["devices"] == []
    restored = api.post("/api/import", files=files)
    assert restored.status_code == 200 and restored.json()["restored"]["device"] == 1
    assert restored.json()["photo_files_restored"] == 1
    after = _archive_document(api.get("/api/export").content)
    assert after["tables"] == document["tables"]  # every row, ids included
    assert api.get(f"/api/photos/{photo['id']}/image").content == image_before
    assert api.get(f"/api/photos/{photo['id']}/overlay").content == overlay_before


def test_import_bad_files(api):
    _error(
        api.post("/api/import", files={"file": ("x.txt", b"hello", "text/plain")}),
        415,
        "unsupported_media_type",
    )
    _error(
        api.post("/api/import", files={"file": ("x.json", b"{not json", "application/json")}), 422, "invalid"
    )
    _error(api.post("/api/import", data={"replace": "on"}), 422, "invalid", "file")


def test_protocol_defaults_match_the_plan_form(client):
    # the plan page pre-fills the cited protocol defaults (not numbers of its own)
    html = client.get("/plan").text
    for key in ("loading_interval_days", "maintenance_interval_days", "decision_week"):
        assert f'name="{key}" type="number" value="{pr.PLAN_DEFAULTS[key]}"' in html


def test_png_with_gps_helper_really_carries_gps():
    import numpy as np

    with Image.open(io.BytesIO(png_with_gps(np.zeros((32, 32, 3), np.uint8)))) as im:
        assert im.getexif().get_ifd(0x8825)[1] == "N"
