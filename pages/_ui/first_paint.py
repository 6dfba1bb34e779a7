"""Explore's first view while a freshly started server warms up, drawn without TensorFlow.

``app.py`` calls :func:`draw_while_warming` before it imports anything that loads TensorFlow. When
``make run``'s warm-up (:mod:`pages._ui.warmup`) is still loading and the visit asks for Explore's
default view, the shipped first view (:mod:`scrambler_core.scrambler.first_view`) is drawn at once (its
0.5-bit frame only);
when the models are ready the page runs again, live. Any other visit waits with a progress message.
"""
from __future__ import annotations

import streamlit as st

from pages._ui import warmup
from pages._ui.figures import show_plotly
from scrambler_core.examples import examples
from scrambler_core.scrambler.first_view import FIRST_VIEW, read_first_view
from scrambler_core.slider_figure import bits_slider_figure

LOGOS_KEY = "explore_logos"          # Explore's live chart (the same element once the page runs live)
SHIPPED = ("utr5", "polya")          # built-ins whose first view is shipped (python -m scrambler_core first-view)
WAITING = "Starting up: loading TensorFlow and the built-in models (a few seconds after a server start)…"


def explore_keys(name: str) -> dict:
    """Session-state keys of Explore's inputs for predictor ``name``."""
    return {"sequence": f"explore.sequence.{name}", "example": f"explore.example.{name}",
            "zoom": f"explore.zoom.{name}", "record": f"explore.record.{name}",
            "exclude": f"explore.exclude.{name}"}


def is_default_view(name: str) -> bool:
    """A fresh visit's view: the default predictor, mode, budget, samples and first example, nothing excluded."""
    query, state = st.query_params, st.session_state
    if not set(query) <= {"predictor", "mode", "bits", "example"} or query.get("example", "1") != "1":
        return False
    if query.get("mode", "inclusion") != "inclusion" or float(query.get("bits", FIRST_VIEW["bits"])) != 0.5:
        return False
    keys = explore_keys(name)
    first = examples(name)[0].sequence
    return (state.get("explore.mode", "inclusion") == "inclusion"
            and float(state.get("explore.bits", FIRST_VIEW["bits"])) == FIRST_VIEW["bits"]
            and int(state.get("explore.n_samples", FIRST_VIEW["n_samples"])) == FIRST_VIEW["n_samples"]
            and state.get(keys["sequence"], first) == first and not state.get(keys["exclude"]))


def _requested_predictor() -> str:
    return st.query_params.get("predictor") or st.session_state.get("app.predictor") or warmup.DEFAULT_PREDICTOR


def draw_while_warming(page) -> None:
    """While the warm-up runs: Explore's shipped first view (then a live rerun), or a progress message."""
    if not warmup.running():
        return
    name = _requested_predictor()
    shipped = None
    if page.title == "Explore" and name in SHIPPED and is_default_view(name):
        shipped = read_first_view(name)
    if shipped is not None:
        st.title("Explore")
        st.caption(f"**{name}** · starting up: this first view was computed when the models were built; the page "
                   "becomes interactive as soon as TensorFlow and the models are loaded (a few seconds).")
        sweep = shipped[0].subset([shipped[0].nearest(FIRST_VIEW["bits"])])     # one frame: light to send and draw
        show_plotly(bits_slider_figure(sweep, start_bits=FIRST_VIEW["bits"], prediction_label=f"{name} prediction"),
                    key=LOGOS_KEY)
    warmup.first_view_sent()
    with st.spinner(WAITING):
        warmup.wait()
    if shipped is not None:
        st.rerun()
