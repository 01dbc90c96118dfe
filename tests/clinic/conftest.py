"""Clinic fixtures: two clinics on one database (SQLite, and PostgreSQL marked ``postgres``), their accounts
signed in as test clients, and patients with one record of every kind."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from clinic_helpers import PASSWORD, fill_patient, make_client, sign_in

from regrow import clinic as cl
from regrow import journal as jr
from regrow.clinic import _accounts


@pytest.fixture(autouse=True)
def _quick_argon2(monkeypatch):
    """argon2id with the smallest cost in these tests: a clinic world hashes a dozen passwords, 0.3 s each at
    the production cost. The algorithm and the PHC format are the same; the production parameters have a
    test of their own (test_clinic_accounts.py)."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    quick = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    monkeypatch.setattr(_accounts, "_hasher", lambda: quick)
    monkeypatch.setattr(_accounts, "_DUMMY_HASH", None)


@dataclasses.dataclass
class ClinicWorld:
    """Everything a clinic test needs: the app, its engine, ids and signed-in clients by name."""

    app: Any
    engine: Any
    url: str
    ids: dict[str, int]
    records: dict[int, dict[str, int]]  # patient id -> {"note": id, "device": id, ...}
    clients: dict[str, Any]

    def client(self, name: str) -> Any:
        return self.clients[name]


@pytest.fixture
def clinic_world(db_url, tmp_path) -> Any:
    """Clinic A (admin, clinician, assistant, a spare account, patients P1 with an account and P2) and clinic B
    (a clinician, patient P3), every patient with one record of each kind, and a signed-in client per account."""
    from regrow.web import Settings, create_app

    engine = jr.open_journal(db_url)
    clinic_a, admin = cl.init_clinic(
        engine, name="Clinic A", admin_email="admin@a.example", admin_name="Admin A", admin_password=PASSWORD
    )
    clinic_b, _ = cl.init_clinic(
        engine, name="Clinic B", admin_email="admin@b.example", admin_name="Admin B", admin_password=PASSWORD
    )
    ids: dict[str, int] = {"clinic_a": clinic_a.id, "clinic_b": clinic_b.id, "admin": admin.id}
    with jr.session_scope(engine) as s:
        ids["p1"] = cl.add_patient(s, clinic_id=clinic_a.id, name="Pat One", record_number="A-1").id
        ids["p2"] = cl.add_patient(s, clinic_id=clinic_a.id, name="Pat Two", record_number="A-2").id
        ids["p3"] = cl.add_patient(s, clinic_id=clinic_b.id, name="Pat Three", record_number="B-1").id
        for key, email, role, person in (
            ("clinician", "doc@a.example", "clinician", None),
            ("assistant", "assist@a.example", "assistant", None),
            ("patient", "p1@a.example", "patient", ids["p1"]),
            ("spare", "spare@a.example", "assistant", None),
        ):
            ids[key] = cl.add_account(
                s,
                clinic_id=clinic_a.id,
                email=email,
                display_name=key,
                role=role,
                password=PASSWORD,
                person_id=person,
            ).id
        ids["clinician_b"] = cl.add_account(
            s,
            clinic_id=clinic_b.id,
            email="doc@b.example",
            display_name="Doc B",
            role="clinician",
            password=PASSWORD,
        ).id
    photos = tmp_path / "photos"
    store = jr.PhotoStore(photos)
    records = {ids[p]: fill_patient(engine, store, ids[p], n) for n, p in enumerate(("p1", "p2", "p3"))}
    app = create_app(
        Settings(database_url=db_url, photos_dir=photos, clinic=True, allowed_hosts=("testserver",))
    )
    clients = {}
    for key, email in (
        ("admin", "admin@a.example"),
        ("clinician", "doc@a.example"),
        ("assistant", "assist@a.example"),
        ("patient", "p1@a.example"),
        ("clinician_b", "doc@b.example"),
    ):
        client = make_client(app)
        response = sign_in(client, email)
        assert response.status_code == 303, response.text
        clients[key] = client
    clients["anonymous"] = make_client(app)
    world = ClinicWorld(app=app, engine=engine, url=db_url, ids=ids, records=records, clients=clients)
    try:
        yield world
    finally:
        for client in clients.values():
            client.close()
        app.state.engine.dispose()
        engine.dispose()
