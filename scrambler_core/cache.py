"""On-disk cache of expensive results (explanations, attributions, benchmarks) for the app.

Three pieces:

* :func:`fingerprint` — a sha256 that identifies a model by its weights and
  configuration (memoised on the object, so it is cheap on every request);
* :func:`cache_key` — a stable sha256 of request parts (strings, numbers,
  arrays, dicts, models...);
* :class:`ResultCache` — ``get_or_compute(key, compute)`` over a ``diskcache``
  directory that survives restarts, never serves a damaged entry and never
  lets a cache problem break the computation.

>>> from scrambler_core.cache import ResultCache, cache_key
>>> cache = ResultCache()                                     # doctest: +SKIP
>>> key = cache_key("explain", scrambler, sequence, 0.5)     # doctest: +SKIP
>>> ex = cache.get_or_compute(key, lambda: scrambler.explain([sequence], 0.5))  # doctest: +SKIP

Entries are pickles: only point ``SCRAMBLER_CACHE_DIR`` at a directory that
nobody else can write to.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import pickle
import sqlite3
import threading
import weakref
from pathlib import Path, PurePath

import numpy as np

__all__ = ["fingerprint", "cache_key", "call_key", "cached_call", "ResultCache", "default_cache_dir", "FLOAT_DIGITS"]

log = logging.getLogger(__name__)

FLOAT_DIGITS = 12        # floats are keyed by their value rounded to this many significant digits
_FINGERPRINT_ATTR = "_scrambler_cache_fingerprint"
_MAGIC = b"scrambler-cache-v1\n"
_DIGEST_SIZE = hashlib.sha256().digest_size
_MISSING = object()


# ============================================================================ keys

def _float_text(value) -> str:
    """Canonical text of a float: rounded to FLOAT_DIGITS significant digits, -0.0 as 0.0."""
    x = float(value)
    if math.isnan(x):
        return "nan"
    if x == 0.0:
        return "0.0"
    return repr(float(f"{x:.{FLOAT_DIGITS}g}"))  # inf stays inf


def _sized(tag: bytes, data: bytes) -> bytes:
    return tag + str(len(data)).encode() + b":" + data


def _is_model(obj) -> bool:
    """Predictor, Scrambler or Keras model (things :func:`fingerprint` knows)."""
    return _model_kind(obj) is not None


def _encode(obj, where) -> bytes:
    """Unambiguous bytes for one key part (tagged and length-prefixed).

    Raises
    ------
    TypeError
        For a type that has no stable encoding; names where it is in the parts.
    """
    if obj is None:
        return b"N"
    if isinstance(obj, (bool, np.bool_)):
        return b"B1" if obj else b"B0"
    if isinstance(obj, (int, np.integer)):
        return _sized(b"I", str(int(obj)).encode())
    if isinstance(obj, (float, np.floating)):
        return _sized(b"F", _float_text(obj).encode())
    if isinstance(obj, str):
        return _sized(b"S", obj.encode("utf-8", "surrogatepass"))
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return _sized(b"Y", bytes(obj))
    if isinstance(obj, PurePath):
        return _sized(b"P", str(obj).encode("utf-8", "surrogatepass"))
    if isinstance(obj, np.ndarray):
        return _encode_array(obj, where)
    if isinstance(obj, (list, tuple)):
        return _sized(b"L", b"".join(_encode(v, f"{where}[{i}]") for i, v in enumerate(obj)))
    if isinstance(obj, dict):
        items = sorted((_encode(k, f"{where} key"), _encode(v, f"{where}[{k!r}]")) for k, v in obj.items())
        return _sized(b"D", b"".join(k + v for k, v in items))
    if isinstance(obj, (set, frozenset)):
        return _sized(b"T", b"".join(sorted(_encode(v, f"{where} item") for v in obj)))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        return _sized(b"C", _sized(b"S", type(obj).__qualname__.encode()) + _encode(fields, where))
    if _is_model(obj):
        return _sized(b"M", fingerprint(obj).encode())
    raise TypeError(f"cache_key parts must be str, int, float, bool, None, bytes, Path, tuple/list, dict, set, "
                    f"numpy array, dataclass, Predictor, Scrambler or Keras model; got "
                    f"{type(obj).__name__} at {where}")


def _encode_array(arr, where) -> bytes:
    if arr.dtype.hasobject:
        items = b"".join(_encode(v, f"{where}[{i}]") for i, v in enumerate(arr.ravel().tolist()))
        return _sized(b"O", repr(arr.shape).encode() + b"|" + items)
    header = f"{arr.dtype.str}|{arr.shape}|".encode()
    return _sized(b"A", header + np.ascontiguousarray(arr).tobytes())


def cache_key(*parts) -> str:
    """Stable sha256 hex digest of request parts, the same in every process and session.

    Parameters
    ----------
    *parts
        Any of: str, int, float, bool, None, bytes, Path, tuple/list (the
        same key for both), dict (keys sorted), set, numpy array (dtype, shape
        and bytes — exact, no rounding), a dataclass (by its fields), or a
        Predictor / Scrambler / Keras model (by :func:`fingerprint`); nested freely.
        Types stay apart: ``1``, ``1.0``, ``True`` and ``"1"`` are four keys.

    Returns
    -------
    str
        64 hex characters.

    Notes
    -----
    Python and numpy floats are keyed by their value rounded to
    ``FLOAT_DIGITS`` (12) significant digits, so slider noise such as
    ``0.1 + 0.2`` (0.30000000000000004) and ``0.3`` share a key; ``-0.0`` and
    ``0.0`` share one too. A float32 scalar keeps its float32 error
    (``np.float32(0.3)`` is 0.300000011921 here, not 0.3).

    Raises
    ------
    TypeError
        A part of another type (the message says where it is).
    """
    digest = hashlib.sha256(b"scrambler-cache-key-v1\n")
    for i, part in enumerate(parts):
        digest.update(_encode(part, f"parts[{i}]"))
    return digest.hexdigest()


# ============================================================================ fingerprints

def _model_kind(obj):
    """"scrambler", "predictor", "keras" or None, by duck typing (no TensorFlow import)."""
    if hasattr(obj, "network") and hasattr(obj, "predictor"):
        return "scrambler"
    if hasattr(obj, "model") and hasattr(obj, "alphabet") and hasattr(obj, "output_kind"):
        return "predictor"
    if hasattr(obj, "get_weights") and hasattr(obj, "layers"):
        return "keras"
    return None


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return f"<{type(value).__qualname__}>"  # never an address: stable across loads


def _config_text(layer) -> str:
    """A layer's config as sorted JSON, without its (auto-generated) top-level name."""
    try:
        config = dict(layer.get_config())
    except Exception:  # custom layers without get_config
        config = {}
    config.pop("name", None)
    return type(layer).__qualname__ + json.dumps(config, sort_keys=True, default=_json_default)


def _update_with_model(digest, model):
    """Feed a Keras model's architecture (layer classes and configs) and weights into ``digest``."""
    digest.update(_sized(b"S", _config_text(model).encode()))
    for layer in getattr(model, "layers", []):
        digest.update(_sized(b"S", _config_text(layer).encode()))
    for weight in model.get_weights():
        weight = np.asarray(weight)
        digest.update(_sized(b"W", f"{weight.dtype.str}|{weight.shape}|".encode()))
        digest.update(np.ascontiguousarray(weight).tobytes())


def _compute_fingerprint(obj, kind) -> str:
    digest = hashlib.sha256(f"scrambler-fingerprint-v1|{kind}\n".encode())
    if kind == "scrambler":
        digest.update(_encode(["mode", getattr(obj, "mode", None), "predictor", fingerprint(obj.predictor)], "scrambler"))
        _update_with_model(digest, obj.network)
    elif kind == "predictor":
        alphabet = obj.alphabet
        config = [obj.name, getattr(alphabet, "name", str(alphabet)), getattr(alphabet, "letters", str(alphabet)),
                  obj.output_kind, getattr(obj, "output_index", 0), getattr(obj, "sequence_length", None)]
        digest.update(_encode(config, "predictor"))
        _update_with_model(digest, obj.model)
    else:
        _update_with_model(digest, obj)
    return digest.hexdigest()


def fingerprint(obj, refresh=False) -> str:
    """sha256 hex digest identifying a model by its weights and configuration.

    Parameters
    ----------
    obj : Predictor, Scrambler or keras.Model
        Predictor: name, alphabet, output kind and index, sequence length, the
        model's layer classes and configs (without layer names) and every
        ``get_weights()`` array (dtype, shape, bytes, in order). Scrambler:
        its mode, its network's config and weights, and its predictor's fingerprint.
    refresh : bool
        Recompute even if a fingerprint is memoised on ``obj``.

    Returns
    -------
    str
        64 hex characters; equal for two loads of the same model file.

    Notes
    -----
    Computed once and memoised on the object (a private attribute), because
    it is needed on every request: models are treated as frozen. After
    changing weights in place, call with ``refresh=True``.

    Raises
    ------
    TypeError
        For an object that is not a Predictor, Scrambler or Keras model.
    """
    kind = _model_kind(obj)
    if kind is None:
        raise TypeError(f"fingerprint expects a Predictor, Scrambler or keras.Model, got {type(obj).__name__}")
    if not refresh:
        memo = getattr(obj, "__dict__", {}).get(_FINGERPRINT_ATTR)
        if isinstance(memo, str):
            return memo
    value = _compute_fingerprint(obj, kind)
    try:
        object.__setattr__(obj, _FINGERPRINT_ATTR, value)  # bypasses Keras attribute tracking
    except (AttributeError, TypeError):
        pass
    return value


# ============================================================================ stored format

def _pack(value) -> bytes:
    """Pickle with a checksum: MAGIC + sha256(payload) + payload."""
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _MAGIC + hashlib.sha256(payload).digest() + payload


class _Corrupt(Exception):
    """A stored entry that cannot be trusted."""


def _unpack(blob):
    """Value from :func:`_pack` bytes; _Corrupt for anything else, truncated or altered."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise _Corrupt(f"stored a {type(blob).__name__}, expected checksummed bytes")
    blob = bytes(blob)
    head = len(_MAGIC) + _DIGEST_SIZE
    if len(blob) < head or not blob.startswith(_MAGIC):
        raise _Corrupt("missing header")
    payload = blob[head:]
    if hashlib.sha256(payload).digest() != blob[len(_MAGIC):head]:
        raise _Corrupt(f"checksum mismatch ({len(payload)} payload bytes)")
    try:
        return pickle.loads(payload)
    except Exception as err:  # a class that moved or changed since the entry was written
        raise _Corrupt(f"cannot unpickle: {type(err).__name__}: {err}") from None


def default_cache_dir() -> Path:
    """``$SCRAMBLER_CACHE_DIR`` if set, else ``~/.cache/scrambler-explorer``."""
    value = os.environ.get("SCRAMBLER_CACHE_DIR")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "scrambler-explorer"


# ============================================================================ cache

class ResultCache:
    """Results on disk, keyed by :func:`cache_key`, safe against damaged or unwritable storage.

    Parameters
    ----------
    directory : str or Path, optional
        Default :func:`default_cache_dir`: ``$SCRAMBLER_CACHE_DIR`` or
        ``~/.cache/scrambler-explorer``. Created if needed.
    size_limit : int
        Bytes on disk; the least recently stored entries are evicted beyond it.
    timeout : float
        Seconds to wait for the database lock before giving up on one read or write.

    Notes
    -----
    Each entry is a pickle with a sha256 checksum. A read that finds the entry
    truncated, altered, unreadable, of an unexpected type or rejected by
    ``validate`` deletes it and recomputes. When the directory cannot be
    created or written (read-only, disk full), the cache logs one warning,
    becomes unusable and every call just computes. Usable from several threads
    (Streamlit sessions) and processes: diskcache is thread- and process-safe,
    and concurrent calls for the same key in one process compute it once.
    """

    def __init__(self, directory=None, size_limit=2**30, timeout=5.0):
        self.directory = Path(directory).expanduser() if directory is not None else default_cache_dir()
        self.size_limit = int(size_limit)
        self._counts = {"hits": 0, "misses": 0, "recomputed_after_corruption": 0, "write_failures": 0}
        self._counts_lock = threading.Lock()
        self._key_locks = weakref.WeakValueDictionary()
        self._key_locks_guard = threading.Lock()
        self.unusable_reason = None
        self._cache = self._open(timeout)

    def __repr__(self):
        state = "usable" if self.usable else f"unusable: {self.unusable_reason}"
        return f"ResultCache({str(self.directory)!r}, {state})"

    # ------------------------------------------------------------------ state
    @property
    def usable(self) -> bool:
        """False once the directory proved unwritable; calls then just compute."""
        return self._cache is not None

    def _open(self, timeout):
        import diskcache

        try:
            return diskcache.Cache(str(self.directory), size_limit=self.size_limit, timeout=timeout)
        except (OSError, sqlite3.Error, diskcache.Timeout) as err:
            self._disable(f"cannot open {self.directory}: {type(err).__name__}: {err}")
            return None

    def _disable(self, reason):
        with self._counts_lock:
            first = self.unusable_reason is None
            self.unusable_reason = reason
            cache, self._cache = getattr(self, "_cache", None), None
        if first:
            log.warning("result cache disabled, results will be recomputed: %s", reason)
        if cache is not None:
            try:
                cache.close()
            except Exception:  # closing a broken cache must not raise either
                pass

    def _count(self, name):
        with self._counts_lock:
            self._counts[name] += 1

    def _key_lock(self, key):
        with self._key_locks_guard:
            lock = self._key_locks.get(key)
            if lock is None:
                lock = threading.RLock()
                self._key_locks[key] = lock
            return lock

    # ------------------------------------------------------------------ reading and writing
    def _read(self, key, validate, expected_type):
        """(value, "hit") or (None, "miss") or (None, "corrupt"); never raises."""
        import diskcache

        cache = self._cache
        if cache is None:
            return None, "miss"
        try:
            blob = cache.get(key, default=_MISSING)
        except diskcache.Timeout:
            log.info("result cache busy, computing %s without it", key[:12])
            return None, "miss"
        except sqlite3.DatabaseError as err:
            self._disable(f"database unreadable: {err}")
            return None, "miss"
        except Exception as err:  # OSError, EOFError, UnpicklingError of a foreign entry...
            return self._drop(key, f"{type(err).__name__}: {err}")
        if blob is _MISSING:
            return None, "miss"
        try:
            value = _unpack(blob)
        except _Corrupt as err:
            return self._drop(key, str(err))
        problem = _check_value(value, validate, expected_type)
        if problem:
            return self._drop(key, problem)
        return value, "hit"

    def _drop(self, key, reason):
        log.warning("result cache entry %s is damaged (%s); recomputing it", key[:12], reason)
        self._delete(key)
        return None, "corrupt"

    def _delete(self, key):
        cache = self._cache
        if cache is None:
            return
        try:
            cache.delete(key)
        except Exception as err:  # diskcache.Timeout, sqlite3.Error, OSError
            log.warning("result cache could not delete entry %s: %s", key[:12], err)

    def _write(self, key, value):
        import diskcache

        cache = self._cache
        if cache is None:
            return
        try:
            blob = _pack(value)
        except Exception as err:  # unpicklable result: return it, just do not cache it
            log.warning("result for %s cannot be cached (%s: %s)", key[:12], type(err).__name__, err)
            return
        try:
            cache.set(key, blob)
        except diskcache.Timeout:
            self._count("write_failures")
            log.info("result cache busy, %s not stored", key[:12])
        except (OSError, sqlite3.Error) as err:
            self._count("write_failures")
            self._disable(f"cannot write to {self.directory}: {type(err).__name__}: {err}")

    # ------------------------------------------------------------------ public
    def get_or_compute(self, key, compute, validate=None, expected_type=None):
        """The cached value for ``key``, or ``compute()`` (then stored).

        Parameters
        ----------
        key : str
            Usually from :func:`cache_key`.
        compute : callable
            No arguments; returns the value (anything picklable). Its
            exceptions propagate and nothing is stored.
        validate : callable, optional
            ``validate(value) -> bool`` for a cached value; False (or an
            exception) deletes the entry and recomputes.
        expected_type : type or tuple of types, optional
            A cached value of another type is treated as damaged.

        Returns
        -------
        object
            The cached or freshly computed value. A freshly computed value that
            fails ``validate`` / ``expected_type`` is returned but not stored.
        """
        if not isinstance(key, str) or not key:
            raise TypeError(f"key must be a non-empty str (e.g. from cache_key), got {key!r:.80}")
        if not callable(compute):
            raise TypeError(f"compute must be a callable with no arguments, got {type(compute).__name__}")
        with self._key_lock(key):
            value, status = self._read(key, validate, expected_type)
            if status == "hit":
                self._count("hits")
                return value
            self._count("recomputed_after_corruption" if status == "corrupt" else "misses")
            value = compute()
            problem = _check_value(value, validate, expected_type)
            if problem:
                log.warning("computed result for %s is not stored: %s", key[:12], problem)
            else:
                self._write(key, value)
            return value

    def clear(self) -> int:
        """Delete every entry; returns how many were removed (0 when unusable)."""
        cache = self._cache
        if cache is None:
            return 0
        try:
            return int(cache.clear())
        except Exception as err:  # diskcache.Timeout, sqlite3.Error, OSError
            log.warning("result cache could not be cleared: %s", err)
            return 0

    def __len__(self):
        cache = self._cache
        if cache is None:
            return 0
        try:
            return len(cache)
        except Exception:  # diskcache.Timeout, sqlite3.Error
            return 0

    def stats(self) -> dict:
        """Counts since this object was made.

        Returns
        -------
        dict
            ``hits``, ``misses`` (absent entries, or the cache unusable),
            ``recomputed_after_corruption`` (damaged or rejected entries),
            ``write_failures``, ``entries`` (on disk now) and ``usable``.
        """
        with self._counts_lock:
            counts = dict(self._counts)
        return dict(counts, entries=len(self), usable=self.usable)

    def close(self):
        """Close the database connection (it reopens on the next use)."""
        cache = self._cache
        if cache is not None:
            try:
                cache.close()
            except Exception:
                pass


def _check_value(value, validate, expected_type):
    """None if the value is acceptable, else a short reason."""
    if expected_type is not None and not isinstance(value, expected_type):
        return f"value is a {type(value).__name__}, expected {expected_type}"
    if validate is None:
        return None
    try:
        ok = validate(value)
    except Exception as err:  # a validator that cannot even look at the value rejects it
        return f"validate raised {type(err).__name__}: {err}"
    return None if ok else "validate rejected the value"


# ============================================================================ one call

def call_key(kind: str, model=None, /, **params) -> str:
    """The :func:`cache_key` of one call: ``kind``, the model's fingerprint and every parameter.

    Parameters
    ----------
    kind : str
        What is computed ("explain", "predict", ...).
    model : Predictor, Scrambler, keras.Model, tuple of them or None
        Keyed by :func:`fingerprint` (so two loads of the same weights share entries).
    **params
        Every input of the computation, keyed by name (sorted, so their order does not matter);
        values of any type :func:`cache_key` encodes (models inside them by fingerprint).

    Returns
    -------
    str
        64 hex characters.
    """
    named = [item for name in sorted(params) for item in (name, params[name])]
    return cache_key(kind, model, *named)


def cached_call(cache: ResultCache, kind: str, compute, model=None, /, **params):
    """``compute()`` once per distinct ``(kind, model, params)``, kept in ``cache``.

    Parameters
    ----------
    cache : ResultCache
    kind : str
        What is computed; results of different kinds never share a key.
    compute : callable
        No arguments; called on a miss (or a damaged entry) and its value stored.
    model : Predictor, Scrambler, keras.Model, tuple of them or None
        The model(s) the result depends on, keyed by :func:`fingerprint`.
    **params
        EVERY input of ``compute`` besides the model (see :func:`call_key`).

    Returns
    -------
    object
        The cached or freshly computed value.
    """
    return cache.get_or_compute(call_key(kind, model, **params), compute)
