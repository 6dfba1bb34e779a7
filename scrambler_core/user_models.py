"""The "Your model" workflow: upload a Keras model and sequences, train a scrambler for it.

Everything here is free of any user interface (no Streamlit), so the app page,
the tests and scripts share one set of checks:

1. :func:`save_upload` writes an uploaded model file into a given directory
   (size, suffix and file-name checks; atomic write).
2. :func:`load_user_predictor` loads it with Keras ``safe_mode`` and checks
   that it reads one-hot sequences of a fixed length and returns one value per
   sequence (or a softmax over classes).
3. :func:`read_user_sequences` reads FASTA / CSV / text uploads and checks them
   against the predictor's alphabet and length.
4. :func:`train_user_scrambler` trains a small bits-conditioned scrambler fast
   enough for a couple of CPU minutes and writes a model card.
5. :func:`scrambler_to_bytes` / :func:`scrambler_from_bytes` turn the trained
   scrambler into a ``.keras`` download and back; :func:`card_to_json` gives
   the card as a ``.json`` download.

Every refusal is a :class:`~scrambler_core.predictors.ModelFileError` (model
files) or :class:`~scrambler_core.sequences.SequenceError` (sequences), both
``ValueError``, with a message meant to be shown to the user as it is.

>>> path = save_upload("my_model.keras", data, session_dir)
>>> predictor = load_user_predictor(path)
>>> seqs = read_user_sequences("train.fa", fasta_bytes, predictor)
>>> scrambler, history = train_user_scrambler(predictor, seqs)
>>> download = scrambler_to_bytes(scrambler)
"""
from __future__ import annotations

import io
import json
import math
import os
import re
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from .predictors.base import OUTPUT_KINDS, ModelFileError, Predictor
from .predictors.registry import load_predictor
from .cards import scrambler_card
from .scrambler.explain import Scrambler, bits_tracking, calibrate_bits, load_scrambler
from .scrambler.maths import MODES
from .scrambler.train import train_scrambler
from .records import read_records
from .sequences import SequenceError, decode, get_alphabet
from .hashing import sha256_bytes, sha256_file

__all__ = [
    "MAX_MODEL_BYTES", "MAX_SEQUENCE_BYTES", "MODEL_SUFFIXES", "SEQUENCE_SUFFIXES", "MIN_TRAINING_SEQUENCES",
    "MAX_UPLOAD_SEQUENCES", "USER_TRAINING_SETTINGS", "split_sizes", "sha256_bytes", "safe_file_name", "save_upload",
    "load_user_predictor", "describe_predictor", "read_user_sequences", "train_user_scrambler",
    "scrambler_to_bytes", "scrambler_from_bytes", "card_to_json",
]

MEGABYTE = 1024 * 1024
# matches ``maxUploadSize = 20`` (megabytes) in .streamlit/config.toml
MAX_MODEL_BYTES = 20 * MEGABYTE
MAX_SEQUENCE_BYTES = 20 * MEGABYTE
MODEL_SUFFIXES = (".keras", ".h5")
FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".txt")
TABLE_SUFFIXES = (".csv", ".tsv")
SEQUENCE_SUFFIXES = FASTA_SUFFIXES + TABLE_SUFFIXES
SEQUENCE_COLUMN = "sequence"
MIN_TRAINING_SEQUENCES = 32
MAX_UPLOAD_SEQUENCES = 20_000

# A small, fast scrambler (2 residual groups of 2 blocks, 32 channels; the built-ins use 5 x 4):
# about 1.5 minutes for 2,000 sequences of 50 nt on 2 CPU cores with the utr5 predictor.
USER_TRAINING_SETTINGS = {
    "epochs": 5,
    "batch_size": 32,
    "n_samples": 16,
    "learning_rate": 1e-3,
    "bits_range": (0.05, 2.0),
    "bits_schedule": (1.5, 0.8),
    # conservation penalty weight per epoch: 10 first, 50 over the last 2/5 of the epochs so that low
    # targets become reachable (as for the built-in utr5 scrambler); a list gives the weight per epoch
    "penalty_weight": 10.0,
    "final_penalty_weight": 50.0,
    "network_options": {"channels": 32, "groups": 2, "blocks": 2, "width": 5, "dilations": (1, 2)},
    "max_training_sequences": 4000,
    "max_validation_sequences": 128,
}
TRACKING_TARGETS = (0.1, 0.25, 0.5, 1.0, 1.5)

_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


# ============================================================================ bytes and files



def _size_text(n_bytes: int) -> str:
    if n_bytes >= MEGABYTE:
        return f"{n_bytes / MEGABYTE:.1f} MB"
    if n_bytes >= 1024:
        return f"{n_bytes / 1024:.1f} kB"
    return f"{n_bytes} bytes"


def _split_name(file_name: str) -> tuple[str, str]:
    """``(stem, lower-case suffix)`` of the base name; ``".keras"`` gives ``("", ".keras")``."""
    base = str(file_name).replace("\\", "/").split("/")[-1]
    dot = base.rfind(".")
    if dot < 0 or dot == len(base) - 1:
        return base, ""
    return base[:dot], base[dot:].lower()


def _suffix(file_name: str) -> str:
    """Lower-case last suffix of a file name, ``""`` when it has none."""
    return _split_name(file_name)[1]


def safe_file_name(file_name: str, default_stem: str = "upload") -> str:
    """A base name that is safe to create in a directory.

    Drops every directory part (``/`` and ``\\`` separators, so ``../../x.keras``
    and ``/abs/x.keras`` become ``x.keras``), replaces characters other than
    letters, digits, ``.``, ``_`` and ``-`` by ``_``, strips leading dots and
    lower-cases the suffix.

    Parameters
    ----------
    file_name : str
        The name the user's browser sent.
    default_stem : str
        Stem used when nothing usable is left.

    Returns
    -------
    str
    """
    stem, suffix = _split_name(file_name)
    stem = _UNSAFE_NAME_CHARACTERS.sub("_", stem).strip("._") or default_stem
    suffix = _UNSAFE_NAME_CHARACTERS.sub("_", suffix)
    return f"{stem[:100]}{suffix[:20]}"


def _check_upload_size(file_name: str, n_bytes: int, limit: int, what: str) -> None:
    if n_bytes == 0:
        raise ModelFileError(f"{file_name}: the uploaded {what} is empty (0 bytes)")
    if n_bytes > limit:
        raise ModelFileError(f"{file_name}: the uploaded {what} is {_size_text(n_bytes)}, above the "
                             f"limit of {_size_text(limit)}")


def save_upload(file_name: str, data: bytes, directory) -> Path:
    """Write an uploaded model file into ``directory``, atomically, under a safe name.

    Parameters
    ----------
    file_name : str
        Name sent by the browser; only its sanitised base name is used
        (:func:`safe_file_name`), so the file always lands inside ``directory``.
    data : bytes
        The file's content, at most :data:`MAX_MODEL_BYTES`.
    directory : str or Path
        Existing or new directory (e.g. the session's temporary directory).

    Returns
    -------
    Path
        The written file, inside ``directory``.

    Raises
    ------
    ModelFileError
        Empty data, data above the limit (naming size and limit), or a suffix
        other than ``.keras`` / ``.h5`` (naming the suffix).
    """
    data = bytes(data)
    suffix = _suffix(file_name)
    if suffix not in MODEL_SUFFIXES:
        raise ModelFileError(f"{file_name}: the suffix {suffix or '(none)'!r} is not accepted; upload a Keras "
                             f"model saved as {' or '.join(MODEL_SUFFIXES)}")
    _check_upload_size(file_name, len(data), MAX_MODEL_BYTES, "model file")
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    target = (directory / safe_file_name(file_name, default_stem="model")).resolve()
    if target.parent != directory:  # defensive: safe_file_name never yields a separator
        raise ModelFileError(f"{file_name}: refusing to write outside {directory}")
    handle, tmp_name = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


# ============================================================================ predictors

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _check_file_signature(path: Path) -> None:
    """Refuse a file whose first bytes do not fit its suffix (a ``.keras`` file is a zip archive)."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path.name} is not a Keras model file: a .keras file is a zip archive and this "
                             "one is not (save the model with model.save('name.keras'))")
    if path.suffix.lower() == ".h5" and head != HDF5_SIGNATURE:
        raise ModelFileError(f"{path.name} is not a Keras model file: a .h5 file is an HDF5 file and this one "
                             "is not")


def _output_width(model, file_name: str) -> int:
    """Values per sequence in the model's single output (product of its non-batch dimensions)."""
    if len(model.outputs) != 1:
        raise ModelFileError(f"{file_name}: the model has {len(model.outputs)} outputs; a scrambler needs a "
                             "model with one output")
    dims = tuple(model.outputs[0].shape)[1:]
    if any(d is None for d in dims):
        raise ModelFileError(f"{file_name}: the output shape {tuple(model.outputs[0].shape)} is not fixed; "
                             "a scrambler needs one value (or one softmax vector) per sequence")
    return int(np.prod(dims)) if dims else 1


def _check_output(predictor: Predictor, width: int, file_name: str) -> None:
    if predictor.output_kind == "softmax":
        if width < 2:
            raise ModelFileError(f"{file_name}: output kind 'softmax' needs at least 2 classes; the model "
                                 "returns 1 value per sequence (choose sigmoid or regression)")
        if not 0 <= predictor.output_index < width:
            raise ModelFileError(f"{file_name}: output index {predictor.output_index} is outside the "
                                 f"{width} classes (0 to {width - 1})")
    elif width != 1:
        raise ModelFileError(f"{file_name}: the model returns {width} values per sequence; only one value per "
                             "sequence (sigmoid or regression) or a softmax over classes is supported")


def _check_runs(predictor: Predictor, file_name: str, n=8, seed=0) -> None:
    """Run the model on ``n`` random sequences; refuse errors, non-finite or out-of-range outputs."""
    rng = np.random.default_rng(seed)
    x = np.eye(predictor.alphabet.size, dtype=np.float32)[
        rng.integers(0, predictor.alphabet.size, (n, predictor.sequence_length))]
    try:
        y = np.asarray(predictor.model(x, training=False), dtype=np.float64).reshape(n, -1)
    except Exception as err:  # any failure of user code inside the model
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ModelFileError(f"{file_name}: the model fails on one-hot input of shape "
                             f"({n}, {predictor.sequence_length}, {predictor.alphabet.size}): {first}") from None
    if not np.all(np.isfinite(y)):
        raise ModelFileError(f"{file_name}: the model returns NaN or infinite values on random sequences")
    if predictor.output_kind == "sigmoid" and (y.min() < -1e-6 or y.max() > 1 + 1e-6):
        raise ModelFileError(f"{file_name}: output kind 'sigmoid' needs outputs in [0, 1]; the model returned "
                             f"values from {y.min():.3g} to {y.max():.3g} (choose regression)")
    if predictor.output_kind == "softmax" and not np.allclose(y.sum(axis=1), 1.0, atol=1e-3):
        raise ModelFileError(f"{file_name}: output kind 'softmax' needs class probabilities summing to 1; the "
                             f"model's rows sum to {y.sum(axis=1).min():.3g}-{y.sum(axis=1).max():.3g} "
                             "(choose regression, or end the model with a softmax)")


def load_user_predictor(path, *, alphabet=None, output_kind=None, output_index=0, name=None) -> Predictor:
    """Load an uploaded Keras model as a :class:`Predictor` and check it can be explained.

    Loading uses Keras ``safe_mode`` (a ``Lambda`` layer or other embedded code
    is refused). On top of :func:`~scrambler_core.predictors.load_predictor`
    this refuses models without a fixed sequence length, models with several
    outputs, outputs that are not one value per sequence (a softmax over
    classes excepted), and models that fail or return NaN on random input.

    Parameters
    ----------
    path : str or Path
        A ``.keras`` or ``.h5`` file.
    alphabet : {"dna", "rna", "protein"}, optional
        Default from the number of input channels (4: DNA, 20: protein).
    output_kind : {"sigmoid", "softmax", "regression"}, optional
        Default from the last layer's activation.
    output_index : int
        Softmax models: the class a scrambler explains.
    name : str, optional
        Default: the file's stem.

    Returns
    -------
    Predictor
        Input (N, L, A) with a fixed L; ``predict`` returns shape (N,).

    Raises
    ------
    ModelFileError
        With the reason: unreadable / not a Keras file, refused by safe mode,
        wrong input shape or channels, variable length, unsupported output.
    """
    path = Path(path)
    if alphabet is not None:
        try:
            alphabet = get_alphabet(alphabet).name
        except ValueError as err:
            raise ModelFileError(f"{path.name}: {err}") from None
    if output_kind is not None and output_kind not in OUTPUT_KINDS:
        raise ModelFileError(f"{path.name}: output kind must be one of {', '.join(OUTPUT_KINDS)}, "
                             f"got {output_kind!r}")
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise ModelFileError(f"{path.name}: expected a Keras model file ({' or '.join(MODEL_SUFFIXES)})")
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path.name}")
    _check_file_signature(path)
    predictor = load_predictor(path, alphabet=alphabet, output_kind=output_kind,
                               output_index=output_index, name=name)
    if predictor.sequence_length is None:
        raise ModelFileError(f"{path.name}: the model takes sequences of any length (input shape "
                             f"{tuple(predictor.model.inputs[0].shape)}); a scrambler needs a fixed length — "
                             f"save the model with an input such as keras.Input((L, {predictor.alphabet.size}))")
    _check_output(predictor, _output_width(predictor.model, path.name), path.name)
    _check_runs(predictor, path.name)
    return predictor


def describe_predictor(predictor: Predictor) -> dict:
    """What the app shows about a loaded predictor.

    Returns
    -------
    dict
        ``name``, ``sequence_length`` (L), ``alphabet``, ``letters``,
        ``input_shape`` and ``output_shape`` (batch as None), ``output_kind``,
        ``output_index``, ``parameters`` and ``alphabet_ambiguous`` (True for
        4 channels: DNA and RNA both fit).
    """
    model = predictor.model
    return {
        "name": predictor.name,
        "sequence_length": predictor.sequence_length,
        "alphabet": predictor.alphabet.name,
        "letters": predictor.alphabet.letters,
        "input_shape": tuple(model.inputs[0].shape),
        "output_shape": tuple(model.outputs[0].shape),
        "output_kind": predictor.output_kind,
        "output_index": predictor.output_index,
        "parameters": int(model.count_params()),
        "alphabet_ambiguous": predictor.alphabet.size == 4,
    }


# ============================================================================ sequences

def _decode_text(file_name: str, data: bytes) -> str:
    try:
        return bytes(data).decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        raise SequenceError(f"{file_name} is not a UTF-8 text file (binary? compressed?); upload plain "
                            "FASTA or CSV") from None


def _count_records(text: str, table: bool) -> int:
    """Cheap upper bound on the number of records, before parsing."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if table:
        return max(len(lines) - 1, 0)
    headers = sum(1 for ln in lines if ln.lstrip().startswith(">"))
    return headers if headers else len(lines)


def read_user_sequences(file_name: str, data: bytes, predictor: Predictor, *,
                        max_sequences=MAX_UPLOAD_SEQUENCES, min_sequences=MIN_TRAINING_SEQUENCES,
                        column=SEQUENCE_COLUMN) -> list[str]:
    """Read uploaded training sequences and check them against a predictor.

    ``.fa``/``.fasta``/``.fna`` are FASTA; ``.txt`` is FASTA when it has ``>``
    headers, else one sequence per line; ``.csv`` (``.tsv``) needs a column
    named ``sequence``.

    Parameters
    ----------
    file_name : str
        Name sent by the browser (chooses the format, names the file in messages).
    data : bytes
        File content, at most :data:`MAX_SEQUENCE_BYTES`.
    predictor : Predictor
        Gives the alphabet and the length L every sequence must have.
    max_sequences, min_sequences : int
        Refuse more / fewer sequences than this.
    column : str
        The sequence column of a table.

    Returns
    -------
    list of str
        N cleaned sequences of length L (U read as T for DNA).

    Raises
    ------
    SequenceError
        Unknown suffix, empty/oversized/binary file, missing column, a letter
        outside the alphabet or a wrong length (naming the record), fewer than
        ``min_sequences`` or more than ``max_sequences``.
    """
    source = safe_file_name(file_name, default_stem="sequences")
    suffix = _suffix(file_name)
    if suffix not in SEQUENCE_SUFFIXES:
        raise SequenceError(f"{source}: the suffix {suffix or '(none)'!r} is not accepted; upload FASTA "
                            f"({', '.join(FASTA_SUFFIXES)}) or CSV with a '{column}' column (.csv, .tsv)")
    try:
        _check_upload_size(source, len(data), MAX_SEQUENCE_BYTES, "sequence file")
    except ModelFileError as err:
        raise SequenceError(str(err)) from None
    text = _decode_text(source, data)
    table = suffix in TABLE_SUFFIXES
    if _count_records(text, table) > max_sequences:
        raise SequenceError(f"{source} holds about {_count_records(text, table)} sequences; at most "
                            f"{max_sequences} are accepted (upload a random subset)")
    records = read_records(io.StringIO(text), predictor, name=source, column=column, on_error="raise").rows
    if len(records) < min_sequences:
        raise SequenceError(f"{source} holds {len(records)} sequence{'s' if len(records) != 1 else ''}; "
                            f"training a scrambler needs at least {min_sequences}")
    if len(records) > max_sequences:
        raise SequenceError(f"{source} holds {len(records)} sequences; at most {max_sequences} are accepted "
                            "(upload a random subset)")
    return [r["sequence"] for r in records]


# ============================================================================ training

def _sequences_sha256(seqs) -> str:
    return sha256_bytes("\n".join(seqs).encode("ascii"))


def _file_sha256(path) -> str | None:
    if not path or not Path(path).is_file():
        return None
    return sha256_file(path)


def _json_ready(value):
    """Tuples to lists, numpy scalars to floats, NaN/inf to None (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def split_sizes(n_sequences: int, settings=None) -> tuple[int, int]:
    """How many of ``n_sequences`` are trained on and how many held out.

    A tenth (at least 4, at most ``max_validation_sequences``) is held out; at
    most ``max_training_sequences`` of the rest are trained on.

    Returns
    -------
    (n_train, n_validation) : (int, int)
    """
    options = {**USER_TRAINING_SETTINGS, **(settings or {})}
    n_valid = int(np.clip(n_sequences // 10, 4, options["max_validation_sequences"]))
    return int(min(max(n_sequences - n_valid, 0), options["max_training_sequences"])), n_valid


def _split(n, seed, settings):
    """Shuffle ``n`` sequences and split them as :func:`split_sizes` says.

    Returns
    -------
    train, valid : np.ndarray of int
        Indices into the sequences.
    """
    order = np.random.default_rng(seed).permutation(n)
    n_train, n_valid = split_sizes(n, settings)
    return order[n_valid:n_valid + n_train], order[:n_valid]


def _penalty_weights(options) -> list[float]:
    """Conservation-penalty weight per epoch (a list in the settings is used as it is)."""
    weight = options["penalty_weight"]
    if isinstance(weight, (list, tuple)):
        return [float(w) for w in weight]
    epochs = int(options["epochs"])
    n_final = epochs * 2 // 5
    return [float(weight)] * (epochs - n_final) + [float(options["final_penalty_weight"])] * n_final


def _held_out_metrics(scrambler: Scrambler, x_valid, mode, seed):
    """Calibrate the bits channel on half the held-out set; track bits and agreement on the other half."""
    half = len(x_valid) // 2
    x_calibration, x_check = (x_valid[:half], x_valid[half:]) if half >= 4 else (x_valid, x_valid)
    uncalibrated = bits_tracking(scrambler, x_check, TRACKING_TARGETS)
    calibrate_bits(scrambler, x_calibration, n_grid=20)
    tracking = bits_tracking(scrambler, x_check, TRACKING_TARGETS)
    metrics = {"bits_tracking_uncalibrated": uncalibrated, "bits_tracking_requested_vs_realised": tracking,
               "bits_tracking_max_abs_error": max(abs(float(k) - v) for k, v in tracking.items())}
    if mode == "inclusion":
        ex = scrambler.explain(x_check, target_bits=0.5, n_samples=16, seed=seed)
        y, m = ex.prediction.astype(float), ex.mean_sample_prediction.astype(float)
        spread = float(np.sum((y - y.mean()) ** 2))
        metrics["sample_agreement_0.5_bits"] = {
            "r2": 1 - float(np.sum((y - m) ** 2)) / spread if spread > 0 else None,
            "median_abs_error": float(np.median(np.abs(y - m)))}
    return metrics


def train_user_scrambler(predictor: Predictor, sequences, *, mode="inclusion", epochs=None, seed=0,
                         progress=None, time_limit=None, checkpoint=None, settings=None, calibrate=True,
                         log=None, source=None):
    """Train a small bits-conditioned scrambler for an uploaded predictor.

    The sequences are shuffled with ``seed``; a tenth (4 to 128) is held out
    to track requested vs realised bits after each epoch and, at the end, to
    calibrate the bits channel and measure it. At most
    ``settings["max_training_sequences"]`` (4,000) of the rest are used.

    Parameters
    ----------
    predictor : Predictor
        Fixed sequence length L and alphabet size A.
    sequences : list of str or np.ndarray (N, L, A)
        At least :data:`MIN_TRAINING_SEQUENCES`; no labels needed.
    mode : {"inclusion", "occlusion"}
    epochs : int, optional
        Default ``USER_TRAINING_SETTINGS["epochs"]`` (5).
    seed : int
    progress : callable(epoch, step, steps, logs), optional
        Called every 10 steps and at each epoch's last step; ``epoch`` and
        ``step`` count from 0, ``steps`` is steps per epoch, and ``logs`` is a
        dict of running means over the epoch so far: ``loss`` (total),
        ``prediction_loss`` (the prediction term), ``bits`` (realised mean
        conservation of the PSSMs, bits per position) and ``bits_error`` (mean
        ``|realised - requested|`` bits).
    time_limit : float, optional
        Stop training after this many seconds (the finished scrambler is returned).
    checkpoint : str or Path, optional
        Save after every epoch and resume from it.
    settings : dict, optional
        Overrides of :data:`USER_TRAINING_SETTINGS`.
    calibrate : bool
        Calibrate the bits channel on held-out sequences (a few seconds).
    log : callable(str), optional
        Receives one JSON line per epoch; default silent.
    source : dict, optional
        Extra entries for the card's ``data`` (e.g. file name and file SHA-256).

    Returns
    -------
    scrambler : Scrambler
        ``scrambler.card`` is the model card: ``data`` (number of sequences,
        their SHA-256, split), ``seed``, ``settings``, ``history``,
        ``metrics_held_out``, ``training_seconds`` and ``seconds``.
    history : list of dict
        Per epoch: ``epoch``, ``loss``, ``prediction_loss``, ``mean_bits``,
        ``bits_error``, ``seconds``, ``tracking`` ({target: realised bits}).

    Raises
    ------
    ValueError
        Unknown mode, or a predictor without a fixed length.
    SequenceError
        Too few sequences, or a sequence that does not fit the predictor.
    """
    started = time.time()
    options, x_all = _user_training_inputs(predictor, sequences, mode, epochs, settings)
    x_train, x_valid = (x_all[indices] for indices in _split(len(x_all), seed, options))
    batch_size = min(int(options["batch_size"]), len(x_train))
    scrambler, history = train_scrambler(
        predictor, x_train, mode=mode, bits_conditioned=True, bits_range=tuple(options["bits_range"]),
        bits_schedule=tuple(options["bits_schedule"]), epochs=options["epochs"], batch_size=batch_size,
        n_samples=int(options["n_samples"]), learning_rate=float(options["learning_rate"]),
        penalty_weight=_penalty_weights(options), network_options=dict(options["network_options"]),
        seed=seed, validation=x_valid[:64], checkpoint=checkpoint, progress=progress,
        log=log or (lambda message: None), time_limit=time_limit)
    metrics = _held_out_metrics(scrambler, x_valid, mode, seed) if calibrate else {}
    data = {"n_sequences": len(x_all), "sha256": _sequences_sha256(decode(x_all, predictor.alphabet)),
            "sha256_of": "the sequences (cleaned, upper case) joined by newlines, in upload order",
            "n_train": len(x_train), "n_validation": len(x_valid), **(source or {})}
    scrambler.card = _user_scrambler_card(predictor, mode, {
        "data": data, "seed": seed,
        "settings": {**options, "batch_size": batch_size, "mode": mode,
                     "penalty_weight_per_epoch": _penalty_weights(options)},
        "history": history, "metrics_held_out": metrics,
        "training_seconds": history[-1]["seconds"] if history else 0.0,
        "seconds": round(time.time() - started, 1)})
    return scrambler, history


def _user_training_inputs(predictor: Predictor, sequences, mode, epochs, settings):
    """Check the request and one-hot the sequences: the training options and ``x`` (N, L, A)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if predictor.sequence_length is None:
        raise ValueError(f"predictor {predictor.name!r} has no fixed sequence length; a scrambler needs one")
    options = {**USER_TRAINING_SETTINGS, **(settings or {})}
    if epochs is not None:
        options["epochs"] = int(epochs)
    x_all = predictor.to_onehot(sequences)
    if len(x_all) < MIN_TRAINING_SEQUENCES:
        raise SequenceError(f"{len(x_all)} sequences given; training a scrambler needs at least "
                            f"{MIN_TRAINING_SEQUENCES}")
    return options, x_all


def _user_scrambler_card(predictor: Predictor, mode, training) -> dict:
    """The card of a scrambler trained on uploads (strict JSON): identity of the predictor plus ``training``."""
    identity = {
        "predictor_sha256": _file_sha256(predictor.path),
        "predictor_summary": {k: v for k, v in describe_predictor(predictor).items()
                              if k not in ("alphabet_ambiguous", "name")},
        "mode": mode,
        "bits_conditioned": True,
    }
    card = scrambler_card(f"{predictor.name}_{mode}", predictor.name, identity=identity, training=training,
                          command="scrambler_core.user_models.train_user_scrambler")
    return _json_ready(card.to_dict())


# ============================================================================ downloads

def scrambler_to_bytes(scrambler: Scrambler) -> bytes:
    """The scrambler network as the bytes of a ``.keras`` file (the card is not included).

    Returns
    -------
    bytes
        Load them back with :func:`scrambler_from_bytes` (or write them to
        ``NAME.keras`` and use ``load_scrambler(path, predictor=...)``).
    """
    with tempfile.TemporaryDirectory(prefix="scrambler-") as tmp:
        path = Path(tmp) / "scrambler.keras"
        scrambler.network.save(path)
        return path.read_bytes()


def scrambler_from_bytes(data: bytes, predictor: Predictor, directory=None, *, file_name="scrambler.keras",
                         card=None) -> Scrambler:
    """Load scrambler bytes (a ``.keras`` file) for ``predictor``, with safe mode.

    Parameters
    ----------
    data : bytes
    predictor : Predictor
        The model the scrambler explains (length and alphabet must match).
    directory : str or Path, optional
        Where the file is written (kept there unless it is refused); default a
        temporary directory that is removed again.
    file_name : str
    card : dict, optional
        Model card to attach.

    Returns
    -------
    Scrambler

    Raises
    ------
    ModelFileError
        Not a Keras file, not a scrambler, or one for another length/alphabet.
    """
    if directory is not None:
        path = save_upload(file_name, data, directory)
        try:
            scrambler = load_scrambler(str(path), predictor=predictor)
        except Exception:
            path.unlink(missing_ok=True)  # keep nothing that was refused
            raise
    else:
        with tempfile.TemporaryDirectory(prefix="scrambler-") as tmp:
            path = save_upload(file_name, data, tmp)
            scrambler = load_scrambler(str(path), predictor=predictor)
            scrambler.path = None
    if card is not None:
        scrambler.card = card
    return scrambler


def card_to_json(card: dict) -> bytes:
    """A model card as indented, strict JSON bytes (NaN becomes null), ready for a download."""
    return (json.dumps(_json_ready(card), indent=2, allow_nan=False) + "\n").encode("utf-8")
