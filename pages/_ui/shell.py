"""The app's shell (``app.py``: page list, shared sidebar) must run before every page.

Streamlit starts in its old "pages/ folder" mode until the main script has called ``st.navigation``
once: on a freshly started server, the first request for a page's own address (``/compare?...``)
runs ``pages/compare.py`` by itself, without ``app.py``'s sidebar or link handling. Every page
therefore calls :func:`require_shell` first; run that way, it switches Streamlit to ``app.py``'s
navigation and reruns, so ``app.py`` runs and then the page, with the same address and link.
"""
from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

_LOCAL = threading.local()          # script runs of one session happen on one thread
APP_SCRIPT = "app.py"


class shell_running:
    """Context manager ``app.py`` wraps around ``page.run()``: the shell has run in this script run."""

    def __enter__(self):
        _LOCAL.active = True
        return self

    def __exit__(self, *exc):
        _LOCAL.active = False
        return False


def require_shell() -> None:
    """Hand a page that Streamlit ran without ``app.py`` over to ``app.py`` (a rerun), once per session."""
    if getattr(_LOCAL, "active", False):
        return
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or Path(ctx.main_script_path).name != APP_SCRIPT:
        return                     # the page is the main script itself (a test runs it alone): nothing to hand over
    if st.session_state.get("_shell_handover"):
        return                     # tried once already: draw the page as it is rather than loop
    st.session_state["_shell_handover"] = True
    PagesManager.uses_pages_directory = False
    st.rerun()
