"""What every page shares: predictor choice, cached models and results, URL state,
error handling, figures and downloads. Not a page itself (``app.py`` lists the pages).

Rules the pages follow
----------------------
* Page content runs inside ``with guard():`` so a bad input shows ``st.error`` with
  the reason and an unexpected failure a short message; never a traceback.
* Widget keys that contain a ``.`` (``"explore.bits"``) keep their value when the
  user visits another page and comes back (``keep_widget_state`` in ``app.py``).
  Buttons, uploaders and download buttons use keys without a dot.
* Attributions and predictions come from ``scrambler_core``; expensive results go
  through ``cached`` (disk, keyed by the model's fingerprint and the parameters).
"""
from __future__ import annotations

import io
import logging
import os
import shutil
import tempfile
import time
import weakref
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

import scrambler_core as sc  # noqa: E402
from scrambler_core import examples as builtin_examples  # noqa: E402
from scrambler_core import external, plot  # noqa: E402
from scrambler_core.cache import ResultCache, cache_key, fingerprint  # noqa: E402
from scrambler_core.logo_figures import logo_heights_importance, logo_heights_pwm, logos_figure  # noqa: E402
from scrambler_core.predictors import PAIR_BUILTINS  # noqa: E402
from scrambler_core.sequences import SequenceError, validate_sequence  # noqa: E402
from scrambler_core.variants import format_variants  # noqa: E402

LOG = logging.getLogger("scrambler_explorer")

MODES = ("inclusion", "occlusion")
BITS_MIN, BITS_MAX, BITS_STEP, BITS_DEFAULT = 0.05, 2.0, 0.05, 0.5
SEED = 0
PREDICTOR_KEY = "app.predictor"
USER_MODELS_KEY = "_user_models"
USER_ERRORS = (sc.SequenceError, sc.ModelFileError, ValueError)
PLOTLY_CONFIG = {"displaylogo": False,
                 "toImageButtonOptions": {"format": "svg", "filename": "scrambler_explorer"}}


# ----------------------------------------------------------------------------- errors

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


# ----------------------------------------------------------------------------- predictors

@st.cache_resource(show_spinner="Loading predictor…")
def _builtin_predictor(name: str):
    return sc.load_predictor(name)


@st.cache_resource(show_spinner="Loading scrambler…")
def _builtin_scrambler(name: str, mode: str, objective: str = "reconstruct", dropout: bool = False,
                       architecture: str | None = None):
    return sc.load_scrambler(name, mode=mode, predictor=_builtin_predictor(name), objective=objective,
                             dropout=dropout, architecture=architecture)


@st.cache_resource(show_spinner="Loading the published model…")
def _published_predictor(name: str, path: str):
    """A published model read from ``path`` (once per process and file)."""
    return sc.load_predictor(name, path=path)


@st.cache_resource(show_spinner="Loading scrambler…")
def _published_scrambler(name: str, path: str, mode: str, objective: str = "reconstruct"):
    """The pretrained scrambler for the published model at ``path`` (a missing one is retried on every call)."""
    return sc.load_scrambler(name, mode=mode, predictor=_published_predictor(name, path), path=path,
                             objective=objective)


@st.cache_data(ttl=60, show_spinner=False)
def _find_published(directory: str) -> dict:
    """``{name: path}`` of the published models found under ``directory`` (rescanned every minute)."""
    return {name: str(path) for name, path in external.available_external(directory).items()}


def published_models() -> dict:
    """Published models whose files are in ``$SCRAMBLER_MODELS_DIR``: ``{name: path}`` (empty when unset)."""
    directory = os.environ.get(external.MODELS_DIR_VARIABLE, "").strip()
    return _find_published(directory) if directory else {}


@st.cache_resource
def result_cache() -> ResultCache:
    """The process's on-disk result cache (``SCRAMBLER_CACHE_DIR`` or ``~/.cache/scrambler-explorer``)."""
    return ResultCache()


def user_models() -> dict:
    """This browser session's own models: ``{name: {"predictor", "scramblers", "card", "directory"}}``."""
    return st.session_state.setdefault(USER_MODELS_KEY, {})


def register_user_model(predictor, scramblers: dict, *, label: str | None = None, card=None,
                        directory=None) -> str:
    """Make an uploaded predictor (and its scramblers by mode) available on every page.

    Only this browser session sees it. Returns the name it is listed under.
    """
    base = f"{label or predictor.name} (yours)"
    models = user_models()
    name, k = base, 2
    while name in models and models[name]["predictor"] is not predictor:
        name, k = f"{base} {k}", k + 1
    entry = models.setdefault(name, {"predictor": predictor, "scramblers": {}, "card": card,
                                     "directory": directory})
    entry["scramblers"].update(scramblers or {})
    if card is not None:
        entry["card"] = card
    return name


def predictor_names() -> list[str]:
    """Built-in predictors with weights present, then published models found in
    ``$SCRAMBLER_MODELS_DIR``, then this session's own models."""
    builtins = sc.list_predictors()
    published = [n for n in published_models() if n not in builtins]
    return builtins + published + list(user_models())


def get_predictor(name: str):
    """The predictor listed as ``name``: the session's own, a built-in or a published model
    (both loaded once per process).

    Raises
    ------
    ModelFileError
        When ``name`` is a published model whose file is no longer found.
    """
    models = user_models()
    if name in models:
        return models[name]["predictor"]
    if name in external.EXTERNAL_PREDICTORS:
        path = published_models().get(name)
        if path is None:
            raise sc.ModelFileError(f"{name} is not available: its file is not in `${external.MODELS_DIR_VARIABLE}`."
                                    f"\n{external.how_to_get(name)}")
        return _published_predictor(name, path)
    return _builtin_predictor(name)


def is_pair_predictor(predictor) -> bool:
    """True for a predictor that reads two sequences (``external.PairPredictor``)."""
    return bool(getattr(predictor, "is_pair", False))


def single_sequence_pages_only(predictor, page: str) -> None:
    """On a page that explains one sequence, stop with a note when ``predictor`` reads pairs."""
    if is_pair_predictor(predictor):
        st.title(page)
        describe_predictor(predictor)
        st.info(f"{predictor.name} reads a pair of sequences. Pair predictors are supported on the Explore and "
                "Compare pages only for now (prediction, per-residue in-silico mutagenesis, attribution maps of both "
                "chains and, where pretrained, pair-scrambler logos). Choose another predictor in the sidebar to use "
                "this page.")
        st.stop()


SCRAMBLER_KINDS = {"reconstruct": "", "maximize": "positive-feature (maximize) ",
                    "minimize": "negative-feature (minimize) "}


def get_scrambler(name: str, mode: str, *, objective: str = "reconstruct", dropout: bool = False,
                  architecture: str | None = None):
    """The bits-conditioned scrambler for predictor ``name`` and ``mode``.

    ``objective`` ("maximize"/"minimize": positive/negative features), ``dropout`` (trained with
    mask dropout, so it accepts excluded positions) and ``architecture`` (pair predictors:
    "siamese"/"joint") choose among the pretrained built-in scramblers.

    Raises
    ------
    ModelFileError
        When no scrambler exists for that predictor and those settings.
    """
    models = user_models()
    special = objective != "reconstruct" or dropout
    what = f"{SCRAMBLER_KINDS.get(objective, '')}{mode}{' mask-dropout' if dropout else ''} scrambler"
    if name in models:
        scramblers = models[name]["scramblers"]
        if special:
            raise sc.ModelFileError(f"there is no {what} for {name}: the Your model page trains reconstructing "
                                    "scramblers only")
        if mode not in scramblers:
            raise sc.ModelFileError(f"no {mode} scrambler has been trained for {name} yet; "
                                    "train one on the Your model page")
        return scramblers[mode]
    pair = is_pair_predictor(get_predictor(name))
    if pair and name not in PAIR_BUILTINS:
        raise sc.ModelFileError(f"{name} reads pairs of sequences; scramblers for this pair predictor are not "
                                "available yet")
    if name in external.EXTERNAL_PREDICTORS:
        if dropout:
            raise sc.ModelFileError(f"there is no {what} for the published {name} model")
        return _published_scrambler(name, published_models()[name], mode, objective)
    return _builtin_scrambler(name, mode, objective, bool(dropout), (architecture or "siamese") if pair else None)


def mode_and_bits(page: str, *, mode_help: str, bits_help: str, mode_label: str = "Mode",
                  bits_label: str = "Target bits") -> tuple[str, float]:
    """The scrambler mode radio and the target-bits slider of ``page`` (keys ``{page}.mode`` and
    ``{page}.bits``), drawn where the caller is (the sidebar); returns ``(mode, bits)``."""
    st.session_state.setdefault(f"{page}.mode", "inclusion")
    st.session_state.setdefault(f"{page}.bits", BITS_DEFAULT)
    mode = st.radio(mode_label, MODES, key=f"{page}.mode", horizontal=True, help=mode_help)
    bits = st.slider(bits_label, BITS_MIN, BITS_MAX, step=BITS_STEP, key=f"{page}.bits", help=bits_help)
    return mode, round(float(bits), 2)  # the slider's float steps carry rounding noise


def current_predictor_name() -> str:
    """The predictor chosen in the sidebar."""
    names = predictor_names()
    name = st.session_state.get(PREDICTOR_KEY)
    return name if name in names else names[0]


PUBLISHED_TITLE = "Published models (Optimus 5-Prime, APARENT2, binder)"


def sidebar_published_models() -> None:
    """Sidebar note on the published models: which files were found, or how to get them."""
    found = published_models()
    if found:
        lines = [f"**{name}**: {os.path.basename(path)}" for name, path in found.items()]
        missing = [n for n in external.EXTERNAL_PREDICTORS if n not in found]
        st.sidebar.caption(f"Published models found in `${external.MODELS_DIR_VARIABLE}`:  \n" + "  \n".join(lines)
                           + (f"  \nNot found: {', '.join(missing)}." if missing else ""))
        return
    with st.sidebar.expander(PUBLISHED_TITLE):
        directory = os.environ.get(external.MODELS_DIR_VARIABLE, "").strip()
        if directory:
            st.caption(f"`${external.MODELS_DIR_VARIABLE}` = {directory} holds none of their files.")
        st.markdown(published_how_to())


def published_how_to() -> str:
    """``external.how_to_get()`` as Markdown (its list lines kept as a list)."""
    lines = external.how_to_get().splitlines()
    return "\n\n".join([lines[0], "\n".join(lines[1:])])


def sidebar_predictor() -> str | None:
    """Draw the sidebar's predictor choice (shared by every page); ``None`` when none exists."""
    names = predictor_names()
    if not names:
        st.sidebar.error("No predictor weights were found in pretrained/. Train one with: "
                         "python -m scrambler_core train-predictor utr5")
        sidebar_published_models()
        return None
    if st.session_state.get(PREDICTOR_KEY) not in names:
        st.session_state[PREDICTOR_KEY] = names[0]
    chosen = st.sidebar.selectbox("Predictor", names, key=PREDICTOR_KEY,
                                  format_func=predictor_label,
                                  help="Built-in predictors, published models found in $SCRAMBLER_MODELS_DIR, and "
                                       "models you uploaded on the Your model page (visible to you only).")
    sidebar_published_models()
    return chosen


def predictor_label(name: str) -> str:
    """How the sidebar lists a predictor: published models get a short tag."""
    if name in external.EXTERNAL_PREDICTORS and name not in sc.list_predictors() and name not in user_models():
        return f"{name} (published)"
    return name


def describe_predictor(predictor) -> None:
    """One caption line: what the predictor reads and outputs."""
    if is_pair_predictor(predictor):
        st.caption(f"**{predictor.name}**: {predictor.description} · two chains of {predictor.min_length}–"
                   f"{predictor.max_length} {predictor.alphabet.unit}, alphabet {predictor.alphabet.letters} · "
                   f"output: probability ({predictor.output_kind})")
        return
    st.caption(f"**{predictor.name}**: {predictor.description or 'your model'} · "
               f"{predictor.sequence_length} {predictor.alphabet.unit}, alphabet {predictor.alphabet.letters} · "
               f"output: {predictor.output_kind}")


# ----------------------------------------------------------------------------- URL state

def snap_bits(value) -> float | None:
    """A bits value from a link, clipped to the slider's range and step; None if not a number."""
    try:
        bits = float(value)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(bits):
        return None
    bits = min(max(bits, BITS_MIN), BITS_MAX)
    return round(round(bits / BITS_STEP) * BITS_STEP, 2)


def apply_query_once(page: str, handlers: dict) -> list[str]:
    """Seed widget state from the link (``?key=value``) once per session and page.

    Parameters
    ----------
    page : str
        Page name (each page reads its link once).
    handlers : dict
        ``{query key: callable(value) -> str | None}``; a handler sets session state
        and returns a warning when the value cannot be used.

    Returns
    -------
    list of str — warnings to show.
    """
    flag = f"_query_applied_{page}"
    if st.session_state.get(flag):
        return []
    st.session_state[flag] = True
    notes = []
    for key, handler in handlers.items():
        value = st.query_params.get(key)
        if value is not None:
            note = handler(value)
            if note:
                notes.append(note)
    return notes


def predictor_from_query(value: str) -> str | None:
    """Query handler for ``predictor``."""
    names = predictor_names()
    if value in names:
        st.session_state[PREDICTOR_KEY] = value
        return None
    note = ""
    if value in external.EXTERNAL_PREDICTORS:
        note = f" {value} is a published model: its file must be in `${external.MODELS_DIR_VARIABLE}` on the server."
    return (f"The link asks for predictor {value!r}, which is not available here (available: {', '.join(names)})."
            + note)


def mode_from_query(key: str):
    """Query handler for ``mode``: sets widget ``key`` to inclusion/occlusion."""
    def handler(value):
        if value in MODES:
            st.session_state[key] = value
            return None
        return f"The link asks for mode {value!r}; choose inclusion or occlusion."
    return handler


def bits_from_query(key: str):
    """Query handler for ``bits``: sets widget ``key`` to the value snapped to the slider."""
    def handler(value):
        bits = snap_bits(value)
        if bits is None:
            return f"The link's bits value {value!r} is not a number."
        st.session_state[key] = bits
        return None
    return handler


def deferred_from_query(page: str, kind: str):
    """Query handler that keeps the value until the page knows its predictor (see ``pop_link``)."""
    def handler(value):
        st.session_state[f"_{page}_{kind}_request"] = value
        return None
    return handler


def pop_link(page: str, kind: str):
    """The value a ``deferred_from_query`` handler kept (once), or None."""
    return st.session_state.pop(f"_{page}_{kind}_request", None)


def linked_example(name: str, examples: list, request):
    """The example a link's 1-based ``example`` value names.

    Returns
    -------
    (example or None, warning or None)
    """
    if request is None:
        return None, None
    try:
        index = int(request) - 1
        if 0 <= index < len(examples):
            return examples[index], None
    except ValueError:
        pass
    return None, (f"The link asks for example {request!r}; {name} has examples 1-{len(examples)}."
                  if examples else f"The link asks for an example but {name} has none.")


def write_query(values: dict) -> None:
    """Replace the page's link parameters with ``values`` (only when they changed)."""
    wanted = {k: str(v) for k, v in values.items() if v is not None}
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)


# ----------------------------------------------------------------------------- positions

def format_ranges(positions) -> str:
    """1-based positions as compact ranges: ``[60, 61, 62, 101]`` -> ``"60-62, 101"``."""
    positions = sorted({int(p) for p in positions})
    parts, k = [], 0
    while k < len(positions):
        end = k
        while end + 1 < len(positions) and positions[end + 1] == positions[end] + 1:
            end += 1
        parts.append(str(positions[k]) if end == k else f"{positions[k]}-{positions[end]}")
        k = end + 1
    return ", ".join(parts)


def selected_positions(event, length: int) -> set:
    """1-based positions selected on a logo chart (clicked letters and box selections), inside 1..length."""
    selection = (event or {}).get("selection", {}) if hasattr(event, "get") else {}
    found = set()
    for point in selection.get("points", []) or []:
        x = point.get("x") if hasattr(point, "get") else None
        if isinstance(x, (int, float)) and np.isfinite(x):
            found.add(int(round(x)))
    for box in selection.get("box", []) or []:
        xs = box.get("x") if hasattr(box, "get") else None
        if xs and len(xs) == 2 and all(isinstance(v, (int, float)) for v in xs):
            low, high = sorted(xs)
            found.update(range(int(np.ceil(low)), int(np.floor(high)) + 1))
    return {p for p in found if 1 <= p <= length}



# ----------------------------------------------------------------------------- examples and sequences

def examples_for(name: str) -> list:
    """Examples for a predictor: the grammar examples of a built-in, the examples of a published model
    (``scrambler_core.examples``), else the first uploaded sequences."""
    models = user_models()
    if name in models:
        seqs = (models[name].get("card") or {}).get("example_sequences") or []
        return [builtin_examples.Example(f"your sequence {k + 1}", s, np.zeros(len(s), bool), "")
                for k, s in enumerate(seqs[:3])]
    return builtin_examples.examples(name)


def example_and_sequence_input(predictor, examples: list, keys: dict) -> str:
    """Draw the example choice and the sequence box; returns the box's text.

    ``keys`` holds the widget keys ``"example"`` and ``"sequence"``; choosing an example
    writes its sequence into the box, and the box starts with the first example.
    """
    labels = [e.label for e in examples]
    if keys["sequence"] not in st.session_state:
        st.session_state[keys["sequence"]] = examples[0].sequence if examples else ""

    def _load_example():
        chosen = st.session_state.get(keys["example"])
        if chosen in labels:
            st.session_state[keys["sequence"]] = examples[labels.index(chosen)].sequence

    if examples:
        st.selectbox("Example", labels, key=keys["example"], on_change=_load_example,
                     help="Built-in predictors: sequences from the grammar they were trained on. Published "
                          "models: sequences in their input convention with planted elements. The true elements "
                          "are known.")
    text = st.text_area(f"Sequence ({predictor.sequence_length} {predictor.alphabet.unit}) or FASTA",
                        key=keys["sequence"], height=110,
                        help="Paste one bare sequence or FASTA records; spaces, line breaks and digits are ignored.")
    return text


def parse_one_sequence(text: str, predictor, record_key: str):
    """Parse a pasted sequence or FASTA for ``predictor``; choose a record when there are several.

    Returns
    -------
    (record_id, sequence)
    """
    records = sc.parse_text(text, predictor.alphabet, length=predictor.sequence_length)
    if len(records) > 1:
        ids = [rid for rid, _ in records]
        chosen = st.selectbox("Record", ids, key=record_key)
        return records[ids.index(chosen) if chosen in ids else 0]
    return records[0]


# ----------------------------------------------------------------------------- pairs of chains

def pair_keys(page: str, name: str) -> dict:
    """Widget keys of a pair predictor's inputs on ``page``: chain ``"a"``, chain ``"b"`` and ``"example"``."""
    return {"a": f"{page}.chain_a.{name}", "b": f"{page}.chain_b.{name}", "example": f"{page}.pair_example.{name}"}


def apply_pair_link(page: str, name: str, examples: list, keys: dict, notes: list) -> None:
    """Put a link's example pair into the chain boxes and show the page's link warnings.

    A link's ``seq`` value cannot name two chains: it is dropped with a warning.
    """
    example, note = linked_example(name, examples, pop_link(page, "example"))
    if example is not None:
        st.session_state[keys["example"]] = example.label
        st.session_state[keys["a"]], st.session_state[keys["b"]] = example.chain_a, example.chain_b
    if pop_link(page, "seq") is not None:
        notes = notes + [f"{name} reads two chains; a link's seq value is ignored."]
    for text in notes + ([note] if note else []):
        st.warning(text)


def pair_input(predictor, examples: list, keys: dict, letters_help: str, describe: bool = False):
    """Draw the example choice and the two chain boxes; returns the boxes' texts ``(text_a, text_b)``.

    The boxes start with the first example and choosing an example writes both its chains into
    them; ``describe`` shows the description of the example the boxes hold.
    """
    labels = [e.label for e in examples]
    if keys["a"] not in st.session_state:
        st.session_state[keys["a"]] = examples[0].chain_a if examples else ""
        st.session_state[keys["b"]] = examples[0].chain_b if examples else ""

    def _load_example():
        chosen = st.session_state.get(keys["example"])
        if chosen in labels:
            picked = examples[labels.index(chosen)]
            st.session_state[keys["a"]], st.session_state[keys["b"]] = picked.chain_a, picked.chain_b

    if examples:
        st.selectbox("Example", labels, key=keys["example"], on_change=_load_example)
        if describe:
            shown = next((e for e in examples if e.chain_a == st.session_state[keys["a"]]
                          and e.chain_b == st.session_state[keys["b"]]), None)
            if shown is not None:
                st.caption(shown.description)
    unit = f"{predictor.min_length}–{predictor.max_length} {predictor.alphabet.unit}"
    c1, c2 = st.columns(2)
    text_a = c1.text_area(f"Chain a ({unit})", key=keys["a"], height=90,
                          help=f"{letters_help}; spaces and line breaks are ignored.")
    text_b = c2.text_area(f"Chain b ({unit})", key=keys["b"], height=90,
                          help=f"{letters_help}; spaces and line breaks are ignored.")
    return text_a, text_b


def read_chain(text: str, predictor, which: str) -> str:
    """Chain ``which`` ("a"/"b") of a pair, checked against the predictor's alphabet and lengths."""
    chain = validate_sequence(text, predictor.alphabet, name=f"chain {which}")
    if not predictor.min_length <= len(chain) <= predictor.max_length:
        raise SequenceError(f"chain {which} has {len(chain)} residues; {predictor.name} takes "
                            f"{predictor.min_length}-{predictor.max_length}")
    return chain


def pair_example_index(examples: list, chain_a: str, chain_b: str) -> int | None:
    """0-based index of the example pair ``(chain_a, chain_b)``, or None."""
    return next((k for k, e in enumerate(examples) if (e.chain_a, e.chain_b) == (chain_a, chain_b)), None)


# ----------------------------------------------------------------------------- cached results

def cached(kind: str, parts: tuple, compute):
    """``compute()`` once per distinct ``(kind, parts)``, kept on disk across sessions and restarts.

    ``parts`` must identify the result completely (include ``fingerprint(model)``).
    A corrupted entry is recomputed.
    """
    return result_cache().get_or_compute(cache_key(kind, *parts), compute)


def explain(name: str, mode: str, sequence, bits: float, n_samples: int, seed: int = SEED, *,
            objective: str = "reconstruct", drop=None, architecture: str | None = None):
    """Scrambler explanation of one sequence, or of one pair ``(chain_a, chain_b)`` (cached).

    ``drop`` (L,) 1 = usable, 0 = excluded: explained by the mask-dropout scrambler (an alternative
    explanation that cannot use the excluded positions); ``objective`` chooses the positive /
    negative feature scramblers; ``architecture`` a pair scrambler.
    """
    dropout = drop is not None
    scrambler = get_scrambler(name, mode, objective=objective, dropout=dropout, architecture=architecture)
    drop_key = "" if drop is None else "".join("1" if v else "0" for v in np.asarray(drop).reshape(-1))
    item = tuple(sequence) if isinstance(sequence, (tuple, list)) else sequence
    return cached("explain", (fingerprint(scrambler), item, float(bits), int(n_samples), int(seed), drop_key),
                  lambda: scrambler.explain([item], target_bits=bits, n_samples=n_samples, seed=seed,
                                            drop=None if drop is None else np.asarray(drop, np.float32)))


def predict(name: str, sequences: list[str]) -> np.ndarray:
    """Predictions, shape (N,) (cached)."""
    predictor = get_predictor(name)
    return cached("predict", (fingerprint(predictor), tuple(sequences)),
                  lambda: predictor.predict(sequences))


def predict_pairs(name: str, pairs: list[tuple[str, str]]) -> np.ndarray:
    """Predictions of a pair predictor, shape (N,) (cached)."""
    predictor = get_predictor(name)
    return cached("predict_pairs", (fingerprint(predictor), tuple(tuple(p) for p in pairs)),
                  lambda: predictor.predict(list(pairs)))


def pair_ism(name: str, chain_a: str, chain_b: str):
    """``scrambler_core.pair_ism.pair_ism`` for a pair predictor (cached): (ism_a (La, A), ism_b (Lb, A))."""
    from scrambler_core.pair_ism import pair_ism as compute

    predictor = get_predictor(name)
    return cached("pair_ism", (fingerprint(predictor), chain_a, chain_b),
                  lambda: compute(predictor, chain_a, chain_b))


def cleavage_profile(name: str, sequence: str) -> np.ndarray | None:
    """APARENT2's cleavage distribution over positions 0-204 plus the distal slot, (206,) (cached);
    None for a predictor without one."""
    predictor = get_predictor(name)
    if not hasattr(predictor, "cleavage_profile"):
        return None
    return cached("cleavage", (fingerprint(predictor), sequence),
                  lambda: predictor.cleavage_profile([sequence])[0])


# ----------------------------------------------------------------------------- figures and downloads

def show_plotly(fig, key: str, **selection):
    """Draw a plotly figure at the page's width with SVG export in its toolbar.

    ``selection``: ``on_select`` and ``selection_mode`` of ``st.plotly_chart`` (returns its event then).
    """
    return st.plotly_chart(fig, width="stretch", config=PLOTLY_CONFIG, key=key, **selection)


def logo_rows_figure(rows: list, alphabet, *, titles, y_labels, hover_values=None, highlight=None,
                     x_range=None, start=1, fixed=None, shade=None, uirevision="logos"):
    """Aligned interactive logos (one shared x axis; hover shows position, letter and value).

    ``fixed``: (L,) bool, template positions drawn black; ``shade``: 0-based positions drawn grey.
    """
    return logos_figure(rows, alphabet, titles=titles, y_labels=y_labels, hover_values=hover_values,
                        highlight=highlight, x_range=x_range, start=start, fixed=fixed, shade=shade,
                        uirevision=uirevision)


def fixed_positions(scrambler):
    """Bool (L,) mask of the scrambler's fixed (template) positions, or None when it has no template."""
    network = getattr(scrambler, "network", None)
    if network is None or not getattr(network, "template", None):
        return None
    fixed = np.asarray(network.free)[:, 0] == 0
    return fixed if fixed.any() else None


def pwm_and_importance_rows(pwm, importance, sequence, alphabet):
    """Heights and hover values for the standard two rows: PWM (bits) over importance."""
    return ([logo_heights_pwm(pwm, alphabet), logo_heights_importance(importance, sequence, alphabet)],
            [np.asarray(pwm), None])


def matplotlib_bytes(draw, fmt: str) -> bytes:
    """Render a matplotlib figure built by ``draw()`` to PNG or SVG bytes (and close it)."""
    fig = draw()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=200 if fmt == "png" else None, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def logo_figure_matplotlib(rows: list, kinds: list, alphabet, titles: list, sequence: str | None = None,
                           fixed=None):
    """Publication logos with logomaker, one row per entry, for the PNG/SVG downloads.

    Parameters
    ----------
    rows : list of arrays — a PWM (L, A) for kind ``"pwm"``, scores (L,) for ``"importance"``
        (reference letters of ``sequence``) or a height matrix (L, A) for ``"matrix"``.
    kinds : list of {"pwm", "importance", "matrix"}
    fixed : bool (L,), optional — fixed (template) positions, drawn black
    """
    length = len(np.asarray(rows[0]))
    fig, axes = plt.subplots(len(rows), 1, figsize=plot.logo_figsize(length, rows=len(rows)), sharex=True,
                             squeeze=False)
    for ax, row, kind, title in zip(axes[:, 0], rows, kinds, titles):
        if kind == "pwm":
            plot.pwm_logo(row, alphabet, ax=ax, title=title, fixed=fixed)
        elif kind == "importance":
            plot.importance_logo(row, sequence, alphabet, ax=ax, title=title, fixed=fixed)
        else:
            plot.matrix_logo(row, alphabet, ax=ax, title=title, fixed=fixed)
    fig.tight_layout()
    return fig


def figure_downloads(draw, stem: str, key: str) -> None:
    """PNG and SVG download buttons for a matplotlib figure drawn only when clicked."""
    c1, c2 = st.columns(2)
    c1.download_button("Download PNG", lambda: matplotlib_bytes(draw, "png"), file_name=f"{stem}.png",
                       mime="image/png", key=f"{key}_png", on_click="ignore")
    c2.download_button("Download SVG", lambda: matplotlib_bytes(draw, "svg"), file_name=f"{stem}.svg",
                       mime="image/svg+xml", key=f"{key}_svg", on_click="ignore")


def csv_download(frame: pd.DataFrame, label: str, file_name: str, key: str) -> None:
    """A CSV download button for a table."""
    st.download_button(label, frame.to_csv(index=False, float_format="%.6g").encode(), file_name=file_name,
                       mime="text/csv", key=key, on_click="ignore")


def variant_summary_table(result) -> pd.DataFrame:
    """One row with the variant's scores (predictions, Δ, Δ log-odds, APARENT2's isoform log-odds) for the CSV."""
    row = {"predictor": result.predictor_name, "variants": format_variants(result.variants),
           "reference_prediction": result.ref_prediction, "alternative_prediction": result.alt_prediction,
           "delta_prediction": result.delta}
    if result.delta_logit is not None:
        row.update({"reference_logit": result.ref_logit, "alternative_logit": result.alt_logit,
                    "delta_logit": result.delta_logit})
    for window, (ref, alt, delta) in (result.isoform_logodds or {}).items():
        row.update({f"isoform_logodds_{window}_reference": ref, f"isoform_logodds_{window}_alternative": alt,
                    f"delta_isoform_logodds_{window}": delta})
    row.update({"reference_sequence": result.ref_sequence, "alternative_sequence": result.alt_sequence})
    return pd.DataFrame([row])


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


# ----------------------------------------------------------------------------- teaching

BITS_AND_MODES = """
A **scrambler** is a small network trained once to explain a predictor. For your sequence it
outputs an importance score per position; the scores turn the sequence into a **PWM** (position
weight matrix: a probability for every letter at every position) from which new sequences are
**sampled** and scored by the predictor.

* **Inclusion**: the important positions keep their letter and the rest drift to the background
  letter frequencies, so the samples should *keep* the original prediction.
* **Occlusion**: the important positions are scrambled, so the samples should *lose* it.
* **Target bits** is the information budget: the mean conservation over positions, in bits, that
  the PWM may keep (2 bits = one fully fixed nucleotide, log2 20 ≈ 4.3 bits for a protein residue).
  A low budget forces a sparse explanation: only what matters most survives. **Realised bits** is
  what the scrambler actually kept for this sequence.
"""

READING_LOGOS = """
**Reading the logos.** In the **PWM logo** a letter's height is its probability times the
position's information content (log2 A − entropy), so tall stacks are positions the samples
keep. The **importance logo** draws your sequence's letter at each position, scaled by its score.
Hover a letter for its position and value; drag on the plot to zoom, double-click to zoom out.
"""
# COMMON-READY
