"""Checks of a trained scrambler against the truth and against its own targets.

* :func:`uorf_recall` — paper Table D protocol on synthetic uORF UTRs: do the
  top-k positions hold every uAUG (and every stop) letter?
* :func:`bits_tracking` — requested vs realised mean conservation.
* :func:`sample_agreement` — R² between the prediction on the original and the
  mean prediction on samples (paper Fig S4A).
"""
from __future__ import annotations

import numpy as np

from . import synthetic
from .scrambler.explain import Scrambler, bits_tracking  # noqa: F401  (re-exported)


def top_k_hits(importance, positions, k):
    """Whether each sequence's ``k`` highest-scoring positions contain all ``positions``.

    Parameters
    ----------
    importance : np.ndarray (N, L)
    positions : np.ndarray (N, P) of int — required positions per sequence
    k : int

    Returns
    -------
    np.ndarray (N,), bool
    """
    top = np.argsort(-importance, axis=1, kind="stable")[:, :k]
    return np.array([set(p.tolist()) <= set(t.tolist()) for p, t in zip(positions, top)])


def codon_letters(starts):
    """Letter positions of codons starting at ``starts`` (N, P) -> (N, 3P)."""
    starts = np.asarray(starts)
    return np.concatenate([starts + k for k in range(3)], axis=1)


def uorf_recall(scores_fn, n=200, n_starts=1, n_stops=1, seed=12345):
    """Top-k recall of uAUG and stop letters on synthetic in-frame uORF UTRs (Table D).

    Parameters
    ----------
    scores_fn : callable(list of str) -> np.ndarray (N, L) importance
    n : int — sequences
    n_starts, n_stops : int — 1 or 2
    seed : int

    Returns
    -------
    dict — ``start_recall``: fraction whose top-3·(starts+stops) positions hold all uAUG
    letters; ``stop_recall``: same for the stop letters; ``both``: all of them.
    """
    seqs, starts, stops = synthetic.generate_uorf_set(n, n_starts, n_stops, seed=seed)
    importance = np.asarray(scores_fn(seqs))
    k = 3 * (n_starts + n_stops)
    start_letters, stop_letters = codon_letters(starts), codon_letters(stops)
    return {
        "n": n, "top_k": k,
        "start_recall": float(top_k_hits(importance, start_letters, k).mean()),
        "stop_recall": float(top_k_hits(importance, stop_letters, k).mean()),
        "both": float(top_k_hits(importance, np.concatenate([start_letters, stop_letters], 1), k).mean()),
    }


def _codon_in_top(top_sets, codon_starts):
    return np.array([any({p, p + 1, p + 2} <= top for p in starts) for top, starts in zip(top_sets, codon_starts)])


def uorf_recall_scores(scores, starts, stops, k=6) -> dict:
    """Table D recall from per-position scores.

    Parameters
    ----------
    scores : np.ndarray (N, L)
    starts, stops : np.ndarray (N, P) — 0-based first letters of the uAUGs / stop codons
    k : int — positions considered (6: one whole start codon and one whole stop codon)

    Returns
    -------
    dict — ``start_recall`` / ``stop_recall``: fraction whose top ``k`` hold all three letters of
    at least one uAUG / stop codon ("min sol." of Table D); ``both``; ``all_start`` / ``all_stop``:
    fraction whose top ``3 (starts + stops)`` hold every uAUG / every stop letter.
    """
    scores = np.asarray(scores, np.float64)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    top_sets = [set(row.tolist()) for row in order]
    start_hit, stop_hit = _codon_in_top(top_sets, starts), _codon_in_top(top_sets, stops)
    k_all = 3 * (starts.shape[1] + stops.shape[1])
    return {"start_recall": float(start_hit.mean()), "stop_recall": float(stop_hit.mean()),
            "both": float((start_hit & stop_hit).mean()),
            "all_start": float(top_k_hits(scores, codon_letters(starts), k_all).mean()),
            "all_stop": float(top_k_hits(scores, codon_letters(stops), k_all).mean())}


MONITOR_SEED_OFFSETS = {(1, 1): 9011, (2, 2): 9022}   # Table D monitoring sets: never the benchmark's test seeds


def uorf_monitor(scrambler: Scrambler, target_bits=0.125, n=128, seed=0, k=6, start_22_weight=1.0) -> dict:
    """Table D recall on monitoring sets during training (1 start / 1 stop and 2 / 2, top ``k``).

    The sets use seeds ``seed + 9011`` / ``seed + 9022``, never the benchmark's test seeds. A bits-conditioned
    scrambler is read at the bits-channel value ``target_bits`` (uncalibrated during training).

    Returns
    -------
    dict — ``monitor``: start / stop recall per setting; ``selection_score``: their mean, the 2 / 2 start
    recall counted ``start_22_weight`` times (a weighted mean)
    """
    bits = target_bits if scrambler.network.bits_conditioned else None
    out = {}
    for (a, b), offset in MONITOR_SEED_OFFSETS.items():
        seqs, starts, stops = synthetic.generate_uorf_set(n, a, b, seed=seed + offset)
        recall = uorf_recall_scores(scrambler.scores(seqs, target_bits=bits), starts, stops, k=k)
        out[f"{a}/{b}"] = {"start": round(recall["start_recall"], 4), "stop": round(recall["stop_recall"], 4)}
    weights = {(setting, key): start_22_weight if (setting, key) == ("2/2", "start") else 1.0
               for setting in out for key in ("start", "stop")}
    score = sum(w * out[setting][key] for (setting, key), w in weights.items()) / sum(weights.values())
    return {"monitor": out, "selection_score": round(float(score), 4)}


def sample_agreement(scrambler: Scrambler, seqs, target_bits, n_samples=32, seed=0):
    """R² and Pearson r between prediction on originals and mean prediction on samples.

    Returns
    -------
    dict — ``r2``, ``pearson_r``, ``median_abs_error``
    """
    ex = scrambler.explain(seqs, target_bits=target_bits, n_samples=n_samples, seed=seed)
    y, m = ex.prediction.astype(float), ex.mean_sample_prediction.astype(float)
    r2 = 1 - np.sum((y - m) ** 2) / np.sum((y - y.mean()) ** 2)
    return {"r2": float(r2), "pearson_r": float(np.corrcoef(y, m)[0, 1]),
            "median_abs_error": float(np.median(np.abs(y - m)))}


def occlusion_effect(scrambler: Scrambler, seqs, target_bits, n_samples=32, seed=0):
    """How much occluding the top positions changes the prediction.

    Returns
    -------
    dict — ``median_abs_change`` of mean sample prediction vs original; for sigmoid
    predictors also ``flipped``: fraction whose mean sample prediction lies on the other
    side of 0.5 from the original.
    """
    ex = scrambler.explain(seqs, target_bits=target_bits, n_samples=n_samples, seed=seed)
    y, m = ex.prediction.astype(float), ex.mean_sample_prediction.astype(float)
    out = {"median_abs_change": float(np.median(np.abs(y - m)))}
    if scrambler.predictor.output_kind == "sigmoid":
        out["flipped"] = float(np.mean((y >= 0.5) != (m >= 0.5)))
    return out


def objective_shift(scrambler: Scrambler, seqs, target_bits, n_samples=32, seed=0):
    """How far a positive/negative-feature scrambler moves the prediction (method §4).

    A maximize scrambler keeps what raises the output, so its samples should predict higher than
    fully random background sequences; a minimize scrambler the opposite.

    Returns
    -------
    dict — ``median_sample_minus_original``; ``median_sample_minus_background``: mean sample
    prediction minus the mean prediction on sequences drawn from the background alone
    """
    ex = scrambler.explain(seqs, target_bits=target_bits, n_samples=n_samples, seed=seed)
    y, m = ex.prediction.astype(float), ex.mean_sample_prediction.astype(float)
    rng = np.random.default_rng(seed)
    background = scrambler.background
    letters = np.stack([rng.choice(background.shape[1], size=256, p=row / row.sum()) for row in background], 1)
    random_x = np.eye(background.shape[1], dtype=np.float32)[letters]
    baseline = float(scrambler.predictor.predict(random_x).mean())
    return {"median_sample_minus_original": float(np.median(m - y)),
            "median_sample_minus_background": float(np.median(m) - baseline)}
