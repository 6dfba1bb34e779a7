"""Checks of a trained scrambler against the truth and against its own targets.

* :func:`uorf_recall` — paper Table D protocol on synthetic uORF UTRs: do the
  top-k positions hold every uAUG (and every stop) letter?
* :func:`bits_tracking` — requested vs realised mean conservation.
* :func:`sample_agreement` — R² between the prediction on the original and the
  mean prediction on samples (paper Fig S4A).
* :func:`resample_positions` / :func:`top_positions` — the inclusion test of the KL benchmark (keep the top
  positions, redraw the rest from the background), and :func:`keep_set_monitor`, that test during training.
"""
from __future__ import annotations

import numpy as np

from . import synthetic
from .scrambler.explain import Scrambler, bits_tracking  # noqa: F401  (re-exported)

TOP_FRACTIONS = (0.2, 0.1, 0.05, 0.02)      # the KL benchmark's kept (inclusion) / resampled (occlusion) fractions


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


def _divergence(original, sampled, output_kind):
    """Per-sample divergence (N, S) between outputs on the originals (N,) and on samples (N, S)."""
    original = np.asarray(original, np.float64)[:, None]
    sampled = np.asarray(sampled, np.float64)
    if output_kind in ("sigmoid", "softmax"):
        eps = 1e-7
        p = np.clip(original, eps, 1 - eps)
        q = np.clip(sampled, eps, 1 - eps)
        if output_kind == "softmax":   # KL of the explained class vs the rest (binary reduction)
            return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))
        return (p - q) * (np.log(p / q) - np.log((1 - p) / (1 - q)))       # symmetric Bernoulli KL
    return (original - sampled) ** 2


def _background_samples(background, n_samples, seed):
    """(S, L, A) one-hot samples drawn independently per position from ``background`` (L, A)."""
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(background, axis=-1)
    draws = rng.random((n_samples, background.shape[0], 1))
    letters = (draws > cumulative[None]).sum(-1).clip(0, background.shape[1] - 1)
    return np.eye(background.shape[1], dtype=np.float32)[letters]


def resample_positions(predictor, x, keep, *, n_samples=128, background=None, seed=0, batch_size=2048):
    """Predictions on samples that keep the positions ``keep`` and redraw the rest from the background.

    Parameters
    ----------
    predictor : Predictor
    x : np.ndarray (N, L, A)
    keep : np.ndarray (N, L), bool — positions kept from the original
    n_samples : int, S — samples per sequence (sequence i uses background draws seeded by ``seed + i``,
        so every method is scored on the same draws)
    background : np.ndarray (L, A) — default: the predictor's background PWM

    Returns
    -------
    np.ndarray (N, S) — the predictor's output on the samples
    """
    from .attribution import predictor_background

    background = predictor_background(predictor) if background is None else np.asarray(background, np.float32)
    n = len(x)
    per_chunk = max(1, batch_size // n_samples)
    out = np.zeros((n, n_samples), np.float32)
    for start in range(0, n, per_chunk):
        stop = min(n, start + per_chunk)
        draws = np.stack([_background_samples(background, n_samples, seed + i) for i in range(start, stop)])
        mixed = np.where(keep[start:stop, None, :, None], x[start:stop, None], draws)
        y = predictor.predict(mixed.reshape((-1,) + x.shape[1:]), batch_size=batch_size)
        out[start:stop] = y.reshape(stop - start, n_samples)
    return out


def top_positions(scores, fraction) -> np.ndarray:
    """Mask of each sequence's top ``fraction`` of positions by score, (N, L) bool (at least one)."""
    scores = np.asarray(scores)
    k = max(1, int(round(fraction * scores.shape[1])))
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    mask = np.zeros(scores.shape, bool)
    np.put_along_axis(mask, order, True, axis=1)
    return mask


def keep_set_monitor(scrambler: Scrambler, predictor, x, target_bits=0.05, fractions=TOP_FRACTIONS, n_samples=128,
                     seed=0) -> dict:
    """The KL benchmark's inclusion test on monitoring sequences during training (a ``validation_fn``).

    Each sequence's top ``fraction`` of positions by the scrambler's importance is kept and the rest redrawn
    from the background (:func:`resample_positions`); the median symmetric KL (squared error for regression)
    to the original prediction is reported per fraction. A bits-conditioned scrambler is read at the
    bits-channel value ``target_bits`` (uncalibrated during training).

    Parameters
    ----------
    scrambler : Scrambler (inclusion, single-sequence predictor)
    predictor : Predictor
    x : np.ndarray (N, L, A) — monitoring sequences (never the benchmark's test set)

    Returns
    -------
    dict — ``monitor``: median KL per fraction; ``selection_score``: minus the mean log of those medians (higher is
    better; every fraction counts by its ratio, so 2 % does not outweigh 20 %)
    """
    bits = target_bits if scrambler.network.bits_conditioned else None
    scores = scrambler.scores(x, target_bits=bits)
    original = predictor.predict(x)
    medians = {}
    for fraction in fractions:
        sampled = resample_positions(predictor, x, top_positions(scores, fraction), n_samples=n_samples, seed=seed)
        medians[f"{fraction:g}"] = round(float(np.median(_divergence(original, sampled,
                                                                     predictor.output_kind).mean(1))), 4)
    score = -float(np.mean(np.log(np.maximum(list(medians.values()), 1e-9))))
    return {"monitor": medians, "selection_score": round(score, 4)}
