"""Benchmarks: the paper's inclusion/occlusion (KL) and ground-truth recall (Table D) benchmarks,
run on the chosen predictor from the browser at a size that finishes in seconds; for the built-in
``binder`` pair predictor the interface-residue benchmark (Fig S5), and for ``polya`` also the
mask-dropout (alternative explanations) and positive / negative feature benchmarks.

Nothing runs on page load: the benchmarks run when "Run benchmarks" is pressed, through
``scrambler_core.comparison.run_benchmarks_in_memory`` (which calls
``scrambler_core.benchmarks.run_benchmarks``). Results are cached on disk per predictor
and settings, and the last results per predictor are kept for the session.
"""
from __future__ import annotations

import time

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import scrambler_core as sc
from pages._ui.shell import require_shell
from pages._ui.errors import guard
from pages._ui.figures import csv_download, figure_downloads, show_plotly
from pages._ui.links import write_query
from pages._ui.models import (current_predictor_name, describe_predictor, get_predictor, get_scrambler,
    is_pair_predictor, single_sequence_pages_only, user_models)
from pages._ui.results import cached
from scrambler_core import benchmarks, comparison
from scrambler_core.attribution import PER_EXAMPLE_METHODS as ATTRIBUTION_PER_EXAMPLE
from scrambler_core.cache import fingerprint
from scrambler_core.predictors import PAIR_BUILTINS

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
  scores need no predictor call at all, one pass of the scrambler network; a gradient-guided scrambler, such as
  APARENT2's inclusion one, adds one predictor gradient).

The scrambler methods rank with the inclusion scrambler for inclusion and recall, and with the occlusion
scrambler for occlusion. Small sets give noisy numbers: raise the sizes, or run the full protocol from the
command line.
"""


# ----------------------------------------------------------------------------- helpers

def kl_test_set(name: str):
    """(test sequences, reason): ``None`` sequences means the built-in generator's held-out set;
    a reason (str) means the KL benchmark cannot run for this predictor."""
    if name not in user_models():
        return None, None
    seqs = (user_models()[name].get("card") or {}).get("example_sequences") or []
    if len(seqs) >= MIN_KL_SEQUENCES:
        return list(seqs), None
    return None, (f"{name} has no built-in sequence generator and fewer than {MIN_KL_SEQUENCES} uploaded "
                  "sequences to use as the test set; upload at least that many sequences with your model, or run the "
                  "benchmark from the command line on your own test set (docs/cli.md).")


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
            found[mode] = get_scrambler(name, mode)
        except sc.ModelFileError as err:
            missing[mode] = str(err)
    return found, missing


def method_unavailable_reason(predictor, method: str) -> str | None:
    """Why ``method`` cannot explain ``predictor``, or None (``scrambler_core.benchmarks``' probe, once per
    model and process)."""
    if method not in benchmarks.PROBED_METHODS:
        return None
    return _deeplift_reason(fingerprint(predictor), predictor)


@st.cache_data(show_spinner="Checking which methods this model supports…")
def _deeplift_reason(model_fingerprint: str, _predictor) -> str | None:
    return benchmarks.method_unavailable_reason(_predictor, "deeplift")


def _run(predictor, settings: dict, test_sequences, scramblers: dict, bar):
    """Run (or fetch from the disk cache) the benchmarks, reporting on ``bar`` (shown since Run was pressed);
    returns (results, from_cache)."""
    bar.progress(0.0, text="Generating the test sets…")
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

    results = cached("benchmarks", compute, predictor, settings=settings, test_sequences=test_sequences or None,
                     scramblers=dict(scramblers))
    bar.empty()
    return results, not computed


# ----------------------------------------------------------------------------- showing results

def _table_d_columns() -> dict:
    """Column labels of the measured-beside-paper Table D ("1/1 start", "paper", ...)."""
    labels = {"start_1_1": "1 / 1 start", "stop_1_1": "1 / 1 stop", "start_2_2": "2 / 2 start",
              "stop_2_2": "2 / 2 stop"}
    config = {}
    for column, label in labels.items():
        config[column] = st.column_config.NumberColumn(label, format="%.2f")
        config[f"{column}_paper"] = st.column_config.NumberColumn("paper", format="%.2f",
                                                                  help=f"{label}, the paper's Table D")
    return config


def show_results(name: str, entry: dict, prefix: str = "benchmarks") -> None:
    """The tables, plot and downloads of one benchmark run (``prefix`` keeps two sets' widget keys apart)."""
    results, settings = entry["results"], entry["settings"]
    divergence = benchmarks.divergence_name(get_predictor(name).output_kind)
    source = ("served from the cache" if entry.get("from_cache")
              else f"computed in {results.get('seconds', entry.get('seconds', 0.0)):.1f} s")
    sizes = []
    if "kl" in results:
        sizes.append(f"KL: {settings['n']} sequences × {settings['n_samples']} samples")
    if "recall" in results:
        sizes.append(f"Table D: {settings['n_recall']} sequences per setting")
    if any(m in comparison.PER_EXAMPLE_METHODS for m in settings.get("methods", [])):
        sizes.append(f"per-example methods on {settings['n_per_example']} sequences, {settings['steps']} steps")
    st.success(entry.get("headline") or f"Results for {name} ({'; '.join(sizes)}), {source}.")
    stem = f"{name}_benchmark"

    if "kl" in results:
        kl = results["kl"]
        st.subheader(f"Inclusion / occlusion ({divergence})")
        st.caption(f"Median {divergence} between the prediction on the original and on the samples ({name} has a "
                   f"{get_predictor(name).output_kind} output). Inclusion keeps the top positions (lower is better); "
                   "occlusion redraws them (higher is better).")
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
            figure_downloads(lambda: benchmarks.plot_kl(kl, title=title), stem=f"{stem}_kl",
                             key=f"{prefix}_kl_plot")
        with c2:
            csv_download(kl, "KL table CSV", f"{stem}_kl.csv", key=f"{prefix}_kl_csv")

    if "recall" in results:
        st.subheader("Table D: ground-truth recall")
        st.caption("Fraction of sequences whose top 6 positions hold a whole upstream ATG (start) / a whole in-frame "
                   "stop codon (stop), for 1 start / 1 stop and 2 starts / 2 stops.")
        beside = benchmarks.table_d_beside_paper(results["table_d"][["method"] + TABLE_D_COLUMNS])
        st.markdown(f"**Measured on {name}** (n = {settings['n_recall']} per setting) beside **the paper** "
                    "(Optimus 5-Prime, n = 512), row by row")
        st.dataframe(beside, hide_index=True, width="stretch", column_config=_table_d_columns())
        c1, c2 = st.columns(2)
        with c1:
            csv_download(results["table_d"], "Table D CSV (with the paper's)", f"{stem}_table_d.csv",
                         key=f"{prefix}_table_d_csv")
        with c2:
            csv_download(results["recall"], "Recall CSV (all four settings)", f"{stem}_recall.csv",
                         key=f"{prefix}_recall_csv")

    if "cost" in results:
        st.subheader("Cost")
        cost = results["cost"].dropna(axis=1, how="all")
        st.caption("Predictor calls and seconds per sequence (graph tracing excluded), and ratios to the scrambler"
                   + ("." if "calls_ratio" in cost else "; the scrambler's scores need no predictor call, so calls "
                      "have no ratio to it."))
        st.dataframe(cost, hide_index=True, width="stretch",
                     column_config={"predictor_calls_per_sequence": st.column_config.NumberColumn(
                                        "predictor calls / sequence", format="%.0f"),
                                    "seconds_per_sequence": st.column_config.NumberColumn(
                                        "seconds / sequence", format="%.2e"),
                                    "calls_ratio": st.column_config.NumberColumn("calls ratio", format="%.3g"),
                                    "time_ratio": st.column_config.NumberColumn("time ratio", format="%.3g")})
        csv_download(results["cost"], "Cost table CSV", f"{stem}_cost.csv", key=f"{prefix}_cost_csv")


# ----------------------------------------------------------------------------- binder: interface residues (Fig S5)

INTERFACE_KEY = "_benchmarks_interface"   # {predictor name: {"table", "settings", "from_cache", "seconds"}}
INTERFACE_RUN_KEY = "benchmarks_interface_run"
INTERFACE_CHOICES = list(benchmarks.INTERFACE_METHODS)
INTERFACE_DEFAULT_METHODS = ["scrambler", "ism", "saliency", "gradient_x_input", "integrated_gradients"]
INTERFACE_PER_EXAMPLE = [m for m in INTERFACE_CHOICES if m in ATTRIBUTION_PER_EXAMPLE]
INTERFACE_DEFAULTS = {"interface_n": 32, "interface_n_per_example": 8, "interface_steps": 300}
INTERFACE_LIMITS = {"interface_n": (4, 512), "interface_n_per_example": (1, 128), "interface_steps": (10, 2000)}

INTERFACE_PROTOCOL = """
**Which residues make the pair bind?** The built-in `binder` predictor mirrors the coiled-coil
heterodimer binder, and its training data come from a grammar, so the residues that really make two
peptides bind are known: the core a/d pairs, the Asn–Asn pair at *a* and the *g*–*e′* salt bridges
(and repulsions). For generated pairs that bind (true probability > 0.5), each method ranks the residues of
both chains by |score| (padding left out), and the benchmark reports the **average precision (AP)** of the
true interface residues in that ranking, averaged over the pairs: 1 means every interface residue is ranked
above every other residue; **chance** is the AP of a random ranking (the fraction of residues that are
interface residues).

* **scrambler** runs every pretrained pair scrambler: inclusion and occlusion, siamese (one network per chain,
  shared weights) and joint (one network over both chains). Its scores need no predictor call.
* The per-example optimisation and the ablations of Fig S5C–D (continuous masks with the mean / no / a random
  background, the L2X/INVASE-style zero and random masks) optimise every pair (1 + steps or more predictor calls
  each), so they are opt-in and run on the first few pairs only.
* **paper HBNet AP** is the paper's Fig S5B–D: average precision of the HBNet-designed interface residues, on
  real designed binders scored by the published binder network. Different data, a different predictor and
  a different notion of interface: compare the **ordering** of the methods with it, not the values.
"""


def pair_scrambler_fingerprints(name: str) -> dict:
    """``{"mode/architecture": fingerprint or None}`` of the pretrained pair scramblers (None: not there), so a
    cached result is recomputed once a missing scrambler has been trained."""
    found = {}
    for mode, architecture in benchmarks.PAIR_SCRAMBLERS:
        try:
            found[f"{mode}/{architecture}"] = fingerprint(get_scrambler(name, mode, architecture=architecture))
        except sc.ModelFileError:
            found[f"{mode}/{architecture}"] = None
    return found


def _run_interface(name: str, predictor, settings: dict):
    """Run (or fetch from the disk cache) the interface benchmark with a progress bar; (table, from_cache)."""
    methods = settings["methods"]
    scramblers = pair_scrambler_fingerprints(name) if "scrambler" in methods else {}
    total = sum(len(benchmarks.PAIR_SCRAMBLERS) if m == "scrambler" else 1 for m in methods)
    bar = st.progress(0.0, text="Generating the test pairs…")
    computed, done = [], []

    def progress(text):
        done.append(text)
        bar.progress(min(len(done) / total, 1.0), text=f"Finished {text} ({len(done)} of {total})")

    options = {m: {"steps": settings["steps"]} for m in methods if m in INTERFACE_PER_EXAMPLE}

    def compute():
        computed.append(True)
        return benchmarks.interface_benchmark(predictor, methods, n=settings["n"],
                                              n_per_example=settings["n_per_example"], method_options=options,
                                              progress=progress)

    table = cached("interface_benchmark", compute, predictor, settings=settings, scramblers=scramblers)
    bar.empty()
    return table, not computed


def interface_figure(table: pd.DataFrame, title: str = ""):
    """Bar chart of the mean AP (± sem) per method, the paper's HBNet AP as markers, chance as a line."""
    fig = go.Figure(go.Bar(x=table.method, y=table.mean_ap, name="measured (mean AP)",
                           error_y={"type": "data", "array": table.sem_ap.fillna(0), "visible": True},
                           marker_color="#4C78A8", hovertemplate="%{x}<br>mean AP %{y:.3f}<extra></extra>"))
    if "paper_hbnet_ap" in table and table.paper_hbnet_ap.notna().any():
        paper = table[table.paper_hbnet_ap.notna()]
        fig.add_trace(go.Scatter(x=paper.method, y=paper.paper_hbnet_ap, mode="markers",
                                 name="paper HBNet AP (other data)",
                                 marker={"symbol": "diamond", "size": 11, "color": "#E45756"},
                                 hovertemplate="%{x}<br>paper HBNet AP %{y:.2f}<extra></extra>"))
    chance = float(table.random_ap.iloc[0])
    fig.add_hline(y=chance, line_dash="dash", line_color="grey", annotation_text=f"chance {chance:.2f}",
                  annotation_position="top left")
    fig.update_layout(title=title, yaxis_title="average precision of interface residues", yaxis_range=[0, 1],
                      height=420, margin={"t": 50, "b": 10}, legend={"orientation": "h", "y": -0.3})
    return fig


def show_interface_results(name: str, entry: dict) -> None:
    full, settings = entry["table"], entry["settings"]
    source = "served from the cache" if entry["from_cache"] else f"computed in {entry['seconds']:.1f} s"
    per_example = [m for m in settings["methods"] if m in INTERFACE_PER_EXAMPLE]
    sizes = f"{settings['n']} pairs"
    if per_example:
        sizes += f"; {', '.join(per_example)} on {settings['n_per_example']} pairs, {settings['steps']} steps"
    st.success(f"Interface residues for {name} ({sizes}), {source}.")
    errors = full[full["error"].notna()] if "error" in full else full.iloc[:0]
    for row in errors.itertuples():
        st.info(f"{row.method} left out: {row.error}")
    table = full[full["error"].isna()] if "error" in full else full
    if table.empty:
        return
    columns = ["method", "mean_ap", "sem_ap", "random_ap", "n", "calls_per_sequence", "seconds_per_sequence",
               "paper_hbnet_ap"]
    shown = table[[c for c in columns if c in table]].reset_index(drop=True)
    shown["n"] = shown["n"].astype(int)      # float when a left-out row had none
    st.dataframe(shown, hide_index=True, width="stretch",
                 column_config={"mean_ap": st.column_config.NumberColumn("mean AP", format="%.3f"),
                                "sem_ap": st.column_config.NumberColumn("± sem", format="%.3f"),
                                "random_ap": st.column_config.NumberColumn("chance AP", format="%.3f"),
                                "n": st.column_config.NumberColumn("pairs", format="%d"),
                                "calls_per_sequence": st.column_config.NumberColumn("calls / pair", format="%.0f"),
                                "seconds_per_sequence": st.column_config.NumberColumn("seconds / pair",
                                                                                      format="%.2e"),
                                "paper_hbnet_ap": st.column_config.NumberColumn("paper HBNet AP", format="%.2f")})
    show_plotly(interface_figure(shown, title=f"{name}: interface residues, n = {settings['n']}"),
                key="benchmarks_interface_plot")
    csv_download(full, "Interface AP table CSV", f"{name}_benchmark_interface.csv",
                 key="benchmarks_interface_csv")


def interface_page(name: str, predictor) -> None:
    """The Benchmarks page of the built-in pair predictor: AP of the true interface residues (Fig S5)."""
    st.title("Benchmarks")
    describe_predictor(predictor)
    st.caption("Sized for a browser: 32 pairs with the fast methods take seconds on a laptop CPU. The full protocol "
               "runs from the command line (docs/cli.md).")
    with st.expander("What am I looking at?"):
        st.markdown(INTERFACE_PROTOCOL)
    st.subheader("Interface residues (Fig S5)")
    st.caption("Average precision (AP) of the grammar's true interface residues when each method ranks the residues "
               "of both chains: 1 = every interface residue ranked first; the dashed line is chance. The paper's "
               "column is HBNet AP on real designed binders, so only the ordering of the methods is comparable.")
    for key, value in INTERFACE_DEFAULTS.items():
        st.session_state.setdefault(f"benchmarks.{key}", value)
    st.session_state.setdefault("benchmarks.interface_methods", list(INTERFACE_DEFAULT_METHODS))
    chosen = st.multiselect("Methods", INTERFACE_CHOICES, key="benchmarks.interface_methods",
                            help="scrambler: the four pretrained pair scramblers. The per-example optimisation and "
                                 "the ablations (continuous_*, zero_mask, random_mask, scrambler_optimized) optimise "
                                 "every pair: opt-in, and run on the first few pairs only.")
    methods = [m for m in INTERFACE_CHOICES if m in chosen]
    per_example = [m for m in methods if m in INTERFACE_PER_EXAMPLE]
    c1, c2, c3 = st.columns(3)
    n = c1.number_input("Pairs", *INTERFACE_LIMITS["interface_n"], step=8, key="benchmarks.interface_n",
                        help="Generated binding pairs, held out from training (full protocol: 128).")
    n_per_example, steps = INTERFACE_DEFAULTS["interface_n_per_example"], INTERFACE_DEFAULTS["interface_steps"]
    if per_example:
        n_per_example = c2.number_input("Pairs for the per-example methods",
                                        *INTERFACE_LIMITS["interface_n_per_example"],
                                        key="benchmarks.interface_n_per_example",
                                        help="They run on the first pairs only (full protocol: 32).")
        steps = c3.number_input("Optimisation steps", *INTERFACE_LIMITS["interface_steps"], step=50,
                                key="benchmarks.interface_steps", help="Adam steps per pair (the paper used 300).")
        st.warning(f"{', '.join(per_example)}: {int(steps)} optimisation steps per pair, 1 + {int(steps)} predictor "
                   "calls (times the samples for scrambler_optimized and the random-background ablations); at 300 "
                   "steps expect up to a few seconds per pair on a CPU.")
    settings = {"methods": methods, "n": int(n), "n_per_example": min(int(n_per_example), int(n)) if per_example
                else None, "steps": int(steps) if per_example else None}
    pressed = st.button("Run interface benchmark", key=INTERFACE_RUN_KEY, type="primary", disabled=not methods)
    if not methods:
        st.caption("Choose at least one method.")
    stored = st.session_state.setdefault(INTERFACE_KEY, {})
    if pressed and methods:
        started = time.perf_counter()
        table, from_cache = _run_interface(name, predictor, settings)
        stored[name] = {"table": table, "settings": settings, "from_cache": from_cache,
                        "seconds": time.perf_counter() - started}
    _show_stored(stored.get(name), settings, "Run interface benchmark",
                 lambda entry: show_interface_results(name, entry))


def _show_stored(entry: dict | None, settings: dict, button: str, show) -> None:
    """The last stored results (or what to press), with a note when the settings changed since."""
    if entry is None:
        st.info(f"Press **{button}**: nothing runs until you do.")
        return
    if entry["settings"] != settings:
        st.caption("These are the last results for this predictor; the settings above have changed since. Press "
                   f"**{button}** to update them.")
    show(entry)


# ----------------------------------------------------------------------------- polya: dropout and feature signs

POLYA_KEY = "_benchmarks_polya"     # {"n", "dropout": {"table"} or {"missing"}, "features": ..., "seconds", ...}
POLYA_RUN_KEY = "benchmarks_polya_run"
POLYA_N_DEFAULT, POLYA_N_LIMITS = 32, (4, 1024)
DROPOUT_LOOK_FOR = ("Look for the top 6 positions moving from AATAAA (positions 67–72) to ATTAAA (79–84) when "
                    "AATAAA is dropped: the dropout scrambler finds the next-best PAS, and the samples keep more "
                    "of the prediction than a random window would.")
FEATURES_LOOK_FOR = ("Look for the maximize scrambler's top positions on the raising elements (the PAS AATAAA, "
                     "TGTA, GTGT) and the minimize scrambler's on the lowering ones (CCCC / GGGG repressors, the "
                     "upstream AATAAA); their sample predictions move up and down from the original.")
POLYA_PROTOCOL = ("Two more ground-truth checks on the polya grammar, with its pretrained special scramblers at "
                  "0.25 bits. **Mask dropout** (alternative explanations): windows with AATAAA at 67 and ATTAAA at "
                  "79, explained as they are and with AATAAA excluded; the share of the top 6 positions on each "
                  "hexamer. **Positive and negative features**: windows holding both raising and lowering elements, "
                  "explained by the maximize and the minimize scrambler; the share of the top 12 positions on each "
                  "kind of element.")


def _polya_scrambler(name: str, **kind):
    """(scrambler, None), or (None, reason naming the missing file)."""
    try:
        return get_scrambler(name, "inclusion", **kind), None
    except sc.ModelFileError as err:
        return None, str(err)


def _run_polya(name: str, n: int) -> dict:
    """Run (or fetch from the disk cache) both polya benchmarks with a progress bar."""
    bar = st.progress(0.0, text="Running the mask-dropout benchmark…")
    computed = []
    started = time.perf_counter()

    def run(kind, compute, models):
        def counted():
            computed.append(True)
            return compute()
        return cached(kind, counted, models, n=n)

    dropout, missing = _polya_scrambler(name, dropout=True)
    positive, missing_positive = _polya_scrambler(name, objective="maximize")
    negative, missing_negative = _polya_scrambler(name, objective="minimize")
    tables = benchmarks.polya_benchmarks(dropout, positive, negative, n=n, run=run,
                                         progress=lambda fraction, text: bar.progress(fraction, text=text))
    bar.empty()
    features_missing = "; ".join(m for m in (missing_positive, missing_negative) if m)
    return {"n": n,
            "dropout": {"missing": missing} if dropout is None else {"table": tables["dropout"]},
            "features": ({"missing": features_missing} if positive is None or negative is None
                         else {"table": tables["features"]}),
            "from_cache": not computed, "seconds": time.perf_counter() - started}


def _show_polya_part(part: dict | None, name: str, kind: str, column_config: dict) -> None:
    if part is None:
        return
    if "missing" in part:
        st.info(f"Not available: {part['missing']}")
        return
    table = part["table"]
    st.dataframe(table, hide_index=True, width="stretch", column_config=column_config)
    csv_download(table, f"{kind.capitalize()} table CSV", f"{name}_benchmark_{kind}.csv",
                 key=f"benchmarks_{kind}_csv")


def polya_sections(name: str) -> None:
    """Mask dropout (alternative explanations) and positive / negative features on the polya grammar."""
    st.divider()
    st.subheader("Alternative explanations and feature signs")
    st.caption(POLYA_PROTOCOL)
    st.session_state.setdefault("benchmarks.polya_n", POLYA_N_DEFAULT)
    c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
    n = int(c1.number_input("Windows", *POLYA_N_LIMITS, step=8, key="benchmarks.polya_n",
                            help="Generated 205-nt windows per benchmark (full protocol: 128)."))
    pressed = c2.button("Run dropout and feature benchmarks", key=POLYA_RUN_KEY, type="primary")
    if pressed:
        st.session_state[POLYA_KEY] = _run_polya(name, n)
    entry = st.session_state.get(POLYA_KEY)
    if entry is None:
        st.info("Press **Run dropout and feature benchmarks**: nothing runs until you do.")
    else:
        source = "served from the cache" if entry["from_cache"] else f"computed in {entry['seconds']:.1f} s"
        st.success(f"Dropout and feature benchmarks for {name} ({entry['n']} windows each), {source}.")
        if entry["n"] != n:
            st.caption("These are the last results; the number of windows has changed since. Press **Run dropout "
                       "and feature benchmarks** to update them.")
    share = {c: st.column_config.NumberColumn(c.replace("_", " "), format="%.2f")
             for c in ("top_on_AATAAA", "top_on_ATTAAA", "top_on_raising", "top_on_lowering")}
    predictions = {c: st.column_config.NumberColumn(c.replace("_", " "), format="%.3f")
                   for c in ("median_prediction", "median_sample_prediction")}
    st.subheader("Alternative explanations (mask dropout)")
    st.caption(DROPOUT_LOOK_FOR)
    _show_polya_part(entry and entry.get("dropout"), name, "dropout", {**share, **predictions})
    st.subheader("Positive and negative features")
    st.caption(FEATURES_LOOK_FOR)
    _show_polya_part(entry and entry.get("features"), name, "features", {**share, **predictions})


# ----------------------------------------------------------------------------- page

def main() -> None:
    name = current_predictor_name()
    predictor = get_predictor(name)
    if is_pair_predictor(predictor) and name in PAIR_BUILTINS:
        write_query({"predictor": name})
        interface_page(name, predictor)
        return
    single_sequence_pages_only(predictor, "Benchmarks")
    write_query({"predictor": name})

    st.title("Benchmarks")
    describe_predictor(predictor)
    shipped_section(name)
    kl_and_recall(name, predictor)
    if name == "polya":
        polya_sections(name)


def shipped_section(name: str) -> None:
    """The full-protocol results shipped with this version, drawn at once (``bench/ship_benchmarks.py``)."""
    shipped = benchmarks.shipped_benchmark(name)
    if shipped is None:
        st.info(f"No full-protocol results are shipped for {name}: run the benchmark below at browser size.")
        return
    meta = shipped["provenance"]
    st.subheader("Full protocol")
    results = {k: v for k, v in shipped.items() if k in ("kl", "table_d", "recall", "cost")}
    settings = {"n": 256, "n_samples": 128, "n_recall": 512, "methods": list(results["kl"]["method"].unique())
                if "kl" in results else []}
    dirty = " (with uncommitted changes)" if meta.get("uncommitted_changes") else ""
    table_d = ", Table D n = 512 per setting" if "table_d" in results else ""
    headline = (f"Shipped with this version: KL sets of 256 sequences × 128 samples{table_d}; "
                f"computed {meta['date'][:10]} at commit {meta['commit'][:10]}{dirty} on {meta['machine']} in "
                f"{meta['seconds'] / 60:.1f} min (`{meta['command']}`).")
    with st.container(border=True):
        show_results(name, {"results": results, "settings": settings, "headline": headline}, prefix="shipped")
    st.subheader("Run at browser size")


def _which_benchmarks(name: str, kl_reason, recall_reason) -> tuple[bool, bool]:
    """The KL and Table D checkboxes (or why each is not available); returns (run_kl, run_recall)."""
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
    return run_kl, run_recall


def _size_inputs(methods: list, run_kl: bool, run_recall: bool) -> dict:
    """The set sizes and per-example steps; returns ``n``, ``n_samples``, ``n_recall``, ``n_per_example``, ``steps``."""
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
    return {"n": int(n), "n_samples": int(n_samples), "n_recall": int(n_recall), "n_per_example": int(n_per_example),
            "steps": int(steps) if per_example else None}


def _run_pressed(name: str, predictor, settings: dict, test_sequences) -> dict | None:
    """Run the benchmarks without the methods that cannot run (warned); the stored entry, or None."""
    methods = settings["methods"]
    started = time.perf_counter()
    bar = st.progress(0.0, text="Loading the scramblers…")        # from the first second of a run
    scramblers, missing = scramblers_for(name, settings)
    bar.progress(0.0, text="Checking which methods apply to this predictor…")
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
        bar.empty()
        return None
    results, from_cache = _run(predictor, run_settings, test_sequences, scramblers, bar)
    return {"results": results, "settings": settings, "from_cache": from_cache,
            "seconds": time.perf_counter() - started}


def kl_and_recall(name: str, predictor) -> None:
    """Settings, run button and results of the inclusion / occlusion and Table D benchmarks."""
    st.caption("Sized for a browser: small sets finish in well under a minute on a laptop CPU with the fast methods. "
               "The full protocol (KL sets of 256, 128 samples, Table D n = 512, per-example methods on 64) runs from "
               "the command line; its measured figures are in the project's docs/builtin_models.md (section "
               "Benchmarks).")
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
    run_kl, run_recall = _which_benchmarks(name, kl_reason, recall_reason)

    chosen = st.multiselect("Methods", METHOD_CHOICES, key="benchmarks.methods",
                            help="The per-example methods optimise every sequence (1 + 32 × steps predictor calls "
                                 "each): they are off by default and run on the first few sequences only.")
    methods = [m for m in METHOD_CHOICES if m in chosen]
    which = tuple(w for w, on in (("kl", run_kl), ("recall", run_recall)) if on)
    settings = dict(_size_inputs(methods, run_kl, run_recall), which=list(which), methods=methods)
    pressed = st.button("Run benchmarks", key=RUN_KEY, type="primary", disabled=not (which and methods))
    if not which:
        st.caption("Choose at least one benchmark.")
    elif not methods:
        st.caption("Choose at least one method.")

    stored = st.session_state.setdefault(RESULTS_KEY, {})
    if pressed and which and methods:
        entry = _run_pressed(name, predictor, settings, test_sequences if run_kl else None)
        if entry is not None:
            stored[name] = entry
    _show_stored(stored.get(name), settings, "Run benchmarks", lambda entry: show_results(name, entry))


require_shell()
with guard():
    main()
