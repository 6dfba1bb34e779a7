"""Predictors by name: the built-in and published names, where the published files are, and loading any of them.

``load_predictor`` dispatches to :mod:`.builtin` (weights trained by this project), :mod:`.published`
(weights read from ``path=`` or ``$SCRAMBLER_MODELS_DIR``) or a user's ``.keras`` file.
"""
from __future__ import annotations

import os
import weakref
from dataclasses import dataclass
from pathlib import Path

from .base import BasePredictor, ModelFileError, Predictor, infer_output_kind, load_keras_model
from .builtin import BUILTIN_SPECS, load_builtin, weights_path
from .published import APARENT2_SOURCE, OPTIMUS_SOURCE, PPI_SOURCE, load_aparent2, load_optimus5, load_ppi

BUILTIN_PREDICTORS = tuple(BUILTIN_SPECS)                                       # ("utr5", "polya", "binder")
PAIR_BUILTINS = tuple(name for name, spec in BUILTIN_SPECS.items() if spec.pair)  # read two sequences
EXTERNAL_PREDICTORS = ("optimus5", "aparent2", "ppi")
MODELS_DIR_VARIABLE = "SCRAMBLER_MODELS_DIR"


@dataclass(frozen=True)
class ExternalModel:
    """What the project knows about one published model family.

    Attributes
    ----------
    name : str — the name for ``load_predictor``
    title : str — shown to users
    files : tuple of str — original file names, the preferred one first
    source : str — where users get the files
    licence : str
    """

    name: str
    title: str
    files: tuple
    source: str
    licence: str


EXTERNAL_MODELS = {
    "optimus5": ExternalModel(
        "optimus5", "Optimus 5-Prime (Sample et al. 2019): mean ribosome load of a 50-nt 5'UTR",
        ("retrained_evolution_model.hdf5", "evolution_model.hdf5"), OPTIMUS_SOURCE, "GPL-3.0"),
    "aparent2": ExternalModel(
        "aparent2", "APARENT2 (Linder et al.): proximal isoform proportion of a 205-nt PAS window",
        ("aparent_all_libs_resnet_no_clinvar_wt_ep_5_var_batch_size_inference_mode_no_drop.h5",
         "aparent_all_libs_resnet_no_clinvar_wt_ep_5_var_batch_size_inference_mode.h5",
         "aparent_all_libs_resnet_no_clinvar_wt_ep_5.h5", "aparent_all_libs_resnet_ep_5.h5"),
        APARENT2_SOURCE, "MIT"),
    "ppi": ExternalModel(
        "ppi", "Coiled-coil heterodimer binder (Linder et al., Fig S5): probability that two peptides bind",
        ("ppi_rnn_baker_big_set_5x_negatives_classifier_symmetric_drop_25_5x_negatives_balanced_partitioned_"
         "data_epoch_10.h5",), PPI_SOURCE, "MIT"),
}
LOADERS = {"optimus5": load_optimus5, "aparent2": load_aparent2, "ppi": load_ppi}


# ============================================================================ published files

def models_directory() -> Path | None:
    """The directory named by ``SCRAMBLER_MODELS_DIR``, or None when unset."""
    value = os.environ.get(MODELS_DIR_VARIABLE, "").strip()
    return Path(value).expanduser() if value else None


def find_model_file(name, directory=None) -> Path | None:
    """Find an external model's weights file by its original name.

    Parameters
    ----------
    name : {"optimus5", "aparent2", "ppi"}
    directory : path, optional — default ``$SCRAMBLER_MODELS_DIR``; searched recursively

    Returns
    -------
    Path or None — the preferred file that exists (see ``EXTERNAL_MODELS[name].files``)
    """
    info = EXTERNAL_MODELS[name]
    directory = Path(directory) if directory else models_directory()
    if directory is None or not directory.is_dir():
        return None
    for file_name in info.files:
        direct = directory / file_name
        if direct.is_file():
            return direct
    found = {}
    for path in sorted(directory.rglob("*.h*5")):
        if path.name in info.files and path.is_file():
            found.setdefault(path.name, path)
    for file_name in info.files:
        if file_name in found:
            return found[file_name]
    return None


def available_external(directory=None) -> dict:
    """External models found on disk.

    Returns
    -------
    dict name -> Path, for the names in ``EXTERNAL_PREDICTORS`` whose files were found
    """
    out = {}
    for name in EXTERNAL_PREDICTORS:
        path = find_model_file(name, directory)
        if path is not None:
            out[name] = path
    return out


def how_to_get(name=None) -> str:
    """A short text telling users where the external model files come from and where to put them."""
    names = [name] if name else list(EXTERNAL_PREDICTORS)
    lines = []
    for n in names:
        info = EXTERNAL_MODELS[n]
        lines.append(f"- {n}: {info.title}. File: {info.files[0]} from {info.source} ({info.licence}).")
    return ("Put the files (any sub-folder) in a directory and set the environment variable "
            f"{MODELS_DIR_VARIABLE} to it before starting, or pass path=... to load_predictor.\n"
            + "\n".join(lines))


def resolve_model_path(name, path=None) -> Path:
    """The weights file of an external model: ``path`` or the one found in ``$SCRAMBLER_MODELS_DIR``.

    Raises
    ------
    ModelFileError — naming what is missing and how to get it
    """
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise ModelFileError(f"{name}: model file not found: {path}")
        return path
    found = find_model_file(name)
    if found is None:
        directory = models_directory()
        where = (f"{MODELS_DIR_VARIABLE}={directory} holds no {EXTERNAL_MODELS[name].files[0]}" if directory
                 else f"{MODELS_DIR_VARIABLE} is not set")
        raise ModelFileError(f"{name} needs its published weights file and {where}.\n{how_to_get(name)}")
    return found


# ============================================================================ loading

def load_external(name, path=None, **options):
    """Load one published model by name (see ``EXTERNAL_PREDICTORS``); ``options`` go to its loader.

    Parameters
    ----------
    name : {"optimus5", "aparent2", "ppi"}
    path : str or Path, optional — its weights file; default: found in ``$SCRAMBLER_MODELS_DIR``

    Returns
    -------
    Predictor, Aparent2Predictor or PairPredictor
    """
    if name not in LOADERS:
        raise ModelFileError(f"unknown external model {name!r}; choose one of {', '.join(EXTERNAL_PREDICTORS)}")
    return LOADERS[name](resolve_model_path(name, path), **options)


def _alphabet_for_channels(channels):
    return {4: "dna", 20: "protein"}.get(int(channels))


def load_predictor(name_or_path, *, path=None, alphabet=None, output_kind=None, output_index=0,
                   name=None) -> BasePredictor:
    """Load a built-in predictor by name, a published model by name, or a Keras model file by path.

    Parameters
    ----------
    name_or_path : str or Path
        ``"utr5"``, ``"polya"``, ``"binder"`` (built-in, trained by this project; ``binder`` reads
        pairs of peptides and returns a :class:`PairPredictor`), ``"optimus5"``, ``"aparent2"``,
        ``"ppi"`` (published models read from ``path`` or ``$SCRAMBLER_MODELS_DIR``, see
        :mod:`scrambler_core.predictors.published`) or a path to a ``.keras`` file.
    path : str or Path, optional
        The weights file of a published model (its original ``.h5``/``.hdf5``).
    alphabet, output_kind : str, optional
        Override what is inferred from the model (4 channels: DNA, 20: protein;
        last activation sigmoid/softmax/else regression).
    output_index : int
        Softmax models: the class ``predict`` reports.

    Returns
    -------
    Predictor or PairPredictor
        ``predictor.is_pair`` says which.

    Raises
    ------
    ModelFileError
        Unknown name, unreadable file, unsafe file, or shapes that do not fit.
    """
    key = str(name_or_path)
    if key in BUILTIN_PREDICTORS:
        return load_builtin(key)
    if key in EXTERNAL_PREDICTORS:
        return _load_external(key, path)
    path = Path(key)
    if not path.suffix:
        raise ModelFileError(f"unknown predictor {key!r}: built-ins are {', '.join(BUILTIN_PREDICTORS)}, "
                             f"published models {', '.join(EXTERNAL_PREDICTORS)} (with path= or "
                             "$SCRAMBLER_MODELS_DIR), or give the path of a .keras file")
    return _wrap_keras_model(load_keras_model(path), name=name or path.stem, what=path.name, alphabet=alphabet,
                             output_kind=output_kind, output_index=output_index, path=path)


def _wrap_keras_model(model, *, name, what, alphabet=None, output_kind=None, output_index=0, path=None):
    """A :class:`Predictor` around a one-input Keras model (N, L, A) -> output, after checking its shapes."""
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 3:
        raise ModelFileError(f"{what}: expected one input of shape (N, L, A); the model has inputs "
                             f"{[tuple(i.shape) for i in model.inputs]}")
    channels = model.inputs[0].shape[-1]
    alphabet = alphabet or _alphabet_for_channels(channels)
    if alphabet is None:
        raise ModelFileError(f"{what}: input has {channels} channels per position; expected 4 (DNA/RNA) "
                             "or 20 (protein)")
    return Predictor(model, name=name, alphabet=alphabet, output_kind=output_kind or infer_output_kind(model),
                     output_index=output_index, path=path)


# keras.Model -> {options: Predictor}; the Predictor holds its model, so a wrapped model stays alive (one small
# wrapper per model a session passes in, which keeps its compiled functions from being traced again)
_WRAPPED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def as_predictor(model, *, alphabet=None, output_kind=None, output_index=0, name=None) -> BasePredictor:
    """A predictor from what a notebook user holds: a Predictor, a ``keras.Model`` or a name/path.

    Parameters
    ----------
    model : Predictor, PairPredictor, keras.Model (one input (N, L, A)), or str / Path
        (see :func:`load_predictor`).
    alphabet, output_kind, output_index, name : optional
        For a ``keras.Model``: override what is inferred (4 channels DNA, 20 protein; the last
        activation decides sigmoid / softmax / regression); ``name`` defaults to ``model.name``.

    Returns
    -------
    Predictor or PairPredictor

    Examples
    --------
    >>> predictor = as_predictor(keras_model)           # tangermeme / captum style: pass the model
    """
    if isinstance(model, BasePredictor):
        return model
    if isinstance(model, (str, Path)):
        return load_predictor(model, alphabet=alphabet, output_kind=output_kind, output_index=output_index,
                              name=name)
    if hasattr(model, "inputs") and hasattr(model, "layers") and callable(model):
        key = (alphabet, output_kind, output_index, name)
        cached = _WRAPPED.get(model, {}).get(key)
        if cached is None:      # one Predictor per model and options: its compiled functions are reused
            label = name or getattr(model, "name", None) or "model"
            cached = _wrap_keras_model(model, name=label, what=f"keras model {label!r}", alphabet=alphabet,
                                       output_kind=output_kind, output_index=output_index)
            _WRAPPED.setdefault(model, {})[key] = cached
        return cached
    raise TypeError(f"expected a Predictor, a keras.Model or a predictor name/path, got {type(model).__name__}")


_EXTERNAL_CACHE: dict = {}


def _load_external(name, path=None):
    """Published model by name; cached per resolved file (path, size, modification time)."""
    resolved = resolve_model_path(name, path).resolve()
    stat = resolved.stat()
    key = (name, str(resolved), stat.st_size, stat.st_mtime_ns)
    if key not in _EXTERNAL_CACHE:
        _EXTERNAL_CACHE[key] = load_external(name, resolved)
    return _EXTERNAL_CACHE[key]


def list_predictors(published=True) -> list[str]:
    """Names of the predictors ready to load: the built-ins whose weights are present, then (with
    ``published``) the published models whose files are found in ``$SCRAMBLER_MODELS_DIR``."""
    names = [n for n in BUILTIN_PREDICTORS if weights_path(n).exists()]
    return names + (list(available_external()) if published else [])


def list_external() -> dict:
    """Published models whose files are in ``$SCRAMBLER_MODELS_DIR``: name -> Path."""
    return available_external()
