"""The live bits slider's data and figure: Scrambler.explain_bits_grid, BitsSweep, bits_slider_figure."""
import numpy as np
import pytest

from scrambler_core import scrambler as S
from scrambler_core.scrambler.sweep import BITS_GRID, bits_grid
from scrambler_core.slider_figure import HISTOGRAM_BINS, bits_slider_figure
from toymodels import SMALL, linear_predictor, onehot

SEQUENCE = "ACGTACGTACGA"


@pytest.fixture(scope="module")
def scrambler():
    return S.Scrambler(S.ScramblerModel(12, **SMALL), linear_predictor())


@pytest.fixture(scope="module")
def sweep(scrambler):
    return scrambler.explain_bits_grid(SEQUENCE, n_samples=8, seed=3)


def test_the_grid_spans_the_slider_and_is_sorted():
    assert len(BITS_GRID) == 24 and BITS_GRID[0] == 0.05 and BITS_GRID[-1] == 2.0
    assert np.all(np.diff(BITS_GRID) > 0)
    # every value of the app's step-0.05 slider up to 0.5 is a frame
    assert set(np.round(np.arange(0.05, 0.51, 0.05), 2)) <= set(np.round(BITS_GRID, 2))


def test_each_budget_equals_its_own_explain_call(scrambler, sweep):
    """One batched call gives, per budget, the importance, PWM and bits that explain() gives alone."""
    assert sweep.importance.shape == (24, 12) and sweep.pwm.shape == (24, 12, 4)
    assert sweep.sample_predictions.shape == (24, 8) and sweep.conservation.shape == (24,)
    for t in (0, 9, 23):
        alone = scrambler.explain([SEQUENCE], target_bits=sweep.target_bits[t], n_samples=8)
        np.testing.assert_allclose(sweep.importance[t], alone.importance[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(sweep.pwm[t], alone.pwm[0], rtol=1e-5, atol=1e-6)
        assert sweep.conservation[t] == pytest.approx(float(alone.conservation[0]), rel=1e-5)
    assert sweep.prediction == pytest.approx(float(linear_predictor().predict([SEQUENCE])[0]), rel=1e-5)
    assert sweep.sequence == SEQUENCE and sweep.mode == "inclusion"
    assert sweep.nearest(0.52) == 9 and sweep.target_bits[sweep.nearest(3.0)] == 2.0


def test_a_fixed_target_scrambler_has_one_budget_and_the_range_is_respected(scrambler):
    fixed = S.ScramblerModel(12, bits_conditioned=False, target_bits=0.4, **SMALL)
    assert bits_grid(fixed).tolist() == [0.4]
    narrow = S.ScramblerModel(12, bits_range=(0.2, 1.0), **SMALL)
    assert bits_grid(narrow).min() == 0.2 and bits_grid(narrow).max() == 1.0
    with pytest.raises(ValueError, match="outside this scrambler's range"):
        scrambler.explain_bits_grid(SEQUENCE, target_bits=[0.5, 2.5])
    with pytest.raises(ValueError, match="one sequence, got 2"):
        scrambler.explain_bits_grid(onehot(2, 12))
    with pytest.raises(ValueError, match="at least one budget"):
        scrambler.explain_bits_grid(SEQUENCE, target_bits=[])


def test_with_explanation_puts_the_pages_budget_in(scrambler, sweep):
    alone = scrambler.explain([SEQUENCE], target_bits=0.33, n_samples=8, seed=9)
    joined = sweep.with_explanation(alone)
    assert len(joined.target_bits) == 25 and np.all(np.diff(joined.target_bits) > 0)
    k = joined.nearest(0.33)
    np.testing.assert_array_equal(joined.sample_predictions[k], alone.sample_predictions[0])
    replaced = sweep.with_explanation(scrambler.explain([SEQUENCE], target_bits=0.5, n_samples=8, seed=9))
    assert len(replaced.target_bits) == 24
    other = scrambler.explain(["TTTTACGTACGA"], target_bits=0.5, n_samples=8)
    with pytest.raises(ValueError, match="another sequence"):
        sweep.with_explanation(other)


def test_the_figure_has_one_frame_per_budget_with_the_same_traces(sweep):
    fig = bits_slider_figure(sweep, start_bits=0.5, prediction_label="toy output")
    assert [f.name for f in fig.frames] == [f"{b:g}" for b in sweep.target_bits]
    counts = {len(f.data) for f in fig.frames}
    assert counts == {len(fig.data)}
    keys = [[(t.name, t.xaxis, t.type) for t in f.data] for f in fig.frames]
    assert all(k == keys[0] for k in keys)
    slider = fig.layout.sliders[0]
    assert slider.active == 9 and len(slider.steps) == 24
    assert all(s.method == "animate" and list(s.args[0]) == [f.name] for s, f in zip(slider.steps, fig.frames))
    # the frame shown first is the active frame's data
    metrics = [t for t in fig.data if t.name == "metrics"][0]
    assert metrics.text == [t for t in fig.frames[9].data if t.name == "metrics"][0].text
    assert metrics.text[0].startswith("target 0.5 bits · realised ")


def test_histogram_counts_every_sample_on_fixed_bins(sweep):
    fig = bits_slider_figure(sweep, start_bits=0.05)
    for frame in fig.frames:
        bars = [t for t in frame.data if t.name == "samples"][0]
        assert len(bars.x) == HISTOGRAM_BINS and int(np.sum(bars.y)) == 8
        assert tuple(bars.x) == tuple([t for t in fig.frames[0].data if t.name == "samples"][0].x)
    assert fig.layout.xaxis3.range[0] <= sweep.sample_predictions.min()
    assert fig.layout.xaxis3.range[1] >= max(sweep.sample_predictions.max(), sweep.prediction)
    assert [s for s in fig.layout.shapes if s.name == "original"][0].x0 == pytest.approx(sweep.prediction)


def test_y_ranges_are_shared_and_hold_every_frame(sweep):
    fig = bits_slider_figure(sweep)
    assert tuple(fig.layout.yaxis.range) == (0.0, 2.0)
    tallest = float(sweep.importance.max())
    assert fig.layout.yaxis2.range[1] >= tallest
    # the logo rows sit above the histogram row, none overlapping
    assert fig.layout.yaxis3.domain[1] < fig.layout.yaxis2.domain[0] < fig.layout.yaxis.domain[0]


def test_each_frame_names_its_failed_faithfulness_checks(sweep):
    """An untrained scrambler misses most budgets: the frames that fail say so, the others stay silent."""
    checks = sweep.faithfulness()
    fig = bits_slider_figure(sweep)
    lines = [[t for t in f.data if t.name == "warning"][0].text[0] for f in fig.frames]
    for t, line in enumerate(lines):
        assert (line == "") == bool(checks.faithful[t]), (t, line)
        assert ("budget not reached" in line) == (not checks.bits_ok[t])
    assert not checks.faithful.all()


def _pixels(fig, domain):
    """Height in pixels of a paper-coordinate domain of ``fig``."""
    area = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    return (domain[1] - domain[0]) * area


def test_a_track_is_a_row_under_the_logos_on_their_x_axis(sweep):
    """The track (e.g. a cleavage profile) shares the logos' x axis, is the same in every frame and leaves the
    logo and histogram rows their sizes."""
    values = np.linspace(0.0, 0.3, 12)
    plain = bits_slider_figure(sweep, x_range=(2, 7))
    fig = bits_slider_figure(sweep, x_range=(2, 7), track=dict(values=values, title="Cleavage profile",
                                                               y_title="cleavage", band=(4, 6, "proximal")))
    assert fig.layout.xaxis4.matches == "x2" and fig.layout.xaxis.matches == "x2"     # one zoom for all rows
    assert tuple(fig.layout.xaxis2.range) == (2.5, 8.5)                               # positions 3-8, 1-based
    line = fig.data[-1]
    assert line.xaxis == "x4" and list(line.x) == list(range(1, 13)) and np.allclose(line.y, values)
    assert all(np.allclose(f.data[-1].y, values) for f in fig.frames)
    assert tuple(fig.layout.yaxis4.range) == pytest.approx((0.0, 0.3 * 1.15))
    band = [s for s in fig.layout.shapes if s.name == "proximal"][0]
    assert (band.x0, band.x1, band.xref) == (3.5, 6.5, "x4")                          # positions 4-6
    assert fig.layout.yaxis3.domain[1] < fig.layout.yaxis4.domain[0] < fig.layout.yaxis4.domain[1] \
        < fig.layout.yaxis2.domain[0]
    for axis in ("yaxis", "yaxis2", "yaxis3"):              # the other rows keep their pixel heights
        assert _pixels(fig, fig.layout[axis].domain) == pytest.approx(_pixels(plain, plain.layout[axis].domain))
    assert "Cleavage profile" in [a.text for a in fig.layout.annotations]


def test_logo_trace_count_stops_before_the_histogram_and_the_track(sweep):
    from scrambler_core.slider_figure import logo_trace_count

    plain = bits_slider_figure(sweep)
    assert logo_trace_count(plain) == len(plain.data) - 3
    fig = bits_slider_figure(sweep, track=dict(values=np.ones(12), log=True))
    assert logo_trace_count(fig) == len(fig.data) - 4 and fig.layout.yaxis4.type == "log"


@pytest.mark.parametrize("track, message", [
    ([1.0] * 12, "must be a dict"),
    (dict(values=np.ones(11)), "12 finite numbers"),
    (dict(values=[np.nan] + [1.0] * 11), "12 finite numbers"),
    (dict(values=np.ones(12), colour="red"), "unknown keys"),
    (dict(values=np.ones(12), band=(0, 3, "x")), "1 <= first <= last <= 12"),
    (dict(values=np.ones(12), band=(5, 13, "x")), "1 <= first <= last <= 12"),
    (dict(values=np.zeros(12), log=True), "log scale needs values > 0"),
])
def test_bad_tracks_are_refused_with_the_reason(sweep, track, message):
    with pytest.raises(ValueError, match=message):
        bits_slider_figure(sweep, track=track)


def test_logo_traces_stay_first_when_a_later_budget_brings_a_letter():
    """A PWM letter too small to draw at the first budget and drawn at a later one still comes before the
    histogram's traces in every frame (the order logo_trace_count relies on)."""
    from scrambler_core.slider_figure import _canonical

    a, c = dict(name="A", xaxis="x", type="scatter", y=[1]), dict(name="C", xaxis="x", type="scatter", y=[2])
    samples = dict(name="samples", xaxis="x3", type="bar", y=[3])
    frames = _canonical([[a, samples], [a, c, samples]])
    assert [[t["name"] for t in f] for f in frames] == [["A", "C", "samples"]] * 2
    assert len(frames[0][1]["y"]) == 0 and frames[1][1]["y"] == [2]      # an empty copy where the letter is missing
