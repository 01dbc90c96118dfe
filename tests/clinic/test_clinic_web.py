"""Clinic mode through the web app: sign-in, refusals, sessions, CSRF, audit pages, patient uploads."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from clinic_helpers import PASSWORD, csrf_of, make_client, sign_in
from PIL import Image
from sqlalchemy import select, update

from regrow import journal as jr
from regrow.journal._models import Account, AuditEvent, LoginSession, Note, Photo


def _events(engine, **where) -> list[AuditEvent]:
    with jr.session_scope(engine) as s:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for key, value in where.items():
            query = query.where(getattr(AuditEvent, key) == value)
        return list(s.scalars(query))


def test_sign_in_sets_a_secure_http_only_strict_cookie(clinic_world):
    client = make_client(clinic_world.app)
    response = sign_in(client, "doc@a.example")
    assert response.status_code == 303 and response.headers["location"] == "/clinic"
    cookie = response.headers["set-cookie"].lower()
    assert "regrow_session=" in cookie
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
    assert [e.action for e in _events(clinic_world.engine, account_id=clinic_world.ids["clinician"])][
        -1
    ] == "sign-in"


def test_wrong_password_is_refused_audited_and_counted(clinic_world):
    client = make_client(clinic_world.app)
    response = sign_in(client, "doc@a.example", password="not the password")
    assert response.status_code == 401
    assert "Wrong e-mail address, password or code" in response.text
    assert "regrow_session" not in response.headers.get("set-cookie", "")
    refused = _events(clinic_world.engine, action="sign-in-refused")
    assert refused and refused[-1].actor == "doc@a.example" and refused[-1].status == 401
    with jr.session_scope(clinic_world.engine) as s:
        assert s.get(Account, clinic_world.ids["clinician"]).failed_logins == 1


def test_lock_out_then_rate_limit_by_address(clinic_world):
    client = make_client(clinic_world.app)
    for _ in range(5):
        assert sign_in(client, "assist@a.example", password="wrong wrong wrong").status_code == 401
    locked = sign_in(client, "assist@a.example")  # the right password, but locked now
    assert locked.status_code == 401 and "locked" in locked.text
    for _ in range(4):
        sign_in(client, "nobody@a.example", password="wrong wrong wrong")
    throttled = sign_in(client, "doc@a.example")  # 10 failures from this address: even a right one waits
    assert throttled.status_code == 429 and "Too many failed sign-ins" in throttled.text


def test_plain_http_from_the_network_is_refused(clinic_world):
    from starlette.testclient import TestClient

    client = TestClient(clinic_world.app, base_url="http://testserver")
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").text).group(1)
    response = client.post(
        "/login", data={"email": "doc@a.example", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 400 and "needs HTTPS" in response.text


def test_csrf_is_required_for_sign_in_and_for_changes(clinic_world):
    client = make_client(clinic_world.app)
    csrf_of(client)
    response = client.post("/login", data={"email": "doc@a.example", "password": PASSWORD})
    assert response.status_code == 403
    doc = clinic_world.client("clinician")
    p1 = clinic_world.ids["p1"]
    with jr.session_scope(clinic_world.engine) as s:
        notes = s.query(Note).count()
    refused = doc.post(
        f"/patients/{p1}/api/notes", json={"text": "no token"}, headers={"accept": "application/json"}
    )
    assert refused.status_code == 403 and "CSRF" in refused.text
    token = doc.get("/api/csrf").json()["csrf_token"]
    stored = doc.post(
        f"/patients/{p1}/api/notes", json={"text": "with token"}, headers={"x-csrf-token": token}
    )
    assert stored.status_code == 201, stored.text
    with jr.session_scope(clinic_world.engine) as s:
        assert s.query(Note).count() == notes + 1
        assert s.scalars(select(Note).where(Note.text == "with token")).one().person_id == p1


def test_an_expired_session_goes_back_to_sign_in(clinic_world):
    client = make_client(clinic_world.app)
    assert sign_in(client, "doc@a.example").status_code == 303
    assert client.get("/clinic").status_code == 200
    with jr.session_scope(clinic_world.engine) as s:
        old = dt.datetime.now() - dt.timedelta(hours=1)
        s.execute(
            update(LoginSession)
            .where(LoginSession.account_id == clinic_world.ids["clinician"], LoginSession.ended_at.is_(None))
            .values(last_seen_at=old)
        )
    page = client.get("/clinic", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?why=expired")
    api = client.get(f"/patients/{clinic_world.ids['p1']}/api/notes")
    assert api.status_code == 401 and "sign in" in api.json()["error"]["message"]


def test_a_temporary_password_must_be_changed_first(clinic_world):
    admin = clinic_world.client("admin")
    token = csrf_of(admin)
    added = admin.post(
        "/clinic/accounts",
        data={"email": "new@a.example", "name": "New", "role": "assistant", "csrf_token": token},
    )
    assert added.status_code == 200
    temporary = re.search(r"<code>([^<]+)</code>", added.text).group(1)
    client = make_client(clinic_world.app)
    assert sign_in(client, "new@a.example", password=temporary).status_code == 303
    page = client.get("/clinic", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/account?why=change"
    assert client.get(f"/patients/{clinic_world.ids['p1']}/api/notes").status_code == 403
    changed = client.post(
        "/account/password",
        data={
            "current_password": temporary,
            "new_password": "my own passphrase",
            "csrf_token": csrf_of(client),
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert sign_in(client, "new@a.example", password="my own passphrase").status_code == 303
    assert client.get(f"/patients/{clinic_world.ids['p1']}/api/notes").status_code == 200


def test_patient_pages_stay_under_the_patient_and_name_them(clinic_world):
    doc = clinic_world.client("clinician")
    p1 = clinic_world.ids["p1"]
    page = doc.get(f"/patients/{p1}/log")
    assert page.status_code == 200
    assert "Pat One" in page.text and "note of patient" in page.text
    links = re.findall(r'(?:href|action)="(/[^"]*)"', page.text)
    journal_links = [
        link
        for link in links
        if link in ("/", "/log")
        or link.startswith(("/log/", "/log?", "/plan", "/photos", "/records", "/progress"))
    ]
    assert "/logout" in links  # the clinic's own links stay as they are
    assert journal_links == [], journal_links  # every journal link keeps the /patients/<id> prefix
    assert f'href="/patients/{p1}/progress"' in page.text
    assert f"note of patient {clinic_world.ids['p2']}" not in page.text
    redirect = doc.post(
        f"/patients/{p1}/log/note", data={"text": "hello", "csrf_token": csrf_of(doc)}, follow_redirects=False
    )
    assert redirect.status_code == 303 and redirect.headers["location"].startswith(f"/patients/{p1}/log")


def test_a_patient_uploads_a_photo_to_their_own_record_only(clinic_world):
    patient = clinic_world.client("patient")
    p1, p2 = clinic_world.ids["p1"], clinic_world.ids["p2"]
    image = Image.new("RGB", (96, 64), (140, 100, 70))
    out = io.BytesIO()
    image.save(out, "PNG")
    token = patient.get("/api/csrf").json()["csrf_token"]
    files = {"files": ("scalp.png", out.getvalue(), "image/png")}
    data = {"site": "vertex", "taken_at": "2026-11-20", "um_per_px": "8", "allow_duplicate": "true"}
    own = patient.post(f"/patients/{p1}/api/photos", files=files, data=data, headers={"x-csrf-token": token})
    assert own.status_code in (200, 201), own.text
    other = patient.post(
        f"/patients/{p2}/api/photos", files=files, data=data, headers={"x-csrf-token": token}
    )
    assert other.status_code == 404
    with jr.session_scope(clinic_world.engine) as s:
        assert s.query(Photo).filter_by(person_id=p1).count() == 2
        assert s.query(Photo).filter_by(person_id=p2).count() == 1
    read_only = patient.post(f"/patients/{p1}/api/notes", json={"text": "x"}, headers={"x-csrf-token": token})
    assert read_only.status_code == 403


def test_admin_sees_and_exports_the_audit_log(clinic_world):
    doc = clinic_world.client("clinician")
    p1 = clinic_world.ids["p1"]
    assert doc.get(f"/patients/{p1}/progress").status_code == 200
    admin = clinic_world.client("admin")
    page = admin.get(f"/clinic/audit?patient={p1}")
    assert page.status_code == 200 and f"GET /patients/{p1}/progress" in page.text
    exported = admin.get("/clinic/audit.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert any(r["what"] == f"GET /patients/{p1}/progress" and r["actor"] == "doc@a.example" for r in rows)
    assert admin.get("/clinic/audit?patient=abc").status_code == 422
    assert admin.get(f"/patients/{p1}/progress").status_code == 404  # admins do not open records


def test_other_clinics_patients_do_not_appear(clinic_world):
    doc = clinic_world.client("clinician")
    listing = doc.get("/clinic")
    assert "<title>Patients · regrow</title>" in listing.text
    assert "Pat One" in listing.text and "Pat Two" in listing.text and "Pat Three" not in listing.text
    other = doc.get(f"/patients/{clinic_world.ids['p3']}/api/notes")
    unknown = doc.get("/patients/999999/api/notes")
    assert other.status_code == unknown.status_code == 404
    assert other.json()["error"]["message"].replace(str(clinic_world.ids["p3"]), "N") == unknown.json()[
        "error"
    ]["message"].replace("999999", "N")
