"""Training checkpoints of a scrambler: epoch-stamped weights and optimizer files plus a state file with
their SHA-256 (written last, so a crash leaves the previous checkpoint in force)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..hashing import sha256_file


def _checkpoint_state(checkpoint) -> dict | None:
    """The checkpoint's state file (None when there is none); a damaged one raises ValueError naming it."""
    state = Path(checkpoint).with_suffix(".state.json")
    if not state.exists():
        return None
    try:
        data = json.loads(state.read_text())
        int(data["epoch"])
        return data
    except (ValueError, KeyError, TypeError, OSError) as err:
        raise ValueError(f"training checkpoint {state.name} is damaged ({type(err).__name__}); delete "
                         f"{Path(checkpoint).name}.* to start again") from None


def checkpoint_epoch(checkpoint) -> int:
    """Epochs finished in a training checkpoint (0 when there is none)."""
    if not checkpoint:
        return 0
    state = _checkpoint_state(checkpoint)
    return int(state["epoch"]) if state else 0


def _save_checkpoint(network, optimizer, checkpoint, epoch, history):
    """Write epoch-stamped weight and optimizer files, then the state file that points to them (atomic).

    The state file is written last, with the files' SHA-256, so a crash at any moment leaves the
    previous complete checkpoint in force; older epoch files are removed afterwards.
    """
    checkpoint = Path(checkpoint)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    stem = f"{checkpoint.stem}.e{epoch:04d}"
    weights = checkpoint.with_name(f"{stem}.weights.h5")
    tmp = checkpoint.with_name(f".{stem}.tmp.weights.h5")
    network.save_weights(tmp)
    tmp.replace(weights)
    optimizer_file = checkpoint.with_name(f"{stem}.optimizer.npz")
    tmp = checkpoint.with_name(f".{stem}.tmp.optimizer.npz")
    np.savez(tmp, *[v.numpy() for v in optimizer.variables])
    tmp.replace(optimizer_file)
    state = {"epoch": epoch, "history": history, "weights": weights.name, "optimizer": optimizer_file.name,
             "weights_sha256": sha256_file(weights), "optimizer_sha256": sha256_file(optimizer_file)}
    state_tmp = checkpoint.with_suffix(".state.json.tmp")
    state_tmp.write_text(json.dumps(state))
    state_tmp.replace(checkpoint.with_suffix(".state.json"))
    for old in checkpoint.parent.glob(f"{checkpoint.stem}.e*.*"):
        if old.name not in (weights.name, optimizer_file.name):
            old.unlink(missing_ok=True)


def _restore_checkpoint(network, optimizer, checkpoint):
    checkpoint = Path(checkpoint)
    state = _checkpoint_state(checkpoint)
    if "weights_sha256" not in state:
        raise ValueError(f"training checkpoint {checkpoint.name}.state.json was written by an older version "
                         f"(no checksums); delete {checkpoint.name}.* to start again")
    files = {}
    for kind in ("weights", "optimizer"):
        path = checkpoint.with_name(state[kind])
        if not path.is_file() or sha256_file(path) != state[f"{kind}_sha256"]:
            raise ValueError(f"training checkpoint {path.name} is missing or damaged (its SHA-256 differs from "
                             f"the one recorded after epoch {state['epoch']}); delete {checkpoint.name}.* to start "
                             "again")
        files[kind] = path
    network.load_weights(files["weights"])
    saved = np.load(files["optimizer"])
    for variable, key in zip(optimizer.variables, sorted(saved.files, key=lambda k: int(k.split("_")[1]))):
        variable.assign(saved[key])
    return state["epoch"], state["history"]
