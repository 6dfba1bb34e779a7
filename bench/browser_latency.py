"""Browser latency of the Explore page: cold start and the bits slider, in a real browser.

Starts ``streamlit run app.py`` on a free port of 127.0.0.1 (a fresh process per
predictor, with ``SCRAMBLER_CACHE_DIR`` set to a fresh temporary directory so that
every new bits value misses the on-disk result cache) and drives Debian's
``/usr/bin/chromium`` with Playwright. For each predictor it measures

* cold start: seconds from launching ``streamlit run`` to ``/_stcore/health``
  answering, and to the first Explore page with the logo figure drawn (first
  visit: model loading, graph tracing, the first explanation, plotly drawing);
* slider, cache miss: the bits slider's thumb is focused and ArrowRight pressed
  once per measurement (0.55, 0.60, ... never seen before); the time runs from
  the key press to the updated page: the script run finished, the link carries
  the new bits value and the logo figure's data changed;
* slider, cache hit: ArrowLeft back over the same values (the disk cache answers);
* script run: from the first script run starting to the last one ending after
  the key press (the server's share; the rest is the slider's commit, the
  websocket and the browser drawing);
* in-app explain: the explanation time the page prints in its caption
  (``... · 123 ms``: computing it on a miss, reading the disk cache on a hit);
* bare explain: ``Scrambler.explain`` on the same sequence at the same bits values,
  called directly from ``scrambler_core`` in this process (after the server is
  stopped, so the two never share the CPU).

It prints one table (medians and 95th percentiles in milliseconds) and the ratios
browser miss / bare explain (the app's and the browser's overhead over the
computation), browser hit / bare explain and miss / hit.

Usage::

    .venv/bin/python bench/browser_latency.py                      # utr5 and polya, 15 values each
    .venv/bin/python bench/browser_latency.py --predictors utr5 --presses 20
    .venv/bin/python bench/browser_latency.py --chromium /path/to/chromium

Wall-clock numbers depend on the machine and on what else runs on it; the tests
never assert them. Needs the pretrained predictors and inclusion scramblers in
``pretrained/`` and no network.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "browser")]
# the page probes the browser tests use: one definition each (the glyph checksum, the end of a slider step)
from concurrency_tools import DONE_JS, WATCH_JS  # noqa: E402
from test_browser import CHROMIUM_ARGS, LOGOS as LOGO, SIGNATURE_JS  # noqa: E402

START_TIMEOUT = 120  # s for /_stcore/health
RENDER_TIMEOUT = 180_000  # ms for the first page (model loading, tracing)
STEP_TIMEOUT = 60_000  # ms for one slider step
BITS_START = 0.5
BITS_STEP = 0.05
N_SAMPLES = 32
MODE = "inclusion"

CAPTION_MS = re.compile(r"seed \d+ · (\d+) ms")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def fmt_bits(bits: float) -> str:
    return f"{round(bits, 2):g}"


def median_p95(values):
    ordered = sorted(values)
    return statistics.median(ordered), ordered[round(0.95 * (len(ordered) - 1))]


class Server:
    """``streamlit run app.py`` on a free port with its own result cache directory."""

    def __init__(self, cache_dir: str, warm: bool = False):
        """``warm``: start it as ``make run`` does (``python -m pages._ui.warmup``), else ``streamlit run``."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        env = dict(os.environ, SCRAMBLER_CACHE_DIR=cache_dir, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
        self.launched = time.perf_counter()
        launcher = ["-m", "pages._ui.warmup"] if warm else ["-m", "streamlit", "run", str(ROOT / "app.py")]
        self.proc = subprocess.Popen(
            [sys.executable, *launcher, "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_healthy(self) -> float:
        deadline = self.launched + START_TIMEOUT
        while not healthy(f"{self.base}/_stcore/health"):
            if self.proc.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"streamlit did not become healthy:\n{self.output()}")
            time.sleep(0.05)
        return time.perf_counter() - self.launched

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        self.log.close()


def step(page, key: str, bits: float) -> tuple[float, int | None, float | None]:
    """Press ``key`` on the focused bits slider.

    Returns ms until the page shows ``bits``, the caption's ms, and the ms from the
    first script run starting to the last one ending (the server's share).
    """
    before = page.evaluate(SIGNATURE_JS, LOGO)
    t0 = page.evaluate(WATCH_JS)
    page.keyboard.press(key)
    done = page.wait_for_function(DONE_JS, arg=[LOGO, before, fmt_bits(bits)], polling="raf",
                                  timeout=STEP_TIMEOUT).json_value()
    runs = page.evaluate("() => window.__runs")
    starts = [t for state, t in runs if state == "running"]
    ends = [t for state, t in runs if state == "notRunning"]
    server = ends[-1] - starts[0] if starts and ends else None
    caption = page.locator('[data-testid="stCaptionContainer"]', has_text="samples · seed").last.inner_text()
    match = CAPTION_MS.search(caption)
    return done - t0, int(match.group(1)) if match else None, server


def browser_run(browser, name: str, presses: int) -> dict:
    cache_dir = tempfile.mkdtemp(prefix="scrambler_bench_cache_")
    server = Server(cache_dir)
    try:
        result = {"healthy_s": server.wait_healthy()}
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(RENDER_TIMEOUT)
        t_goto = time.perf_counter()
        page.goto(f"{server.base}/?predictor={name}&mode={MODE}&bits={fmt_bits(BITS_START)}&example=1")
        page.wait_for_function(DONE_JS, arg=[LOGO, None, fmt_bits(BITS_START)], polling="raf",
                               timeout=RENDER_TIMEOUT)
        now = time.perf_counter()
        result["first_logo_s"] = now - server.launched
        result["goto_logo_s"] = now - t_goto
        errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
        if errors.count():
            raise RuntimeError(f"the page shows an error: {errors.first.inner_text()}")
        thumb = page.get_by_role("slider", name="Target bits")
        thumb.focus()
        values = [BITS_START + BITS_STEP * (k + 1) for k in range(presses)]
        for kind, key, targets in (("miss", "ArrowRight", values),
                                   ("hit", "ArrowLeft", list(reversed(values))[1:] + [BITS_START])):
            total, in_app, run = [], [], []
            for bits in targets:
                ms, app_ms, run_ms = step(page, key, bits)
                total.append(ms)
                in_app += [app_ms] if app_ms is not None else []
                run += [run_ms] if run_ms is not None else []
            result.update({f"{kind}_ms": total, f"in_app_{kind}_ms": in_app, f"run_{kind}_ms": run})
        result["values"] = values
        context.close()
        return result
    finally:
        server.stop()
        shutil.rmtree(cache_dir, ignore_errors=True)


def bare_explain(name: str, values) -> list[float]:
    import scrambler_core as sc
    from scrambler_core import examples

    scrambler = sc.load_scrambler(name, mode=MODE)
    sequence = examples.examples(name)[0].sequence
    for bits in (0.3, 0.7, 1.3):  # warm up: tracing
        scrambler.explain([sequence], target_bits=bits, n_samples=N_SAMPLES, seed=0)
    times = []
    for bits in values:
        start = time.perf_counter()
        scrambler.explain([sequence], target_bits=round(bits, 2), n_samples=N_SAMPLES, seed=0)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictors", nargs="+", default=["utr5", "polya"])
    parser.add_argument("--presses", type=int, default=15, help="distinct bits values per predictor (max 30)")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    presses = max(2, min(args.presses, 30))
    from playwright.sync_api import sync_playwright

    from scrambler_core import examples

    results = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        try:
            for name in args.predictors:
                results[name] = browser_run(browser, name, presses)
                print(f"... {name}: browser part done", file=sys.stderr, flush=True)
        finally:
            browser.close()
    for name in args.predictors:
        results[name]["bare_ms"] = bare_explain(name, results[name]["values"])

    print(f"Explore page, {MODE} scrambler, {N_SAMPLES} samples, {presses} distinct bits values "
          f"({fmt_bits(BITS_START + BITS_STEP)}-{fmt_bits(BITS_START + BITS_STEP * presses)}); "
          f"{os.cpu_count()} CPUs; times in ms unless marked s")
    print()
    print(f"{'predictor':<10}{'length':>7}{'healthy s':>11}{'1st logo s':>12}{'goto→logo s':>13}")
    for name, r in results.items():
        length = len(examples.examples(name)[0].sequence)
        print(f"{name:<10}{length:>7}{r['healthy_s']:>11.2f}{r['first_logo_s']:>12.2f}{r['goto_logo_s']:>13.2f}")
    print()
    print(f"{'predictor':<10}{'measure':<34}{'n':>4}{'median':>10}{'p95':>10}")
    for name, r in results.items():
        rows = [("slider → page, cache miss", r["miss_ms"]), ("  script run (server), miss", r["run_miss_ms"]),
                ("  in-app explain (caption), miss", r["in_app_miss_ms"]),
                ("slider → page, cache hit", r["hit_ms"]), ("  script run (server), hit", r["run_hit_ms"]),
                ("  in-app explain (caption), hit", r["in_app_hit_ms"]),
                ("bare Scrambler.explain", r["bare_ms"])]
        for label, values in rows:
            if values:
                med, p95 = median_p95(values)
                print(f"{name:<10}{label:<34}{len(values):>4}{med:>10.0f}{p95:>10.0f}")
    print()
    for name, r in results.items():
        miss, hit, bare = (statistics.median(r[k]) for k in ("miss_ms", "hit_ms", "bare_ms"))
        print(f"{name}: browser miss / bare explain {miss / bare:6.1f}x   browser hit / bare explain "
              f"{hit / bare:6.1f}x   miss / hit {miss / hit:5.2f}x   overhead over bare (miss) {miss - bare:6.0f} ms")


if __name__ == "__main__":
    main()
