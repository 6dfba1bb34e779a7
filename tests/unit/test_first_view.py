"""The shipped first view (scrambler_core.scrambler.first_view) and the TF-free first paint that draws it."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scrambler_core.scrambler import first_view as fv
from scrambler_core.scrambler.sweep import load_sweep, save_sweep

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["utr5", "polya"])
def test_the_shipped_first_view_is_what_the_page_computes(name, tmp_path):
    """The recipe recomputes the shipped file: same budgets and numbers, same scrambler weights."""
    shipped = fv.read_first_view(name)
    assert shipped is not None, f"pretrained/{name}_inclusion_first_view.npz is missing or stale: " \
                                f"python -m scrambler_core first-view --predictor {name}"
    sweep, metadata = shipped
    fresh, fresh_metadata = fv.compute_first_view(name)
    assert metadata == fresh_metadata
    np.testing.assert_allclose(sweep.target_bits, fresh.target_bits)
    np.testing.assert_allclose(sweep.importance, fresh.importance, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(sweep.sample_predictions, fresh.sample_predictions, rtol=1e-4, atol=1e-5)
    assert sweep.sequence == fresh.sequence and sweep.prediction == pytest.approx(fresh.prediction, rel=1e-5)
    assert 0.5 in sweep.target_bits.tolist() and len(sweep.target_bits) == 24


def test_a_sweep_survives_the_round_trip_and_a_changed_scrambler_is_refused(tmp_path, monkeypatch):
    sweep, metadata = fv.read_first_view("utr5")
    path = tmp_path / "s.npz"
    save_sweep(sweep, path, metadata)
    back, meta = load_sweep(path)
    assert meta == metadata and back.sequence == sweep.sequence and back.mode == sweep.mode
    np.testing.assert_array_equal(back.pwm, sweep.pwm)
    np.testing.assert_array_equal(back.fixed, sweep.fixed)
    assert back.output_reference == sweep.output_reference
    # weights that are not the ones it was computed with: not used
    metadata = dict(metadata, scrambler_sha256="0" * 64)
    monkeypatch.setattr(fv, "PRETRAINED_DIR", tmp_path)
    (tmp_path / metadata["scrambler_file"]).write_bytes(b"other weights")
    save_sweep(sweep, tmp_path / "utr5_inclusion_first_view.npz", metadata)
    assert fv.read_first_view("utr5") is None
    assert fv.read_first_view("polya") is None          # no file at all


def test_the_first_paint_does_not_import_tensorflow():
    code = ("import sys\nimport pages._ui.first_paint, pages._ui.warmup\n"
            "from scrambler_core.scrambler.first_view import read_first_view\nread_first_view('utr5')\n"
            "print('TF=' + str('tensorflow' in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "TF=False" in out.stdout


def _first_paint_script():
    import streamlit as st

    from pages._ui import first_paint, warmup

    saved = warmup.running, warmup.wait, st.rerun
    warmup.running, warmup.wait, st.rerun = (lambda: True), (lambda timeout=300: None), (lambda: None)
    try:
        first_paint.draw_while_warming(type("Page", (), {"title": "Explore"})())
    finally:
        warmup.running, warmup.wait, st.rerun = saved


def test_a_fresh_visit_during_warm_up_sees_the_shipped_view_at_once():
    import json

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_first_paint_script, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Explore"
    assert "starting up" in at.caption[0].value
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    metrics = [t for t in figure["data"] if t.get("name") == "metrics"][0]["text"][0]
    assert metrics.startswith("target 0.5 bits · realised ")
    assert any(t.get("fill") == "toself" for t in figure["data"])

    at = AppTest.from_function(_first_paint_script, default_timeout=60)
    at.query_params["example"] = "2"                # not the shipped view: only the progress message
    at.run()
    assert not at.exception and not at.get("plotly_chart") and not at.title
