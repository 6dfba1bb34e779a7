"""Predictors: one interface over any Keras model that reads one-hot sequences.

>>> import scrambler_core as sc
>>> pred = sc.load_predictor("utr5")
>>> pred.predict(["ACGT" * 12 + "AC"]).shape
(1,)
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import runtime  # noqa: F401  (sets TensorFlow threading / logging before import)
import keras
import tensorflow as tf

from .paths import PRETRAINED_DIR
from .sequences import Alphabet, SequenceError, get_alphabet, one_hot, validate_sequence

BUILTIN_PREDICTORS = ("utr5", "polya", "binder")
PAIR_BUILTINS = ("binder",)      # built-ins that read two sequences (external.PairPredictor)
OUTPUT_KINDS = ("sigmoid", "softmax", "regression")


class ModelFileError(ValueError):
    """A model file that cannot be used: missing, unreadable, unsafe or of the wrong shape."""


class Predictor:
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
    card : dict, optional
        Model card (data, seed, metrics) for built-ins.
    description : str
        One line shown to users (what the output means).

    Attributes
    ----------
    sequence_length : int
        L, from the model's input shape.
    """

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


def _alphabet_for_channels(channels):
    return {4: "dna", 20: "protein"}.get(int(channels))


def load_predictor(name_or_path, *, path=None, alphabet=None, output_kind=None, output_index=0,
                   name=None) -> Predictor:
    """Load a built-in predictor by name, a published model by name, or a Keras model file by path.

    Parameters
    ----------
    name_or_path : str or Path
        ``"utr5"``, ``"polya"``, ``"binder"`` (built-in, trained by this project; ``binder`` reads
        pairs of peptides and returns an ``external.PairPredictor``), ``"optimus5"``, ``"aparent2"``,
        ``"ppi"`` (published models read from ``path`` or ``$SCRAMBLER_MODELS_DIR``, see
        :mod:`scrambler_core.external`) or a path to a ``.keras`` file.
    path : str or Path, optional
        The weights file of a published model (its original ``.h5``/``.hdf5``).
    alphabet, output_kind : str, optional
        Override what is inferred from the model (4 channels: DNA, 20: protein;
        last activation sigmoid/softmax/else regression).
    output_index : int
        Softmax models: the class ``predict`` reports.

    Returns
    -------
    Predictor

    Raises
    ------
    ModelFileError
        Unknown name, unreadable file, unsafe file, or shapes that do not fit.
    """
    key = str(name_or_path)
    if key in BUILTIN_PREDICTORS:
        return _load_builtin(key)
    from . import external
    if key in external.EXTERNAL_PREDICTORS:
        return _load_external(key, path)
    path = Path(key)
    if not path.suffix:
        raise ModelFileError(f"unknown predictor {key!r}: built-ins are {', '.join(BUILTIN_PREDICTORS)}, "
                             f"published models {', '.join(external.EXTERNAL_PREDICTORS)} (with path= or "
                             "$SCRAMBLER_MODELS_DIR), or give the path of a .keras file")
    model = load_keras_model(path)
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 3:
        raise ModelFileError(f"{path.name}: expected one input of shape (N, L, A); the model has inputs "
                             f"{[tuple(i.shape) for i in model.inputs]}")
    channels = model.inputs[0].shape[-1]
    alphabet = alphabet or _alphabet_for_channels(channels)
    if alphabet is None:
        raise ModelFileError(f"{path.name}: input has {channels} channels per position; expected 4 (DNA/RNA) "
                             "or 20 (protein)")
    return Predictor(model, name=name or path.stem, alphabet=alphabet,
                     output_kind=output_kind or infer_output_kind(model), output_index=output_index,
                     path=path)


_BUILTIN_CACHE: dict = {}
_EXTERNAL_CACHE: dict = {}


def _load_external(name, path=None):
    """Published model by name; cached per resolved file (path, size, modification time)."""
    from . import external
    resolved = external.resolve_model_path(name, path).resolve()
    stat = resolved.stat()
    key = (name, str(resolved), stat.st_size, stat.st_mtime_ns)
    if key not in _EXTERNAL_CACHE:
        _EXTERNAL_CACHE[key] = external.load_external(name, resolved)
    return _EXTERNAL_CACHE[key]

BUILTIN_DESCRIPTIONS = {
    "utr5": "mean ribosome load of a 50-nt 5'UTR (synthetic leaky-scanning grammar, mirrors Optimus 5-Prime)",
    "polya": "proximal isoform proportion of a 205-nt PAS window (synthetic grammar, mirrors APARENT)",
    "binder": "probability that two 24-48-residue peptides form a coiled-coil heterodimer (synthetic heptad "
              "grammar with an Asn-Asn switch, mirrors the published binder)",
}


def _load_builtin(name):
    """A built-in predictor from ``pretrained/NAME.keras`` (cached): a Predictor, or a PairPredictor for ``binder``."""
    if name in _BUILTIN_CACHE:
        return _BUILTIN_CACHE[name]
    model_path = PRETRAINED_DIR / f"{name}.keras"
    if not model_path.exists():
        raise ModelFileError(f"built-in predictor {name!r} has no weights at {model_path}; "
                             f"train it with: python -m scrambler_core train-predictor {name}")
    model = load_keras_model(model_path)
    card_path = PRETRAINED_DIR / f"{name}.json"
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    if name in PAIR_BUILTINS:
        from .external import PairPredictor
        from .synthetic import BINDER_MAX_LENGTH, BINDER_MIN_LENGTH
        pred = PairPredictor(model, name=name, alphabet=get_alphabet("protein"), max_length=BINDER_MAX_LENGTH,
                             min_length=BINDER_MIN_LENGTH, card=card, description=BUILTIN_DESCRIPTIONS[name],
                             path=model_path)
        _BUILTIN_CACHE[name] = pred
        return pred
    pred = Predictor(model, name=name, alphabet="dna",
                     output_kind="sigmoid" if name == "polya" else "regression",
                     card=card, description=BUILTIN_DESCRIPTIONS[name], path=model_path)
    _BUILTIN_CACHE[name] = pred
    return pred


def list_predictors() -> list[str]:
    """Names of the built-in predictors whose weights are present."""
    return [n for n in BUILTIN_PREDICTORS if (PRETRAINED_DIR / f"{n}.keras").exists()]


def list_external() -> dict:
    """Published models whose files are in ``$SCRAMBLER_MODELS_DIR``: name -> Path."""
    from . import external
    return external.available_external()
