"""The access matrix: every role x every route x own / same-clinic / other-clinic patient.

Expected answers come from the policy (:data:`regrow.clinic.ALLOWED` and :func:`regrow.clinic.may_open_patient`
spelled out independently here), never from the middleware under test: a patient the account may not open is
404 (its existence is not revealed), a route its role may not use is 403, and a refused request changes
nothing in the journal. Allowed requests reach the route and leave an audit entry naming the patient.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from regrow import clinic as cl
from regrow import journal as jr
from regrow.journal._models import AuditEvent
from regrow.web._clinic import flat_routes

#: Which patients each signed-in account may open, written out by hand from the issue: clinicians and
#: assistants every patient of their clinic, a patient only their own record, an admin none.
OPENS = {
    "admin": set(),
    "clinician": {"p1", "p2"},
    "assistant": {"p1", "p2"},
    "patient": {"p1"},
    "clinician_b": {"p3"},
}
ROLE_OF = {"admin": "admin", "clinician": "clinician", "assistant": "assistant", "patient": "patient"}
ROLE_OF["clinician_b"] = "clinician"
#: What each role may do with a record it may open (the issue: patients read their own record and add photos).
MAY = {
    "admin": set(),
    "clinician": {"read", "upload", "record", "manage", "export"},
    "assistant": {"read", "upload", "record"},
    "patient": {"read", "upload"},
}

_SEGMENT_KIND = {
    "devices": "device",
    "sessions": "session",
    "doses": "dose",
    "events": "event",
    "notes": "note",
    "photos": "photo",
    "measurements": "measurement",
    "corrections": "correction",
    "disinfections": "device",
    "acknowledgements": "note",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])])
def backend(request) -> str:
    """The matrix decides access the same way on both backends: PostgreSQL's run (a minute) is in
    ``pytest -m slow``; the clinic's other tests run on PostgreSQL by default."""
    return request.param


def _fill(path: str, records: dict[str, int], ids: dict[str, int]) -> str:
    """``path`` with its parameters set to real records of the target patient."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        before = path[: match.start()].rstrip("/").rsplit("/", 1)[-1]
        if name == "kind" and "/records/" in path:
            return "note"
        if name == "row_id" and "/records/" in path:
            return str(records["note"])
        if name in ("photo_id",):
            return str(records["photo"])
        if name == "measurement_id":
            return str(records["measurement"])
        if name == "device_id":
            return str(records["device"])
        if name == "event_id":
            return str(records["event"])
        if name == "correction_id":
            return str(records["correction"])
        if name == "plan_id":
            return "999999"
        if name == "account_id":
            return str(ids["spare"])
        if name == "topic":
            return "start"
        if name == "comparison_id":
            return "main"
        if name == "kind":
            return "forest"
        if name == "row_id":
            return str(records[_SEGMENT_KIND.get(before, "note")])
        raise AssertionError(f"no value for {{{name}}} in {path}")

    return re.sub(r"\{(\w+)\}", value, path)


def _url(world, path: str, target: str | None) -> str:
    """``path`` under patient ``target`` (``p1``...) with that patient's records, or unprefixed (``None``)
    with P1's records."""
    if target is None:
        return _fill(path, world.records[world.ids["p1"]], world.ids)
    return f"/patients/{world.ids[target]}" + _fill(path, world.records[world.ids[target]], world.ids)


def _routes(app):
    out = []
    for route in flat_routes(app.routes):
        methods = sorted((getattr(route, "methods", None) or {"GET"}) - {"HEAD"})
        if route.path == "/static":
            continue
        for method in methods:
            out.append((method, route.path))
    return out


def _journal_state(engine) -> dict:
    with jr.session_scope(engine) as session:
        return jr.snapshot(session)


def _send(client, method: str, url: str, token: str):
    headers = {"x-csrf-token": token, "accept": "application/json"}
    if method in ("POST", "PUT", "PATCH"):
        return client.request(method, url, json={}, headers=headers, follow_redirects=False)
    return client.request(method, url, headers=headers, follow_redirects=False)


def _expected(account: str, kind: str, target: str | None) -> int | str:
    """404 / 403 or "ok" for ``account`` using a route of ``kind`` on ``target`` (None: not a patient route)."""
    role = ROLE_OF[account]
    if kind in cl.PATIENT_KINDS:
        if target is None:
            return 404  # a patient's route outside /patients/<id>/
        if target not in OPENS[account]:
            return 404
        return "ok" if kind in MAY[role] else 403
    if kind == "home-only":
        return 404
    if kind in ("open", "signed-in"):
        return "ok"
    allowed = {
        "directory": {"admin", "clinician", "assistant"},
        "accounts": {"admin"},
        "audit": {"admin"},
        "import": {"clinician"},
    }[kind]
    return "ok" if role in allowed else 403


def _audit_count(engine) -> int:
    with jr.session_scope(engine) as session:
        return session.scalar(select(func.count(AuditEvent.id)))


def test_every_route_has_a_policy(clinic_world):
    """A route missing from the table would be refused for everybody: the table covers the whole app."""
    missing = [(m, p) for m, p in _routes(clinic_world.app) if (m, p) not in cl.ROUTES]
    assert missing == []
    assert set(cl.ROUTES.values()) <= set(cl.KINDS)


def test_access_matrix(clinic_world):
    world = clinic_world
    routes = _routes(world.app)
    # account routes change the spare account only; run them last so no signed-in client is affected
    routes.sort(key=lambda r: r[1].startswith("/clinic/accounts/"))
    tokens = {name: _token(client) for name, client in world.clients.items() if name != "anonymous"}
    before = _journal_state(world.engine)
    refused = 0
    # phase 1: every refusal (nothing may change)
    for account in OPENS:
        client = world.client(account)
        for method, path in routes:
            kind = cl.ROUTES[(method, path)]
            targets = ["p1", "p2", "p3", None] if kind in cl.PATIENT_KINDS else [None]
            for target in targets:
                expected = _expected(account, kind, target)
                if expected == "ok":
                    continue
                url = _url(world, path, target)
                response = _send(client, method, url, tokens[account])
                assert response.status_code == expected, (account, method, url, response.text[:200])
                refused += 1
    assert refused > 500
    assert _journal_state(world.engine) == before, "a refused request changed the journal"

    # phase 2: what is allowed reaches the route, and a patient's route leaves an audit entry for that patient
    allowed = 0
    for account in OPENS:
        client = world.client(account)
        for method, path in routes:
            kind = cl.ROUTES[(method, path)]
            if kind == "open" or (method, path) == ("POST", "/logout"):
                continue
            targets = sorted(OPENS[account]) if kind in cl.PATIENT_KINDS else [None]
            for target in targets:
                if _expected(account, kind, target) != "ok":
                    continue
                url = _url(world, path, target)
                count = _audit_count(world.engine)
                response = _send(client, method, url, tokens[account])
                assert response.status_code not in (401, 403), (account, method, url, response.text[:200])
                assert response.status_code < 500, (account, method, url, response.text[:300])
                assert "here." not in response.text or response.status_code != 404, (account, url)
                if target is not None:
                    with jr.session_scope(world.engine) as session:
                        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id).offset(count)).all()
                        assert len(rows) == 1, (account, method, url)
                        entry = rows[0]
                        assert entry.person_id == world.ids[target]
                        assert entry.account_id == world.ids[account]
                        assert entry.what.startswith(f"{method} {url}")
                        assert entry.status == response.status_code
                        assert entry.action == (
                            "export" if kind == "export" else "read" if method == "GET" else "write"
                        )
                allowed += 1
    assert allowed > 150


def _token(client) -> str:
    response = client.get("/api/csrf", headers={"accept": "application/json"})
    assert response.status_code == 200, response.text
    return response.json()["csrf_token"]


@pytest.mark.parametrize("path", ["/", "/api/today", "/progress", "/api/notes", "/clinic", "/clinic/audit"])
def test_signed_out_gets_nothing(clinic_world, path):
    client = clinic_world.client("anonymous")
    for url in (path, f"/patients/{clinic_world.ids['p1']}{path}"):
        api = client.get(url, headers={"accept": "application/json"}, follow_redirects=False)
        assert api.status_code in (401, 404)
        assert "note of patient" not in api.text
        page = client.get(url, headers={"accept": "text/html"}, follow_redirects=False)
        assert page.status_code in ((401, 404) if "/api/" in url else (303, 404))
        if page.status_code == 303:
            assert page.headers["location"].startswith("/login")


def test_a_record_of_another_patient_under_an_open_patient_is_404(clinic_world):
    """Opening P1 does not reach P2's rows by their ids (records are looked up within the open patient)."""
    world = clinic_world
    client = world.client("clinician")
    token = _token(client)
    p1, p2 = world.ids["p1"], world.ids["p2"]
    other = world.records[p2]
    before = _journal_state(world.engine)
    for method, path in (
        ("GET", f"/api/notes/{other['note']}"),
        ("DELETE", f"/api/notes/{other['note']}"),
        ("PATCH", f"/api/devices/{other['device']}"),
        ("GET", f"/api/photos/{other['photo']}/image"),
        ("DELETE", f"/api/measurements/{other['measurement']}"),
    ):
        response = _send(client, method, f"/patients/{p1}{path}", token)
        assert response.status_code == 404, (method, path, response.text)
    assert _journal_state(world.engine) == before
