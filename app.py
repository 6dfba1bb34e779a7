"""Scrambler Explorer — Streamlit entry point.

Run with ``make run`` (``python -m pages._ui.warmup``: ``streamlit run app.py`` with the default
models loaded and warmed while the server starts), or plainly ``streamlit run app.py``. This file sets up the page,
lists the pages (``pages/``) and draws the predictor choice every page shares
(built-ins, the published models found in ``$SCRAMBLER_MODELS_DIR``, the session's
own models); all computation happens in ``scrambler_core``.

Links open the same view: ``/?predictor=utr5&mode=occlusion&bits=0.25&example=2``,
``/variant?predictor=utr5&variants=6A>G``.
"""
from __future__ import annotations

import streamlit as st

from pages._ui.first_paint import draw_while_warming
from pages._ui.shell import shell_running

st.set_page_config(page_title="Scrambler Explorer", page_icon="🧬", layout="wide")

PAGES = [
    st.Page("pages/explore.py", title="Explore", icon=":material/search:", default=True),
    st.Page("pages/variant.py", title="Variant", icon=":material/difference:", url_path="variant"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:", url_path="compare"),
    st.Page("pages/benchmarks.py", title="Benchmarks", icon=":material/bar_chart:", url_path="benchmarks"),
    st.Page("pages/your_model.py", title="Your model", icon=":material/upload_file:", url_path="your_model"),
]
NO_PREDICTOR = ("No predictor is available: this installation has no built-in weights and no published model was "
                "found. Ask whoever runs this server to install the built-in models (the README's two commands do) "
                "or to point it at the published models' files (see the sidebar), or upload your own model on the "
                "Your model page.")


def run(page) -> None:
    """The shared sidebar, then the page (the helpers imported here load TensorFlow)."""
    from pages._ui.errors import guard, keep_widget_state
    from pages._ui.links import apply_query_once, predictor_from_query
    from pages._ui.models import sidebar_predictor
    from pages._ui.sessions import sweep_stale_session_directories

    keep_widget_state()
    sweep_stale_session_directories()
    with guard():
        notes = apply_query_once("app", {"predictor": predictor_from_query})
        available = sidebar_predictor()
    if available is None:
        st.error(NO_PREDICTOR)
        if page.title != "Your model":
            st.stop()
    for note in notes:
        st.warning(note)
    with shell_running():
        page.run()


# the page list is drawn by hand (st.page_link) and Streamlit's own navigation is off
# (.streamlit/config.toml: client.showSidebarNavigation = false): while the server starts, Streamlit
# would otherwise list the raw file names of pages/ before this script has run
page = st.navigation(PAGES, position="hidden")
with st.sidebar:
    for entry in PAGES:
        st.page_link(entry)
    st.divider()
    st.title("Scrambler Explorer")
draw_while_warming(page)      # a freshly started server: Explore's first view at once, or a progress message
run(page)
