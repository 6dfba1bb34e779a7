"""Compare: every attribution method on one sequence, side by side on one shared x axis.

Each method's map comes from ``scrambler_core.comparison.run_method`` (which calls
``scrambler_core.attribute``) and is cached on disk per predictor, method, options and
sequence, so switching methods on and off is instant.

A pair predictor (``binder``, ``ppi``) gets two chains instead and one row of logos per method
for each chain (``scrambler_core.attribute`` on the pair: chain a then chain b).

Every row follows one sign rule (positive: the letter raises the output) and draws, by default,
the observed letter's score (x · attribution, as the paper and tangermeme do); "All letters"
draws each method's whole (L, A) map. Rows and the picker show the methods' human names
(``comparison.METHOD_NAMES``); links and CSVs keep the identifiers.

Link parameters: ``predictor``, ``methods`` (comma-separated method identifiers),
``example`` (1-based number of a built-in example) or ``seq`` (a sequence).
"""
from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import streamlit as st

import scrambler_core as sc
from pages._ui.shell import require_shell
from pages._ui.errors import USER_ERRORS, guard
from pages._ui.figures import csv_download, figure_downloads, logo_figure_matplotlib, show_plotly
from pages._ui.help_text import COMPARE_NORMALISE_HELP, COMPARE_SIGN, COMPARE_VIEW_HELP, MODE_HELP
from pages._ui.inputs import (adopt_shared_sequence, example_and_sequence_input, examples_for, mode_and_bits,
    parse_one_sequence, share_sequence)
from pages._ui.links import (apply_linked_sequence, apply_query_once, bits_from_query, choice_from_query,
    deferred_from_query, flag_from_query, mode_from_query, parse_zoom, pop_link, write_query)
from pages._ui.models import (current_predictor_name, describe_predictor, get_predictor, get_scrambler,
    is_pair_predictor)
from pages._ui.pairs import apply_pair_link, pair_example_index, pair_input, pair_keys, read_chain
from pages._ui.results import cached
from scrambler_core import comparison
from scrambler_core.examples import pair_examples
from scrambler_core.predictors import ARCHITECTURES
from scrambler_core.logo_figures import logos_figure, stack_heights

LOG = logging.getLogger("scrambler_explorer")

METHOD_CHOICES = comparison.FAST_METHODS + comparison.PER_EXAMPLE_METHODS
VIEW_KEY = "compare.view"
STEPS_DEFAULT, STEPS_MIN, STEPS_MAX = 300, 10, 2000
ROW_HEIGHT = 120
MAX_LINK_SEQUENCE = 2000  # longer sequences are not written into the link
METHODS_KEY = "compare.methods"
PAIR_METHODS = ("scrambler", "ism", "saliency", "gradient_x_input", "integrated_gradients")
PAIR_METHODS_KEY = "compare.pair_methods"


def _keys(name: str) -> dict:
    return {"sequence": f"compare.sequence.{name}", "example": f"compare.example.{name}",
            "zoom": f"compare.zoom.{name}", "record": f"compare.record.{name}"}


# ----------------------------------------------------------------------------- link handlers

def _methods_from_query(value):
    asked = [m.strip() for m in str(value).split(",") if m.strip()]
    known = [m for m in METHOD_CHOICES if m in asked]
    unknown = [m for m in asked if m not in METHOD_CHOICES]
    if known:
        st.session_state[METHODS_KEY] = known
    if unknown:
        return (f"The link asks for method(s) {', '.join(repr(m) for m in unknown)}, which do not exist "
                f"(methods: {', '.join(METHOD_CHOICES)}).")
    return None


# ----------------------------------------------------------------------------- teaching

def explain_methods(length, size) -> str:
    """Markdown: one line per method (what it measures, its cost in predictor calls)."""
    lines = ["Every row explains the **same prediction on the same sequence**; the x axis is shared, so "
             "drag to zoom all rows at once. " + COMPARE_SIGN, "",
             "By default every row draws **your letter** at each position with the method's score for it "
             "(x · attribution), as the paper's logos do; **All letters** shows the gradient methods' value "
             "for every letter and every ISM substitution. Scores have different units per method: switch on "
             "**Normalise each row** to compare shapes.", "",
             "| method | identifier | what it measures | cost in predictor calls |", "|---|---|---|---|"]
    for method in METHOD_CHOICES:
        what, cost = comparison.METHOD_NOTES[method]
        lines.append(f"| {comparison.method_name(method)} | `{method}` | {what} | {cost} |")
    here = (f"Here L = {length} positions and A = {size} letters, so ISM costs 1 + {length}×{size - 1} = "
            f"{1 + length * (size - 1):,} calls. " if length else f"L is the sequence length and A = {size} letters. ")
    lines += ["", here + "For a sigmoid predictor the gradient methods, DeepLIFT/DeepSHAP and ISM explain the "
              "pre-sigmoid logit. The **time** is measured when the map was computed; a map served from the cache "
              "is not recomputed (see *from cache* in the cost table)."]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- computing (cached)

def _options(method, mode, bits, steps, scrambler) -> dict:
    options = comparison.scrambler_options(method, mode=mode, target_bits=bits, steps=steps)
    if scrambler is not None and method in ("scrambler", "scrambler_finetuned"):
        options["scrambler"] = scrambler
    return options


def _method_params(method, options) -> dict:
    """The cache parameters of one method's options: the plain options and the scrambler (by fingerprint)."""
    plain = {k: v for k, v in options.items() if k != "scrambler"}
    return {"method": method, "options": json.dumps(plain, sort_keys=True, default=str),
            "scrambler": options.get("scrambler")}


def method_result(predictor, method, options, sequence, computed: list):
    """One method's result, cached on disk; ``computed`` gets the method when it was not cached."""
    def compute():
        computed.append(method)
        return comparison.run_method(predictor, sequence, method, options)

    return cached("compare", compute, predictor, **_method_params(method, options), sequence=sequence)


def shared_y_range(rows) -> tuple[float, float]:
    """One y range that holds every row's letter stacks (normalised rows share one scale)."""
    low, high = 0.0, 0.0
    for heights in rows:
        bottom, top = stack_heights(heights)
        low, high = min(low, float(bottom.min(initial=0.0))), max(high, float(top.max(initial=0.0)))
    if high <= low:
        return (0.0, 1.0)
    pad = 0.04 * (high - low)
    return (low - pad if low < 0 else 0.0, high + pad if high > 0 else 0.0)


def view_label(size: int):
    """The view radio's labels for an alphabet of ``size`` letters ("All four letters" for DNA)."""
    every = "All four letters" if size == 4 else f"All {size} letters"
    return {"observed": "Your letter (x · attribution)", "all": every}.get


def view_and_normalise(size: int, columns=None) -> tuple[str, bool]:
    """The "Letters drawn" radio and the "Normalise each row" toggle; returns (view, normalise)."""
    c1, c2 = columns or st.columns(2)
    view = c1.radio("Letters drawn", comparison.VIEWS, key=VIEW_KEY, format_func=view_label(size),
                    horizontal=True, help=COMPARE_VIEW_HELP)
    normalise = c2.toggle("Normalise each row", key="compare.normalise", help=COMPARE_NORMALISE_HELP)
    return view, normalise


def methods_picker(options, key: str, help_text: str) -> list:
    """A multiselect of method identifiers shown by their human names; the help lists "name — identifier"."""
    chosen = st.multiselect("Methods", options, key=key, format_func=comparison.method_name,
                            help=help_text + "\n\n" + comparison.methods_help(options))
    return [m for m in options if m in chosen]


def scrambler_row_settings() -> tuple[str, float]:
    """Mode and target bits of the scrambler row (drawn in the sidebar, single and pair view alike)."""
    st.markdown("**Scrambler row**")
    return mode_and_bits(
        "compare", mode_label="Scrambler mode", bits_label="Scrambler target bits",
        mode_help=MODE_HELP,
        bits_help="The scrambler's information budget (mean bits per position).")


def run_methods(methods: list, skipped: dict, attribute) -> dict:
    """Each method's result ``attribute(method)``, with a progress bar while more than one runs.

    ``skipped`` maps methods not to run to the reason shown (None: already explained on the page);
    a method that fails is added to it and leaves the others on the page. Shows a warning per
    skipped method and stops the page when no method gave a result.
    """
    results = {}
    progress = st.progress(0.0, text="Attributing…") if len(methods) > 1 else None
    for k, method in enumerate(methods):
        if method in skipped:
            continue
        if progress is not None:
            progress.progress(k / len(methods), text=f"Attributing with {comparison.method_name(method)}…")
        try:
            results[method] = attribute(method)
        except USER_ERRORS as err:
            skipped[method] = str(err)
        except Exception as err:  # one method failing leaves the others on the page
            LOG.exception("attribution %s failed", method)
            skipped[method] = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no detail'}"
    if progress is not None:
        progress.empty()
    for method, reason in skipped.items():
        if reason is not None:
            st.warning(f"{method}: {reason}")
    if not results:
        st.stop()
    return results


# ----------------------------------------------------------------------------- pairs

def pair_method_result(predictor, method, options, pair, computed: list):
    """One method's map of a pair (cached): importance (2 Lmax, A), chain a then chain b."""
    def compute():
        computed.append(method)
        return comparison.run_method(predictor, [tuple(pair)], method, options)

    return cached("compare_pair", compute, predictor, **_method_params(method, options), pair=tuple(pair))


def pair_maps_section(name, letters, chain_length, chain_a, chain_b, results) -> list:
    """One logo figure per chain, a row per method; returns the chains' score tables."""
    st.subheader("Attribution maps")
    view, normalise = view_and_normalise(len(letters))
    st.caption(COMPARE_SIGN)
    chains = [("a", chain_a, 0), ("b", chain_b, chain_length)]
    drawn = comparison.pair_display_rows(results, [(start, chain) for _, chain, start in chains], letters,
                                         view, normalise)
    frames = []
    for (label, chain, _), (per_chain, rows, raw) in zip(chains, drawn):
        titles = [f"Chain {label} · {comparison.row_title(r)}{comparison.view_suffix(m, view)}"
                  for m, r in per_chain.items()]
        figure = logos_figure(rows, letters, titles=titles,
                              y_labels=["score / max" if normalise else "score"] * len(rows),
                              hover_values=raw if normalise else None, row_height=ROW_HEIGHT,
                              y_ranges=[shared_y_range(rows)] * len(rows) if normalise else None,
                              uirevision=f"compare-{name}-{label}-{len(chain)}")
        st.markdown(f"**Chain {label}** ({len(chain)} residues)")
        show_plotly(figure, key=f"compare_pair_logos_{label}")
        frame = comparison.scores_table(per_chain, chain, letters)
        frame.insert(0, "chain", label)
        frames.append(frame)
    return frames


def pair_cost_section(name, predictor, chain_length, chain_a, chain_b, results, computed, frames) -> None:
    """The methods' cost table and the CSV downloads of a pair."""
    st.subheader("Cost")
    residues = len(chain_a) + len(chain_b)
    costs = comparison.cost_table(results, residues, predictor.alphabet.size)
    costs["from_cache"] = [m not in computed for m in costs.method]
    st.dataframe(costs, hide_index=True, width="stretch")
    st.caption(f"The methods see the joined pair (chain a then chain b, each padded to {chain_length}); padding is "
               f"never mutated, so L = {len(chain_a)} + {len(chain_b)} = {residues} residues in the formulas.")
    c1, c2 = st.columns(2)
    with c1:
        csv_download(pd.concat(frames, ignore_index=True), "Scores CSV (both chains, all methods)",
                     f"{name}_compare_pair_scores.csv", key="compare_pair_scores_csv")
    with c2:
        csv_download(costs, "Cost CSV", f"{name}_compare_pair_cost.csv", key="compare_pair_cost_csv")


def pair_main(name: str, predictor, notes: list) -> None:
    """Compare for a pair predictor: two chains, one row per method for each chain."""
    examples = pair_examples(name)
    keys = pair_keys("compare", name)
    apply_pair_link("compare", name, examples, keys, notes)

    st.title("Compare")
    describe_predictor(predictor)
    letters = predictor.alphabet.letters
    chain_length = int(predictor.max_length)

    st.session_state.setdefault(PAIR_METHODS_KEY, ["scrambler", "ism", "saliency"])
    st.session_state.setdefault("compare.normalise", False)
    st.session_state.setdefault(VIEW_KEY, "observed")
    st.session_state.setdefault("compare.pair_architecture", ARCHITECTURES[0])
    with st.sidebar:
        mode, bits = scrambler_row_settings()
        architecture = st.radio("Pair scrambler", ARCHITECTURES, key="compare.pair_architecture", horizontal=True,
                                help="Siamese: one network scores each chain alone. Joint: one network sees both.")

    with st.expander("What am I looking at?"):
        st.markdown(explain_methods(None, predictor.alphabet.size) + "\n\nFor a pair the methods explain the "
                    "binding probability of both chains at once (the chains are joined, chain a then chain b, "
                    "each padded to the model's maximum length); each chain gets its own rows below.")

    text_a, text_b = pair_input(predictor, examples, keys, f"Letters {letters}")
    methods = methods_picker(PAIR_METHODS, PAIR_METHODS_KEY, "The methods that explain a pair predictor:")

    with guard("Chains: "):
        chain_a = read_chain(text_a, predictor, "a")
        chain_b = read_chain(text_b, predictor, "b")
    example_index = pair_example_index(examples, chain_a, chain_b)
    write_query({"predictor": name, "methods": ",".join(methods),
                 "example": None if example_index is None else example_index + 1})
    if not methods:
        st.info("Choose at least one method.")
        st.stop()

    skipped, scrambler = {}, None
    if "scrambler" in methods:
        try:
            scrambler = get_scrambler(name, mode, architecture=architecture)
        except sc.ModelFileError as err:
            st.info(f"scrambler: the {architecture} {mode} pair scrambler for {name} is not available ({err}).")
            skipped["scrambler"] = None
    computed = []
    results = run_methods(methods, skipped, lambda method: pair_method_result(
        predictor, method, _options(method, mode, bits, None, scrambler), (chain_a, chain_b), computed))

    frames = pair_maps_section(name, letters, chain_length, chain_a, chain_b, results)
    pair_cost_section(name, predictor, chain_length, chain_a, chain_b, results, computed, frames)

# ----------------------------------------------------------------------------- page

def methods_choice() -> tuple[list, int | None]:
    """The methods multiselect and, for per-example methods, their steps; returns (methods, steps or None)."""
    methods = methods_picker(
        METHOD_CHOICES, METHODS_KEY,
        "Fast methods are on by default. The per-example scramblers and the ablations optimise this one "
        "sequence (1 + 32 × steps predictor calls, seconds each). Name — identifier (the identifier is what "
        "links and CSVs use):")
    per_example = [m for m in methods if m in comparison.PER_EXAMPLE_METHODS]
    steps = None
    if per_example:
        c1, c2 = st.columns([1, 3])
        steps = int(c1.number_input("Optimisation steps", STEPS_MIN, STEPS_MAX, step=50, key="compare.steps",
                                    help="Adam steps of the per-example optimisation (the paper used 300)."))
        names = " and ".join(comparison.method_name(m) for m in per_example)
        c2.info(f"{names} optimise this sequence alone: 1 + 32 × {steps} = {1 + 32 * steps:,} predictor calls "
                "each, about 1–3 s per 300 steps on a CPU. The result is cached, so it runs once per sequence "
                "and setting.")
    return methods, steps


def _steps_from_query(value):
    """Query handler for ``steps``: a whole number of optimisation steps in the input's range."""
    if not str(value).isdigit() or not STEPS_MIN <= int(value) <= STEPS_MAX:
        return f"The link's steps {value!r} is not a whole number from {STEPS_MIN} to {STEPS_MAX}."
    st.session_state["compare.steps"] = int(value)
    return None


def _query_handlers() -> dict:
    """Every control a Compare link holds: methods, sequence, scrambler row, drawing, zoom, steps."""
    return {"methods": _methods_from_query, "example": deferred_from_query("compare", "example"),
            "seq": deferred_from_query("compare", "seq"), "mode": mode_from_query("compare.mode"),
            "bits": bits_from_query("compare.bits"),
            "view": choice_from_query(VIEW_KEY, comparison.VIEWS, "letters drawn"),
            "normalise": flag_from_query("compare.normalise"), "truth": flag_from_query("compare.truth"),
            "steps": _steps_from_query, "zoom": deferred_from_query("compare", "zoom")}


def _apply_linked_zoom(keys) -> str | None:
    """The link's zoom (``FIRST-LAST``) into the zoom slider, once the sequence is known."""
    zoom = pop_link("compare", "zoom")
    if zoom is None:
        return None
    length = len(st.session_state.get(keys["sequence"]) or "") or 10 ** 6
    parsed = parse_zoom(zoom, length)
    if parsed is None:
        return f"The link's zoom {zoom!r} is not a position range FIRST-LAST."
    st.session_state[keys["zoom"]] = parsed
    return None


def _write_link(name, methods, sequence, examples, keys) -> int | None:
    """Write the view into the link (every control that changes what is drawn, defaults left out);
    returns the 0-based index of the example shown, or None."""
    state = st.session_state
    example_index = next((k for k, e in enumerate(examples) if e.sequence == sequence), None)
    link = {"predictor": name, "methods": ",".join(methods), "mode": state.get("compare.mode"),
            "bits": f"{float(state.get('compare.bits', 0.5)):g}"}
    if example_index is not None:
        link["example"] = example_index + 1
    elif len(sequence) <= MAX_LINK_SEQUENCE:
        link["seq"] = sequence
    if state.get(VIEW_KEY, "observed") != "observed":
        link["view"] = state[VIEW_KEY]
    link.update({flag: "1" for flag in ("normalise", "truth") if state.get(f"compare.{flag}")})
    if any(m in comparison.PER_EXAMPLE_METHODS for m in methods) and state.get("compare.steps") != STEPS_DEFAULT:
        link["steps"] = int(state["compare.steps"])
    zoom = state.get(keys["zoom"])
    if zoom and tuple(zoom) != (1, len(sequence)) and max(zoom) <= len(sequence):
        link["zoom"] = f"{zoom[0]}-{zoom[1]}"
    write_query(link)
    return example_index


def _scrambler_or_skipped(name, mode, methods) -> tuple:
    """The scrambler the scrambler rows need (or None) and ``{method: reason}`` of the rows skipped without it."""
    scrambler = None
    skipped = {}
    if any(m in ("scrambler", "scrambler_finetuned") for m in methods):
        try:
            scrambler = get_scrambler(name, mode)
        except sc.ModelFileError as err:
            for m in ("scrambler", "scrambler_finetuned"):
                if m in methods:
                    skipped[m] = str(err)
    return scrambler, skipped


def maps_section(name, keys, letters, sequence, results, examples, example_index) -> tuple[list, list]:
    """The attribution logos, one row per method (view, normalise, true elements, zoom); (rows, titles)."""
    length = len(sequence)
    st.subheader("Attribution maps")
    c1, c2, c3 = st.columns([2, 1, 1])
    view, normalise = view_and_normalise(len(letters), (c1, c2))
    truth = (examples[example_index].important
             if example_index is not None and examples[example_index].description else None)
    show_truth = c3.toggle("Show the true elements", key="compare.truth", disabled=truth is None,
                           help="Yellow bands mark the positions the grammar's value depends on (built-in examples).")
    zoom_key = keys["zoom"]
    if st.session_state.get(zoom_key) is None or max(st.session_state[zoom_key]) > length:
        st.session_state[zoom_key] = (1, length)
    zoom = st.slider("Positions", 1, length, key=zoom_key, help="Zoom every row to a position range.")

    rows, raw, titles = comparison.display_rows(results, sequence, letters, view, normalise)
    highlight = list(np.flatnonzero(truth)) if (show_truth and truth is not None) else None
    figure = logos_figure(rows, letters, titles=titles, y_labels=["score / max" if normalise else "score"] * len(rows),
                          hover_values=raw if normalise else None, highlight=highlight,
                          x_range=(zoom[0] - 1, zoom[1] - 1), row_height=ROW_HEIGHT,
                          y_ranges=[shared_y_range(rows)] * len(rows) if normalise else None,
                          uirevision=f"compare-{name}-{length}")
    st.caption(COMPARE_SIGN)
    show_plotly(figure, key="compare_logos")
    return rows, titles


def cost_and_downloads(name, predictor, record_id, sequence, results, computed, rows, titles) -> None:
    """The methods' cost table and the logo, scores and cost downloads."""
    letters, length = predictor.alphabet.letters, len(sequence)
    st.subheader("Cost")
    costs = comparison.cost_table(results, length, predictor.alphabet.size)
    costs["from_cache"] = [m not in computed for m in costs.method]
    st.dataframe(costs, hide_index=True, width="stretch",
                 column_order=["name", "method", "predictor_calls", "calls_formula", "seconds", "check",
                               "from_cache"],
                 column_config={"name": "method", "method": st.column_config.TextColumn(
                                    "identifier", help="The method's identifier (links, CSVs, the CLI)."),
                                "predictor_calls": st.column_config.NumberColumn("predictor calls", format="%d"),
                                "calls_formula": "calls (formula)",
                                "seconds": st.column_config.NumberColumn("seconds", format="%.3f"),
                                "check": "check",
                                "from_cache": st.column_config.CheckboxColumn("from cache")})
    st.caption("Predictor calls as each method reports them (sequences through the predictor, forward or forward + "
               "backward); seconds measured when the map was computed (a warm-up of a new graph included).")

    stem = f"{name}_compare_{record_id}"
    d1, d2 = st.columns(2)
    with d1:
        figure_downloads(
            lambda: logo_figure_matplotlib(rows, ["matrix"] * len(rows), letters, titles),
            stem=f"{stem}_logos", key="compare_logos_download")
    with d2:
        csv_download(comparison.scores_table(results, sequence, letters), "Scores CSV (all methods)",
                     f"{stem}_scores.csv", key="compare_scores_csv")
        csv_download(costs, "Cost CSV", f"{stem}_cost.csv", key="compare_cost_csv")


def main() -> None:
    notes = apply_query_once("compare", _query_handlers())
    name = current_predictor_name()
    predictor = get_predictor(name)
    if is_pair_predictor(predictor):
        pair_main(name, predictor, notes)
        return
    examples = examples_for(name)
    keys = _keys(name)
    adopt_shared_sequence("compare", name, keys["sequence"])     # typed on Explore: compared here
    note = apply_linked_sequence("compare", name, examples, keys)
    zoom_note = _apply_linked_zoom(keys)
    for text in notes + [n for n in (note, zoom_note) if n]:
        st.warning(text)

    st.title("Compare")
    describe_predictor(predictor)
    letters = predictor.alphabet.letters

    st.session_state.setdefault(METHODS_KEY, list(comparison.FAST_METHODS))
    st.session_state.setdefault("compare.steps", STEPS_DEFAULT)
    st.session_state.setdefault("compare.normalise", False)
    st.session_state.setdefault(VIEW_KEY, "observed")
    with st.sidebar:
        mode, bits = scrambler_row_settings()

    with st.expander("What am I looking at?"):
        st.markdown(explain_methods(predictor.sequence_length, predictor.alphabet.size))

    text = example_and_sequence_input(predictor, examples, keys)

    methods, steps = methods_choice()

    with guard("Sequence: "):
        record_id, sequence = parse_one_sequence(text, predictor, keys["record"])
    share_sequence("compare", name, text)

    example_index = _write_link(name, methods, sequence, examples, keys)

    if not methods:
        st.info("Choose at least one method.")
        st.stop()

    scrambler, skipped = _scrambler_or_skipped(name, mode, methods)

    computed = []
    results = run_methods(methods, skipped, lambda method: method_result(
        predictor, method, _options(method, mode, bits, steps, scrambler), sequence, computed))

    rows, titles = maps_section(name, keys, letters, sequence, results, examples, example_index)
    _write_link(name, methods, sequence, examples, keys)     # again: the zoom and toggles drawn by the maps

    cost_and_downloads(name, predictor, record_id, sequence, results, computed, rows, titles)

require_shell()
with guard():
    main()
