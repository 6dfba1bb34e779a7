"""Example inputs for the built-in predictors, with the grammar's true elements.

Each example is a sequence drawn from the synthetic grammar that trained the
predictor (``synthetic.py``), so the positions that truly matter are known and
the app can show them beside the scrambler's answer (the guided example).

>>> from scrambler_core import examples
>>> first = examples.examples("utr5")[0]
>>> first.label, len(first.sequence), first.important.sum()
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import synthetic


@dataclass(frozen=True)
class Example:
    """One example input.

    Attributes
    ----------
    label : str
        Short name shown in a list.
    sequence : str
    important : np.ndarray, shape (L,), bool
        Positions the grammar's true value depends on.
    description : str
        One sentence naming the true elements with 1-based positions.
    """

    label: str
    sequence: str
    important: np.ndarray
    description: str


def _span(start: int, width: int) -> str:
    return f"{start + 1}–{start + width}"


def _utr5_example(label: str, sequence: str) -> Example:
    truth = synthetic.utr5_truth(sequence)
    starts, stops = truth.features.get("uaug", []), truth.features.get("stop", [])
    parts = []
    if starts:
        parts.append("upstream ATG at " + ", ".join(_span(s, 3) for s in starts))
    if stops:
        parts.append("in-frame stop at " + ", ".join(_span(s, 3) for s in stops))
    what = " and ".join(parts) if parts else "no upstream ATG, so nothing holds ribosomes back"
    return Example(label, sequence, truth.important,
                   f"{what}; the grammar's mean ribosome load is {truth.value:.2f}.")


def _polya_example(label: str, sequence: str) -> Example:
    truth = synthetic.polya_truth(sequence)
    f = truth.features
    parts = []
    if f.get("pas") is not None:
        parts.append(f"polyadenylation signal {sequence[f['pas']:f['pas'] + 6]} at {_span(f['pas'], 6)}")
    if f.get("use"):
        parts.append("upstream TGTA elements at " + ", ".join(_span(s, 4) for s in f["use"][:3]))
    if f.get("dse"):
        parts.append("downstream GU/U-rich elements at " + ", ".join(_span(s, 4) for s in f["dse"][:4]))
    if f.get("repressor"):
        parts.append("repressive C/G runs at " + ", ".join(_span(s, 4) for s in f["repressor"]))
    if f.get("upstream_pas"):
        parts.append("a competing upstream AATAAA at " + ", ".join(_span(s, 6) for s in f["upstream_pas"]))
    return Example(label, sequence, truth.important,
                   "; ".join(parts) + f"; the grammar's proximal isoform proportion is {truth.value:.2f}.")


def examples(predictor_name: str) -> list[Example]:
    """Examples for a built-in predictor (empty list for any other name).

    Parameters
    ----------
    predictor_name : str
        ``"utr5"`` or ``"polya"``.

    Returns
    -------
    list of Example
        Deterministic: the same sequences on every call.
    """
    if predictor_name == "utr5":
        one = synthetic.generate_uorf_set(1, 1, 1, seed=3)[0][0]
        two = synthetic.generate_uorf_set(1, 2, 2, seed=5)[0][0]
        rng = np.random.default_rng(7)
        clean = synthetic._clean_background(synthetic.UTR5_LENGTH, rng)
        return [_utr5_example("uORF: one upstream ATG and an in-frame stop", one),
                _utr5_example("two upstream ATGs", two),
                _utr5_example("no upstream ATG", clean)]
    if predictor_name == "polya":
        seqs = synthetic.generate_polya_training(5, seed=3)
        return [_polya_example("strong signal with USE and DSE elements", seqs[0]),
                _polya_example("signal with three repressive C/G runs", seqs[1]),
                _polya_example("signal competing with an upstream AATAAA", seqs[2])]
    return []
