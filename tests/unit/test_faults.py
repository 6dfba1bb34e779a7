"""Faults (issue 9): training killed mid-run resumes from its last checkpoint; damaged checkpoints and
interrupted writes never leave garbage in place."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import scrambler_core.scrambler as S

ROOT = Path(__file__).resolve().parents[2]

TRAIN = '''
import sys, numpy as np, keras
import scrambler_core as sc
from scrambler_core.scrambler import train_scrambler
inputs = keras.Input((12, 4))
model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs)))
kernel = np.zeros((48, 1), np.float32); kernel[12] = 2.0; kernel[34] = 2.0
model.layers[-1].set_weights([kernel, np.zeros(1, np.float32)])
predictor = sc.Predictor(model, name="toy", alphabet="dna", output_kind="regression")
x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, size=(2048, 12))]
_, history = train_scrambler(predictor, x, epochs=int(sys.argv[2]), checkpoint=sys.argv[1], n_samples=4,
                             bits_schedule=(), network_options=dict(groups=1, blocks=1, dilations=(1,), channels=8),
                             log=lambda m: print(m, flush=True))
print("EPOCHS", [h["epoch"] for h in history], flush=True)
'''


def _train(checkpoint, epochs, **kwargs):
    return subprocess.Popen([sys.executable, "-c", TRAIN, str(checkpoint), str(epochs)], cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kwargs)


def test_killed_training_resumes_from_its_last_checkpoint(tmp_path):
    checkpoint = tmp_path / "ckpt"
    process = _train(checkpoint, 40)
    deadline = time.time() + 240
    while time.time() < deadline and S.checkpoint_epoch(checkpoint) < 2:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)                      # no chance to clean up
    process.communicate(timeout=60)
    done = S.checkpoint_epoch(checkpoint)
    assert 2 <= done < 40, "training should have been killed part-way"
    resumed = _train(checkpoint, done + 2)
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    assert f"resumed" in output
    epochs = json.loads(output.split("EPOCHS", 1)[1].strip().splitlines()[0])
    assert epochs == list(range(1, done + 3))               # every epoch once, none lost, none repeated
    files = sorted(p.name for p in tmp_path.iterdir())      # only the newest epoch's files are kept
    assert files == ["ckpt.e%04d.optimizer.npz" % (done + 2), "ckpt.e%04d.weights.h5" % (done + 2),
                     "ckpt.state.json"]


def _tiny_training(checkpoint, epochs, log=None):
    from test_scrambler import toy_predictor
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, size=(64, 12))]
    return S.train_scrambler(toy_predictor(), x, epochs=epochs, checkpoint=checkpoint, n_samples=2,
                             bits_schedule=(), network_options=dict(groups=1, blocks=1, dilations=(1,), channels=4),
                             log=log or (lambda m: None))


def test_crash_between_checkpoint_writes_keeps_the_previous_checkpoint(tmp_path):
    checkpoint = tmp_path / "ckpt"
    _tiny_training(checkpoint, 1)
    state = json.loads((tmp_path / "ckpt.state.json").read_text())
    # a crash after the next epoch's weights were written but before its state file: the state still
    # points at epoch 1's complete files, so resuming uses them
    (tmp_path / "ckpt.e0002.weights.h5").write_bytes(b"partial")
    messages = []
    _, history = _tiny_training(checkpoint, 2, log=messages.append)
    assert state["epoch"] == 1 and [h["epoch"] for h in history] == [1, 2]
    assert any("resumed" in m for m in messages)


def test_damaged_checkpoint_is_refused_with_the_file_named(tmp_path):
    checkpoint = tmp_path / "ckpt"
    _tiny_training(checkpoint, 1)
    weights = tmp_path / "ckpt.e0001.weights.h5"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(ValueError, match="ckpt.e0001.weights.h5 is missing or damaged"):
        _tiny_training(checkpoint, 2)
    (tmp_path / "ckpt.state.json").write_text("{not json")
    with pytest.raises(ValueError, match="ckpt.state.json is damaged"):
        S.checkpoint_epoch(checkpoint)


def test_failed_save_leaves_the_previous_model_in_place(tmp_path, monkeypatch):
    import scrambler_core as sc
    scrambler = sc.load_scrambler("utr5")
    target = tmp_path / "mine.keras"
    scrambler.save(target)
    before = target.read_bytes()

    def broken_save(path, *args, **kwargs):
        Path(path).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(scrambler.network, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        scrambler.save(target)
    assert target.read_bytes() == before
    loaded = sc.load_scrambler(str(target), predictor=scrambler.predictor)
    assert loaded.network.count_params() == scrambler.network.count_params()


def test_failed_shard_write_leaves_no_shard(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from scrambler_core import batch
    import pyarrow as pa
    table = pa.table({"index": pa.array([0, 1], pa.int64())})

    def broken(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1 partial")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(OSError):
        batch.write_shard(tmp_path, 0, table)
    assert not (tmp_path / "part-00000.parquet").exists()
