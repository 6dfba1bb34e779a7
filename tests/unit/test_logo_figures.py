"""Interactive plotly logos: heights, stacking, glyphs, hover, highlight, validation and speed."""
import json
import time

import numpy as np
import pytest

from scrambler_core import logo_figures as lf

DNA_COLORS = {"A": "rgb(0, 128, 0)", "C": "rgb(0, 0, 255)", "G": "rgb(255, 166, 0)", "T": "rgb(255, 0, 0)"}


def _letter_traces(fig, row=0):
    yaxis = "y" if row == 0 else f"y{row + 1}"
    return {t.name: t for t in fig.data if t.type == "scatter" and t.yaxis == yaxis}


def _hover_trace(fig, row=0):
    yaxis = "y" if row == 0 else f"y{row + 1}"
    (trace,) = [t for t in fig.data if t.type == "bar" and t.yaxis == yaxis]
    return trace


def _extent(values):
    values = np.asarray(values, dtype=np.float64)
    return float(np.nanmin(values)), float(np.nanmax(values))


def _signed_area(contour):
    x, y = contour[:, 0], contour[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _contours(outline):
    breaks = np.flatnonzero(np.isnan(outline[:, 0]))
    starts = np.concatenate([[0], breaks[:-1] + 1])
    return [outline[s:e] for s, e in zip(starts, breaks)]


# ============================================================================ heights

def test_pwm_heights_uniform_is_zero_and_one_hot_is_two_bits():
    assert np.allclose(lf.logo_heights_pwm(np.full((5, 4), 0.25), "dna"), 0.0)
    one_hot = np.eye(4)[[2, 0, 3]]
    heights = lf.logo_heights_pwm(one_hot, "dna")
    assert heights.shape == (3, 4)
    assert np.allclose(heights, 2.0 * one_hot)
    half = lf.logo_heights_pwm([[0.5, 0.5, 0.0, 0.0]], "ACGT")          # 1 bit shared by A and C
    assert np.allclose(half, [[0.5, 0.5, 0.0, 0.0]])
    protein = lf.logo_heights_pwm(np.eye(20)[:2], "protein")
    assert np.isclose(protein.max(), np.log2(20))


def test_pwm_heights_validation_says_what_was_expected():
    with pytest.raises(ValueError, match=r"pwm must have shape \(L, 4\) for letters ACGT, got shape \(3, 5\)"):
        lf.logo_heights_pwm(np.ones((3, 5)), "dna")
    with pytest.raises(ValueError, match="probabilities >= 0"):
        lf.logo_heights_pwm([[1.2, -0.2, 0, 0]], "dna")
    with pytest.raises(ValueError, match="finite"):
        lf.logo_heights_pwm([[np.nan, 0, 0, 1]], "dna")


def test_importance_heights_put_the_reference_letter_only():
    heights = lf.logo_heights_importance([0.5, -1.0, 0.0, 2.0], "acnT", "dna")
    expected = np.zeros((4, 4))
    expected[0, 0], expected[1, 1], expected[3, 3] = 0.5, -1.0, 2.0
    assert np.array_equal(heights, expected)
    protein = lf.logo_heights_importance([1.0, 1.0], "WX", "protein")   # X: unknown residue, no letter
    assert protein[0, "ACDEFGHIKLMNPQRSTVWY".index("W")] == 1.0 and not protein[1].any()


def test_importance_heights_validation_says_what_was_expected():
    with pytest.raises(ValueError, match="sequence has length 3 but importance has 4 positions"):
        lf.logo_heights_importance([1, 2, 3, 4], "ACG", "dna")
    with pytest.raises(ValueError, match=r"letter 'U' at position 3 is not one of A, C, G, T \(or N for unknown\)"):
        lf.logo_heights_importance([1, 2, 3], "ACU", "dna")
    with pytest.raises(ValueError, match=r"importance must have shape \(L,\)"):
        lf.logo_heights_importance(np.ones((2, 2)), "AC", "dna")


def test_stack_heights_like_logomaker_big_on_top():
    bottom, top = lf.stack_heights([[-3.0, 5.0, -1.0, 2.0]])
    assert np.allclose(bottom, [[-4.0, 2.0, -1.0, 0.0]])
    assert np.allclose(top, [[-1.0, 7.0, 0.0, 2.0]])


# ============================================================================ glyphs and colours

def test_glyph_outlines_fill_the_unit_box_and_keep_holes():
    a = lf.glyph_outline("A")
    assert lf.glyph_outline("A") is a and not a.flags.writeable            # cached once
    assert _extent(a[:, 1]) == pytest.approx((0.0, 1.0))
    assert _extent(a[:, 0]) == pytest.approx((0.0, 1.0))
    counts = {c: len(_contours(lf.glyph_outline(c))) for c in "ACGTOBDPQR4689"}
    assert counts == {"A": 2, "C": 1, "G": 1, "T": 1, "O": 2, "B": 3, "D": 2, "P": 2, "Q": 2, "R": 2,
                      "4": 2, "6": 2, "8": 3, "9": 2}
    outer, inner = sorted(_contours(lf.glyph_outline("O")), key=lambda c: -abs(_signed_area(c)))
    assert np.sign(_signed_area(outer)) == -np.sign(_signed_area(inner))  # holes wind the other way
    low, high = _extent(lf.glyph_outline("I")[:, 0])                    # narrower than E, centred
    assert high - low < 0.7 and low + high == pytest.approx(1.0)


def test_letter_colors_follow_logomaker_schemes():
    assert lf.letter_colors("ACGT") == DNA_COLORS
    assert lf.letter_colors("ACGU")["U"] == "rgb(255, 0, 0)"
    protein = lf.letter_colors("ACDEFGHIKLMNPQRSTVWY")
    assert protein["D"] == "rgb(255, 0, 0)" and protein["K"] == "rgb(0, 0, 255)"
    assert protein["Q"] == "rgb(128, 0, 128)" and protein["L"] == "rgb(0, 0, 0)" and protein["S"] == "rgb(0, 128, 0)"


# ============================================================================ figure

def test_letters_stack_up_and_down_in_glyph_boxes():
    heights = np.array([[0.5, 1.0, 0.0, 0.0],     # A 0..0.5, C 0.5..1.5
                        [0.0, 0.0, -0.8, 0.3],    # G -0.8..0 (flipped), T 0..0.3
                        [0.0, 0.0, 0.0, 0.0]])    # nothing
    fig = lf.logos_figure([heights], "dna")
    traces = _letter_traces(fig)
    assert sorted(traces) == ["A", "C", "G", "T"]
    assert _extent(traces["A"].y) == pytest.approx((0.0, 0.5), abs=1e-6)
    assert _extent(traces["C"].y) == pytest.approx((0.5, 1.5), abs=1e-6)
    assert _extent(traces["G"].y) == pytest.approx((-0.8, 0.0), abs=1e-6)
    assert _extent(traces["T"].y) == pytest.approx((0.0, 0.3), abs=1e-6)
    assert _extent(traces["A"].x) == pytest.approx((0.55, 1.45), abs=1e-6)   # position 1, width 0.9
    assert _extent(traces["G"].x) == pytest.approx((1.55, 2.45), abs=1e-6)
    for name, trace in traces.items():
        assert trace.fill == "toself" and trace.fillcolor == DNA_COLORS[name]
        assert np.isnan(np.asarray(trace.x, dtype=float)).any()               # NaN gaps between contours
    g = lf.glyph_outline("G")                                                 # negative: upside down
    assert np.allclose(np.asarray(traces["G"].y, dtype=float)[:5], -0.8 * g[:5, 1], atol=1e-5)


def test_rows_share_one_x_axis_and_have_their_own_y_range():
    pwm = lf.logo_heights_pwm(np.eye(4)[[0, 1, 2, 3, 0]], "dna")
    imp = lf.logo_heights_importance([1, -2, 0.5, 0, 1], "ACGTA", "dna")
    fig = lf.logos_figure([pwm, imp], "dna", titles=["PWM", "importance"], y_labels=["bits", "score"],
                          y_ranges=[(0, 2), None], x_range=(1, 3), start=11)
    assert fig.layout.xaxis.matches == "x2" and fig.layout.xaxis2.matches is None
    assert fig.layout.xaxis.showticklabels is False and fig.layout.xaxis2.showticklabels is True
    assert list(fig.layout.xaxis.range) == list(fig.layout.xaxis2.range) == [11.5, 14.5]
    assert tuple(fig.layout.yaxis.range) == (0.0, 2.0)
    low, high = fig.layout.yaxis2.range
    assert low < -2.0 and high > 1.0
    assert fig.layout.yaxis.domain[0] > fig.layout.yaxis2.domain[1]          # row 1 above row 2
    assert fig.layout.yaxis.title.text == "bits" and fig.layout.yaxis2.title.text == "score"
    assert [a.text for a in fig.layout.annotations] == ["PWM", "importance"]
    assert all(t.xaxis == "x2" for t in fig.data if t.yaxis == "y2")
    assert fig.layout.yaxis.fixedrange and fig.layout.yaxis2.fixedrange


def test_highlight_adds_bands_on_every_row():
    rows = [np.ones((10, 4)), -np.ones((10, 4))]
    fig = lf.logos_figure(rows, "dna", highlight=[0, 7], start=101)
    bands = [(s.x0, s.x1, s.xref, s.yref) for s in fig.layout.shapes]
    assert sorted(bands) == sorted([(100.5, 101.5, "x", "y domain"), (100.5, 101.5, "x2", "y2 domain"),
                                    (107.5, 108.5, "x", "y domain"), (107.5, 108.5, "x2", "y2 domain")])
    assert all(s.y0 == 0 and s.y1 == 1 and s.layer == "below" for s in fig.layout.shapes)
    assert not lf.logos_figure(rows, "dna").layout.shapes


def test_hover_text_names_position_letter_and_value():
    imp = lf.logo_heights_importance(np.r_[np.zeros(36), 0.82, -0.5], "C" * 36 + "AG", "dna")
    fig = lf.logos_figure([imp], "dna", y_labels=["bits"])
    texts = _hover_trace(fig).hovertext
    assert len(texts) == 38
    assert texts[36] == "pos 37 · A · 0.82 bits"
    assert texts[37] == "pos 38 · G · -0.5 bits"
    assert texts[0] == "pos 1 · no letter"
    assert _hover_trace(lf.logos_figure([imp], "dna", start=0)).hovertext[36].startswith("pos 36 · A")


def test_hover_lists_several_letters_top_first_and_hover_values():
    pwm = np.array([[0.5, 0.5, 0.0, 0.0]])
    heights = lf.logo_heights_pwm(pwm, "dna") * np.array([[1.0, 2.0, 0, 0]])  # A 0.5, C 1.0
    fig = lf.logos_figure([heights], "dna", y_labels=["bits"])
    assert _hover_trace(fig).hovertext[0] == "pos 1<br>C · 1 bits<br>A · 0.5 bits"
    fig = lf.logos_figure([heights], "dna", y_labels=["bits"], hover_values=[pwm])
    assert _hover_trace(fig).hovertext[0] == "pos 1<br>C · 0.5 (1 bits)<br>A · 0.5 (0.5 bits)"
    bar = _hover_trace(fig)
    assert bar.hoverinfo == "text" and bar.marker.color == "rgba(0, 0, 0, 0)"


def test_protein_logo_has_twenty_letters():
    letters = "ACDEFGHIKLMNPQRSTVWY"
    pwm = np.random.default_rng(1).dirichlet(np.full(20, 0.2), size=30)
    fig = lf.logos_figure([lf.logo_heights_pwm(pwm, "protein")], "protein")
    traces = _letter_traces(fig)
    assert set(traces) <= set(letters) and len(traces) >= 18
    assert traces["W"].fillcolor == "rgb(0, 0, 0)"
    top = lf.stack_heights(lf.logo_heights_pwm(pwm, "protein"))[1].max()
    assert max(_extent(t.y)[1] for t in traces.values()) == pytest.approx(top, abs=1e-5)


def test_an_empty_row_has_only_its_hover_trace():
    fig = lf.logos_figure([np.zeros((6, 4))], "dna")
    assert [t.type for t in fig.data] == ["bar"]
    assert tuple(fig.layout.yaxis.range) == (0.0, 1.0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(rows=[np.ones((5, 20))]), r"rows\[0\] must have shape \(L, 4\) for letters ACGT, got shape \(5, 20\)"),
    (dict(rows=[np.ones((5, 4)), np.ones((6, 4))]), r"same length L .* got lengths \[5, 6\]"),
    (dict(rows=[]), r"non-empty list of \(L, 4\) height matrices"),
    (dict(titles=["one"]), r"titles must be a list with one entry per row \(2\)"),
    (dict(hover_values=[np.ones((4, 4)), None]), r"hover_values\[0\] has 4 positions but the rows have 5"),
    (dict(highlight=[5]), r"highlight position 5 is outside 0..4 \(0-based positions of a 5-position logo\)"),
    (dict(highlight=[1.5]), r"highlight must hold 0-based integer positions, got 1.5"),
    (dict(x_range=(3, 1)), r"x_range must have start <= end"),
    (dict(x_range=(0, 9)), r"x_range position 9 is outside 0..4"),
    (dict(y_ranges=[(1, 0), None]), r"y_ranges\[0\] must be \(low, high\) with low < high"),
    (dict(start=1.5), r"start must be an int"),
])
def test_figure_validation_says_what_was_expected(kwargs, message):
    args = dict(rows=[np.ones((5, 4)), np.ones((5, 4))])
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        lf.logos_figure(args.pop("rows"), "dna", **args)


def test_unknown_alphabet_name_is_refused():
    with pytest.raises(ValueError):
        lf.logos_figure([np.ones((3, 4))], "dnaa")


@pytest.mark.parametrize("length", [50, 205])
def test_two_row_logo_builds_fast_with_small_json(length):
    rng = np.random.default_rng(0)
    pwm = rng.dirichlet(np.full(4, 0.3), size=length)
    sequence = "".join("ACGT"[i] for i in pwm.argmax(axis=1))
    rows = [lf.logo_heights_pwm(pwm, "dna"), lf.logo_heights_importance(rng.normal(size=length), sequence, "dna")]
    lf.logos_figure(rows, "dna")                                   # first call: imports and glyph outlines
    t0 = time.perf_counter()
    fig = lf.logos_figure(rows, "dna", titles=["PWM", "importance"], y_labels=["bits", "importance"],
                          hover_values=[pwm, None], highlight=[3], y_ranges=[(0, 2), None])
    build = time.perf_counter() - t0
    text = fig.to_json()
    print(f"\n{length}-nt two-row logo: built in {build * 1000:.0f} ms, JSON {len(text) / 1e6:.2f} MB")
    assert build < 5.0
    assert len(text) < 3e6
    assert len(json.loads(text)["data"]) == len(fig.data)


def test_one_row_205_nt_pwm_logo_json_is_small():
    pwm = np.random.default_rng(2).dirichlet(np.full(4, 0.5), size=205)
    text = lf.logos_figure([lf.logo_heights_pwm(pwm, "dna")], "dna").to_json()
    assert len(text) < 1.5e6


@pytest.mark.parametrize("length, importance, important, expected", [
    (50, None, None, (1, 50)),                                          # short: whole
    (205, None, None, (1, 205)),                                        # nothing to centre on: whole
    (205, np.eye(205)[100], None, (61, 140)),                           # centred on the top score
    (205, np.eye(205)[3], None, (1, 80)),                               # clipped at the start
    (205, np.eye(205)[204], None, (126, 205)),                          # clipped at the end
    (205, np.eye(205)[3], np.arange(205) // 10 == 7, (35, 114)),        # the true elements win (70-79)
])
def test_readable_window(length, importance, important, expected):
    from scrambler_core.logo_figures import readable_window

    assert readable_window(length, importance, important) == expected


def test_with_track_adds_a_row_of_lines_on_the_logos_x_axis():
    """Three logo rows (x, x2 matching x3) and a two-line track: the track gets x4, matching x3."""
    rows = [lf.logo_heights_importance(np.arange(10, dtype=float), "ACGTACGTAC", "ACGT")] * 3
    fig = lf.logos_figure(rows, "ACGT", titles=["a", "b", "c"], x_range=(2, 5))
    values = np.stack([np.linspace(0, 1, 10), np.linspace(1, 0, 10)])
    out = lf.with_track(fig, dict(values=values, names=["reference", "alternative"], title="profiles",
                                  band=(3, 4, "window")), 10)
    lines = [t for t in out.data if t.xaxis == "x4"]
    assert [t.name for t in lines] == ["reference", "alternative"] and len(out.data) == len(fig.data) + 2
    assert out.layout.xaxis4.matches == "x3" and out.layout.xaxis.matches == "x3"
    assert list(lines[1].x) == list(range(1, 11)) and np.allclose(lines[1].y, values[1])
    assert out.layout.yaxis4.domain[1] < out.layout.yaxis3.domain[0]            # under the logos
    assert out.layout.height > fig.layout.height
    band = [s for s in out.layout.shapes if s.name == "window"][0]
    assert (band.x0, band.x1) == (2.5, 4.5)
    assert len(fig.data) == len(out.data) - 2 and "xaxis4" not in fig.layout.to_plotly_json()   # a copy


@pytest.mark.parametrize("track, message", [
    (dict(values=np.ones((5, 10))), "up to 4 such rows"),
    (dict(values=np.ones((2, 10)), names=["one"]), "2 lines but 1 names"),
    (dict(values=np.ones(9)), "10 finite numbers"),
])
def test_check_track_refuses_bad_lines(track, message):
    with pytest.raises(ValueError, match=message):
        lf.check_track(track, 10)
