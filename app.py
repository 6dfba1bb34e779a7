"""Scrambler Explorer — Streamlit entry point.

Run with ``make run`` (or ``streamlit run app.py``). This file sets up the page,
lists the pages (``pages/``) and draws the predictor choice every page shares
(built-ins, the published models found in ``$SCRAMBLER_MODELS_DIR``, the session's
own models); all computation happens in ``scrambler_core``.

Links open the same view: ``/?predictor=utr5&mode=occlusion&bits=0.25&example=2``,
``/variant?predictor=utr5&variants=6A>G``.
"""
from __future__ import annotations

import streamlit as st

from pages._ui.errors import guard, keep_widget_state
from pages._ui.links import apply_query_once, predictor_from_query
from pages._ui.models import sidebar_predictor
from pages._ui.sessions import sweep_stale_session_directories

st.set_page_config(page_title="Scrambler Explorer", page_icon="🧬", layout="wide")

PAGES = [
    st.Page("pages/explore.py", title="Explore", icon=":material/search:", default=True),
    st.Page("pages/variant.py", title="Variant", icon=":material/difference:", url_path="variant"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:", url_path="compare"),
    st.Page("pages/benchmarks.py", title="Benchmarks", icon=":material/bar_chart:", url_path="benchmarks"),
    st.Page("pages/your_model.py", title="Your model", icon=":material/upload_file:", url_path="your_model"),
]

page = st.navigation(PAGES)
keep_widget_state()
sweep_stale_session_directories()
with guard():
    notes = apply_query_once("app", {"predictor": predictor_from_query})
    with st.sidebar:
        st.title("Scrambler Explorer")
    available = sidebar_predictor()
if available is None:
    st.error("No predictor is available: the built-in weights are missing from pretrained/ and no published model "
             "was found. Train the built-ins with: python -m scrambler_core train-predictor utr5 (and polya), set "
             "SCRAMBLER_MODELS_DIR to a folder with the published models' files (see the sidebar), or upload your "
             "own model.")
    if page.title != "Your model":
        st.stop()
for note in notes:
    st.warning(note)
page.run()
