"""Drawing helpers for explanations: information content and sequence logos.

Pure matplotlib / logomaker (no Streamlit), so the app, notebooks and scripts
share them.

>>> from scrambler_core import plot
>>> fig, ax = plot.pwm_logo(ex.pwm[0], "dna")                     # doctest: +SKIP
>>> fig, ax = plot.importance_logo(ex.importance[0], seq, "dna")  # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np

from .sequences import Alphabet, get_alphabet

__all__ = ["information_content", "pwm_logo", "importance_logo", "logo_frame", "logo_figsize"]


def _letters(alphabet) -> str:
    """Letters (column order) from an Alphabet, its name, or a letter string such as ``"ACGT"``."""
    if isinstance(alphabet, Alphabet):
        return alphabet.letters
    try:
        return get_alphabet(alphabet).letters
    except ValueError:
        if isinstance(alphabet, str) and len(alphabet) >= 2 and len(set(alphabet)) == len(alphabet):
            return alphabet.upper()
        raise


def _color_scheme(letters: str) -> str:
    return "classic" if set(letters) <= set("ACGTU") else "chemistry"


def information_content(pwm) -> np.ndarray:
    """Letter heights of an information-content logo, in bits, against a uniform reference.

    Height of letter ``c`` at position ``j`` is ``p[j, c] * (log2 A - H(p[j]))``
    with ``H(p[j]) = -sum_c p[j, c] log2 p[j, c]``.

    Parameters
    ----------
    pwm : array_like, shape (L, A)
        Letter probabilities per position (rows are renormalised to sum to 1).

    Returns
    -------
    np.ndarray, shape (L, A), float
        Non-negative heights; each row sums to the information content of that
        position (0 to ``log2 A`` bits).
    """
    p = np.asarray(pwm, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"pwm must have shape (L, A), got {p.shape}")
    p = np.clip(p, 0.0, None)
    totals = p.sum(axis=1, keepdims=True)
    p = np.divide(p, totals, out=np.full_like(p, 1.0 / p.shape[1]), where=totals > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log2(p), 0.0)
    entropy = -plogp.sum(axis=1, keepdims=True)
    ic = np.log2(p.shape[1]) - entropy
    return np.clip(p * ic, 0.0, None)


def logo_frame(matrix, alphabet):
    """A pandas DataFrame for logomaker: one row per position, one column per letter.

    Parameters
    ----------
    matrix : array_like, shape (L, A)
    alphabet : Alphabet or str
        Alphabet, alphabet name (``"dna"``) or letters (``"ACGT"``).

    Returns
    -------
    pandas.DataFrame, index 0..L-1, columns the alphabet letters
    """
    import pandas as pd

    letters = _letters(alphabet)
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != len(letters):
        raise ValueError(f"matrix must have shape (L, {len(letters)}) for letters {letters}, got {matrix.shape}")
    return pd.DataFrame(matrix, columns=list(letters))


FIXED_COLOR = "black"   # letters at fixed (template) positions (method §13)


def fixed_mask(fixed, length) -> np.ndarray:
    """A bool (L,) mask of fixed positions from None, bools or 0/1 values, or a ValueError naming the shape."""
    if fixed is None:
        return np.zeros(length, bool)
    array = np.asarray(fixed)
    if array.shape != (length,):
        raise ValueError(f"fixed must be a boolean mask of shape ({length},) (one entry per position), "
                         f"got shape {array.shape}")
    if array.dtype != bool:
        if not np.issubdtype(array.dtype, np.number) or not np.all((array == 0) | (array == 1)):
            raise ValueError(f"fixed must be a boolean mask of shape ({length},) holding True/False (or 1/0)")
        array = array.astype(bool)
    return array


def _draw(frame, letters, ax, ylabel, title, figsize, fixed=None):
    import logomaker
    import matplotlib.pyplot as plt

    fixed = fixed_mask(fixed, len(frame))
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    logo = logomaker.Logo(frame, ax=ax, color_scheme=_color_scheme(letters), show_spines=False)
    values = frame.to_numpy()
    for p in np.flatnonzero(fixed):        # reference letters at fixed positions in black
        for c in np.flatnonzero(values[p] != 0):
            logo.style_single_glyph(int(p), letters[c], color=FIXED_COLOR)
    ax.set_ylabel(ylabel)
    length = len(frame)
    ax.set_xlim(-0.5, length - 0.5)
    step = 5 if length <= 60 else 10 if length <= 250 else 50
    ticks = [t for t in range(0, length, step)]
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t + 1) for t in ticks])  # 1-based positions, as in error messages
    ax.spines["left"].set_visible(True)
    ax.spines["bottom"].set_visible(True)
    if title:
        ax.set_title(title, loc="left", fontsize="medium")
    return fig, ax


def pwm_logo(pwm, alphabet, ax=None, title=None, figsize=None, fixed=None):
    """Information-content logo of a PWM (letter height ``p * (log2 A - H)``).

    Parameters
    ----------
    pwm : array_like, shape (L, A)
    alphabet : Alphabet or str
        Alphabet, alphabet name or letters; column order of ``pwm``.
    ax : matplotlib.axes.Axes, optional
        Draw into these axes; default a new figure.
    title : str, optional
    figsize : (float, float), optional
        For a new figure; default scales with L.
    fixed : array_like of bool, shape (L,), optional
        Fixed (template) positions; their letters are drawn black (method §13).

    Returns
    -------
    fig : matplotlib.figure.Figure
    ax : matplotlib.axes.Axes
        The y axis runs from 0 to ``log2 A`` bits.
    """
    letters = _letters(alphabet)
    heights = information_content(pwm)
    frame = logo_frame(heights, letters)
    fig, ax = _draw(frame, letters, ax, "bits", title, figsize or logo_figsize(len(frame)), fixed)
    ax.set_ylim(0, np.log2(len(letters)))
    return fig, ax


def importance_logo(importance, sequence, alphabet, ax=None, title=None, figsize=None, fixed=None):
    """Logo of importance scores: the reference letter at each position, height = score.

    Parameters
    ----------
    importance : array_like, shape (L,)
        Scores per position (negative scores are drawn below the axis).
    sequence : str
        Reference sequence, length L, letters of ``alphabet``.
    alphabet : Alphabet or str
    ax : matplotlib.axes.Axes, optional
    title : str, optional
    figsize : (float, float), optional
    fixed : array_like of bool, shape (L,), optional
        Fixed (template) positions; their letters are drawn black (method §13).

    Returns
    -------
    fig : matplotlib.figure.Figure
    ax : matplotlib.axes.Axes
    """
    letters = _letters(alphabet)
    scores = np.asarray(importance, dtype=np.float64).reshape(-1)
    sequence = str(sequence).upper()
    if len(sequence) != len(scores):
        raise ValueError(f"sequence has length {len(sequence)} but there are {len(scores)} scores")
    matrix = np.zeros((len(scores), len(letters)))
    for j, letter in enumerate(sequence):
        if letter in letters:  # ambiguous letters (N/X) get no letter
            matrix[j, letters.index(letter)] = scores[j]
    frame = logo_frame(matrix, letters)
    fig, ax = _draw(frame, letters, ax, "importance", title, figsize or logo_figsize(len(frame)), fixed)
    top = float(np.max(scores)) if scores.size else 0.0
    low = min(0.0, float(np.min(scores)) if scores.size else 0.0)
    ax.set_ylim(low * 1.05, top * 1.05 if top > 0 else 1.0)
    return fig, ax


def matrix_logo(matrix, alphabet, ax=None, title=None, figsize=None, ylabel="score", fixed=None):
    """Logo of a per-letter matrix (e.g. an attribution map), positive up and negative down.

    Parameters
    ----------
    matrix : array_like, shape (L, A)
        Letter heights; columns in the alphabet's order.
    alphabet : Alphabet or str
    ax : matplotlib.axes.Axes, optional
    title : str, optional
    figsize : (float, float), optional
    ylabel : str
    fixed : array_like of bool, shape (L,), optional
        Fixed (template) positions; their letters are drawn black (method §13).

    Returns
    -------
    fig : matplotlib.figure.Figure
    ax : matplotlib.axes.Axes
    """
    letters = _letters(alphabet)
    frame = logo_frame(matrix, letters)
    fig, ax = _draw(frame, letters, ax, ylabel, title, figsize or logo_figsize(len(frame)), fixed)
    values = frame.to_numpy()
    top = float(np.clip(values, 0, None).sum(axis=1).max()) if values.size else 0.0
    low = float(np.clip(values, None, 0).sum(axis=1).min()) if values.size else 0.0
    ax.set_ylim(low * 1.05, top * 1.05 if top > 0 else 1.0)
    return fig, ax


def logo_figsize(length, rows=1):
    """Figure size for ``rows`` stacked logos of ``length`` positions.

    Parameters
    ----------
    length : int
        Number of positions L.
    rows : int
        Logos stacked vertically in one figure.

    Returns
    -------
    (float, float)
        Width and height in inches: width 8 to 16, growing with L; the height
        grows with the width so letters stay legible when the figure is shrunk
        to a page's width.
    """
    width = min(max(8.0, length * 0.2), 16.0)
    return (width, (1.8 * rows + 0.2) * width / 10.0)
