"""Correcting the journal in a real headless Chromium at phone size (375 x 667, touch): edit a session and
undo it, delete a dose and undo it, retire a used device instead of deleting it, and correct a photo's
detections by tapping it and with the keyboard. Screenshots go to ``test-artifacts/web/`` (see
``test_web_browser.py`` for how Chromium is found; ``REGROW_REQUIRE_BROWSER=1`` makes a missing one fail).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image
from test_web_browser import CHROMIUM_ARGS, _chromium, _wait_true

from conftest import UM_PER_PX, serve
from regrow.web import Settings, create_app

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 667}
TODAY = dt.date.today()


@pytest.fixture
def journal(tmp_path) -> Iterator[tuple[str, dict]]:
    """A served journal with a device, two sessions, a dose and one measured photo (made through the API)."""
    from regrow.measure import synthesize

    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'j.sqlite'}", photos_dir=tmp_path / "photos")
    )
    synth = synthesize(shape=(480, 640), um_per_px=UM_PER_PX, unit_density_per_cm2=70.0, seed=7)
    image = tmp_path / "vertex.jpg"
    Image.fromarray(synth.image).save(image, quality=95)
    with serve(app) as url, httpx.Client(base_url=url) as api:
        api.headers["x-csrf-token"] = api.get("/api/csrf").json()["csrf_token"]
        device = api.post(
            "/api/devices", json={"name": "Roller", "kind": "roller", "needle_length_mm": 0.5}
        ).json()
        for days in (8, 1):
            when = dt.datetime.combine(TODAY - dt.timedelta(days=days), dt.time(20, 0)).isoformat()
            r = api.post(
                "/api/sessions", json={"device_id": device["id"], "performed_at": when, "pain_0_10": 2}
            )
            assert r.status_code == 201, r.text
        assert api.post("/api/doses", json={"kind": "minoxidil", "strength": "5%"}).status_code == 201
        r = api.post(
            "/api/photos",
            data={"site": "vertex", "um_per_px": str(UM_PER_PX)},
            files=[("files", ("vertex.jpg", image.read_bytes(), "image/jpeg"))],
        )
        assert r.status_code == 201, r.text
        photo_id = r.json()["items"][0]["photo"]["id"]
        fix = api.get(f"/api/photos/{photo_id}/corrections").json()
        yield url, {"device": device["id"], "photo": photo_id, "fix": fix, "api": api}
    app.state.engine.dispose()


def test_edit_delete_undo_and_hand_correction_on_a_phone(journal, artifacts_dir):
    executable = _chromium()
    from playwright.sync_api import expect, sync_playwright

    url, ids = journal
    api = ids["api"]
    external: list[str] = []

    def shot(page, name: str) -> None:
        page.screenshot(path=str(artifacts_dir / f"{name}.png"), full_page=True)

    def fits(page) -> None:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{page.url} scrolls sideways on a phone ({width}px)"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.on("request", lambda req: external.append(req.url) if not req.url.startswith(url) else None)
        page.set_default_timeout(15_000)

        # Edit the newest session: the form is filled in, one field changes, the flash offers undo
        page.goto(url + "/log#recent")
        fits(page)
        page.locator('a[aria-label^="Edit session"]').first.tap()
        expect(page.locator("h1")).to_contain_text("Edit needling session")
        fits(page)
        page.fill("#f-pain_0_10", "7")
        shot(page, "21-phone-edit-form")
        page.locator("#edit-form button[type=submit]").tap()
        expect(page.locator(".flash")).to_contain_text("changed: pain (0-10)")
        expect(page.locator(".flash")).to_contain_text("pain (0-10) 2 -> 7")
        shot(page, "22-phone-edit-undo-offer")
        assert api.get("/api/sessions/2").json()["pain_0_10"] == 7
        page.locator("#undo-button").tap()
        expect(page.locator(".flash")).to_contain_text("Undone: edited session 2")
        assert api.get("/api/sessions/2").json()["pain_0_10"] == 2

        # The input's limits are the rule's (the browser stops 11 already); sent anyway, the server refuses
        # it by its field, with the rule's range and source
        page.goto(url + "/records/session/2/edit")
        page.fill("#f-pain_0_10", "11")
        assert page.locator("#f-pain_0_10").evaluate("e => e.validity.rangeOverflow") is True
        page.locator("#edit-form").evaluate("f => { f.noValidate = true; }")
        page.locator("#edit-form button[type=submit]").tap()
        expect(page.locator("#f-pain_0_10-err")).to_contain_text("[0, 10]")
        expect(page.locator("#f-pain_0_10-err")).to_contain_text("Source:")
        shot(page, "23-phone-edit-refused")

        # Delete the dose, then undo the deletion
        page.goto(url + "/log#recent")
        page.locator('button[aria-label^="Delete minoxidil dose"]').tap()
        expect(page.locator(".flash")).to_contain_text("Deleted dose 1.")
        expect(page.locator("#recent")).to_contain_text("No doses yet.")
        shot(page, "24-phone-deleted-undo-offer")
        page.locator("#undo-button").tap()
        expect(page.locator(".flash")).to_contain_text("Undone: deleted dose 1")
        expect(page.locator("#recent")).to_contain_text("minoxidil")

        # A device that sessions used is not deleted: the page offers to retire it instead
        page.goto(url + f"/records/device/{ids['device']}/edit")
        page.locator("#delete-button").tap()
        expect(page.locator(".form-errors")).to_contain_text("Retire it instead")
        shot(page, "25-phone-device-retire-instead")
        page.locator("#retire-button").tap()
        expect(page.locator(".flash")).to_contain_text("retired instead of deleted")
        assert api.get(f"/api/devices/{ids['device']}").json()["retired_at"]

        # Hand correction: tap a detection to remove it, tap an empty spot to add a missed hair
        fix = ids["fix"]
        automatic = fix["automatic_count"]
        page.goto(url + f"/photos/{ids['photo']}")
        _wait_true(page, "() => document.getElementById('canvas-image').naturalWidth > 0")
        fits(page)
        expect(page.locator("#tap-mode")).to_be_visible()
        expect(page.locator("#h-fix")).to_contain_text(f"{automatic} hairs automatic")
        shot(page, "26-phone-photo-detections")
        page.locator('#tap-mode input[value="remove"]').check()
        page.locator("#canvas-image").scroll_into_view_if_needed()
        box = page.locator("#canvas-image").bounding_box()  # in the viewport, where taps land
        scale = box["width"] / fix["width"]
        hair = next(h for h in fix["hairs"] if h["counted"])
        mid_x = (hair["exit_x_px"] + hair["tip_x_px"]) / 2
        mid_y = (hair["exit_y_px"] + hair["tip_y_px"]) / 2
        page.touchscreen.tap(box["x"] + mid_x * scale, box["y"] + mid_y * scale)
        expect(page.locator(".flash")).to_contain_text(
            f"Detection removed; count now {automatic - 1} hairs (corrected)"
        )
        expect(page.locator(f'line[data-index="{hair["index"]}"]')).to_have_class("hair removed")
        corrections = api.get(f"/api/photos/{ids['photo']}/corrections").json()["corrections"]
        assert corrections[-1]["hair_index"] == hair["index"]
        page.locator("#canvas-image").scroll_into_view_if_needed()
        box = page.locator("#canvas-image").bounding_box()
        page.touchscreen.tap(box["x"] + 4, box["y"] + 4)  # "adds" is the default again after the reload
        expect(page.locator(".flash")).to_contain_text(f"Hair added; count now {automatic} hairs (corrected)")
        expect(page.locator("circle.added")).to_have_count(1)
        shot(page, "27-phone-photo-corrected")

        # The same with the keyboard only: type x and y into the form and press Enter
        page.locator("#f-add-x_px").focus()
        page.keyboard.type("300")
        page.keyboard.press("Tab")
        page.keyboard.type("200")
        page.keyboard.press("Enter")
        expect(page.locator(".flash")).to_contain_text(
            f"Hair added; count now {automatic + 1} hairs (corrected)"
        )
        # take a correction back
        page.locator('button[aria-label^="Take back correction"]').first.tap()
        expect(page.locator(".flash")).to_contain_text("taken back")
        expect(page.locator("#h-fix")).to_contain_text(f"{automatic + 2} hairs corrected")
        shot(page, "28-phone-photo-keyboard-and-take-back")

        # History: what changed, from which interface; undo from there
        page.goto(url + "/history")
        fits(page)
        expect(page.locator("main")).to_contain_text("deleted hair correction")
        shot(page, "29-phone-history")
        page.locator("#undo-newest").tap()
        expect(page.locator(".flash")).to_contain_text("Undone: deleted hair correction")
        assert api.get(f"/api/photos/{ids['photo']}/corrections").json()["hair_count"] == automatic + 1
        browser.close()
    assert external == [], f"requests left this computer: {external}"
