"""On-disk result cache: keys, fingerprints, corruption and unwritable storage."""
import errno
import logging
import sqlite3
import threading
import time

import diskcache
import numpy as np
import pytest

from scrambler_core.cache import (FLOAT_DIGITS, ResultCache, cache_key, cached_call, call_key, default_cache_dir,
                                   fingerprint)


class Counter:
    """compute() that returns a fixed value and counts its calls."""

    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


@pytest.fixture
def cache(tmp_path):
    c = ResultCache(tmp_path / "cache")
    yield c
    c.close()


def _value_files(directory):
    return [p for p in directory.rglob("*.val")]


# ============================================================================ keys

def test_cache_key_is_stable_hex_and_parts_matter():
    key = cache_key("explain", "ACGT", 0.5, 32, True, None)
    assert key == cache_key("explain", "ACGT", 0.5, 32, True, None)
    assert len(key) == 64 and int(key, 16) >= 0
    others = [cache_key("explain", "ACGA", 0.5, 32, True, None), cache_key("explain", "ACGT", 0.6, 32, True, None),
              cache_key("explain", "ACGT", 0.5, 33, True, None), cache_key("explain", "ACGT", 0.5, 32, False, None),
              cache_key("explain", "ACGT", 0.5, 32, True), cache_key("ism", "ACGT", 0.5, 32, True, None)]
    assert len({key, *others}) == len(others) + 1


def test_cache_key_types_and_grouping_stay_apart():
    assert len({cache_key(1), cache_key(1.0), cache_key(True), cache_key("1"), cache_key(b"1"), cache_key(None)}) == 6
    assert cache_key("ab", "c") != cache_key("a", "bc")
    assert cache_key(("a", "b")) != cache_key("a", "b")
    assert cache_key([1, 2]) == cache_key((1, 2))


def test_cache_key_float_noise_collapses():
    assert 0.1 + 0.2 != 0.3
    assert cache_key("bits", 0.1 + 0.2) == cache_key("bits", 0.3)
    assert cache_key(0.0) == cache_key(-0.0)
    assert cache_key(np.float64(0.3)) == cache_key(0.3)
    assert cache_key(1.0 + 10 ** -(FLOAT_DIGITS - 2)) != cache_key(1.0)  # real differences still count
    assert cache_key(0.3) != cache_key(0.31)


def test_cache_key_dicts_sorted_and_numpy_by_content():
    assert cache_key({"a": 1, "b": [2, 3]}) == cache_key({"b": [2, 3], "a": 1})
    assert cache_key({"a": 1}) != cache_key({"a": 2})
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert cache_key(x) == cache_key(x.copy()) == cache_key(np.asfortranarray(x))
    changed = x.copy()
    changed[1, 2] += 1
    assert cache_key(changed) != cache_key(x)
    assert cache_key(x.reshape(4, 3)) != cache_key(x)            # shape
    assert cache_key(x.astype(np.float64)) != cache_key(x)      # dtype
    assert cache_key(np.int64(3)) == cache_key(3)


def test_cache_key_rejects_unknown_types_saying_where():
    with pytest.raises(TypeError, match=r"got object at parts\[1\]\['x'\]"):
        cache_key("a", {"x": object()})


# ============================================================================ ResultCache

def test_hit_after_miss(cache):
    compute = Counter({"importance": np.arange(5.0)})
    first = cache.get_or_compute(cache_key("k"), compute)
    second = cache.get_or_compute(cache_key("k"), compute)
    assert compute.calls == 1
    np.testing.assert_array_equal(second["importance"], np.arange(5.0))
    assert first is compute.value and second is not compute.value  # second came from disk
    stats = cache.stats()
    assert (stats["hits"], stats["misses"], stats["recomputed_after_corruption"]) == (1, 1, 0)
    assert stats["entries"] == len(cache) == 1 and stats["usable"]


def test_entries_survive_a_new_cache_object(tmp_path):
    ResultCache(tmp_path).get_or_compute("k", Counter(41))
    again = Counter(0)
    assert ResultCache(tmp_path).get_or_compute("k", again) == 41 and again.calls == 0


def test_clear_and_len(cache):
    for i in range(3):
        cache.get_or_compute(cache_key(i), Counter(i))
    assert len(cache) == 3
    assert cache.clear() == 3 and len(cache) == 0


def test_compute_errors_propagate_and_store_nothing(cache):
    def broken():
        raise RuntimeError("model failed")

    with pytest.raises(RuntimeError, match="model failed"):
        cache.get_or_compute("k", broken)
    assert len(cache) == 0


def test_argument_errors_say_what_was_expected(cache):
    with pytest.raises(TypeError, match="key must be a non-empty str"):
        cache.get_or_compute(("a",), Counter(1))
    with pytest.raises(TypeError, match="compute must be a callable"):
        cache.get_or_compute("k", 5)


def test_truncated_value_file_is_recomputed(cache, tmp_path):
    big = np.arange(100_000, dtype=np.float64)  # 800 kB: diskcache writes it to a file
    compute = Counter(big)
    cache.get_or_compute("big", compute)
    files = _value_files(tmp_path / "cache")
    assert len(files) == 1
    data = files[0].read_bytes()
    files[0].write_bytes(data[: len(data) // 2])

    value = cache.get_or_compute("big", compute)
    assert compute.calls == 2
    np.testing.assert_array_equal(value, big)
    assert cache.stats()["recomputed_after_corruption"] == 1

    again = cache.get_or_compute("big", compute)          # the fresh value is served next time
    assert compute.calls == 2
    np.testing.assert_array_equal(again, big)
    assert cache.stats()["hits"] == 1


def test_junk_value_file_of_same_size_is_recomputed(cache, tmp_path, caplog):
    compute = Counter(np.ones(50_000))
    cache.get_or_compute("big", compute)
    (path,) = _value_files(tmp_path / "cache")
    path.write_bytes(np.random.default_rng(0).bytes(path.stat().st_size))
    with caplog.at_level(logging.WARNING, logger="scrambler_core.cache"):
        value = cache.get_or_compute("big", compute)
    assert compute.calls == 2 and np.all(value == 1.0)
    assert "damaged" in caplog.text
    assert cache.stats()["recomputed_after_corruption"] == 1


def test_deleted_value_file_is_a_plain_miss(cache, tmp_path):
    compute = Counter(np.ones(50_000))
    cache.get_or_compute("big", compute)
    (path,) = _value_files(tmp_path / "cache")
    path.unlink()
    assert np.all(cache.get_or_compute("big", compute) == 1.0) and compute.calls == 2


def test_corrupt_sqlite_row_is_recomputed(cache, tmp_path):
    compute = Counter({"small": 1})
    cache.get_or_compute("small", compute)
    cache.close()
    with sqlite3.connect(tmp_path / "cache" / "cache.db") as db:
        updated = db.execute("UPDATE Cache SET value = ? WHERE key = ?", (b"\x80\x05junk", "small")).rowcount
    assert updated == 1
    assert cache.get_or_compute("small", compute) == {"small": 1} and compute.calls == 2
    assert cache.get_or_compute("small", compute) == {"small": 1} and compute.calls == 2
    assert cache.stats()["recomputed_after_corruption"] == 1


def test_foreign_entry_of_unexpected_type_is_recomputed(cache, tmp_path):
    with diskcache.Cache(str(tmp_path / "cache")) as raw:
        raw.set("k", ["written", "by", "someone", "else"])
    compute = Counter(7)
    assert cache.get_or_compute("k", compute) == 7 and compute.calls == 1
    assert cache.stats()["recomputed_after_corruption"] == 1


def test_validate_and_expected_type_reject_cached_values(cache):
    cache.get_or_compute("k", Counter(np.zeros(3)))
    fresh = Counter(np.ones(3))
    value = cache.get_or_compute("k", fresh, validate=lambda v: v.sum() > 0)
    assert fresh.calls == 1 and value.sum() == 3
    assert cache.get_or_compute("k", fresh, validate=lambda v: v.sum() > 0).sum() == 3 and fresh.calls == 1

    typed = Counter("text")
    assert cache.get_or_compute("k", typed, expected_type=str) == "text" and typed.calls == 1

    def crashing_validator(value):
        raise KeyError("missing field")

    cache.get_or_compute("k", typed, validate=crashing_validator)
    assert typed.calls == 2
    assert cache.stats()["recomputed_after_corruption"] == 3


def test_fresh_value_failing_validate_is_returned_not_stored(cache):
    compute = Counter(-1)
    assert cache.get_or_compute("k", compute, validate=lambda v: v >= 0) == -1
    assert len(cache) == 0


def test_unpicklable_result_is_returned_not_stored(cache):
    value = threading.Lock()
    assert cache.get_or_compute("k", lambda: value) is value
    assert len(cache) == 0 and cache.usable


def test_unwritable_directory_does_not_raise(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with caplog.at_level(logging.WARNING, logger="scrambler_core.cache"):
        cache = ResultCache(blocker / "cache")
    assert not cache.usable and "disabled" in caplog.text
    compute = Counter(3)
    assert cache.get_or_compute("k", compute) == 3
    assert cache.get_or_compute("k", compute) == 3
    assert compute.calls == 2 and len(cache) == 0 and cache.clear() == 0
    assert cache.stats()["misses"] == 2 and not cache.stats()["usable"]


def test_failing_writes_disable_the_cache_once(tmp_path, monkeypatch, caplog):
    cache = ResultCache(tmp_path / "cache")

    def disk_full(self, key, value, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(diskcache.Cache, "set", disk_full)
    with caplog.at_level(logging.WARNING, logger="scrambler_core.cache"):
        assert cache.get_or_compute("a", Counter(1)) == 1
        assert cache.get_or_compute("b", Counter(2)) == 2
    assert not cache.usable and "No space left" in cache.unusable_reason
    assert caplog.text.count("disabled") == 1
    assert cache.stats()["write_failures"] == 1


def test_default_directory_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRAMBLER_CACHE_DIR", str(tmp_path / "from-env"))
    assert default_cache_dir() == tmp_path / "from-env"
    cache = ResultCache()
    assert cache.directory == tmp_path / "from-env" and cache.usable
    monkeypatch.delenv("SCRAMBLER_CACHE_DIR")
    assert default_cache_dir().parts[-2:] == (".cache", "scrambler-explorer")


def test_concurrent_requests_for_one_key_compute_once(cache):
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return "done"

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["done"] * 4 and len(calls) == 1


# ============================================================================ fingerprints

def _tiny_model(path, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 4))
    hidden = keras.layers.Conv1D(3, 3, activation="relu")(inputs)
    outputs = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(hidden))
    model = keras.Model(inputs, outputs)
    model.save(path)
    return model


def test_fingerprint_stable_across_loads_and_changes_with_a_weight(tmp_path):
    import scrambler_core as sc

    model = _tiny_model(tmp_path / "tiny.keras")
    first, second = sc.load_predictor(tmp_path / "tiny.keras"), sc.load_predictor(tmp_path / "tiny.keras")
    assert first is not second
    fp = fingerprint(first)
    assert len(fp) == 64 and fp == fingerprint(second)
    assert cache_key(first, "ACGT") == cache_key(second, "ACGT")

    weights = model.get_weights()
    weights[0][0, 0, 0] += 0.01
    model.set_weights(weights)
    model.save(tmp_path / "changed.keras")
    changed = sc.load_predictor(tmp_path / "changed.keras", name="tiny")
    assert fingerprint(changed) != fp

    assert fingerprint(sc.load_predictor(tmp_path / "tiny.keras", output_kind="sigmoid")) != fp  # config counts


def test_fingerprint_is_memoised_and_refreshable(tmp_path):
    import scrambler_core as sc

    _tiny_model(tmp_path / "tiny.keras")
    pred = sc.load_predictor(tmp_path / "tiny.keras")
    fp = fingerprint(pred)
    weights = pred.model.get_weights()
    weights[-1][0] += 1.0
    pred.model.set_weights(weights)
    assert fingerprint(pred) == fp                     # memoised: models are treated as frozen
    assert fingerprint(pred, refresh=True) != fp
    with pytest.raises(TypeError, match="expects a Predictor, Scrambler or keras.Model"):
        fingerprint("utr5")


def test_scrambler_fingerprint_includes_its_predictor(utr5_scrambler_file):
    import scrambler_core as sc

    scr = sc.load_scrambler("utr5", mode="inclusion")
    fp = fingerprint(scr)
    assert fp != fingerprint(scr.predictor)
    assert fingerprint(sc.load_scrambler("utr5", mode="inclusion"), refresh=True) == fp


# ----------------------------------------------------------------------------- cached_call

class _FakePredictor:
    """Looks like a Predictor to the cache (duck typing) with a given fingerprint; no TensorFlow."""

    model, alphabet, output_kind = None, "DNA", "regression"

    def __init__(self, digest):
        self._scrambler_cache_fingerprint = digest


PARAMS = {"sequence": "ACGT", "bits": 0.5, "n_samples": 32, "seed": 0, "drop": "", "options": {"steps": 3}}


def test_call_key_changes_with_every_parameter():
    model = _FakePredictor("a" * 64)
    base = call_key("explain", model, **PARAMS)
    changed = {"sequence": "ACGA", "bits": 0.55, "n_samples": 16, "seed": 1, "drop": "0110", "options": {"steps": 4}}
    keys = {name: call_key("explain", model, **dict(PARAMS, **{name: value})) for name, value in changed.items()}
    assert base not in keys.values() and len(set(keys.values())) == len(changed)
    assert call_key("predict", model, **PARAMS) != base                    # the kind
    assert call_key("explain", model, extra=None, **PARAMS) != base        # an added parameter
    assert call_key("explain", model, **{"sequence2" if k == "sequence" else k: v for k, v in PARAMS.items()}) != base


def test_cached_call_hits_with_the_parameters_in_another_order(cache):
    model, calls = _FakePredictor("a" * 64), []
    first = cached_call(cache, "explain", lambda: calls.append(1) or "value", model, **PARAMS)
    reordered = dict(reversed(list(PARAMS.items())))
    second = cached_call(cache, "explain", lambda: calls.append(2) or "other", model, **reordered)
    assert first == second == "value" and calls == [1]
    assert cache.stats()["hits"] == 1


def test_cached_call_misses_for_another_model(cache):
    calls = []
    cached_call(cache, "explain", lambda: calls.append("a") or "a", _FakePredictor("a" * 64), **PARAMS)
    again = cached_call(cache, "explain", lambda: calls.append("b") or "b", _FakePredictor("b" * 64), **PARAMS)
    assert again == "b" and calls == ["a", "b"]
    same_weights = cached_call(cache, "explain", lambda: calls.append("c") or "c", _FakePredictor("a" * 64), **PARAMS)
    assert same_weights == "a" and calls == ["a", "b"]                     # two loads of one model share entries
    assert cached_call(cache, "explain", lambda: "none", None, **PARAMS) == "none"   # no model at all
