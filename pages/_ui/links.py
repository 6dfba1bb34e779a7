"""URL state: seed widgets from a link (``?key=value``) once per session and page, and write it back."""
from __future__ import annotations

import numpy as np
import streamlit as st

from pages._ui.inputs import BITS_MAX, BITS_MIN, BITS_STEP, MODES
from pages._ui.models import PREDICTOR_KEY, predictor_names
from scrambler_core.predictors import registry

def snap_bits(value) -> float | None:
    """A bits value from a link, clipped to the slider's range and step; None if not a number."""
    try:
        bits = float(value)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(bits):
        return None
    bits = min(max(bits, BITS_MIN), BITS_MAX)
    return round(round(bits / BITS_STEP) * BITS_STEP, 2)


def apply_query_once(page: str, handlers: dict) -> list[str]:
    """Seed widget state from the link (``?key=value``) once per session and page.

    Parameters
    ----------
    page : str
        Page name (each page reads its link once).
    handlers : dict
        ``{query key: callable(value) -> str | None}``; a handler sets session state
        and returns a warning when the value cannot be used.

    Returns
    -------
    list of str — warnings to show.
    """
    flag = f"_query_applied_{page}"
    if st.session_state.get(flag):
        return []
    st.session_state[flag] = True
    notes = []
    for key, handler in handlers.items():
        value = st.query_params.get(key)
        if value is not None:
            note = handler(value)
            if note:
                notes.append(note)
    return notes


def predictor_from_query(value: str) -> str | None:
    """Query handler for ``predictor``."""
    names = predictor_names()
    if value in names:
        st.session_state[PREDICTOR_KEY] = value
        return None
    note = ""
    if value in registry.EXTERNAL_PREDICTORS:
        note = f" {value} is a published model: its file must be in `${registry.MODELS_DIR_VARIABLE}` on the server."
    return (f"The link asks for predictor {value!r}, which is not available here (available: {', '.join(names)})."
            + note)


def mode_from_query(key: str):
    """Query handler for ``mode``: sets widget ``key`` to inclusion/occlusion."""
    return choice_from_query(key, MODES, "mode")


def bits_from_query(key: str):
    """Query handler for ``bits``: sets widget ``key`` to the value snapped to the slider."""
    def handler(value):
        bits = snap_bits(value)
        if bits is None:
            return f"The link's bits value {value!r} is not a number."
        st.session_state[key] = bits
        return None
    return handler


def choice_from_query(key: str, choices, what: str):
    """Query handler for a value among ``choices`` (compared as text), e.g. the number of samples."""
    def handler(value):
        for choice in choices:
            if str(choice) == value:
                st.session_state[key] = choice
                return None
        return f"The link's {what} {value!r} is not one of {', '.join(map(str, choices))}."
    return handler


def flag_from_query(key: str):
    """Query handler for an on/off toggle: ``1`` or ``0``."""
    def handler(value):
        if value in ("0", "1"):
            st.session_state[key] = value == "1"
            return None
        return f"The link's {key.split('.')[-1]} value {value!r} should be 1 or 0."
    return handler


def parse_zoom(text, length: int):
    """A link's ``zoom`` value ``"FIRST-LAST"`` (1-based, inclusive) as a tuple inside 1..length, or None."""
    try:
        first, last = (int(v) for v in str(text).split("-"))
    except ValueError:
        return None
    return (first, last) if 1 <= first < last <= length else None


def deferred_from_query(page: str, kind: str):
    """Query handler that keeps the value until the page knows its predictor (see ``pop_link``)."""
    def handler(value):
        st.session_state[f"_{page}_{kind}_request"] = value
        return None
    return handler


def pop_link(page: str, kind: str):
    """The value a ``deferred_from_query`` handler kept (once), or None."""
    return st.session_state.pop(f"_{page}_{kind}_request", None)


def linked_example(name: str, examples: list, request):
    """The example a link's 1-based ``example`` value names.

    Returns
    -------
    (example or None, warning or None)
    """
    if request is None:
        return None, None
    try:
        index = int(request) - 1
        if 0 <= index < len(examples):
            return examples[index], None
    except ValueError:
        pass
    return None, (f"The link asks for example {request!r}; {name} has examples 1-{len(examples)}."
                  if examples else f"The link asks for an example but {name} has none.")


def apply_linked_sequence(page: str, name: str, examples: list, keys: dict) -> str | None:
    """Put the linked example or sequence into the page's text box (after the predictor is known).

    ``keys`` maps "example" and "sequence" to the page's session-state keys. Returns a note when the
    linked example does not exist for this predictor.
    """
    example, note = linked_example(name, examples, pop_link(page, "example"))
    if example is not None:
        st.session_state[keys["example"]] = example.label
        st.session_state[keys["sequence"]] = example.sequence
    sequence = pop_link(page, "seq")
    if sequence is not None:
        st.session_state[keys["sequence"]] = sequence
    return note


def write_query(values: dict) -> None:
    """Replace the page's link parameters with ``values`` (only when they changed)."""
    wanted = {k: str(v) for k, v in values.items() if v is not None}
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)
