"""Explore's "Optimise this explanation" section (pages/_ui/optimise.py over scrambler_core.refine)."""
import json

import numpy as np
import pytest

from pagetools import metric, new_app

TIMEOUT = 240


def test_optimising_an_unfaithful_explanation_shows_what_the_core_computes(utr5_scrambler_file):
    import scrambler_core as sc
    from scrambler_core import examples
    from scrambler_core.refine import optimise_explanation

    at = new_app(timeout=TIMEOUT, predictor="utr5", mode="inclusion", bits="0.25", example="1")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [m for m in at.metric if m.label == "Realised bits (optimised)"]      # nothing runs unasked
    at.select_slider(key="explore.optimise_steps").set_value(25).run()
    button = at.button(key="explore_optimise_button")
    assert button.label == "Optimise at 0.25 bits (201 predictor calls)"
    button.click().run()
    assert not at.exception, [e.value for e in at.exception]

    sequence = examples.examples("utr5")[0].sequence
    scrambler = sc.load_scrambler("utr5", mode="inclusion")
    expected = optimise_explanation(scrambler, [sequence], 0.25, steps=25, seed=0)
    assert float(metric(at, "Realised bits (optimised)")) == pytest.approx(float(expected.conservation[0]), abs=2e-3)
    shown_mean = float(metric(at, "Samples' mean utr5 prediction (optimised)"))
    assert shown_mean == pytest.approx(float(expected.mean_sample_prediction[0]), abs=2e-3)
    chart = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if "Optimised importance" in c.proto.spec]
    assert len(chart) == 1
    assert any("25 steps · 201 predictor calls" in c.value for c in at.caption), [c.value for c in at.caption]
    assert any(("Faithful at 0.25 bits" in s.value) for s in at.success) or \
        any("Still not faithful" in w.value for w in at.warning)

    # the link holds the optimised view: opened afresh it shows the same numbers
    link = {k: (v[0] if isinstance(v, list) else v) for k, v in dict(at.query_params).items()}
    assert link["optimise"] == "25", link
    reopened = new_app(timeout=TIMEOUT, **link)
    reopened.run()
    assert not reopened.exception, [e.value for e in reopened.exception]
    assert metric(reopened, "Realised bits (optimised)") == metric(at, "Realised bits (optimised)")

    # another budget is another view: the optimised result of 0.25 bits is not shown for 0.5
    at.sidebar.slider(key="explore.bits").set_value(0.5).run()
    assert not [m for m in at.metric if m.label == "Realised bits (optimised)"]
    assert at.button(key="explore_optimise_button").label.startswith("Optimise at 0.5 bits")
    assert "optimise" not in dict(at.query_params)
    assert np.isfinite(expected.importance).all()


def test_a_bad_optimise_value_in_a_link_is_named(utr5_scrambler_file):
    at = new_app(timeout=TIMEOUT, predictor="utr5", example="1", optimise="7")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("optimise value '7'" in w.value for w in at.warning), [w.value for w in at.warning]
    assert not [m for m in at.metric if m.label == "Realised bits (optimised)"]
