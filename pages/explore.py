"""Explore: one sequence explained by the predictor's scrambler at a chosen information budget.

A pair predictor (the coiled-coil binder ``ppi``, the built-in ``binder``) gets two chains instead,
their binding probability and the in-silico mutagenesis of both chains (``scrambler_core.pair_ism``).

Excluding positions (1-based ranges typed in, or selected on the importance logo) asks the
mask-dropout scrambler for an alternative explanation that cannot use them (method §7); the
positive / negative feature scramblers (objective maximize / minimize) show what raises and what
lowers the prediction. The built-in pair predictor ``binder`` also gets pair-scrambler logos of both chains.

Link parameters: ``predictor``, ``mode`` (inclusion/occlusion), ``bits`` (0.05-2),
``example`` (1-based number of an example) or ``seq`` (a sequence), ``exclude`` (1-based ranges).
"""
from __future__ import annotations

import time
from functools import partial

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

import scrambler_core as sc
from pages._ui.shell import require_shell
from pages._ui.errors import guard
from pages._ui.figures import (csv_download, figure_downloads, fixed_positions, logo_figure_matplotlib,
    logo_rows_figure, pwm_and_importance_rows, show_plotly)
from pages._ui.help_text import BITS_AND_MODES, MODE_HELP, OCCLUSION_NOTE, READING_LOGOS
from pages._ui.inputs import (adopt_shared_sequence, example_and_sequence_input, examples_for, format_ranges,
    mode_and_bits, parse_one_sequence, selected_positions, share_sequence)
from pages._ui.links import (apply_linked_sequence, apply_query_once, bits_from_query, choice_from_query,
    deferred_from_query, flag_from_query, mode_from_query, parse_zoom, pop_link, write_query)
from pages._ui.models import (PREDICTOR_KEY, current_predictor_name, describe_predictor, get_predictor,
    get_scrambler, is_pair_predictor, predictor_names)
from pages._ui.pairs import apply_pair_link, pair_example_index, pair_input, pair_keys, read_chain
from pages._ui.optimise import optimise_section, optimised_steps
from pages._ui.results import (SEED, cleavage_profile, explain, explain_bits_grid, pair_ism, predict,
    predict_pairs)
from scrambler_core.comparison import explanation_scores_table, pair_ism_table
from scrambler_core.examples import pair_examples
from scrambler_core.predictors import APARENT2_ISOFORM_WINDOW
from scrambler_core.logo_figures import logo_heights_importance, readable_window
from scrambler_core.predictors import ARCHITECTURES
from scrambler_core.predictors import PAIR_BUILTINS
from pages._ui.first_paint import LOGOS_KEY, explore_keys
from scrambler_core.scrambler import drop_mask_from_ranges
from scrambler_core.slider_figure import bits_slider_figure, logo_trace_count

N_SAMPLES_CHOICES = (8, 16, 32, 64, 128)
N_SAMPLES_DEFAULT = 32
TABLE_ROWS = 5
MAX_LINK_SEQUENCE = 2000  # longer sequences are not written into the link


POSNEG_TITLES = {"maximize": "Raises the prediction", "minimize": "Lowers the prediction"}


_keys = explore_keys


# ----------------------------------------------------------------------------- link

def _apply_link_sequence(name, examples, keys) -> str | None:
    """Put the linked example, sequence and excluded positions into the page's inputs."""
    note = apply_linked_sequence("explore", name, examples, keys)
    exclude = pop_link("explore", "exclude")
    if exclude is not None:
        st.session_state[keys["exclude"]] = exclude
    zoom = pop_link("explore", "zoom")
    if zoom is not None:
        length = len(st.session_state.get(keys["sequence"]) or "") or None
        parsed = parse_zoom(zoom, length or 10 ** 6)
        if parsed is None:
            return (note + " " if note else "") + f"The link's zoom {zoom!r} is not a position range FIRST-LAST."
        st.session_state[keys["zoom"]] = parsed
    return note


# ----------------------------------------------------------------------------- excluded positions

def _add_selection_to_excluded(exclude_key: str, chart_key: str, length: int, logo_traces: int) -> None:
    """on_select callback of the logos: add the selected positions to the excluded ranges.

    Only the logo rows count (their first ``logo_traces`` traces and x axes), not the histogram.
    """
    chosen = selected_positions(st.session_state.get(chart_key), length, curves=range(logo_traces),
                                axes=("x", "x2"))
    if not chosen:
        return
    text = st.session_state.get(exclude_key, "") or ""
    try:
        current = set(np.flatnonzero(drop_mask_from_ranges(text, length) == 0) + 1)
        st.session_state[exclude_key] = format_ranges(current | chosen)
    except ValueError:           # the box holds text the parser refuses: keep it, append the selection
        st.session_state[exclude_key] = f"{text.rstrip(', ')}, {format_ranges(chosen)}".lstrip(", ")


def _clear_excluded(exclude_key: str) -> None:
    st.session_state[exclude_key] = ""


def exclusion_input(keys: dict, length: int):
    """The "Exclude positions" section; returns the drop mask (L,) (1 = usable) or None when nothing is excluded.

    Bad text shows ``st.error`` with the parser's message and the page goes on without exclusions.
    """
    key = keys["exclude"]
    st.session_state.setdefault(key, "")
    with st.expander("Exclude positions (alternative explanation)", expanded=bool(st.session_state[key].strip())):
        st.markdown("A scrambler trained with **mask dropout** can be told that some positions may not be used. "
                    "It then looks for an **alternative explanation** of the same prediction with what is left. "
                    "Type 1-based positions or ranges, or select letters on the importance logo below (click a "
                    "letter, or choose *Box Select* in the chart's toolbar and drag): they are added here.")
        c1, c2 = st.columns([4, 1])
        text = c1.text_input("Excluded positions", key=key, placeholder="e.g. 60-66, 101",
                             help=f"1-based positions and ranges between 1 and {length}, separated by commas.")
        c2.button("Clear", key="explore_exclude_clear", on_click=_clear_excluded, args=(key,),
                  disabled=not text.strip(), width="stretch")
    if not text.strip():
        return None
    try:
        drop = drop_mask_from_ranges(text, length)
    except ValueError as err:
        st.error(f"Excluded positions: {err}. The explanation below excludes nothing.")
        return None
    return drop if (drop == 0).any() else None


def alternative_caption(drop, shown, plain, original: float) -> str:
    """How the samples' prediction compares with and without the excluded positions."""
    excluded = np.flatnonzero(drop == 0) + 1
    with_drop = float(shown.mean_sample_prediction[0])
    without = float(plain.mean_sample_prediction[0])
    closer = "closer to" if abs(with_drop - original) < abs(without - original) else "further from"
    return (f"Alternative explanation: positions {format_ranges(excluded)} ({len(excluded)}) are excluded "
            "(grey). "
            f"Mean prediction on the samples: **{with_drop:.3f}** with them excluded, **{without:.3f}** without "
            f"exclusions (original {original:.3f}; excluding moves it {closer} the original).")


# ----------------------------------------------------------------------------- positive and negative features

def posneg_section(name: str, sequence: str, letters: str, bits: float, n_samples: int, zoom, highlight) -> None:
    """Two importance logos, one above the other: what raises and what lowers the prediction."""
    rows, titles, missing = [], [], []
    for objective, title in POSNEG_TITLES.items():
        try:
            ex = explain(name, "inclusion", sequence, bits, n_samples, objective=objective)
        except sc.ModelFileError as err:
            missing.append(f"{title.lower()}: {err}")
            continue
        rows.append(ex)
        titles.append(f"{title} · mean prediction on samples {float(ex.mean_sample_prediction[0]):.3f}")
    for text in missing:
        st.info(f"Positive/negative features are not available for {name} ({text}).")
    if not rows:
        return
    heights = [logo_heights_importance(ex.importance[0], sequence, letters) for ex in rows]
    figure = logo_rows_figure(heights, letters, titles=titles, y_labels=["importance"] * len(heights),
                              highlight=highlight, x_range=(zoom[0] - 1, zoom[1] - 1), uirevision="posneg")
    show_plotly(figure, key="explore_posneg")
    st.caption(f"Inclusion scramblers trained to keep what **raises** the prediction (objective maximize) and what "
               f"**lowers** it (minimize), at {bits:g} bits with {n_samples} samples. The mean prediction on each "
               "one's samples shows how far the kept letters push the output.")


# ----------------------------------------------------------------------------- guided example

GUIDED_STEPS = [
    ("1 · Inclusion at 0.5 bits", "inclusion", 0.5,
     "The scrambler keeps the letters that hold the prediction: the tall stacks should sit on the yellow bands "
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
    example = examples_for(name)[0]
    keys = _keys(name)
    st.session_state[PREDICTOR_KEY] = name
    st.session_state[keys["example"]] = example.label
    st.session_state[keys["sequence"]] = example.sequence
    st.session_state[keys["zoom"]] = (1, len(example.sequence))
    st.session_state["explore.mode"] = mode
    st.session_state["explore.bits"] = bits
    st.session_state["explore.truth"] = True
    st.session_state["_explore_guided_step"] = step


def guided_example(predictor_names, current: str) -> None:
    """A three-step tour on the utr5 uORF example, each step a button that sets the view (shown on utr5)."""
    if "utr5" not in predictor_names or current != "utr5":
        return
    example = examples_for("utr5")[0]
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


# ----------------------------------------------------------------------------- published models

def output_note(predictor) -> None:
    """One line on how a published model's output is defined (Optimus 5-Prime: the MRL map)."""
    mrl_map = (getattr(predictor, "card", None) or {}).get("mrl_map")
    if mrl_map:
        st.caption(f"The output is the mean ribosome load (MRL) = {mrl_map['slope']} · z + {mrl_map['intercept']}, "
                   "where z is Optimus 5-Prime's z-score output, through the documented linear map (fitted on "
                   f"{mrl_map.get('fitted_on', 'the authors’ test UTRs')}).")


def cleavage_figure(profile: np.ndarray, log_scale: bool = False):
    """Line chart of a cleavage distribution over positions 1-205 (1-based, as the logos count) and the
    distal slot (206) (plotly): shown alone when there is no scrambler (with one, the profile is a row of
    the live figure, see :func:`cleavage_track`)."""
    positions = np.arange(len(profile)) + 1
    fig = go.Figure(go.Scatter(x=positions, y=profile, mode="lines", line=dict(color="#4c78a8", width=1.5),
                               hovertemplate="position %{x}<br>cleavage %{y:.4g}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[positions[-1]], y=[profile[-1]], mode="markers+text", text=["distal"],
                             textposition="middle left", marker=dict(color="#e45756", size=7),
                             textfont=dict(color="#e45756"),
                             hovertemplate="distal (beyond the window)<br>%{y:.4g}<extra></extra>"))
    start, end = APARENT2_ISOFORM_WINDOW           # 0-based, end exclusive
    fig.add_vrect(x0=start + 0.5, x1=end + 0.5, fillcolor="#f2cf5b", opacity=0.25, line_width=0,
                  annotation_text=f"proximal isoform ({start + 1}–{end})", annotation_position="top left")
    fig.update_layout(height=240, margin=dict(l=10, r=10, t=30, b=10), showlegend=False,
                      xaxis_title=f"cleavage position (1-based, as in the logos; {len(profile)} = distal)",
                      yaxis_title="probability")
    if log_scale:
        fig.update_yaxes(type="log", exponentformat="power")
    return fig


def _cleavage_caption(profile: np.ndarray, under_logos: bool) -> str:
    start, end = APARENT2_ISOFORM_WINDOW
    where = ("drawn under the logos on the same x axis: the Positions slider, or zooming either chart (the zoom "
             "tool in its toolbar; double-click to reset), moves both. " if under_logos else "")
    return (f"**Cleavage profile**: APARENT2's predicted probability of cleavage at each position of the window "
            f"(1–{len(profile) - 1}, counted as in the logos), {where}Beyond the window (distal): "
            f"{profile[-1]:.3f}. The prediction is the mass on the shaded positions {start + 1}–{end}: "
            f"{profile[start:end].sum():.3f}.")


def _log_toggle():
    return st.toggle("Cleavage profile on a log scale", key="explore.cleavage_log",
                     help="The distal slot often holds most of the mass; a log scale shows the shape inside the "
                          "window.")


def show_cleavage(name: str, sequence: str) -> None:
    """APARENT2's cleavage profile as its own chart (nothing for other predictors): the page without a scrambler."""
    profile = cleavage_profile(name, sequence)
    if profile is None:
        return
    show_plotly(cleavage_figure(profile, _log_toggle()), key="explore_cleavage")
    st.caption(_cleavage_caption(profile, under_logos=False))


def cleavage_track(name: str, sequence: str):
    """APARENT2's cleavage profile as the track row of the live figure (linked x axis), with its log-scale
    toggle; (None, None) for other predictors. Returns (track for ``bits_slider_figure``, profile (L + 1,))."""
    profile = cleavage_profile(name, sequence)
    if profile is None:
        return None, None
    log_scale = _log_toggle()
    start, end = APARENT2_ISOFORM_WINDOW
    values = np.maximum(profile[:-1], 1e-12) if log_scale else profile[:-1]      # a log axis needs > 0
    return dict(values=values, names=["cleavage"],
                title=f"Cleavage profile (distal, beyond the window: {profile[-1]:.3f})",
                y_title="cleavage", band=(start + 1, end, f"proximal isoform ({start + 1}–{end})"),
                log=log_scale), profile


# ----------------------------------------------------------------------------- pair predictors

PAIR_EXPLANATION = """
A **pair predictor** reads two chains and outputs the probability that they bind. The chains may
have different lengths (up to the model's maximum); letters outside the model's alphabet are refused.

**In-silico mutagenesis (ISM)** substitutes every residue of one chain by every other letter, keeps the
other chain as it is, and records the change in the **log-odds** of the binding probability (one batched
call of the predictor, 1 + (La + Lb)(A − 1) pairs). A residue whose substitutions **lower** the log-odds
(blue) supports binding; red means substitutions there would bind better. The heat rows show the mean
change over the substitutions at each position; choose *every substitution* for the full matrix.

"""
PAIR_NO_SCRAMBLER = ("Scramblers for pairs are not available for this predictor: this page shows the prediction and "
                     "ISM only.")
PAIR_SCRAMBLERS = """
**Pair scramblers** explain both chains at once: the input is chain a then chain b (each padded to the
model's maximum length; padding is never scored). A **siamese** scrambler runs one network on each chain
alone; a **joint** scrambler sees both chains together, so it can score a residue by its partner.
Inclusion keeps what holds the binding probability, occlusion scrambles what destroys it; the samples are
pairs drawn from both PWMs and scored by the predictor.
"""
PAIR_ARCHITECTURE_KEY = "explore.pair_architecture"
PAIR_VIEWS = ("mean over substitutions", "every substitution")


def _pair_keys(name: str) -> dict:
    return {**pair_keys("explore", name), "view": "explore.pair_view"}


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


def pair_scrambler_section(name: str, predictor, chain_a: str, chain_b: str, probability: float) -> None:
    """Pair-scrambler logos of chain a and chain b (architecture, mode, bits and samples from the sidebar)."""
    mode, bits, n_samples = sidebar_settings()
    st.session_state.setdefault(PAIR_ARCHITECTURE_KEY, ARCHITECTURES[0])
    architecture = st.sidebar.radio("Pair scrambler", ARCHITECTURES, key=PAIR_ARCHITECTURE_KEY, horizontal=True,
                                    help="Siamese: one network scores each chain alone. Joint: one network sees "
                                         "both chains.")
    st.subheader("Pair scrambler: both chains")
    started = time.perf_counter()
    try:
        with st.spinner("Scrambling the pair…"):
            ex = explain(name, mode, (chain_a, chain_b), bits, int(n_samples), architecture=architecture)
    except sc.ModelFileError as err:
        st.info(f"The {architecture} {mode} pair scrambler for {name} is not available: {err}")
        return
    seconds = time.perf_counter() - started
    mean_samples = float(ex.mean_sample_prediction[0])
    c1, c2 = st.columns(2)
    c1.metric("Mean probability (samples)", f"{mean_samples:.4f}", delta=f"{mean_samples - probability:+.4f}",
              delta_color="off")
    c2.metric("Realised bits", f"{float(ex.conservation[0]):.3f}", delta=f"target {bits:g}", delta_color="off",
              delta_arrow="off", help="Mean conservation (bits per residue) over both chains' residues.")
    letters = predictor.alphabet.letters
    imp_a, imp_b = ex.chains(ex.importance)
    pwm_a, pwm_b = ex.chains(ex.pwm)
    for label, chain, imp, pwm in (("a", chain_a, imp_a, pwm_a), ("b", chain_b, imp_b, pwm_b)):
        n = len(chain)
        rows, hover = pwm_and_importance_rows(pwm[0, :n], imp[0, :n], chain, letters)
        figure = logo_rows_figure(rows, letters, titles=[f"Chain {label}: scrambled PWM",
                                                         f"Chain {label}: importance"],
                                         y_labels=["bits", "importance"], hover_values=hover,
                                         uirevision=f"pair-{label}")
        show_plotly(figure, key=f"explore_pair_logos_{label}")
    samples = ex.sample_sequences(0)
    frame = pd.DataFrame({"chain_a": [x.split("/")[0] for x in samples], "chain_b": [x.split("/")[1] for x in samples],
                          "probability": ex.sample_predictions[0]})
    st.dataframe(frame.head(TABLE_ROWS).round({"probability": 4}), hide_index=True, width="stretch")
    csv_download(frame, "Samples CSV", f"{name}_{architecture}_{mode}_{bits:g}bits_samples.csv",
                 key="explore_pair_samples_csv")
    st.caption(f"{architecture} {mode} pair scrambler · target {bits:g} bits · {n_samples} samples · seed "
               f"{SEED} · {seconds * 1000:.0f} ms. The per-residue ISM below is computed independently.")


def pair_page(name: str, predictor, notes: list) -> None:
    """Explore for a pair predictor: two chains, the binding probability and ISM of both chains."""
    examples = pair_examples(name)
    keys = _pair_keys(name)
    apply_pair_link("explore", name, examples, keys, notes)

    st.title("Explore")
    describe_predictor(predictor)
    scramblers = name in PAIR_BUILTINS
    with st.expander("What am I looking at?"):
        st.markdown(PAIR_EXPLANATION + (PAIR_SCRAMBLERS + READING_LOGOS if scramblers else PAIR_NO_SCRAMBLER))
    letters = predictor.alphabet.letters
    text_a, text_b = pair_input(predictor, examples, keys,
                                f"Letters {letters}{'' if 'C' in letters else ' (no cysteine)'}",
                                describe=True)
    with guard("Chains: "):
        chain_a = read_chain(text_a, predictor, "a")
        chain_b = read_chain(text_b, predictor, "b")

    example_index = pair_example_index(examples, chain_a, chain_b)
    write_query({"predictor": name, "example": None if example_index is None else example_index + 1})

    with guard("Prediction: "):
        probability = float(predict_pairs(name, [(chain_a, chain_b)])[0])
    st.metric("Binding probability", f"{probability:.4f}",
              help="The model's probability that chain a and chain b bind (form a heterodimer).")
    if scramblers:
        pair_scrambler_section(name, predictor, chain_a, chain_b, probability)
    else:
        st.info("Scramblers for pair predictors are not available yet; the map below is in-silico mutagenesis.")

    letters = predictor.alphabet.letters
    calls = 1 + (len(chain_a) + len(chain_b)) * (len(letters) - 1)
    started = time.perf_counter()
    with guard("In-silico mutagenesis: "), st.spinner(f"Scoring {calls:,} mutant pairs…"):
        ism_a, ism_b = pair_ism(name, chain_a, chain_b)
    seconds = time.perf_counter() - started
    st.subheader("In-silico mutagenesis of both chains")
    st.session_state.setdefault(keys["view"], PAIR_VIEWS[0])
    view = st.radio("Show", PAIR_VIEWS, key=keys["view"], horizontal=True,
                    help="The mean change of the log-odds over the substitutions at each residue, or every "
                         "substitution's change.")
    show_plotly(pair_ism_figure(ism_a, ism_b, chain_a, chain_b, letters, view), key="explore_pair_ism")
    csv_download(pair_ism_table(ism_a, ism_b, chain_a, chain_b, letters), "ISM CSV (both chains)",
                 f"{name}_pair_ism.csv", key="explore_pair_ism_csv")
    st.caption(f"{calls:,} pairs through the predictor in one batched call · {seconds * 1000:.0f} ms "
               "(0 when served from the cache)")


# ----------------------------------------------------------------------------- page

def sidebar_settings():
    """Mode, target bits and samples in the sidebar (shared by the single-sequence and the pair view)."""
    st.session_state.setdefault("explore.n_samples", N_SAMPLES_DEFAULT)
    with st.sidebar:
        mode, bits = mode_and_bits(
            "explore", mode_help=MODE_HELP,
            bits_help="Information budget of the explanation (mean bits per position kept). It sets the live "
                      "view's first frame, the downloads and the link; the slider under the chart moves at once.")
        if mode == "occlusion":
            st.caption(OCCLUSION_NOTE)
        n_samples = st.select_slider("Samples", N_SAMPLES_CHOICES, key="explore.n_samples",
                                     help="Sequences drawn from the scrambled PWM and scored by the predictor.")
    return mode, bits, n_samples


def _write_link(name, mode, bits, sequence, examples, drop, optimised=False) -> int | None:
    """Write the view into the link (every control that changes what is drawn, defaults left out; with
    ``optimised``, the optimised view's steps when one is shown); returns the 0-based index of the example
    shown, or None."""
    example_index = next((k for k, e in enumerate(examples) if e.sequence == sequence), None)
    link = {"predictor": name, "mode": mode, "bits": f"{bits:g}"}
    state = st.session_state
    if int(state.get("explore.n_samples", N_SAMPLES_DEFAULT)) != N_SAMPLES_DEFAULT:
        link["n"] = int(state["explore.n_samples"])
    flags = (("truth", "explore.truth"), ("features", "explore.posneg")) + \
        ((("log", "explore.cleavage_log"),) if hasattr(get_predictor(name), "cleavage_profile") else ())
    link.update({flag: "1" for flag, key in flags if state.get(key)})
    zoom = state.get(_keys(name)["zoom"])
    if zoom and tuple(zoom) != (1, len(sequence)) and max(zoom) <= len(sequence):
        link["zoom"] = f"{zoom[0]}-{zoom[1]}"
    if example_index is not None:
        link["example"] = example_index + 1
    elif len(sequence) <= MAX_LINK_SEQUENCE:
        link["seq"] = sequence
    if drop is not None:
        link["exclude"] = format_ranges(np.flatnonzero(drop == 0) + 1)
    if optimised:
        link["optimise"] = optimised_steps(name, mode, sequence, bits)
    write_query(link)
    return example_index


def _prediction_only_without_scrambler(name, mode, sequence) -> None:
    """Without a scrambler for ``mode`` show the prediction alone and stop the page."""
    try:
        get_scrambler(name, mode)
    except sc.ModelFileError as err:  # the predictor alone still answers
        st.error(f"Scrambler: {err}")
        with guard("Prediction: "):
            st.metric("Prediction (original)", f"{float(predict(name, [sequence])[0]):.3f}")
            show_cleavage(name, sequence)
        st.stop()


def _explain_with_exclusions(name, mode, sequence, bits, n_samples, drop):
    """The plain explanation and the one shown (the mask-dropout one when positions are excluded).

    Returns
    -------
    (plain, shown, excluded 0-based positions, seconds)
    """
    started = time.perf_counter()
    with st.spinner("Scrambling…"):
        plain = explain(name, mode, sequence, bits, int(n_samples))
        explanation, excluded = plain, []
        if drop is not None:
            try:
                explanation = explain(name, mode, sequence, bits, int(n_samples), drop=drop)
                excluded = [int(p) for p in np.flatnonzero(drop == 0)]
            except sc.ModelFileError:
                st.info(f"Excluding positions needs a scrambler trained with mask dropout, which {name} does not "
                        f"have in {mode} mode (the built-ins utr5 and polya have one for inclusion). The "
                        "explanation below excludes nothing.")
    return plain, explanation, excluded, time.perf_counter() - started


def _zoom_and_truth(keys, sequence, truth, importance):
    """The zoom slider and the true-elements toggle; returns (zoom (first, last) 1-based, highlight or None).

    A new sequence longer than 80 positions opens on 80 of them around its true elements or its top score
    (``logo_figures.readable_window``); a zoom from the link or the slider stays while the sequence does.
    """
    cols = st.columns([3, 1])
    zoom_key, length = keys["zoom"], len(sequence)
    zoom = st.session_state.get(zoom_key)
    if zoom is None or max(zoom) > length or st.session_state.get(f"{zoom_key}.for") not in (None, sequence):
        st.session_state[zoom_key] = readable_window(length, importance, truth)
    st.session_state[f"{zoom_key}.for"] = sequence
    zoom = cols[0].slider("Positions", 1, length, key=zoom_key, help="Zoom the logos to a position range.")
    show_truth = cols[1].toggle("Show the true elements", key="explore.truth", disabled=truth is None,
                                help="Yellow bands mark the positions the grammar's value depends on (built-in examples).")
    highlight = list(np.flatnonzero(truth)) if (show_truth and truth is not None) else None
    return zoom, highlight


def _faithfulness_note(explanation, bits: float, mode: str) -> None:
    """A plain warning when the explanation at the sidebar's budget is not faithful, and what to do."""
    checks = explanation.faithfulness
    if checks is None or checks.faithful[0]:
        return
    st.warning(f"**This {mode} explanation is not faithful at {bits:g} bits.** {checks.warnings[0]} "
               "The line under the histogram says which budgets of the slider are affected.", icon="⚠️")


def _live_section(keys, view: dict, explanation, truth, excluded) -> tuple:
    """The live view: PWM and importance logos, the samples' histogram and the metrics at every budget of
    the grid, switched in the browser by the slider under the chart (selecting letters excludes them).

    ``view``: name, mode, sequence, bits, n_samples, drop, label. Returns (zoom, highlight, titles).
    """
    title, value = st.columns([3, 1])
    title.subheader("Scrambled PWM, importance and samples")
    value.metric("Prediction (original)", f"{float(explanation.prediction[0]):.3f}")
    sequence = view["sequence"]
    zoom, highlight = _zoom_and_truth(keys, sequence, truth, explanation.importance[0])
    sweep = explain_bits_grid(view["name"], view["mode"], sequence, int(view["n_samples"]),
                              drop=view["drop"] if excluded else None).with_explanation(explanation)
    titles = ["Scrambled PWM", "Importance on your sequence"]
    if excluded:
        titles = [f"{t} · alternative (positions excluded)" for t in titles]
    chart_slot = st.container()
    track, profile = cleavage_track(view["name"], sequence)
    figure = bits_slider_figure(sweep, start_bits=view["bits"], titles=titles, highlight=highlight, shade=excluded,
                                x_range=(zoom[0] - 1, zoom[1] - 1), prediction_label=view["label"], track=track)
    # st.plotly_chart calls on_select with no arguments: bind them here
    with chart_slot:
        show_plotly(figure, key=LOGOS_KEY, on_select=partial(_add_selection_to_excluded, keys["exclude"], LOGOS_KEY,
                                                             len(sequence), logo_trace_count(figure)),
                    selection_mode=("box", "points"))
    if profile is not None:
        st.caption(_cleavage_caption(profile, under_logos=True))
    _faithfulness_note(explanation, view["bits"], view["mode"])
    st.caption(f"Drag the **Target bits** slider under the chart: all {len(sweep.target_bits)} budgets from "
               f"{sweep.target_bits.min():g} to {sweep.target_bits.max():g} bits are already in your browser, so "
               "the logos, the histogram and the metrics line move together at once. The sidebar's target bits "
               f"({view['bits']:g}) sets the first frame, the downloads, the samples below and the link.")
    return zoom, highlight, titles


def _downloads(stem, explanation, sequence, letters, titles, fixed) -> pd.DataFrame:
    """Logo, scores and samples downloads; returns the samples table."""
    d1, d2 = st.columns(2)
    with d1:
        figure_downloads(
            lambda: logo_figure_matplotlib(
                [explanation.pwm[0], explanation.importance[0]], ["pwm", "importance"], letters,
                titles, sequence=sequence, fixed=fixed),
            stem=f"{stem}_logos", key="explore_logos_download")
    with d2:
        e1, e2 = st.columns(2)
        with e1:
            csv_download(explanation_scores_table(explanation, sequence, letters), "Scores CSV",
                         f"{stem}_scores.csv", key="explore_scores_csv")
        samples = explanation.sample_sequences(0)
        sample_frame = pd.DataFrame({"sequence": samples, "prediction": explanation.sample_predictions[0]})
        with e2:
            csv_download(sample_frame, "Samples CSV", f"{stem}_samples.csv", key="explore_samples_csv")
    return sample_frame


def _samples_section(explanation, sample_frame) -> None:
    """A few samples at the sidebar's budget."""
    st.subheader(f"A few samples (at {float(explanation.target_bits):g} bits)")
    table = sample_frame.head(TABLE_ROWS).round({"prediction": 3})
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"sequence": st.column_config.TextColumn("sequence", width="large"),
                                "prediction": st.column_config.NumberColumn("prediction", format="%.3f")})


def _header(name, predictor, examples, keys, notes):
    """Link warnings, title, predictor line, sidebar settings and help; returns (mode, bits, n_samples)."""
    adopt_shared_sequence("explore", name, keys["sequence"])    # typed on Compare: shown here too
    note = _apply_link_sequence(name, examples, keys)
    for text in notes + ([note] if note else []):
        st.warning(text)
    st.title("Explore")
    describe_predictor(predictor)
    output_note(predictor)
    mode, bits, n_samples = sidebar_settings()
    help_column, guide_column = st.columns(2)
    with help_column.expander("What am I looking at?"):
        st.markdown(BITS_AND_MODES + READING_LOGOS +
                    "The **histogram** shows the predictor's output on the samples; the dashed line is the "
                    "prediction on your sequence. The **slider under the chart** moves through the budgets at "
                    "once: every budget was explained when the sequence was.")
    with guide_column:
        guided_example(predictor_names(), name)
    return mode, bits, n_samples


def main() -> None:
    names = predictor_names()
    notes = apply_query_once("explore", {"mode": mode_from_query("explore.mode"),
                                         "bits": bits_from_query("explore.bits"),
                                         "n": choice_from_query("explore.n_samples", N_SAMPLES_CHOICES, "samples"),
                                         "truth": flag_from_query("explore.truth"),
                                         "features": flag_from_query("explore.posneg"),
                                         "log": flag_from_query("explore.cleavage_log"),
                                         "optimise": deferred_from_query("explore", "optimise"),
                                         "example": deferred_from_query("explore", "example"),
                                         "seq": deferred_from_query("explore", "seq"),
                                         "exclude": deferred_from_query("explore", "exclude"),
                                         "zoom": deferred_from_query("explore", "zoom")})
    name = current_predictor_name()
    predictor = get_predictor(name)
    if is_pair_predictor(predictor):
        pair_page(name, predictor, notes)
        return
    examples = examples_for(name)
    keys = _keys(name)
    mode, bits, n_samples = _header(name, predictor, examples, keys, notes)

    text = example_and_sequence_input(predictor, examples, keys, side_by_side=True)
    with guard("Sequence: "):
        record_id, sequence = parse_one_sequence(text, predictor, keys["record"])
    share_sequence("explore", name, text)
    live_slot = st.container()          # the live view, drawn above the exclusions that it depends on
    drop = exclusion_input(keys, len(sequence))
    example_index = _write_link(name, mode, bits, sequence, examples, drop)
    _prediction_only_without_scrambler(name, mode, sequence)

    plain, explanation, excluded, seconds = _explain_with_exclusions(name, mode, sequence, bits, n_samples, drop)
    fixed = fixed_positions(get_scrambler(name, mode, dropout=bool(excluded)))
    original = float(explanation.prediction[0])

    letters = predictor.alphabet.letters
    truth = examples[example_index].important if example_index is not None and examples[example_index].description \
        else None
    view = dict(name=name, mode=mode, sequence=sequence, bits=bits, n_samples=n_samples, drop=drop,
                label=f"{predictor.name} prediction")
    with live_slot:
        zoom, highlight, titles = _live_section(keys, view, explanation, truth, excluded)
        if excluded:
            st.caption(alternative_caption(drop, explanation, plain, original))
    if not excluded:
        optimise_section(view, explanation, letters, zoom, highlight)
        _write_link(name, mode, bits, sequence, examples, drop, optimised=True)   # again: the optimised view
    if fixed is not None:
        st.caption(f"Letters in black are fixed by the scrambler's template ({int(fixed.sum())} positions): they are "
                   "never scrambled and do not count towards the bits.")
    if st.toggle("Positive and negative features", key="explore.posneg",
                 help="Two more importance logos from scramblers trained to keep what raises the prediction "
                      "(maximize) and what lowers it (minimize), at the current bits."):
        posneg_section(name, sequence, letters, bits, int(n_samples), zoom, highlight)

    sample_frame = _downloads(f"{name}_{mode}_{bits:g}bits_{record_id}", explanation, sequence, letters, titles,
                              fixed)
    _samples_section(explanation, sample_frame)
    st.caption(f"Record {record_id} · {mode} scrambler{' (mask dropout)' if excluded else ''} · target {bits:g} "
               f"bits · {n_samples} samples · seed {SEED} · {seconds * 1000:.0f} ms")


require_shell()
with guard():
    main()
