"""Clinic mode in Chromium: sign in as each role, the clinic's pages and a patient's pages at phone and laptop
size pass the layout audit and axe-core (no serious or critical violation), and signing out ends access."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from page_audit import audit_page, axe_violations
from test_web_browser import CHROMIUM_ARGS, _chromium
from test_web_browser_product import SIZES, _axe

from conftest import serve
from regrow import clinic as cl
from regrow import journal as jr
from regrow.web import Settings, create_app

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def clinic_server(tmp_path_factory) -> Iterator[tuple[str, int]]:
    """A clinic on SQLite with an admin, a clinician and a patient with a few records: (URL, patient id)."""
    folder = tmp_path_factory.mktemp("clinic")
    url = f"sqlite:///{folder / 'clinic.sqlite'}"
    engine = jr.open_journal(url)
    clinic, _ = cl.init_clinic(
        engine, name="Clinic", admin_email="admin@c.example", admin_name="Admin", admin_password=PASSWORD
    )
    with jr.session_scope(engine) as s:
        patient = cl.add_patient(s, clinic_id=clinic.id, name="Ann Example", record_number="A-1").id
        cl.add_account(
            s,
            clinic_id=clinic.id,
            email="doc@c.example",
            display_name="Dr Lee",
            role="clinician",
            password=PASSWORD,
        )
        cl.add_account(
            s,
            clinic_id=clinic.id,
            email="ann@c.example",
            display_name="Ann",
            role="patient",
            password=PASSWORD,
            person_id=patient,
        )
        jr.add_measurement(
            s, person_id=patient, taken_at="2026-11-01", site="vertex", area_cm2=1.0, hair_count=140
        )
        jr.add_note(s, person_id=patient, text="First consult.")
    engine.dispose()
    app = create_app(Settings(database_url=url, photos_dir=folder / "photos", clinic=True))
    with serve(app) as base:
        yield base, patient
    app.state.engine.dispose()


def _sign_in(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_clinic_pages_for_each_role(clinic_server, artifacts_dir):
    executable, axe_js = _chromium(), _axe()
    from playwright.sync_api import sync_playwright

    base, patient = clinic_server
    visits = {
        None: ["/login"],
        "admin@c.example": ["/clinic", "/clinic/accounts", "/clinic/audit", "/account"],
        "doc@c.example": [
            "/clinic",
            f"/patients/{patient}/",
            f"/patients/{patient}/log",
            f"/patients/{patient}/progress",
        ],
        "ann@c.example": [f"/patients/{patient}/", f"/patients/{patient}/photos"],
    }
    problems: dict[str, list[str]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        for size, (width, height) in SIZES.items():
            for email, paths in visits.items():
                context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
                page = context.new_page()
                if email:
                    _sign_in(page, base, email)
                    assert "/login" not in page.url, f"{email} could not sign in"
                for path in paths:
                    response = page.goto(base + path)
                    assert response.status == 200, (email, path, response.status)
                    name = f"clinic-{(email or 'anon').split('@')[0]}-{path.strip('/').replace('/', '-') or 'home'}"
                    page.screenshot(path=str(artifacts_dir / f"{name}-{size}.png"), full_page=True)
                    found = audit_page(page) + axe_violations(page, axe_js)
                    if found:
                        problems[f"{email} {path} at {width}px"] = sorted(set(found))
                context.close()
        browser.close()
    assert not problems, "\n".join(f"{where}:\n  " + "\n  ".join(p) for where, p in problems.items())


def test_sign_out_ends_access_and_links_stay_with_the_patient(clinic_server):
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    base, patient = clinic_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        page.goto(base + f"/patients/{patient}/progress")
        assert "/login" in page.url  # signed out: the sign-in page, which brings you back afterwards
        page.fill("#f-email", "doc@c.example")
        page.fill("#f-password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert page.url.endswith(f"/patients/{patient}/progress")
        page.click("nav[aria-label=Main] >> text=Log")
        page.wait_for_load_state()
        assert page.url.endswith(f"/patients/{patient}/log")
        assert "First consult." in page.inner_text("main")
        page.click("text=Sign out")
        page.wait_for_load_state()
        assert "/login" in page.url
        page.goto(base + f"/patients/{patient}/log")
        assert "/login" in page.url and "First consult." not in page.content()
        browser.close()
