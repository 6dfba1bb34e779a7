"""Error handling of the pages (``guard``) and the Streamlit run settings every page needs
(Keras state kept between runs, widget values kept across page switches)."""
from __future__ import annotations

import logging
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import streamlit as st  # noqa: E402

import scrambler_core as sc  # noqa: E402

LOG = logging.getLogger("scrambler_explorer")

USER_ERRORS = (sc.SequenceError, sc.ModelFileError, ValueError)


@contextmanager
def guard(context: str = ""):
    """Run page code; a user error shows ``st.error(reason)``, anything else a short message.

    Streamlit's own control flow (``st.stop``, ``st.rerun``) passes through: it
    derives from BaseException, not Exception.
    """
    try:
        yield
    except USER_ERRORS as err:
        st.error(f"{context}{err}" if context else str(err))
        st.stop()
    except Exception as err:  # never show a traceback; log it for the operator
        LOG.exception("unexpected error%s", f" ({context})" if context else "")
        st.error(f"Something went wrong{f' ({context})' if context else ''}: {type(err).__name__}: "
                 f"{str(err).splitlines()[0] if str(err) else 'no detail'}. Your inputs are kept; "
                 "change them or reload the page.")
        st.stop()


def keep_keras_state_between_runs() -> None:
    """Stop Streamlit from resetting Keras after every script run (the slider's main cost).

    After each run Streamlit calls ``keras.backend.clear_session()`` (its private
    ``script_runner._clean_problem_modules``); the next TensorFlow call then re-optimises
    its graphs, about 1 s per rerun, while the explanation itself takes 10-15 ms. The
    models live in ``st.cache_resource`` and must survive reruns anyway, so only the
    other half of that clean-up (closing matplotlib figures) is kept. The full garbage
    collection after each run is switched off in ``.streamlit/config.toml``
    (``runner.postScriptGC = false``). Does nothing if Streamlit changes that private API.
    """
    try:
        from streamlit.runtime.scriptrunner import script_runner
    except ImportError:       # pragma: no cover - another Streamlit layout
        return
    current = getattr(script_runner, "_clean_problem_modules", None)
    if current is None or getattr(current, "_scrambler_keeps_keras", False):
        return

    def close_figures_only() -> None:
        plt.close("all")

    close_figures_only._scrambler_keeps_keras = True
    script_runner._clean_problem_modules = close_figures_only

keep_keras_state_between_runs()


def keep_widget_state() -> None:
    """Keep the value of every widget whose key contains a dot across page switches.

    Streamlit forgets a widget's value when a run does not draw it (e.g. on another
    page); writing the value back into ``st.session_state`` at the start of every run
    keeps it, so nothing the user typed is lost.
    """
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and "." in key and not key.startswith("_"):
            try:
                st.session_state[key] = st.session_state[key]
            except Exception:  # a key Streamlit does not let us set (should not happen)
                pass
