"""Inputs of a pair predictor: the example choice and the two chain boxes, checked chains."""
from __future__ import annotations

import streamlit as st

from pages._ui.links import linked_example, pop_link
from scrambler_core.sequences import SequenceError, validate_sequence

def pair_keys(page: str, name: str) -> dict:
    """Widget keys of a pair predictor's inputs on ``page``: chain ``"a"``, chain ``"b"`` and ``"example"``."""
    return {"a": f"{page}.chain_a.{name}", "b": f"{page}.chain_b.{name}", "example": f"{page}.pair_example.{name}"}


def apply_pair_link(page: str, name: str, examples: list, keys: dict, notes: list) -> None:
    """Put a link's example pair into the chain boxes and show the page's link warnings.

    A link's ``seq`` value cannot name two chains: it is dropped with a warning.
    """
    example, note = linked_example(name, examples, pop_link(page, "example"))
    if example is not None:
        st.session_state[keys["example"]] = example.label
        st.session_state[keys["a"]], st.session_state[keys["b"]] = example.chain_a, example.chain_b
    if pop_link(page, "seq") is not None:
        notes = notes + [f"{name} reads two chains; a link's seq value is ignored."]
    for text in notes + ([note] if note else []):
        st.warning(text)


def pair_input(predictor, examples: list, keys: dict, letters_help: str, describe: bool = False):
    """Draw the example choice and the two chain boxes; returns the boxes' texts ``(text_a, text_b)``.

    The boxes start with the first example and choosing an example writes both its chains into
    them; ``describe`` shows the description of the example the boxes hold.
    """
    labels = [e.label for e in examples]
    if keys["a"] not in st.session_state:
        st.session_state[keys["a"]] = examples[0].chain_a if examples else ""
        st.session_state[keys["b"]] = examples[0].chain_b if examples else ""

    def _load_example():
        chosen = st.session_state.get(keys["example"])
        if chosen in labels:
            picked = examples[labels.index(chosen)]
            st.session_state[keys["a"]], st.session_state[keys["b"]] = picked.chain_a, picked.chain_b

    if examples:
        st.selectbox("Example", labels, key=keys["example"], on_change=_load_example)
        if describe:
            shown = next((e for e in examples if e.chain_a == st.session_state[keys["a"]]
                          and e.chain_b == st.session_state[keys["b"]]), None)
            if shown is not None:
                st.caption(shown.description)
    unit = f"{predictor.min_length}–{predictor.max_length} {predictor.alphabet.unit}"
    c1, c2 = st.columns(2)
    text_a = c1.text_area(f"Chain a ({unit})", key=keys["a"], height=90,
                          help=f"{letters_help}; spaces and line breaks are ignored.")
    text_b = c2.text_area(f"Chain b ({unit})", key=keys["b"], height=90,
                          help=f"{letters_help}; spaces and line breaks are ignored.")
    return text_a, text_b


def read_chain(text: str, predictor, which: str) -> str:
    """Chain ``which`` ("a"/"b") of a pair, checked against the predictor's alphabet and lengths."""
    chain = validate_sequence(text, predictor.alphabet, name=f"chain {which}")
    if not predictor.min_length <= len(chain) <= predictor.max_length:
        raise SequenceError(f"chain {which} has {len(chain)} residues; {predictor.name} takes "
                            f"{predictor.min_length}-{predictor.max_length}")
    return chain


def pair_example_index(examples: list, chain_a: str, chain_b: str) -> int | None:
    """0-based index of the example pair ``(chain_a, chain_b)``, or None."""
    return next((k for k, e in enumerate(examples) if (e.chain_a, e.chain_b) == (chain_a, chain_b)), None)
