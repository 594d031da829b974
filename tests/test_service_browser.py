"""The web page in real headless Chromium (Debian's ``chromium``, driven by Playwright): verify two photos,
enrol and search, analyze, the live mode on Chromium's fake camera. Screenshots go to the test's tmp dir."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import IDENTITIES, needs_faces
from tests.service_helpers import Server, start_server, stop_server

CHROMIUM = os.environ.get("FACEPRINT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    needs_faces,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"chromium not installed ({CHROMIUM}); apt-get install chromium"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install playwright)")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    s = start_server(tmp_path_factory.mktemp("service_page"), anonymous="admin")
    yield s
    stop_server(s)


@pytest.fixture(scope="module")
def page(server: Server):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        ctx = browser.new_context(viewport={"width": 1200, "height": 900})
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        requests: list[str] = []
        pg.on("request", lambda r: requests.append(r.url))
        pg.goto(server.url + "/")
        pg.wait_for_function("document.getElementById('server-status').textContent === 'server ready'")
        yield pg
        assert not errors, errors
        assert all(u.startswith((server.url, "blob:", "data:", "ws://127.0.0.1")) for u in requests), requests
        browser.close()


def test_verify_two_photos(page, pipeline, tmp_path: Path) -> None:
    page.set_input_files("#verify-img1", str(IDENTITIES / "img1.jpg"))
    page.set_input_files("#verify-img2", str(IDENTITIES / "img2.jpg"))
    page.get_by_role("button", name="Compare").click()
    page.wait_for_selector("#verify-decision", timeout=120_000)
    lib = pipeline.verify(IDENTITIES / "img1.jpg", IDENTITIES / "img2.jpg")
    assert page.inner_text("#verify-decision") == ("Same person" if lib.verified else "Different people")
    numbers = page.inner_text("#verify-numbers")
    assert f"distance {lib.distance:.4f}" in numbers and f"threshold {lib.threshold:.4f}" in numbers
    assert page.eval_on_selector("#verify-canvas1", "c => c.width") > 0
    page.screenshot(path=str(tmp_path / "verify.png"), full_page=True)
    # a different person, chosen with the keyboard: Tab to the button, Enter
    page.set_input_files("#verify-img2", str(IDENTITIES / "img3.jpg"))
    page.focus("#verify-img2")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Compare"
    page.keyboard.press("Enter")
    page.wait_for_function("document.getElementById('verify-result').textContent.startsWith('Different people')", timeout=120_000)


def test_api_docs_render_offline(page, server: Server, tmp_path: Path) -> None:
    page.goto(server.url + "/docs")
    try:  # Swagger UI ran, from the server's own files
        page.wait_for_selector(".opblock-summary-path", timeout=60_000)
    finally:
        page.screenshot(path=str(tmp_path / "docs.png"))
    assert "/v1/verify" in page.inner_text(".swagger-ui")
    page.goto(server.url + "/")
    page.wait_for_function("document.getElementById('server-status').textContent === 'server ready'")


def test_enrol_and_search(page, tmp_path: Path) -> None:
    page.fill("#gallery-name", "browser")
    page.get_by_role("button", name="Create gallery").click()
    page.wait_for_function("document.getElementById('gallery-result').textContent.includes('browser')")
    for ident, files in (("p01", ["img1.jpg", "img2.jpg"]), ("p02", ["img3.jpg"])):
        page.fill("#enrol-identity", ident)
        page.set_input_files("#enrol-img", [str(IDENTITIES / f) for f in files])
        page.get_by_role("button", name="Enrol").click()
        page.wait_for_function(f"document.getElementById('gallery-result').textContent.startsWith('Enrolled {len(files)}')",
                               timeout=120_000)  # fmt: skip
    page.set_input_files("#search-img", str(IDENTITIES / "img4.jpg"))
    page.get_by_role("button", name="Search the gallery").click()
    page.wait_for_selector("#search-result table", timeout=120_000)
    first = page.inner_text("#search-result table tbody tr:first-child td:nth-child(2)")
    assert first == "p01"
    assert page.inner_text("#search-result table tbody tr:first-child td:nth-child(5)") == "match"
    page.locator("#search").screenshot(path=str(tmp_path / "search.png"))


def test_errors_are_messages_not_alerts(page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.fill("#gallery-name", "missing")
    page.set_input_files("#search-img", str(IDENTITIES / "img4.jpg"))
    page.get_by_role("button", name="Search the gallery").click()
    page.wait_for_selector("#error:not([hidden])", timeout=60_000)
    assert "No such gallery" in page.inner_text("#error") and page.get_attribute("#error", "role") == "alert"
    assert not dialogs
    page.fill("#gallery-name", "browser")


def test_analyze(page, tmp_path: Path) -> None:
    page.set_input_files("#analyze-img", str(IDENTITIES / "couple.jpg"))
    page.get_by_role("button", name="Analyze").click()
    page.wait_for_selector("#analyze-result table", timeout=180_000)
    rows = page.locator("#analyze-result table tbody tr")
    assert rows.count() == 2
    assert page.inner_text("#analyze-result table tbody tr:first-child td:nth-child(3)") in ("woman", "man")
    page.locator("#analyze").screenshot(path=str(tmp_path / "analyze.png"))


def test_live_camera_fake_device(page, tmp_path: Path) -> None:
    page.fill("#gallery-name", "")  # Chromium's fake camera shows a test pattern, no face: no gallery needed
    page.get_by_role("button", name="Start camera").click()
    page.wait_for_function("/frame [3-9]/.test(document.getElementById('live-result').textContent)", timeout=120_000)
    assert page.get_attribute("#live-toggle", "aria-pressed") == "true"
    page.locator("#live").screenshot(path=str(tmp_path / "live.png"))
    page.get_by_role("button", name="Stop camera").click()
    assert page.get_attribute("#live-toggle", "aria-pressed") == "false"
