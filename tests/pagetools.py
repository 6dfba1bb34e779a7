"""Helpers shared by the AppTest page tests: open one page with a predictor, read what it shows.

Imported as ``from pagetools import ...`` (pytest puts tests/ on sys.path, as for ``conftest``).
"""
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def new_app(*, timeout: float = 180, **query) -> AppTest:
    """The whole app (``app.py``) opened on a link's query parameters, not yet run."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in query.items():
        at.query_params[key] = value
    return at


def open_page(page: str, predictor: str, *, timeout: float = 180, **state) -> AppTest:
    """One page run on its own (AppTest runs a page chosen before the first run without app.py, so the
    predictor is set in session state)."""
    at = unrun_page(page, predictor, timeout=timeout, **state)
    at.run(timeout=timeout)
    assert_clean(at)
    return at


def assert_clean(at):
    assert not at.exception, [e.value for e in at.exception]


def metric(at, label) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}; metrics: {[m.label for m in at.metric]}"
    return found[0]


def errors(at) -> str:
    return " | ".join(e.value for e in at.error)


def texts(elements) -> str:
    return " | ".join(str(e.value) for e in elements)


def reset_result_cache():
    """Drop the app's open on-disk result cache (it is reopened under the current $SCRAMBLER_CACHE_DIR)."""
    results = sys.modules.get("pages._ui.results")
    if results is not None:
        results.result_cache.clear()


def private_result_cache(name: str):
    """A module-scoped autouse fixture giving the test module a fresh on-disk result cache.

    Use as ``private_cache = private_result_cache("compare_cache")`` at module level.
    """
    @pytest.fixture(scope="module", autouse=True)
    def private_cache(tmp_path_factory):
        mp = pytest.MonkeyPatch()
        mp.setenv("SCRAMBLER_CACHE_DIR", str(tmp_path_factory.mktemp(name)))
        reset_result_cache()
        yield
        mp.undo()
        reset_result_cache()
    return private_cache


def unrun_page(page: str, predictor: str, *, timeout: float = 180, **state) -> AppTest:
    """A page with the predictor and session state set, not yet run (the caller runs it)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.session_state["app.predictor"] = predictor
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(page)
    return at


def frame_with(at, *columns):
    """The dataframes shown that have all these columns (at least one)."""
    found = [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]
    assert found, [list(d.value.columns) for d in at.dataframe]
    return found


def live_view(at, key: str = "explore_logos") -> dict:
    """What Explore's live chart shows: its frames' budgets, the budget shown first, and that frame's metrics.

    Returns ``{"budgets": [float], "active": float, "realised": float, "mean": float, "original": float,
    "figure": dict}`` (the metrics are parsed from the chart's metrics line).
    """
    import json
    import re

    charts = [c for c in at.get("plotly_chart") if json.loads(c.proto.spec).get("frames")]
    assert charts, "no live chart (a plotly chart with frames) on the page"
    figure = json.loads(charts[0].proto.spec)
    slider = figure["layout"]["sliders"][0]
    budgets = [float(s["label"]) for s in slider["steps"]]
    line = [t for t in figure["data"] if t.get("name") == "metrics"][0]["text"][0]
    found = re.search(r"target ([0-9.]+) bits · realised ([0-9.]+) bits · samples' mean .* ([-0-9.e+]+) "
                      r"\(original ([-0-9.e+]+)", line)
    assert found, line
    target, realised, mean, original = (float(v) for v in found.groups())
    assert target == budgets[slider["active"]], (target, budgets, slider["active"])
    return {"budgets": budgets, "active": target, "realised": realised, "mean": mean, "original": original,
            "figure": figure}
