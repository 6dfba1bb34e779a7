"""Explore's "Optimise this explanation" section: per-example optimisation on demand, for when the one-pass
network is not faithful (``scrambler_core.refine``)."""
from __future__ import annotations

import streamlit as st

from pages._ui.figures import show_plotly
from pages._ui.links import pop_link
from pages._ui.results import optimised
from scrambler_core.logo_figures import logo_heights_importance, logo_heights_pwm, logos_figure
from scrambler_core.refine import OPTIMISE_DEFAULTS

STEPS_CHOICES = (25, 50, 100, 200, 300)
STEPS_KEY = "explore.optimise_steps"

ABOUT = """The scrambler network explains any sequence in one pass, but for some predictors that pass falls short
of its own objective (the warning above says so). **Per-example optimisation** (the paper's §9) instead adjusts
the importance scores of *this* sequence against the predictor, with the same objective, budget, PWM and
background: slower ({samples} predictor calls per step), usually more faithful. On APARENT2 windows it keeps the
prediction with R² 0.94 at 0.25 bits (100 steps), the network 0.85."""


def _request_key(name: str) -> str:
    return f"explore.optimised.{name}"


def _metrics(result, explanation, label: str) -> None:
    original = float(result.prediction[0])
    c1, c2, c3 = st.columns(3)
    c1.metric("Realised bits (optimised)", f"{float(result.conservation[0]):.3f}",
              f"{float(result.conservation[0]) - float(explanation.conservation[0]):+.3f} vs the network",
              delta_color="off")
    c2.metric(f"Samples' mean {label} (optimised)", f"{float(result.mean_sample_prediction[0]):.3f}",
              f"{float(result.mean_sample_prediction[0]) - original:+.3f} vs the original {original:.3f}",
              delta_color="off")
    c3.metric("Network's samples' mean", f"{float(explanation.mean_sample_prediction[0]):.3f}",
              f"{float(explanation.mean_sample_prediction[0]) - original:+.3f} vs the original", delta_color="off")


def _apply_link(name: str, this_view: tuple) -> None:
    """A link's ``optimise=STEPS`` (one of ``STEPS_CHOICES``) asks for the optimised view of what it shows."""
    linked = pop_link("explore", "optimise")
    if linked is None:
        return
    if linked not in {str(v) for v in STEPS_CHOICES}:
        st.warning(f"The link's optimise value {linked!r} should be one of {', '.join(map(str, STEPS_CHOICES))} "
                   "(optimisation steps).")
        return
    st.session_state[STEPS_KEY] = int(linked)
    st.session_state[_request_key(name)] = (this_view, int(linked))


def optimised_steps(name: str, mode: str, sequence: str, bits: float) -> int | None:
    """The steps of the optimised view shown for this view (for the link), or None."""
    request = st.session_state.get(_request_key(name))
    return int(request[1]) if request is not None and tuple(request[0]) == (mode, sequence, float(bits)) else None


def optimise_section(view: dict, explanation, letters: str, zoom, highlight) -> None:
    """The expander: steps, a button, and (once pressed for this view) the optimised logos and metrics.

    ``view``: name, mode, sequence, bits, label. Open by itself when the network's explanation is not faithful.
    """
    name, sequence, bits = view["name"], view["sequence"], float(view["bits"])
    this_view = (view["mode"], sequence, bits)
    _apply_link(name, this_view)
    shown_steps = optimised_steps(name, *this_view)
    faithful = explanation.faithfulness is None or bool(explanation.faithfulness.faithful[0])
    with st.expander("Optimise this explanation for this sequence (per example, slower)",
                     expanded=shown_steps is not None or not faithful):
        st.markdown(ABOUT.format(samples=OPTIMISE_DEFAULTS["n_samples"]))
        st.session_state.setdefault(STEPS_KEY, OPTIMISE_DEFAULTS["steps"])
        steps = st.select_slider("Optimisation steps", STEPS_CHOICES, key=STEPS_KEY,
                                 help="Adam steps on this sequence's scores; more steps fit the budget and the "
                                      "prediction more closely.")
        calls = 1 + OPTIMISE_DEFAULTS["n_samples"] * int(steps)
        if st.button(f"Optimise at {bits:g} bits ({calls:,} predictor calls)", key="explore_optimise_button"):
            st.session_state[_request_key(name)] = (this_view, int(steps))
            shown_steps = int(steps)
        if shown_steps is None:
            return
        with st.spinner(f"Optimising {shown_steps} steps…"):
            result = optimised(name, view["mode"], sequence, bits, shown_steps)
        _metrics(result, explanation, view["label"])
        rows = [logo_heights_pwm(result.pwm[0], letters), logo_heights_importance(result.importance[0], sequence,
                                                                                  letters)]
        figure = logos_figure(rows, letters, titles=["Optimised PWM", "Optimised importance"],
                              y_labels=["bits", "importance"], highlight=highlight,
                              x_range=(zoom[0] - 1, zoom[1] - 1), uirevision="optimised")
        show_plotly(figure, key="explore_optimised")
        checks = result.faithfulness
        if checks is not None and not checks.faithful[0]:
            st.warning(f"Still not faithful: {checks.warnings[0]}", icon="⚠️")
        else:
            kept = "keep" if view["mode"] == "inclusion" else "lose"
            st.success(f"Faithful at {bits:g} bits: the budget is met and the samples {kept} the prediction.")
        st.caption(f"{shown_steps} steps · {result.info['predictor_calls_per_sequence']:,} predictor calls · "
                   f"{result.info['seconds']:.1f} s when computed (kept on disk: reopening it is instant).")
