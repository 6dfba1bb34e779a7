"""Variant: what one or a few substitutions do to the prediction and to its explanation.

The variant is given as text (``120G>A``, several separated by commas), as an
edited copy of the reference, or as a VCF line with the reference window and
the genomic coordinate of its first base. All computation is
``scrambler_core.variants.score_variant``; this page draws inputs and results. The batch section
at the bottom (:mod:`pages._ui.variant_batch`) scores a pasted VCF against a reference FASTA with
``scrambler_core.batch.run_batch``; any scored row opens here.

Link parameters: ``predictor``, ``mode``, ``bits``, ``example`` (1-based) or ``seq`` (the reference),
``variants`` (e.g. ``6A>G,12C>T``), ``ism`` (the ISM window) and ``zoom`` (``FIRST-LAST``).
"""
from __future__ import annotations


import numpy as np
import plotly.graph_objects as go
import streamlit as st

import scrambler_core as sc
from pages._ui.help_text import MODE_HELP
from pages._ui.shell import require_shell
from pages._ui.errors import guard
from pages._ui.figures import (csv_download, figure_downloads, logo_figure_matplotlib, show_plotly,
    variant_summary_table)
from pages._ui.inputs import (adopt_shared_sequence, examples_for, mode_and_bits, parse_one_sequence,
    share_sequence)
from pages._ui.links import (apply_query_once, bits_from_query, deferred_from_query, linked_example, mode_from_query,
    parse_zoom, pop_link, write_query)
from pages._ui.models import (current_predictor_name, describe_predictor, get_predictor, get_scrambler,
    single_sequence_pages_only)
from pages._ui.results import cached, cleavage_profile
from pages._ui.variant_batch import batch_section
from scrambler_core.logo_figures import logo_heights_importance, logos_figure, readable_window, with_track
from scrambler_core.predictors.published import APARENT2_NARROW_WINDOW
from scrambler_core.variants import (Variant, apply_variants, diff_sequences, format_variants,
                                     parse_variants, parse_vcf_line, score_variant)

INPUT_KINDS = ("Variant (120G>A)", "Edited sequence", "VCF line")
ISM_WINDOW_DEFAULT = 10
ISM_WINDOW_MAX = 50
WINDOW_START_DEFAULT = 1_000_001
MAX_LINK_SEQUENCE = 2000  # longer references are not written into the link
TRANSITIONS = {"A": "G", "G": "A", "C": "T", "T": "C", "U": "C"}

WHAT_AM_I_LOOKING_AT = """
This page compares a **reference** sequence with an **alternative** that differs by one or a few
substitutions (insertions and deletions are refused: the predictor reads a fixed length).

* **Metrics**: the predictor's output on both sequences and **Δ = alternative − reference**. For a
  probability output (sigmoid) **Δ log-odds** is shown too: it adds up over independent effects and
  does not flatten near 0 and 1.
* **Logos**: the scrambler's importance on the reference and on the alternative, on one shared
  x axis, with the changed positions in yellow. The third row is their difference: a variant that
  breaks an element makes its stack drop below zero; one that creates an element makes a new stack
  rise. Importance depends on the whole sequence, so positions far from the variant may move too.
* **ISM heatmap**: in-silico mutagenesis of the *reference* around the variant. Each cell is the
  change in the output when that one letter is substituted (log-odds for a sigmoid predictor);
  circles mark the reference letters, crosses your alternative letters. For a single substitution
  the crossed cell is exactly the Δ above (Δ log-odds for a sigmoid predictor).
* **APARENT2**: the headline is the **Δ isoform log-odds** of the authors' variant tool: the log-odds of
  cleavage inside positions 78–127 of the window (narrow) against everywhere else, alternative minus
  reference; the same over the whole window (1–205 against the distal site) is shown beside it. The
  prediction and its Δ log-odds use the model's proximal isoform (cleavage at 81–110). Under the logos,
  on their x axis, the **cleavage profiles** of the reference and the alternative (positions counted as
  in the logos; zooming either zooms both).
* **Batch: score many variants** (bottom of the page): paste a VCF (up to 500 data lines) and give a
  reference FASTA; each variant gets a window of the predictor's length cut from the reference, with the
  variant at the anchor position. Every ALT allele is one row (insertions and deletions included); rows that
  cannot be scored are kept with the reason. Download the table as Parquet or CSV; for larger files,
  `python -m scrambler_core batch` does the same from the command line.
"""


def _keys(name: str) -> dict:
    return {kind: f"variant.{kind}.{name}"
            for kind in ("reference", "example", "record", "variants", "alternative", "vcf", "window_start",
                         "allele", "zoom")}


# ----------------------------------------------------------------------------- defaults

def example_variant(sequence: str, important=None, letters: str = "ACGT") -> Variant | None:
    """A valid example variant: a transition (A<->G, C<->T) at the first important position, else position 1."""
    if not sequence:
        return None
    index = int(np.flatnonzero(important)[0]) if important is not None and np.any(important) else 0
    ref = sequence[index]
    alt = TRANSITIONS.get(ref)
    if alt not in letters or alt == ref:
        alt = next(c for c in letters if c != ref)
    return Variant(index + 1, ref, alt)


def vcf_line_for(variant: Variant | None, window_start: int) -> str:
    """A VCF line (chromosome ``chr1``) for a window variant."""
    if variant is None:
        return ""
    return f"chr1 {window_start + variant.position - 1} . {variant.ref} {variant.alt}"


def _fill_inputs(keys: dict, sequence: str, variant: Variant | None, alphabet) -> None:
    """Put a reference and its example variant into every input (text, edited sequence, VCF)."""
    st.session_state[keys["reference"]] = sequence
    st.session_state[keys["variants"]] = str(variant) if variant else ""
    try:
        st.session_state[keys["alternative"]] = apply_variants(sequence, [variant], alphabet) if variant else sequence
    except ValueError:  # a reference the alphabet refuses: the page reports it when it reads the reference
        st.session_state[keys["alternative"]] = sequence
    start = int(st.session_state.get(keys["window_start"], WINDOW_START_DEFAULT))
    st.session_state[keys["vcf"]] = vcf_line_for(variant, start)


def _fill_example(keys: dict, example, alphabet) -> None:
    _fill_inputs(keys, example.sequence, example_variant(example.sequence, example.important, alphabet.letters),
                 alphabet)


# ----------------------------------------------------------------------------- link handlers

def _apply_link(name, examples, keys, alphabet) -> str | None:
    """Put the linked reference and variants into the inputs (after the predictor is known)."""
    example, note = linked_example(name, examples, pop_link("variant", "example"))
    if example is not None:
        st.session_state[keys["example"]] = example.label
        _fill_example(keys, example, alphabet)
    sequence = pop_link("variant", "seq")
    if sequence is not None:
        st.session_state[keys["reference"]] = sequence
    variants = pop_link("variant", "variants")
    if variants is not None:
        st.session_state["variant.input"] = INPUT_KINDS[0]
        st.session_state[keys["variants"]] = variants
    zoom = pop_link("variant", "zoom")
    if zoom is not None:
        parsed = parse_zoom(zoom, len(st.session_state.get(keys["reference"]) or "") or 10 ** 6)
        if parsed is None:
            return (note + " " if note else "") + f"The link's zoom {zoom!r} is not a position range FIRST-LAST."
        st.session_state[keys["zoom"]] = parsed
    return note


def _ism_from_query(value):
    """Query handler for ``ism``: the ISM window (positions each side of the variant)."""
    if not str(value).isdigit() or int(value) > ISM_WINDOW_MAX:
        return f"The link's ISM window {value!r} is not a whole number from 0 to {ISM_WINDOW_MAX}."
    st.session_state["variant.ism_window"] = int(value)
    return None


def _adopt_shared_reference(name, keys, alphabet, length) -> None:
    """A sequence typed on Explore or Compare becomes the reference here, with an example variant."""
    text = adopt_shared_sequence("variant", name, keys["reference"])
    if text is None:
        return
    try:
        sequence = sc.parse_text(text, alphabet, length=length)[0][1]
    except sc.SequenceError:      # the reference box shows the text and the page reports what is wrong
        return
    _fill_inputs(keys, sequence, example_variant(sequence, None, alphabet.letters), alphabet)
    st.session_state["variant.input"] = INPUT_KINDS[0]


# ----------------------------------------------------------------------------- reading the variant

def read_alternative(kind: str, reference: str, predictor, keys: dict):
    """The variants and the alternative sequence from the chosen input; errors go to ``st.error``.

    Returns
    -------
    (list of Variant, str)
    """
    alphabet = predictor.alphabet
    if kind == INPUT_KINDS[0]:
        text = st.text_input("Variants", key=keys["variants"],
                             help="1-based POSITION REF>ALT, several separated by commas, e.g. 120G>A, 7C>T. "
                                  "Neighbouring letters may change together (10AC>GT).")
        with guard("Variant: "):
            variants = parse_variants(text, reference, alphabet)
            return variants, apply_variants(reference, variants, alphabet)
    if kind == INPUT_KINDS[1]:
        text = st.text_area(f"Alternative sequence ({predictor.sequence_length} {alphabet.unit})",
                            key=keys["alternative"], height=110,
                            help="The reference with your edits; only substitutions (same length).")
        with guard("Alternative sequence: "):
            records = sc.parse_text(text, alphabet)
            if len(records) > 1:
                raise sc.SequenceError(f"the alternative has {len(records)} FASTA records; paste one")
            variants = diff_sequences(reference, records[0][1], alphabet)
            return variants, apply_variants(reference, variants, alphabet)
    c1, c2 = st.columns([1, 3])
    start = c1.number_input("Window start (genomic, 1-based)", min_value=1, step=1, key=keys["window_start"],
                            help="Genomic coordinate of the reference sequence's first letter.")
    line = c2.text_area("VCF line", key=keys["vcf"], height=80,
                        help="CHROM POS ID REF ALT [...] (tab- or space-separated; header lines starting with # "
                             "are skipped). POS is genomic and must fall inside the window; REF must match the "
                             "reference there. Several ALT alleles (A,T) are offered one at a time.")
    with guard("VCF: "):
        alleles = parse_vcf_line(line, reference, int(start), alphabet)
    if len(alleles) > 1:
        labels = [str(v) for v in alleles]
        chosen = st.radio("ALT allele", labels, key=keys["allele"], horizontal=True)
        alleles = [alleles[labels.index(chosen) if chosen in labels else 0]]
    with guard("VCF: "):
        return alleles, apply_variants(reference, alleles, alphabet)


# ----------------------------------------------------------------------------- results

def score(name: str, mode: str, bits: float, reference: str, alternative: str, ism_window: int):
    """``score_variant`` for the chosen predictor (with its scrambler when there is one), cached."""
    predictor = get_predictor(name)
    try:
        scrambler = get_scrambler(name, mode)
    except sc.ModelFileError as err:
        st.info(f"Importance is not shown: {err}. Predictions and ISM do not need a scrambler.")
        scrambler = None
    target_bits = float(bits) if scrambler is not None else None
    return cached("variant", lambda: score_variant(
        predictor, reference, alternative, scrambler=scrambler, target_bits=target_bits, ism_window=ism_window),
        predictor, scrambler=scrambler, reference=reference, alternative=alternative, target_bits=target_bits,
        ism_window=int(ism_window))


ISOFORM_WINDOWS = {"narrow": "78–127", "full": "1–205"}         # 1-based, as the logos count


def show_isoform_metrics(result) -> None:
    """APARENT2's Δ isoform log-odds: the narrow window (the authors' variant score) first, then the full one."""
    if not result.isoform_logodds:
        return
    columns = st.columns(2)
    for column, window, label in ((columns[0], "narrow", "Δ isoform log-odds, narrow (78–127)"),
                                  (columns[1], "full", "Δ isoform log-odds, full window (1–205)")):
        ref, alt, delta = result.isoform_logodds[window]
        column.metric(label, f"{delta:+.4f}",
                      help=f"Log-odds of cleavage at positions {ISOFORM_WINDOWS[window]} of the window against all "
                           f"other sites (the distal one included): alternative {alt:.4f} − reference {ref:.4f}. "
                           + ("The score of the authors' APARENT2 variant tool." if window == "narrow" else ""))


def show_metrics(result, predictor) -> None:
    show_isoform_metrics(result)
    columns = st.columns(4 if result.delta_logit is not None else 3)
    columns[0].metric("Prediction (reference)", f"{result.ref_prediction:.4f}")
    columns[1].metric("Prediction (alternative)", f"{result.alt_prediction:.4f}")
    columns[2].metric("Δ prediction (alt − ref)", f"{result.delta:+.4f}")
    if result.delta_logit is not None:
        columns[3].metric("Δ log-odds (alt − ref)", f"{result.delta_logit:+.4f}",
                          help=f"Logit of the alternative ({result.alt_logit:.3f}) minus that of the reference "
                               f"({result.ref_logit:.3f}).")
    st.caption(f"Changed: {format_variants(result.variants)} · {predictor.name} · "
               f"{len(result.variants)} substitution{'s' if len(result.variants) != 1 else ''}")
    csv_download(variant_summary_table(result), "Summary CSV", f"{predictor.name}_variant_summary.csv",
                 key="variant_summary_csv")


def logo_rows(result):
    """Letter heights of the three rows: importance on the reference, on the alternative, difference."""
    letters = result.letters
    return [logo_heights_importance(result.importance_ref, result.ref_sequence, letters),
            logo_heights_importance(result.importance_alt, result.alt_sequence, letters),
            logo_heights_importance(result.importance_delta, result.alt_sequence, letters)]


def shared_range(result) -> tuple[float, float]:
    """One y range for the reference and alternative rows, so their heights compare directly."""
    both = np.concatenate([result.importance_ref, result.importance_alt])
    top, low = max(float(both.max()), 0.0), min(float(both.min()), 0.0)
    return (low * 1.05, top * 1.05 if top > 0 else 1.0)


LOGO_TITLES = ["Importance on the reference", "Importance on the alternative",
               "Difference (alternative − reference)"]


def cleavage_track(name: str, result):
    """APARENT2's cleavage profiles of the reference and the alternative, as a track under the logos (None for
    other predictors, or when the two windows differ in length)."""
    reference = cleavage_profile(name, result.ref_sequence)
    if reference is None or len(result.alt_sequence) != len(result.ref_sequence):
        return None
    alternative = cleavage_profile(name, result.alt_sequence)
    first, end = APARENT2_NARROW_WINDOW
    return dict(values=np.stack([reference[:-1], alternative[:-1]]), names=["reference", "alternative"],
                title=f"Cleavage profile: reference (blue), alternative (red) · distal, beyond the window: "
                      f"{reference[-1]:.3f} → {alternative[-1]:.3f}",
                y_title="cleavage", band=(first + 1, end, f"narrow window ({first + 1}–{end})"))


def show_logos(result, name: str, mode: str, bits: float, keys: dict) -> None:
    st.subheader("Importance: reference, alternative and difference")
    length = result.length
    zoom_key = keys["zoom"]
    changed = np.zeros(length, bool)
    changed[[int(i) for i in result.changed]] = True
    marker = f"{length}:{np.flatnonzero(changed).tolist()}"      # a new variant opens on itself
    zoom = st.session_state.get(zoom_key)
    if zoom is None or max(zoom) > length or st.session_state.get(f"{zoom_key}.for") not in (None, marker):
        st.session_state[zoom_key] = readable_window(length, important=changed)
    st.session_state[f"{zoom_key}.for"] = marker
    zoom = st.slider("Positions", 1, length, key=zoom_key,
                     help="Zoom the logos to a position range (windows over 80 positions open on the variant).")
    rows = logo_rows(result)
    figure = logos_figure(rows, result.letters, titles=LOGO_TITLES,
                          y_labels=["importance", "importance", "Δ importance"],
                          highlight=[int(i) for i in result.changed], x_range=(zoom[0] - 1, zoom[1] - 1),
                          y_ranges=[shared_range(result), shared_range(result), None])
    track = cleavage_track(name, result)
    if track is not None:
        figure = with_track(figure, track, length)
    show_plotly(figure, key="variant_logos")
    stem = f"{name}_{mode}_{bits:g}bits_variant"
    d1, d2 = st.columns(2)
    with d1:
        figure_downloads(
            lambda: logo_figure_matplotlib(rows, ["matrix"] * 3, result.letters, LOGO_TITLES),
            stem=f"{stem}_logos", key="variant_logos_download")
    with d2:
        csv_download(result.to_frame(), "Per-position CSV", f"{stem}_positions.csv",
                     key="variant_positions_csv")


def ism_heatmap(result, value_label: str):
    """Plotly heatmap of the ISM window: letters down, positions across; hover position, letter and Δ."""
    letters = list(result.letters)
    positions = result.ism_positions
    reference_letters = [result.ref_sequence[p - 1] for p in positions]
    text = [[("reference letter" if letter == ref else f"{ref}→{letter}") for ref in reference_letters]
            for letter in letters]
    limit = float(np.abs(result.ism_changes).max()) or 1.0
    fig = go.Figure(go.Heatmap(
        z=result.ism_changes.T, x=positions, y=letters, text=text, zmid=0, zmin=-limit, zmax=limit,
        colorscale="RdBu", reversescale=True, colorbar=dict(title=value_label),
        hovertemplate="position %{x}<br>letter %{y} (%{text})<br>" + value_label + " %{z:.4f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=positions, y=reference_letters, mode="markers", hoverinfo="skip",
                             marker=dict(symbol="circle-open", size=9, color="#222"), name="reference"))
    changed = [int(i) + 1 for i in result.changed]
    fig.add_trace(go.Scatter(x=changed, y=[result.alt_sequence[p - 1] for p in changed], mode="markers",
                             hoverinfo="skip", marker=dict(symbol="x-thin-open", size=11, color="#111",
                                                            line=dict(width=2)),
                             name="your alternative"))
    fig.update_layout(height=90 + 34 * len(letters), margin=dict(l=10, r=10, t=30, b=10), showlegend=False,
                      xaxis_title="position", plot_bgcolor="white")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(tickformat="d")
    return fig


def show_ism(result, predictor, name: str) -> None:
    value_label = "Δ log-odds" if result.output_kind == "sigmoid" else "Δ prediction"
    first, last = int(result.ism_positions[0]), int(result.ism_positions[-1])
    st.subheader(f"In-silico mutagenesis of the reference, positions {first}-{last}")
    show_plotly(ism_heatmap(result, value_label), key="variant_ism")
    csv_download(result.ism_frame(), "ISM CSV", f"{name}_variant_ism_{first}-{last}.csv",
                 key="variant_ism_csv")


# ----------------------------------------------------------------------------- page

OPENED_ROW_KEY = "_variant_opened_row"


def opener(keys: dict, alphabet: str):
    """``on_open(ref, alt, label)`` for the batch section: a batch row's windows become this view's inputs
    (its few changes as variants, or the whole edited window for an indel)."""
    def on_open(ref: str, alt: str, label: str) -> None:
        variants = diff_sequences(ref, alt, alphabet)
        st.session_state[keys["reference"]] = ref
        if len(variants) <= 4:
            st.session_state["variant.input"] = INPUT_KINDS[0]
            st.session_state[keys["variants"]] = format_variants(variants)
        else:
            st.session_state["variant.input"] = INPUT_KINDS[1]
            st.session_state[keys["alternative"]] = alt
        st.session_state[OPENED_ROW_KEY] = label
    return on_open


def reference_input(predictor, examples: list, keys: dict) -> tuple[str, str]:
    """The example choice and the reference box; returns the parsed ``(record_id, reference)``."""
    alphabet = predictor.alphabet
    labels = [e.label for e in examples]

    def _load_example():
        chosen = st.session_state.get(keys["example"])
        if chosen in labels:
            _fill_example(keys, examples[labels.index(chosen)], alphabet)

    if examples:
        st.selectbox("Example", labels, key=keys["example"], on_change=_load_example,
                     help="An example reference, with an example variant in its first element (a built-in's "
                          "grammar element or a published model's planted element).")
    text = st.text_area(f"Reference sequence ({predictor.sequence_length} {alphabet.unit}) or FASTA",
                        key=keys["reference"], height=110,
                        help="Paste one bare sequence or FASTA records; spaces, line breaks and digits are "
                             "ignored.")
    with guard("Reference: "):
        return parse_one_sequence(text, predictor, keys["record"])


def _write_link(name, mode, bits, reference, examples, variants, keys) -> None:
    """Write the view into the link (example number or sequence, the variants, the ISM window and the zoom)."""
    example_index = next((k for k, e in enumerate(examples) if e.sequence == reference), None)
    link = {"predictor": name, "mode": mode, "bits": f"{bits:g}"}
    if example_index is not None:
        link["example"] = example_index + 1
    elif len(reference) <= MAX_LINK_SEQUENCE:
        link["seq"] = reference
    link["variants"] = format_variants(variants)
    ism_window = int(st.session_state.get("variant.ism_window", ISM_WINDOW_DEFAULT))
    if ism_window != ISM_WINDOW_DEFAULT:
        link["ism"] = ism_window
    zoom = st.session_state.get(keys["zoom"])
    if zoom and tuple(zoom) != (1, len(reference)) and max(zoom) <= len(reference):
        link["zoom"] = f"{zoom[0]}-{zoom[1]}"
    write_query(link)


def main() -> None:
    notes = apply_query_once("variant", {"mode": mode_from_query("variant.mode"),
                                         "bits": bits_from_query("variant.bits"),
                                         "example": deferred_from_query("variant", "example"),
                                         "seq": deferred_from_query("variant", "seq"),
                                         "variants": deferred_from_query("variant", "variants"),
                                         "ism": _ism_from_query, "zoom": deferred_from_query("variant", "zoom")})
    name = current_predictor_name()
    predictor = get_predictor(name)
    single_sequence_pages_only(predictor, "Variant")
    alphabet = predictor.alphabet
    examples = examples_for(name)
    keys = _keys(name)
    st.session_state.setdefault(keys["window_start"], WINDOW_START_DEFAULT)
    if keys["reference"] not in st.session_state:
        if examples:
            _fill_example(keys, examples[0], alphabet)
        else:
            _fill_inputs(keys, "", None, alphabet)
    _adopt_shared_reference(name, keys, alphabet, predictor.sequence_length)   # typed on Explore or Compare
    note = _apply_link(name, examples, keys, alphabet)
    for text in notes + ([note] if note else []):
        st.warning(text)

    st.title("Variant")
    describe_predictor(predictor)

    st.session_state.setdefault("variant.ism_window", ISM_WINDOW_DEFAULT)
    with st.sidebar:
        mode, bits = mode_and_bits(
            "variant",
            mode_help=MODE_HELP,
            bits_help="Information budget of the importance scores.")
        ism_window = st.slider("ISM window (positions each side)", 0, ISM_WINDOW_MAX, key="variant.ism_window",
                               help="The heatmap covers the changed positions and this many on each side.")

    with st.expander("What am I looking at?"):
        st.markdown(WHAT_AM_I_LOOKING_AT)

    # the batch section is drawn below the single-variant view but runs first, so an error in the
    # single-variant inputs (which stops the page) does not hide it
    single_view, batch_view = st.container(), st.container()
    with batch_view:
        batch_section(name, predictor, mode, opener(keys, alphabet.name))

    with single_view:
        opened = st.session_state.pop(OPENED_ROW_KEY, None)
        if opened:
            st.info(f"Batch row {opened}: its windows are the reference and alternative below.")
        record_id, reference = reference_input(predictor, examples, keys)
        kind = st.radio("Describe the alternative as", INPUT_KINDS, key="variant.input", horizontal=True)
        variants, alternative = read_alternative(kind, reference, predictor, keys)
        share_sequence("variant", name, reference)
        _write_link(name, mode, bits, reference, examples, variants, keys)

        with guard("Scoring: "):
            with st.spinner("Scoring the variant…"):
                result = score(name, mode, bits, reference, alternative, int(ism_window))
        show_metrics(result, predictor)
        if result.importance_ref is not None:
            show_logos(result, name, mode, bits, keys)
        else:
            csv_download(result.to_frame(), "Per-position CSV", f"{name}_variant_positions.csv",
                         key="variant_positions_csv")
        show_ism(result, predictor, name)
        st.caption(f"Reference {record_id} · {mode} scrambler · target {bits:g} bits · "
                   f"ISM ± {int(ism_window)} positions")
        _write_link(name, mode, bits, reference, examples, variants, keys)   # again: the zoom the logos drew


require_shell()
with guard():
    main()
