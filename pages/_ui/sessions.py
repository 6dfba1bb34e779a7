"""Each browser session's private temporary folder (uploads), removed when the session ends."""
from __future__ import annotations

import shutil
import tempfile
import time
import weakref
from pathlib import Path

import streamlit as st

SESSION_DIRECTORY_PREFIX = "scrambler_session_"

STALE_SESSION_HOURS = 24


class SessionDirectory:
    """Owns one browser session's temporary folder and removes it when the session ends.

    It lives in ``st.session_state``; Streamlit drops a session's state when the browser has
    gone (after its reconnection grace period), the object is then garbage collected and
    ``weakref.finalize`` deletes the folder. The finalizer also runs when the server exits.
    """

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix=SESSION_DIRECTORY_PREFIX)
        self.finalizer = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    def remove(self) -> None:
        """Delete the folder now."""
        self.finalizer()


def remove_stale_session_directories(max_age_hours=STALE_SESSION_HOURS, root=None) -> int:
    """Delete session folders left by a server that was killed (untouched for ``max_age_hours``); returns how many."""
    root = Path(root or tempfile.gettempdir())
    cutoff = time.time() - max_age_hours * 3600
    removed = 0
    for folder in root.glob(SESSION_DIRECTORY_PREFIX + "*"):
        try:
            newest = max([folder.stat().st_mtime] + [p.stat().st_mtime for p in folder.rglob("*")])
            if folder.is_dir() and newest < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


@st.cache_resource(show_spinner=False)
def sweep_stale_session_directories() -> int:
    """Once per server process: remove session folders a killed server left behind."""
    return remove_stale_session_directories()


def session_directory() -> str:
    """A temporary directory private to this browser session (uploads live here only), removed when it ends."""
    holder = st.session_state.get("_session_directory_owner")
    if holder is None or not Path(holder.path).is_dir():
        holder = SessionDirectory()
        st.session_state["_session_directory_owner"] = holder
        st.session_state["_session_directory"] = holder.path
    return holder.path
