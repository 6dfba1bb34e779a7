"""Several browser sessions at once on one Scrambler Explorer server (async Playwright).

Shared by ``tests/browser/test_browser_concurrency.py`` (correctness under load) and
``bench/concurrent_sessions.py`` (slider latency under load). Imported as
``from concurrency_tools import ...`` (tests/ on sys.path, as for ``conftest``).

One ``streamlit run app.py`` listens on 127.0.0.1 only; one Chromium gets one browser
context per session (separate cookies and websockets, so separate Streamlit sessions),
all driven from one asyncio loop (Playwright's sync API must not be shared between threads).

* an **explore** session opens ``/?predictor=utr5&mode=inclusion&bits=0.5&seq=SEQ`` (its own
  sequence), reads the prediction it shows, then presses ArrowRight on the focused bits
  slider ``presses`` times; each press is timed from the key press to the updated page
  (script run over, the link carries the new bits, the logo's data changed: the completion
  criteria of ``bench/browser_latency.py``), measured with the page's own clock, and so is
  the server's share (first script run starting to the last one ending);
* an **upload** session opens Your model and uploads its own model (``model_sN.keras``),
  its own FASTA and its own scrambler (which registers the model as ``model_sN (yours)``),
  then opens Explore on that model.

Sessions first load their page, wait for each other (a barrier), then press / upload at
the same time; after a second barrier every session reads the sidebar's predictor list.
Every page is checked for exceptions (``assert_clean`` of ``test_browser``) after each step;
what a session saw is returned, the callers assert on it.
"""
from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from test_browser import (ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, ERRORS, LOGOS, SETTLE_MS, SETTLED_JS, SIGNATURE_JS,
                          START_TIMEOUT, _free_port, _healthy)

ROOT = Path(__file__).resolve().parent.parent
PREDICTOR = "utr5"
LENGTH = 50
BITS_START, BITS_STEP = 0.5, 0.05
RENDER_TIMEOUT = 240_000  # ms: a first page while seven other sessions load theirs (cold models)
STEP_TIMEOUT = 120_000  # ms: one slider step or one upload under load
POLLING = "raf"  # the completion checks run on every animation frame, as in bench/browser_latency.py
SEQUENCE_BOX = '[data-testid="stTextArea"] textarea'
SUCCESS = '[data-testid="stAlertContentSuccess"]'
SIDEBAR_SELECT = '[data-testid="stSidebar"] [data-testid="stSelectbox"]'

# the time (performance.now()) once the run is over, the link has the wanted bits and the logo changed
DONE_JS = """([sel, before, bits]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (new URLSearchParams(window.location.search).get('bits') !== bits) return false;
  const sig = (""" + SIGNATURE_JS + """)(sel);
  return sig !== null && sig !== before ? performance.now() : false;
}"""
# records when script runs start and end (Streamlit sets data-test-script-state on the app root); returns now
WATCH_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  window.__runs = [];
  if (window.__watch) window.__watch.disconnect();
  window.__watch = new MutationObserver(() => window.__runs.push(
    [app.getAttribute('data-test-script-state'), performance.now()]));
  window.__watch.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  return performance.now();
}"""
# ms from the first script run starting to the last one ending since WATCH_JS (the server's share), or null
RUN_MS_JS = """() => {
  const runs = window.__runs || [];
  const starts = runs.filter(r => r[0] === 'running'), ends = runs.filter(r => r[0] === 'notRunning');
  return starts.length && ends.length ? ends[ends.length - 1][1] - starts[0][1] : null;
}"""


def fmt_bits(bits: float) -> str:
    return f"{round(bits, 2):g}"


def p50_p95(values) -> tuple[float | None, float | None]:
    """Median and 95th percentile (nearest rank, as bench/browser_latency.py)."""
    if not values:
        return None, None
    ordered = sorted(values)
    return statistics.median(ordered), ordered[round(0.95 * (len(ordered) - 1))]


# ----------------------------------------------------------------------------- server

class AppServer:
    """``streamlit run app.py`` on a free port of 127.0.0.1 with its own result cache directory."""

    def __init__(self, cache_dir: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.TemporaryFile()
        env = dict(os.environ, SCRAMBLER_CACHE_DIR=str(cache_dir), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
        env.pop("SCRAMBLER_MODELS_DIR", None)  # built-ins only: the sidebar list is what the sessions compare
        self.launched = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> float:
        """Seconds from launch to /_stcore/health answering; RuntimeError when it does not."""
        while not _healthy(f"{self.url}/_stcore/health"):
            if self.proc.poll() is not None or time.monotonic() - self.launched > timeout:
                raise RuntimeError(f"streamlit did not become healthy; its output:\n{self.output()}")
            time.sleep(0.25)
        return time.monotonic() - self.launched

    def output(self, tail: int = 4000) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-tail:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        self._log.close()


# ----------------------------------------------------------------------------- inputs

def distinct_sequences(predictor, n: int, seed: int, min_gap: float = 0.005) -> list[str]:
    """``n`` random sequences of length LENGTH whose predictions differ pairwise by at least ``min_gap``
    (so that a page showing another session's prediction cannot pass for its own)."""
    import numpy as np

    from scrambler_core.examples import examples

    rng = np.random.default_rng(seed)
    known = {e.sequence for e in examples(PREDICTOR)}
    candidates = ["".join(rng.choice(list("ACGT"), LENGTH)) for _ in range(max(40, 10 * n))]
    candidates = [s for s in dict.fromkeys(candidates) if s not in known]
    values = [float(v) for v in predictor.predict(candidates)]
    chosen, taken = [], []
    for sequence, value in zip(candidates, values):
        if all(abs(value - v) >= min_gap for v in taken):
            chosen.append(sequence)
            taken.append(value)
        if len(chosen) == n:
            return chosen
    raise RuntimeError(f"only {len(chosen)} of {n} sequences with distinct predictions")


@dataclass
class Upload:
    """What one upload session sends: its model, FASTA and scrambler files (and the expected predictor)."""
    label: str                 # "s7": files model_s7.keras, train_s7.fa, scrambler_s7.keras
    model_bytes: bytes
    fasta_bytes: bytes
    scrambler_bytes: bytes
    sequences: list
    predictor: object = field(repr=False)

    @property
    def model_file(self) -> str:
        return f"model_{self.label}.keras"

    @property
    def model_name(self) -> str:   # the predictor's name (the file's stem)
        return f"model_{self.label}"

    @property
    def listed_name(self) -> str:  # how the sidebar lists it once registered
        return f"model_{self.label} (yours)"

    @property
    def fasta_file(self) -> str:
        return f"train_{self.label}.fa"

    @property
    def scrambler_file(self) -> str:
        return f"scrambler_{self.label}.keras"


def build_upload(directory, label: str, seed: int) -> Upload:
    """A tiny Keras predictor for (50, 4) one-hot input, 32 random sequences as FASTA and a scrambler
    trained for it in a few seconds (1 epoch, the smallest network, no calibration)."""
    import keras
    import numpy as np

    from scrambler_core import user_models as um

    directory = Path(directory) / label
    directory.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((LENGTH, 4)), keras.layers.Conv1D(4, 5),
                              keras.layers.GlobalMaxPooling1D(), keras.layers.Dense(1)])
    path = directory / f"model_{label}.keras"
    model.save(path)
    predictor = um.load_user_predictor(path)
    rng = np.random.default_rng(seed)
    sequences = ["".join(rng.choice(list("ACGT"), LENGTH)) for _ in range(um.MIN_TRAINING_SEQUENCES)]
    fasta = "".join(f">{label}_{i}\n{s}\n" for i, s in enumerate(sequences)).encode()
    settings = {**um.USER_TRAINING_SETTINGS, "n_samples": 4,
                "network_options": {"channels": 4, "groups": 1, "blocks": 1, "width": 3, "dilations": (1,)}}
    scrambler, _ = um.train_user_scrambler(predictor, sequences, epochs=1, seed=seed, calibrate=False,
                                           settings=settings)
    return Upload(label, path.read_bytes(), fasta, um.scrambler_to_bytes(scrambler), sequences, predictor)


# ----------------------------------------------------------------------------- page helpers

async def wait_settled(page, timeout: int = STEP_TIMEOUT) -> None:
    """Streamlit's script run has finished and no new one started for SETTLE_MS."""
    await page.evaluate("() => { window.__settledSince = null; }")
    await page.wait_for_function(SETTLED_JS, arg=SETTLE_MS, polling=100, timeout=timeout)


async def problems(page) -> list[str]:
    """``assert_clean`` of test_browser as a list of findings (plus any st.error box)."""
    body = await page.inner_text("body")
    found = []
    exceptions = page.locator('[data-testid="stException"]')
    if await exceptions.count():
        found.append(f"exception box: {(await exceptions.first.inner_text())[:500]}")
    errors = page.locator(ERRORS)
    if await errors.count():
        found.append(f"error box: {(await errors.first.inner_text())[:500]}")
    for text in ("Traceback", "Something went wrong", "This app has encountered an error"):
        if text in body:
            found.append(f"{text!r} on the page: {body[max(0, body.index(text) - 200):body.index(text) + 500]}")
    return found


# Explore's live chart: the metrics line of the frame shown (target, realised bits, samples' mean)
LIVE_METRICS_JS = """() => {
  const el = document.querySelector('.st-key-explore_logos .js-plotly-plot');
  const t = el && (el._fullData || el.data || []).find(t => t.name === 'metrics');
  return t && t.text ? String(t.text[0]) : null;
}"""


async def metric_values(page) -> dict:
    out = {}
    for m in await page.locator('[data-testid="stMetric"]').all():
        label = (await m.locator('[data-testid="stMetricLabel"]').inner_text()).strip()
        out[label] = (await m.locator('[data-testid="stMetricValue"]').inner_text()).strip()
    return out


def query(page) -> dict:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))


async def predictor_options(page) -> list[str]:
    """The sidebar's predictor list (opens the select box, reads its options, closes it)."""
    await page.locator(SIDEBAR_SELECT).first.click()
    options = page.locator('[role="option"]')
    await options.first.wait_for(timeout=STEP_TIMEOUT)
    texts = [t.strip() for t in await options.all_inner_texts()]
    await page.keyboard.press("Escape")
    await options.first.wait_for(state="detached", timeout=STEP_TIMEOUT)
    return texts


async def save_screenshot(page, name: str) -> Path:
    """Full-page screenshot tests/artifacts/NAME.png (the viewport grows to the content first, as in
    test_browser.save_screenshot)."""
    size = 1000
    for _ in range(3):
        height = await page.evaluate("() => Math.max(...Array.from(document.querySelectorAll("
                                     "'[data-testid=\"stMain\"], [data-testid=\"stAppViewContainer\"], body'), "
                                     "e => e.scrollHeight))")
        wanted = min(max(int(height), 1000), 4000)
        if wanted == size:
            break
        size = wanted
        await page.set_viewport_size({"width": 1400, "height": size})
        await page.wait_for_timeout(800)
    await wait_settled(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def new_page(browser):
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(STEP_TIMEOUT)
    page.set_default_navigation_timeout(60_000)
    return context, page


class Session:
    """What one session saw: ``texts`` (every page's text, step by step), ``problems``, figures."""

    def __init__(self, name: str, kind: str):
        self.name, self.kind = name, kind
        self.texts, self.problems, self.latencies_ms, self.run_ms = [], [], [], []
        self.info: dict = {}
        self.step = "start"

    async def check(self, page, step: str) -> None:
        self.step = step
        self.texts.append((step, await page.inner_text("body")))
        self.problems += [f"{step}: {p}" for p in await problems(page)]

    def summary(self) -> dict:
        p50, p95 = p50_p95(self.latencies_ms)
        return {"session": self.name, "kind": self.kind, **self.info, "latencies_ms": self.latencies_ms,
                "p50_ms": p50, "p95_ms": p95, "script_run_ms": self.run_ms, "problems": self.problems}


async def _gate(barrier):
    if barrier is not None:
        await barrier.wait()


# ----------------------------------------------------------------------------- sessions

async def explore_session(browser, base: str, s: Session, sequence: str, presses: int, *, loaded=None,
                          done=None, screenshot: str | None = None) -> Session:
    """Explore on ``sequence``: its first page, then ``presses`` slider steps, each timed."""
    context, page = await new_page(browser)
    try:
        s.info["sequence"] = sequence
        s.step = "first page"
        started = time.monotonic()
        await page.goto(f"{base}/?predictor={PREDICTOR}&mode=inclusion&bits={fmt_bits(BITS_START)}&seq={sequence}")
        await page.wait_for_function(DONE_JS, arg=[LOGOS, None, fmt_bits(BITS_START)], polling=POLLING,
                                     timeout=RENDER_TIMEOUT)
        await wait_settled(page, RENDER_TIMEOUT)
        s.info["first_page_s"] = round(time.monotonic() - started, 2)
        await _read_explore(page, s, "first page")
        await _gate(loaded)

        s.step = "slider"
        thumb = page.get_by_role("slider", name="Target bits")
        await thumb.focus()
        for k in range(presses):
            bits = fmt_bits(BITS_START + BITS_STEP * (k + 1))
            s.step = f"slider to {bits}"
            before = await page.evaluate(SIGNATURE_JS, LOGOS)
            t0 = await page.evaluate(WATCH_JS)
            await page.keyboard.press("ArrowRight")
            handle = await page.wait_for_function(DONE_JS, arg=[LOGOS, before, bits], polling=POLLING,
                                                  timeout=STEP_TIMEOUT)
            s.latencies_ms.append(round(await handle.json_value() - t0, 1))
            run = await page.evaluate(RUN_MS_JS)
            if run is not None:
                s.run_ms.append(round(run, 1))
        await wait_settled(page)
        s.info["bits_after"] = query(page).get("bits")
        await _read_explore(page, s, "after the slider")
        return await _finish(page, s, done, screenshot)
    finally:
        await context.close()


async def _read_explore(page, s: Session, step: str) -> None:
    """What an Explore page shows: its metrics, the sequence box, the link."""
    await s.check(page, step)
    values = await metric_values(page)
    box = page.locator(SEQUENCE_BOX).first
    s.info.setdefault("seen", []).append({"step": step, "prediction": values.get("Prediction (original)"),
                                          "metrics_line": await page.evaluate(LIVE_METRICS_JS),
                                          "sequence_box": (await box.input_value()).strip(),
                                          "link_seq": query(page).get("seq"),
                                          "link_predictor": query(page).get("predictor")})


async def upload_session(browser, base: str, s: Session, upload: Upload, *, loaded=None, done=None,
                         screenshot: str | None = None) -> Session:
    """Your model: upload the model, the FASTA and the scrambler; then Explore on the registered model."""
    context, page = await new_page(browser)
    try:
        s.info["model_file"] = upload.model_file
        s.step = "open Your model"
        started = time.monotonic()
        await page.goto(f"{base}/your_model")
        await page.locator('[data-testid="stMain"] h1', has_text="Your model").wait_for(timeout=RENDER_TIMEOUT)
        await wait_settled(page, RENDER_TIMEOUT)
        s.info["first_page_s"] = round(time.monotonic() - started, 2)
        await s.check(page, "Your model")
        await _gate(loaded)

        started = time.monotonic()
        s.step = "model upload"
        await page.locator('.st-key-your_model_model_file input[type="file"]').set_input_files(
            {"name": upload.model_file, "mimeType": "application/octet-stream", "buffer": upload.model_bytes})
        await page.locator(SUCCESS, has_text=upload.model_file).wait_for()
        await wait_settled(page)
        await s.check(page, "model uploaded")

        s.step = "sequences upload"
        await page.locator('.st-key-your_model_sequence_file input[type="file"]').set_input_files(
            {"name": upload.fasta_file, "mimeType": "text/plain", "buffer": upload.fasta_bytes})
        await page.locator(SUCCESS, has_text=upload.fasta_file).wait_for()
        await wait_settled(page)
        await s.check(page, "sequences uploaded")

        s.step = "scrambler upload"
        expander = page.locator('[data-testid="stExpander"]', has_text="Load a scrambler you trained before").first
        await expander.locator("summary").click()
        await page.locator('.st-key-your_model_scrambler_file input[type="file"]').set_input_files(
            {"name": upload.scrambler_file, "mimeType": "application/octet-stream", "buffer": upload.scrambler_bytes})
        go = page.get_by_role("button", name=f"Explain with {upload.listed_name} on the Explore page")
        await go.wait_for()
        await wait_settled(page)
        await s.check(page, "scrambler uploaded")
        s.info["uploads_s"] = round(time.monotonic() - started, 2)

        s.step = "Explore on the uploaded model"
        await go.click()
        await page.locator('[data-testid="stMain"] h1', has_text="Explore").wait_for()
        await page.wait_for_function(SIGNATURE_JS, arg=LOGOS, timeout=STEP_TIMEOUT)
        await wait_settled(page)
        await _read_explore(page, s, "Explore on the uploaded model")
        return await _finish(page, s, done, screenshot)
    finally:
        await context.close()


async def _finish(page, s, done, screenshot):
    """The end of every session: wait at the barrier, read the predictor list, take the screenshot."""
    await _gate(done)
    s.info["predictor_options"] = await predictor_options(page)
    await s.check(page, "predictor list")
    if screenshot:
        s.info["screenshot"] = str(await save_screenshot(page, screenshot))
    return s


async def _all(tasks, timeout: float) -> list:
    """Await every task for at most ``timeout`` s; on the first failure (or the timeout) cancel the others
    (they may wait at a barrier) and raise."""
    try:
        done, pending = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()
    if pending:
        raise TimeoutError(f"the sessions did not finish within {timeout:.0f} s")
    return [t.result() for t in tasks]


async def run_sessions(base: str, sequences: list, uploads: list, presses: int, *, screenshots=(),
                       timeout: float = 300, chromium: str = CHROMIUM) -> list[Session]:
    """One Chromium, one context per session: ``len(sequences)`` explore sessions then one upload session
    per ``uploads`` entry, all at once. ``screenshots``: session numbers (1-based) to photograph.

    A failure or the ``timeout`` (seconds, for all sessions together) raises RuntimeError naming the step
    every session was at (the others are cancelled)."""
    from playwright.async_api import async_playwright

    n = len(sequences) + len(uploads)
    loaded, done = asyncio.Barrier(n), asyncio.Barrier(n)
    sessions = [Session(f"s{k + 1}", "explore") for k in range(len(sequences))]
    sessions += [Session(f"s{len(sequences) + k + 1}", "upload") for k in range(len(uploads))]

    def shot(k):
        return f"concurrency_{sessions[k].name}" if k + 1 in screenshots else None

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            tasks = [asyncio.ensure_future(explore_session(browser, base, sessions[k], seq, presses, loaded=loaded,
                                                           done=done, screenshot=shot(k)))
                     for k, seq in enumerate(sequences)]
            tasks += [asyncio.ensure_future(upload_session(browser, base, sessions[len(sequences) + k], up,
                                                           loaded=loaded, done=done,
                                                           screenshot=shot(len(sequences) + k)))
                      for k, up in enumerate(uploads)]
            try:
                await _all(tasks, timeout)
            except Exception as err:
                where = "; ".join(f"{s.name} at {s.step!r}" for s in sessions)
                raise RuntimeError(f"{type(err).__name__}: {err} (sessions: {where})") from err
        finally:
            await browser.close()
    return sessions
