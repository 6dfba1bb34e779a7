"""The :class:`Explanation` a scrambler returns: arrays, a short repr, a tidy table and a plot."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..sequences import get_alphabet
from .faithfulness import Faithfulness

__all__ = ["Explanation"]


@dataclass(repr=False)
class Explanation:
    """What a scrambler says about a batch of sequences.

    Attributes
    ----------
    importance : np.ndarray (N, L) — scores s >= 0 (occlusion: large = randomised)
    pwm : np.ndarray (N, L, A) — rows sum to 1
    samples : np.ndarray (N, S, L, A) — hard one-hot samples from ``pwm``
    sample_predictions : np.ndarray (N, S)
    prediction : np.ndarray (N,) — prediction on the original sequence
    conservation : np.ndarray (N,) — realised mean bits over free positions
    per_position_bits : np.ndarray (N, L)
    target_bits : float
    mode : str
    sequences : list of str (pairs: list of (seq_a, seq_b))
    drop : np.ndarray (N, L) or None — the drop mask used (1 = usable, 0 = dropped)
    fixed : np.ndarray (L,) bool — positions fixed by the template (drawn black in logos)
    chain_length : int — pairs: Lmax, the length of each half (chain a = ``[:, :Lmax]``); 0 otherwise
    faithfulness : Faithfulness or None — the checks of each explanation (budget reached, prediction kept,
        samples not split in two; see :mod:`scrambler_core.scrambler.faithfulness`)
    predictor : str — the name of the predictor explained
    info : dict — how it was made when not by the network's one pass (per-example optimisation:
        ``steps``, ``predictor_calls_per_sequence``, ``seconds``; see :mod:`scrambler_core.refine`)

    Examples
    --------
    >>> ex = scrambler.explain(seqs, target_bits=0.5)
    >>> ex                      # Explanation(3 sequences x 50 positions, predictor 'utr5', inclusion, ...)
    >>> ex.to_frame().head()    # one row per sequence and position
    >>> fig = ex.plot(0)        # PWM and importance logos of the first sequence
    """

    importance: np.ndarray
    pwm: np.ndarray
    samples: np.ndarray
    sample_predictions: np.ndarray
    prediction: np.ndarray
    conservation: np.ndarray
    per_position_bits: np.ndarray
    target_bits: float
    mode: str
    sequences: list = field(default_factory=list)
    alphabet: str = "dna"
    drop: np.ndarray | None = None
    chain_length: int = 0
    fixed: np.ndarray | None = None
    faithfulness: Faithfulness | None = None
    predictor: str = ""
    info: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        n, length = self.importance.shape[:2]
        bits = np.asarray(self.conservation, dtype=float)
        spread = f" ({bits.min():.2f}-{bits.max():.2f})" if n > 1 else ""
        faithful = "" if self.faithfulness is None else \
            f", faithful {int(np.sum(self.faithfulness.faithful))}/{n}"
        return (f"Explanation({n} {'pair' if self.chain_length else 'sequence'}{'s' if n != 1 else ''} x "
                f"{length} positions, predictor {self.predictor or '?'!r}, {self.mode}, target "
                f"{self.target_bits:g} bits, realised {bits.mean():.2f} bits{spread}, "
                f"{self.samples.shape[1]} samples{faithful})")

    def chains(self, array) -> tuple:
        """Split a per-position array of a pair explanation (e.g. ``importance``) into chain a and chain b.

        Parameters
        ----------
        array : np.ndarray (N, 2 Lmax, ...)

        Returns
        -------
        (np.ndarray (N, Lmax, ...), np.ndarray (N, Lmax, ...))
        """
        if not self.chain_length:
            raise ValueError("not a pair explanation")
        return array[:, :self.chain_length], array[:, self.chain_length:]

    @property
    def mean_sample_prediction(self) -> np.ndarray:
        """Mean prediction over the samples, shape (N,)."""
        return self.sample_predictions.mean(axis=1)

    def _letters_at(self) -> np.ndarray:
        """The observed letter at every position, (N, L) of str ('' where a pair chain is padded)."""
        n, length = self.importance.shape[:2]
        out = np.full((n, length), "", dtype=object)
        for k, seq in enumerate(self.sequences[:n]):
            parts = [(seq[0], 0), (seq[1], self.chain_length)] if isinstance(seq, tuple) else [(seq, 0)]
            for text, offset in parts:
                chars = list(text)[:length - offset]
                out[k, offset:offset + len(chars)] = chars
        return out

    def to_frame(self):
        """A tidy table: one row per sequence and position (pandas DataFrame).

        Returns
        -------
        pandas.DataFrame, N * L rows
            ``sequence_index`` (0-based), ``position`` (1-based), ``letter`` (observed), ``importance``,
            ``bits`` (information content of the PWM there), ``pwm_<letter>`` per letter, and the
            sequence's ``prediction``, ``mean_sample_prediction``, ``realised_bits``, ``target_bits``,
            ``mode``, ``predictor`` and ``faithful`` repeated on its rows.
        """
        import pandas as pd
        n, length = self.importance.shape[:2]
        letters = get_alphabet(self.alphabet).letters
        frame = pd.DataFrame({
            "sequence_index": np.repeat(np.arange(n), length), "position": np.tile(np.arange(1, length + 1), n),
            "letter": self._letters_at().reshape(-1), "importance": self.importance.reshape(-1),
            "bits": self.per_position_bits.reshape(-1)})
        for k, letter in enumerate(letters):
            frame[f"pwm_{letter}"] = self.pwm[..., k].reshape(-1)
        per_sequence = {"prediction": self.prediction, "mean_sample_prediction": self.mean_sample_prediction,
                        "realised_bits": self.conservation}
        for name, values in per_sequence.items():
            frame[name] = np.repeat(np.asarray(values, dtype=float), length)
        frame["target_bits"], frame["mode"], frame["predictor"] = float(self.target_bits), self.mode, self.predictor
        if self.faithfulness is not None:
            frame["faithful"] = np.repeat(np.asarray(self.faithfulness.faithful, bool), length)
        return frame

    def plot(self, index=0, figsize=None):
        """The PWM logo (bits) above the importance logo of sequence ``index`` (matplotlib).

        Parameters
        ----------
        index : int — which sequence, 0-based
        figsize : (float, float), optional — default scales with L

        Returns
        -------
        matplotlib.figure.Figure — two axes; the first title names the predictor, mode and bits
        """
        import matplotlib.pyplot as plt

        from ..plot import importance_logo, logo_figsize, pwm_logo
        n = len(self.importance)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for {n} explained sequences")
        index %= n
        fixed = None if self.fixed is None else np.asarray(self.fixed)
        fig, (top, bottom) = plt.subplots(2, 1, figsize=figsize or logo_figsize(self.importance.shape[1], rows=2),
                                          sharex=True)
        title = (f"{self.predictor or 'predictor'} · {self.mode} · target {self.target_bits:g} bits · realised "
                 f"{float(self.conservation[index]):.2f} bits")
        pwm_logo(self.pwm[index], self.alphabet, ax=top, title=title, fixed=fixed)
        sequence = "".join(c or "-" for c in self._letters_at()[index])
        importance_logo(self.importance[index], sequence, self.alphabet, ax=bottom, fixed=fixed)
        fig.tight_layout()
        return fig

    def sample_sequences(self, index=0) -> list[str]:
        """The samples of sequence ``index`` as strings."""
        letters = np.array(list(get_alphabet(self.alphabet).letters))
        if self.chain_length:
            out = []
            for row in self.samples[index]:
                chars = np.where(row.sum(-1) > 0, letters[row.argmax(-1)], "")
                out.append("".join(chars[:self.chain_length]) + "/" + "".join(chars[self.chain_length:]))
            return out
        return ["".join(row) for row in letters[self.samples[index].argmax(-1)]]
