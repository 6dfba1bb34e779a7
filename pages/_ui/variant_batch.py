"""The Variant page's batch section: score a pasted VCF against a reference FASTA with
``scrambler_core.batch.run_batch``, show the rows (refused ones with their reasons), open one in the
single-variant view, download Parquet / CSV."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import streamlit as st

import scrambler_core as sc
from pages._ui.models import is_pair_predictor, published_models, user_models
from pages._ui.sessions import session_directory
from scrambler_core import predictors as external
from scrambler_core.batch import BatchError, read_results, results_to_csv, results_to_parquet, run_batch
from scrambler_core.examples import batch_example
from scrambler_core.pasted_inputs import count_vcf_data_lines, normalised_fasta

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


MAX_OPEN_CHOICES = 1000   # rows offered by "Open a row in the single-variant view"


def _scored_rows(frame):
    """The rows "Open a row" offers: the scored ones, at most MAX_OPEN_CHOICES."""
    return frame[frame["status"] == "ok"].head(MAX_OPEN_CHOICES)


def _row_label(row) -> str:
    where = f" · {row.strand} {row.region}" if getattr(row, "region", "") else ""
    return f"{row.id} · {row.chrom}:{row.pos} {row.ref}>{row.alt}{where}"


def _open_batch_row(frame, on_open) -> None:
    """Button callback: hand the chosen row's windows to ``on_open(ref, alt, label)``; the row is read from the
    choice as it is when the button is pressed."""
    rows = _scored_rows(frame)
    choice = st.session_state.get("variant.batch.row") or 0
    chosen = rows.iloc[[choice if choice < len(rows) else 0]]
    on_open(chosen["ref_sequence"].iloc[0], chosen["alt_sequence"].iloc[0], _row_label(next(chosen.itertuples())))


def open_row_control(frame, on_open) -> None:
    """Pick a scored row and open it in the single-variant view above (logos, ISM, link)."""
    ok = _scored_rows(frame)
    if ok.empty:
        return
    labels = [_row_label(row) for row in ok.itertuples()]
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    c1.selectbox("Open a row in the single-variant view", range(len(labels)), key="variant.batch.row",
                 format_func=lambda k: labels[k] if k < len(labels) else "",
                 help="Its reference and alternative windows (on the row's strand) become the inputs "
                      "of the view above." + (f" The first {MAX_OPEN_CHOICES:,} scored rows are offered."
                                              if len(frame) > MAX_OPEN_CHOICES else ""))
    c2.button("Open above", key="variant.batch.open", on_click=_open_batch_row, args=(frame, on_open))


def show_batch_results(results: dict, on_open=None) -> None:
    """The last run's rows, the refused ones with their reasons, "Open a row" (when ``on_open`` is given:
    ``on_open(ref_window, alt_window, label)``) and the downloads."""
    manifest, frame, settings = results["manifest"], results["frame"], results["settings"]
    counts = manifest.get("status_counts", {})
    ok, refused = int(counts.get("ok", 0)), int(counts.get("error", 0))
    bits = ", ".join(f"{b:g}" for b in settings["bits"]) if "scrambler" in settings["methods"] else ""
    st.caption(f"**{manifest['rows']} rows: {ok} scored, {refused} refused** · {', '.join(settings['methods'])}"
               + (f" ({settings['mode']}, {bits} bits)" if bits else "")
               + (f" · regions {settings['regions']}" if settings.get("regions") else f" · anchor {settings['anchor']}"))
    st.dataframe(batch_table(frame, bool(settings.get("regions"))), hide_index=True, width="stretch",
                 key="variant_batch_table")
    if on_open is not None:
        open_row_control(frame, on_open)
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


def batch_section(name: str, predictor, mode: str, on_open=None) -> None:
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
        show_batch_results(results, on_open)
