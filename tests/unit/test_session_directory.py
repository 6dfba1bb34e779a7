"""Uploads live in a per-session temporary folder that is removed when the session ends (issue 9)."""
from __future__ import annotations

import gc
import os
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from pages._ui import sessions

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = '''
import streamlit as st
from pages._ui import sessions
path = sessions.session_directory()
open(path + "/upload.keras", "wb").write(b"data")
st.write(path)
'''


def test_session_folder_is_private_and_removed_when_the_session_ends():
    first, second = AppTest.from_string(SCRIPT), AppTest.from_string(SCRIPT)
    first.run()
    second.run()
    a, b = Path(first.markdown[0].value), Path(second.markdown[0].value)
    assert a != b and a.is_dir() and b.is_dir()
    assert a.name.startswith(sessions.SESSION_DIRECTORY_PREFIX)
    first.run()                                     # the same session keeps its folder and files
    assert Path(first.markdown[0].value) == a and (a / "upload.keras").is_file()
    del first
    gc.collect()                                    # the session's state is gone: so is its folder
    assert not a.exists()
    assert b.is_dir() and (b / "upload.keras").is_file()
    second.session_state["_session_directory_owner"].remove()
    assert not b.exists()


def test_stale_session_folders_are_swept(tmp_path):
    old = tmp_path / (sessions.SESSION_DIRECTORY_PREFIX + "old")
    fresh = tmp_path / (sessions.SESSION_DIRECTORY_PREFIX + "fresh")
    other = tmp_path / "someone_elses"
    for folder in (old, fresh, other):
        folder.mkdir()
        (folder / "f").write_text("x")
    past = time.time() - 48 * 3600
    for path in (old / "f", old, other / "f", other):
        os.utime(path, (past, past))
    assert sessions.remove_stale_session_directories(24, root=tmp_path) == 1
    assert not old.exists() and fresh.is_dir() and other.is_dir()
