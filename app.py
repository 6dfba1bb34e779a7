"""Scrambler Explorer — Streamlit app (Explore page).

Run with ``make run`` or ``streamlit run app.py``. All computation happens in
``scrambler_core``; this file only draws widgets and results.

The view is linkable: ``?predictor=utr5&mode=inclusion&bits=0.5``.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import streamlit as st  # noqa: E402

import scrambler_core as sc  # noqa: E402
from scrambler_core import plot, synthetic  # noqa: E402

MODES = ("inclusion", "occlusion")
BITS_MIN, BITS_MAX, BITS_STEP, BITS_DEFAULT = 0.05, 2.0, 0.05, 0.5
N_SAMPLES_CHOICES = (8, 16, 32, 64, 128)
N_SAMPLES_DEFAULT = 32
TABLE_ROWS = 5
SEED = 0

st.set_page_config(page_title="Scrambler Explorer", page_icon="🧬", layout="wide")


# ----------------------------------------------------------------------------- cached models / results

@st.cache_resource(show_spinner="Loading predictor…")
def get_predictor(name: str):
    return sc.load_predictor(name)


@st.cache_resource(show_spinner="Loading scrambler…")
def get_scrambler(name: str, mode: str):
    return sc.load_scrambler(name, mode=mode, predictor=get_predictor(name))


@st.cache_data(max_entries=64, show_spinner=False)
def explain(name: str, mode: str, sequence: str, bits: float, n_samples: int, seed: int):
    return get_scrambler(name, mode).explain([sequence], target_bits=bits, n_samples=n_samples, seed=seed)


@st.cache_data(max_entries=8, show_spinner=False)
def example_sequence(name: str) -> str:
    """A fixed example input per built-in predictor (deterministic)."""
    if name == "utr5":
        return synthetic.generate_uorf_set(1, 1, 1, seed=3)[0][0]
    if name == "polya":
        return synthetic.generate_polya_training(1, seed=3)[0]
    return ""


# ----------------------------------------------------------------------------- query params

def _snap_bits(value) -> float | None:
    try:
        bits = float(value)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(bits):
        return None
    bits = min(max(bits, BITS_MIN), BITS_MAX)
    return round(round(bits / BITS_STEP) * BITS_STEP, 2)


def init_state_from_query(predictors: list[str]) -> list[str]:
    """Default widget state, seeded once per session from ``?predictor=&mode=&bits=``.

    Returns the warnings to show for link values that cannot be used.
    """
    st.session_state.setdefault("bits", BITS_DEFAULT)
    st.session_state.setdefault("n_samples", N_SAMPLES_DEFAULT)
    if st.session_state.get("_query_applied"):
        return []
    st.session_state["_query_applied"] = True
    params = st.query_params
    notes = []
    name = params.get("predictor")
    if name is not None:
        if name in predictors:
            st.session_state["predictor"] = name
        else:
            notes.append(f"The link asks for predictor {name!r}, which is not available here "
                         f"(available: {', '.join(predictors)}).")
    mode = params.get("mode")
    if mode is not None:
        if mode in MODES:
            st.session_state["mode"] = mode
        else:
            notes.append(f"The link asks for mode {mode!r}; choose inclusion or occlusion.")
    if params.get("bits") is not None:
        bits = _snap_bits(params.get("bits"))
        if bits is None:
            notes.append(f"The link's bits value {params.get('bits')!r} is not a number.")
        else:
            st.session_state["bits"] = bits
    return notes


def write_query(predictor: str, mode: str, bits: float) -> None:
    wanted = {"predictor": predictor, "mode": mode, "bits": f"{bits:g}"}
    if {k: st.query_params.get(k) for k in wanted} != wanted:
        st.query_params.update(wanted)


# ----------------------------------------------------------------------------- drawing

def show_figure(fig) -> None:
    st.pyplot(fig, clear_figure=True)
    plt.close(fig)


def sample_histogram(sample_predictions, original: float, label: str):
    fig = go.Figure(go.Histogram(x=sample_predictions, nbinsx=30, name="samples",
                                 marker_color="#4c78a8", opacity=0.85))
    fig.add_vline(x=original, line_width=2, line_dash="dash", line_color="#e45756")
    fig.add_annotation(x=original, y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                       text=f"original {original:.3f}", font=dict(color="#e45756"))
    fig.update_layout(xaxis_title=label, yaxis_title="samples", height=300, bargap=0.05,
                      margin=dict(l=10, r=10, t=30, b=10), showlegend=False)
    return fig


EXPLAINER = """
A **scrambler** is a small network trained to explain a predictor. For your sequence it
outputs an importance score per position; the scores turn the sequence into a
position weight matrix (PWM) from which new sequences are **sampled**.

* **Inclusion**: important positions keep their letter, the rest are scrambled towards the
  background. Samples should keep the original prediction.
* **Occlusion**: important positions are scrambled. Samples should lose the original prediction.
* **Target bits**: the information budget, i.e. how much of the sequence (mean conservation over
  positions, in bits; 2 bits = a fully fixed nucleotide) the PWM may keep. Lower values force a
  sparser explanation. *Realised bits* is what the scrambler actually kept for this sequence.

**PWM logo**: letter height = probability × information content (log2 A − entropy), so tall
stacks are positions the samples keep. **Importance logo**: the reference letter at each
position, scaled by its score. The **histogram** shows the predictor's output on the samples;
the dashed line is the prediction on your original sequence.
"""


# ----------------------------------------------------------------------------- page

def main() -> None:
    st.title("Scrambler Explorer")

    predictors = sc.list_predictors()
    if not predictors:
        st.error("No built-in predictor weights were found in pretrained/. Train one with: "
                 "python -m scrambler_core train-predictor utr5")
        st.stop()

    for note in init_state_from_query(predictors):
        st.warning(note)

    with st.sidebar:
        st.header("Settings")
        name = st.selectbox("Predictor", predictors, key="predictor")
        mode = st.radio("Mode", MODES, key="mode", horizontal=True,
                        help="Inclusion: keep what matters. Occlusion: remove what matters.")
        bits = st.slider("Target bits", BITS_MIN, BITS_MAX, step=BITS_STEP, key="bits",
                         help="Information budget of the explanation (mean bits per position).")
        bits = round(float(bits), 2)  # the slider's float steps carry rounding noise
        n_samples = st.select_slider("Samples", N_SAMPLES_CHOICES, key="n_samples",
                                     help="Sequences drawn from the PWM.")
    write_query(name, mode, bits)

    try:
        predictor = get_predictor(name)
    except (sc.ModelFileError, ValueError) as err:
        st.error(str(err))
        st.stop()

    st.caption(f"**{predictor.name}**: {predictor.description or 'custom predictor'} · "
               f"{predictor.sequence_length} {predictor.alphabet.unit}, alphabet "
               f"{predictor.alphabet.letters}")

    with st.expander("What am I looking at?"):
        st.markdown(EXPLAINER)

    text = st.text_area(
        f"Sequence ({predictor.sequence_length} {predictor.alphabet.unit}) or FASTA",
        value=example_sequence(name), key=f"sequence_{name}", height=110,
        help="Paste one bare sequence or FASTA records; spaces, line breaks and digits are ignored.")

    try:
        records = sc.parse_text(text, predictor.alphabet, length=predictor.sequence_length)
    except (sc.SequenceError, ValueError) as err:
        st.error(str(err))
        st.stop()

    if len(records) > 1:
        ids = [rid for rid, _ in records]
        chosen = st.selectbox("Record", ids, key=f"record_{name}")
        record_id, sequence = records[ids.index(chosen)]
    else:
        record_id, sequence = records[0]

    try:
        get_scrambler(name, mode)
    except (sc.ModelFileError, ValueError) as err:
        st.error(str(err))
        # the predictor alone still works
        st.metric("Prediction (original)", f"{float(predictor.predict([sequence])[0]):.3f}")
        st.stop()

    try:
        with st.spinner("Scrambling…"):
            ex = explain(name, mode, sequence, float(bits), int(n_samples), SEED)
    except (sc.SequenceError, sc.ModelFileError, ValueError) as err:
        st.error(str(err))
        st.stop()

    original = float(ex.prediction[0])
    mean_samples = float(ex.mean_sample_prediction[0])
    realised = float(ex.conservation[0])
    c1, c2, c3 = st.columns(3)
    c1.metric("Prediction (original)", f"{original:.3f}")
    c2.metric("Mean prediction (samples)", f"{mean_samples:.3f}", delta=f"{mean_samples - original:+.3f}",
              delta_color="off")
    c3.metric("Realised bits", f"{realised:.3f}", delta=f"target {bits:g}", delta_color="off", delta_arrow="off",
              help="Mean conservation (bits per position) of the scrambled PWM; the scrambler aims at the target.")

    letters = predictor.alphabet.letters
    st.subheader("Scrambled PWM and importance")
    fig, (ax_pwm, ax_imp) = plt.subplots(2, 1, figsize=plot.logo_figsize(len(sequence), rows=2), sharex=True)
    plot.pwm_logo(ex.pwm[0], letters, ax=ax_pwm, title="PWM (information content)")
    plot.importance_logo(ex.importance[0], sequence, letters, ax=ax_imp, title="Importance on your sequence")
    fig.tight_layout()
    show_figure(fig)

    st.subheader("Predictions on samples")
    st.plotly_chart(sample_histogram(ex.sample_predictions[0], original, f"{predictor.name} prediction"),
                    width="stretch")
    st.subheader("A few samples")
    samples = ex.sample_sequences(0)[:TABLE_ROWS]
    table = pd.DataFrame({"sequence": samples,
                          "prediction": np.round(ex.sample_predictions[0][:TABLE_ROWS], 3)})
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"sequence": st.column_config.TextColumn("sequence", width="large"),
                                "prediction": st.column_config.NumberColumn("prediction", format="%.3f")})
    st.caption(f"Record {record_id} · {mode} scrambler · target {bits:g} bits · "
               f"{n_samples} samples · seed {SEED}")


main()
