"""Figures and downloads of the pages: interactive plotly logos, publication logos and CSV/PNG/SVG buttons."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from scrambler_core import plot  # noqa: E402
from scrambler_core.logo_figures import logo_heights_importance, logo_heights_pwm, logos_figure  # noqa: E402
from scrambler_core.variants import format_variants  # noqa: E402

PLOTLY_CONFIG = {"displaylogo": False,
                 "toImageButtonOptions": {"format": "svg", "filename": "scrambler_explorer"}}


def show_plotly(fig, key: str, **selection):
    """Draw a plotly figure at the page's width with SVG export in its toolbar.

    ``selection``: ``on_select`` and ``selection_mode`` of ``st.plotly_chart`` (returns its event then).
    """
    return st.plotly_chart(fig, width="stretch", config=PLOTLY_CONFIG, key=key, **selection)


def logo_rows_figure(rows: list, alphabet, *, titles, y_labels, hover_values=None, highlight=None,
                     x_range=None, start=1, fixed=None, shade=None, uirevision="logos"):
    """Aligned interactive logos (one shared x axis; hover shows position, letter and value).

    ``fixed``: (L,) bool, template positions drawn black; ``shade``: 0-based positions drawn grey.
    """
    return logos_figure(rows, alphabet, titles=titles, y_labels=y_labels, hover_values=hover_values,
                        highlight=highlight, x_range=x_range, start=start, fixed=fixed, shade=shade,
                        uirevision=uirevision)


def fixed_positions(scrambler):
    """Bool (L,) mask of the scrambler's fixed (template) positions, or None when it has no template."""
    network = getattr(scrambler, "network", None)
    if network is None or not getattr(network, "template", None):
        return None
    fixed = np.asarray(network.free)[:, 0] == 0
    return fixed if fixed.any() else None


def pwm_and_importance_rows(pwm, importance, sequence, alphabet):
    """Heights and hover values for the standard two rows: PWM (bits) over importance."""
    return ([logo_heights_pwm(pwm, alphabet), logo_heights_importance(importance, sequence, alphabet)],
            [np.asarray(pwm), None])


def matplotlib_bytes(draw, fmt: str) -> bytes:
    """Render a matplotlib figure built by ``draw()`` to PNG or SVG bytes (and close it)."""
    fig = draw()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=200 if fmt == "png" else None, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def logo_figure_matplotlib(rows: list, kinds: list, alphabet, titles: list, sequence: str | None = None,
                           fixed=None):
    """Publication logos with logomaker, one row per entry, for the PNG/SVG downloads.

    Parameters
    ----------
    rows : list of arrays — a PWM (L, A) for kind ``"pwm"``, scores (L,) for ``"importance"``
        (reference letters of ``sequence``) or a height matrix (L, A) for ``"matrix"``.
    kinds : list of {"pwm", "importance", "matrix"}
    fixed : bool (L,), optional — fixed (template) positions, drawn black
    """
    length = len(np.asarray(rows[0]))
    fig, axes = plt.subplots(len(rows), 1, figsize=plot.logo_figsize(length, rows=len(rows)), sharex=True,
                             squeeze=False)
    for ax, row, kind, title in zip(axes[:, 0], rows, kinds, titles):
        if kind == "pwm":
            plot.pwm_logo(row, alphabet, ax=ax, title=title, fixed=fixed)
        elif kind == "importance":
            plot.importance_logo(row, sequence, alphabet, ax=ax, title=title, fixed=fixed)
        else:
            plot.matrix_logo(row, alphabet, ax=ax, title=title, fixed=fixed)
    fig.tight_layout()
    return fig


def figure_downloads(draw, stem: str, key: str) -> None:
    """PNG and SVG download buttons for a matplotlib figure drawn only when clicked."""
    c1, c2 = st.columns(2)
    c1.download_button("Download PNG", lambda: matplotlib_bytes(draw, "png"), file_name=f"{stem}.png",
                       mime="image/png", key=f"{key}_png", on_click="ignore")
    c2.download_button("Download SVG", lambda: matplotlib_bytes(draw, "svg"), file_name=f"{stem}.svg",
                       mime="image/svg+xml", key=f"{key}_svg", on_click="ignore")


def csv_download(frame: pd.DataFrame, label: str, file_name: str, key: str) -> None:
    """A CSV download button for a table."""
    st.download_button(label, frame.to_csv(index=False, float_format="%.6g").encode(), file_name=file_name,
                       mime="text/csv", key=key, on_click="ignore")


def variant_summary_table(result) -> pd.DataFrame:
    """One row with the variant's scores (predictions, Δ, Δ log-odds, APARENT2's isoform log-odds) for the CSV."""
    row = {"predictor": result.predictor_name, "variants": format_variants(result.variants),
           "reference_prediction": result.ref_prediction, "alternative_prediction": result.alt_prediction,
           "delta_prediction": result.delta}
    if result.delta_logit is not None:
        row.update({"reference_logit": result.ref_logit, "alternative_logit": result.alt_logit,
                    "delta_logit": result.delta_logit})
    for window, (ref, alt, delta) in (result.isoform_logodds or {}).items():
        row.update({f"isoform_logodds_{window}_reference": ref, f"isoform_logodds_{window}_alternative": alt,
                    f"delta_isoform_logodds_{window}": delta})
    row.update({"reference_sequence": result.ref_sequence, "alternative_sequence": result.alt_sequence})
    return pd.DataFrame([row])
