"""The app in a real browser: Debian's /usr/bin/chromium driven by Playwright.

A module fixture starts ``streamlit run app.py`` on a free port of 127.0.0.1
and stops it at the end. Outside CI the tests are skipped when chromium is not
installed; in CI (``CI=true``) a missing chromium is a failure.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_TIMEOUT = 120  # seconds for the server to answer /_stcore/health
RENDER_TIMEOUT = 120_000  # ms for the first explanation (model loading, graph tracing)
# the README's picture is refreshed only on request (UPDATE_SCREENSHOT=1); otherwise it goes to artifacts/
SCREENSHOT = (ROOT / "docs" / "screenshot.png" if os.environ.get("UPDATE_SCREENSHOT") == "1"
              else ROOT / "artifacts" / "screenshot.png")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def chromium_path():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing in CI; install it with: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium); browser tests skipped")
    return CHROMIUM


@pytest.fixture(scope="module")
def server(chromium_path, utr5_scrambler_file):
    """Base URL of a Streamlit server running app.py; stopped after the module."""
    port = _free_port()
    log = tempfile.TemporaryFile()
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(f"{base}/_stcore/health"):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                output = log.read().decode(errors="replace")[-4000:]
                state = f"exited with {proc.returncode}" if proc.poll() is not None else \
                    f"not healthy after {START_TIMEOUT} s"
                pytest.fail(f"streamlit server {state}; its output:\n{output}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(RENDER_TIMEOUT)
    yield pg
    context.close()


def wait_until_idle(page):
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=RENDER_TIMEOUT)


def open_app(page, server):
    page.goto(f"{server}/?predictor=utr5&mode=inclusion&bits=0.5")
    page.locator("h1", has_text="Scrambler Explorer").wait_for()
    return page


def test_page_shows_prediction_and_screenshot(page, server):
    open_app(page, server)
    values = page.locator('[data-testid="stMetricValue"]')
    values.first.wait_for()
    page.locator('[data-testid="stImage"] img, [data-testid="stImage"]').first.wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    wait_until_idle(page)
    assert values.count() == 3
    assert re.fullmatch(r"-?\d+\.\d{3}", values.first.inner_text().strip()), values.first.inner_text()
    body = page.inner_text("body")
    assert "Traceback" not in body
    assert page.locator('[data-testid="stException"]').count() == 0
    # Streamlit scrolls inside its main container, so grow the viewport to show the whole page
    height = page.evaluate("() => Math.max(...Array.from(document.querySelectorAll("
                           "'[data-testid=\"stMain\"], [data-testid=\"stAppViewContainer\"], body'), "
                           "e => e.scrollHeight))")
    page.set_viewport_size({"width": 1400, "height": min(max(int(height), 1000), 3000)})
    page.wait_for_timeout(1000)  # let the charts re-layout at the new size
    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000


def test_bad_sequence_shows_error(page, server):
    open_app(page, server)
    page.locator('[data-testid="stMetricValue"]').first.wait_for()
    box = page.locator("textarea").first
    box.fill("ACGTACGTACGTACGTXACGTACGTACGTACGTACGTACGTACGTACGTAC")
    box.press("Control+Enter")
    error = page.locator('[data-testid="stAlertContentError"]')
    error.first.wait_for()
    assert "position 17" in error.first.inner_text()
    assert "Traceback" not in page.inner_text("body")
