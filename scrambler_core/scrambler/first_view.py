"""The app's first view, precomputed: Explore's default example explained at every budget of the live slider.

A server that has just started needs TensorFlow and the default models before it can explain
anything (several seconds). The first visit instead draws this shipped sweep at once — the same
numbers the page computes (default example, inclusion, 0.5 bits, 32 samples, seed 0) — and swaps in
the live page when the models are ready. The file records the SHA-256 of the scrambler weights it
was computed with and is used only while they match. Recipe::

    python -m scrambler_core first-view --predictor utr5 --mode inclusion
"""
from __future__ import annotations

from pathlib import Path

from ..hashing import sha256_file
from ..paths import PRETRAINED_DIR
from .sweep import BitsSweep, load_sweep, save_sweep

FIRST_VIEW = {"bits": 0.5, "n_samples": 32, "seed": 0, "example": 1}


def first_view_path(name: str, mode: str = "inclusion") -> Path:
    """Where the first view of built-in ``name`` and ``mode`` is shipped (``pretrained/``)."""
    return PRETRAINED_DIR / f"{name}_{mode}_first_view.npz"


def compute_first_view(name: str, mode: str = "inclusion") -> tuple[BitsSweep, dict]:
    """Explain built-in ``name``'s first example as the page does: (sweep with the page's budget, metadata)."""
    from ..examples import examples
    from .explain import load_scrambler

    scrambler = load_scrambler(name, mode=mode)
    sequence = examples(name)[FIRST_VIEW["example"] - 1].sequence
    n, seed = FIRST_VIEW["n_samples"], FIRST_VIEW["seed"]
    sweep = scrambler.explain_bits_grid(sequence, n_samples=n, seed=seed).with_explanation(
        scrambler.explain([sequence], target_bits=FIRST_VIEW["bits"], n_samples=n, seed=seed))
    metadata = dict(FIRST_VIEW, predictor=name, mode=mode, scrambler_sha256=sha256_file(scrambler.path),
                    scrambler_file=Path(scrambler.path).name)
    return sweep, metadata


def write_first_view(name: str, mode: str = "inclusion", output_dir=None) -> Path:
    """Compute and write the first view of ``name``; returns the file written."""
    sweep, metadata = compute_first_view(name, mode)
    path = Path(output_dir) / first_view_path(name, mode).name if output_dir else first_view_path(name, mode)
    save_sweep(sweep, path, metadata)
    return path


def read_first_view(name: str, mode: str = "inclusion") -> tuple[BitsSweep, dict] | None:
    """The shipped first view of ``name`` when it exists and matches the scrambler weights, else None."""
    path = first_view_path(name, mode)
    if not path.is_file():
        return None
    sweep, metadata = load_sweep(path)
    weights = PRETRAINED_DIR / metadata.get("scrambler_file", "")
    if not weights.is_file() or sha256_file(weights) != metadata.get("scrambler_sha256"):
        return None
    return sweep, metadata
