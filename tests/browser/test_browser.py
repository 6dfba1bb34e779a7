"""The app in a real browser: Debian's /usr/bin/chromium driven by Playwright.

A module fixture starts ``streamlit run app.py`` on a free port of 127.0.0.1
(with this process's environment: ``conftest.py`` points ``SCRAMBLER_CACHE_DIR``
at a fresh temporary directory) and stops it at the end. Outside CI the tests
are skipped when chromium is not installed; in CI (``CI=true``) a missing
chromium is a failure.

Every page gets a full-page screenshot in ``tests/artifacts/`` (git-ignored);
with ``UPDATE_SCREENSHOT=1`` the Explore one is also written to
``docs/screenshot.png``, the README's picture::

    UPDATE_SCREENSHOT=1 .venv/bin/python -m pytest -q tests/browser/test_browser.py

Timeouts are bounded everywhere; no test asserts a wall-clock time
(``bench/browser_latency.py`` measures them).
"""
import contextlib
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

from conftest import EXTERNAL

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
START_TIMEOUT = 120  # seconds for the server to answer /_stcore/health
RENDER_TIMEOUT = 150_000  # ms for a first page (model loading, graph tracing, first explanation)
STEP_TIMEOUT = 60_000  # ms for a rerun after an input
SETTLE_MS = 600  # the script must stay finished this long before a page counts as done
ARTIFACTS = ROOT / "tests" / "artifacts"
README_SCREENSHOT = ROOT / "docs" / "screenshot.png"

# every page with a link that opens it for the built-in utr5 predictor
PAGES = {
    "explore": "/?predictor=utr5&mode=inclusion&bits=0.5&example=1",
    "variant": "/variant?predictor=utr5",
    "compare": "/compare?predictor=utr5",
    "benchmarks": "/benchmarks?predictor=utr5",
    "your_model": "/your_model",
}
LOGOS = ".st-key-explore_logos .js-plotly-plot"
# the live chart's metrics line (target, realised bits, samples' mean) as plotly.js draws it now
METRICS_JS = """(sel) => {
  const el = document.querySelector(sel);
  const t = el && (el._fullData || el.data || []).find(t => t.name === 'metrics');
  return t && t.text ? String(t.text[0]) : null;
}"""
SLIDER_TICKS_JS = """(sel) => Array.from(document.querySelectorAll(sel + ' .slider-container rect.slider-tick-rect'))
  .map(r => { const b = r.getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; })"""
SLIDER_VALUE_JS = """(sel) => { const t = Array.from(document.querySelectorAll(sel + ' .slider-container text'))
  .find(t => t.textContent.startsWith('Target bits:')); return t ? t.textContent : null; }"""
ERRORS = '[data-testid="stAlertContentError"]'
# the x ranges plotly.js holds for the logos (x2) and the track under them (x4), and the script's state
RANGES_JS = """(sel) => { const gd = document.querySelector(sel);
  const app = document.querySelector('[data-testid="stApp"]');
  return {x2: gd._fullLayout.xaxis2.range, x4: gd._fullLayout.xaxis4 && gd._fullLayout.xaxis4.range,
          state: app.getAttribute('data-test-script-state')}; }"""

# done once Streamlit's script run has finished and stayed finished for quietMs
SETTLED_JS = """(quietMs) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const idle = !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector('[data-testid="stStatusWidget"]');
  const now = performance.now();
  if (!idle) { window.__settledSince = null; return false; }
  if (window.__settledSince == null) window.__settledSince = now;
  return now - window.__settledSince >= quietMs;
}"""
# a checksum of a plotly chart's glyph traces (the filled letter outlines) as plotly.js holds them
SIGNATURE_JS = """(sel) => {
  const el = document.querySelector(sel);
  const data = el && (el._fullData || el.data);
  if (!data) return null;
  let n = 0, s = 0;
  for (const t of data) {
    if (t.fill !== 'toself' || !t.y) continue;
    n++;
    for (let i = 0; i < t.y.length; i++) { const v = t.y[i]; if (Number.isFinite(v)) s += v * ((i % 97) + 1); }
  }
  return n ? n + ':' + s.toFixed(6) : null;
}"""
# a plotly chart's traces: type, name, axis, number of points, finite y values
TRACES_JS = """(sel) => {
  const el = document.querySelector(sel);
  const data = el && (el._fullData || el.data);
  if (!data) return null;
  return data.map(t => ({type: t.type, name: t.name, fill: t.fill || null, xaxis: t.xaxis || 'x',
    nx: t.x ? t.x.length : 0,
    ny: t.y ? Array.from(t.y).filter(v => v !== null && v !== undefined && isFinite(v)).length : 0}));
}"""


class StreamlitServer:
    """A running ``streamlit run app.py``: its base ``url`` and its console output."""

    def __init__(self, url, log):
        self.url = url
        self._log = log

    def output(self, tail=4000) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-tail:]


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


STREAMLIT_RUN = ["-m", "streamlit", "run", str(ROOT / "app.py")]
MAKE_RUN = ["-m", "pages._ui.warmup"]          # what `make run` starts: the server plus the warm-up thread


@contextlib.contextmanager
def streamlit_server(launcher=STREAMLIT_RUN):
    """A Streamlit server on a free port (``.url``, ``.output()``), healthy; stopped on exit."""
    port = _free_port()
    log = tempfile.TemporaryFile()
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    if EXTERNAL.is_dir():           # the published models (../shared/external) are listed too
        env["SCRAMBLER_MODELS_DIR"] = str(EXTERNAL)
    # no file watcher: an edit elsewhere in the checkout must not rerun the pages under test
    proc = subprocess.Popen(
        [sys.executable, *launcher, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    running = StreamlitServer(base, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(f"{base}/_stcore/health"):
            if proc.poll() is not None or time.monotonic() > deadline:
                state = f"exited with {proc.returncode}" if proc.poll() is not None else \
                    f"not healthy after {START_TIMEOUT} s"
                pytest.fail(f"streamlit server {state}; its output:\n{running.output()}")
            time.sleep(0.2)
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


@pytest.fixture(scope="module")
def server(chromium_path, utr5_scrambler_file):
    """A Streamlit server running app.py (``.url``, ``.output()``); stopped after the module."""
    with streamlit_server() as running:
        yield running


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, timeout=60_000)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(RENDER_TIMEOUT)
    pg.set_default_navigation_timeout(60_000)
    yield pg
    context.close()


# ----------------------------------------------------------------------------- helpers

def wait_settled(page, timeout=RENDER_TIMEOUT):
    """Wait until Streamlit's script run has finished (and no new one started for SETTLE_MS)."""
    page.evaluate("() => { window.__settledSince = null; }")
    page.wait_for_function(SETTLED_JS, arg=SETTLE_MS, polling=100, timeout=timeout)


def open_page(page, server, path):
    """Open ``path`` and wait until the page has been drawn and its script run is over."""
    page.goto(server.url + path)
    page.locator('[data-testid="stMain"] h1').first.wait_for()
    wait_settled(page)
    return page


def open_explore(page, server, path=PAGES["explore"]):
    open_page(page, server, path)
    page.wait_for_function(SIGNATURE_JS, arg=LOGOS, timeout=RENDER_TIMEOUT)
    return page


def assert_clean(page, server):
    """No exception box, no traceback, no 'Something went wrong' (the pages' guard for bugs)."""
    body = page.inner_text("body")
    exceptions = page.locator('[data-testid="stException"]')
    detail = f"\npage text:\n{body[:3000]}\nserver output:\n{server.output(3000)}"
    assert exceptions.count() == 0, f"exception on the page: {exceptions.first.inner_text()}{detail}"
    assert "Traceback" not in body, detail
    assert "Something went wrong" not in body, detail
    assert "This app has encountered an error" not in body, detail     # Streamlit's redacted exception box


def metric_values(page) -> dict:
    """``{label: value}`` of the page's st.metric elements."""
    out = {}
    for m in page.locator('[data-testid="stMetric"]').all():
        label = m.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        out[label] = m.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return out


def save_screenshot(page, name) -> Path:
    """Full-page screenshot in tests/artifacts/NAME.png (Streamlit scrolls inside its main
    container, so the viewport grows to the content's height first)."""
    size = 1000
    for _ in range(3):  # charts re-layout at a new size, which may change the height again
        height = page.evaluate("() => Math.max(...Array.from(document.querySelectorAll("
                               "'[data-testid=\"stMain\"], [data-testid=\"stAppViewContainer\"], body'), "
                               "e => e.scrollHeight))")
        wanted = min(max(int(height), 1000), 4000)
        if wanted == size:
            break
        size = wanted
        page.set_viewport_size({"width": 1400, "height": size})
        page.wait_for_timeout(800)
    wait_settled(page, STEP_TIMEOUT)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def press_slider(page, label, key, times):
    """Press ``key`` ``times`` times on the slider thumb named ``label``, one step at a time.

    Each press is followed by waiting until the thumb shows a new value and the rerun it started is over; a press
    lost while the page was rerunning (the thumb re-drawn under the keyboard focus) is pressed again, up to twice.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    thumb = page.get_by_role("slider", name=label)
    for _ in range(times):
        before = thumb.get_attribute("aria-valuenow") or thumb.input_value()
        for _attempt in range(3):
            thumb.focus()
            page.keyboard.press(key)
            try:
                page.wait_for_function("([el, before]) => String(el.getAttribute('aria-valuenow') ?? el.value) "
                                       "!== before", arg=[thumb.element_handle(), before], polling=50, timeout=5_000)
                break
            except PlaywrightTimeoutError:
                continue
        wait_settled(page, STEP_TIMEOUT)
    return thumb


def click_until_run(page, button, done_selector):
    """Click ``button`` and wait until the script run it starts is over and ``done_selector`` is drawn; a click
    that started no run (lost while the page was rerunning) is repeated, up to twice."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    for _attempt in range(3):
        button.click()
        try:
            page.wait_for_function(
                """(sel) => document.querySelector(sel) !== null || document.querySelector('[data-testid="stApp"]')
                              .getAttribute('data-test-script-state') === 'running'""",
                arg=done_selector, polling=50, timeout=5_000)
            break
        except PlaywrightTimeoutError:
            continue
    wait_settled(page, RENDER_TIMEOUT)
    page.locator(done_selector).first.wait_for(timeout=STEP_TIMEOUT)


# ----------------------------------------------------------------------------- every page

@pytest.mark.parametrize("name", list(PAGES))
def test_page_loads_without_error(page, server, name):
    if name == "explore":
        open_explore(page, server)
    else:
        open_page(page, server, PAGES[name])
    assert_clean(page, server)
    assert "This page is being built" not in page.inner_text("body"), f"{name} is still a placeholder"
    path = save_screenshot(page, f"page_{name}")
    if name == "explore" and os.environ.get("UPDATE_SCREENSHOT") == "1":
        README_SCREENSHOT.write_bytes(path.read_bytes())


# ----------------------------------------------------------------------------- Explore

def test_explore_shows_logo_and_distribution(page, server):
    open_explore(page, server)
    assert_clean(page, server)
    values = metric_values(page)
    assert re.fullmatch(r"-?\d+\.\d{3}", values.get("Prediction (original)", "")), values
    # the logo: filled letter glyphs in both rows (scrambled PWM on x, importance on x2), drawn as SVG
    traces = page.evaluate(TRACES_JS, LOGOS)
    glyphs = [t for t in traces if t["fill"] == "toself" and t["ny"] > 0]
    assert glyphs, traces
    assert {t["name"] for t in glyphs} <= set("ACGT") | {f"{a} (fixed)" for a in "ACGT"}, traces
    assert {t["xaxis"] for t in glyphs} == {"x", "x2"}, traces
    assert page.locator(f"{LOGOS} .scatterlayer .trace path").count() >= len(glyphs)
    # the distribution: the samples' predictions binned under the logos (x3), with the metrics line
    bars = [t for t in traces if t["type"] == "bar" and t["name"] == "samples"]
    assert len(bars) == 1 and bars[0]["xaxis"] == "x3", traces
    assert page.locator(f"{LOGOS} .barlayer path").count() > 0
    line = page.evaluate(METRICS_JS, LOGOS)
    assert re.match(r"target 0\.5 bits · realised \d\.\d{3} bits · samples' mean", line), line


def test_bits_slider_changes_the_logo(page, server):
    open_explore(page, server)
    before = page.evaluate(SIGNATURE_JS, LOGOS)
    line = page.evaluate(METRICS_JS, LOGOS)
    thumb = press_slider(page, "Target bits", "ArrowRight", 4)  # 0.5 -> 0.7
    page.wait_for_function(
        """([sel, before]) => {
             const app = document.querySelector('[data-testid="stApp"]');
             if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
             if (new URLSearchParams(window.location.search).get('bits') !== '0.7') return false;
             const sig = (""" + SIGNATURE_JS + """)(sel);
             return sig !== null && sig !== before;
           }""", arg=[LOGOS, before], polling=100, timeout=STEP_TIMEOUT)
    wait_settled(page, STEP_TIMEOUT)
    assert_clean(page, server)
    assert float(thumb.get_attribute("aria-valuenow") or thumb.input_value()) == pytest.approx(0.7)
    assert page.evaluate(SIGNATURE_JS, LOGOS) != before
    assert page.evaluate(METRICS_JS, LOGOS) != line
    assert page.evaluate(METRICS_JS, LOGOS).startswith("target 0.7 bits")


def test_live_slider_switches_frames_in_the_browser(page, server):
    """The slider under the chart moves logos and metrics with no script run on the server."""
    open_explore(page, server)
    before, line = page.evaluate(SIGNATURE_JS, LOGOS), page.evaluate(METRICS_JS, LOGOS)
    assert page.evaluate(SLIDER_VALUE_JS, LOGOS).strip() == "Target bits: 0.5"
    page.evaluate("""() => { const app = document.querySelector('[data-testid="stApp"]'); window.__runs = [];
        new MutationObserver(() => window.__runs.push(app.getAttribute('data-test-script-state')))
          .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }""")
    page.locator(f"{LOGOS} .slider-container").scroll_into_view_if_needed()
    ticks = page.evaluate(SLIDER_TICKS_JS, LOGOS)
    assert len(ticks) >= 20, ticks
    rail_y = page.evaluate(f"() => {{ const b = document.querySelector({LOGOS!r} + "
                           "' .slider-container rect.slider-rail-touch-rect').getBoundingClientRect(); "
                           "return b.y + b.height / 2; }")
    page.mouse.click(ticks[-1][0], rail_y)                         # the last budget, 2 bits
    page.wait_for_function(f"() => ({SLIDER_VALUE_JS})({LOGOS!r}) === 'Target bits: 2'", polling=50,
                           timeout=STEP_TIMEOUT)
    page.wait_for_timeout(800)
    assert page.evaluate(SIGNATURE_JS, LOGOS) != before
    moved = page.evaluate(METRICS_JS, LOGOS)
    assert moved != line and moved.startswith("target 2 bits"), moved
    assert page.evaluate("() => window.__runs") == [], "a live slider step must not rerun the script"
    assert "bits=0.5" in page.url
    assert_clean(page, server)


def test_bad_sequence_shows_error(page, server):
    open_explore(page, server)
    box = page.locator('[data-testid="stTextArea"] textarea').first
    box.fill("ACGTACGTACGTACGTXACGTACGTACGTACGTACGTACGTACGTACGTAC")
    box.press("Control+Enter")
    error = page.locator(ERRORS)
    error.first.wait_for(timeout=STEP_TIMEOUT)
    wait_settled(page, STEP_TIMEOUT)
    assert "position 17" in error.first.inner_text()
    assert "Traceback" not in page.inner_text("body")


# ----------------------------------------------------------------------------- Variant

def test_variant_shows_delta_of_a_g_to_a_variant(page, server):
    from urllib.parse import quote

    import scrambler_core as sc
    from scrambler_core.examples import examples

    reference = examples("utr5")[0].sequence
    index = reference.index("G")
    alternative = reference[:index] + "A" + reference[index + 1:]
    variant = f"{index + 1}G>A"
    predictor = sc.load_predictor("utr5")
    expected = float(predictor.predict([alternative])[0]) - float(predictor.predict([reference])[0])

    open_page(page, server, f"/variant?predictor=utr5&mode=inclusion&bits=0.5&example=1&variants={quote(variant)}")
    delta = page.locator('[data-testid="stMetric"]', has=page.locator('[data-testid="stMetricLabel"]',
                                                                         has_text="Δ"))
    delta.first.wait_for()
    wait_settled(page)
    assert_clean(page, server)
    assert not page.locator(ERRORS).count(), page.locator(ERRORS).first.inner_text()
    label = delta.first.locator('[data-testid="stMetricLabel"]').inner_text()
    shown = delta.first.locator('[data-testid="stMetricValue"]').inner_text().strip()
    assert re.fullmatch(r"[+\-−]?\d+\.\d+", shown), (label, shown)
    # equal to 3 decimals (the page rounds to 4)
    assert float(shown.replace("−", "-")) == pytest.approx(expected, abs=6e-4), (label, shown, expected)
    assert variant in page.inner_text("body")
    save_screenshot(page, "variant_g_to_a")


# ----------------------------------------------------------------------------- published models

def test_published_aparent2_on_explore_and_variant(page, server, external_dir):
    import scrambler_core as sc
    from scrambler_core.examples import examples

    open_explore(page, server, "/?predictor=aparent2&mode=inclusion&bits=0.5&example=1")
    assert_clean(page, server)
    assert not page.locator(ERRORS).count(), page.locator(ERRORS).first.inner_text()
    body = page.inner_text("body")
    assert "Cleavage profile" in body, body[-1500:]
    assert "APARENT2 (aparent_all_libs" in body, body[:3000]      # the caption of the chosen predictor
    # the cleavage profile is a row of the live chart on the logos' x axis: zooming the logos in the browser
    # (what the toolbar's zoom does) zooms the profile too, with no rerun
    before = page.evaluate(RANGES_JS, LOGOS)
    assert before["x4"] == pytest.approx(before["x2"]), before
    drag_on_logos(page, "Zoom", "zoom", 60.5, 90.5)
    page.wait_for_function(f"() => document.querySelector('{LOGOS}')._fullLayout.xaxis2.range[1] < 100",
                           timeout=STEP_TIMEOUT)
    zoomed = page.evaluate(RANGES_JS, LOGOS)
    assert zoomed["x2"] == pytest.approx([60.5, 90.5], abs=1.0), zoomed
    assert zoomed["x4"] == pytest.approx(zoomed["x2"]) and zoomed["state"] == "notRunning", zoomed
    save_screenshot(page, "explore_aparent2")
    # per-example optimisation of this explanation, on demand
    expander = page.locator('[data-testid="stExpander"]', has_text="Optimise this explanation").first
    button = expander.get_by_role("button", name=re.compile("Optimise at 0.5 bits"))
    wait_settled(page)                  # a click during a rerun can be lost with the widget it hit
    if not button.is_visible():
        expander.locator("summary").first.click()
    button.wait_for(state="visible", timeout=STEP_TIMEOUT)
    click_until_run(page, button, ".st-key-explore_optimised .js-plotly-plot")
    assert_clean(page, server)
    assert "Realised bits (optimised)" in page.inner_text("body")
    save_screenshot(page, "explore_aparent2_optimised")

    predictor = sc.load_predictor("aparent2", path=sc.predictors.find_model_file("aparent2", external_dir))
    reference = examples("aparent2")[0].sequence
    alternative = reference[:72] + ("G" if reference[72] != "G" else "C") + reference[73:]
    variant = f"73{reference[72]}>{alternative[72]}"
    expected = float(predictor.variant_logodds([reference], [alternative], "narrow")[0])
    open_page(page, server, f"/variant?predictor=aparent2&example=1&variants={variant.replace('>', '%3E')}")
    narrow = page.locator('[data-testid="stMetric"]', has=page.locator('[data-testid="stMetricLabel"]',
                                                                          has_text="narrow"))
    narrow.first.wait_for()
    wait_settled(page)
    assert_clean(page, server)
    shown = narrow.first.locator('[data-testid="stMetricValue"]').inner_text().strip()
    assert float(shown.replace("−", "-")) == pytest.approx(expected, abs=6e-4), (shown, expected)
    # the reference's and the alternative's cleavage profiles sit under the logos on their x axis
    ranges = page.evaluate(VARIANT_RANGES_JS, VARIANT_LOGOS)
    assert ranges["names"] == ["reference", "alternative"] and ranges["x4"] == pytest.approx(ranges["x3"]), ranges
    save_screenshot(page, "variant_aparent2")


# ----------------------------------------------------------------------------- Your model

def test_your_model_refuses_a_file_that_is_not_a_model(page, server):
    open_page(page, server, PAGES["your_model"])
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]').first
    uploader.set_input_files({"name": "model.keras", "mimeType": "application/octet-stream", "buffer": b"hello"})
    error = page.locator(ERRORS, has_text="model.keras")
    error.first.wait_for(timeout=STEP_TIMEOUT)
    wait_settled(page, STEP_TIMEOUT)
    assert_clean(page, server)
    message = error.first.inner_text()
    assert "not a Keras model file" in message, message
    save_screenshot(page, "your_model_refused")


# ----------------------------------------------------------------------------- Explore: excluded positions

POLYA_EXPLORE = "/?predictor=polya&mode=inclusion&bits=0.5&example=1"
EXCLUDE_INPUT = 'input[aria-label="Excluded positions"]'
ALTERNATIVE = "Alternative explanation: positions"
# page coordinates of data x positions on the top row of a plotly chart, and its vertical middle
X_TO_PAGE_JS = """([sel, xs]) => {
  const gd = document.querySelector(sel);
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const box = gd.getBoundingClientRect();
  return {xs: xs.map(v => box.left + xa._offset + xa.l2p(v)), y: box.top + ya._offset + ya._length / 2,
          dragmode: gd._fullLayout.dragmode};
}"""


VARIANT_LOGOS = ".st-key-variant_logos .js-plotly-plot"
VARIANT_RANGES_JS = """(sel) => { const gd = document.querySelector(sel);
  return {x3: gd._fullLayout.xaxis3.range, x4: gd._fullLayout.xaxis4 && gd._fullLayout.xaxis4.range,
          names: gd._fullData.filter(t => t.xaxis === 'x4').map(t => t.name)}; }"""


def drag_on_logos(page, tool, dragmode, low, high, rise=0):
    """Drag across the live chart's logos from position ``low`` to ``high`` with one of plotly's toolbar
    tools (``tool`` its title, e.g. "Zoom" or "Box Select"; ``dragmode`` what it sets); ``rise`` pixels up."""
    chart = page.locator(LOGOS).first
    chart.scroll_into_view_if_needed()
    chart.hover()
    page.locator(f'{LOGOS} .modebar-btn[data-title="{tool}"]').first.click()
    page.wait_for_function(f"() => document.querySelector('{LOGOS}')._fullLayout.dragmode === '{dragmode}'",
                           timeout=STEP_TIMEOUT)
    where = page.evaluate(X_TO_PAGE_JS, [LOGOS, [low, high]])
    (x0, x1), y = where["xs"], where["y"]
    page.mouse.move(x0, y)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(x0 + (x1 - x0) * k / 10, y + rise * k / 10)
    page.mouse.up()


def open_exclude_expander(page):
    expander = page.locator('[data-testid="stExpander"]', has_text="Exclude positions").first
    box = expander.locator(EXCLUDE_INPUT)
    if not box.is_visible():
        expander.locator("summary").click()
    box.wait_for(state="visible", timeout=STEP_TIMEOUT)
    return box


def wait_alternative_caption(page):
    caption = page.locator('[data-testid="stCaptionContainer"]', has_text=ALTERNATIVE)
    caption.first.wait_for(timeout=STEP_TIMEOUT)
    wait_settled(page, STEP_TIMEOUT)
    return caption.first.inner_text()


def test_explore_exclude_ranges_switches_to_dropout_scrambler(page, server):
    open_explore(page, server, POLYA_EXPLORE)
    assert_clean(page, server)
    assert ALTERNATIVE not in page.inner_text("body")
    box = open_exclude_expander(page)
    box.fill("85-90")
    box.press("Enter")
    text = wait_alternative_caption(page)
    assert_clean(page, server)
    assert not page.locator(ERRORS).count(), page.locator(ERRORS).first.inner_text()
    assert "positions 85-90 (6) are excluded" in text, text
    assert re.search(r"\d+\.\d{3} with them excluded, \d+\.\d{3} without exclusions", text), text
    assert "alternative (positions excluded)" in page.inner_text(LOGOS)        # the logo titles
    assert page.evaluate(f"() => document.querySelectorAll('{LOGOS} .layer-below .shapelayer path, "
                         f"{LOGOS} .shapelayer path').length") > 0              # the grey band
    assert "(mask dropout)" in page.inner_text("body")
    page.wait_for_function("() => new URLSearchParams(location.search).get('exclude') === '85-90'",
                           timeout=STEP_TIMEOUT)
    assert "exclude=" in page.url, page.url
    save_screenshot(page, "explore_exclude")


def test_explore_logo_box_select_adds_excluded_positions(page, server):
    open_explore(page, server, POLYA_EXPLORE)
    assert_clean(page, server)
    box = open_exclude_expander(page)
    assert box.input_value() == ""
    drag_on_logos(page, "Box Select", "select", 84.6, 90.4, rise=10)
    # the selection's callback fills the box, or fails (Streamlit's redacted "encountered an error" box)
    page.wait_for_function("""(sel) => { const e = document.querySelector(sel);
                                       return (e && e.value.trim() !== '')
                                         || document.body.innerText.includes('encountered an error'); }""",
                           arg=EXCLUDE_INPUT, timeout=STEP_TIMEOUT)
    assert "encountered an error" not in page.inner_text("body"), server.output(3000)
    text = wait_alternative_caption(page)
    assert_clean(page, server)
    value = box.input_value()
    assert value == "85-90", value
    assert "positions 85-90 (6) are excluded" in text, text
    page.wait_for_function("() => new URLSearchParams(location.search).get('exclude') === '85-90'",
                           timeout=STEP_TIMEOUT)
    save_screenshot(page, "explore_exclude_box_select")


# the first progress bar after Run: when it appeared (ms after the click) and what it said
PROGRESS_WATCH_JS = """() => {
  window.__progress = null;
  window.__clicked = performance.now();
  new MutationObserver((_, observer) => {
    const bar = document.querySelector('[data-testid="stProgress"]');
    if (bar && !window.__progress) {
      const app = document.querySelector('[data-testid="stApp"]');
      window.__progress = {ms: performance.now() - window.__clicked, text: bar.innerText,
                           running: !!app && app.getAttribute('data-test-script-state') === 'running',
                           results: document.body.innerText.includes('Results for utr5 (')};
      observer.disconnect();
    }
  }).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def test_benchmarks_run_shows_its_progress_bar_before_any_work(page, server):
    """Pressing Run shows a progress bar while the run is going, before any result is drawn (the page creates it
    before loading the scramblers; the browser may paint it first with a later text when the steps are quick)."""
    open_page(page, server, PAGES["benchmarks"])
    page.get_by_text("Inclusion / occlusion (KL)", exact=True).click()         # Table D only
    wait_settled(page, STEP_TIMEOUT)
    sizes = page.get_by_role("spinbutton", name="Table D sequences per setting")
    sizes.fill("4")
    sizes.press("Enter")
    wait_settled(page, STEP_TIMEOUT)
    page.evaluate(PROGRESS_WATCH_JS)
    page.get_by_role("button", name="Run benchmarks").click()
    page.wait_for_function("() => window.__progress !== null", timeout=RENDER_TIMEOUT)   # a busy machine
    first = page.evaluate("() => window.__progress")
    print(f"progress bar {first['ms']:.0f} ms after the click: {first['text']!r}")
    assert first["running"] and not first["results"], first
    assert first["text"].startswith(("Loading the scramblers", "Checking which methods", "Generating the test",
                                     "Running ")), first
    wait_settled(page)
    assert_clean(page, server)
    assert page.locator('[data-testid="stProgress"]').count() == 0       # gone once the results are drawn
    assert "Results for utr5 (Table D: 4 sequences per setting)" in page.inner_text('[data-testid="stMain"]')
