"""Fixed (template) positions drawn black in the plotly logos (logo_figures) and the logomaker logos (plot).

Method §13: reference letters at fixed positions are drawn in black.
"""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from scrambler_core import logo_figures as lf  # noqa: E402
from scrambler_core import plot  # noqa: E402

SEQ = "ACGTACGTAC"
SCORES = np.linspace(0.1, 1.0, len(SEQ))


def _glyph_traces(fig, row=0):
    yaxis = "y" if row == 0 else f"y{row + 1}"
    return [t for t in fig.data if t.type == "scatter" and t.yaxis == yaxis]


def _glyph_count(trace):
    """Glyphs in a letter trace: one per contour block; count distinct glyph x centres instead."""
    x = np.asarray(trace.x, np.float64)
    x = x[np.isfinite(x)]
    return len(np.unique(np.round(x)))


def test_fixed_positions_are_black_in_plotly_logos():
    heights = lf.logo_heights_importance(SCORES, SEQ, "dna")
    fixed = np.zeros(len(SEQ), bool)
    fixed[[0, 4, 5]] = True                       # A, A, C
    fig = lf.logos_figure([heights], "dna", fixed=fixed)
    traces = _glyph_traces(fig)
    black = [t for t in traces if t.fillcolor == lf.FIXED_COLOR]
    assert sorted(t.name for t in black) == ["A (fixed)", "C (fixed)"]
    a_fixed = next(t for t in black if t.name == "A (fixed)")
    centres = np.unique(np.round(np.asarray(a_fixed.x, np.float64)[np.isfinite(a_fixed.x)]))
    assert list(centres) == [1, 5]                # 1-based positions 1 and 5
    colours = lf.letter_colors("ACGT")
    for trace in traces:
        if trace.name in "ACGT":
            assert trace.fillcolor == colours[trace.name] != lf.FIXED_COLOR
    # every glyph is drawn exactly once: 10 positions, 3 of them black
    assert sum(_glyph_count(t) for t in traces) == 10
    assert sum(_glyph_count(t) for t in black) == 3


def test_no_fixed_positions_leave_the_colours_unchanged():
    heights = lf.logo_heights_importance(SCORES, SEQ, "dna")
    plain = lf.logos_figure([heights], "dna")
    same = lf.logos_figure([heights], "dna", fixed=np.zeros(len(SEQ), bool))
    assert [t.fillcolor for t in plain.data if t.type == "scatter"] == \
           [t.fillcolor for t in same.data if t.type == "scatter"]
    assert lf.FIXED_COLOR not in [t.fillcolor for t in plain.data if t.type == "scatter"]


def test_fixed_per_row_and_one_mask_for_all_rows():
    pwm = np.full((len(SEQ), 4), 0.05)
    pwm[np.arange(len(SEQ)), ["ACGT".index(c) for c in SEQ]] = 0.85
    rows = [lf.logo_heights_pwm(pwm, "dna"), lf.logo_heights_importance(SCORES, SEQ, "dna")]
    mask = np.zeros(len(SEQ), int)
    mask[2] = 1                                   # 0/1 values are accepted
    shared = lf.logos_figure(rows, "dna", fixed=mask)
    for row in (0, 1):
        black = [t for t in _glyph_traces(shared, row) if t.fillcolor == lf.FIXED_COLOR]
        assert black, f"row {row} has no black glyph"
        assert all(np.allclose(np.round(np.asarray(t.x)[np.isfinite(t.x)]), 3) for t in black)
    per_row = lf.logos_figure(rows, "dna", fixed=[None, mask.astype(bool)])
    assert not [t for t in _glyph_traces(per_row, 0) if t.fillcolor == lf.FIXED_COLOR]
    assert [t.name for t in _glyph_traces(per_row, 1) if t.fillcolor == lf.FIXED_COLOR] == ["G (fixed)"]


@pytest.mark.parametrize("fixed, words", [
    (np.zeros(5, bool), "shape (10,)"),
    ([np.zeros(10, bool)] * 3, "one such mask (or None) per row (2)"),
    (np.full(10, 2), "True/False"),
    (["yes"] * 10, "True/False"),
])
def test_bad_fixed_names_the_expected_shape(fixed, words):
    heights = lf.logo_heights_importance(SCORES, SEQ, "dna")
    with pytest.raises(ValueError, match="fixed must be") as err:
        lf.logos_figure([heights, heights], "dna", fixed=fixed)
    assert words in str(err.value)


def test_shade_draws_grey_bands_apart_from_highlight():
    heights = lf.logo_heights_importance(SCORES, SEQ, "dna")
    fig = lf.logos_figure([heights, heights], "dna", shade=[1, 2], highlight=[7])
    shades = [s for s in fig.layout.shapes if s.name == "shade"]
    bands = [s for s in fig.layout.shapes if s.name == "highlight"]
    assert len(shades) == 4 and len(bands) == 2  # per position and row
    assert {s.fillcolor for s in shades} == {lf.SHADE_COLOR}
    assert sorted({s.x0 + 0.5 for s in shades}) == [2, 3]
    with pytest.raises(ValueError, match="shade position 10 is outside"):
        lf.logos_figure([heights], "dna", shade=[10])


# ----------------------------------------------------------------------------- logomaker (plot)

def _patch_colours(ax):
    return [tuple(np.round(p.get_facecolor()[:3], 3)) for p in ax.patches]


@pytest.mark.parametrize("kind", ["pwm", "importance", "matrix"])
def test_logomaker_logos_draw_fixed_letters_black(kind):
    fixed = np.zeros(len(SEQ), bool)
    fixed[[1, 3]] = True
    onehot = np.eye(4)[["ACGT".index(c) for c in SEQ]]
    if kind == "pwm":
        fig, ax = plot.pwm_logo(0.1 + 0.6 * onehot, "dna", fixed=fixed)
    elif kind == "importance":
        fig, ax = plot.importance_logo(SCORES, SEQ, "dna", fixed=fixed)
    else:
        fig, ax = plot.matrix_logo(onehot * SCORES[:, None], "dna", fixed=fixed)
    try:
        colours = _patch_colours(ax)
        black = [c for c in colours if c == (0.0, 0.0, 0.0)]
        # the fixed positions hold C and T (one letter with a height each for importance/matrix; pwm: all 4)
        expected = 8 if kind == "pwm" else 2
        assert len(black) == expected, colours
        _, plain = plot.importance_logo(SCORES, SEQ, "dna")
        assert (0.0, 0.0, 0.0) not in _patch_colours(plain)
    finally:
        plt.close("all")


def test_logomaker_bad_fixed_names_the_shape():
    with pytest.raises(ValueError, match=r"fixed must be a boolean mask of shape \(10,\)"):
        plot.importance_logo(SCORES, SEQ, "dna", fixed=[True, False])
    with pytest.raises(ValueError, match="True/False"):
        plot.pwm_logo(np.full((10, 4), 0.25), "dna", fixed=np.full(10, 3))
    plt.close("all")
