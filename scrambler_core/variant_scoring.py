"""Many reference/alternative pairs at once: :func:`score_variants` (one table, batched model calls).

:func:`scrambler_core.variants.score_variant` explains one pair in depth (ISM map, logits, isoforms);
:func:`score_variants` is its notebook-sized sibling for thousands of pairs: predictions of both
alleles and, with a scrambler, the importance of each in one batched call. Column names follow the
scheme of batch results (``delta_prediction``, ``scrambler_0.5_ref_importance``; see docs/cli.md).
"""
from __future__ import annotations

import numpy as np

from .sequences import SequenceError, validate_sequence

__all__ = ["score_variants"]


def _pairs_from(pairs):
    """(ids, refs, alts) from a DataFrame (``ref_sequence``/``alt_sequence`` or ``ref``/``alt``) or pairs."""
    if hasattr(pairs, "columns"):
        names = next(((r, a) for r, a in (("ref_sequence", "alt_sequence"), ("ref", "alt"))
                      if r in pairs.columns and a in pairs.columns), None)
        if names is None:
            raise SequenceError("the table needs columns ref_sequence and alt_sequence (or ref and alt); it has "
                                f"{', '.join(map(str, list(pairs.columns)[:8]))}")
        ids = pairs["id"].astype(str).tolist() if "id" in pairs.columns else [str(i) for i in pairs.index]
        return ids, pairs[names[0]].tolist(), pairs[names[1]].tolist()
    pairs = list(pairs)
    for k, pair in enumerate(pairs):
        if isinstance(pair, str) or len(pair) != 2:
            raise SequenceError(f"pair {k}: expected (reference, alternative), got {str(pair)[:40]!r}")
    return [str(k) for k in range(len(pairs))], [p[0] for p in pairs], [p[1] for p in pairs]


def _checked(ids, refs, alts, predictor):
    """Validated sequences; the first bad one raises SequenceError naming its pair."""
    from .variants import diff_sequences, format_variants
    clean_refs, clean_alts, changes = [], [], []
    for pid, ref, alt in zip(ids, refs, alts):
        try:
            ref = validate_sequence(ref, predictor.alphabet, length=predictor.sequence_length, name="reference")
            alt = validate_sequence(alt, predictor.alphabet, length=predictor.sequence_length, name="alternative")
            changes.append(format_variants(diff_sequences(ref, alt, predictor.alphabet)))
        except SequenceError as err:
            raise SequenceError(f"pair {pid}: {err}") from None
        clean_refs.append(ref)
        clean_alts.append(alt)
    return clean_refs, clean_alts, changes


def score_variants(predictor, pairs, *, scrambler=None, target_bits=None, batch_size=256, progress=False):
    """Predict and explain many reference/alternative pairs (a pandas table, one row per pair).

    Parameters
    ----------
    predictor : Predictor or keras.Model (one input (N, L, A))
    pairs : list of (ref, alt) strings, or a DataFrame with ``ref_sequence``/``alt_sequence`` (or
        ``ref``/``alt``) and optionally ``id``
    scrambler : Scrambler, optional — adds the importance of both alleles and their difference
    target_bits : float, optional — the scrambler's budget (its default when None)
    batch_size : int — pairs per model call
    progress : bool — a ``tqdm.auto`` bar (a widget in notebooks)

    Returns
    -------
    pandas.DataFrame, N rows
        ``id``, ``ref_sequence``, ``alt_sequence``, ``variants`` (e.g. ``"12A>G"``, 1-based, as :func:`~scrambler_core.variants.parse_variants` reads), ``ref_prediction``,
        ``alt_prediction``, ``delta_prediction``; with a scrambler ``scrambler_<bits>_ref_importance``,
        ``..._alt_importance``, ``..._delta_importance`` (arrays of length L).

    Raises
    ------
    SequenceError — a sequence of the wrong letters or length, or identical alleles (names the pair)
    """
    import pandas as pd
    from tqdm.auto import tqdm

    from .predictors.registry import as_predictor
    from .tables import method_label
    from .variants import _check_scrambler
    predictor = as_predictor(predictor)
    ids, refs, alts = _pairs_from(pairs)
    refs, alts, changes = _checked(ids, refs, alts, predictor)
    if scrambler is not None:
        _check_scrambler(scrambler, predictor)
        target_bits = scrambler._check_bits(target_bits)
    predictions, importance = [], []
    for start in tqdm(range(0, len(refs), batch_size), desc="variants", unit="batch", disable=not progress):
        chunk = refs[start:start + batch_size] + alts[start:start + batch_size]
        predictions.append(predictor.predict(chunk, batch_size=batch_size).reshape(2, -1))
        if scrambler is not None:
            importance.append(np.asarray(scrambler.scores(chunk, target_bits=target_bits)).reshape(
                2, -1, predictor.sequence_length))
    values = np.concatenate(predictions, axis=1) if predictions else np.zeros((2, 0))
    frame = pd.DataFrame({"id": ids, "ref_sequence": refs, "alt_sequence": alts, "variants": changes,
                          "ref_prediction": values[0], "alt_prediction": values[1],
                          "delta_prediction": values[1] - values[0]})
    if scrambler is not None:
        scores = np.concatenate(importance, axis=1).astype(np.float32)
        label = method_label("scrambler", target_bits)
        frame[f"{label}_ref_importance"] = list(scores[0])
        frame[f"{label}_alt_importance"] = list(scores[1])
        frame[f"{label}_delta_importance"] = list(scores[1] - scores[0])
    return frame
