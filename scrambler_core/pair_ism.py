"""In-silico mutagenesis of a pair predictor: every single-residue substitution of both chains.

A pair predictor (:class:`scrambler_core.predictors.base.PairPredictor`, e.g. the coiled-coil binder
``ppi``) scores two sequences together. :func:`pair_ism` substitutes every letter of each chain in
turn, keeps the other chain as it is, and reports the change in the logit of the predicted
probability. All mutants go through the predictor in one batched call.

>>> import scrambler_core as sc
>>> from scrambler_core.pair_ism import pair_ism
>>> pred = sc.load_predictor("ppi")
>>> ism_a, ism_b = pair_ism(pred, "SEKELLELLKRNLDLL", "SIEEIVEEHIRISEDH")
>>> ism_a.shape, ism_b.shape
((16, 19), (16, 19))
"""
from __future__ import annotations

import numpy as np

from .predictors.base import BasePredictor

PROBABILITY_CLIP = 1e-7   # probabilities are clipped to [clip, 1 - clip] before the logit


def logit(probability) -> np.ndarray:
    """log(p / (1 - p)) in float64, with p clipped to [1e-7, 1 - 1e-7] so that it stays finite."""
    p = np.clip(np.asarray(probability, np.float64), PROBABILITY_CLIP, 1.0 - PROBABILITY_CLIP)
    return np.log(p) - np.log1p(-p)


def pair_mutants(onehot_a: np.ndarray, onehot_b: np.ndarray, length_a: int, length_b: int, size: int):
    """The reference pair followed by every single-letter substitution of chain a, then of chain b.

    Parameters
    ----------
    onehot_a, onehot_b : np.ndarray (L, C)
        One-hot chains as the predictor encodes them (zero rows after each chain's end).
    length_a, length_b : int
        Residues of each chain.
    size : int
        Letters of the alphabet (the first ``size`` channels).

    Returns
    -------
    batch_a, batch_b : np.ndarray (1 + (length_a + length_b) * (size - 1), L, C)
        Row 0 is the reference pair; then chain a's substitutions position by position, letters
        in alphabet order skipping the reference letter; then chain b's.
    """
    n_a, n_b = length_a * (size - 1), length_b * (size - 1)
    batch_a = np.repeat(onehot_a[None], 1 + n_a + n_b, axis=0)
    batch_b = np.repeat(onehot_b[None], 1 + n_a + n_b, axis=0)
    row = 1
    for batch, onehot, length in ((batch_a, onehot_a, length_a), (batch_b, onehot_b, length_b)):
        for position in range(length):
            reference = int(np.argmax(onehot[position, :size]))
            for letter in range(size):
                if letter == reference:
                    continue
                batch[row, position, :] = 0.0
                batch[row, position, letter] = 1.0
                row += 1
    return batch_a, batch_b


def pair_ism(predictor, seq_a: str, seq_b: str):
    """Change in the logit of a pair predictor's probability for every single-residue substitution.

    Parameters
    ----------
    predictor : PairPredictor
        A two-input predictor with a probability output (``predictor.is_pair``); it must offer
        ``encode(sequences, which)`` and ``predict((onehot_a, onehot_b))``.
    seq_a, seq_b : str
        The two chains (validated by the predictor: letters and lengths).

    Returns
    -------
    ism_a : np.ndarray (La, A) float64
        ``logit(p(mutant)) - logit(p(reference))`` for substituting letter ``j`` at position ``i``
        of chain a (chain b unchanged); 0 on the reference letter.
    ism_b : np.ndarray (Lb, A) float64
        The same for chain b (chain a unchanged).

    Raises
    ------
    SequenceError
        When a chain has a letter outside the predictor's alphabet or a length it does not take.

    Notes
    -----
    The reference and the ``(La + Lb)(A - 1)`` mutants go through ``predictor.predict`` in one call.
    The probability is clipped to [1e-7, 1 - 1e-7] before the logit, so a saturated output gives a
    large but finite change.
    """
    if not (isinstance(predictor, BasePredictor) and predictor.is_pair):
        raise TypeError(f"pair_ism needs a pair predictor; {getattr(predictor, 'name', predictor)!r} reads one "
                        "sequence (use scrambler_core.attribute(..., method='ism'))")
    onehot_a, lengths_a = predictor.encode([seq_a], "a")
    onehot_b, lengths_b = predictor.encode([seq_b], "b")
    length_a, length_b = int(lengths_a[0]), int(lengths_b[0])
    size = predictor.alphabet.size
    batch_a, batch_b = pair_mutants(onehot_a[0], onehot_b[0], length_a, length_b, size)
    logits = logit(predictor.predict((batch_a, batch_b)))
    changes = logits[1:] - logits[0]
    n_a = length_a * (size - 1)
    return (_fill(changes[:n_a], onehot_a[0], length_a, size),
            _fill(changes[n_a:], onehot_b[0], length_b, size))


def _fill(changes: np.ndarray, onehot: np.ndarray, length: int, size: int) -> np.ndarray:
    """(length, size) matrix from the substitutions in :func:`pair_mutants` order, 0 on the reference letter."""
    out = np.zeros((length, size), np.float64)
    reference = np.argmax(onehot[:length, :size], axis=1)
    mask = np.ones((length, size), bool)
    mask[np.arange(length), reference] = False
    out[mask] = changes           # row-major order: position by position, letters in alphabet order
    return out
