"""Helpers shared by the AppTest page tests: open one page with a predictor, read what it shows.

Imported as ``from pagetools import ...`` (pytest puts tests/ on sys.path, as for ``conftest``).
"""
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def open_page(page: str, predictor: str, *, timeout: float = 180, **state) -> AppTest:
    """One page run on its own (AppTest runs a page chosen before the first run without app.py, so the
    predictor is set in session state)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.session_state["app.predictor"] = predictor
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(page)
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
