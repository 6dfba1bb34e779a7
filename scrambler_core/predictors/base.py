"""Predictor kinds: one interface over frozen Keras models of one sequence or of a pair of sequences.

Also the model-file checks every loader shares (``load_keras_model``, ``ModelFileError``).
"""
from __future__ import annotations

import abc
from pathlib import Path

import numpy as np

from .. import runtime  # noqa: F401  (sets TensorFlow threading / logging before import)
import keras
import tensorflow as tf

from ..sequences import Alphabet, SequenceError, get_alphabet, one_hot, validate_sequence

OUTPUT_KINDS = ("sigmoid", "softmax", "regression")


class ModelFileError(ValueError):
    """A model file that cannot be used: missing, unreadable, unsafe or of the wrong shape."""


class BasePredictor(abc.ABC):
    """What every predictor is: a frozen Keras model with a scalar output per input.

    Attributes
    ----------
    is_pair : bool
        True when ``predict`` reads pairs of sequences (a model with two inputs, :class:`PairPredictor`).
    is_concatenated_pair : bool
        True for a pair predictor seen as one array, chain a then chain b
        (:class:`~scrambler_core.predictors.pairs.ConcatenatedPair`).
    name : str
    alphabet : Alphabet
    output_kind : {"sigmoid", "softmax", "regression"}
    sequence_length : int or None
        L of the one-hot input (N, L, A); for pairs, the longest chain.
    card : ModelCard or dict
        Model card (data, seed, metrics, source; :class:`scrambler_core.cards.ModelCard` for built-in and
        published models).
    description : str
    path : str or None
        The weights file.
    """

    is_pair = False
    is_concatenated_pair = False

    @abc.abstractmethod
    def to_onehot(self, inputs, *args, **kwargs):
        """Validate sequences (or pairs) and encode them one-hot."""

    @abc.abstractmethod
    def output_tensor(self, *inputs, **kwargs):
        """Scalar output (N,) for one-hot input, inside TensorFlow graphs."""

    @abc.abstractmethod
    def predict(self, inputs, batch_size=512):
        """Scalar output for sequences (or pairs), np.ndarray of shape (N,)."""


class Predictor(BasePredictor):
    """A frozen sequence model with a scalar output.

    Parameters
    ----------
    model : keras.Model
        Takes one-hot input of shape (N, L, A).
    name : str
    alphabet : str or Alphabet
        ``"dna"``, ``"rna"`` or ``"protein"``.
    output_kind : {"sigmoid", "softmax", "regression"}
    output_index : int
        For softmax models, the class whose probability ``predict`` returns.
    card : ModelCard or dict, optional
        Model card (data, seed, metrics) for built-ins.
    description : str
        One line shown to users (what the output means).

    Attributes
    ----------
    sequence_length : int
        L, from the model's input shape.
    is_pair : False
    """

    is_pair = False

    def __init__(self, model, *, name, alphabet="dna", output_kind="regression", output_index=0,
                 card=None, description="", path=None):
        if output_kind not in OUTPUT_KINDS:
            raise ValueError(f"output_kind must be one of {', '.join(OUTPUT_KINDS)}, got {output_kind!r}")
        self.model = model
        self.name = name
        self.alphabet: Alphabet = get_alphabet(alphabet)
        self.output_kind = output_kind
        self.output_index = int(output_index)
        self.card = card or {}
        self.description = description
        self.path = str(path) if path else None
        shape = model.inputs[0].shape if getattr(model, "inputs", None) else None
        if shape is None or len(shape) != 3:
            raise ModelFileError(
                f"model {name!r} must take one-hot input of shape (N, L, A); its input shape is {shape}")
        self.sequence_length = int(shape[1]) if shape[1] is not None else None
        if int(shape[2]) != self.alphabet.size:
            raise ModelFileError(
                f"model {name!r} takes {shape[2]} channels per position but the {self.alphabet.name} "
                f"alphabet has {self.alphabet.size} letters ({self.alphabet.letters})")
        self._logit_model = None
        self._predict_fn = None

    def __repr__(self):
        return (f"Predictor(name={self.name!r}, alphabet={self.alphabet.name!r}, "
                f"sequence_length={self.sequence_length}, output_kind={self.output_kind!r})")

    # ------------------------------------------------------------------ inputs
    def to_onehot(self, seqs, allow_n=False, background=None) -> np.ndarray:
        """Validate sequences (strings) or one-hot arrays and return (N, L, A) float32.

        ``N`` (``X`` for protein) is refused unless ``allow_n``; accepted ones are
        filled with ``background`` (L, A) at that position, or uniform.

        Raises
        ------
        SequenceError
            Naming the sequence, letter and position that is wrong, or the expected length.
        """
        if isinstance(seqs, np.ndarray) and seqs.ndim in (2, 3) and seqs.dtype != object:
            x = seqs[None] if seqs.ndim == 2 else seqs
            if x.shape[-1] != self.alphabet.size:
                raise SequenceError(f"one-hot input has {x.shape[-1]} channels; {self.name} expects "
                                    f"{self.alphabet.size} ({self.alphabet.letters})")
            if self.sequence_length is not None and x.shape[1] != self.sequence_length:
                raise SequenceError(f"one-hot input has length {x.shape[1]} but {self.name} expects "
                                    f"{self.sequence_length}")
            return np.asarray(x, dtype=np.float32)
        if isinstance(seqs, str):
            seqs = [seqs]
        seqs = list(seqs)
        if not seqs:
            raise SequenceError("no sequences given")
        cleaned = [validate_sequence(s, self.alphabet, length=self.sequence_length, allow_n=allow_n,
                                     name=None if len(seqs) == 1 else f"#{k + 1}")
                   for k, s in enumerate(seqs)]
        return one_hot(cleaned, self.alphabet, background=background)

    # ------------------------------------------------------------------ outputs
    def output_tensor(self, x, logits=False):
        """Scalar output of the model for a one-hot tensor, inside TensorFlow graphs.

        Parameters
        ----------
        x : tf.Tensor, shape (N, L, A)
        logits : bool
            For sigmoid models, return the pre-sigmoid logit.

        Returns
        -------
        tf.Tensor, shape (N,)
        """
        if logits and self.output_kind == "sigmoid":
            return tf.reshape(self.logit_model(x, training=False), [-1])
        y = self.model(x, training=False)
        y = tf.reshape(y, [tf.shape(y)[0], -1])
        if self.output_kind == "softmax":
            return y[:, self.output_index]
        return y[:, 0]

    def predict(self, seqs, batch_size=512, logits=False) -> np.ndarray:
        """Predict the scalar output for sequences.

        Parameters
        ----------
        seqs : str, list of str, or np.ndarray of shape (N, L, A)
        batch_size : int
        logits : bool
            Sigmoid models only: return the pre-sigmoid logit.

        Returns
        -------
        np.ndarray, shape (N,), float32
            Probability (sigmoid), class probability (softmax) or value (regression).
        """
        x = self.to_onehot(seqs)
        if self._predict_fn is None:
            self._predict_fn = tf.function(self.output_tensor, reduce_retracing=True)
        out = []
        for start in range(0, len(x), batch_size):
            chunk = x[start:start + batch_size]
            padded = _pad_batch(chunk, batch_size if len(x) > batch_size else len(chunk))
            y = self._predict_fn(tf.constant(padded), logits=bool(logits)).numpy()
            out.append(y[:len(chunk)])
        return np.concatenate(out).astype(np.float32)

    def predict_logit(self, seqs, batch_size=512) -> np.ndarray:
        """Pre-sigmoid logit of a sigmoid model, shape (N,)."""
        if self.output_kind != "sigmoid":
            raise ValueError(f"{self.name} has a {self.output_kind} output; only sigmoid models have a logit")
        return self.predict(seqs, batch_size=batch_size, logits=True)

    @property
    def logit_model(self):
        """Callable from one-hot input (N, L, A) to the pre-sigmoid logit (N, 1) (sigmoid predictors)."""
        if self.output_kind != "sigmoid":
            raise ValueError(f"{self.name} has a {self.output_kind} output; only sigmoid models have a logit")
        if self._logit_model is None:
            self._logit_model = _logit_model(self.model)
        return self._logit_model


def _pad_batch(x, size):
    if len(x) == size:
        return x
    pad = np.zeros((size - len(x),) + x.shape[1:], dtype=x.dtype)
    return np.concatenate([x, pad])


def _logit_model(model):
    """Callable returning the input of the final sigmoid, shape (N, 1).

    A final ``Activation("sigmoid")`` or ``Dense(..., activation="sigmoid")`` is
    split off exactly; any other sigmoid model is inverted numerically.
    """
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    act_name = getattr(activation, "__name__", str(activation))
    if isinstance(last, keras.layers.Activation) and "sigmoid" in act_name:
        return keras.Model(model.inputs, last.input)
    if isinstance(last, keras.layers.Dense) and "sigmoid" in act_name:
        inner = keras.Model(model.inputs, last.input)

        def dense_logit(x, training=False):
            return keras.ops.matmul(inner(x, training=training), last.kernel) + last.bias

        return dense_logit

    def inverse_sigmoid(x, training=False):
        p = keras.ops.clip(model(x, training=training), 1e-7, 1 - 1e-7)
        return keras.ops.log(p) - keras.ops.log(1 - p)

    return inverse_sigmoid


def infer_output_kind(model) -> str:
    """Guess "sigmoid", "softmax" or "regression" from the model's last layer."""
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    name = getattr(activation, "__name__", str(activation)).lower()
    units = model.outputs[0].shape[-1]
    if "sigmoid" in name:
        return "sigmoid"
    if "softmax" in name and units and units > 1:
        return "softmax"
    return "regression"


def load_keras_model(path):
    """Load a ``.keras`` file with ``safe_mode=True``; errors become ModelFileError with the reason.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    keras.Model
    """
    path = Path(path)
    if path.suffix not in (".keras", ".h5", ".hdf5"):
        raise ModelFileError(f"{path.name}: expected a .keras (or .h5) Keras model file")
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path.name}" + (" (it is a folder)" if path.is_dir() else ""))
    import zipfile
    with open(path, "rb") as handle:
        head = handle.read(8)
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path.name} is not a Keras model file: a .keras file is a zip archive and this one "
                             f"is not{' (it is empty)' if not head else ''}")
    if path.suffix in (".h5", ".hdf5") and head != b"\x89HDF\r\n\x1a\n":
        raise ModelFileError(f"{path.name} is not a Keras model file: a .h5 file is an HDF5 file and this one is not"
                             f"{' (it is empty)' if not head else ''}")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except ValueError as err:
        text = str(err)
        if "safe_mode" in text or "Lambda" in text or "lambda" in text:
            raise ModelFileError(
                f"{path.name} contains code (e.g. a Lambda layer) that would run on loading; "
                "it is refused for safety (Keras safe_mode)") from None
        raise ModelFileError(f"{path.name} could not be loaded as a Keras model: {text.splitlines()[0]}") from None
    except TypeError as err:
        raise ModelFileError(f"{path.name} needs custom code that is not available here "
                             f"({str(err).splitlines()[0]})") from None
    except Exception as err:  # zip/HDF5 corruption and similar
        raise ModelFileError(f"{path.name} is not a readable Keras model file "
                             f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no detail'})") from None


class PairPredictor(BasePredictor):
    """A frozen two-input model with a scalar output (probability that two sequences interact).

    Sequences of varying length are left-aligned and padded to ``max_length`` with all-zero rows.

    Parameters
    ----------
    model : keras.Model — inputs [(N, L, C), (N, L, C)] with C >= A (extra channels are left zero)
    name : str
    alphabet : Alphabet — letters in channel order
    max_length : int
    min_length : int
    card : ModelCard or dict
    description : str

    Attributes
    ----------
    output_kind : "sigmoid"
    is_pair : True
    """

    output_kind = "sigmoid"
    is_pair = True

    def __init__(self, model, *, name, alphabet, max_length, min_length=1, card=None, description="", path=None):
        self.model = model
        self.name = name
        self.alphabet = alphabet
        self.max_length = int(max_length)
        self.min_length = int(min_length)
        self.sequence_length = self.max_length
        self.card = card or {}
        self.description = description
        self.path = str(path) if path else None
        self.channels = int(model.inputs[0].shape[-1])
        self._predict_fn = None

    def __repr__(self):
        return f"PairPredictor(name={self.name!r}, max_length={self.max_length}, letters={self.alphabet.letters!r})"

    def encode(self, sequences, which="a"):
        """One-hot peptides, zero-padded: (N, max_length, C) float32 and lengths (N,)."""
        out = np.zeros((len(sequences), self.max_length, self.channels), np.float32)
        lengths = np.zeros(len(sequences), np.int32)
        for k, seq in enumerate(sequences):
            clean = validate_sequence(seq, self.alphabet, name=f"pair #{k + 1} chain {which}")
            if not self.min_length <= len(clean) <= self.max_length:
                raise SequenceError(f"pair #{k + 1} chain {which} has {len(clean)} residues; {self.name} takes "
                                    f"{self.min_length}-{self.max_length}")
            out[k, :len(clean), :self.alphabet.size] = one_hot([clean], self.alphabet)[0]
            lengths[k] = len(clean)
        return out, lengths

    def to_onehot(self, pairs):
        """Validate pairs of peptides and encode them.

        Parameters
        ----------
        pairs : (str, str) or list of (str, str)

        Returns
        -------
        (np.ndarray (N, L, C), np.ndarray (N, L, C)) — chains a and b, zero-padded
        """
        if isinstance(pairs, tuple) and len(pairs) == 2 and all(isinstance(s, str) for s in pairs):
            pairs = [pairs]
        pairs = list(pairs)
        if not pairs:
            raise SequenceError("no pairs given")
        for k, pair in enumerate(pairs):
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise SequenceError(f"pair #{k + 1} must be two sequences (chain a, chain b)")
        a, _ = self.encode([p[0] for p in pairs], "a")
        b, _ = self.encode([p[1] for p in pairs], "b")
        return a, b

    def output_tensor(self, xa, xb):
        """Probability (N,) for one-hot chains, inside TensorFlow graphs."""
        return tf.reshape(self.model([xa, xb], training=False), [-1])

    def predict(self, pairs, batch_size=512) -> np.ndarray:
        """Probability that each pair binds.

        Parameters
        ----------
        pairs : list of (str, str), or a tuple of two one-hot arrays (N, L, C)

        Returns
        -------
        np.ndarray (N,) float32
        """
        if isinstance(pairs, tuple) and len(pairs) == 2 and isinstance(pairs[0], np.ndarray):
            xa, xb = (np.asarray(v, np.float32) for v in pairs)
        else:
            xa, xb = self.to_onehot(pairs)
        if self._predict_fn is None:
            self._predict_fn = tf.function(self.output_tensor, reduce_retracing=True)
        out = []
        for start in range(0, len(xa), batch_size):
            size = batch_size if len(xa) > batch_size else len(xa[start:start + batch_size])
            chunk_a = _pad_batch(xa[start:start + batch_size], size)
            chunk_b = _pad_batch(xb[start:start + batch_size], size)
            n = min(batch_size, len(xa) - start)
            out.append(self._predict_fn(tf.constant(chunk_a), tf.constant(chunk_b)).numpy()[:n])
        return np.concatenate(out).astype(np.float32)
