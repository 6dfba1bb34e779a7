"""Benchmarks: the paper's inclusion/occlusion (KL) and ground-truth recall (Table D) benchmarks,
run on the chosen predictor from the browser at a size that finishes in seconds.

Nothing runs on page load: the benchmarks run when "Run benchmarks" is pressed, through
``scrambler_core.comparison.run_benchmarks_in_memory`` (which calls
``scrambler_core.benchmarks.run_benchmarks``). Results are cached on disk per predictor
and settings, and the last results per predictor are kept for the session.
"""
from __future__ import annotations

import json
import time

import pandas as pd
import streamlit as st

import scrambler_core as sc
from pages import _common as common
from scrambler_core import benchmarks, comparison
from scrambler_core.cache import fingerprint

RESULTS_KEY = "_benchmarks_results"   # {predictor name: {"results", "settings", "from_cache", "seconds"}}
RUN_KEY = "benchmarks_run"
DEFAULTS = {"n": 32, "n_samples": 32, "n_recall": 64, "n_per_example": 8, "steps": 300}
LIMITS = {"n": (4, 1024), "n_samples": (4, 512), "n_recall": (4, 2048), "n_per_example": (1, 256),
          "steps": (10, 2000)}
MIN_KL_SEQUENCES = 4
METHOD_CHOICES = comparison.FAST_METHODS + comparison.PER_EXAMPLE_METHODS
SCRAMBLER_ROW_METHODS = ("scrambler", "scrambler_finetuned")   # they use the predictor's pretrained scramblers
TABLE_D_COLUMNS = ["start_1_1", "stop_1_1", "start_2_2", "stop_2_2"]

PROTOCOLS = """
Both benchmarks ask the same question of every attribution method: **are the positions it ranks highest the
ones the predictor really uses?** Each method ranks the positions of each sequence by |score| summed over the
letters.

* **Inclusion** (lower is better): keep each method's top 20 / 10 / 5 / 2 % positions, redraw every other
  position from the background letter frequencies, and score the samples with the predictor. A good ranking
  keeps the prediction: the divergence between the prediction on the original and on the samples (symmetric
  KL for a sigmoid output, squared error for a regression output; the median over sequences of the mean over
  samples) stays small.
* **Occlusion** (higher is better): the reverse. Redraw the top positions and keep the rest: a good ranking
  destroys the prediction, so the divergence is large.
* **Table D, ground-truth recall** (50-nt DNA 5'UTR predictors: utr5, Optimus 5-Prime): synthetic 50-nt
  5'UTRs with one or two upstream ATGs and one or two in-frame stop codons, whose effect on the ribosome load
  is known. Does a method's top 6 positions hold a whole uAUG (start recall) and a whole in-frame stop codon
  (stop recall)? The paper's Table D (Optimus 5-Prime, n = 512) is shown beside it.
* **Cost**: predictor calls and seconds per sequence of each method, with ratios to the scrambler (whose
  scores need no predictor call at all: one pass of the scrambler network).

The scrambler methods rank with the inclusion scrambler for inclusion and recall, and with the occlusion
scrambler for occlusion. Small sets give noisy numbers: raise the sizes, or run the full protocol from the
command line.
"""


# ----------------------------------------------------------------------------- helpers

def kl_test_set(name: str):
    """(test sequences, reason): ``None`` sequences means the built-in generator's held-out set;
    a reason (str) means the KL benchmark cannot run for this predictor."""
    if name not in common.user_models():
        return None, None
    seqs = (common.user_models()[name].get("card") or {}).get("example_sequences") or []
    if len(seqs) >= MIN_KL_SEQUENCES:
        return list(seqs), None
    return None, (f"{name} has no built-in sequence generator and fewer than {MIN_KL_SEQUENCES} uploaded "
                  "sequences to use as the test set; run `python -m scrambler_core benchmark --predictor MODEL.keras "
                  "--benchmark kl --input seqs.fa` on your own test set instead.")


def kl_wide(kl: pd.DataFrame) -> pd.DataFrame:
    """The KL table with one row per method and a column per benchmark and top fraction (medians)."""
    frame = kl.copy()
    frame["column"] = frame.benchmark + " " + (frame.top_fraction * 100).round().astype(int).astype(str) + " %"
    order = list(dict.fromkeys(frame.column))
    wide = frame.pivot_table(index="method", columns="column", values="median", sort=False)[order]
    wide = wide.reindex(list(dict.fromkeys(kl.method)))
    return wide.reset_index()


def scramblers_for(name: str, settings: dict) -> tuple[dict, dict]:
    """The loaded scramblers the scrambler methods need, ``{mode: Scrambler}``, and ``{mode: reason}`` for
    those that do not exist (a model of your own without one)."""
    if not any(m in SCRAMBLER_ROW_METHODS for m in settings["methods"]):
        return {}, {}
    modes = (["inclusion", "occlusion"] if "kl" in settings["which"] else []) + \
        (["inclusion"] if "recall" in settings["which"] else [])
    found, missing = {}, {}
    for mode in dict.fromkeys(modes):
        try:
            found[mode] = common.get_scrambler(name, mode)
        except sc.ModelFileError as err:
            missing[mode] = str(err)
    return found, missing


PROBED_METHODS = ("deeplift", "deepshap")   # refuse some models (layers without an exact rule): probed first


def method_unavailable_reason(predictor, method: str) -> str | None:
    """Why ``method`` cannot explain ``predictor`` (DeepLIFT on a model with an unsupported layer), or None.

    Probed once per model and process by attributing one sequence, so a method that would fail halfway
    through a benchmark is left out before it starts.
    """
    if method not in PROBED_METHODS:
        return None
    return _deeplift_reason(fingerprint(predictor), predictor)


@st.cache_data(show_spinner="Checking which methods this model supports…")
def _deeplift_reason(model_fingerprint: str, _predictor) -> str | None:
    probe = _predictor.alphabet.letters[0] * _predictor.sequence_length
    try:
        comparison.run_method(_predictor, probe, "deeplift")
    except ValueError as err:
        return str(err).splitlines()[0]
    return None


def _run(predictor, settings: dict, test_sequences, scramblers: dict):
    """Run (or fetch from the disk cache) the benchmarks with a progress bar; returns (results, from_cache)."""
    parts = (fingerprint(predictor), json.dumps(settings, sort_keys=True),
             json.dumps(test_sequences) if test_sequences else "",
             {mode: fingerprint(scrambler) for mode, scrambler in scramblers.items()})
    bar = st.progress(0.0, text="Starting the benchmarks…")
    computed = []

    def progress(fraction, text):
        bar.progress(min(max(float(fraction), 0.0), 1.0),
                     text="Done" if text == "done" else f"Running {text}…")

    def compute():
        computed.append(True)
        return comparison.run_benchmarks_in_memory(
            predictor, which=settings["which"], methods=settings["methods"], n=settings["n"],
            n_recall=settings["n_recall"], n_samples=settings["n_samples"],
            n_per_example=settings["n_per_example"], steps=settings["steps"], test_sequences=test_sequences,
            scramblers=scramblers, progress=progress)

    results = common.cached("benchmarks", parts, compute)
    bar.empty()
    return results, not computed


# ----------------------------------------------------------------------------- showing results

def show_results(name: str, entry: dict) -> None:
    results, settings = entry["results"], entry["settings"]
    source = ("served from the cache" if entry["from_cache"]
              else f"computed in {results.get('seconds', entry['seconds']):.1f} s")
    sizes = []
    if "kl" in results:
        sizes.append(f"KL: {settings['n']} sequences × {settings['n_samples']} samples")
    if "recall" in results:
        sizes.append(f"Table D: {settings['n_recall']} sequences per setting")
    if any(m in comparison.PER_EXAMPLE_METHODS for m in settings["methods"]):
        sizes.append(f"per-example methods on {settings['n_per_example']} sequences, {settings['steps']} steps")
    st.success(f"Results for {name} ({'; '.join(sizes)}), {source}.")
    stem = f"{name}_benchmark"

    if "kl" in results:
        kl = results["kl"]
        st.subheader("Inclusion / occlusion")
        st.caption("Median divergence between the prediction on the original and on the samples. Inclusion keeps the "
                   "top positions (lower is better); occlusion redraws them (higher is better).")
        wide = kl_wide(kl)
        st.dataframe(wide, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(c, format="%.4g")
                                    for c in wide.columns if c != "method"})
        title = f"{name}: inclusion / occlusion, n = {settings['n']}"
        figure = benchmarks.plot_kl(kl, title=title)
        st.pyplot(figure, clear_figure=True)
        import matplotlib.pyplot as plt

        plt.close(figure)
        c1, c2 = st.columns(2)
        with c1:
            common.figure_downloads(lambda: benchmarks.plot_kl(kl, title=title), stem=f"{stem}_kl",
                                    key="benchmarks_kl_plot")
        with c2:
            common.csv_download(kl, "KL table CSV", f"{stem}_kl.csv", key="benchmarks_kl_csv")

    if "recall" in results:
        st.subheader("Table D: ground-truth recall")
        st.caption("Fraction of sequences whose top 6 positions hold a whole upstream ATG (start) / a whole in-frame "
                   "stop codon (stop), for 1 start / 1 stop and 2 starts / 2 stops.")
        measured = results["table_d"][["method"] + TABLE_D_COLUMNS]
        paper = benchmarks.paper_table_d()
        c1, c2 = st.columns(2)
        with c1:
            st.markdown(f"**Measured on {name}** (n = {settings['n_recall']} per setting)")
            st.dataframe(measured, hide_index=True, width="stretch",
                         column_config={c: st.column_config.NumberColumn(c, format="%.2f") for c in TABLE_D_COLUMNS})
        with c2:
            st.markdown("**Paper** (Optimus 5-Prime, n = 512)")
            st.dataframe(paper, hide_index=True, width="stretch",
                         column_config={c: st.column_config.NumberColumn(c, format="%.2f") for c in TABLE_D_COLUMNS})
        c1, c2 = st.columns(2)
        with c1:
            common.csv_download(results["table_d"], "Table D CSV (with the paper's)", f"{stem}_table_d.csv",
                                key="benchmarks_table_d_csv")
        with c2:
            common.csv_download(results["recall"], "Recall CSV (all four settings)", f"{stem}_recall.csv",
                                key="benchmarks_recall_csv")

    if "cost" in results:
        st.subheader("Cost")
        st.caption("Predictor calls and seconds per sequence (graph tracing excluded), and ratios to the scrambler.")
        st.dataframe(results["cost"], hide_index=True, width="stretch",
                     column_config={"predictor_calls_per_sequence": st.column_config.NumberColumn(
                                        "predictor calls / sequence", format="%.0f"),
                                    "seconds_per_sequence": st.column_config.NumberColumn(
                                        "seconds / sequence", format="%.2e"),
                                    "calls_ratio": st.column_config.NumberColumn("calls ratio", format="%.3g"),
                                    "time_ratio": st.column_config.NumberColumn("time ratio", format="%.3g")})
        common.csv_download(results["cost"], "Cost table CSV", f"{stem}_cost.csv", key="benchmarks_cost_csv")


# ----------------------------------------------------------------------------- page

def main() -> None:
    name = common.current_predictor_name()
    predictor = common.get_predictor(name)
    common.single_sequence_pages_only(predictor, "Benchmarks")
    common.write_query({"predictor": name})

    st.title("Benchmarks")
    common.describe_predictor(predictor)
    st.caption("Sized for a browser: small sets finish in well under a minute on a laptop CPU with the fast methods. "
               f"The full protocol (KL sets of 256, 128 samples, Table D n = 512, per-example methods on 64) is "
               f"`python -m scrambler_core benchmark --predictor {name}`; its measured figures are in the README "
               "(section Benchmarks).")
    with st.expander("What am I looking at?"):
        st.markdown(PROTOCOLS)

    test_sequences, kl_reason = kl_test_set(name)
    recall_reason = comparison.recall_unavailable_reason(predictor)
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(f"benchmarks.{key}", value)
    st.session_state.setdefault("benchmarks.methods", list(comparison.FAST_METHODS))

    st.session_state.setdefault("benchmarks.kl", True)
    st.session_state.setdefault("benchmarks.recall", True)

    st.subheader("Settings")
    c1, c2 = st.columns(2)
    run_kl = run_recall = False
    if kl_reason:
        c1.info(f"Inclusion / occlusion is not available: {kl_reason}")
    else:
        run_kl = c1.checkbox("Inclusion / occlusion (KL)", key="benchmarks.kl")
    if recall_reason:
        c2.info(f"Ground-truth recall (Table D) is not available for {name}: {recall_reason}.")
    else:
        run_recall = c2.checkbox("Ground-truth recall (Table D)", key="benchmarks.recall")

    chosen = st.multiselect("Methods", METHOD_CHOICES, key="benchmarks.methods",
                            help="The per-example methods optimise every sequence (1 + 32 × steps predictor calls "
                                 "each): they are off by default and run on the first few sequences only.")
    methods = [m for m in METHOD_CHOICES if m in chosen]
    c1, c2, c3 = st.columns(3)
    n = c1.number_input("KL sequences", *LIMITS["n"], step=8, key="benchmarks.n", disabled=not run_kl,
                        help="Held-out sequences of the KL benchmark (full protocol: 256).")
    n_samples = c2.number_input("Samples per sequence", *LIMITS["n_samples"], step=8, key="benchmarks.n_samples",
                                disabled=not run_kl, help="Background samples per sequence (full protocol: 128).")
    n_recall = c3.number_input("Table D sequences per setting", *LIMITS["n_recall"], step=16,
                               key="benchmarks.n_recall", disabled=not run_recall,
                               help="Synthetic UTRs per start/stop setting (full protocol: 512).")
    per_example = [m for m in methods if m in comparison.PER_EXAMPLE_METHODS]
    n_per_example, steps = DEFAULTS["n_per_example"], DEFAULTS["steps"]
    if per_example:
        c1, c2, c3 = st.columns(3)
        n_per_example = c1.number_input("Sequences for the per-example methods", *LIMITS["n_per_example"],
                                        key="benchmarks.n_per_example",
                                        help="They run on the first sequences of each set only (full protocol: 64).")
        steps = c2.number_input("Optimisation steps", *LIMITS["steps"], step=50, key="benchmarks.steps",
                                help="Adam steps per sequence (the paper used 300).")
        c3.warning(f"{' and '.join(per_example)}: 1 + 32 × {int(steps)} = {1 + 32 * int(steps):,} predictor calls "
                   "per sequence, about 1–3 s per sequence at 300 steps on a CPU.")

    which = tuple(w for w, on in (("kl", run_kl), ("recall", run_recall)) if on)
    settings = {"which": list(which), "methods": methods, "n": int(n), "n_samples": int(n_samples),
                "n_recall": int(n_recall), "n_per_example": int(n_per_example),
                "steps": int(steps) if per_example else None}
    pressed = st.button("Run benchmarks", key=RUN_KEY, type="primary", disabled=not (which and methods))
    if not which:
        st.caption("Choose at least one benchmark.")
    elif not methods:
        st.caption("Choose at least one method.")

    stored = st.session_state.setdefault(RESULTS_KEY, {})
    if pressed and which and methods:
        scramblers, missing = scramblers_for(name, settings)
        run_settings = settings
        if missing:
            dropped = [m for m in methods if m in SCRAMBLER_ROW_METHODS]
            st.warning(f"{' and '.join(dropped)} left out: {'; '.join(sorted(set(missing.values())))}.")
            run_settings = dict(settings, methods=[m for m in methods if m not in SCRAMBLER_ROW_METHODS])
        unsupported = {m: method_unavailable_reason(predictor, m) for m in run_settings["methods"]}
        unsupported = {m: reason for m, reason in unsupported.items() if reason}
        if unsupported:
            st.warning(f"{' and '.join(unsupported)} left out: {'; '.join(sorted(set(unsupported.values())))}.")
            run_settings = dict(run_settings, methods=[m for m in run_settings["methods"] if m not in unsupported])
        if not run_settings["methods"]:
            st.stop()
        started = time.perf_counter()
        results, from_cache = _run(predictor, run_settings, test_sequences if run_kl else None, scramblers)
        stored[name] = {"results": results, "settings": settings, "from_cache": from_cache,
                        "seconds": time.perf_counter() - started}
    entry = stored.get(name)
    if entry is None:
        st.info("Press **Run benchmarks**: nothing runs until you do.")
        return
    if entry["settings"] != settings:
        st.caption("These are the last results for this predictor; the settings above have changed since. Press "
                   "**Run benchmarks** to update them.")
    show_results(name, entry)


with common.guard():
    main()
