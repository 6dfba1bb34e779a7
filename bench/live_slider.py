"""The bits slider in a real browser: the live (client-side) slider against a server round trip.

Starts ``streamlit run app.py`` (one process per predictor, fresh result cache) and drives Debian's
``/usr/bin/chromium`` with Playwright on the Explore page of an example. Two ways to change the
budget are timed on the same page, in the same process:

* **round trip** (the baseline, how every step worked before the live view): the sidebar's
  *Target bits* slider is focused and ArrowRight pressed; Streamlit reruns the script on the
  server and the page is redrawn;
* **live**: the slider under the chart (a plotly slider whose steps animate to frames already in
  the browser) is clicked at the next step's tick; nothing goes to the server.

Each step is timed from the input event (``keydown`` / ``mousedown``, read in the page with
``performance.now()``) to the **last DOM change** it caused (a MutationObserver on the page; a step
is over once nothing has changed for ``--quiet`` ms and, for the round trip, the script run has
ended). The live step also checks that the slider now reads the new budget. It prints p50 / p95 per predictor and the ratio round trip / live, plus the page's
first-logo time (glyphs drawn; from launching the server as ``make run`` does, or with ``--plain``
as ``streamlit run app.py``), the time until the live view with every frame is there, against a bare ``import tensorflow`` timed in the same run, and the figure's size.

Usage::

    .venv/bin/python bench/live_slider.py                       # utr5 (50 nt) and polya (205 nt)
    .venv/bin/python bench/live_slider.py --predictors polya --steps 20

Wall-clock numbers depend on the machine; the tests never assert them.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(_ROOT / "bench"), str(_ROOT / "tests"), str(_ROOT / "tests" / "browser")]
from browser_latency import CHROMIUM_ARGS, LOGO, Server  # noqa: E402
from test_browser import SLIDER_TICKS_JS as TICKS_JS, SLIDER_VALUE_JS  # noqa: E402  (the tests' slider probes)

RENDER_TIMEOUT = 240_000
STEP_TIMEOUT = 60_000
START_BITS = 0.5

# the time of the last input event and of the last DOM change under ``root`` (performance.now())
WATCH_JS = """(sel) => {
  const root = sel ? document.querySelector(sel) : document.body;
  window.__input = null; window.__last = null;
  for (const kind of ['keydown', 'mousedown']) {
    if (!window['__on' + kind]) {
      window['__on' + kind] = true;
      document.addEventListener(kind, () => { window.__input = performance.now(); window.__last = null; }, true);
    }
  }
  if (window.__obs) window.__obs.disconnect();
  window.__obs = new MutationObserver(() => { window.__last = performance.now(); });
  window.__obs.observe(root, {attributes: true, childList: true, subtree: true, characterData: true});
  return true;
}"""
# the step is over: input seen, something changed, quiet for ``quiet`` ms (and no script run)
SETTLED_JS = """([quiet, server]) => {
  if (window.__input === null || window.__last === null) return false;
  if (performance.now() - window.__last < quiet) return false;
  if (server) {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  }
  return window.__last - window.__input;
}"""
RAIL_JS = """(sel) => { const r = document.querySelector(sel + ' .slider-container rect.slider-rail-touch-rect');
  const b = r.getBoundingClientRect(); return [b.y + b.height / 2]; }"""


def p50_p95(values):
    ordered = sorted(values)
    return statistics.median(ordered), ordered[round(0.95 * (len(ordered) - 1))]


def settle(page, quiet_ms: float, server: bool) -> float:
    return page.wait_for_function(SETTLED_JS, arg=[quiet_ms, server], polling=50, timeout=STEP_TIMEOUT).json_value()


def round_trip_steps(page, steps: int, quiet_ms: float) -> list[float]:
    thumb = page.get_by_role("slider", name="Target bits")
    thumb.focus()
    times = []
    for _ in range(steps):
        page.evaluate(WATCH_JS, None)
        page.keyboard.press("ArrowRight")
        times.append(settle(page, quiet_ms, server=True))
    return times


def live_steps(page, steps: int, quiet_ms: float) -> list[float]:
    page.locator(f"{LOGO} .slider-container").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    ticks = page.evaluate(TICKS_JS, LOGO)
    if not ticks:
        raise RuntimeError("the live figure has no slider ticks")
    rail_y = page.evaluate(RAIL_JS, LOGO)[0]
    current = page.evaluate(SLIDER_VALUE_JS, LOGO)
    times, index = [], 0
    for k in range(steps):
        index = (k + 1) % len(ticks)
        page.evaluate(WATCH_JS, LOGO)
        page.mouse.click(ticks[index][0], rail_y)
        times.append(settle(page, quiet_ms, server=False))
        value = page.evaluate(SLIDER_VALUE_JS, LOGO)
        if value == current:
            raise RuntimeError(f"the live slider did not move (step {k}: {current!r} -> {value!r})")
        current = value
    return times


def bare_tensorflow_import() -> float:
    """Seconds a fresh Python process needs for ``import tensorflow`` (the cold-start yardstick)."""
    code = "import time; t = time.perf_counter(); import tensorflow; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    return float(out.stdout.strip().splitlines()[-1])


def run_predictor(browser, name: str, steps: int, quiet_ms: float, warm: bool = True) -> dict:
    cache_dir = tempfile.mkdtemp(prefix="scrambler_bench_cache_")
    server = Server(cache_dir, warm=warm)
    try:
        result = {"healthy_s": server.wait_healthy()}
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(RENDER_TIMEOUT)
        page.goto(f"{server.base}/?predictor={name}&mode=inclusion&bits={START_BITS:g}&example=1")
        page.wait_for_function(f"() => document.querySelectorAll({LOGO!r} + ' .scatterlayer .trace path').length",
                               polling=50, timeout=RENDER_TIMEOUT)
        result["first_logo_s"] = time.perf_counter() - server.launched
        page.wait_for_function(f"() => ({TICKS_JS})({LOGO!r}).length >= 20", polling=100, timeout=RENDER_TIMEOUT)
        result["live_s"] = time.perf_counter() - server.launched
        result["figure_mb"] = page.evaluate(
            f"() => JSON.stringify(document.querySelector({LOGO!r})._transitionData._frames).length") / 1e6
        result["live_ms"] = live_steps(page, steps, quiet_ms)
        result["round_trip_ms"] = round_trip_steps(page, steps, quiet_ms)
        context.close()
        return result
    finally:
        server.stop()
        shutil.rmtree(cache_dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictors", nargs="+", default=["utr5", "polya"])
    parser.add_argument("--steps", type=int, default=20, help="slider steps per kind and predictor")
    parser.add_argument("--quiet", type=float, default=400, help="ms without DOM changes that end a step")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--plain", action="store_true",
                        help="start the server with `streamlit run app.py` instead of `make run`'s warm launcher")
    args = parser.parse_args()
    tf_import = bare_tensorflow_import()
    from playwright.sync_api import sync_playwright

    results = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        try:
            for name in args.predictors:
                results[name] = run_predictor(browser, name, args.steps, args.quiet, warm=not args.plain)
        finally:
            browser.close()
    print(f"Explore, inclusion scrambler, example 1; {args.steps} steps per kind; {os.cpu_count()} CPUs; "
          f"input event -> last DOM change (quiet {args.quiet:g} ms), ms")
    print(f"{'predictor':<10}{'1st logo s':>11}{'live s':>8}{'frames MB':>11}{'kind':>12}{'p50':>8}{'p95':>8}")
    for name, r in results.items():
        for kind in ("round_trip", "live"):
            p50, p95 = p50_p95(r[f"{kind}_ms"])
            print(f"{name:<10}{r['first_logo_s']:>11.1f}{r['live_s']:>8.1f}{r['figure_mb']:>11.2f}{kind:>12}"
                  f"{p50:>8.0f}{p95:>8.0f}")
        ratio = statistics.median(r["round_trip_ms"]) / statistics.median(r["live_ms"])
        print(f"{name}: round trip / live (p50) {ratio:.1f}x; first logo / bare `import tensorflow` "
              f"({tf_import:.1f} s) {r['first_logo_s'] / tf_import:.1f}x")


if __name__ == "__main__":
    main()
