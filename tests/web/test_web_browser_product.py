"""Every page as a person sees it, in Debian's Chromium at a phone (375x667) and a laptop (1280x800) size.

On an example journal (``fill_demo``: a plan, sessions, doses, a side effect and measured synthetic photos of
two sites) each page is opened at both sizes and checked by :mod:`page_audit`: no element wider than the
screen, text >= 14 px (chart text >= 11 px), tap targets >= 44 px, none of the forbidden internal details in
the visible text, and no serious or critical axe-core violation. The home page's verdict sentences must
carry the progress model's verdicts, the before/after slider must move, and the pages must work with the
keyboard alone. Screenshots go to ``test-artifacts/web/product-*.png``.

axe-core comes from npm (``.ci/setup-axe.sh`` sets ``REGROW_AXE_JS``); with ``REGROW_REQUIRE_BROWSER=1`` a
missing axe-core fails like a missing browser.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_audit import audit_page, axe_violations
from test_web_browser import CHROMIUM_ARGS, _chromium

from conftest import serve
from regrow.web import Settings, create_app, fill_demo

pytestmark = pytest.mark.browser

#: The last day of the example journal (fixed, so every run sees the same history).
DEMO_TODAY = dt.date(2026, 6, 1)
SIZES = {"phone": (375, 667), "laptop": (1280, 800)}
#: Pages a person uses; ``{photo}`` is a photo id, ``{session}`` a session id.
PAGES = (
    "/",
    "/plan",
    "/log",
    "/devices",
    "/photos",
    "/photos/{photo}",
    "/progress",
    "/evidence",
    "/history",
    "/data",
    "/profile",
    "/records/session/{session}/edit",
    "/compare",
    "/compare?detections=on",
    "/docs",
    "/docs/photos",
    "/docs/verdicts",
    "/docs/privacy",
    "/nothing-here",
)
#: The developer page lists the JSON API's own names, so the plain-language check does not apply there.
DEVELOPER_PAGES = ("/api",)


def _axe() -> str:
    path = os.environ.get("REGROW_AXE_JS")
    if path and Path(path).is_file():
        return path
    problem = f"REGROW_AXE_JS={path!r} is not axe-core's axe.min.js (source .ci/setup-axe.sh)"
    if os.environ.get("REGROW_REQUIRE_BROWSER") == "1":
        pytest.fail(f"REGROW_REQUIRE_BROWSER=1 but {problem}")
    pytest.skip(f"accessibility checks need axe-core: {problem}")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory) -> Iterator[tuple[str, dict, str]]:
    """The example journal (4 months, one image per site and visit) served on 127.0.0.1:
    ``(base URL, {"photo": id, "session": id}, database URL)``."""
    folder = tmp_path_factory.mktemp("product")
    database_url = f"sqlite:///{folder / 'journal.sqlite'}"
    app = create_app(Settings(database_url=database_url, photos_dir=folder / "photos"))
    fill_demo(app, months=4, today=DEMO_TODAY, replicates=1)
    service = app.state.service
    ids = {"photo": service.photos()["photos"][0]["id"], "session": service.log()["sessions"][0]["id"]}
    with serve(app) as url:
        yield url, ids, database_url
    app.state.engine.dispose()


def _wait_images(page) -> None:
    page.evaluate("() => document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')")
    deadline = time.monotonic() + 20
    while not page.evaluate("() => Array.from(document.images).every(i => i.complete)"):
        if time.monotonic() > deadline:
            pytest.fail(f"images did not load on {page.url}")
        time.sleep(0.1)


def test_every_page_at_phone_and_laptop_size(demo_server, artifacts_dir):
    executable, axe_js = _chromium(), _axe()
    from playwright.sync_api import sync_playwright

    url, ids, _ = demo_server
    problems: dict[str, list[str]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        for size, (width, height) in SIZES.items():
            context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
            page = context.new_page()
            for path in (*PAGES, *DEVELOPER_PAGES):
                page.goto(url + path.format(**ids))
                _wait_images(page)
                name = (
                    (path.strip("/").split("?")[0].replace("/", "-") or "home")
                    .replace("{", "")
                    .replace("}", "")
                )
                page.screenshot(path=str(artifacts_dir / f"product-{name}-{size}.png"), full_page=True)
                found = audit_page(page)
                if path in DEVELOPER_PAGES:
                    found = [f for f in found if ":" not in f or not f.startswith(("a ", "an "))]
                # open every folded section too: what is one tap away must pass as well
                page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
                found += [f"(opened) {f}" for f in audit_page(page) if path not in DEVELOPER_PAGES]
                found += axe_violations(page, axe_js)
                if found:
                    problems[f"{path} at {width}px"] = sorted(set(found))
            context.close()
        browser.close()
    assert not problems, "\n".join(f"{where}:\n  " + "\n  ".join(p) for where, p in problems.items())


def test_home_verdicts_are_the_progress_models(demo_server):
    """The sentence per site on the home page carries the verdict :func:`analyse_progress` gives."""
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    from regrow import journal as jr
    from regrow import progress as pg
    from regrow.progress._journal import (
        context_from_journal,
        expected_from_evidence,
        observations_from_journal,
    )
    from regrow.web._wording import VERDICT_LABELS

    url, _, database_url = demo_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 375, "height": 667})
        page.goto(url + "/")
        shown = page.locator(".site-verdict").evaluate_all(
            "els => els.map(e => [e.dataset.site, e.innerText])"
        )
        browser.close()
    # the model, run here on the journal the server uses (not through the web service)
    engine = jr.open_journal(database_url)
    with jr.session_scope(engine) as session:
        me = jr.get_or_create_default_person(session).id
        obs = observations_from_journal(session, person_id=me)
        as_of = max(o.measured_on for o in obs)
        ctx = context_from_journal(session, person_id=me, as_of=as_of)
    engine.dispose()
    report = pg.analyse_progress(
        obs, context=ctx, expected=expected_from_evidence((as_of - ctx.start).days / 7)
    )
    model = {s.site: VERDICT_LABELS[str(s.verdict)] for s in report.sites}
    assert [site for site, _ in shown] == [s.site for s in report.sites]
    for site, sentence in shown:
        assert sentence.startswith(f"{site.capitalize()}: {model[site].lower()}"), (sentence, model[site])


def test_before_after_slider_and_keyboard(demo_server, artifacts_dir):
    """The wipe slider moves the after photo's edge (by mouse and by arrow keys); the compare form, the
    slider and the main navigation are reachable with Tab alone."""
    executable = _chromium()
    from playwright.sync_api import expect, sync_playwright

    url, _, _ = demo_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 375, "height": 667}, has_touch=True)
        page.goto(url + "/compare?site=vertex")
        _wait_images(page)
        after = page.locator("#wipe-after")
        assert page.evaluate("() => document.getElementById('wipe-after').naturalWidth") > 0
        assert after.evaluate("e => getComputedStyle(e).clipPath") == "inset(0px 0px 0px 50%)"
        page.fill("#wipe-range", "20")
        assert after.evaluate("e => getComputedStyle(e).clipPath") == "inset(0px 0px 0px 20%)"
        expect(page.locator("#wipe-range")).to_have_attribute("aria-valuetext", "20% before, 80% after")
        # keyboard only: Tab from the top reaches the skip link, the form, then the slider; arrows move it
        page.goto(url + "/compare?site=vertex")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "wipe-range":
                break
        else:
            pytest.fail("Tab never reached the before/after slider")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        assert after.evaluate("e => getComputedStyle(e).clipPath") == "inset(0px 0px 0px 52%)"
        # the focused element is visibly outlined
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
        page.screenshot(path=str(artifacts_dir / "product-compare-slider-phone.png"), full_page=False)
        # choosing another pair by keyboard: the form submits with Enter
        page.focus("#f-a")
        page.keyboard.press("ArrowDown")
        page.focus("#compare-form button[type=submit]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "a=" in page.url and "b=" in page.url
        browser.close()


def test_first_load_of_every_page_is_fast(demo_server):
    """First load (navigation to load event) of each page within 1 s in Chromium; reports the slowest."""
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    url, ids, _ = demo_server
    timings = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 375, "height": 667})
        for path in PAGES:
            page.goto(url + path.format(**ids), wait_until="load")
            timings[path] = page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime; }"
            )
        browser.close()
    slow = {path: round(ms) for path, ms in timings.items() if ms > 1000}
    assert not slow, f"first load over 1 s: {slow}"


def test_capture_guide_lays_the_last_photo_over_a_new_one(demo_server, tmp_path, artifacts_dir):
    """Picking a new photo in the capture guide shows it under the site's last photo, see-through; nothing
    is uploaded (no request but the ghost image itself)."""
    executable = _chromium()
    from playwright.sync_api import expect, sync_playwright

    from regrow.measure import synthesize

    url, _, _ = demo_server
    new_photo = tmp_path / "new.png"
    from PIL import Image

    Image.fromarray(
        synthesize(shape=(300, 400), um_per_px=8.0, unit_density_per_cm2=70.0, seed=5).image
    ).save(new_photo)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 375, "height": 667})
        page.goto(url + "/photos")
        expect(page.locator("#guide-preview")).to_be_hidden()
        last_vertex = page.locator("#guide-site option[value=vertex]").get_attribute("data-src")
        page.select_option("#guide-site", "vertex")
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.url) if r.method != "GET" else None)
        page.set_input_files("#guide-file", str(new_photo))
        expect(page.locator("#guide-preview")).to_be_visible()
        assert page.locator("#guide-shot").get_attribute("src").startswith("data:image/png")
        assert page.locator("#guide-ghost").get_attribute("src") == last_vertex
        page.fill("#guide-opacity", "70")
        assert page.locator("#guide-ghost").evaluate("e => getComputedStyle(e).opacity") == "0.7"
        page.locator("#guide").screenshot(path=str(artifacts_dir / "product-capture-guide-phone.png"))
        assert posts == []
        browser.close()
