"""The paper's benchmarks, for any predictor and every attribution method (method §12).

* :func:`kl_benchmark` — inclusion / occlusion: keep (or resample) the top 20/10/5/2 %
  positions of each method, resample the rest (or keep it) from the background,
  128 samples per sequence; median over the set of the mean divergence between the
  prediction on the original and on the samples (symmetric Bernoulli KL for sigmoid
  outputs, KL for softmax, squared error for regression).
* :func:`recall_benchmark` — ground truth (paper Table D): synthetic 50-nt UTRs with
  1-2 in-frame uAUGs and 1-2 in-frame stops; does a method's top 6 hold a whole start
  codon and a whole stop codon?
* :func:`cost_table` — predictor calls and seconds per sequence, as ratios to the scrambler.

All functions return pandas DataFrames; :func:`run_benchmarks` writes CSV and plots.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import synthetic
from .attribution import ABLATION_METHODS, METHODS, PER_EXAMPLE_METHODS, attribute, position_scores
from .evaluation import uorf_recall_scores  # noqa: F401  (re-exported: Table D recall)
# the inclusion test's pieces, re-exported (they live with the training monitors that use them too)
from .evaluation import TOP_FRACTIONS, _divergence, resample_positions, top_positions  # noqa: F401

UORF_SETTINGS = ((1, 1), (1, 2), (2, 1), (2, 2))
SCRAMBLER_METHODS = ("scrambler", "scrambler_optimized", "scrambler_finetuned")

# Paper Table D ("min sol.", n = 512): start / stop recall in the top 6, for the
# 1 start / 1 stop set and the 2 start / 2 stop set.
PAPER_TABLE_D = pd.DataFrame(
    [("scrambler", "Scrambler (High Penalty)", 0.88, 0.84, 0.75, 0.70),
     ("scrambler_low_penalty", "Scrambler (Low Penalty)", 0.89, 0.77, 0.50, 0.47),
     ("ism", "Perturb", 0.79, 0.07, 0.78, 0.13),
     ("saliency", "Gradient", 0.20, 0.15, 0.24, 0.12),
     ("integrated_gradients", "Int. Grad.", 0.51, 0.24, 0.63, 0.21),
     ("deeplift", "DeepLIFT", 0.54, 0.18, 0.60, 0.14),
     ("deepshap", "DeepSHAP", 0.28, 0.14, 0.46, 0.10)],
    columns=["method", "paper_name", "start_1_1", "stop_1_1", "start_2_2", "stop_2_2"])


def paper_table_d() -> pd.DataFrame:
    """The paper's Table D (Optimus 5-Prime, n = 512) as a DataFrame."""
    return PAPER_TABLE_D.copy()


def table_d_beside_paper(measured: pd.DataFrame) -> pd.DataFrame:
    """Measured Table D with the paper's figure after each column, in the measured rows' order.

    Parameters
    ----------
    measured : DataFrame — ``method`` and the four recall columns (``start_1_1`` ... ``stop_2_2``)

    Returns
    -------
    DataFrame — ``method``, then per setting the measured column and ``<column>_paper`` (NaN where the
    paper has no such method); the paper's rows without a measured method come last
    """
    columns = ["start_1_1", "stop_1_1", "start_2_2", "stop_2_2"]
    paper = PAPER_TABLE_D.set_index("method")[columns]
    rows = list(measured["method"]) + [m for m in paper.index if m not in set(measured["method"])]
    out = pd.DataFrame({"method": rows})
    mine = measured.set_index("method")
    for column in columns:
        out[column] = [mine[column].get(m, np.nan) if m in mine.index else np.nan for m in rows]
        out[f"{column}_paper"] = [paper[column].get(m, np.nan) for m in rows]
    return out


def shipped_benchmark(name: str) -> dict | None:
    """The full-protocol results shipped for predictor ``name`` (``pretrained/benchmarks/NAME``), or None.

    Returns
    -------
    dict — ``{"kl", "table_d", "recall", "cost", ...: DataFrame}`` for the tables present, and ``"provenance"``
    (commit, date, machine, command, seconds; see ``bench/ship_benchmarks.py``)
    """
    import json

    from .paths import PRETRAINED_DIR

    folder = PRETRAINED_DIR / "benchmarks" / name
    if not (folder / "provenance.json").is_file():
        return None
    out = {"provenance": json.loads((folder / "provenance.json").read_text())}
    for table in sorted(folder.glob("*.csv")):
        out[table.stem] = pd.read_csv(table)
    return out


def divergence_name(output_kind: str) -> str:
    """What the inclusion / occlusion benchmark measures for an output kind (its divergence)."""
    return "squared error" if output_kind == "regression" else "symmetric KL divergence"


# ============================================================================ helpers

def _options_for(method, method_options, mode=None):
    """Options of ``method``; keys ``"METHOD@MODE"`` in ``method_options`` add options for one mode only."""
    method_options = method_options or {}
    options = dict(method_options.get(method, {}))
    if mode is not None:
        options.update(method_options.get(f"{method}@{mode}", {}))
    if mode is not None and method in ("scrambler", "scrambler_optimized", "scrambler_finetuned"):
        options.setdefault("mode", mode)
    return options


def _timed_attribute(predictor, x, method, options):
    """``attribute`` after an untimed warm-up on a few sequences (graph tracing is not counted)."""
    warm = dict(options)
    if method in PER_EXAMPLE_METHODS:
        warm["steps"] = 1
        attribute(predictor, x, method, **warm)
    else:
        attribute(predictor, x[:64], method, **warm)   # the batch shapes the timed run uses
    return attribute(predictor, x, method, return_info=True, **options)


# ============================================================================ inclusion / occlusion

def kl_benchmark(predictor, seqs, methods=METHODS, *, fractions=TOP_FRACTIONS, n_samples=128,
                 benchmarks=("inclusion", "occlusion"), background=None, seed=0, method_options=None,
                 n_per_example=None, progress=None):
    """Inclusion / occlusion benchmark (paper Fig S3C) for every method.

    Parameters
    ----------
    predictor : Predictor
    seqs : list of str or np.ndarray (N, L, A) — the test set
    methods : sequence of str — attribution methods (scrambler methods use the inclusion
        scrambler for the inclusion benchmark and the occlusion scrambler for occlusion)
    fractions : top fractions of positions kept (inclusion) or resampled (occlusion)
    n_samples : int — background samples per sequence
    method_options : dict method -> options for :func:`attribute`
    n_per_example : int, optional — score per-example optimisation / fine-tuning on the first
        ``n_per_example`` sequences only (they cost S x steps predictor calls per sequence)
    progress : callable(str), optional — told what runs

    Returns
    -------
    table : pd.DataFrame — one row per (benchmark, method, top_fraction): ``median`` and ``mean``
        of the per-sequence mean divergence (lower is better for inclusion, higher for occlusion)
    costs : pd.DataFrame — one row per (method, mode) attribution run (see :func:`cost_table`)
    """
    x_all = predictor.to_onehot(seqs)
    rows, runs, scores_of = [], [], {}
    original_all = predictor.predict(x_all)
    for method in methods:
        subset = n_per_example if (n_per_example and method in PER_EXAMPLE_METHODS) else len(x_all)
        x, original = x_all[:subset], original_all[:subset]
        for benchmark in benchmarks:
            mode = benchmark if method in SCRAMBLER_METHODS else None      # baselines: one ranking for both
            if progress:
                progress(f"{method} ({benchmark})")
            if (method, mode) not in scores_of:
                importance, info = _timed_attribute(predictor, x, method,
                                                    _options_for(method, method_options, mode))
                scores_of[method, mode] = position_scores(importance)
                runs.append({"method": method, "mode": mode or "", "n_sequences": len(x),
                             "predictor_calls_per_sequence": info["calls_per_sequence"],
                             "seconds_per_sequence": info["seconds_per_sequence"]})
            scores = scores_of[method, mode]
            for fraction in fractions:
                top = top_positions(scores, fraction)
                keep = top if benchmark == "inclusion" else ~top
                sampled = resample_positions(predictor, x, keep, n_samples=n_samples, background=background,
                                             seed=seed)
                per_sequence = _divergence(original, sampled, predictor.output_kind).mean(1)
                rows.append({"benchmark": benchmark, "method": method, "top_fraction": fraction,
                             "positions": int(top[0].sum()), "median": float(np.median(per_sequence)),
                             "mean": float(per_sequence.mean()), "n": len(x)})
    return pd.DataFrame(rows), pd.DataFrame(runs)


# ============================================================================ ground truth (Table D)

def recall_benchmark(predictor, methods=METHODS, *, n=512, settings=UORF_SETTINGS, seed=2024, k=6,
                     method_options=None, n_per_example=None, progress=None):
    """Ground-truth recall of uAUG and stop codons (paper Table D) for every method.

    Parameters
    ----------
    predictor : Predictor — a 50-nt DNA 5'UTR predictor (``utr5``, Optimus 5-Prime)
    methods : sequence of str
    n : int — sequences per setting
    settings : sequence of (n_starts, n_stops)
    k : int — top positions considered
    n_per_example : int, optional — per-example methods run on the first ``n_per_example``
        sequences of each setting only

    Returns
    -------
    table : pd.DataFrame — one row per (method, setting) with :func:`uorf_recall_scores` columns
    costs : pd.DataFrame — attribution cost per (method, setting)
    """
    if predictor.sequence_length != synthetic.UTR5_LENGTH or predictor.alphabet.size != 4:
        raise ValueError(f"the uORF recall benchmark needs a 50-nt DNA 5'UTR predictor; {predictor.name} reads "
                         f"{predictor.sequence_length} letters of {predictor.alphabet.letters}")
    rows, runs = [], []
    for n_starts, n_stops in settings:
        seqs, starts, stops = synthetic.generate_uorf_set(n, n_starts, n_stops, seed=seed + 10 * n_starts + n_stops)
        x_all = predictor.to_onehot(seqs)
        for method in methods:
            if progress:
                progress(f"{method} ({n_starts} start / {n_stops} stop)")
            m = n_per_example if (n_per_example and method in PER_EXAMPLE_METHODS) else n
            x = x_all[:m]
            importance, info = _timed_attribute(predictor, x, method,
                                                _options_for(method, method_options, "inclusion"))
            rows.append({"method": method, "n_starts": n_starts, "n_stops": n_stops, "n": len(x),
                         **uorf_recall_scores(position_scores(importance), starts[:m], stops[:m], k)})
            runs.append({"method": method, "mode": f"{n_starts}/{n_stops}", "n_sequences": len(x),
                         "predictor_calls_per_sequence": info["calls_per_sequence"],
                         "seconds_per_sequence": info["seconds_per_sequence"]})
    return pd.DataFrame(rows), pd.DataFrame(runs)


def table_d(recall: pd.DataFrame) -> pd.DataFrame:
    """Measured recall in the paper's Table D layout beside the paper's numbers.

    Returns
    -------
    pd.DataFrame — per method: ``start_1_1``, ``stop_1_1``, ``start_2_2``, ``stop_2_2`` (measured)
    and ``paper_*`` (NaN where the paper has no such method)
    """
    out = []
    for method, group in recall.groupby("method", sort=False):
        row = {"method": method}
        for (s, t), label in (((1, 1), "1_1"), ((2, 2), "2_2")):
            hit = group[(group.n_starts == s) & (group.n_stops == t)]
            row[f"start_{label}"] = float(hit.start_recall.iloc[0]) if len(hit) else np.nan
            row[f"stop_{label}"] = float(hit.stop_recall.iloc[0]) if len(hit) else np.nan
        out.append(row)
    measured = pd.DataFrame(out)
    paper = PAPER_TABLE_D.drop(columns="paper_name").rename(
        columns={c: f"paper_{c}" for c in ("start_1_1", "stop_1_1", "start_2_2", "stop_2_2")})
    return measured.merge(paper, on="method", how="left")


# ============================================================================ cost

def cost_table(costs: pd.DataFrame, reference="scrambler") -> pd.DataFrame:
    """Predictor calls and seconds per sequence per method, with ratios to ``reference``.

    Parameters
    ----------
    costs : pd.DataFrame — rows with ``method``, ``predictor_calls_per_sequence``,
        ``seconds_per_sequence`` (from :func:`kl_benchmark` / :func:`recall_benchmark`)

    Returns
    -------
    pd.DataFrame — one row per method (mean over its runs), ``calls_ratio`` (NaN when the
    reference makes no predictor call, as the scrambler's scores do) and ``time_ratio``
    (method / reference; > 1 means slower than the reference)
    """
    table = (costs.groupby("method", sort=False)[["predictor_calls_per_sequence", "seconds_per_sequence"]]
             .mean().reset_index())
    ref = table[table.method == reference]
    if len(ref):
        ref_calls = float(ref.predictor_calls_per_sequence.iloc[0])
        table["calls_ratio"] = table.predictor_calls_per_sequence / ref_calls if ref_calls > 0 else np.nan
        table["time_ratio"] = table.seconds_per_sequence / float(ref.seconds_per_sequence.iloc[0])
    return table


# ============================================================================ plots and files

def plot_kl(table: pd.DataFrame, title=""):
    """Median divergence against the top fraction, one line per method, a panel per benchmark.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benchmarks = list(dict.fromkeys(table.benchmark))
    fig, axes = plt.subplots(1, len(benchmarks), figsize=(5.2 * len(benchmarks), 4), squeeze=False)
    for ax, benchmark in zip(axes[0], benchmarks):
        part = table[table.benchmark == benchmark]
        for method, group in part.groupby("method", sort=False):
            group = group.sort_values("top_fraction", ascending=False)
            style = dict(linewidth=2.5, color="black") if method == "scrambler" else dict(linewidth=1.2)
            ax.plot([f"{int(f * 100)}%" for f in group.top_fraction], group["median"], marker="o", label=method,
                    **style)
        ax.set_yscale("log")
        better = "lower" if benchmark == "inclusion" else "higher"
        ax.set_title(f"{benchmark} ({better} is better)")
        ax.set_xlabel("top positions " + ("kept" if benchmark == "inclusion" else "resampled"))
        ax.set_ylabel("median divergence")
    axes[0][-1].legend(fontsize=8, loc="best")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ============================================================================ pair predictors (Fig S5)

# Paper Fig S5B-D: HBNet average precision of the designed interface residues (heterodimer binder RNN)
PAPER_HBNET_AP = pd.DataFrame(
    [("scrambler (inclusion, siamese)", 0.42), ("scrambler (occlusion, joint)", 0.37),
     ("scrambler (occlusion, siamese)", 0.61), ("saliency", 0.17), ("integrated_gradients", 0.25),
     ("continuous_mean", 0.20), ("continuous_zero", 0.18), ("continuous_random", 0.10),
     ("zero_mask", 0.14), ("random_mask", 0.22), ("scrambler_optimized", 0.29)],
    columns=["method", "paper_hbnet_ap"])
PAIR_SCRAMBLERS = (("inclusion", "siamese"), ("occlusion", "siamese"), ("inclusion", "joint"), ("occlusion", "joint"))
INTERFACE_METHODS = ("scrambler", "ism", "saliency", "gradient_x_input", "integrated_gradients",
                     "continuous_mean", "continuous_zero", "continuous_random", "zero_mask", "random_mask",
                     "scrambler_optimized")


def average_precision(scores, relevant) -> float:
    """Average precision of a ranking (ties broken by position): mean precision at each relevant item.

    Parameters
    ----------
    scores : np.ndarray (L,) — higher = ranked first
    relevant : np.ndarray (L,) bool

    Returns
    -------
    float — in [0, 1]; NaN when nothing is relevant

    Examples
    --------
    >>> average_precision(np.array([3., 2., 1.]), np.array([True, False, True]))
    0.8333333333333333
    """
    relevant = np.asarray(relevant, bool)
    if not relevant.any():
        return float("nan")
    order = np.argsort(-np.asarray(scores, float), kind="stable")
    hits = relevant[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits].mean())


def binder_test_pairs(n, seed=2025):
    """``n`` generated pairs that bind (true probability > 0.5) and their truths (held out from training).

    Returns
    -------
    pairs : list of (str, str)
    truths : list of PairGroundTruth
    """
    pairs, truths, draw = [], [], 0
    while len(pairs) < n:
        batch = synthetic.generate_binder_pairs(4 * n, seed=seed + draw)
        for pair, truth in zip(batch, synthetic.binder_truths(batch)):
            if truth.value > 0.5 and truth.important_a.any() and len(pairs) < n:
                pairs.append(pair)
                truths.append(truth)
        draw += 1
    return pairs, truths


def interface_labels(truths, chain_length):
    """True interface residues as one array, chain a then chain b: (N, 2 Lmax) bool."""
    labels = np.zeros((len(truths), 2 * chain_length), bool)
    for i, truth in enumerate(truths):
        labels[i, :len(truth.important_a)] = truth.important_a
        labels[i, chain_length:chain_length + len(truth.important_b)] = truth.important_b
    return labels


def interface_benchmark(predictor, methods=INTERFACE_METHODS, *, n=128, n_per_example=32, seed=2025,
                        method_options=None, progress=None):
    """Ground truth for pair predictors (Fig S5 "HBNet AP"): average precision of the true interface residues.

    For ``n`` generated binder pairs (true probability > 0.5), each method's per-residue scores
    (``|score|`` summed over the alphabet, padding left out) rank the residues of both chains;
    the metric is the mean over pairs of the average precision of the grammar's interface
    residues (core a/d pairs, Asn-Asn, g-e' salt bridges and repulsions).

    Parameters
    ----------
    predictor : PairPredictor with a grammar (``binder``)
    methods : sequence of str — ``"scrambler"`` runs every pretrained pair scrambler (inclusion /
        occlusion x siamese / joint); per-example methods run on the first ``n_per_example`` pairs

    Returns
    -------
    table : pd.DataFrame — method, label, mode, architecture, n, mean_ap, sem_ap, random_ap,
        calls_per_sequence, seconds_per_sequence, paper_hbnet_ap
    """
    from .predictors.pairs import as_single_input
    from .predictors.base import ModelFileError

    if predictor.name != "binder":
        raise ValueError(f"the interface benchmark needs the grammar behind the built-in binder predictor, not "
                         f"{predictor.name!r}")
    wrapped = as_single_input(predictor)
    pairs, truths = binder_test_pairs(n, seed)
    x = wrapped.to_onehot(pairs)
    labels = interface_labels(truths, wrapped.chain_length)
    present = x.sum(-1) > 0
    random_ap = float(np.mean([labels[i][present[i]].mean() for i in range(len(x))]))
    runs = []
    for method in methods:
        if method == "scrambler":
            runs += [(f"scrambler ({mode}, {arch})", method, {"mode": mode, "architecture": arch})
                     for mode, arch in PAIR_SCRAMBLERS]
        else:
            runs.append((method, method, {}))
    rows = []
    for label, method, extra in runs:
        options = dict(extra, **(method_options or {}).get(method, {}))
        count = n_per_example if method in PER_EXAMPLE_METHODS + ABLATION_METHODS else len(x)
        try:
            importance, info = _timed_attribute(wrapped, x[:count], method, options)
        except (ModelFileError, ValueError) as error:    # a pair scrambler not there, a method that cannot run
            rows.append({"method": label, "error": str(error)})
            continue
        scores = position_scores(importance)
        aps = np.array([average_precision(scores[i][present[i]], labels[i][present[i]]) for i in range(count)])
        rows.append({"method": label, "base_method": method, "mode": extra.get("mode"),
                     "architecture": extra.get("architecture"), "n": count, "mean_ap": float(np.nanmean(aps)),
                     "sem_ap": float(np.nanstd(aps) / np.sqrt(max(count, 1))), "random_ap": random_ap,
                     "calls_per_sequence": info["calls_per_sequence"],
                     "seconds_per_sequence": info["seconds_per_sequence"]})
        if progress:
            progress(f"interface {label}")
    table = pd.DataFrame(rows)
    return table.merge(PAPER_HBNET_AP, on="method", how="left")


# ============================================================================ dropout and feature signs

def dropout_benchmark(scrambler, *, n=128, target_bits=0.25, k=6, seed=31):
    """Alternative explanations (method §7) on the ``polya`` grammar: drop the best PAS, find the next one.

    Each test window has AATAAA at 66 and ATTAAA at 78 (both in the PAS window; the grammar counts
    the best, AATAAA). Reported: the fraction of the top ``k`` positions on each hexamer without
    dropout and with AATAAA dropped, and the median prediction on samples.

    Parameters
    ----------
    scrambler : Scrambler — a mask-dropout scrambler of a 205-nt DNA predictor

    Returns
    -------
    pd.DataFrame — one row per condition (``none``, ``AATAAA dropped``)
    """
    rng = np.random.default_rng(seed)
    seqs = [s[:66] + "AATAAA" + s[72:78] + "ATTAAA" + s[84:] for s in synthetic.random_sequences(n, 205, rng)]
    drop = np.ones(205, np.float32)
    drop[66:72] = 0
    rows = []
    for condition, mask in (("none", None), ("AATAAA dropped", drop)):
        ex = scrambler.explain(seqs, target_bits=target_bits, drop=mask, seed=seed)
        top = np.argsort(-ex.importance, axis=1)[:, :k]
        rows.append({"condition": condition, "target_bits": target_bits, "n": n, "top_k": k,
                     "top_on_AATAAA": float(np.isin(top, np.arange(66, 72)).mean()),
                     "top_on_ATTAAA": float(np.isin(top, np.arange(78, 84)).mean()),
                     "median_prediction": float(np.median(ex.prediction)),
                     "median_sample_prediction": float(np.median(ex.mean_sample_prediction))})
    return pd.DataFrame(rows)


def polya_feature_windows(seqs):
    """Positions of the raising and lowering elements of the ``polya`` grammar, (N, 205) bool each."""
    raising = np.zeros((len(seqs), synthetic.POLYA_LENGTH), bool)
    lowering = np.zeros_like(raising)
    for i, truth in enumerate(synthetic.truth("polya", seqs)):
        f = truth.features
        if f["pas"] is not None:
            raising[i, f["pas"]:f["pas"] + 6] = True
        for start in f["use"][:3] + f["dse"][:4]:
            raising[i, start:start + 4] = True
        for start in f["repressor"]:
            lowering[i, start:start + 4] = True
        for start in f["upstream_pas"]:
            lowering[i, start:start + 6] = True
    return raising, lowering


def feature_sign_benchmark(positive, negative, *, n=128, target_bits=0.25, k=12, seed=37):
    """Positive / negative features (method §4) on the ``polya`` grammar.

    Test windows carry both kinds of elements: AATAAA in the PAS window, two TGTA (USE) and two
    GTGT (DSE) that raise the proximal isoform, two CCCC / GGGG repressors and an upstream AATAAA
    that lower it. For each scrambler, the fraction of its top ``k`` positions on raising and on
    lowering elements.

    Parameters
    ----------
    positive, negative : Scrambler — ``objective="maximize"`` and ``"minimize"`` scramblers of ``polya``

    Returns
    -------
    pd.DataFrame — objective, top_on_raising, top_on_lowering, median sample prediction vs original
    """
    rng = np.random.default_rng(seed)
    seqs = []
    for s in synthetic.random_sequences(n, 205, rng, probabilities=[0.25, 0.25, 0.25, 0.25]):
        for motif, start in (("AATAAA", 70), ("TGTA", 30), ("TGTA", 45), ("GTGT", 100), ("GTGT", 118),
                             ("CCCC", 92), ("GGGG", 110), ("AATAAA", 20)):
            s = s[:start] + motif + s[start + len(motif):]
        seqs.append(s)
    raising, lowering = polya_feature_windows(seqs)
    rows = []
    for scr in (positive, negative):
        ex = scr.explain(seqs, target_bits=target_bits, seed=seed)
        top = np.argsort(-ex.importance, axis=1)[:, :k]
        on = lambda mask: float(np.mean([mask[i, top[i]].mean() for i in range(len(seqs))]))   # noqa: E731
        rows.append({"objective": scr.objective, "target_bits": target_bits, "n": n, "top_k": k,
                     "top_on_raising": on(raising), "top_on_lowering": on(lowering),
                     "median_prediction": float(np.median(ex.prediction)),
                     "median_sample_prediction": float(np.median(ex.mean_sample_prediction))})
    return pd.DataFrame(rows)


def run_benchmarks(predictor, output_dir, *, which=("kl", "recall"), methods=METHODS, n=256, n_recall=512,
                   n_samples=128, n_per_example=64, seed=0, method_options=None, test_sequences=None,
                   progress=None):
    """Run the benchmarks and write ``kl.csv``, ``kl.png``, ``kl.svg``, ``recall.csv``,
    ``table_d.csv`` and ``cost.csv`` into ``output_dir``.

    Parameters
    ----------
    predictor : Predictor
    output_dir : path
    which : subset of {"kl", "recall", "interface", "dropout", "features"} — ``interface``: the binder
        pair predictor's interface AP; ``dropout`` / ``features``: the polya grammar's alternative
        explanations and positive / negative features (pretrained variant scramblers)
    test_sequences : list of str, optional — KL test set (default: held-out sequences from the
        built-in predictor's generator)
    n_per_example : int — sequences per set for the per-example optimisation methods

    Returns
    -------
    dict of DataFrames: ``kl``, ``recall``, ``table_d``, ``interface``, ``dropout``, ``features``,
    ``cost`` (those run)
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    results, all_costs = {}, []
    started = time.time()
    if "kl" in which:
        if test_sequences is None:
            from .scrambler.recipes import training_sequences
            from .scrambler.recipes import HELD_OUT_SEED_OFFSET

            try:
                test_sequences = training_sequences(predictor.name, n, seed + HELD_OUT_SEED_OFFSET + 1000)
            except ValueError:
                raise ValueError(f"{predictor.name} has no built-in sequence generator; give the KL test set "
                                 "(test_sequences=, or --input on the command line)") from None
        kl, costs = kl_benchmark(predictor, test_sequences, methods, n_samples=n_samples, seed=seed,
                                 method_options=method_options, n_per_example=n_per_example, progress=progress)
        results["kl"] = kl
        all_costs.append(costs)
        _write_csv(kl, output_dir / "kl.csv")
        fig = plot_kl(kl, title=f"{predictor.name}: inclusion / occlusion, n = {len(test_sequences)}")
        fig.savefig(output_dir / "kl.png", dpi=120)
        fig.savefig(output_dir / "kl.svg")
        import matplotlib.pyplot as plt

        plt.close(fig)   # a long-running process (the app) would otherwise keep every figure
    if "recall" in which:
        recall, costs = recall_benchmark(predictor, methods, n=n_recall, method_options=method_options,
                                         n_per_example=n_per_example, progress=progress)
        results["recall"] = recall
        results["table_d"] = table_d(recall)
        all_costs.append(costs)
        _write_csv(recall, output_dir / "recall.csv")
        _write_csv(results["table_d"], output_dir / "table_d.csv")
    if "interface" in which:
        table = interface_benchmark(predictor, methods, n=n, n_per_example=n_per_example, seed=seed + 2025,
                                    method_options=method_options, progress=progress)
        results["interface"] = table
        _write_csv(table, output_dir / "interface.csv")
    if "dropout" in which or "features" in which:
        from .scrambler.explain import load_scrambler
        if "dropout" in which:
            results["dropout"] = dropout_benchmark(load_scrambler(predictor.name, dropout=True, predictor=predictor),
                                                   n=n, seed=seed + 31)
            _write_csv(results["dropout"], output_dir / "dropout.csv")
        if "features" in which:
            results["features"] = feature_sign_benchmark(
                load_scrambler(predictor.name, objective="maximize", predictor=predictor),
                load_scrambler(predictor.name, objective="minimize", predictor=predictor), n=n, seed=seed + 37)
            _write_csv(results["features"], output_dir / "features.csv")
    if all_costs:
        results["cost"] = cost_table(pd.concat(all_costs, ignore_index=True))
        _write_csv(results["cost"], output_dir / "cost.csv")
    results["seconds"] = time.time() - started
    return results


def _write_csv(frame, path):
    tmp = Path(path).with_suffix(".csv.tmp")
    frame.to_csv(tmp, index=False, float_format="%.6g")
    tmp.replace(path)


PROBED_METHODS = ("deeplift", "deepshap")   # refuse some models (layers without an exact rule): probed first


def method_unavailable_reason(predictor, method: str) -> str | None:
    """Why ``method`` cannot explain ``predictor`` (DeepLIFT on a model with an unsupported layer), or None.

    Probes by attributing one sequence (the alphabet's first letter repeated), so a method that would
    fail halfway through a benchmark can be left out before it starts.

    Parameters
    ----------
    predictor : Predictor
        A single-sequence predictor with a fixed ``sequence_length``.
    method : str
        One of :data:`~scrambler_core.attribution.METHODS`; only :data:`PROBED_METHODS` are probed.

    Returns
    -------
    str or None
        The first line of the refusal, or None when the method is expected to work.
    """
    if method not in PROBED_METHODS:
        return None
    probe = predictor.alphabet.letters[0] * predictor.sequence_length
    try:
        attribute(predictor, [probe], "deeplift")
    except ValueError as err:
        return str(err).splitlines()[0]
    return None


def polya_benchmarks(dropout, positive, negative, *, n=128, run=None, progress=None) -> dict:
    """Both benchmarks of the polya special scramblers: mask dropout, then positive / negative features.

    Parameters
    ----------
    dropout : Scrambler or None
        The mask-dropout scrambler (None: that benchmark is skipped).
    positive, negative : Scrambler or None
        The maximize / minimize scramblers (None for either: the feature benchmark is skipped).
    n : int
        Test sequences of each benchmark.
    run : callable, optional
        ``run(kind, compute, models)`` returns ``compute()`` or a stored result (a cache); ``kind`` is
        "dropout_benchmark" or "feature_sign_benchmark", ``models`` the scrambler or the pair of them.
        Default: just compute.
    progress : callable, optional
        ``progress(fraction, text)`` before the feature benchmark (0.5).

    Returns
    -------
    dict
        ``{"dropout": table or None, "features": table or None}`` (:func:`dropout_benchmark`,
        :func:`feature_sign_benchmark`).
    """
    run = run or (lambda kind, compute, models: compute())
    out = {"dropout": None, "features": None}
    if dropout is not None:
        out["dropout"] = run("dropout_benchmark", lambda: dropout_benchmark(dropout, n=n), dropout)
    if progress is not None:
        progress(0.5, "Running the positive / negative feature benchmark…")
    if positive is not None and negative is not None:
        out["features"] = run("feature_sign_benchmark", lambda: feature_sign_benchmark(positive, negative, n=n),
                              (positive, negative))
    return out
