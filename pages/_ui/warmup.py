"""Start the app warm: ``python -m pages._ui.warmup [streamlit options]`` (what ``make run`` does).

Streamlit runs ``app.py`` only when a browser opens a session, so everything the first Explore view
needs (TensorFlow, the default predictor and scrambler, their compiled graphs) would otherwise be
loaded while the first visitor waits. This launcher starts ``streamlit run app.py`` in this process
and, beside it, a thread that loads the default models into the same ``st.cache_resource`` entries
the pages use and runs one explanation and one live-slider sweep of the default example, which
traces the graphs. A visit that arrives before the thread is done sees Explore's shipped first view
(:mod:`pages._ui.first_paint`; the thread waits up to :data:`PAINT_WAIT` seconds for it to go out,
so TensorFlow's import does not slow it down) or a progress message.
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

DEFAULT_PREDICTOR = "utr5"
DEFAULT_MODE = "inclusion"
PAINT_WAIT = 2.0             # seconds the warm-up waits for a first visit's shipped view to be sent
_STATE = {"thread": None, "seconds": None, "error": None, "painted": threading.Event()}


def warm_default_view(name: str = DEFAULT_PREDICTOR, mode: str = DEFAULT_MODE) -> float:
    """Load ``name``'s predictor and ``mode`` scrambler (cached for the pages) and trace their graphs.

    Returns
    -------
    float — seconds it took
    """
    started = time.perf_counter()
    from pages._ui.inputs import BITS_DEFAULT, examples_for
    from pages._ui.models import _builtin_predictor, _builtin_scrambler

    _builtin_predictor(name)
    # the same arguments as get_scrambler passes: st.cache_resource keys on the arguments as given
    scrambler = _builtin_scrambler(name, mode, "reconstruct", False, None)
    sequence = examples_for(name)[0].sequence
    scrambler.explain([sequence], target_bits=BITS_DEFAULT, n_samples=32)
    scrambler.explain_bits_grid(sequence, n_samples=32)
    return time.perf_counter() - started


def _run() -> None:
    # let a first visit's shipped view go out before TensorFlow's import competes with it for the
    # interpreter; without a visit, start after a short pause (the server's own start)
    _STATE["painted"].wait(PAINT_WAIT)
    try:
        _STATE["seconds"] = warm_default_view()
        print(f"scrambler explorer: default models ready in {_STATE['seconds']:.1f} s", file=sys.stderr)
    except Exception as err:      # noqa: BLE001 - a failed warm-up only means a cold first visit
        _STATE["error"] = f"{type(err).__name__}: {err}"
        print(f"scrambler explorer: warm-up skipped ({_STATE['error']})", file=sys.stderr)


def start() -> threading.Thread:
    """Start the warm-up thread (once per process)."""
    if _STATE["thread"] is None:
        _STATE["thread"] = threading.Thread(target=_run, name="scrambler-warmup", daemon=True)
        _STATE["thread"].start()
    return _STATE["thread"]


def first_view_sent() -> None:
    """Called by the first visit once its shipped view is drawn: the warm-up may start loading now."""
    _STATE["painted"].set()


def running() -> bool:
    """True while the warm-up thread is still loading."""
    thread = _STATE["thread"]
    return thread is not None and thread.is_alive()


def wait(timeout: float = 300.0) -> None:
    """Block until the warm-up is over (at most ``timeout`` seconds)."""
    thread = _STATE["thread"]
    if thread is not None:
        thread.join(timeout)


def main(argv: list[str] | None = None) -> None:
    """``streamlit run app.py ARGV...`` in this process, with the warm-up thread beside it."""
    from streamlit.web import cli

    from streamlit.runtime.pages_manager import PagesManager

    app = str(Path(__file__).resolve().parents[2] / "app.py")
    # app.py's st.navigation from the first request on (see pages/_ui/shell.py), not the pages/ folder
    PagesManager.uses_pages_directory = False
    start()
    sys.argv = ["streamlit", "run", app, *(sys.argv[1:] if argv is None else argv)]
    sys.exit(cli.main())


if __name__ == "__main__":
    # run the importable module's main, so that app.py (which imports pages._ui.warmup) sees this thread
    from pages._ui.warmup import main as _main
    _main()
