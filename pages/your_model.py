"""Your model: upload a Keras model and sequences, train a scrambler for it, use it on every page.

The workflow lives in ``scrambler_core.user_models`` (checks, training, downloads); this page
only draws it. What the user uploads is written to this browser session's temporary directory
(``session_directory()``) and nowhere else; what they make (the loaded model, the
sequences, trained scramblers, their downloads) is kept in ``st.session_state`` so a rerun or a
visit to another page loses nothing. A trained model is registered with
``register_user_model`` and then listed in the sidebar of every page, for this session only.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from pages._ui.shell import require_shell
from pages._ui.errors import USER_ERRORS, guard
from pages._ui.figures import show_plotly
from pages._ui.models import PREDICTOR_KEY, register_user_model, user_models
from pages._ui.results import SEED
from pages._ui.sessions import session_directory
from scrambler_core.scrambler.faithfulness import calibration_warning
from scrambler_core import user_models as um

MODEL_STATE = "_your_model_model"          # {"ident", "predictor", "file_name", "sha256", "path", "error"}
SEQUENCES_STATE = "_your_model_sequences"  # {"ident", "sequences", "file_name", "sha256", "error"}
RESULTS_STATE = "_your_model_results"      # {registered name: {mode: result dict}}
GO_TO_EXPLORE = "_your_model_go_explore"

AUTO = "auto"
ALPHABET_CHOICES = (AUTO, "dna", "rna", "protein")
OUTPUT_KIND_CHOICES = (AUTO, "regression", "sigmoid", "softmax")
EPOCHS_DEFAULT = um.USER_TRAINING_SETTINGS["epochs"]
TIME_LIMIT_CHOICES = (1, 2, 3, 5, 10)  # minutes per scrambler
TIME_LIMIT_DEFAULT = 3
PREVIEW_ROWS = 5

WHAT_IS_THIS = f"""
Explain **your own** sequence model with a scrambler, in four steps.

1. **Upload a Keras model** (`.keras`, or legacy `.h5`, at most {um.MAX_MODEL_BYTES // um.MEGABYTE} MB). It must
   read one-hot sequences of a fixed length, input shape `(L, 4)` for DNA/RNA or `(L, 20)` for protein, and
   return one value per sequence (regression, or a sigmoid probability) or a softmax over classes. The file is
   opened in Keras **safe mode**: a model that carries Python code (a `Lambda` layer, custom objects) is
   refused, because loading it would run that code on this server.
2. **Upload sequences** like the ones you want explained: FASTA (`.fa`, `.fasta`, `.fna`, `.txt`) or a CSV with a
   `sequence` column; between {um.MIN_TRAINING_SEQUENCES} and {um.MAX_UPLOAD_SEQUENCES:,}, all of length L. No
   labels are needed: the scrambler learns from your model's own predictions.
3. **Train.** A small *bits-conditioned* scrambler (one network for every information budget, 0.05-2 bits) is
   trained on up to {um.USER_TRAINING_SETTINGS["max_training_sequences"]:,} of them; a tenth is held out to
   check that the realised bits follow the requested ones. *Inclusion* keeps what matters, *occlusion*
   scrambles it. The loss curve shows the total loss (prediction term plus the penalty that holds the
   conservation at the target) and the realised bits; both are running means within each epoch.
4. **Use it.** Your model appears in the sidebar's predictor list of every page as "NAME (yours)", for this
   browser session only. Download the scrambler (`.keras`) and its model card (`.json`: data fingerprint, seed,
   settings, loss history, held-out checks) to keep them; upload the scrambler again later instead of retraining.

Uploads are written to a temporary directory private to this session and are not kept after it ends.
"""


# ----------------------------------------------------------------------------- logic (no widgets)

def upload_directory(data: bytes) -> Path:
    """This session's directory for an upload: one sub-directory per content, so files never overwrite."""
    return Path(session_directory()) / um.sha256_bytes(data)[:16]


def load_model_upload(file_name: str, data: bytes, directory, *, alphabet=None, output_kind=None,
                      output_index=0):
    """Save an uploaded model file into ``directory`` and load it as a predictor.

    A refused file is deleted again.

    Returns
    -------
    Predictor

    Raises
    ------
    ModelFileError
        With the reason (size, suffix, not a Keras file, safe mode, shapes, output).
    """
    path = um.save_upload(file_name, data, directory)
    try:
        predictor = um.load_user_predictor(path, alphabet=alphabet, output_kind=output_kind,
                                           output_index=output_index)
    except Exception:
        path.unlink(missing_ok=True)
        raise
    predictor.description = f"uploaded {path.name}"
    return predictor


def registry_card(predictor, sequences, results: dict, source: dict) -> dict:
    """Card kept with a registered model: example sequences for the other pages and each scrambler's card."""
    return {"kind": "user_model", "predictor": predictor.name, "source": source,
            "example_sequences": list(sequences[:3]),
            "scramblers": {mode: result["card"] for mode, result in results.items()}}


def register(predictor, scrambler, sequences, source: dict, result: dict) -> str:
    """Register ``scrambler`` (and its predictor) for this session; remember ``result`` under the listed name.

    Returns
    -------
    str
        The name the predictor is listed under on every page.
    """
    name = register_user_model(predictor, {scrambler.mode: scrambler}, label=predictor.name,
                               directory=session_directory())
    results = st.session_state.setdefault(RESULTS_STATE, {}).setdefault(name, {})
    results[scrambler.mode] = result
    previous = user_models()[name].get("card") or {}
    examples = list(sequences[:3]) or previous.get("example_sequences") or []
    register_user_model(predictor, {}, label=predictor.name,
                        card=registry_card(predictor, examples, results, source))
    return name


def make_result(scrambler, curve: list) -> dict:
    """What the page keeps of a trained scrambler: itself, its card, curve and ready download bytes."""
    return {"scrambler": scrambler, "card": scrambler.card, "curve": curve,
            "keras": um.scrambler_to_bytes(scrambler), "json": um.card_to_json(scrambler.card)}


def loss_figure(curve: list, title: str = ""):
    """Loss (left axis) and realised bits (right axis) against the training step, plotly."""
    frame = pd.DataFrame(curve)
    fig = go.Figure()
    if len(frame):
        fig.add_scatter(x=frame["step"], y=frame["loss"], name="loss", mode="lines+markers",
                        line=dict(color="#4c78a8"), hovertemplate="step %{x}<br>loss %{y:.4f}<extra></extra>")
        fig.add_scatter(x=frame["step"], y=frame["prediction_loss"], name="prediction term",
                        mode="lines", line=dict(color="#72b7b2", dash="dot"),
                        hovertemplate="step %{x}<br>prediction term %{y:.4f}<extra></extra>")
        fig.add_scatter(x=frame["step"], y=frame["bits"], name="realised bits", yaxis="y2", mode="lines",
                        line=dict(color="#e45756"), hovertemplate="step %{x}<br>%{y:.3f} bits<extra></extra>")
    fig.update_layout(title=title or None, height=280, margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      xaxis_title="training step", yaxis_title="loss (running mean in the epoch)",
                      yaxis2=dict(title="bits", overlaying="y", side="right", rangemode="tozero"),
                      legend=dict(orientation="h", y=1.12))
    return fig


def tracking_table(card: dict) -> pd.DataFrame:
    """Requested vs realised bits on held-out sequences, from a scrambler card."""
    metrics = card.get("metrics_held_out") or {}
    calibrated = metrics.get("bits_tracking_requested_vs_realised") or {}
    raw = metrics.get("bits_tracking_uncalibrated") or {}
    return pd.DataFrame({"requested bits": [float(k) for k in calibrated],
                         "realised": list(calibrated.values()),
                         "before calibration": [raw.get(k) for k in calibrated]})


# ----------------------------------------------------------------------------- model step

def _model_choices():
    c1, c2, c3 = st.columns([2, 2, 1])
    alphabet = c1.selectbox("Alphabet", ALPHABET_CHOICES, key="your_model.alphabet",
                            format_func=lambda v: "automatic (4 channels: DNA, 20: protein)" if v == AUTO else v,
                            help="Four input channels fit DNA (ACGT) and RNA (ACGU): choose rna if your model "
                                 "was trained on U. The column order must be the alphabet's order.")
    kind = c2.selectbox("Output kind", OUTPUT_KIND_CHOICES, key="your_model.output_kind",
                        format_func=lambda v: "automatic (from the last layer)" if v == AUTO else v,
                        help="sigmoid: a probability; softmax: class probabilities (choose the class below); "
                             "regression: any number.")
    index = int(st.session_state.get("your_model.output_index", 0))
    return (None if alphabet == AUTO else alphabet), (None if kind == AUTO else kind), index, c3


def model_step():
    """Upload and check a model; returns the current Predictor (or None)."""
    st.subheader("1 · Your model")
    uploaded = st.file_uploader(f"Keras model (.keras or .h5, at most {um.MAX_MODEL_BYTES // um.MEGABYTE} MB)",
                                type=["keras", "h5"], key="your_model_model_file",
                                help="Saved with model.save('name.keras'). Opened in Keras safe mode.")
    alphabet, kind, index, index_column = _model_choices()
    state = st.session_state.get(MODEL_STATE)
    if uploaded is not None:
        data = uploaded.getvalue()
        sha = um.sha256_bytes(data)
        ident = (sha, alphabet, kind, index)
        if state is None or state["ident"] != ident:
            state = {"ident": ident, "file_name": uploaded.name, "sha256": sha, "predictor": None, "error": None}
            try:
                state["predictor"] = load_model_upload(uploaded.name, data, upload_directory(data),
                                                       alphabet=alphabet, output_kind=kind, output_index=index)
            except USER_ERRORS as err:
                state["error"] = str(err)
            st.session_state[MODEL_STATE] = state
    if uploaded is None and state is not None and state["error"]:
        state = st.session_state[MODEL_STATE] = None  # the refused file was removed
    if state is None:
        st.info("Upload a model to begin, or read “What am I looking at?” above.")
        return None
    if state["error"]:
        st.error(f"Model refused: {state['error']}")
        return None
    predictor = state["predictor"]
    if predictor.output_kind == "softmax":
        classes = int(predictor.model.outputs[0].shape[-1])
        index_column.number_input("Class", 0, classes - 1, key="your_model.output_index", step=1,
                                  help="The softmax class whose probability the scrambler explains.")
    summary = um.describe_predictor(predictor)
    st.success(f"**{state['file_name']}** loaded: {summary['sequence_length']} {predictor.alphabet.unit} "
               f"({summary['letters']}) → {summary['output_kind']}"
               + (f" class {summary['output_index']}" if summary["output_kind"] == "softmax" else "")
               + f" · {summary['parameters']:,} parameters · sha256 {state['sha256'][:12]}…")
    if summary["alphabet_ambiguous"] and alphabet is None:
        st.caption("Four input channels are read as DNA (A, C, G, T in that column order); choose rna above if "
                   "your model was trained on ACGU.")
    if uploaded is None:
        st.caption("This model was uploaded earlier in this session; upload another file to replace it.")
    return predictor


# ----------------------------------------------------------------------------- sequences step

def sequences_step(predictor):
    """Upload and check training sequences; returns the list of sequences (or None)."""
    st.subheader("2 · Sequences")
    uploaded = st.file_uploader(
        f"Sequences: FASTA or CSV with a 'sequence' column ({um.MIN_TRAINING_SEQUENCES} to "
        f"{um.MAX_UPLOAD_SEQUENCES:,}, each {predictor.sequence_length} {predictor.alphabet.unit})",
        type=[s.lstrip(".") for s in um.SEQUENCE_SUFFIXES], key="your_model_sequence_file",
        help="Sequences like the ones you want explained (no labels needed).")
    state = st.session_state.get(SEQUENCES_STATE)
    if state is not None and state["ident"][1] != id(predictor):
        state = None  # read for another model: read again (or wait for a new upload)
    if uploaded is not None:
        data = uploaded.getvalue()
        ident = (um.sha256_bytes(data), id(predictor))
        if state is None or state["ident"] != ident:
            state = {"ident": ident, "file_name": uploaded.name, "sha256": ident[0], "sequences": None, "error": None}
            try:
                state["sequences"] = um.read_user_sequences(uploaded.name, data, predictor)
            except USER_ERRORS as err:
                state["error"] = str(err)
    if uploaded is None and state is not None and state["error"]:
        state = None  # the refused file was removed
    st.session_state[SEQUENCES_STATE] = state
    if state is None:
        return None
    if state["error"]:
        st.error(f"Sequences refused: {state['error']}")
        return None
    sequences = state["sequences"]
    st.success(f"**{state['file_name']}**: {len(sequences):,} sequences of {predictor.sequence_length} "
               f"{predictor.alphabet.unit}.")
    with st.expander("First sequences"):
        st.dataframe(pd.DataFrame({"sequence": sequences[:PREVIEW_ROWS]}), hide_index=True, width="stretch")
    return sequences


# ----------------------------------------------------------------------------- training step

def train_with_progress(predictor, sequences, mode: str, epochs: int, time_limit_s: float):
    """Train one scrambler while drawing a live progress bar and loss curve.

    Returns
    -------
    (Scrambler, list of dict) — the scrambler and its curve (one row per progress call).
    """
    bar = st.progress(0.0, text=f"{mode}: starting…")
    chart = st.empty()
    curve = []

    def progress(epoch, step, steps, logs):
        done = (epoch * steps + step + 1) / max(epochs * steps, 1)
        curve.append({"step": epoch * steps + step + 1, "epoch": epoch + 1,
                      **{k: float(v) for k, v in logs.items()}})
        text = (f"{mode}: epoch {epoch + 1}/{epochs}, step {step + 1}/{steps} · loss {logs['loss']:.3f} · "
                f"realised {logs['bits']:.2f} bits")
        if done >= 1.0:
            text = f"{mode}: calibrating the bits channel on held-out sequences…"
        bar.progress(min(done, 1.0), text=text)
        with chart:
            show_plotly(loss_figure(curve), key=f"your_model_live_{mode}_{len(curve)}")

    scrambler, _ = um.train_user_scrambler(predictor, sequences, mode=mode, epochs=epochs, seed=SEED,
                                           progress=progress, time_limit=time_limit_s,
                                           source=_source())
    bar.progress(1.0, text=f"{mode}: done in {scrambler.card['seconds']:.0f} s")
    return scrambler, curve


def _source() -> dict:
    model, seqs = st.session_state.get(MODEL_STATE) or {}, st.session_state.get(SEQUENCES_STATE) or {}
    return {"model_file": model.get("file_name"), "model_file_sha256": model.get("sha256"),
            "sequence_file": seqs.get("file_name"), "sequence_file_sha256": seqs.get("sha256")}


def training_step(predictor, sequences):
    """Choose modes and settings; train on click, register, rerun so every page lists the model."""
    st.subheader("3 · Train a scrambler")
    for key, value in (("your_model.inclusion", True), ("your_model.occlusion", False),
                       ("your_model.epochs", EPOCHS_DEFAULT), ("your_model.minutes", TIME_LIMIT_DEFAULT)):
        st.session_state.setdefault(key, value)
    c1, c2, c3, c4 = st.columns(4)
    inclusion = c1.checkbox("Inclusion", key="your_model.inclusion",
                            help="Keep what matters: samples should keep the prediction.")
    occlusion = c2.checkbox("Occlusion", key="your_model.occlusion",
                            help="Scramble what matters: samples should lose the prediction.")
    epochs = c3.number_input("Epochs", 1, 30, step=1, key="your_model.epochs",
                             help="Passes over your sequences; more is slower and usually better.")
    minutes = c4.selectbox("Time limit (min)", TIME_LIMIT_CHOICES, key="your_model.minutes",
                           help="Per scrambler: training stops after this long.")
    modes = [m for m, on in (("inclusion", inclusion), ("occlusion", occlusion)) if on]
    n_train, n_valid = um.split_sizes(len(sequences))
    st.caption(f"{n_train:,} sequences for training, {n_valid} held out · a few minutes on a CPU at most; "
               "stay on this page while it trains.")
    if not st.button("Train scrambler", key="your_model_train", type="primary", disabled=not modes):
        return
    for mode in modes:
        scrambler, curve = train_with_progress(predictor, sequences, mode, int(epochs), 60.0 * minutes)
        register(predictor, scrambler, sequences, _source(), make_result(scrambler, curve))
    st.rerun()  # the sidebar of this run was drawn before the model was registered


def _go_to_explore(name: str) -> None:
    st.session_state[PREDICTOR_KEY] = name
    st.session_state[GO_TO_EXPLORE] = True


def _training_summary(card: dict) -> str:
    data = card.get("data") or {}
    if "n_train" not in data:
        return "uploaded scrambler file"
    return (f"{data['n_train']:,} training / {data['n_validation']} held-out sequences · "
            f"{len(card.get('history') or [])} epochs · {card.get('seconds', 0):.0f} s")


def results_step():
    """Everything trained in this session: curves, held-out checks, downloads."""
    results = st.session_state.get(RESULTS_STATE) or {}
    if not results:
        return
    st.subheader("4 · Your scramblers")
    for k, (name, by_mode) in enumerate(results.items()):
        st.markdown(f"**{name}** — listed in the sidebar's predictor list on every page (this session only).")
        st.button(f"Explain with {name} on the Explore page", key=f"your_model_explore_{k}",
                  on_click=_go_to_explore, args=(name,))
        for mode, result in by_mode.items():
            card = result["card"]
            with st.container(border=True):
                st.markdown(f"**{mode}** scrambler · {_training_summary(card)}")
                cols = st.columns([3, 2])
                if result["curve"]:
                    with cols[0]:
                        show_plotly(loss_figure(result["curve"]), key=f"your_model_curve_{k}_{mode}")
                table = tracking_table(card)
                if len(table):
                    cols[1].dataframe(table.round(3), hide_index=True, width="stretch")
                    cols[1].caption("Held-out sequences: the bits the scrambler keeps for each requested budget.")
                    if warning := calibration_warning(card):
                        cols[1].warning(warning, icon="⚠️")
                stem = um.safe_file_name(f"{card.get('predictor', 'model')}_{mode}_scrambler")
                d1, d2 = st.columns(2)
                d1.download_button("Scrambler (.keras)", result["keras"], file_name=f"{stem}.keras",
                                   mime="application/octet-stream", key=f"your_model_keras_{k}_{mode}",
                                   on_click="ignore")
                d2.download_button("Model card (.json)", result["json"], file_name=f"{stem}.json",
                                   mime="application/json", key=f"your_model_json_{k}_{mode}",
                                   on_click="ignore")


def reload_step(predictor, sequences):
    """Upload a scrambler trained earlier (for the current model) instead of training again."""
    with st.expander("Load a scrambler you trained before"):
        uploaded = st.file_uploader("Scrambler (.keras) downloaded from this page", type=["keras"],
                                    key="your_model_scrambler_file")
        if uploaded is None:
            return
        data = uploaded.getvalue()
        done = st.session_state.setdefault("_your_model_reloaded", set())
        ident = (um.sha256_bytes(data), id(predictor))
        if ident in done:
            st.caption(f"{uploaded.name} is loaded.")
            return
        try:
            scrambler = um.scrambler_from_bytes(data, predictor, upload_directory(data), file_name=uploaded.name)
        except USER_ERRORS as err:
            st.error(f"Scrambler refused: {err}")
            return
        scrambler.card = scrambler.card or {"kind": "scrambler", "predictor": predictor.name,
                                            "mode": scrambler.mode, "source": {"scrambler_file": uploaded.name}}
        register(predictor, scrambler, sequences or [], _source(), make_result(scrambler, []))
        done.add(ident)
        st.rerun()


# ----------------------------------------------------------------------------- page

def main() -> None:
    if st.session_state.pop(GO_TO_EXPLORE, False):
        st.switch_page("pages/explore.py")
    st.title("Your model")
    st.caption("Upload a Keras sequence model and sequences; train a scrambler that explains it.")
    with st.expander("What am I looking at?"):
        st.markdown(WHAT_IS_THIS)
    predictor = model_step()
    sequences = sequences_step(predictor) if predictor is not None else None
    if predictor is not None and sequences is not None:
        training_step(predictor, sequences)
    results_step()
    if predictor is not None:
        reload_step(predictor, sequences)


require_shell()
with guard():
    main()
