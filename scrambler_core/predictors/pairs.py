"""Two-input (pair) predictors seen as one sequence: chain a then chain b along the length axis.

A scrambler, the attribution methods and the benchmarks all work on one-hot arrays
``(N, L, A)``. :class:`ConcatenatedPair` wraps a pair predictor (``predictor.is_pair``:
``predict([(seq_a, seq_b), ...])``) so that a pair is one array ``(N, 2 Lmax, A)``:
positions ``0 .. Lmax-1`` are chain a, ``Lmax .. 2 Lmax-1`` chain b, each zero-padded
(all-zero rows) after its last residue (method §10). A **siamese** scrambler applies one
network to each half; a **joint** scrambler sees the whole concatenation.
"""
from __future__ import annotations

import numpy as np

from .. import runtime  # noqa: F401
import keras
import tensorflow as tf

from ..sequences import SequenceError
from .base import BasePredictor

ARCHITECTURES = ("siamese", "joint")


class ConcatenatedPair(BasePredictor):
    """A pair predictor as a single-input predictor of the concatenated chains.

    Parameters
    ----------
    predictor : PairPredictor — ``predictor.is_pair``; ``model`` takes ``[(N, Lmax, C), (N, Lmax, C)]``

    Attributes
    ----------
    chain_length : int — Lmax
    sequence_length : int — 2 Lmax
    model : keras.Model — ``(N, 2 Lmax, A) -> (N, 1)`` probability
    """

    is_pair = False          # it takes one array; ``pair`` is the wrapped two-input predictor
    is_concatenated_pair = True
    output_kind = "sigmoid"

    def __init__(self, predictor):
        if not predictor.is_pair:
            raise ValueError(f"{predictor!r} is not a pair predictor")
        self.pair = predictor
        self.name = predictor.name
        self.alphabet = predictor.alphabet
        self.chain_length = int(predictor.max_length)
        self.sequence_length = 2 * self.chain_length
        self.card = predictor.card
        self.path = predictor.path
        self.description = getattr(predictor, "description", "")
        size, channels, length = self.alphabet.size, predictor.channels, self.chain_length
        inputs = keras.Input((self.sequence_length, size), name="pair_onehot")

        def split(x):
            a, b = x[:, :length], x[:, length:]
            if channels > size:
                pad = [[0, 0], [0, 0], [0, channels - size]]
                a, b = tf.pad(a, pad), tf.pad(b, pad)
            return a, b

        a = keras.layers.Lambda(lambda x: split(x)[0], name="chain_a")(inputs)
        b = keras.layers.Lambda(lambda x: split(x)[1], name="chain_b")(inputs)
        self.model = keras.Model(inputs, predictor.model([a, b]), name=f"{predictor.name}_concatenated")
        self._predict_fn = None
        self._logit_model = None

    def __repr__(self):
        return f"ConcatenatedPair({self.pair!r})"

    # ------------------------------------------------------------------ encoding
    def to_onehot(self, pairs, allow_n=False, background=None) -> np.ndarray:
        """Pairs (or an already concatenated array) as one array.

        Parameters
        ----------
        pairs : (str, str), list of (str, str), or np.ndarray (N, 2 Lmax, A)

        Returns
        -------
        np.ndarray (N, 2 Lmax, A) float32 — chain a, padding, chain b, padding
        """
        if isinstance(pairs, np.ndarray):
            if pairs.ndim != 3 or pairs.shape[1:] != (self.sequence_length, self.alphabet.size):
                raise SequenceError(f"expected an array of shape (N, {self.sequence_length}, "
                                    f"{self.alphabet.size}), got {pairs.shape}")
            return pairs.astype(np.float32)
        a, b = self.pair.to_onehot(pairs)
        size = self.alphabet.size
        return np.concatenate([a[..., :size], b[..., :size]], axis=1).astype(np.float32)

    def split(self, array):
        """Chain a and chain b halves of a concatenated array ``(N, 2 Lmax, ...)``."""
        return array[:, :self.chain_length], array[:, self.chain_length:]

    def lengths(self, x) -> np.ndarray:
        """Residues per chain, shape (N, 2): counts of non-zero rows in each half."""
        present = np.asarray(x).sum(-1) > 0
        a, b = self.split(present)
        return np.stack([a.sum(1), b.sum(1)], axis=1)

    def sequences(self, x) -> list[tuple[str, str]]:
        """Decode a concatenated array back to ``(seq_a, seq_b)`` pairs (padding dropped)."""
        letters = np.array(list(self.alphabet.letters))
        out = []
        for row in np.asarray(x):
            present = row.sum(-1) > 0
            chars = np.where(present, letters[row.argmax(-1)], "")
            out.append(("".join(chars[:self.chain_length]), "".join(chars[self.chain_length:])))
        return out

    # ------------------------------------------------------------------ outputs
    def output_tensor(self, x, logits=False):
        """Probability (or logit) (N,) inside TensorFlow graphs."""
        y = tf.reshape(self.model(x, training=False), [-1])
        if logits:
            y = tf.clip_by_value(y, 1e-7, 1 - 1e-7)
            return tf.math.log(y) - tf.math.log(1 - y)
        return y

    def predict(self, pairs, batch_size=512, logits=False) -> np.ndarray:
        """Binding probability (or logit) per pair, shape (N,)."""
        x = self.to_onehot(pairs)
        if self._predict_fn is None:
            self._predict_fn = tf.function(self.output_tensor, reduce_retracing=True)
        out = [self._predict_fn(tf.constant(x[i:i + batch_size]), logits).numpy()
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out).astype(np.float32)

    def predict_logit(self, pairs, batch_size=512) -> np.ndarray:
        """Logit of the binding probability, shape (N,)."""
        return self.predict(pairs, batch_size=batch_size, logits=True)

    @property
    def logit_model(self):
        """Keras model ``(N, 2 Lmax, A) -> (N, 1)`` logit (for DeepLIFT-style methods)."""
        if self._logit_model is None:
            inputs = keras.Input((self.sequence_length, self.alphabet.size))
            p = keras.ops.clip(self.model(inputs), 1e-7, 1 - 1e-7)
            self._logit_model = keras.Model(inputs, keras.ops.log(p) - keras.ops.log(1 - p))
        return self._logit_model


def as_single_input(predictor):
    """A pair predictor wrapped as :class:`ConcatenatedPair`; any other predictor unchanged."""
    if predictor.is_pair:
        cache = predictor.__dict__
        if "_concatenated" not in cache:
            cache["_concatenated"] = ConcatenatedPair(predictor)
        return cache["_concatenated"]
    return predictor
