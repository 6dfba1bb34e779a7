"""Explore: one sequence explained by the predictor's scrambler at a chosen information budget.

A pair predictor (the coiled-coil binder ``ppi``) gets two chains instead, their binding
probability and the in-silico mutagenesis of both chains (``scrambler_core.pair_ism``).

Link parameters: ``predictor``, ``mode`` (inclusion/occlusion), ``bits`` (0.05-2),
``example`` (1-based number of an example) or ``seq`` (a sequence).
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

import scrambler_core as sc
from pages import _common as common
from scrambler_core.examples import pair_examples
from scrambler_core.external import APARENT2_ISOFORM_WINDOW
from scrambler_core.sequences import SequenceError, validate_sequence

N_SAMPLES_CHOICES = (8, 16, 32, 64, 128)
N_SAMPLES_DEFAULT = 32
TABLE_ROWS = 5
MAX_LINK_SEQUENCE = 2000  # longer sequences are not written into the link


def _keys(name: str) -> dict:
    return {"sequence": f"explore.sequence.{name}", "example": f"explore.example.{name}",
            "zoom": f"explore.zoom.{name}", "record": f"explore.record.{name}"}


# ----------------------------------------------------------------------------- link

def _apply_link_sequence(name, examples, keys) -> str | None:
    """Put the linked example or sequence into the text box (after the predictor is known)."""
    example, note = common.linked_example(name, examples, common.pop_link("explore", "example"))
    if example is not None:
        st.session_state[keys["example"]] = example.label
        st.session_state[keys["sequence"]] = example.sequence
    sequence = common.pop_link("explore", "seq")
    if sequence is not None:
        st.session_state[keys["sequence"]] = sequence
    return note


# ----------------------------------------------------------------------------- guided example

GUIDED_STEPS = [
    ("1 · Inclusion at 0.5 bits", "inclusion", 0.5,
     "The scrambler keeps the letters that hold the prediction: the tall stacks should sit on the grey bands "
     "(the grammar's true elements), and the samples' predictions stay near the dashed line."),
    ("2 · Squeeze to 0.1 bits", "inclusion", 0.1,
     "With a tenth of a bit per position the scrambler must choose: only the single most important element "
     "survives. Watch which one."),
    ("3 · Occlusion at 1.0 bits", "occlusion", 1.0,
     "Now the important letters are the ones scrambled: the samples lose the original prediction, so the "
     "histogram moves away from the dashed line."),
]


def _start_guided_step(step: int) -> None:
    _, mode, bits, _ = GUIDED_STEPS[step]
    name = "utr5"
    example = common.examples_for(name)[0]
    keys = _keys(name)
    st.session_state[common.PREDICTOR_KEY] = name
    st.session_state[keys["example"]] = example.label
    st.session_state[keys["sequence"]] = example.sequence
    st.session_state[keys["zoom"]] = (1, len(example.sequence))
    st.session_state["explore.mode"] = mode
    st.session_state["explore.bits"] = bits
    st.session_state["explore.truth"] = True
    st.session_state["_explore_guided_step"] = step


def guided_example(predictor_names) -> None:
    """A three-step tour on the utr5 uORF example, each step a button that sets the view."""
    if "utr5" not in predictor_names:
        return
    example = common.examples_for("utr5")[0]
    with st.expander("Guided example: find a uORF in a 5'UTR", expanded=False):
        st.markdown(f"This 5'UTR has an {example.description} A uORF (upstream ATG with an in-frame stop) makes "
                    "ribosomes start too early, which lowers the load on the main coding sequence. "
                    "Click the steps in order.")
        columns = st.columns(len(GUIDED_STEPS))
        for k, (label, _, _, _) in enumerate(GUIDED_STEPS):
            columns[k].button(label, key=f"explore_guided_{k}", on_click=_start_guided_step, args=(k,),
                              width="stretch")
        step = st.session_state.get("_explore_guided_step")
        if step is not None:
            st.info(GUIDED_STEPS[step][3])


# ----------------------------------------------------------------------------- drawing

def sample_histogram(sample_predictions, original: float, label: str):
    """Histogram of the predictions on the samples with the original marked (plotly)."""
    fig = go.Figure(go.Histogram(x=sample_predictions, nbinsx=30, name="samples", marker_color="#4c78a8",
                                 opacity=0.85, hovertemplate="prediction %{x}<br>%{y} samples<extra></extra>"))
    fig.add_vline(x=original, line_width=2, line_dash="dash", line_color="#e45756")
    fig.add_annotation(x=original, y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                       text=f"original {original:.3f}", font=dict(color="#e45756"))
    fig.update_layout(xaxis_title=label, yaxis_title="samples", height=300, bargap=0.05,
                      margin=dict(l=10, r=10, t=30, b=10), showlegend=False)
    return fig


def scores_table(explanation, sequence: str, letters: str) -> pd.DataFrame:
    """Per-position table for the CSV download: position, letter, importance, bits, PWM."""
    frame = pd.DataFrame({"position": np.arange(1, len(sequence) + 1), "letter": list(sequence),
                          "importance": explanation.importance[0],
                          "bits": explanation.per_position_bits[0]})
    for j, letter in enumerate(letters):
        frame[f"p_{letter}"] = explanation.pwm[0][:, j]
    return frame


# ----------------------------------------------------------------------------- published models

def output_note(predictor) -> None:
    """One line on how a published model's output is defined (Optimus 5-Prime: the MRL map)."""
    mrl_map = (getattr(predictor, "card", None) or {}).get("mrl_map")
    if mrl_map:
        st.caption(f"The output is the mean ribosome load (MRL) = {mrl_map['slope']} · z + {mrl_map['intercept']}, "
                   "where z is Optimus 5-Prime's z-score output, through the documented linear map (fitted on "
                   f"{mrl_map.get('fitted_on', 'the authors’ test UTRs')}).")


def cleavage_figure(profile: np.ndarray, log_scale: bool = False):
    """Line chart of a cleavage distribution over positions 0-204 and the distal slot 205 (plotly)."""
    positions = np.arange(len(profile))
    fig = go.Figure(go.Scatter(x=positions, y=profile, mode="lines", line=dict(color="#4c78a8", width=1.5),
                               hovertemplate="position %{x}<br>cleavage %{y:.4g}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[positions[-1]], y=[profile[-1]], mode="markers+text", text=["distal"],
                             textposition="middle left", marker=dict(color="#e45756", size=7),
                             textfont=dict(color="#e45756"),
                             hovertemplate="distal (beyond the window)<br>%{y:.4g}<extra></extra>"))
    start, end = APARENT2_ISOFORM_WINDOW
    fig.add_vrect(x0=start - 0.5, x1=end - 0.5, fillcolor="#f2cf5b", opacity=0.25, line_width=0,
                  annotation_text=f"proximal isoform ({start}–{end - 1})", annotation_position="top left")
    fig.update_layout(height=240, margin=dict(l=10, r=10, t=30, b=10), showlegend=False,
                      xaxis_title="cleavage position (0-based; 205 = distal)", yaxis_title="probability")
    if log_scale:
        fig.update_yaxes(type="log", exponentformat="power")
    return fig


def show_cleavage(name: str, sequence: str) -> None:
    """APARENT2's cleavage profile below the prediction (nothing for other predictors)."""
    profile = common.cleavage_profile(name, sequence)
    if profile is None:
        return
    c1, c2 = st.columns([3, 1])
    c1.markdown("**Cleavage profile**")
    log_scale = c2.toggle("Log scale", key="explore.cleavage_log",
                          help="The distal slot often holds most of the mass; a log scale shows the shape inside "
                               "the window.")
    common.show_plotly(cleavage_figure(profile, log_scale), key="explore_cleavage")
    start, end = APARENT2_ISOFORM_WINDOW
    st.caption("Predicted probability of cleavage at each position of the window (0–204) and, at 205, beyond it "
               f"(distal: {profile[-1]:.3f}). The prediction is the mass on the shaded positions {start}–{end - 1}: "
               f"{profile[start:end].sum():.3f}.")


# ----------------------------------------------------------------------------- pair predictors

PAIR_EXPLANATION = """
A **pair predictor** reads two chains and outputs the probability that they bind. The chains may
have different lengths (up to the model's maximum); letters outside the model's alphabet are refused.

**In-silico mutagenesis (ISM)** substitutes every residue of one chain by every other letter, keeps the
other chain as it is, and records the change in the **log-odds** of the binding probability (one batched
call of the predictor, 1 + (La + Lb)(A − 1) pairs). A residue whose substitutions **lower** the log-odds
(blue) supports binding; red means substitutions there would bind better. The heat rows show the mean
change over the substitutions at each position; choose *every substitution* for the full matrix.

Scramblers for pairs are not available yet: this page shows the prediction and ISM only.
"""
PAIR_VIEWS = ("mean over substitutions", "every substitution")


def _pair_keys(name: str) -> dict:
    return {"a": f"explore.chain_a.{name}", "b": f"explore.chain_b.{name}",
            "example": f"explore.pair_example.{name}", "view": "explore.pair_view"}


def pair_ism_figure(ism_a, ism_b, chain_a: str, chain_b: str, letters: str, view: str):
    """Two heat rows (mean change per residue) or two letter × position heatmaps, one per chain (plotly)."""
    limit = float(max(np.abs(ism_a).max(initial=0.0), np.abs(ism_b).max(initial=0.0))) or 1.0
    every = view == PAIR_VIEWS[1]
    row_heights = [len(letters), len(letters)] if every else [1, 1]
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.18 if every else 0.35, row_heights=row_heights,
                        subplot_titles=[f"Chain a ({len(chain_a)} residues)", f"Chain b ({len(chain_b)} residues)"])
    for row, (ism, chain) in enumerate(((ism_a, chain_a), (ism_b, chain_b)), start=1):
        positions = np.arange(1, len(chain) + 1)
        if every:
            text = [[("your residue" if letter == ref else f"{ref}→{letter}") for ref in chain]
                    for letter in letters]
            trace = go.Heatmap(z=ism.T, x=positions, y=list(letters), text=text, zmid=0, zmin=-limit, zmax=limit,
                               colorscale="RdBu", reversescale=True, showscale=row == 1,
                               colorbar=dict(title="Δ log-odds"),
                               hovertemplate="position %{x}<br>%{text}<br>Δ log-odds %{z:.4f}<extra></extra>")
        else:
            mean = ism.sum(axis=1) / max(len(letters) - 1, 1)
            trace = go.Heatmap(z=[mean], x=positions, y=[""], text=[list(chain)], texttemplate="%{text}",
                               zmid=0, zmin=-limit, zmax=limit, colorscale="RdBu", reversescale=True,
                               showscale=row == 1, colorbar=dict(title="mean Δ log-odds"),
                               hovertemplate="position %{x}, residue %{text}<br>mean Δ log-odds %{z:.4f}"
                                             "<extra></extra>")
        fig.add_trace(trace, row=row, col=1)
        fig.update_xaxes(title_text="position" if row == 2 else None, tickformat="d", row=row, col=1)
        if every:
            fig.update_yaxes(autorange="reversed", type="category", row=row, col=1)
    fig.update_layout(height=(2 * (60 + 16 * len(letters)) + 120) if every else 320,
                      margin=dict(l=10, r=10, t=40, b=10), plot_bgcolor="white")
    return fig


def pair_ism_table(ism_a, ism_b, chain_a: str, chain_b: str, letters: str) -> pd.DataFrame:
    """Every substitution of both chains for the CSV download: chain, position, residue, letter, Δ log-odds."""
    rows = []
    for chain_name, ism, chain in (("a", ism_a, chain_a), ("b", ism_b, chain_b)):
        for i, residue in enumerate(chain):
            for j, letter in enumerate(letters):
                if letter != residue:
                    rows.append((chain_name, i + 1, residue, letter, float(ism[i, j])))
    return pd.DataFrame(rows, columns=["chain", "position", "residue", "substitution", "delta_logodds"])


def _read_chain(text: str, predictor, which: str) -> str:
    chain = validate_sequence(text, predictor.alphabet, name=f"chain {which}")
    if not predictor.min_length <= len(chain) <= predictor.max_length:
        raise SequenceError(f"chain {which} has {len(chain)} residues; {predictor.name} takes "
                            f"{predictor.min_length}-{predictor.max_length}")
    return chain


def pair_page(name: str, predictor, notes: list) -> None:
    """Explore for a pair predictor: two chains, the binding probability and ISM of both chains."""
    examples = pair_examples(name)
    keys = _pair_keys(name)
    labels = [e.label for e in examples]
    example, note = common.linked_example(name, examples, common.pop_link("explore", "example"))
    if example is not None:
        st.session_state[keys["example"]] = example.label
        st.session_state[keys["a"]], st.session_state[keys["b"]] = example.chain_a, example.chain_b
    if common.pop_link("explore", "seq") is not None:
        notes = notes + [f"{name} reads two chains; a link's seq value is ignored."]
    for text in notes + ([note] if note else []):
        st.warning(text)

    st.title("Explore")
    common.describe_predictor(predictor)
    with st.expander("What am I looking at?"):
        st.markdown(PAIR_EXPLANATION)
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
        shown = next((e for e in examples if e.chain_a == st.session_state[keys["a"]]
                      and e.chain_b == st.session_state[keys["b"]]), None)
        if shown is not None:
            st.caption(shown.description)
    unit = f"{predictor.min_length}–{predictor.max_length} {predictor.alphabet.unit}"
    c1, c2 = st.columns(2)
    text_a = c1.text_area(f"Chain a ({unit})", key=keys["a"], height=90,
                          help=f"Letters {predictor.alphabet.letters} (no cysteine); spaces and line breaks are "
                               "ignored.")
    text_b = c2.text_area(f"Chain b ({unit})", key=keys["b"], height=90,
                          help=f"Letters {predictor.alphabet.letters} (no cysteine); spaces and line breaks are "
                               "ignored.")
    with common.guard("Chains: "):
        chain_a = _read_chain(text_a, predictor, "a")
        chain_b = _read_chain(text_b, predictor, "b")

    example_index = next((k for k, e in enumerate(examples) if (e.chain_a, e.chain_b) == (chain_a, chain_b)), None)
    common.write_query({"predictor": name, "example": None if example_index is None else example_index + 1})

    with common.guard("Prediction: "):
        probability = float(common.predict_pairs(name, [(chain_a, chain_b)])[0])
    st.metric("Binding probability", f"{probability:.4f}",
              help="The model's probability that chain a and chain b bind (form a heterodimer).")
    st.info("Scramblers for pair predictors are not available yet; the map below is in-silico mutagenesis.")

    letters = predictor.alphabet.letters
    calls = 1 + (len(chain_a) + len(chain_b)) * (len(letters) - 1)
    started = time.perf_counter()
    with common.guard("In-silico mutagenesis: "), st.spinner(f"Scoring {calls:,} mutant pairs…"):
        ism_a, ism_b = common.pair_ism(name, chain_a, chain_b)
    seconds = time.perf_counter() - started
    st.subheader("In-silico mutagenesis of both chains")
    st.session_state.setdefault(keys["view"], PAIR_VIEWS[0])
    view = st.radio("Show", PAIR_VIEWS, key=keys["view"], horizontal=True,
                    help="The mean change of the log-odds over the substitutions at each residue, or every "
                         "substitution's change.")
    common.show_plotly(pair_ism_figure(ism_a, ism_b, chain_a, chain_b, letters, view), key="explore_pair_ism")
    common.csv_download(pair_ism_table(ism_a, ism_b, chain_a, chain_b, letters), "ISM CSV (both chains)",
                        f"{name}_pair_ism.csv", key="explore_pair_ism_csv")
    st.caption(f"{calls:,} pairs through the predictor in one batched call · {seconds * 1000:.0f} ms "
               "(0 when served from the cache)")


# ----------------------------------------------------------------------------- page

def main() -> None:
    names = common.predictor_names()
    notes = common.apply_query_once("explore", {"mode": common.mode_from_query("explore.mode"),
                                                "bits": common.bits_from_query("explore.bits"),
                                                "example": common.deferred_from_query("explore", "example"),
                                                "seq": common.deferred_from_query("explore", "seq")})
    name = common.current_predictor_name()
    predictor = common.get_predictor(name)
    if common.is_pair_predictor(predictor):
        pair_page(name, predictor, notes)
        return
    examples = common.examples_for(name)
    keys = _keys(name)
    note = _apply_link_sequence(name, examples, keys)
    for text in notes + ([note] if note else []):
        st.warning(text)

    st.title("Explore")
    common.describe_predictor(predictor)
    output_note(predictor)

    st.session_state.setdefault("explore.mode", "inclusion")
    st.session_state.setdefault("explore.bits", common.BITS_DEFAULT)
    st.session_state.setdefault("explore.n_samples", N_SAMPLES_DEFAULT)
    with st.sidebar:
        mode = st.radio("Mode", common.MODES, key="explore.mode", horizontal=True,
                        help="Inclusion: keep what matters. Occlusion: scramble what matters.")
        bits = st.slider("Target bits", common.BITS_MIN, common.BITS_MAX, step=common.BITS_STEP,
                         key="explore.bits", help="Information budget of the explanation (mean bits per position).")
        bits = round(float(bits), 2)  # the slider's float steps carry rounding noise
        n_samples = st.select_slider("Samples", N_SAMPLES_CHOICES, key="explore.n_samples",
                                     help="Sequences drawn from the scrambled PWM and scored by the predictor.")

    with st.expander("What am I looking at?"):
        st.markdown(common.BITS_AND_MODES + common.READING_LOGOS +
                    "The **histogram** shows the predictor's output on the samples; the dashed line is the "
                    "prediction on your sequence.")
    guided_example(names)

    text = common.example_and_sequence_input(predictor, examples, keys)

    with common.guard("Sequence: "):
        record_id, sequence = common.parse_one_sequence(text, predictor, keys["record"])

    example_index = next((k for k, e in enumerate(examples) if e.sequence == sequence), None)
    link = {"predictor": name, "mode": mode, "bits": f"{bits:g}"}
    if example_index is not None:
        link["example"] = example_index + 1
    elif len(sequence) <= MAX_LINK_SEQUENCE:
        link["seq"] = sequence
    common.write_query(link)

    try:
        common.get_scrambler(name, mode)
    except sc.ModelFileError as err:  # the predictor alone still answers
        st.error(f"Scrambler: {err}")
        with common.guard("Prediction: "):
            st.metric("Prediction (original)", f"{float(common.predict(name, [sequence])[0]):.3f}")
            show_cleavage(name, sequence)
        st.stop()

    started = time.perf_counter()
    with st.spinner("Scrambling…"):
        explanation = common.explain(name, mode, sequence, bits, int(n_samples))
    seconds = time.perf_counter() - started

    original = float(explanation.prediction[0])
    mean_samples = float(explanation.mean_sample_prediction[0])
    realised = float(explanation.conservation[0])
    c1, c2, c3 = st.columns(3)
    c1.metric("Prediction (original)", f"{original:.3f}")
    c2.metric("Mean prediction (samples)", f"{mean_samples:.3f}", delta=f"{mean_samples - original:+.3f}",
              delta_color="off")
    c3.metric("Realised bits", f"{realised:.3f}", delta=f"target {bits:g}", delta_color="off", delta_arrow="off",
              help="Mean conservation (bits per position) of the scrambled PWM; the scrambler aims at the target.")
    show_cleavage(name, sequence)

    letters = predictor.alphabet.letters
    length = len(sequence)
    st.subheader("Scrambled PWM and importance")
    truth = examples[example_index].important if example_index is not None and examples[example_index].description \
        else None
    cols = st.columns([3, 1])
    zoom_key = keys["zoom"]
    if st.session_state.get(zoom_key) is None or max(st.session_state[zoom_key]) > length:
        st.session_state[zoom_key] = (1, length)
    zoom = cols[0].slider("Positions", 1, length, key=zoom_key, help="Zoom the logos to a position range.")
    show_truth = cols[1].toggle("Show the true elements", key="explore.truth", disabled=truth is None,
                                help="Grey bands mark the positions the grammar's value depends on (built-in examples).")
    highlight = list(np.flatnonzero(truth)) if (show_truth and truth is not None) else None
    rows, hover = common.pwm_and_importance_rows(explanation.pwm[0], explanation.importance[0], sequence, letters)
    figure = common.logo_rows_figure(rows, letters, titles=["Scrambled PWM", "Importance on your sequence"],
                                     y_labels=["bits", "importance"], hover_values=hover, highlight=highlight,
                                     x_range=(zoom[0] - 1, zoom[1] - 1))
    common.show_plotly(figure, key="explore_logos")

    stem = f"{name}_{mode}_{bits:g}bits_{record_id}"
    d1, d2 = st.columns(2)
    with d1:
        common.figure_downloads(
            lambda: common.logo_figure_matplotlib(
                [explanation.pwm[0], explanation.importance[0]], ["pwm", "importance"], letters,
                ["Scrambled PWM", "Importance on your sequence"], sequence=sequence),
            stem=f"{stem}_logos", key="explore_logos_download")
    with d2:
        e1, e2 = st.columns(2)
        with e1:
            common.csv_download(scores_table(explanation, sequence, letters), "Scores CSV", f"{stem}_scores.csv",
                                key="explore_scores_csv")
        samples = explanation.sample_sequences(0)
        sample_frame = pd.DataFrame({"sequence": samples, "prediction": explanation.sample_predictions[0]})
        with e2:
            common.csv_download(sample_frame, "Samples CSV", f"{stem}_samples.csv", key="explore_samples_csv")

    st.subheader("Predictions on samples")
    common.show_plotly(sample_histogram(explanation.sample_predictions[0], original, f"{predictor.name} prediction"),
                       key="explore_histogram")
    st.subheader("A few samples")
    table = sample_frame.head(TABLE_ROWS).round({"prediction": 3})
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"sequence": st.column_config.TextColumn("sequence", width="large"),
                                "prediction": st.column_config.NumberColumn("prediction", format="%.3f")})
    st.caption(f"Record {record_id} · {mode} scrambler · target {bits:g} bits · {n_samples} samples · "
               f"seed {common.SEED} · {seconds * 1000:.0f} ms")


with common.guard():
    main()
