"""The whole path in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Create a profile and a plan, log sessions, upload images, see the measurements and a progress verdict, open
the evidence page, export and delete. A screenshot of every page goes to ``test-artifacts/web/``.
``.ci/setup-chromium.sh`` installs Chromium and sets ``REGROW_CHROMIUM``; without it these tests are skipped,
and with ``REGROW_REQUIRE_BROWSER=1`` a missing browser is a failure.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from conftest import serve
from regrow.web import Settings, create_app

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
UM_PER_PX = 8.0


def _chromium() -> str:
    required = os.environ.get("REGROW_REQUIRE_BROWSER") == "1"
    path = os.environ.get("REGROW_CHROMIUM")
    problem = None
    if not path:
        problem = "REGROW_CHROMIUM is not set (source .ci/setup-chromium.sh)"
    elif not Path(path).is_file():
        problem = f"REGROW_CHROMIUM={path!r} does not exist"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = (
                "the playwright package is not installed (pip install playwright; no `playwright install`)"
            )
    if problem:
        if required:
            pytest.fail(f"REGROW_REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(f"browser tests need Chromium: {problem}")
    return path


@pytest.fixture
def server(tmp_path) -> Iterator[str]:
    """The app on a fresh journal, served by uvicorn on 127.0.0.1 in a thread."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'journal.sqlite'}", photos_dir=tmp_path / "photos"
    )
    app = create_app(settings)
    with serve(app) as url:
        yield url
    app.state.engine.dispose()


def _images(folder: Path, week: int) -> list[Path]:
    """Two synthetic images of one visit; follicular units rise from 60 to 78 per cm2 over 16 weeks."""
    from regrow.measure import synthesize

    units = 60.0 + 18.0 * max(week, 0) / 16
    paths = []
    for rep in range(2):
        synth = synthesize(
            shape=(600, 800), um_per_px=UM_PER_PX, unit_density_per_cm2=units, seed=1000 + 100 * week + rep
        )
        path = folder / f"vertex-w{week}-{rep}.jpg"
        Image.fromarray(synth.image).save(path, quality=95)
        paths.append(path)
    return paths


def _wait_true(page, script: str, timeout_s: float = 15.0) -> None:
    """Poll ``script`` (a JS arrow function) until true; wait_for_function needs eval, which our CSP forbids."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {script}")
        time.sleep(0.1)


def test_whole_path_in_chromium(server, tmp_path, artifacts_dir):
    executable = _chromium()
    from playwright.sync_api import expect, sync_playwright

    today = dt.date.today()
    start = today - dt.timedelta(weeks=16)
    external: list[str] = []

    def shot(page, name: str) -> None:
        page.screenshot(path=str(artifacts_dir / f"{name}.png"), full_page=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1100, "height": 900}, accept_downloads=True)
        page = context.new_page()
        page.on("request", lambda req: external.append(req.url) if not req.url.startswith(server) else None)
        page.set_default_timeout(15_000)

        # Today on an empty journal; keyboard: the first Tab reaches the skip link
        page.goto(server + "/")
        expect(page.locator("h1")).to_contain_text("Today")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        shot(page, "01-today-empty")

        # Profile and screening
        page.goto(server + "/profile")
        page.select_option("#f-sex", "male")
        page.fill("#f-birth_year", "1988")
        page.select_option("#f-diagnosis", "AGA")
        page.select_option("#f-diagnosis_confirmed_by_clinician", "yes")
        page.click("text=Save profile")
        expect(page.locator(".flash")).to_contain_text("Profile saved.")
        for question in page.locator("fieldset.yesno").all():
            question.locator('input[value="no"]').check()
        page.click("text=Save answers")
        expect(page.locator(".flash")).to_contain_text("Screening answers saved.")
        shot(page, "02-profile")

        # A device
        page.goto(server + "/devices")
        page.fill("#f-name", "Roller 0.5 mm")
        page.select_option("#f-kind", "roller")
        page.fill("#f-needle_length_mm", "0.5")
        page.fill("#f-first_use", start.isoformat())
        page.click("text=Add device")
        expect(page.locator(".flash")).to_contain_text("added")

        # A plan; the rule findings appear live while editing
        page.goto(server + "/plan")
        page.fill("#f-start_date", start.isoformat())
        page.select_option("#f-device_id", "1")
        page.check('input[name="minoxidil"]')
        page.fill("#f-needle_length_mm", "2.0")
        expect(page.locator("#plan-live")).to_contain_text("for clinics only")
        expect(page.locator("#plan-live")).not_to_contain_text("needle.clinic_only")  # no rule ids shown
        shot(page, "03-plan-live-findings")
        page.fill("#f-needle_length_mm", "")
        expect(page.locator("#plan-live")).not_to_contain_text("for clinics only")
        page.click("text=Create plan")
        expect(page.locator(".flash")).to_contain_text("Plan saved")
        shot(page, "04-plan")

        # Sessions on the plan's first days, a dose and a side effect
        page.goto(server + "/log")
        for days in (0, 7, 14, 21, 35, 49, 63, 77, 91, 105):
            when = dt.datetime.combine(start + dt.timedelta(days=days), dt.time(20, 30))
            page.fill("#session #f-performed_at", when.strftime("%Y-%m-%dT%H:%M"))
            page.select_option("#session #f-endpoint", "erythema")
            page.fill("#session #f-applied_during", "sterile saline")
            page.click("text=Log session")
            expect(page.locator(".flash")).to_contain_text("Session logged")
        page.select_option("#dose #f-kind", "minoxidil")
        page.fill("#dose #f-strength", "5%")
        page.click("text=Log dose")
        expect(page.locator(".flash")).to_contain_text("minoxidil")
        page.fill("#event #f-kind", "erythema")
        page.select_option("#event #f-severity", "mild")
        page.click("text=Log side effect")
        expect(page.locator(".flash")).to_contain_text("erythema")
        shot(page, "05-log")

        # Photos: four visits, two images each, uploaded with the per-file progress list
        for week in (-1, 5, 10, 16):
            page.goto(server + "/photos")
            page.set_input_files("#f-files", [str(x) for x in _images(tmp_path, week)])
            page.fill("#upload-form #f-site", "vertex")
            page.fill("#upload-form #f-taken_at", (start + dt.timedelta(weeks=week)).isoformat())
            page.fill("#f-um_per_px", str(UM_PER_PX))
            page.click("text=Upload and measure")
            expect(page.locator("#upload-done")).to_contain_text("measured and stored", timeout=60_000)
            if week == -1:
                shot(page, "06-photos-upload-progress")
            page.wait_for_url(server + "/photos")
        expect(page.locator(".strip img")).to_have_count(8)
        page.locator(".strip").last.scroll_into_view_if_needed()  # the photos load lazily, when in view
        _wait_true(page, "() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        alts = page.locator(".strip img").evaluate_all("els => els.map(e => e.alt)")
        assert all("hairs counted" in a for a in alts)
        shot(page, "07-photos-side-by-side")
        page.locator(".strip a").first.click()
        expect(page.locator("table")).to_contain_text("Hairs counted")
        _wait_true(page, "() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        shot(page, "08-photo-overlay")

        # Progress: a verdict in words, a chart and the table behind it
        page.goto(server + "/progress")
        verdict = page.locator("#h-verdict").inner_text()
        assert verdict.startswith("Overall: ") and verdict != "Overall: Too early to tell"
        # one chart, drawn twice (phone and wide screen): one of the two is shown
        expect(page.locator("svg[role=img]")).to_have_count(2)
        expect(page.locator("svg[role=img]:visible")).to_have_count(1)
        rows = page.locator(".site table tbody tr")
        expect(rows).to_have_count(4)
        shot(page, "09-progress")

        # Evidence: verdicts, certainty and forest plots
        page.goto(server + "/evidence")
        expect(page.locator("#h-q")).to_have_text("Does micro-needling for hair growth really work?")
        page.click("#c-mn_mx_vs_mx_density summary")  # the plot is one tap away
        forest = page.locator("#c-mn_mx_vs_mx_density img")
        forest.scroll_into_view_if_needed()
        _wait_true(page, "() => document.querySelector('#c-mn_mx_vs_mx_density img').naturalWidth > 0")
        assert "Forest plot" in forest.get_attribute("alt")
        shot(page, "10-evidence")

        # Data: export, then delete everything (with the confirmation dialog)
        page.goto(server + "/data")
        with page.expect_download() as download_info:
            page.click("#export-link")
        archive_path = tmp_path / download_info.value.suggested_filename
        download_info.value.save_as(archive_path)
        assert archive_path.suffix == ".zip"
        with zipfile.ZipFile(archive_path) as archive:
            exported = json.loads(archive.read("journal.json"))
            photo_members = [
                n
                for n in archive.namelist()
                if n.startswith("photos/") and not n.endswith((".overlay.png", ".json"))
            ]
        assert len(exported["tables"]["treatment_session"]) == 10 and len(exported["tables"]["photo"]) == 8
        assert len(photo_members) == 8
        page.once("dialog", lambda dialog: dialog.accept())
        page.fill("#f-confirm", "delete everything")
        page.click("text=Delete all my data")
        expect(page.locator(".flash")).to_contain_text("Deleted")
        shot(page, "11-data-deleted")
        page.goto(server + "/photos")
        expect(page.locator(".strip img")).to_have_count(0)

        # Import the archive back: every photo is there again and loads
        page.goto(server + "/data")
        page.set_input_files("#f-file", str(archive_path))
        page.click("form[action='/data/import'] button[type=submit]")
        expect(page.locator(".flash")).to_contain_text("Restored")
        page.goto(server + "/photos")
        expect(page.locator(".strip img")).to_have_count(8)
        page.locator(".strip").last.scroll_into_view_if_needed()
        _wait_true(page, "() => [...document.querySelectorAll('.strip img')].every(i => i.naturalWidth > 0)")

        # Phone-sized screen
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        mobile = phone.new_page()
        mobile.goto(server + "/plan")
        width = mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the plan page scrolls sideways on a phone ({width}px)"
        mobile.screenshot(path=str(artifacts_dir / "12-phone-plan.png"), full_page=False)
        phone.close()
        browser.close()
    assert external == [], f"requests left this computer: {external}"


def test_browser_skip_logic_names_the_reason(monkeypatch):
    monkeypatch.delenv("REGROW_CHROMIUM", raising=False)
    monkeypatch.setenv("REGROW_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="REGROW_CHROMIUM is not set"):
        _chromium()
    monkeypatch.delenv("REGROW_REQUIRE_BROWSER")
    with pytest.raises(pytest.skip.Exception, match="REGROW_CHROMIUM is not set"):
        _chromium()
