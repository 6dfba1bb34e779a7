"""One sequence explained over a grid of information budgets: what the live bits slider shows.

:meth:`Scrambler.explain_bits_grid` fills a :class:`BitsSweep` with one batched call of a
bits-conditioned scrambler; the app sends every frame to the browser at once, so moving the
slider needs no server round trip.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# the live slider's budgets (bits per position): 24 values, denser at the low end where the
# explanation changes fastest; every value the app's step-0.05 slider can reach from 0.05 to 0.5
# is here, and the link's bits snap to the nearest one
BITS_GRID = np.array([0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
                      1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.85, 2.0])


def bits_grid(network) -> np.ndarray:
    """The budgets a scrambler network can serve: :data:`BITS_GRID` within its bits range.

    Parameters
    ----------
    network : ScramblerModel

    Returns
    -------
    np.ndarray (T,) float64 — a fixed-target network gives its one target
    """
    if not network.bits_conditioned:
        return np.array([float(network.target_bits)])
    low, high = network.bits_range
    inside = BITS_GRID[(BITS_GRID >= low - 1e-9) & (BITS_GRID <= high + 1e-9)]
    return inside if inside.size else np.array([float(low)])


@dataclass
class BitsSweep:
    """One sequence explained at T budgets (rows are budgets, in the order of ``target_bits``).

    Attributes
    ----------
    target_bits : np.ndarray (T,) — requested budgets
    importance : np.ndarray (T, L)
    pwm : np.ndarray (T, L, A)
    sample_predictions : np.ndarray (T, S)
    prediction : float — the predictor's output on the sequence
    conservation : np.ndarray (T,) — realised mean bits
    mode : str
    sequence : str
    alphabet : str
    fixed : np.ndarray (L,) bool — template positions
    drop : np.ndarray (L,) or None — the mask-dropout mask used (1 usable, 0 dropped)
    output_reference : (float, float) — mean and sd of the predictor's outputs on random sequences (the
        faithfulness checks' reference)
    """

    target_bits: np.ndarray
    importance: np.ndarray
    pwm: np.ndarray
    sample_predictions: np.ndarray
    prediction: float
    conservation: np.ndarray
    mode: str
    sequence: str
    alphabet: str = "dna"
    fixed: np.ndarray | None = None
    drop: np.ndarray | None = None
    output_reference: tuple = (0.0, 1.0)

    def faithfulness(self):
        """The faithfulness checks of every budget (:func:`check_faithfulness`), one row per budget."""
        from .faithfulness import check_faithfulness

        return check_faithfulness(self.target_bits, self.conservation, self.sample_predictions, self.prediction,
                                  self.mode, self.output_reference)

    def __repr__(self):
        return (f"BitsSweep({self.mode}, {len(self.target_bits)} budgets {self.target_bits.min():g}-"
                f"{self.target_bits.max():g} bits, L={self.importance.shape[1]}, "
                f"S={self.sample_predictions.shape[1]}, prediction={self.prediction:.4g})")

    @property
    def mean_sample_prediction(self) -> np.ndarray:
        """(T,) mean prediction of each budget's samples."""
        return self.sample_predictions.mean(axis=1)

    def nearest(self, target_bits: float) -> int:
        """Index of the budget closest to ``target_bits``."""
        return int(np.argmin(np.abs(self.target_bits - float(target_bits))))

    def subset(self, indices) -> "BitsSweep":
        """The sweep at some of its budgets (``indices`` into ``target_bits``, kept in that order)."""
        k = np.atleast_1d(np.asarray(indices, int))
        return BitsSweep(target_bits=self.target_bits[k], importance=self.importance[k], pwm=self.pwm[k],
                         sample_predictions=self.sample_predictions[k], prediction=self.prediction,
                         conservation=self.conservation[k], mode=self.mode, sequence=self.sequence,
                         alphabet=self.alphabet, fixed=self.fixed, drop=self.drop,
                         output_reference=self.output_reference)

    def with_explanation(self, explanation, row: int = 0) -> "BitsSweep":
        """This sweep with the budget of one explained sequence put in (replacing an equal budget).

        Parameters
        ----------
        explanation : Explanation — of the same sequence, scrambler and sample count
        row : int — which of its sequences

        Returns
        -------
        BitsSweep — T or T + 1 budgets, sorted
        """
        bits = float(explanation.target_bits)
        if explanation.sequences and explanation.sequences[row] != self.sequence:
            raise ValueError("the explanation is of another sequence than the sweep")
        keep = np.abs(self.target_bits - bits) > 1e-9
        target = np.concatenate([self.target_bits[keep], [bits]])
        order = np.argsort(target, kind="stable")

        def joined(mine, theirs):
            return np.concatenate([mine[keep], theirs[row:row + 1]])[order]

        return BitsSweep(target_bits=target[order], importance=joined(self.importance, explanation.importance),
                         pwm=joined(self.pwm, explanation.pwm),
                         sample_predictions=joined(self.sample_predictions, explanation.sample_predictions),
                         prediction=self.prediction, conservation=joined(self.conservation, explanation.conservation),
                         mode=self.mode, sequence=self.sequence, alphabet=self.alphabet, fixed=self.fixed,
                         drop=self.drop, output_reference=self.output_reference)


_ARRAYS = ("target_bits", "importance", "pwm", "sample_predictions", "conservation")


def save_sweep(sweep: BitsSweep, path, metadata: dict | None = None) -> None:
    """Write a sweep (and ``metadata``, JSON-able) to ``path`` as a compressed ``.npz``, atomically."""
    import json
    import os
    from pathlib import Path

    path = Path(path)
    fields = {name: np.asarray(getattr(sweep, name), np.float32) for name in _ARRAYS}
    info = {"prediction": float(sweep.prediction), "mode": sweep.mode, "sequence": sweep.sequence,
            "alphabet": sweep.alphabet, "output_reference": list(map(float, sweep.output_reference)),
            "metadata": metadata or {}}
    fields["fixed"] = np.zeros(len(sweep.sequence), bool) if sweep.fixed is None else np.asarray(sweep.fixed, bool)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, info=np.array(json.dumps(info)), **fields)
    os.replace(tmp, path)


def load_sweep(path) -> tuple[BitsSweep, dict]:
    """Read a sweep written by :func:`save_sweep`: (BitsSweep, metadata)."""
    import json

    with np.load(path, allow_pickle=False) as data:
        info = json.loads(str(data["info"]))
        arrays = {name: data[name].astype(np.float64 if name == "target_bits" else np.float32) for name in _ARRAYS}
        fixed = data["fixed"].astype(bool)
    sweep = BitsSweep(prediction=info["prediction"], mode=info["mode"], sequence=info["sequence"],
                      alphabet=info["alphabet"], fixed=fixed, output_reference=tuple(info["output_reference"]),
                      **arrays)
    return sweep, info["metadata"]
