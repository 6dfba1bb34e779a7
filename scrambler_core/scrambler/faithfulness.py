"""Is an explanation faithful? Plain checks on what the scrambler's samples did.

A scrambler explanation is only as good as its samples: an inclusion explanation must keep the
prediction (the samples' mean near the original) at the budget asked for. Three checks, each with
a plain-language message and what to do:

* **budget**: the realised bits differ from the target by more than ``max(0.05, 25 %)`` of it
  (a scrambler that cannot go below or above some budget for this sequence);
* **prediction kept / lost**: what a random sequence gives is the reference (:func:`output_reference`:
  the mean and standard deviation of the predictor's outputs on uniform random sequences), and the
  scale of an explanation is ``max(|random mean - original|, random sd)``. Inclusion must keep the
  prediction: the samples' mean may move at most half that scale. Occlusion must lose it: when the
  original stands out from random sequences (by more than their sd), the samples' mean must move
  at least half of the way towards the random mean;
* **split samples** (inclusion): the samples' predictions fall in two groups, separated by a gap
  wider than half the scale, with at least 20 % of the samples on the smaller side.

:meth:`Scrambler.explain` attaches a :class:`Faithfulness` to every :class:`Explanation`; the CLI and
batch outputs report its ``faithful`` flag and warning, and the app shows the warning.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BITS_TOLERANCE = 0.25          # fraction of the target
BITS_TOLERANCE_MIN = 0.05      # bits
SHIFT_TOLERANCE = 0.5          # fraction of the scale (inclusion: at most; occlusion: at least, of the distance)
SPLIT_GAP = 0.5                # fraction of the scale
SPLIT_MINORITY = 0.2           # fraction of the samples on the smaller side of the gap
SPREAD_SEQUENCES = 256


def output_reference(predictor, n: int = SPREAD_SEQUENCES, seed: int = 0) -> tuple[float, float]:
    """What a random sequence gives: mean and standard deviation of the outputs on uniform random sequences.

    Cached on the predictor object (``predictor._output_reference``).

    Parameters
    ----------
    predictor : Predictor — single-input (pairs: the concatenated form)
    n : int — random sequences
    seed : int

    Returns
    -------
    (mean, sd) — sd at least 1e-6
    """
    cached = getattr(predictor, "_output_reference", None)
    if cached is not None:
        return cached
    rng = np.random.default_rng(seed)
    size = predictor.alphabet.size
    x = np.eye(size, dtype=np.float32)[rng.integers(0, size, size=(n, predictor.sequence_length))]
    outputs = np.asarray(predictor.output_tensor(x), np.float64).reshape(-1)
    reference = (float(np.mean(outputs)), max(float(np.std(outputs)), 1e-6))
    predictor._output_reference = reference
    return reference


@dataclass
class Faithfulness:
    """The checks of N explanations (one per sequence, or one per budget of a sweep).

    Attributes
    ----------
    bits_ok : np.ndarray (N,) bool — realised bits close to the target
    shift : np.ndarray (N,) — samples' mean minus the original prediction
    shift_ok : np.ndarray (N,) bool — inclusion: the samples keep the prediction; occlusion: they lose it
    split : np.ndarray (N,) bool — the samples' predictions fall in two groups
    faithful : np.ndarray (N,) bool — every check passed
    warnings : list of str, length N — "" when faithful, else plain-language sentences
    reference : (float, float) — mean and sd of the predictor's outputs on random sequences
    """

    bits_ok: np.ndarray
    shift: np.ndarray
    shift_ok: np.ndarray
    split: np.ndarray
    faithful: np.ndarray
    warnings: list
    reference: tuple

    def to_frame(self):
        """One row per explanation: bits_ok, shift, shift_ok, split, faithful, warning (pandas)."""
        import pandas as pd

        return pd.DataFrame({"bits_ok": self.bits_ok, "shift": self.shift, "shift_ok": self.shift_ok,
                             "split": self.split, "faithful": self.faithful, "warning": self.warnings})


def _split(row: np.ndarray, scale: float) -> tuple[bool, str]:
    """Two groups of sample predictions? (bool, description "13 of 32 near 9.02, the rest near 3.71")."""
    ordered = np.sort(row)
    if len(ordered) < 5:
        return False, ""
    gaps = np.diff(ordered)
    k = int(np.argmax(gaps))
    low, high = ordered[:k + 1], ordered[k + 1:]
    minority = min(len(low), len(high))
    if gaps[k] <= SPLIT_GAP * scale or minority < SPLIT_MINORITY * len(ordered):
        return False, ""
    small, big = (low, high) if len(low) < len(high) else (high, low)
    return True, (f"{len(small)} of {len(ordered)} near {np.median(small):.3g}, "
                  f"the rest near {np.median(big):.3g}")


def _messages(target, realised, mean, original, mode, bits_ok, shift_ok, split_text) -> str:
    out = []
    if not bits_ok:
        side = "more" if realised > target else "less"
        out.append(f"Realised {realised:.3f} bits for a target of {target:g}: the scrambler keeps {side} than asked "
                   f"for this sequence, so read the logo as a {realised:.2f}-bit explanation or choose a budget "
                   "it reaches.")
    if not shift_ok and mode == "occlusion":
        out.append(f"The samples' mean prediction ({mean:.3f}) stays close to the original ({original:.3f}): "
                   "scrambling the marked letters does not remove what the predictor sees, so the explanation "
                   "misses part of it. Try a larger budget or per-example optimisation (Explore: Optimise this "
                   "explanation).")
    elif not shift_ok:
        out.append(f"The samples' mean prediction ({mean:.3f}) is far from the original ({original:.3f}): the "
                   "kept letters are not enough to explain it. Try a larger budget, per-example optimisation "
                   "(Explore: Optimise this explanation) or a scrambler trained longer.")
    if split_text:
        out.append(f"The samples' predictions split in two groups ({split_text}): the explanation leaves a choice "
                   "open that changes the output a lot; a larger budget usually settles it.")
    return " ".join(out)


def _shift_ok(mode, mean, original, reference):
    """Inclusion: the samples keep the prediction; occlusion: they lose it (see the module's docstring)."""
    random_mean, random_sd = reference
    distance = np.abs(random_mean - original)
    scale = np.maximum(distance, random_sd)
    if mode == "inclusion":
        return np.abs(mean - original) <= SHIFT_TOLERANCE * scale, scale
    stands_out = distance > random_sd
    return ~stands_out | (np.abs(mean - original) >= SHIFT_TOLERANCE * distance), scale


def check_faithfulness(target_bits, realised_bits, sample_predictions, prediction, mode: str,
                       reference) -> Faithfulness:
    """Run the checks on N explanations.

    Parameters
    ----------
    target_bits : float or array_like (N,)
    realised_bits : array_like (N,)
    sample_predictions : array_like (N, S)
    prediction : float or array_like (N,) — the original prediction
    mode : "inclusion" or "occlusion"
    reference : (float, float) — mean and sd of the outputs on random sequences (:func:`output_reference`)

    Returns
    -------
    Faithfulness
    """
    samples = np.asarray(sample_predictions, np.float64)
    n = samples.shape[0]
    target = np.broadcast_to(np.asarray(target_bits, np.float64), (n,))
    realised = np.asarray(realised_bits, np.float64).reshape(n)
    original = np.broadcast_to(np.asarray(prediction, np.float64), (n,))
    mean = samples.mean(axis=1)
    bits_ok = np.abs(realised - target) <= np.maximum(BITS_TOLERANCE_MIN, BITS_TOLERANCE * target)
    shift_ok, scale = _shift_ok(mode, mean, original, reference)
    splits = [_split(row, scale[i]) if mode == "inclusion" else (False, "") for i, row in enumerate(samples)]
    split = np.array([s for s, _ in splits], bool)
    warnings = [_messages(target[i], realised[i], mean[i], original[i], mode, bits_ok[i], shift_ok[i], splits[i][1])
                for i in range(n)]
    return Faithfulness(bits_ok=bits_ok, shift=mean - original, shift_ok=shift_ok, split=split,
                        faithful=bits_ok & shift_ok & ~split, warnings=warnings,
                        reference=(float(reference[0]), float(reference[1])))


def calibration_warning(card) -> str:
    """A plain warning when a scrambler's card says it does not follow the requested budgets ("" if it does).

    Reads ``metrics_held_out["bits_tracking_requested_vs_realised"]`` ({requested: realised} on held-out
    sequences, written when a user scrambler is trained); a request is missed by the budget check's
    tolerance (``max(0.05, 25 %)``).

    Parameters
    ----------
    card : dict or ModelCard

    Returns
    -------
    str
    """
    metrics = (card.get("metrics_held_out") if hasattr(card, "get") else None) or {}
    tracking = metrics.get("bits_tracking_requested_vs_realised") or {}
    missed = {float(k): float(v) for k, v in tracking.items()
              if abs(float(v) - float(k)) > max(BITS_TOLERANCE_MIN, BITS_TOLERANCE * float(k))}
    if not missed:
        return ""
    pairs = ", ".join(f"{k:g} → {v:.2f}" for k, v in sorted(missed.items()))
    return (f"This scrambler does not follow the budget you ask for (requested → realised bits on held-out "
            f"sequences: {pairs}). Its explanations at those budgets are not faithful: train it longer or on "
            "more sequences, or read its logos at the bits it realises.")
