"""Helpers of the clinic tests (a module of its own name, so that test files never import ``conftest``, whose
name every test folder shares)."""

from __future__ import annotations

import hashlib
import io
import re
import warnings

from PIL import Image

from regrow import journal as jr
from regrow.clinic import _accounts

PASSWORD = "correct horse battery staple"
#: The hasher the product uses (pwdlib's recommended argon2id: 64 MiB, 3 passes, about 0.3 s here), taken
#: before the tests' quick hasher replaces it.
PRODUCTION_HASHER = _accounts._hasher


def png_bytes(seed: int) -> bytes:
    image = Image.new("RGB", (64, 48), (120 + seed, 90, 60))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def fill_patient(engine, store, person_id: int, seed: int) -> dict[str, int]:
    """One record of every kind for ``person_id`` (a device, session, dose, side effect, note, photo,
    measurement and hand correction); returns their ids."""
    data = png_bytes(seed)
    sha = hashlib.sha256(data).hexdigest()
    name = store.put(data, ".png")
    with jr.session_scope(engine) as s:
        device = jr.add_device(
            s, person_id=person_id, name=f"Roller {seed}", kind="roller", needle_length_mm=0.5
        )
        session = jr.add_session(s, person_id=person_id, device_id=device.id, performed_at="2026-11-01T20:00")
        dose = jr.add_dose(
            s, person_id=person_id, kind="minoxidil", taken_at="2026-11-02T08:00", strength="5%"
        )
        event = jr.add_event(
            s, person_id=person_id, kind="redness", severity="mild", onset_at="2026-11-01T21:00"
        )
        note = jr.add_note(s, person_id=person_id, text=f"note of patient {person_id}")
        photo = jr.add_photo(
            s,
            person_id=person_id,
            taken_at="2026-11-03",
            site="vertex",
            file_name=name,
            sha256=sha,
            width=64,
            height=48,
        )
        measurement = jr.add_measurement(
            s,
            person_id=person_id,
            taken_at="2026-11-03",
            site="vertex",
            area_cm2=1.0,
            hair_count=150,
            photo_id=photo.id,
        )
        correction = jr.add_correction(
            s, person_id=person_id, photo_id=photo.id, action="add", x_px=10, y_px=12
        )
        return {
            "device": device.id,
            "session": session.id,
            "dose": dose.id,
            "event": event.id,
            "note": note.id,
            "photo": photo.id,
            "measurement": measurement.id,
            "correction": correction.id,
        }


def csrf_of(client) -> str:
    """The CSRF token of ``client`` (read from a page; any page carries it)."""
    response = client.get("/login")
    return re.search(r'name="csrf-token" content="([^"]+)"', response.text).group(1)


def sign_in(client, email: str, password: str = PASSWORD, code: str | None = None):
    data = {"email": email, "password": password, "csrf_token": csrf_of(client)}
    if code:
        data["code"] = code
    return client.post("/login", data=data, follow_redirects=False)


with warnings.catch_warnings():
    # starlette's TestClient warns at import that it would prefer httpx2; the client itself works.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def make_client(app) -> TestClient:
    """A client of ``app`` over HTTPS (clinic cookies are Secure), following no redirects by default."""
    return TestClient(app, base_url="https://testserver")
