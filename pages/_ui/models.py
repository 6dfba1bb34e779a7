"""The predictors and scramblers the pages use (built-in, published, the session's own), loaded once
per process, and the sidebar's predictor choice."""
from __future__ import annotations

import os

import streamlit as st

import scrambler_core as sc
from scrambler_core.predictors import registry
from scrambler_core.predictors.registry import PAIR_BUILTINS

PREDICTOR_KEY = "app.predictor"

USER_MODELS_KEY = "_user_models"


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
    return {name: str(path) for name, path in registry.available_external(directory).items()}


def published_models() -> dict:
    """Published models whose files are in ``$SCRAMBLER_MODELS_DIR``: ``{name: path}`` (empty when unset)."""
    directory = os.environ.get(registry.MODELS_DIR_VARIABLE, "").strip()
    return _find_published(directory) if directory else {}


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
    builtins = sc.list_predictors(published=False)
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
    if name in registry.EXTERNAL_PREDICTORS:
        path = published_models().get(name)
        if path is None:
            raise sc.ModelFileError(f"{name} is not available: its file is not in `${registry.MODELS_DIR_VARIABLE}`."
                                    f"\n{registry.how_to_get(name)}")
        return _published_predictor(name, path)
    return _builtin_predictor(name)


def is_pair_predictor(predictor) -> bool:
    """True for a predictor that reads two sequences (``scrambler_core.predictors.base.PairPredictor``)."""
    return predictor.is_pair


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
    if name in registry.EXTERNAL_PREDICTORS:
        if dropout:
            raise sc.ModelFileError(f"there is no {what} for the published {name} model")
        return _published_scrambler(name, published_models()[name], mode, objective)
    return _builtin_scrambler(name, mode, objective, bool(dropout), (architecture or "siamese") if pair else None)


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
        missing = [n for n in registry.EXTERNAL_PREDICTORS if n not in found]
        st.sidebar.caption(f"Published models found in `${registry.MODELS_DIR_VARIABLE}`:  \n" + "  \n".join(lines)
                           + (f"  \nNot found: {', '.join(missing)}." if missing else ""))
        return
    with st.sidebar.expander(PUBLISHED_TITLE):
        directory = os.environ.get(registry.MODELS_DIR_VARIABLE, "").strip()
        if directory:
            st.caption(f"`${registry.MODELS_DIR_VARIABLE}` = {directory} holds none of their files.")
        st.markdown(published_how_to())


def published_how_to() -> str:
    """``registry.how_to_get()`` as Markdown (its list lines kept as a list)."""
    lines = registry.how_to_get().splitlines()
    return "\n\n".join([lines[0], "\n".join(lines[1:])])


def sidebar_predictor() -> str | None:
    """Draw the sidebar's predictor choice (shared by every page); ``None`` when none exists."""
    names = predictor_names()
    if not names:
        st.sidebar.error("No predictor is installed on this server: the built-in weights are missing. Upload "
                         "your own model on the Your model page.")
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
    builtin = name in sc.list_predictors(published=False)
    if name in registry.EXTERNAL_PREDICTORS and not builtin and name not in user_models():
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
