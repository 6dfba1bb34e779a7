"""Variant: what one or a few substitutions do to the prediction and to its explanation.

The variant is given as text (``120G>A``, several separated by commas), as an
edited copy of the reference, or as a VCF line with the reference window and
the genomic coordinate of its first base. All computation is
``scrambler_core.variants.score_variant``; this page draws inputs and results. The batch section
at the bottom scores a pasted VCF against a reference FASTA with ``scrambler_core.batch.run_batch``.

Link parameters: ``predictor``, ``mode``, ``bits``, ``example`` (1-based) or
``seq`` (the reference), and ``variants`` (e.g. ``6A>G,12C>T``).
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

import scrambler_core as sc
from pages._ui.help_text import MODE_HELP
from pages._ui.shell import require_shell
from pages._ui.errors import guard
from pages._ui.figures import (csv_download, figure_downloads, logo_figure_matplotlib, show_plotly,
    variant_summary_table)
from pages._ui.inputs import examples_for, mode_and_bits, parse_one_sequence
from pages._ui.links import (apply_query_once, bits_from_query, deferred_from_query, linked_example,
    mode_from_query, pop_link, write_query)
from pages._ui.models import (current_predictor_name, describe_predictor, get_predictor, get_scrambler,
    is_pair_predictor, published_models, single_sequence_pages_only, user_models)
from pages._ui.results import cached
from pages._ui.sessions import session_directory
from scrambler_core import predictors as external
from scrambler_core.batch import BatchError, read_results, results_to_csv, results_to_parquet, run_batch
from scrambler_core.examples import batch_example
from scrambler_core.logo_figures import logo_heights_importance, logos_figure, readable_window
from scrambler_core.pasted_inputs import count_vcf_data_lines, normalised_fasta
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
  cleavage inside positions 77–126 of the window (narrow) against everywhere else, alternative minus
  reference; the same over the whole window (0–204 against the distal site) is shown beside it. The
  prediction and its Δ log-odds use the model's proximal isoform (cleavage at 80–109).
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
    return note


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


ISOFORM_WINDOWS = {"narrow": "77–126", "full": "0–204"}


def show_isoform_metrics(result) -> None:
    """APARENT2's Δ isoform log-odds: the narrow window (the authors' variant score) first, then the full one."""
    if not result.isoform_logodds:
        return
    columns = st.columns(2)
    for column, window, label in ((columns[0], "narrow", "Δ isoform log-odds, narrow (77:127)"),
                                  (columns[1], "full", "Δ isoform log-odds, full window (0:205)")):
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


# ----------------------------------------------------------------------------- batch: many variants

LOG = logging.getLogger("scrambler_explorer")
BATCH_MAX_LINES = 500
BATCH_MAX_FASTA_MB = 20
BATCH_MAX_BED_MB = 5
BATCH_EXAMPLE_PREDICTORS = ("utr5", "polya")
BATCH_METHODS = ("scrambler", "ism", "saliency", "gradient_x_input", "integrated_gradients")
BATCH_BITS = (0.1, 0.25, 0.5, 1.0, 2.0)
BATCH_REFERENCES = ("Example contig (chrDemo)", "Upload FASTA", "Paste FASTA")
BATCH_KEYS = {"vcf": "variant.batch.vcf", "reference": "variant.batch.reference",
              "fasta": "variant.batch.fasta", "methods": "variant.batch.methods", "bits": "variant.batch.bits"}
BATCH_RESULTS_KEY = "_variant_batch_results"     # {predictor name: last run's results}
BATCH_TABLE_COLUMNS = ("id", "chrom", "pos", "ref", "alt", "variant_type", "status", "message", "ref_prediction",
                       "alt_prediction", "delta_prediction")
BATCH_CAPTION = (
    f"Paste a VCF of up to {BATCH_MAX_LINES} data lines and give a reference FASTA. Each variant gets a window of "
    "the predictor's length cut from the reference, with the variant's first REF letter at the anchor position; "
    "every ALT allele is scored (reference and alternative window), and rows that cannot be scored (REF mismatch, "
    "symbolic allele, window past the contig end, ...) are listed with the reason. With a BED6 file of regions "
    "(each exactly the predictor's length), a variant is scored on the window of each region holding it, read "
    "5'→3' on the region's strand (the reverse complement on '-'). The command line's batch scoring does the same "
    "for millions of rows (resumable, sharded Parquet output; docs/cli.md).")


def fasta_size_problem(name: str, size: int) -> str | None:
    """The reason an uploaded reference FASTA of ``size`` bytes is refused, or None."""
    if size > BATCH_MAX_FASTA_MB * 1024 * 1024:
        return (f"Reference FASTA: {name} is {size / (1024 * 1024):.1f} MB; the app takes files up to "
                f"{BATCH_MAX_FASTA_MB} MB. For a whole genome use the command line's batch scoring (docs/cli.md).")
    return None


def batch_directory() -> Path:
    """This session's batch folder (inside the session's private temporary directory, made once per session)."""
    path = Path(session_directory()) / "batch"
    path.mkdir(parents=True, exist_ok=True)
    return path


def batch_model(name: str):
    """``(predictor argument, model_path)`` for ``run_batch``, or None for a model ``run_batch`` cannot load."""
    if name in user_models():
        return None
    if name in external.EXTERNAL_PREDICTORS:
        path = published_models().get(name)
        return None if path is None else (name, path)
    return name, None


def _batch_reference_text(choice: str, name: str, uploaded) -> str:
    """The reference FASTA text of the chosen source; raises SequenceError when there is none."""
    if choice == BATCH_REFERENCES[0]:
        return batch_example(name).fasta
    if choice == BATCH_REFERENCES[1]:
        if uploaded is None:
            raise sc.SequenceError("Reference FASTA: upload a FASTA file (.fa, .fasta, .fna or .txt) first")
        problem = fasta_size_problem(uploaded.name, uploaded.size)
        if problem:
            raise sc.SequenceError(problem)
        return normalised_fasta(uploaded.getvalue(), f"Reference FASTA {uploaded.name}")
    text = st.session_state.get(BATCH_KEYS["fasta"], "") or ""
    if not text.strip():
        raise sc.SequenceError("Reference FASTA: paste the reference FASTA (a '>' header line, then its letters)")
    return normalised_fasta(text.encode("utf-8"), "The pasted reference FASTA")


def _batch_regions_file(folder: Path, bed) -> Path | None:
    """Write an uploaded BED into ``folder/regions/`` under its (cleaned) name; None without an upload."""
    if bed is None:
        return None
    if bed.size > BATCH_MAX_BED_MB * 1024 * 1024:
        raise sc.SequenceError(f"Regions: {bed.name} is {bed.size / (1024 * 1024):.1f} MB; the app takes BED files "
                               f"up to {BATCH_MAX_BED_MB} MB (use the command line's batch --regions for more)")
    target = folder / "regions"
    target.mkdir(exist_ok=True)
    for old in target.iterdir():
        old.unlink()
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(bed.name).name).lstrip(".") or "regions.bed"
    path = target / name
    path.write_bytes(bed.getvalue())
    return path


def _run_batch(name: str, model: tuple, mode: str, settings: dict, uploaded, bed=None) -> dict | None:
    """Write the inputs into the session's batch folder, run ``scrambler_core.batch.run_batch`` and read back
    its results; errors are shown with ``st.error`` (None is returned then)."""
    folder = batch_directory()
    vcf_path, fasta_path, out_dir = folder / "batch.vcf", folder / "reference.fa", folder / "results.parquet"
    bar = None
    try:
        reference = _batch_reference_text(settings["reference"], name, uploaded)
        regions = _batch_regions_file(folder, bed)
        vcf_path.write_text(settings["vcf"], encoding="utf-8")
        fasta_path.write_text(reference, encoding="utf-8")
        bar = st.progress(0.0, text="Loading the models…")

        def progress(done: int, total: int) -> None:
            bar.progress(min(1.0, done / total) if total else 1.0, text=f"Scored {done} of {total} rows")

        predictor_arg, model_path = model
        manifest = run_batch(vcf_path, out_dir, predictor_arg, fasta=fasta_path, methods=settings["methods"],
                             target_bits=settings["bits"], mode=mode,
                             anchor=None if regions else settings["anchor"], regions=regions,
                             model_path=model_path, overwrite=True, progress=progress, shard_size=256)
        frame = read_results(out_dir)
        return {"frame": frame, "manifest": manifest, "parquet": results_to_parquet(out_dir),
                "csv": results_to_csv(frame).encode("utf-8"), "settings": dict(settings, mode=mode)}
    except (sc.SequenceError, BatchError, sc.ModelFileError, ValueError) as err:
        # the messages name the session's temporary files by their full path: show the file name only
        st.error(f"Batch: {str(err).replace(str(folder) + '/', '').replace('regions/', '')}")
    except Exception as err:  # never a traceback; log it for the operator
        LOG.exception("unexpected error (batch)")
        st.error(f"Batch: something went wrong: {type(err).__name__}: "
                 f"{str(err).splitlines()[0] if str(err) else 'no detail'}. Your inputs are kept.")
    finally:
        if bar is not None:
            bar.empty()
    return None


def batch_table(frame, regions: bool = False):
    """The shown columns of a results frame: identity (with strand and region when BED regions were given),
    status, predictions and the scrambler sample predictions (no list columns)."""
    samples = [c for c in frame.columns if c.endswith(("_ref_sample_prediction", "_alt_sample_prediction"))]
    shown = list(BATCH_TABLE_COLUMNS)
    if regions:
        shown[shown.index("variant_type") + 1:shown.index("variant_type") + 1] = ["strand", "region"]
    return frame[[c for c in shown if c in frame.columns] + samples]


def show_batch_results(results: dict) -> None:
    manifest, frame, settings = results["manifest"], results["frame"], results["settings"]
    counts = manifest.get("status_counts", {})
    ok, refused = int(counts.get("ok", 0)), int(counts.get("error", 0))
    bits = ", ".join(f"{b:g}" for b in settings["bits"]) if "scrambler" in settings["methods"] else ""
    st.caption(f"**{manifest['rows']} rows: {ok} scored, {refused} refused** · {', '.join(settings['methods'])}"
               + (f" ({settings['mode']}, {bits} bits)" if bits else "")
               + (f" · regions {settings['regions']}" if settings.get("regions") else f" · anchor {settings['anchor']}"))
    st.dataframe(batch_table(frame, bool(settings.get("regions"))), hide_index=True, width="stretch",
                 key="variant_batch_table")
    errors = frame[frame["status"] != "ok"]
    if len(errors):
        lines = [f"{row.id}: {row.message}" for row in errors.head(10).itertuples()]
        more = f"\n\n…and {len(errors) - 10} more (see the status and message columns)" if len(errors) > 10 else ""
        st.warning(f"{len(errors)} row{'s' if len(errors) != 1 else ''} could not be scored:\n\n"
                   + "\n".join(f"* {line}" for line in lines) + more)
    c1, c2 = st.columns(2)
    c1.download_button("Download Parquet", results["parquet"], file_name="batch_results.parquet",
                       mime="application/octet-stream", key="variant_batch_parquet", on_click="ignore",
                       help="All columns, importance as lists of length L (pandas.read_parquet, pyarrow).")
    c2.download_button("Download CSV", results["csv"], file_name="batch_results.csv", mime="text/csv",
                       key="variant_batch_csv", on_click="ignore",
                       help="All columns; each importance list is spread over columns NAME_1 .. NAME_L.")


def _batch_defaults(choices: list, anchor_key: str, length: int) -> None:
    """Start values of the batch widgets (a valid reference choice and anchor)."""
    st.session_state.setdefault(BATCH_KEYS["vcf"], "")
    st.session_state.setdefault(BATCH_KEYS["fasta"], "")
    st.session_state.setdefault(BATCH_KEYS["methods"], ["scrambler"])
    st.session_state.setdefault(BATCH_KEYS["bits"], [0.25, 0.5])
    if st.session_state.get(BATCH_KEYS["reference"]) not in choices:
        st.session_state[BATCH_KEYS["reference"]] = choices[0]
    anchor_now = st.session_state.get(anchor_key)
    if not isinstance(anchor_now, (int, float)) or not 1 <= anchor_now <= length:
        st.session_state[anchor_key] = length // 2 + 1


def _batch_example_button(name: str, anchor_key: str) -> None:
    """The button that loads the predictor's demo VCF and contig."""
    def _load_example():
        example = batch_example(name)
        st.session_state[BATCH_KEYS["vcf"]] = example.vcf
        st.session_state[BATCH_KEYS["reference"]] = BATCH_REFERENCES[0]
        st.session_state[anchor_key] = int(example.anchor)

    st.button("Load example", key="variant_batch_example", on_click=_load_example,
              help=f"A demo contig made of the {name} examples and a VCF of variants in them, including three "
                   "rows that cannot be scored on purpose.")


def _batch_reference_input(choices: list):
    """The reference genome choice with its uploader or text box; returns (choice, uploaded file or None)."""
    choice = st.radio("Reference genome", choices, key=BATCH_KEYS["reference"], horizontal=True,
                      help="The FASTA the windows are cut from; CHROM must name one of its records "
                           "(with or without 'chr').")
    uploaded = None
    if choice == BATCH_REFERENCES[1]:
        uploaded = st.file_uploader("Reference FASTA", type=["fa", "fasta", "fna", "txt"], key="variant_batch_fasta",
                                    help=f"Up to {BATCH_MAX_FASTA_MB} MB, uncompressed.")
        if uploaded is not None:
            problem = fasta_size_problem(uploaded.name, uploaded.size)
            if problem:
                st.error(problem)
    elif choice == BATCH_REFERENCES[2]:
        st.text_area("Reference FASTA", key=BATCH_KEYS["fasta"], height=110,
                     help="One or more records, each a '>' header line (its first word is the chromosome name) "
                          "and its letters.")
    return choice, uploaded


def _batch_regions_input():
    """The optional BED6 upload of strand-aware regions; returns the uploaded file or None."""
    bed = st.file_uploader("Regions (BED6, optional)", type=["bed", "txt"], key="variant_batch_bed",
                           help="chrom, start (0-based), end, name, score, strand; every region exactly the "
                                "predictor's length. A variant is scored on the window of each region holding it, "
                                "read 5'→3' on the region's strand; the anchor is then not used.")
    if bed is not None and bed.size > BATCH_MAX_BED_MB * 1024 * 1024:
        st.error(f"Regions: {bed.name} is {bed.size / (1024 * 1024):.1f} MB; the app takes BED files up to "
                 f"{BATCH_MAX_BED_MB} MB.")
    return bed


def _batch_problem(vcf_text: str, uploaded, methods: list, bits: list, has_example: bool, bed=None):
    """Why the batch cannot run: a message, True (the reason is shown under the uploader already) or None."""
    lines = count_vcf_data_lines(vcf_text)
    if lines > BATCH_MAX_LINES:
        return (f"The VCF has {lines} data lines; the app scores up to {BATCH_MAX_LINES}; use the command line's "
                "batch scoring for more (docs/cli.md).")
    if lines == 0:
        return ("The VCF has no data lines: paste VCF records (CHROM POS ID REF ALT, tab- or space-separated)"
                + (", or press Load example." if has_example else "."))
    if uploaded is not None and fasta_size_problem(uploaded.name, uploaded.size):
        return True
    if bed is not None and bed.size > BATCH_MAX_BED_MB * 1024 * 1024:
        return True
    if not methods:
        return "Choose at least one method."
    if "scrambler" in methods and not bits:
        return "Choose at least one target bits value for the scrambler."
    return None


def batch_section(name: str, predictor, mode: str) -> None:
    """Score a pasted VCF against a reference FASTA with ``scrambler_core.batch.run_batch``."""
    st.subheader("Batch: score many variants")
    st.caption(BATCH_CAPTION)
    length = getattr(predictor, "sequence_length", None)
    if is_pair_predictor(predictor) or length is None or predictor.alphabet.name == "protein":
        st.info(f"Batch scoring needs a single-sequence DNA predictor with a fixed length; {predictor.name} is not "
                "one. Choose another predictor in the sidebar.")
        return
    model = batch_model(name)
    if model is None:
        st.info(f"Batch scoring in the app takes the built-in and published predictors. For {name}, use the "
                "command line's batch scoring with your model and the scrambler downloaded from the Your model "
                "page (docs/cli.md).")
        return

    has_example = name in BATCH_EXAMPLE_PREDICTORS
    choices = list(BATCH_REFERENCES if has_example else BATCH_REFERENCES[1:])
    anchor_key = f"variant.batch.anchor.{name}"
    _batch_defaults(choices, anchor_key, length)
    if has_example:
        _batch_example_button(name, anchor_key)
    vcf_text = st.text_area(f"VCF (up to {BATCH_MAX_LINES} data lines)", key=BATCH_KEYS["vcf"], height=160,
                            placeholder="#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                                        "chr1\t1000006\trs1\tA\tG\t.\t.\t.",
                            help="CHROM POS ID REF ALT [...], tab- or space-separated; lines starting with # are "
                                 "skipped. Several ALT alleles (A,T) give one row each.")
    choice, uploaded = _batch_reference_input(choices)
    bed = _batch_regions_input()
    c1, c2, c3 = st.columns([1, 2, 2])
    anchor = c1.number_input("Anchor", min_value=1, max_value=int(length), step=1, key=anchor_key,
                             help=f"Window position (1-based, 1-{length}) of the variant: the window of {length} "
                                  f"letters starts anchor − 1 letters before POS. Default: the middle "
                                  f"({length // 2 + 1}).")
    methods = c2.multiselect("Methods", BATCH_METHODS, key=BATCH_KEYS["methods"],
                             help="The scrambler (the sidebar's mode, one result per target bits) and/or gradient "
                                  "and mutagenesis attributions.")
    bits = c3.multiselect("Target bits (scrambler)", BATCH_BITS, key=BATCH_KEYS["bits"],
                          format_func=lambda b: f"{b:g}", help="One scrambler result per value.")
    run = st.button("Run batch", key="variant_batch_run", type="primary")

    if run:
        problem = _batch_problem(vcf_text, uploaded, methods, bits, has_example, bed)
        if problem:
            if problem is not True:
                st.error(problem)
        else:
            settings = {"vcf": vcf_text, "reference": choice, "methods": list(methods),
                        "bits": sorted(float(b) for b in bits), "anchor": int(anchor),
                        "regions": bed.name if bed is not None else None}
            results = _run_batch(name, model, mode, settings, uploaded, bed)
            if results is not None:
                st.session_state.setdefault(BATCH_RESULTS_KEY, {})[name] = results
    results = st.session_state.get(BATCH_RESULTS_KEY, {}).get(name)
    if results is not None:
        show_batch_results(results)


# ----------------------------------------------------------------------------- page

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


def _write_link(name, mode, bits, reference, examples, variants) -> None:
    """Write the view into the link (example number or sequence, and the variants)."""
    example_index = next((k for k, e in enumerate(examples) if e.sequence == reference), None)
    link = {"predictor": name, "mode": mode, "bits": f"{bits:g}"}
    if example_index is not None:
        link["example"] = example_index + 1
    elif len(reference) <= MAX_LINK_SEQUENCE:
        link["seq"] = reference
    link["variants"] = format_variants(variants)
    write_query(link)


def main() -> None:
    notes = apply_query_once("variant", {"mode": mode_from_query("variant.mode"),
                                         "bits": bits_from_query("variant.bits"),
                                         "example": deferred_from_query("variant", "example"),
                                         "seq": deferred_from_query("variant", "seq"),
                                         "variants": deferred_from_query("variant", "variants")})
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
        batch_section(name, predictor, mode)

    with single_view:
        record_id, reference = reference_input(predictor, examples, keys)
        kind = st.radio("Describe the alternative as", INPUT_KINDS, key="variant.input", horizontal=True)
        variants, alternative = read_alternative(kind, reference, predictor, keys)
        _write_link(name, mode, bits, reference, examples, variants)

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


require_shell()
with guard():
    main()
