"""Input widgets shared by the pages: scrambler mode and bits, positions, examples and one sequence."""
from __future__ import annotations

import numpy as np
import streamlit as st

import scrambler_core as sc
from pages._ui.models import user_models
from scrambler_core import examples as builtin_examples

MODES = ("inclusion", "occlusion")

BITS_MIN, BITS_MAX, BITS_STEP, BITS_DEFAULT = 0.05, 2.0, 0.05, 0.5


def mode_and_bits(page: str, *, mode_help: str, bits_help: str, mode_label: str = "Mode",
                  bits_label: str = "Target bits") -> tuple[str, float]:
    """The scrambler mode radio and the target-bits slider of ``page`` (keys ``{page}.mode`` and
    ``{page}.bits``), drawn where the caller is (the sidebar); returns ``(mode, bits)``."""
    st.session_state.setdefault(f"{page}.mode", "inclusion")
    st.session_state.setdefault(f"{page}.bits", BITS_DEFAULT)
    mode = st.radio(mode_label, MODES, key=f"{page}.mode", horizontal=True, help=mode_help)
    bits = st.slider(bits_label, BITS_MIN, BITS_MAX, step=BITS_STEP, key=f"{page}.bits", help=bits_help)
    return mode, round(float(bits), 2)  # the slider's float steps carry rounding noise


def format_ranges(positions) -> str:
    """1-based positions as compact ranges: ``[60, 61, 62, 101]`` -> ``"60-62, 101"``."""
    positions = sorted({int(p) for p in positions})
    parts, k = [], 0
    while k < len(positions):
        end = k
        while end + 1 < len(positions) and positions[end + 1] == positions[end] + 1:
            end += 1
        parts.append(str(positions[k]) if end == k else f"{positions[k]}-{positions[end]}")
        k = end + 1
    return ", ".join(parts)


def selected_positions(event, length: int, curves=None, axes=None) -> set:
    """1-based positions selected on a logo chart (clicked letters and box selections), inside 1..length.

    ``curves``: only points of these trace numbers count; ``axes``: only boxes drawn on these x axes
    (a chart with other panels, e.g. the live view's histogram, passes its logo traces and axes).
    """
    selection = (event or {}).get("selection", {}) if hasattr(event, "get") else {}
    found = set()
    for point in selection.get("points", []) or []:
        if curves is not None and hasattr(point, "get") and point.get("curve_number") not in curves:
            continue
        x = point.get("x") if hasattr(point, "get") else None
        if isinstance(x, (int, float)) and np.isfinite(x):
            found.add(int(round(x)))
    for box in selection.get("box", []) or []:
        if axes is not None and hasattr(box, "get") and box.get("xref", axes[0]) not in axes:
            continue
        xs = box.get("x") if hasattr(box, "get") else None
        if xs and len(xs) == 2 and all(isinstance(v, (int, float)) for v in xs):
            low, high = sorted(xs)
            found.update(range(int(np.ceil(low)), int(np.floor(high)) + 1))
    return {p for p in found if 1 <= p <= length}


def examples_for(name: str) -> list:
    """Examples for a predictor: the grammar examples of a built-in, the examples of a published model
    (``scrambler_core.examples``), else the first uploaded sequences."""
    models = user_models()
    if name in models:
        seqs = (models[name].get("card") or {}).get("example_sequences") or []
        return [builtin_examples.Example(f"your sequence {k + 1}", s, np.zeros(len(s), bool), "")
                for k, s in enumerate(seqs[:3])]
    return builtin_examples.examples(name)


def example_and_sequence_input(predictor, examples: list, keys: dict, side_by_side: bool = False) -> str:
    """Draw the example choice and the sequence box; returns the box's text.

    ``keys`` holds the widget keys ``"example"`` and ``"sequence"``; choosing an example
    writes its sequence into the box, and the box starts with the first example.
    ``side_by_side`` puts the two in one row (the example a third of it), which saves height.
    """
    labels = [e.label for e in examples]
    if keys["sequence"] not in st.session_state:
        st.session_state[keys["sequence"]] = examples[0].sequence if examples else ""

    def _load_example():
        chosen = st.session_state.get(keys["example"])
        if chosen in labels:
            st.session_state[keys["sequence"]] = examples[labels.index(chosen)].sequence

    left, right = st.columns([1, 2]) if side_by_side else (st.container(), st.container())
    if examples:
        left.selectbox("Example", labels, key=keys["example"], on_change=_load_example,
                       help="Built-in predictors: sequences from the grammar they were trained on. Published "
                            "models: sequences in their input convention with planted elements. The true elements "
                            "are known.")
    text = right.text_area(f"Sequence ({predictor.sequence_length} {predictor.alphabet.unit}) or FASTA",
                           key=keys["sequence"], height=90 if side_by_side else 110,
                           help="Paste one bare sequence or FASTA records; spaces, line breaks and digits are ignored.")
    return text


SHARED_SEQUENCE_KEY = "_shared_sequence"   # {predictor name: (version, sequence)}: the last one a page showed


def share_sequence(page: str, name: str, sequence: str) -> None:
    """The sequence ``page`` shows for predictor ``name`` becomes the one the other pages open with."""
    shared = st.session_state.setdefault(SHARED_SEQUENCE_KEY, {})
    current = shared.get(name)
    if current is None or current[1] != sequence:
        shared[name] = ((current[0] + 1) if current else 1, sequence)
    st.session_state[f"_shared_seen_{page}_{name}"] = shared[name][0]


def adopt_shared_sequence(page: str, name: str, key: str) -> str | None:
    """Before ``page`` draws its sequence box (``key``): take the sequence another page showed since.

    Returns the sequence taken, or None when there was none new."""
    shared = st.session_state.get(SHARED_SEQUENCE_KEY, {}).get(name)
    seen = f"_shared_seen_{page}_{name}"
    if shared is not None and st.session_state.get(seen) != shared[0]:
        st.session_state[key] = shared[1]
        st.session_state[seen] = shared[0]
        return shared[1]
    return None


MAX_PASTED_RECORDS = 1000   # records a one-sequence page reads from a pasted FASTA


def parse_one_sequence(text: str, predictor, record_key: str):
    """Parse a pasted sequence or FASTA for ``predictor``; choose a record when there are several.

    Returns
    -------
    (record_id, sequence)
    """
    n_records = text.count("\n>") + text.lstrip().startswith(">")
    if n_records > MAX_PASTED_RECORDS:
        raise sc.SequenceError(f"this paste holds {n_records:,} FASTA records; this page shows one sequence at a "
                               f"time and reads at most {MAX_PASTED_RECORDS:,}: paste fewer records")
    records = sc.parse_text(text, predictor.alphabet, length=predictor.sequence_length)
    if len(records) > 1:
        ids = [rid for rid, _ in records]
        chosen = st.selectbox("Record", ids, key=record_key)
        return records[ids.index(chosen) if chosen in ids else 0]
    return records[0]
