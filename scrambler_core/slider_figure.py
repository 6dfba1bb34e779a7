"""The live bits slider: one plotly figure holding every budget of a :class:`BitsSweep` as a frame.

Rows, top to bottom: the scrambled PWM logo (bits), the importance logo on the sequence, optionally a
per-position track on the same x axis (APARENT2's cleavage profile), and the
histogram of the samples' predictions with the original prediction marked, a line of metrics
(target and realised bits, the samples' mean) and a line naming the failed faithfulness checks. A plotly slider under the figure switches frames in
the browser (``Plotly.animate`` with no transition), so a slider step never goes back to the
server. Every frame holds the same traces in the same order (letters without a glyph are empty
traces), the y ranges are shared by all frames, and the histogram bins are fixed, so frames
differ only in their data.

>>> sweep = scrambler.explain_bits_grid(seq)                            # doctest: +SKIP
>>> fig = bits_slider_figure(sweep, start_bits=0.5, prediction_label="MRL")  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np

from .logo_figures import (_auto_y_range, add_row_below, add_track, check_track, logo_heights_importance,
                           logo_heights_pwm, logos_figure)
from .plot import _letters

__all__ = ["bits_slider_figure", "frame_rows", "logo_trace_count", "HISTOGRAM_BINS"]

HISTOGRAM_BINS = 30
HISTOGRAM_HEIGHT = 150       # pixels of the histogram row
_GAP = 56                    # pixels between the logos and the histogram (room for the x tick labels)
_SLIDER_SPACE = 96           # pixels under the figure for the slider
_EMPTY = np.zeros(0, np.float32)
_MIN_VISIBLE = 0.005         # glyphs under this fraction of the row's y range (< 1 pixel) are left out


def frame_rows(sweep, t: int, y_ranges=None):
    """Logo heights (PWM bits, importance) and hover values of budget ``t``: (rows, hover_values).

    With ``y_ranges`` (one (low, high) per row) PWM glyphs too small to see are left out, which keeps
    a 205-nt frame light (their probabilities stay in the hover text); the importance row keeps every letter.
    """
    pwm = logo_heights_pwm(sweep.pwm[t], sweep.alphabet)
    if y_ranges is not None:
        low, high = y_ranges[0]
        pwm = np.where(np.abs(pwm) < _MIN_VISIBLE * (high - low), 0.0, pwm)
    return ([pwm, logo_heights_importance(sweep.importance[t], sweep.sequence, sweep.alphabet)],
            [np.asarray(sweep.pwm[t]), None])


def _shared_y_ranges(sweep, letters):
    """PWM row 0..log2 A; the importance row wide enough for the tallest stack of any budget."""
    lows, highs = zip(*(_auto_y_range(frame_rows(sweep, t)[0][1]) for t in range(len(sweep.target_bits))))
    return [(0.0, float(np.log2(len(letters)))), (min(lows), max(highs))]


_LOGO_AXES = ("x", "x2")       # the PWM and importance logos' x axes


def _trace_key(trace) -> tuple:
    return trace.get("name", ""), trace.get("xaxis", "x"), trace.get("type", "scatter")


def _canonical(frames_traces: list) -> list:
    """The same traces, in the same order, for every frame: a trace a frame lacks becomes an empty copy.

    The logos' traces come first (what :func:`logo_trace_count` counts), also when the first frame lacks
    one of them (a PWM letter too small to draw at a low budget) and a later frame brings it.
    """
    order, template = [], {}
    for traces in frames_traces:
        for trace in traces:
            key = _trace_key(trace)
            if key not in template:
                order.append(key)
                template[key] = dict(trace, x=_EMPTY, y=_EMPTY)
    order.sort(key=lambda key: key[1] not in _LOGO_AXES)     # stable: first-appearance order otherwise
    out = []
    for traces in frames_traces:
        by_key = {_trace_key(trace): trace for trace in traces}
        out.append([by_key.get(key, template[key]) for key in order])
    return out


def _histogram(sweep, label):
    """Fixed bin edges over every budget's samples and the original; counts (T, bins)."""
    values = np.concatenate([sweep.sample_predictions.ravel(), [sweep.prediction]])
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    counts = np.stack([np.histogram(row, edges)[0] for row in sweep.sample_predictions])
    return edges, counts


def _metrics_text(sweep, t, label) -> str:
    mean = float(sweep.sample_predictions[t].mean())
    return (f"target {sweep.target_bits[t]:g} bits · realised {float(sweep.conservation[t]):.3f} bits · "
            f"samples' mean {label} {mean:.3f} (original {sweep.prediction:.3f}, "
            f"Δ {mean - sweep.prediction:+.3f})")


def _short_warning(checks, t, mode) -> str:
    """One line naming the failed faithfulness checks of budget ``t`` ("" when it is faithful)."""
    failed = []
    if not checks.bits_ok[t]:
        failed.append("budget not reached")
    if not checks.shift_ok[t]:
        failed.append("prediction not kept" if mode == "inclusion" else "prediction not removed")
    if checks.split[t]:
        failed.append("samples split in two")
    return f"⚠ not faithful at this budget: {', '.join(failed)}" if failed else ""


def _histogram_traces(sweep, t, edges, counts, label, text_y, checks):
    centres = (edges[:-1] + edges[1:]) / 2
    bars = dict(type="bar", x=centres, y=counts[t], width=float(edges[1] - edges[0]), name="samples",
                marker=dict(color="#4c78a8"), xaxis="x3", yaxis="y3", showlegend=False,
                hovertemplate=f"{label} %{{x:.3g}}: %{{y}} samples<extra></extra>")
    text = dict(type="scatter", mode="text", x=[float(edges[0])], y=[text_y], text=[_metrics_text(sweep, t, label)],
                textposition="bottom right", textfont=dict(size=13), name="metrics", xaxis="x3", yaxis="y3",
                hoverinfo="skip", showlegend=False)
    warning = dict(text, y=[text_y * 0.86], text=[_short_warning(checks, t, sweep.mode)], name="warning",
                   textfont=dict(size=13, color="#b45309"))
    return [bars, text, warning]


def _extend_layout(layout: dict, edges, counts, prediction, label) -> dict:
    """Room for the histogram row and the slider under the logos (and the track, when there is one)."""
    domain = add_row_below(layout, HISTOGRAM_HEIGHT, _GAP)
    layout["xaxis3"] = dict(anchor="y3", range=[float(edges[0]), float(edges[-1])], showgrid=False,
                            ticks="outside", showline=True, linecolor="#444", title=dict(text=label))
    layout["yaxis3"] = dict(anchor="x3", domain=domain, fixedrange=True,
                            range=[0, float(counts.max()) * 1.6 + 0.5], title=dict(text="samples"),
                            showgrid=False, ticks="outside", showline=True, linecolor="#444")
    layout["shapes"] = list(layout.get("shapes", [])) + [dict(
        type="line", xref="x3", yref="y3 domain", x0=prediction, x1=prediction, y0=0, y1=1,
        line=dict(color="#d62728", width=2, dash="dash"), name="original")]
    layout["height"] = layout["height"] + _SLIDER_SPACE
    layout["margin"] = dict(layout["margin"], b=layout["margin"]["b"] + _SLIDER_SPACE)
    return layout


def logo_trace_count(figure) -> int:
    """How many of the figure's first traces draw the logos (axes x and x2); the others come after them."""
    count = 0
    for trace in figure.data:
        if (trace.xaxis or "x") not in _LOGO_AXES:
            break
        count += 1
    return count


def _slider(target_bits, active) -> dict:
    steps = [dict(method="animate", label=f"{b:g}",
                  args=[[f"{b:g}"], dict(mode="immediate", frame=dict(duration=0, redraw=False),
                                          transition=dict(duration=0))]) for b in target_bits]
    return dict(active=int(active), steps=steps, x=0.0, len=1.0, y=0.0, yanchor="top", pad=dict(t=56, b=8),
                currentvalue=dict(prefix="Target bits: ", font=dict(size=15)), font=dict(size=10),
                transition=dict(duration=0), name="target bits")


def bits_slider_figure(sweep, *, start_bits=0.5, titles=None, highlight=None, shade=None, x_range=None,
                       prediction_label="prediction", start=1, uirevision="logos", track=None):
    """PWM and importance logos and the samples' histogram at every budget of ``sweep``, with a slider.

    Parameters
    ----------
    sweep : BitsSweep — T budgets of one sequence (length L)
    start_bits : float — the frame shown first (the budget nearest to it)
    titles : list of 2 str, optional — titles of the two logo rows
    highlight, shade : list of int, optional — 0-based positions banded on the logos (see ``logos_figure``)
    x_range : (int, int), optional — initial zoom, 0-based inclusive
    prediction_label : str — the histogram's x-axis title (what the predictor outputs)
    start : int — displayed number of the first position
    track : dict, optional — a per-position profile drawn under the logos on the same x axis (zooming the
        logos zooms it, and the other way round), e.g. APARENT2's cleavage profile; see
        :func:`~scrambler_core.logo_figures.check_track` for its keys. It is the same in every frame.

    Returns
    -------
    plotly.graph_objects.Figure — traces of the first frame, ``frames`` named by budget (``"0.5"``), one
    slider (``layout.sliders[0]``) whose steps animate to them. Rows: axes x/y (PWM), x2/y2
    (importance), x3/y3 (histogram), x4/y4 (the track); the track's lines are the last traces.
    """
    import plotly.graph_objects as go

    letters = _letters(sweep.alphabet)
    titles = titles or ["Scrambled PWM", "Importance on your sequence"]
    active = sweep.nearest(start_bits)
    y_ranges = _shared_y_ranges(sweep, letters)
    fixed = sweep.fixed if sweep.fixed is not None and np.any(sweep.fixed) else None
    edges, counts = _histogram(sweep, prediction_label)
    text_y = float(counts.max()) * 1.6 + 0.5
    checks = sweep.faithfulness()
    track = check_track(track, sweep.pwm.shape[1]) if track is not None else None
    per_frame, layout = [], None
    for t in range(len(sweep.target_bits)):
        rows, hover = frame_rows(sweep, t, y_ranges)
        fig = logos_figure(rows, letters, titles=titles, y_labels=["bits", "importance"], hover_values=hover,
                           start=start, highlight=highlight, shade=shade, x_range=x_range, y_ranges=y_ranges,
                           fixed=fixed, uirevision=uirevision)
        per_frame.append([trace.to_plotly_json() for trace in fig.data]
                         + _histogram_traces(sweep, t, edges, counts, prediction_label, text_y, checks))
        if t == active:
            layout = fig.layout.to_plotly_json()
    per_frame = _canonical(per_frame)
    if track is not None:
        lines = add_track(layout, track, start=start, axis=4)
        per_frame = [traces + lines for traces in per_frame]
    layout = _extend_layout(layout, edges, counts, sweep.prediction, prediction_label)
    layout["sliders"] = [_slider(sweep.target_bits, active)]
    frames = [go.Frame(data=data, name=f"{b:g}") for data, b in zip(per_frame, sweep.target_bits)]
    return go.Figure(data=per_frame[active], layout=layout, frames=frames)
