"""Published predictors rebuilt in Keras 3 from their weights files: Optimus 5-Prime, APARENT2, the coiled-coil binder.

The weights are never bundled (the Optimus files are GPL-3.0); :mod:`scrambler_core.predictors.registry` finds
them (``path=`` or ``$SCRAMBLER_MODELS_DIR``) and calls the loaders here with the file. Each loader rebuilds the
published architecture, reads the weights by layer name with h5py, and hides the model's quirks:

- ``optimus5``: the user gives the 50-nt 5'UTR; the adapter appends the ``ATGG`` the model was trained
  with and reports mean ribosome load (MRL) through the documented linear map of the z-score output.
- ``aparent2``: the user gives the 205-nt PAS window (hexamer at 0-based position 70); the adapter adds
  the 4-D reshape and the library one-hot (index 11), and reports the proximal isoform proportion
  (cleavage positions 80-109). The cleavage profile and the narrow (77:127) and full (0:205) isoform
  log-odds used for variant scores are methods of :class:`Aparent2Predictor`.
- ``ppi``: the user gives two peptides; the adapter encodes them in the model's letter order, pads them
  with zero rows to 81 and reports the probability that they bind (:class:`PairPredictor`).

>>> import scrambler_core as sc
>>> pred = sc.load_predictor("optimus5", path="retrained_evolution_model.hdf5")
>>> pred.predict(["AGAGCTAACTTTTTCACATCCCAGAAGACATCCATGCGGAAAAGGTATAA"])   # MRL
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import runtime  # noqa: F401
import keras
import tensorflow as tf

from ..cards import ModelCard
from ..hashing import sha256_file
from ..sequences import Alphabet, one_hot
from .base import ModelFileError, PairPredictor, Predictor, _pad_batch

OPTIMUS_SOURCE = "https://github.com/pjsample/human_5utr_modeling (modeling/saved_models/)"
APARENT2_SOURCE = "https://github.com/johli/aparent-resnet (saved_models/)"
PPI_SOURCE = "https://github.com/johli/scrambler (examples/protein/saved_models/)"

# Linear maps from the Optimus z-score to MRL, fitted on the 3,200 test UTRs of the authors' random library
# (shared/external/README.md): MRL ~ slope * z + intercept.
OPTIMUS_MRL_MAP = {
    "retrained_evolution_model.hdf5": (1.73, 7.09),
    "evolution_model.hdf5": (1.74, 6.40),
}
OPTIMUS_UTR_LENGTH = 50
OPTIMUS_SUFFIX = "ATGG"

APARENT2_LENGTH = 205
APARENT2_PAS_POSITION = 70
APARENT2_LIBRARY_INDEX = 11
APARENT2_N_LIBRARIES = 13
APARENT2_ISOFORM_WINDOW = (80, 110)       # iso_prob of the published model
APARENT2_NARROW_WINDOW = (77, 127)        # variant scores of the authors' tool
APARENT2_FULL_WINDOW = (0, 205)
APARENT2_DILATIONS = (1, 2, 4, 8, 4, 2, 1)
APARENT2_BLOCKS = 4

PPI_LETTERS = "DEVKRLSTNHAIGPQYWMF"       # channel order of the binder model; channel 19 ('#') is padding
PPI_LENGTH = 81
PPI_ALPHABET = Alphabet("protein", PPI_LETTERS)


# ============================================================================ h5 weights

def _read_layer_weights(path, expected_layers):
    """Read weights of named layers from a Keras 1/2 HDF5 file.

    Returns
    -------
    dict layer name -> dict of weight kind ("kernel", "bias", "gamma", ...) -> np.ndarray
    """
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise ModelFileError(f"{Path(path).name} is not an HDF5 Keras model file ({err})") from None
    with handle:
        root = handle["model_weights"] if "model_weights" in handle else handle
        missing = [layer for layer in expected_layers if layer not in root]
        if missing:
            present = sorted(root.keys())
            raise ModelFileError(
                f"{Path(path).name} does not hold the expected layers: {len(missing)} missing "
                f"(e.g. {', '.join(missing[:3])}); it has {', '.join(present[:6])}"
                f"{'…' if len(present) > 6 else ''}")
        out = {}
        for layer in expected_layers:
            weights = {}

            def visit(name, obj, weights=weights):
                if not isinstance(obj, h5py.Dataset):
                    return
                parts = name.split("/")
                leaf = parts[-1].split(":")[0]
                if leaf.endswith("_W"):          # Keras 1 names: <layer>_W:0 / <layer>_b:0
                    leaf = "kernel"
                elif leaf.endswith("_b"):
                    leaf = "bias"
                direction = next((p.split("_")[0] for p in parts[:-1] if p.startswith(("forward", "backward"))), None)
                weights[f"{direction}/{leaf}" if direction else leaf] = np.asarray(obj)

            root[layer].visititems(visit)
            out[layer] = weights
        return out


def _expect_shape(file_name, layer, kind, array, shape):
    if tuple(array.shape) != tuple(shape):
        raise ModelFileError(f"{file_name}: layer {layer} {kind} has shape {tuple(array.shape)}, expected "
                             f"{tuple(shape)}; this is not the model the adapter expects")


# ============================================================================ layers

@keras.saving.register_keras_serializable(package="scrambler_core")
class AppendConstant(keras.layers.Layer):
    """Append a constant block (rows, channels) after the input on the length axis: (N, L, A) -> (N, L + k, A)."""

    deeplift_affine = True      # affine in its input: DeepLIFT keeps the ordinary gradient

    def __init__(self, constant, **kwargs):
        super().__init__(**kwargs)
        self.constant = np.asarray(constant, dtype=np.float32)

    def call(self, x):
        block = tf.broadcast_to(tf.constant(self.constant)[None],
                                tf.concat([tf.shape(x)[:1], tf.shape(self.constant)], axis=0))
        return tf.concat([x, tf.cast(block, x.dtype)], axis=1)

    def get_config(self):
        return {**super().get_config(), "constant": self.constant.tolist()}


@keras.saving.register_keras_serializable(package="scrambler_core")
class WindowLogit(keras.layers.Layer):
    """Log-odds of a softmax's mass inside [start, end) against the rest, from its logits: (N, K) -> (N, 1)."""

    def __init__(self, start, end, **kwargs):
        super().__init__(**kwargs)
        self.start, self.end = int(start), int(end)

    def call(self, logits):
        inside = tf.reduce_logsumexp(logits[:, self.start:self.end], axis=1, keepdims=True)
        outside = tf.reduce_logsumexp(tf.concat([logits[:, :self.start], logits[:, self.end:]], axis=1),
                                      axis=1, keepdims=True)
        return inside - outside

    def get_config(self):
        return {**super().get_config(), "start": self.start, "end": self.end}


# ============================================================================ Optimus 5-Prime

OPTIMUS_LAYERS = ("convolution1d_1", "convolution1d_2", "dense_1", "dense_2")


def build_optimus_core(length=OPTIMUS_UTR_LENGTH + len(OPTIMUS_SUFFIX)):
    """The Optimus 5-Prime architecture: (N, 54, 4) one-hot -> (N, 1) MRL z-score."""
    inp = keras.Input((length, 4), name="utr_atgg")
    h = keras.layers.Conv1D(40, 8, padding="valid", activation="relu", name="convolution1d_1")(inp)
    h = keras.layers.Conv1D(40, 8, padding="valid", activation="relu", name="convolution1d_2")(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(40, activation="relu", name="dense_1")(h)
    out = keras.layers.Dense(1, name="dense_2")(h)
    return keras.Model(inp, out, name="optimus5_core")


def load_optimus5(path) -> Predictor:
    """Optimus 5-Prime as a Predictor of MRL for 50-nt 5'UTRs.

    Parameters
    ----------
    path : path — ``retrained_evolution_model.hdf5`` or ``evolution_model.hdf5`` (any Optimus-architecture
        file); ``load_predictor("optimus5")`` finds it in ``$SCRAMBLER_MODELS_DIR``

    Returns
    -------
    Predictor — input (N, 50, 4) DNA; ``predict`` gives MRL (N,) = slope * z + intercept, with the
    z-score model in ``predictor.zscore_model`` and the map in ``predictor.card["mrl_map"]``.
    """
    path = Path(path)
    weights = _read_layer_weights(path, OPTIMUS_LAYERS)
    core = build_optimus_core()
    shapes = {"convolution1d_1": (8, 4, 40), "convolution1d_2": (8, 40, 40), "dense_1": (1600, 40),
              "dense_2": (40, 1)}
    for layer, shape in shapes.items():
        kernel = weights[layer].get("kernel")
        if kernel is None or "bias" not in weights[layer]:
            raise ModelFileError(f"{path.name}: layer {layer} has no kernel/bias; not an Optimus 5-Prime file")
        if kernel.ndim == 4:          # Keras 1 Convolution1D stores (width, 1, in, out)
            kernel = kernel[:, 0]
        _expect_shape(path.name, layer, "kernel", kernel, shape)
        core.get_layer(layer).set_weights([kernel, weights[layer]["bias"]])
    slope, intercept = OPTIMUS_MRL_MAP.get(path.name, OPTIMUS_MRL_MAP["retrained_evolution_model.hdf5"])
    utr = keras.Input((OPTIMUS_UTR_LENGTH, 4), name="utr")
    with_start = AppendConstant(one_hot([OPTIMUS_SUFFIX], "dna")[0], name="append_atgg")(utr)
    z = core(with_start)
    mrl = keras.layers.Rescaling(slope, offset=intercept, name="mrl_from_zscore")(z)
    model = keras.Model(utr, mrl, name="optimus5")
    card = ModelCard(kind="predictor", name="optimus5", fields={
        "source": OPTIMUS_SOURCE, "licence": "GPL-3.0 (weights read from disk, never bundled)",
        "file": path.name, "weights_sha256": sha256_file(path),
        "input": "50-nt 5'UTR; the adapter appends ATGG (start of the coding sequence) as in training",
        "output": "mean ribosome load (MRL) = slope * z + intercept, z = the model's z-score output",
        "mrl_map": {"slope": slope, "intercept": intercept,
                    "fitted_on": "3,200 test UTRs (randomSampleTestingAllAUGtypes.csv)"},
    })
    pred = Predictor(model, name="optimus5", alphabet="dna", output_kind="regression", card=card,
                     description=f"Optimus 5-Prime ({path.name}): mean ribosome load of a 50-nt 5'UTR; MRL = "
                                 f"{slope}·z + {intercept} from the model's z-score", path=path)
    pred.zscore_model = keras.Model(utr, z, name="optimus5_zscore")
    pred.external = "optimus5"
    return pred


# ============================================================================ APARENT2

def _aparent2_layer_names():
    names = ["aparent_conv_0", "aparent_last_block_conv", "aparent_final_conv", "aparent_lib_conv"]
    for g in range(len(APARENT2_DILATIONS)):
        names.append(f"aparent_skip_conv_{g}")
        for r in range(APARENT2_BLOCKS):
            for part in ("batch_norm_0", "conv_0", "batch_norm_1", "conv_1"):
                names.append(f"aparent_resblock_{g}_{r}_{part}")
    return names


def build_aparent2_core(length=APARENT2_LENGTH):
    """The APARENT2 residual network without its library input: (N, 205, 4) -> cleavage logits (N, 205).

    Conv2D (1, k) layers of the published model are Conv1D here (same weights with axis 0 squeezed).
    """
    inp = keras.Input((length, 4), name="pas_window")
    h = keras.layers.Conv1D(32, 1, padding="same", name="aparent_conv_0")(inp)
    skips = []
    for g, dilation in enumerate(APARENT2_DILATIONS):
        skips.append(keras.layers.Conv1D(32, 1, padding="same", name=f"aparent_skip_conv_{g}")(h))
        for r in range(APARENT2_BLOCKS):
            prefix = f"aparent_resblock_{g}_{r}_"
            x = keras.layers.BatchNormalization(epsilon=1e-3, name=prefix + "batch_norm_0")(h)
            x = keras.layers.ReLU()(x)
            x = keras.layers.Conv1D(32, 3, padding="same", dilation_rate=dilation, name=prefix + "conv_0")(x)
            x = keras.layers.BatchNormalization(epsilon=1e-3, name=prefix + "batch_norm_1")(x)
            x = keras.layers.ReLU()(x)
            x = keras.layers.Conv1D(32, 3, padding="same", dilation_rate=dilation, name=prefix + "conv_1")(x)
            h = keras.layers.Add()([x, h])
    h = keras.layers.Conv1D(32, 1, padding="same", name="aparent_last_block_conv")(h)
    h = keras.layers.Add()([h] + skips)
    out = keras.layers.Conv1D(1, 1, padding="same", name="aparent_final_conv")(h)
    out = keras.layers.Reshape((length,))(out)
    return keras.Model(inp, out, name="aparent2_core")


class Aparent2Predictor(Predictor):
    """APARENT2 for 205-nt PAS windows: isoform proportion, cleavage profile and isoform log-odds.

    ``predict`` gives the proximal isoform proportion (sum of the cleavage distribution over positions
    80-109, the published ``iso_prob``); as a sigmoid predictor its logit is exact (log-odds of that
    window against the rest).
    """

    def cleavage_profile(self, seqs, batch_size=256) -> np.ndarray:
        """Cleavage distribution over the 205 positions plus the distal slot.

        Parameters
        ----------
        seqs : str, list of str or np.ndarray (N, 205, 4); ``N`` letters are accepted (0.25 each)

        Returns
        -------
        np.ndarray (N, 206) float32, rows sum to 1
        """
        x = self.to_onehot(seqs, allow_n=True)
        if getattr(self, "_cleavage_fn", None) is None:
            self._cleavage_fn = tf.function(lambda t: tf.nn.softmax(self.cleavage_logit_model(t, training=False)),
                                            reduce_retracing=True)
        out = []
        for start in range(0, len(x), batch_size):
            chunk = x[start:start + batch_size]
            padded = _pad_batch(chunk, batch_size if len(x) > batch_size else len(chunk))
            out.append(self._cleavage_fn(tf.constant(padded)).numpy()[:len(chunk)])
        return np.concatenate(out).astype(np.float32)

    def isoform_logodds(self, seqs, window="narrow") -> np.ndarray:
        """Isoform log-odds log(p / (1 - p)), p = cleavage mass in a window, as the authors score variants.

        Parameters
        ----------
        seqs : str, list of str or np.ndarray (N, 205, 4)
        window : "narrow" (77:127), "full" (0:205), "isoform" (80:110) or (start, end)

        Returns
        -------
        np.ndarray (N,) float64
        """
        start, end = aparent2_window(window)
        cut = self.cleavage_profile(seqs).astype(np.float64)
        p = cut[:, start:end].sum(axis=1)
        return np.log(p / (1.0 - p))

    def variant_logodds(self, ref, alt, window="narrow") -> np.ndarray:
        """Δ isoform log-odds (alt − ref) for paired sequences, shape (N,)."""
        return self.isoform_logodds(alt, window) - self.isoform_logodds(ref, window)


def aparent2_window(window):
    """(start, end) of a named APARENT2 window: "narrow", "full", "isoform", or a pair."""
    named = {"narrow": APARENT2_NARROW_WINDOW, "full": APARENT2_FULL_WINDOW, "isoform": APARENT2_ISOFORM_WINDOW}
    if isinstance(window, str):
        if window not in named:
            raise ValueError(f"window must be one of {', '.join(named)} or (start, end), got {window!r}")
        return named[window]
    start, end = (int(v) for v in window)
    if not 0 <= start < end <= APARENT2_LENGTH + 1:
        raise ValueError(f"window ({start}, {end}) must satisfy 0 <= start < end <= 206")
    return start, end


def load_aparent2(path, library_index=APARENT2_LIBRARY_INDEX) -> Aparent2Predictor:
    """APARENT2 as a Predictor of the proximal isoform proportion for 205-nt PAS windows.

    Parameters
    ----------
    path : path — one of the published ``.h5`` files (``load_predictor`` finds it in ``$SCRAMBLER_MODELS_DIR``)
    library_index : int — the library one-hot the model is conditioned on (11, the authors' choice)

    Returns
    -------
    Aparent2Predictor — input (N, 205, 4) DNA (N accepted as 0.25 per channel)
    """
    path = Path(path)
    if not 0 <= int(library_index) < APARENT2_N_LIBRARIES:
        raise ValueError(f"library_index must be in 0..{APARENT2_N_LIBRARIES - 1}, got {library_index}")
    layers = _aparent2_layer_names()
    weights = _read_layer_weights(path, layers)
    core = build_aparent2_core()
    for layer in layers:
        if layer == "aparent_lib_conv":
            continue
        w = weights[layer]
        target = core.get_layer(layer)
        if isinstance(target, keras.layers.BatchNormalization):
            values = [w.get(k) for k in ("gamma", "beta", "moving_mean", "moving_variance")]
            if any(v is None for v in values):
                raise ModelFileError(f"{path.name}: batch norm {layer} lacks gamma/beta/moving statistics")
        else:
            if "kernel" not in w or "bias" not in w:
                raise ModelFileError(f"{path.name}: layer {layer} has no kernel/bias; not an APARENT2 file")
            kernel = w["kernel"][0] if w["kernel"].ndim == 4 else w["kernel"]
            values = [kernel, w["bias"]]
        expected = [tuple(v.shape) for v in target.get_weights()]
        got = [tuple(v.shape) for v in values]
        if expected != got:
            raise ModelFileError(f"{path.name}: layer {layer} has weights of shapes {got}, expected {expected}; "
                                 "this is not an APARENT2 model")
        target.set_weights(values)
    lib = weights["aparent_lib_conv"]
    _expect_shape(path.name, "aparent_lib_conv", "kernel", lib["kernel"], (APARENT2_LENGTH + 1, APARENT2_N_LIBRARIES, 1))
    _expect_shape(path.name, "aparent_lib_conv", "bias", lib["bias"], (1, APARENT2_LENGTH + 1, 1))
    library_bias = (lib["kernel"][:, int(library_index), 0] + lib["bias"][0, :, 0]).astype(np.float32)

    seq = keras.Input((APARENT2_LENGTH, 4), name="pas_window")
    logits = core(seq)
    logits = keras.layers.Reshape((APARENT2_LENGTH, 1))(logits)
    logits = AppendConstant(np.zeros((1, 1), np.float32), name="distal_slot")(logits)
    logits = keras.layers.Reshape((APARENT2_LENGTH + 1,))(logits)
    logits = _AddConstant(library_bias, name="library_bias")(logits)
    cleavage_logit_model = keras.Model(seq, logits, name="aparent2_cleavage_logits")
    iso_logit = WindowLogit(*APARENT2_ISOFORM_WINDOW, name="isoform_logit")(logits)
    iso = keras.layers.Activation("sigmoid", name="isoform_proportion")(iso_logit)
    model = keras.Model(seq, iso, name="aparent2")
    card = ModelCard(kind="predictor", name="aparent2", fields={
        "source": APARENT2_SOURCE, "licence": "MIT (weights read from disk, never bundled)", "file": path.name,
        "weights_sha256": sha256_file(path), "library_index": int(library_index),
        "input": "205-nt PAS window, hexamer at position 71 (1-based; 0-based 70); N = 0.25 per channel",
        "output": "proximal isoform proportion = cleavage mass over positions 81-110, 1-based (iso_prob)",
        "variant_score": "Δ isoform log-odds over cleavage positions 78-127 (narrow) or 1-205 (full), 1-based",
    })
    pred = Aparent2Predictor(model, name="aparent2", alphabet="dna", output_kind="sigmoid", card=card,
                             description=f"APARENT2 ({path.name}): proximal isoform proportion of a 205-nt PAS "
                                         "window (cleavage at positions 81-110, 1-based)", path=path)
    pred.cleavage_logit_model = cleavage_logit_model
    pred.external = "aparent2"
    return pred


@keras.saving.register_keras_serializable(package="scrambler_core")
class _AddConstant(keras.layers.Layer):
    """Add a constant vector (K,) to every row: (N, K) -> (N, K)."""

    deeplift_affine = True

    def __init__(self, constant, **kwargs):
        super().__init__(**kwargs)
        self.constant = np.asarray(constant, dtype=np.float32)

    def call(self, x):
        return x + tf.constant(self.constant)[None]

    def get_config(self):
        return {**super().get_config(), "constant": self.constant.tolist()}


# ============================================================================ coiled-coil binder (pairs)

def _cudnn_gru_to_keras(kernel, recurrent_kernel, bias, units):
    """Convert CuDNNGRU weights to a Keras GRU (reset_after=True) as tf_keras does when loading.

    Input-kernel gate blocks are transposed and reshaped in Fortran order, recurrent blocks transposed,
    and the bias split into its input and recurrent halves.
    """
    def transform(blocks, fn):
        return np.hstack([fn(k) for k in np.hsplit(blocks, 3)])

    kernel = transform(kernel, lambda k: k.T.reshape(k.shape, order="F"))
    recurrent_kernel = transform(recurrent_kernel, lambda k: k.T)
    bias = np.asarray(bias).reshape((2, -1))
    if kernel.shape[1] != 3 * units or bias.shape != (2, 3 * units):
        raise ModelFileError(f"GRU weights of shape {kernel.shape}, {bias.shape} do not fit {units} units")
    return [kernel, recurrent_kernel, bias]


def build_ppi_core(length=PPI_LENGTH, channels=20, units=64):
    """The binder model: two (N, 81, 20) chains -> shared bidirectional GRU -> dense -> (N, 1) probability."""
    a = keras.Input((length, channels), name="chain_a")
    b = keras.Input((length, channels), name="chain_b")
    encoder = keras.layers.Bidirectional(
        keras.layers.GRU(units, reset_after=True, recurrent_activation="sigmoid"), name="bidirectional_1")
    h = keras.layers.Concatenate()([encoder(a), encoder(b)])
    h = keras.layers.Dense(128, activation="relu", name="dense_1")(h)
    out = keras.layers.Dense(1, activation="sigmoid", name="dense_2")(h)
    return keras.Model([a, b], out, name="ppi")


def load_ppi(path) -> PairPredictor:
    """The coiled-coil heterodimer binder model (paper Fig S5) as a PairPredictor.

    Parameters
    ----------
    path : path — the published ``.h5`` (``load_predictor`` finds it in ``$SCRAMBLER_MODELS_DIR``)

    Returns
    -------
    PairPredictor — two peptides of 1-81 residues over ``DEVKRLSTNHAIGPQYWMF`` (no cysteine)
    """
    path = Path(path)
    weights = _read_layer_weights(path, ("bidirectional_1", "dense_1", "dense_2"))
    core = build_ppi_core()
    gru = weights["bidirectional_1"]
    converted = []
    for direction in ("forward", "backward"):
        parts = {k.split("/")[-1]: v for k, v in gru.items() if k.startswith(direction)}
        if set(parts) != {"kernel", "recurrent_kernel", "bias"}:
            raise ModelFileError(f"{path.name}: the bidirectional layer has no {direction} GRU weights; "
                                 "not the coiled-coil binder model")
        _expect_shape(path.name, f"{direction} GRU", "kernel", parts["kernel"], (20, 192))
        if parts["bias"].shape == (384,):
            converted += _cudnn_gru_to_keras(parts["kernel"], parts["recurrent_kernel"], parts["bias"], 64)
        else:
            converted += [parts["kernel"], parts["recurrent_kernel"], parts["bias"].reshape(2, -1)]
    core.get_layer("bidirectional_1").set_weights(converted)
    for layer in ("dense_1", "dense_2"):
        w = weights[layer]
        target = core.get_layer(layer)
        expected = [tuple(v.shape) for v in target.get_weights()]
        if [tuple(w["kernel"].shape), tuple(w["bias"].shape)] != expected:
            raise ModelFileError(f"{path.name}: layer {layer} does not fit the binder architecture")
        target.set_weights([w["kernel"], w["bias"]])
    card = ModelCard(kind="predictor", name="ppi", fields={
        "source": PPI_SOURCE, "licence": "MIT (weights read from disk, never bundled)", "file": path.name,
        "weights_sha256": sha256_file(path),
        "input": f"two peptides, letters {PPI_LETTERS} (no cysteine), left-aligned, zero-padded to {PPI_LENGTH}",
        "output": "probability that the two peptides form a heterodimer",
    })
    pred = PairPredictor(core, name="ppi", alphabet=PPI_ALPHABET, max_length=PPI_LENGTH, card=card,
                         description="coiled-coil binder (Linder et al. Fig S5): probability that two peptides bind",
                         path=path)
    pred.external = "ppi"
    return pred
