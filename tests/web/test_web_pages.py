"""Server-rendered pages: forms keep what was typed on an error, show it by the field, and redirect on success."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from conftest import page_token
from regrow.errors import InputError
from regrow.web import fill_demo

PAGES = ("/", "/profile", "/plan", "/log", "/devices", "/photos", "/progress", "/evidence", "/data", "/api")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_on_an_empty_journal(client, path):
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<main id="main"' in r.text and 'lang="en"' in r.text and 'name="viewport"' in r.text


def test_form_error_keeps_input_and_names_the_field(client):
    token = page_token(client, "/devices")
    r = client.post(
        "/devices",
        data={
            "csrf_token": token,
            "name": "My long roller",
            "kind": "roller",
            "needle_length_mm": "9",
            "lot": "L-77",
        },
    )
    assert r.status_code == 422
    html = r.text
    field = re.search(
        r'<div class="field has-error">\s*<label for="f-needle_length_mm">.*?</div>', html, re.S
    )
    assert field and 'aria-invalid="true"' in field.group(0) and "needle_length_mm" in field.group(0)
    assert 'value="My long roller"' in html and 'value="L-77"' in html and 'value="9"' in html
    assert client.get("/api/devices").json()["devices"] == []


def test_form_type_error_is_shown_by_the_field(client):
    token = page_token(client, "/photos")
    r = client.post(
        "/photos/count", data={"csrf_token": token, "site": "vertex", "hair_count": "many", "area_cm2": "1"}
    )
    assert r.status_code == 422 and "Invalid hair count &#39;many&#39;" in r.text and 'value="many"' in r.text


def test_success_redirects_and_flashes_findings(client):
    token = page_token(client, "/devices")
    old = (dt.date.today() - dt.timedelta(days=60)).isoformat()
    r = client.post(
        "/devices",
        data={
            "csrf_token": token,
            "name": "Old roller",
            "kind": "roller",
            "needle_length_mm": "0.5",
            "first_use": old,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/devices?flash=")
    page = client.get(r.headers["location"]).text
    assert "Device &#39;Old roller&#39; added." in page and "(replace after 42 days)" in page
    assert "Device &#39;Old roller&#39; added." not in client.get(r.headers["location"]).text  # shown once


def test_plan_stop_finding_asks_for_acknowledgement_then_saves(client):
    token = page_token(client, "/plan")
    form = {
        "csrf_token": token,
        "start_date": dt.date.today().isoformat(),
        "needle_length_mm": "2.0",
        "name": "Deep",
    }
    r = client.post("/plan", data=form)
    assert r.status_code == 409
    assert 'name="acknowledge" value="needle.clinic_only"' in r.text and 'value="Deep"' in r.text
    r = client.post("/plan", data={**form, "acknowledge": "needle.clinic_only"})
    assert r.status_code == 422 and "ack_reason" in r.text  # a tick without a reason is not enough
    r = client.post(
        "/plan",
        data={**form, "acknowledge": "needle.clinic_only", "ack_reason": "in my clinic"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get("/api/plan").json()["plan"]["name"] == "Deep"


def test_log_session_form_and_resolve_event(client):
    token = page_token(client, "/devices")
    client.post(
        "/devices", data={"csrf_token": token, "name": "R", "kind": "roller", "needle_length_mm": "0.5"}
    )
    r = client.post(
        "/log/session", data={"csrf_token": token, "device_id": "1", "endpoint": "erythema", "pain_0_10": "2"}
    )
    assert r.status_code == 200 and "Session logged" in r.text
    r = client.post("/log/event", data={"csrf_token": token, "kind": "pain", "severity": "mild"})
    assert "Side effect &#39;pain&#39; logged." in r.text
    r = client.post("/log/event/1/resolve", data={"csrf_token": token})
    assert "marked resolved" in r.text
    r = client.post("/log/dose", data={"csrf_token": token, "kind": "coffee", "strength": "strong"})
    assert r.status_code == 422 and 'value="strong"' in r.text and "Invalid kind" in r.text


def test_profile_and_screening_forms(client):
    token = page_token(client, "/profile")
    r = client.post(
        "/profile",
        data={
            "csrf_token": token,
            "sex": "male",
            "birth_year": "1988",
            "medications": "finasteride, minoxidil",
        },
    )
    assert r.status_code == 200 and "Profile saved." in r.text
    assert client.get("/api/profile").json()["profile"]["medications"] == ["finasteride", "minoxidil"]
    r = client.post("/profile/screening", data={"csrf_token": token, "active_scalp_infection": "yes"})
    assert "rules out needling until a clinician has treated it" in r.text and "screen." not in r.text
    r = client.post("/profile/screening", data={"csrf_token": token, "pregnancy": "perhaps"})
    assert r.status_code == 422 and "yes or no" in r.text


def test_delete_needs_the_confirmation_words(client):
    token = page_token(client, "/data")
    client.post(
        "/devices", data={"csrf_token": token, "name": "R", "kind": "roller", "needle_length_mm": "0.5"}
    )
    r = client.post("/data/delete", data={"csrf_token": token, "confirm": "ok"})
    assert r.status_code == 422 and "delete everything" in r.text and 'value="ok"' in r.text
    assert len(client.get("/api/devices").json()["devices"]) == 1
    r = client.post("/data/delete", data={"csrf_token": token, "confirm": "delete everything"})
    assert r.status_code == 200 and "Deleted" in r.text
    assert client.get("/api/devices").json()["devices"] == []


def test_html_errors_are_pages_and_api_errors_are_json(client):
    r = client.get("/photos/12345", headers={"accept": "text/html"})
    assert r.status_code == 404 and "<html" in r.text and "12345" in r.text
    r = client.get("/api/photos/12345", headers={"accept": "text/html"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_demo_fills_a_small_journal_and_every_page_shows_it(app, client):
    counts = fill_demo(app, months=2, images=True, replicates=1, today=dt.date(2025, 3, 3), seed=3)
    # 2 months = 9 weeks: sessions on the planned days (weekly x4, then every 14 days) up to today
    assert counts["sessions"] >= 5 and counts["photos"] == counts["measurements"] == 2 * 3
    for path in PAGES:
        assert client.get(path).status_code == 200
    progress = client.get("/progress").text
    assert "Overall:" in progress and "<svg" in progress and '<table class="stack">' in progress
    photos = client.get("/photos").text
    assert photos.count('<img src="/api/photos/') == 6 and 'alt="Scalp photo of the vertex' in photos
    history = client.get("/api/history", params={"limit": 10000}).json()["history"]
    assert history and {g["interface"] for g in history} == {"demo"}  # the history says where it came from
    with pytest.raises(InputError, match="empty journal"):
        fill_demo(app, months=2, images=False)
