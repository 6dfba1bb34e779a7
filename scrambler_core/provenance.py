"""Provenance of every result: package versions, weights fingerprints, command, settings, time.

One record, built by :func:`provenance`, goes into the batch manifest, the Parquet schema metadata of
batch shards and of ``explain`` / ``attribute`` / ``predict`` outputs, and the CSV outputs' companion
``.provenance.json``. The weights fingerprint is a SHA-256 over a model's weight arrays (names, shapes
and bytes), so it identifies what was loaded whether it came from a file, the package or a notebook.

>>> from scrambler_core.provenance import provenance
>>> record = provenance(predictor, scrambler, settings={"target_bits": 0.5})
>>> record["predictor"]["weights_sha256"][:12]
"""
from __future__ import annotations

import hashlib
import json
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata

__all__ = ["METADATA_KEY", "package_versions", "parquet_metadata", "provenance", "read_parquet_provenance",
           "weights_fingerprint"]

METADATA_KEY = b"scrambler_explorer.provenance"
_PACKAGES = ("tensorflow", "keras", "numpy", "pandas", "pyarrow")


def package_versions() -> dict:
    """Versions of Python, scrambler_core and the libraries that shape results ({name: version})."""
    from . import __version__
    versions = {"python": platform.python_version(), "scrambler_core": __version__}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def weights_fingerprint(model) -> str | None:
    """Hex SHA-256 of a Keras model's weights (variable paths, shapes, dtypes and bytes), or None.

    Parameters
    ----------
    model : keras.Model, or an object with a ``.model`` / ``.network`` attribute holding one
        (a :class:`~scrambler_core.predictors.base.Predictor`, a :class:`~scrambler_core.scrambler.Scrambler`).
    """
    inner = getattr(model, "network", None) or getattr(model, "model", None) or model
    weights = getattr(inner, "weights", None)
    if weights is None:
        return None
    digest = hashlib.sha256()
    for variable in weights:
        value = variable.numpy()
        name = getattr(variable, "path", None) or getattr(variable, "name", "")
        digest.update(f"{name}|{value.shape}|{value.dtype}|".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _model_record(model, kind: str) -> dict | None:
    """{name, path, weights_sha256, class} of a predictor or scrambler (None when not given)."""
    if model is None:
        return None
    record = {"name": getattr(model, "name", None) or type(model).__name__, "class": type(model).__name__,
              "path": getattr(model, "path", None), "weights_sha256": weights_fingerprint(model)}
    if kind == "scrambler":
        record["name"] = getattr(getattr(model, "predictor", None), "name", record["name"])
        record["mode"] = getattr(model, "mode", None)
        record["bits_conditioned"] = bool(getattr(getattr(model, "network", None), "bits_conditioned", False))
    return record


def provenance(predictor=None, scrambler=None, *, settings=None, command=None) -> dict:
    """The provenance record of a result (JSON-serialisable).

    Parameters
    ----------
    predictor : Predictor or keras.Model, optional
    scrambler : Scrambler, optional
    settings : dict, optional
        What the result depends on besides the models (method, mode, target bits, samples, seed...).
    command : str or list of str, optional
        The command line; default ``sys.argv`` when run as a command (``None`` in a notebook).

    Returns
    -------
    dict
        ``{"created", "versions", "command", "settings", "predictor", "scrambler"}``; ``predictor`` and
        ``scrambler`` hold ``name``, ``path`` and ``weights_sha256``.
    """
    if isinstance(command, (list, tuple)):
        command = " ".join(str(c) for c in command)
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": package_versions(),
        "command": command,
        "settings": json.loads(json.dumps(settings or {}, default=str)),
        "predictor": _model_record(predictor, "predictor"),
        "scrambler": _model_record(scrambler, "scrambler"),
    }


def command_line() -> str:
    """The running command as typed (``python -m scrambler_core explain ...``)."""
    argv = list(sys.argv)
    if argv and argv[0].endswith(("__main__.py", "cli.py")):
        argv[0] = "python -m scrambler_core"
    return " ".join(argv)


def parquet_metadata(record: dict) -> dict:
    """Parquet schema metadata holding ``record`` as JSON under :data:`METADATA_KEY` ({bytes: bytes})."""
    return {METADATA_KEY: json.dumps(record, sort_keys=True).encode()}


def read_parquet_provenance(path) -> dict | None:
    """The provenance record stored in a Parquet file's schema metadata (None when it has none)."""
    import pyarrow.parquet as pq
    metadata_ = pq.read_schema(path).metadata or {}
    raw = metadata_.get(METADATA_KEY)
    return json.loads(raw) if raw else None
