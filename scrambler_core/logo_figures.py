"""Interactive sequence logos drawn with plotly, for the app's live view.

logomaker (see :mod:`scrambler_core.plot`) draws publication logos but needs
about 4 s for a 205-nt logo, because every glyph builds matplotlib text paths.
This module draws the same letter heights with plotly in a few milliseconds:
each letter's outline is taken once from matplotlib's ``TextPath`` (the bold
sans font logomaker uses by default), normalised to a unit box, cached, and
then placed with numpy into ``(x - 0.45 .. x + 0.45, y0 .. y1)`` for every
position where that letter has a non-zero height. All glyphs of one letter in
one row form a single filled scatter trace; holes (A, B, D, O, P, Q, R, 4, 6,
8, 9, ...) stay open because a font's inner contours wind opposite to its outer
ones and the browser fills the trace's path with the non-zero rule.
Coordinates are float32 arrays with NaN between contours, which plotly writes
as base64 typed arrays (about 5 JSON bytes per coordinate): a two-row 205-nt
DNA figure is about 0.4 MB of JSON and builds in about 30 ms.

Stacking follows logomaker's ``stack_order="big_on_top"``: positive heights go
up from 0, smallest first; negative heights go down from 0, the most negative
at the bottom, drawn upside down (logomaker's ``flip_below=True``).

Rows share one x axis (zoom one, zoom all). Figure x coordinates are the
displayed positions ``index + start``; function arguments take 0-based
indices.

>>> from scrambler_core import logo_figures as lf
>>> heights = lf.logo_heights_pwm(ex.pwm[0], "dna")                       # doctest: +SKIP
>>> imp = lf.logo_heights_importance(ex.importance[0], seq, "dna")       # doctest: +SKIP
>>> fig = lf.logos_figure([heights, imp], "dna", y_labels=["bits", "importance"])  # doctest: +SKIP
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .plot import _color_scheme, _letters, information_content

__all__ = ["logo_heights_pwm", "logo_heights_importance", "stack_heights", "glyph_outline",
           "letter_colors", "logos_figure", "readable_window", "check_track", "add_track", "with_track",
           "GLYPH_WIDTH"]

GLYPH_WIDTH = 0.9            # glyphs span x - 0.45 .. x + 0.45
FONT_FAMILY = "sans"         # logomaker's default font_name
FONT_WEIGHT = "bold"         # logomaker's default font_weight
DONT_STRETCH_MORE_THAN = "E"  # narrow letters (I) are not widened beyond E's width, as in logomaker
_OUTLINE_RESOLUTION = 400.0  # glyphs are flattened at this many units per em, then simplified
_OUTLINE_TOLERANCE = 0.004   # simplification tolerance, fraction of the letter's size
HIGHLIGHT_COLOR = "rgba(255, 190, 0, 0.28)"
SHADE_COLOR = "rgba(90, 90, 90, 0.22)"   # ``shade``: positions left out (e.g. dropped by mask dropout)
FIXED_COLOR = "rgb(0, 0, 0)"              # letters at fixed (template) positions, as in method §13
_MIN_RELATIVE_HEIGHT = 1e-4  # glyphs below this fraction of the row's tallest stack are not drawn


# ============================================================================ heights

def _check_matrix(matrix, letters, name):
    """Float (L, A) array of finite values, or a ValueError saying the expected shape."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] != len(letters):
        raise ValueError(f"{name} must have shape (L, {len(letters)}) for letters {letters}, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{name} must hold finite numbers; it has NaN or infinite values")
    return m


def _ambiguous_letter(letters) -> str:
    return "N" if set(letters) <= set("ACGTU") else "X"


def logo_heights_pwm(pwm, alphabet) -> np.ndarray:
    """Information-content letter heights of a PWM (delegates to :func:`plot.information_content`).

    Parameters
    ----------
    pwm : array_like, shape (L, A)
        Letter probabilities per position (>= 0; rows are renormalised).
    alphabet : Alphabet or str
        Alphabet, its name (``"dna"``) or its letters (``"ACGT"``); column order of ``pwm``.

    Returns
    -------
    np.ndarray, shape (L, A), float64
        Heights in bits, each row summing to ``log2 A - H(p)``.

    Raises
    ------
    ValueError
        Wrong shape, non-finite or negative probabilities.
    """
    letters = _letters(alphabet)
    p = _check_matrix(pwm, letters, "pwm")
    if np.any(p < 0):
        raise ValueError("pwm must hold probabilities >= 0; it has negative values")
    return information_content(p)


def logo_heights_importance(importance, sequence, alphabet) -> np.ndarray:
    """Heights of an importance logo: the reference letter at each position, height = score.

    Parameters
    ----------
    importance : array_like, shape (L,)
        Score per position; negative scores are drawn below the axis.
    sequence : str
        Reference sequence of length L (case-insensitive). ``N`` (``X`` for
        protein) positions get no letter.
    alphabet : Alphabet or str

    Returns
    -------
    np.ndarray, shape (L, A), float64
        Zero except ``[j, letters.index(sequence[j])] = importance[j]``.

    Raises
    ------
    ValueError
        Scores that are not 1-D or finite, a sequence of another length, or a
        letter that is not in the alphabet (the message names it and its 1-based position).
    """
    letters = _letters(alphabet)
    scores = np.asarray(importance, dtype=np.float64)
    if scores.ndim != 1:
        raise ValueError(f"importance must have shape (L,), got shape {scores.shape}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("importance must hold finite numbers; it has NaN or infinite values")
    if not isinstance(sequence, str):
        raise ValueError(f"sequence must be a str of {len(scores)} letters, got {type(sequence).__name__}")
    sequence = sequence.upper()
    if len(sequence) != len(scores):
        raise ValueError(f"sequence has length {len(sequence)} but importance has {len(scores)} positions; "
                         "expected one letter per score")
    unknown = _ambiguous_letter(letters)
    heights = np.zeros((len(scores), len(letters)))
    for j, letter in enumerate(sequence):
        if letter in letters:
            heights[j, letters.index(letter)] = scores[j]
        elif letter != unknown:
            raise ValueError(f"sequence letter {letter!r} at position {j + 1} is not one of "
                             f"{', '.join(letters)} (or {unknown} for unknown)")
    return heights


def stack_heights(heights):
    """Bottom and top of every glyph, stacked like logomaker's ``big_on_top``.

    Positive heights stack up from 0, smallest at the bottom; negative heights
    stack down from 0, the most negative at the bottom.

    Parameters
    ----------
    heights : np.ndarray, shape (L, A)

    Returns
    -------
    bottom, top : np.ndarray, shape (L, A)
        ``top - bottom == abs(heights)``.
    """
    h = np.asarray(heights, dtype=np.float64)
    order = np.argsort(h, axis=1, kind="stable")
    v = np.take_along_axis(h, order, axis=1)
    base = np.where(v < 0, v, 0.0).sum(axis=1, keepdims=True)
    top_sorted = base + np.cumsum(np.abs(v), axis=1)
    bottom, top = np.empty_like(h), np.empty_like(h)
    np.put_along_axis(top, order, top_sorted, axis=1)
    np.put_along_axis(bottom, order, top_sorted - np.abs(v), axis=1)
    return bottom, top


# ============================================================================ glyphs

def _simplify(points, tolerance):
    """Ramer-Douglas-Peucker simplification of a closed polyline (K, 2); keeps the ends."""
    if len(points) <= 3:
        return points
    keep = np.zeros(len(points), dtype=bool)
    keep[0] = keep[-1] = True
    spans = [(0, len(points) - 1)]
    while spans:
        i, k = spans.pop()
        if k - i < 2:
            continue
        a, b = points[i], points[k]
        seg = b - a
        rel = points[i + 1:k] - a
        length = np.hypot(*seg)
        dist = (np.abs(seg[0] * rel[:, 1] - seg[1] * rel[:, 0]) / length if length > 0
                else np.hypot(rel[:, 0], rel[:, 1]))
        m = int(np.argmax(dist))
        if dist[m] > tolerance:
            keep[i + 1 + m] = True
            spans += [(i, i + 1 + m), (i + 1 + m, k)]
    return points[keep]


def _letter_path(letter):
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    return TextPath((0, 0), letter, size=1, prop=FontProperties(family=FONT_FAMILY, weight=FONT_WEIGHT))


def _closing_gap(contours):
    """Contours joined into one (K, 2) array, each followed by a NaN row (a gap in plotly)."""
    gap = np.full((1, 2), np.nan)
    return np.concatenate([part for c in contours for part in (c, gap)])


@lru_cache(maxsize=None)
def glyph_outline(letter) -> np.ndarray:
    """Outline of a letter in the unit box, as logomaker would fit it into a glyph box.

    The letter's contours (bold sans, matplotlib ``TextPath``) are flattened,
    simplified and scaled so the letter fills ``0 <= y <= 1`` and is centred in
    ``0 <= x <= 1``; letters narrower than ``E`` keep their narrower width
    (logomaker's ``dont_stretch_more_than="E"``). Cached per letter.

    Parameters
    ----------
    letter : str
        One character.

    Returns
    -------
    np.ndarray, shape (K, 2), read-only
        Closed contours, each followed by a row of NaN.
    """
    if not isinstance(letter, str) or len(letter) != 1 or letter.isspace():
        raise ValueError(f"letter must be one visible character, got {letter!r}")
    from matplotlib.transforms import Affine2D

    scale = Affine2D().scale(_OUTLINE_RESOLUTION)
    contours = [np.asarray(c, dtype=np.float64) / _OUTLINE_RESOLUTION
                for c in _letter_path(letter).to_polygons(transform=scale, closed_only=True) if len(c) >= 3]
    if not contours:
        raise ValueError(f"letter {letter!r} has no outline in the {FONT_WEIGHT} {FONT_FAMILY} font")
    points = np.concatenate(contours)
    size = float(np.max(points.max(axis=0) - points.min(axis=0)))
    contours = [_simplify(c, _OUTLINE_TOLERANCE * size) for c in contours]
    points = np.concatenate(contours)
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    width_fraction = min(1.0, (x1 - x0) / _reference_width())
    shift = (1.0 - width_fraction) / 2.0
    unit = [np.column_stack([shift + (c[:, 0] - x0) / (x1 - x0) * width_fraction, (c[:, 1] - y0) / (y1 - y0)])
            for c in contours]
    outline = _closing_gap(unit)
    outline.setflags(write=False)
    return outline


@lru_cache(maxsize=None)
def _reference_width() -> float:
    extents = _letter_path(DONT_STRETCH_MORE_THAN).get_extents()
    return float(extents.width)


@lru_cache(maxsize=None)
def letter_colors(letters) -> dict:
    """Letter colours of logomaker's scheme for an alphabet, as CSS ``rgb(...)`` strings.

    Parameters
    ----------
    letters : str
        The alphabet's letters; DNA/RNA get logomaker's ``"classic"`` scheme,
        anything else ``"chemistry"`` (as :func:`plot.pwm_logo`).

    Returns
    -------
    dict
        Letter -> ``"rgb(r, g, b)"``; letters the scheme lacks are gray.
    """
    from logomaker.src.colors import COLOR_SCHEME_DICT

    scheme = COLOR_SCHEME_DICT[_color_scheme(letters)]
    by_letter = {c: rgb for keys, rgb in scheme.items() for c in keys}
    gray = (0.5, 0.5, 0.5)
    return {c: "rgb({}, {}, {})".format(*(int(round(255 * float(v))) for v in by_letter.get(c, gray)))
            for c in letters}


# ============================================================================ traces

def _glyph_coordinates(outline, x, bottom, top, flip):
    """Outlines placed into glyph boxes, flattened with NaN gaps.

    Parameters
    ----------
    outline : np.ndarray (K, 2) — unit-box outline, NaN-separated
    x, bottom, top : np.ndarray (G,) — box centre and vertical extent per glyph
    flip : np.ndarray (G,) bool — draw upside down (negative heights)

    Returns
    -------
    xs, ys : np.ndarray (G * K,), float32, NaN at gaps
    """
    ux, uy = outline[:, 0], outline[:, 1]
    uy_glyph = np.where(flip[:, None], 1.0 - uy[None, :], uy[None, :])
    xs = x[:, None] + (ux[None, :] - 0.5) * GLYPH_WIDTH
    ys = bottom[:, None] + uy_glyph * (top - bottom)[:, None]
    return xs.ravel().astype(np.float32), ys.ravel().astype(np.float32)


def _axis_names(row):
    """Plotly axis ids of a row (0-based): ("x", "y") for the first, ("x2", "y2") for the second..."""
    suffix = "" if row == 0 else str(row + 1)
    return "x" + suffix, "y" + suffix


def _letter_traces(heights, letters, positions, row, fixed=None):
    """One filled scatter trace (dict) per letter that has a glyph in this row.

    Glyphs at ``fixed`` positions (bool (L,)) go into a second trace per letter, filled
    black (:data:`FIXED_COLOR`) and named ``"A (fixed)"``.
    """
    bottom, top = stack_heights(heights)
    tallest = float(np.max(top - bottom))
    visible = np.abs(heights) > tallest * _MIN_RELATIVE_HEIGHT
    colors = letter_colors(letters)
    xaxis, yaxis = _axis_names(row)
    fixed = np.zeros(len(heights), bool) if fixed is None else fixed
    traces = []
    for a, letter in enumerate(letters):
        for at_fixed in (False, True):
            rows = np.flatnonzero(visible[:, a] & (fixed == at_fixed))
            if rows.size == 0:
                continue
            color = FIXED_COLOR if at_fixed else colors[letter]
            xs, ys = _glyph_coordinates(glyph_outline(letter), positions[rows].astype(np.float64),
                                        bottom[rows, a], top[rows, a], heights[rows, a] < 0)
            traces.append(dict(type="scatter", x=xs, y=ys, mode="lines", fill="toself", fillcolor=color,
                               line=dict(width=0, color=color), hoverinfo="skip", showlegend=False,
                               name=f"{letter} (fixed)" if at_fixed else letter, xaxis=xaxis, yaxis=yaxis))
    return traces


def _format_value(value) -> str:
    return f"{value:.3g}"


def _hover_items(h, v, letters, suffix):
    """``"A · 0.82 bits"`` for each shown letter of one position, top of the stack first."""
    if v is None:
        shown = sorted(np.flatnonzero(h != 0), key=lambda a: -h[a])
        return [f"{letters[a]} · {_format_value(h[a])}{suffix}" for a in shown]
    shown = sorted(np.flatnonzero((h != 0) | (v != 0)), key=lambda a: (-h[a], -v[a]))
    return [f"{letters[a]} · {_format_value(v[a])} ({_format_value(h[a])}{suffix})" for a in shown]


def _hover_texts(heights, values, letters, positions, unit):
    """Hover text per position: ``pos 37 · A · 0.82 bits``; several letters on separate lines.

    Parameters
    ----------
    heights : np.ndarray (L, A)
    values : np.ndarray (L, A) or None — shown instead of the heights (heights in brackets)
    letters : str
    positions : np.ndarray (L,) int — displayed position numbers
    unit : str or None — appended to heights

    Returns
    -------
    list of str, length L
    """
    suffix = f" {unit}" if unit else ""
    texts = []
    for j, pos in enumerate(positions):
        items = _hover_items(heights[j], None if values is None else values[j], letters, suffix)
        if not items:
            texts.append(f"pos {pos} · no letter")
        elif len(items) == 1:
            texts.append(f"pos {pos} · {items[0]}")
        else:
            texts.append(f"pos {pos}<br>" + "<br>".join(items))
    return texts


def _hover_trace(texts, positions, y_range, row):
    """Invisible full-height bars (dict), one per position, that carry the hover text."""
    low, high = y_range
    n = len(positions)
    xaxis, yaxis = _axis_names(row)
    return dict(type="bar", x=positions.astype(np.float64), y=np.full(n, high - low), base=np.full(n, low),
                width=1.0, marker=dict(color="rgba(0, 0, 0, 0)", line=dict(width=0)), hovertext=texts,
                hoverinfo="text", showlegend=False, name="", xaxis=xaxis, yaxis=yaxis)


def _auto_y_range(heights):
    """(low, high) around the stacks with 4 % padding; (0, 1) for an empty row."""
    bottom, top = stack_heights(heights)
    high = float(top.max(initial=0.0))
    low = float(bottom.min(initial=0.0))
    if high <= 0 and low >= 0:
        return (0.0, 1.0)
    pad = 0.04 * (high - low)
    return (low - pad if low < 0 else 0.0, high + pad if high > 0 else 0.0)


# ============================================================================ validation

def _per_row(value, n_rows, name):
    """A list of n_rows entries (None becomes [None] * n_rows), or a ValueError."""
    if value is None:
        return [None] * n_rows
    if isinstance(value, (str, np.ndarray)) or not hasattr(value, "__len__") or len(value) != n_rows:
        raise ValueError(f"{name} must be a list with one entry per row ({n_rows}), got {value!r:.80}")
    return list(value)


def _check_rows(rows, letters):
    if isinstance(rows, np.ndarray) and rows.ndim == 2:
        rows = [rows]
    if isinstance(rows, np.ndarray) and rows.ndim == 3:
        rows = list(rows)
    if not isinstance(rows, (list, tuple)) or not rows:
        raise ValueError(f"rows must be a non-empty list of (L, {len(letters)}) height matrices, got {rows!r:.80}")
    checked = [_check_matrix(r, letters, f"rows[{i}]") for i, r in enumerate(rows)]
    lengths = {m.shape[0] for m in checked}
    if len(lengths) != 1:
        raise ValueError(f"all rows must have the same length L to share the x axis, got lengths "
                         f"{[m.shape[0] for m in checked]}")
    if checked[0].shape[0] == 0:
        raise ValueError("rows have no positions (L = 0); expected at least one")
    return checked


def _check_positions(values, length, name):
    """0-based integer positions inside 0..length-1."""
    out = []
    for p in values:
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, np.integer)):
            raise ValueError(f"{name} must hold 0-based integer positions, got {p!r}")
        if not 0 <= int(p) < length:
            raise ValueError(f"{name} position {int(p)} is outside 0..{length - 1} "
                             f"(0-based positions of a {length}-position logo)")
        out.append(int(p))
    return out


def _check_fixed(fixed, n_rows, length):
    """Per row a bool (L,) mask or None, from None, one (L,) mask for every row, or one entry per row."""
    if fixed is None:
        return [None] * n_rows
    expected = (f"fixed must be one boolean mask of shape ({length},) for every row, or a list with one such "
                f"mask (or None) per row ({n_rows})")
    per_row = isinstance(fixed, (list, tuple)) and any(f is None or (hasattr(f, "__len__") and not isinstance(f, str))
                                                       for f in fixed)
    if not per_row:
        array = np.asarray(fixed)
        if array.ndim == 2:
            per_row, fixed = True, list(array)
    masks = list(fixed) if per_row else [fixed] * n_rows
    if len(masks) != n_rows:
        raise ValueError(f"{expected}; got a list of {len(masks)} entries")
    out = []
    for r, mask in enumerate(masks):
        if mask is None:
            out.append(None)
            continue
        array = np.asarray(mask)
        if array.shape != (length,):
            raise ValueError(f"{expected}; got shape {array.shape}" + (f" for row {r}" if per_row else ""))
        if array.dtype != bool:
            if not np.issubdtype(array.dtype, np.number) or not np.all((array == 0) | (array == 1)):
                raise ValueError(f"{expected}; got values other than True/False (or 1/0)")
            array = array.astype(bool)
        out.append(array)
    return out


def _check_x_range(x_range, length):
    if x_range is None:
        return 0, length - 1
    if not hasattr(x_range, "__len__") or len(x_range) != 2:
        raise ValueError(f"x_range must be (start, end), 0-based inclusive, got {x_range!r}")
    start, end = _check_positions(x_range, length, "x_range")
    if start > end:
        raise ValueError(f"x_range must have start <= end, got {x_range!r}")
    return start, end


def _check_hover_values(values, length, letters, row):
    if values is None:
        return None
    m = _check_matrix(values, letters, f"hover_values[{row}]")
    if m.shape[0] != length:
        raise ValueError(f"hover_values[{row}] has {m.shape[0]} positions but the rows have {length}")
    return m


def _check_y_range(y_range, row):
    if not hasattr(y_range, "__len__") or len(y_range) != 2 or not float(y_range[0]) < float(y_range[1]):
        raise ValueError(f"y_ranges[{row}] must be (low, high) with low < high, got {y_range!r}")
    return float(y_range[0]), float(y_range[1])


def _check_start(start) -> int:
    if isinstance(start, (bool, np.bool_)) or not isinstance(start, (int, np.integer)):
        raise ValueError(f"start must be an int (the number shown for the first position), got {start!r}")
    return int(start)


def _check_row_height(row_height):
    if isinstance(row_height, bool) or not isinstance(row_height, (int, float, np.number)) or row_height < 40:
        raise ValueError(f"row_height must be a number of pixels >= 40, got {row_height!r}")


# ============================================================================ figure

_AXIS_STYLE = dict(showgrid=False, ticks="outside", showline=True, linecolor="#444")


def _row_domains(n_rows, row_height, gap):
    """Vertical paper domains (low, high) of each row, top row first."""
    total = n_rows * row_height + (n_rows - 1) * gap
    domains = []
    for r in range(n_rows):
        high = 1.0 - r * (row_height + gap) / total
        domains.append((max(0.0, high - row_height / total), high))
    return domains


def _axes_layout(n_rows, domains, x_window, y_ranges, y_labels):
    """Layout entries for one shared x axis (ticks on the bottom row) and one y axis per row."""
    layout = {}
    bottom_x = _axis_names(n_rows - 1)[0]
    for r in range(n_rows):
        xaxis, yaxis = _axis_names(r)
        last = r == n_rows - 1
        layout["xaxis" + xaxis[1:]] = dict(_AXIS_STYLE, anchor=yaxis, range=list(x_window), zeroline=False,
                                           tickformat="d", showticklabels=last,
                                           **({} if last else {"matches": bottom_x}))
        layout["yaxis" + yaxis[1:]] = dict(_AXIS_STYLE, anchor=xaxis, domain=list(domains[r]),
                                           range=list(y_ranges[r]), fixedrange=True, zeroline=True,
                                           zerolinecolor="#444", zerolinewidth=1,
                                           title=dict(text=y_labels[r]) if y_labels[r] else None)
    return layout


def _title_annotations(titles, domains):
    return [dict(text=t, xref="paper", yref="paper", x=0.0, y=domains[r][1], xanchor="left", yanchor="bottom",
                 showarrow=False, font=dict(size=14)) for r, t in enumerate(titles) if t]


def _highlight_shapes(highlight, positions, n_rows, color=HIGHLIGHT_COLOR, name="highlight"):
    """A translucent band over each highlighted position on every row."""
    shapes = []
    for p in highlight:
        for r in range(n_rows):
            xaxis, yaxis = _axis_names(r)
            shapes.append(dict(type="rect", xref=xaxis, yref=yaxis + " domain", x0=float(positions[p]) - 0.5,
                               x1=float(positions[p]) + 0.5, y0=0, y1=1, fillcolor=color,
                               line=dict(width=0), layer="below", name=name))
    return shapes


def logos_figure(rows, alphabet, *, titles=None, y_labels=None, hover_values=None, start=1, highlight=None,
                 x_range=None, row_height=170, y_ranges=None, uirevision="logos", fixed=None, shade=None):
    """Stacked sequence logos on one shared, zoomable x axis.

    Parameters
    ----------
    rows : list of array_like, each shape (L, A)
        Letter heights per row (e.g. :func:`logo_heights_pwm`,
        :func:`logo_heights_importance`); negative heights stack below 0.
    alphabet : Alphabet or str
        Alphabet, its name or its letters; column order of every row.
    titles : list of str, optional
        One title per row.
    y_labels : list of str, optional
        One y-axis label per row; also the unit in the hover text (``"bits"``).
    hover_values : list of (array_like (L, A) or None), optional
        Per row, values to show on hover instead of the heights (e.g.
        probabilities); the height follows in brackets.
    start : int
        Displayed number of the first position (1: 1-based). Figure x
        coordinates are ``index + start``.
    highlight : list of int, optional
        0-based positions drawn as a translucent band on every row (variants).
    shade : list of int, optional
        0-based positions drawn as a grey band on every row (positions left out,
        e.g. excluded by mask dropout); shapes named ``"shade"``.
    x_range : (int, int), optional
        Initial zoom, 0-based inclusive first and last position; default all.
    row_height : int
        Pixels per row.
    y_ranges : list of ((float, float) or None), optional
        Per row y-axis range; default from the stacks (a DNA PWM logo might
        use ``(0, 2)``).
    uirevision : str
        Plotly ``uirevision``: while it stays the same, a redraw with new
        heights keeps the user's zoom.
    fixed : array_like of bool (L,), or list of (array_like (L,) or None), optional
        Fixed (template) positions: one mask for every row or one per row. Their
        letters are drawn black (method §13: reference letters at fixed positions).

    Returns
    -------
    plotly.graph_objects.Figure
        Per row: one filled scatter trace per letter with glyphs (name = the
        letter; x/y float32 arrays with NaN between contours; glyphs at fixed
        positions in a black trace named ``"A (fixed)"``), then an
        invisible bar trace (name ``""``) carrying the hover text. Rows are
        axes ``x``/``y``, ``x2``/``y2``, ... from the top; the x axes match.

    Raises
    ------
    ValueError
        Rows of the wrong shape or different lengths, per-row lists of the wrong
        length, positions outside the logo, a ``fixed`` mask of the wrong shape.
    """
    import plotly.graph_objects as go

    letters = _letters(alphabet)
    matrices = _check_rows(rows, letters)
    n_rows, length = len(matrices), matrices[0].shape[0]
    titles = _per_row(titles, n_rows, "titles")
    y_labels = _per_row(y_labels, n_rows, "y_labels")
    hover_values = [_check_hover_values(v, length, letters, r)
                    for r, v in enumerate(_per_row(hover_values, n_rows, "hover_values"))]
    y_ranges = [_check_y_range(y, r) if y is not None else _auto_y_range(m)
                for r, (y, m) in enumerate(zip(_per_row(y_ranges, n_rows, "y_ranges"), matrices))]
    highlight = _check_positions(highlight or [], length, "highlight")
    shade = _check_positions(shade or [], length, "shade")
    fixed = _check_fixed(fixed, n_rows, length)
    first, last = _check_x_range(x_range, length)
    positions = np.arange(length) + _check_start(start)
    _check_row_height(row_height)

    data = []
    for r, heights in enumerate(matrices):
        data += _letter_traces(heights, letters, positions, r, fixed[r])
        data.append(_hover_trace(_hover_texts(heights, hover_values[r], letters, positions, y_labels[r]),
                                 positions, y_ranges[r], r))
    return go.Figure(data=data, layout=_logos_layout(titles, y_labels, y_ranges, positions, (first, last),
                                                     row_height, uirevision, highlight, shade))


def _logos_layout(titles, y_labels, y_ranges, positions, shown, row_height, uirevision, highlight, shade):
    """The layout of :func:`logos_figure`: stacked row axes, titles, bands; ``shown`` = (first, last) index."""
    n_rows = len(titles)
    gap = 40 if any(titles) else 14
    top_margin = 34 if titles[0] else 12
    domains = _row_domains(n_rows, row_height, gap)
    first, last = shown
    return dict(_axes_layout(n_rows, domains, (positions[first] - 0.5, positions[last] + 0.5), y_ranges,
                             y_labels),
                height=n_rows * row_height + (n_rows - 1) * gap + top_margin + 40,
                margin=dict(l=64, r=16, t=top_margin, b=40), plot_bgcolor="white", paper_bgcolor="white",
                barmode="overlay", hovermode="closest", dragmode="zoom", showlegend=False,
                uirevision=uirevision, annotations=_title_annotations(titles, domains),
                shapes=_highlight_shapes(shade, positions, n_rows, SHADE_COLOR, "shade")
                + _highlight_shapes(highlight, positions, n_rows))


def add_row_below(layout: dict, height: int, gap: int) -> list:
    """Grow ``layout`` by a row of ``height`` pixels (``gap`` above it) under everything already in it; the
    existing rows' paper coordinates are rescaled so they keep their pixel sizes. Returns the new row's domain."""
    top, bottom = layout["margin"]["t"], layout["margin"]["b"]
    old_area = layout["height"] - top - bottom
    new_area = old_area + gap + height
    scale = lambda y: (y * old_area + gap + height) / new_area   # noqa: E731
    for key, axis in layout.items():
        if key.startswith("yaxis") and "domain" in axis:
            axis["domain"] = [scale(v) for v in axis["domain"]]
    for note in layout.get("annotations", []):
        if note.get("yref", "paper") == "paper":
            note["y"] = scale(note["y"])
    layout["height"] = layout["height"] + gap + height
    return [0.0, height / new_area]


TRACK_HEIGHT = 120           # pixels of a track row (e.g. a cleavage profile)
_TRACK_GAP = 48              # pixels between the logos and the track (its title)
TRACK_COLORS = ("#4c78a8", "#e45756", "#54a24b", "#b279a2")


def check_track(track, length: int) -> dict:
    """Validate a track: per-position values drawn as lines under logos of ``length`` positions.

    Keys: ``values`` (L,) or (K, L) — one line, or K lines; ``names`` (K,) — the lines' names (hover and
    legend); ``title``; ``y_title``; ``band`` — (first, last, label), 1-based inclusive: a shaded span;
    ``log`` — a log y scale (values must then be > 0). Returns the track with defaults filled in.
    """
    if not isinstance(track, dict) or "values" not in track:
        raise ValueError("track must be a dict with at least 'values' (one number per position)")
    unknown = set(track) - {"values", "names", "title", "y_title", "band", "log"}
    if unknown:
        raise ValueError(f"track: unknown keys {sorted(unknown)}; known: values, names, title, y_title, band, log")
    values = np.atleast_2d(np.asarray(track["values"], np.float64))
    if values.ndim != 2 or values.shape[1] != length or len(values) > len(TRACK_COLORS) \
            or not np.all(np.isfinite(values)):
        raise ValueError(f"track values must be {length} finite numbers (one per position), or up to "
                         f"{len(TRACK_COLORS)} such rows, got shape {np.shape(track['values'])}")
    names = list(track.get("names") or [f"line {k + 1}" for k in range(len(values))])
    if len(names) != len(values):
        raise ValueError(f"track: {len(values)} lines but {len(names)} names")
    band = track.get("band")
    if band is not None and not (len(band) == 3 and 1 <= band[0] <= band[1] <= length):
        raise ValueError(f"track band must be (first, last, label) with 1 <= first <= last <= {length}, got {band!r}")
    if track.get("log") and np.any(values <= 0):
        raise ValueError("track: a log scale needs values > 0")
    return dict(values=values, names=names, title=track.get("title", ""), y_title=track.get("y_title", ""),
                band=band, log=bool(track.get("log")))


def _bottom_logo_axis(layout: dict) -> str:
    """The x axis the logo rows match (the bottom row's), "x" for a single row."""
    return next((axis["matches"] for key, axis in layout.items() if key.startswith("xaxis") and axis.get("matches")),
                "x")


def add_track(layout: dict, track: dict, *, start: int = 1, axis: int | None = None) -> list:
    """Add a checked ``track`` (:func:`check_track`) as a row under everything in ``layout`` (a
    :func:`logos_figure` layout as a dict, changed in place), its x axis matching the logos' (zooming
    either zooms both). ``axis``: the row's axis number (default: the next free one). Returns its line traces.
    """
    numbers = [int(key[5:] or 1) for key in layout if key.startswith("xaxis")]
    axis = axis or max(numbers, default=1) + 1
    x_name, y_name = f"x{axis}", f"y{axis}"
    values = track["values"]
    domain = add_row_below(layout, TRACK_HEIGHT, _TRACK_GAP)
    y_axis = dict(type="log", exponentformat="power") if track["log"] else \
        dict(range=[0.0, float(values.max()) * 1.15 or 1.0])       # fixed: the track does not change with a zoom
    layout[f"xaxis{axis}"] = dict(_AXIS_STYLE, anchor=y_name, matches=_bottom_logo_axis(layout), tickformat="d",
                                  zeroline=False)
    layout[f"yaxis{axis}"] = dict(_AXIS_STYLE, anchor=x_name, domain=domain, fixedrange=True,
                                  title=dict(text=track["y_title"]), **y_axis)
    layout.setdefault("annotations", []).append(dict(
        text=track["title"], xref="paper", yref="paper", x=0.0, y=domain[1], xanchor="left", yanchor="bottom",
        showarrow=False, font=dict(size=14)))
    if track["band"] is not None:
        first, last, label = track["band"]
        layout["shapes"] = list(layout.get("shapes", [])) + [dict(
            type="rect", xref=x_name, yref=f"{y_name} domain", x0=first + start - 1.5, x1=last + start - 0.5,
            y0=0, y1=1, fillcolor="#f2cf5b", opacity=0.3, line=dict(width=0), layer="below", name=label)]
    positions = np.arange(values.shape[1]) + start
    return [dict(type="scatter", mode="lines", x=positions, y=row, xaxis=x_name, yaxis=y_name, name=name,
                 line=dict(color=color, width=1.5), showlegend=False,
                 hovertemplate=f"{name}<br>position %{{x}}<br>%{{y:.4g}}<extra></extra>")
            for row, name, color in zip(values, track["names"], TRACK_COLORS)]


def with_track(figure, track, length: int, *, start: int = 1):
    """A copy of a :func:`logos_figure` of ``length`` positions with ``track`` (see :func:`check_track`, one
    value per position) as a row under its logos, on their x axis."""
    import plotly.graph_objects as go

    layout = figure.layout.to_plotly_json()
    data = [trace.to_plotly_json() for trace in figure.data]
    lines = add_track(layout, check_track(track, length), start=start)
    return go.Figure(data=data + lines, layout=layout)


def readable_window(length: int, importance=None, important=None, width: int = 80) -> tuple[int, int]:
    """The position range a long logo opens on, so its letters are readable (1-based, inclusive).

    Parameters
    ----------
    length : int — L
    importance : array_like (L,), optional — centre on the highest score when ``important`` is not given
    important : array_like of bool (L,), optional — the true elements: centre on them
    width : int — sequences up to this long are shown whole

    Returns
    -------
    (first, last) with ``last - first + 1 == min(width, L)``
    """
    if length <= width:
        return 1, length
    if important is not None and np.any(important):
        centre = float(np.median(np.flatnonzero(np.asarray(important, bool))))
    elif importance is not None and np.size(importance) == length:
        centre = float(np.argmax(np.abs(np.asarray(importance, np.float64))))
    else:
        return 1, length
    first = int(min(max(round(centre) - width // 2, 0), length - width)) + 1
    return first, first + width - 1
