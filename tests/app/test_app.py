"""The app's shell and the Explore page, driven by Streamlit's AppTest (no browser)."""
from functools import partial

import pytest

from pagetools import live_view
from pagetools import new_app as _new_app

TIMEOUT = 120
new_app = partial(_new_app, timeout=TIMEOUT)
SEQUENCE_KEY = "explore.sequence.utr5"


def example_utr5():
    from scrambler_core import synthetic

    return synthetic.generate_uorf_set(1, 1, 1, seed=3)[0][0]


def metric(at, label) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}; metrics: {[m.label for m in at.metric]}"
    return found[0]


def assert_clean(at):
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture
def app(utr5_scrambler_file):
    at = new_app(predictor="utr5", mode="inclusion")
    at.run()
    assert_clean(at)
    return at


def test_page_runs_for_utr5(app):
    assert app.title[0].value == "Explore"
    assert not app.error, [e.value for e in app.error]
    assert app.sidebar.selectbox(key="app.predictor").value == "utr5"
    assert app.sidebar.slider(key="explore.bits").value == pytest.approx(0.5)
    assert app.text_area(key=SEQUENCE_KEY).value == example_utr5()
    original = float(metric(app, "Prediction (original)"))
    live = live_view(app)
    assert live["active"] == pytest.approx(0.5) and live["original"] == pytest.approx(original, abs=1e-3)
    assert len(live["budgets"]) >= 20 and live["budgets"] == sorted(live["budgets"])
    assert min(live["budgets"]) == pytest.approx(0.05) and max(live["budgets"]) == pytest.approx(2.0)
    assert len(live["figure"]["frames"]) == len(live["budgets"])
    assert len(app.dataframe[0].value) == 5
    assert list(app.dataframe[0].value.columns) == ["sequence", "prediction"]
    assert dict(app.query_params) == {"predictor": "utr5", "mode": "inclusion", "bits": "0.5", "example": "1"}
    assert any(e.label == "What am I looking at?" for e in app.expander)
    labels = [b.label for b in app.get("download_button")]
    assert {"Download PNG", "Download SVG", "Scores CSV", "Samples CSV"} <= set(labels), labels


def test_slider_changes_realised_bits(app):
    low = live_view(app)["realised"]
    app.sidebar.slider(key="explore.bits").set_value(1.5).run()
    assert_clean(app)
    assert not app.error, [e.value for e in app.error]
    live = live_view(app)
    assert live["active"] == pytest.approx(1.5)
    assert live["realised"] > low, f"realised bits {low} at 0.5 target, {live['realised']} at 1.5 target"
    assert app.query_params["bits"] == "1.5"


def test_every_budget_is_a_frame_with_its_own_logos_and_metrics(app):
    """The live slider: each frame holds the same traces; realised bits grow with the budget."""
    figure = live_view(app)["figure"]
    frames = figure["frames"]
    assert {len(f["data"]) for f in frames} == {len(figure["data"])}
    realised = []
    for frame in frames:
        line = [t for t in frame["data"] if t.get("name") == "metrics"][0]["text"][0]
        realised.append(float(line.split("realised ")[1].split(" bits")[0]))
        assert line.startswith(f"target {frame['name']} bits · "), (frame["name"], line)
    assert realised[-1] > realised[0] + 1.0, realised
    assert sum(b > a for a, b in zip(realised, realised[1:])) >= len(realised) - 4, realised
    steps = figure["layout"]["sliders"][0]["steps"]
    assert all(s["method"] == "animate" and s["args"][0] == [f["name"]] for s, f in zip(steps, frames))


def test_edited_sequence_goes_into_the_link(app):
    seq = example_utr5()
    edited = ("C" if seq[0] != "C" else "G") + seq[1:]
    app.text_area(key=SEQUENCE_KEY).input(edited).run()
    assert_clean(app)
    assert app.query_params["seq"] == edited and "example" not in app.query_params


def test_example_choice_fills_the_sequence(app):
    from scrambler_core import examples

    third = examples.examples("utr5")[2]
    app.selectbox(key="explore.example.utr5").set_value(third.label).run()
    assert_clean(app)
    assert app.text_area(key=SEQUENCE_KEY).value == third.sequence
    assert app.query_params["example"] == "3"


def test_guided_example_sets_the_view(app):
    app.button(key="explore_guided_2").click().run()
    assert_clean(app)
    assert app.sidebar.radio(key="explore.mode").value == "occlusion"
    assert app.sidebar.slider(key="explore.bits").value == pytest.approx(1.0)
    assert app.toggle(key="explore.truth").value is True
    assert any("Occlusion" in i.value or "scrambled" in i.value for i in app.info)


def test_bad_letter_shows_position(app):
    seq = example_utr5()
    app.text_area(key=SEQUENCE_KEY).input(seq[:16] + "X" + seq[17:]).run()
    assert_clean(app)
    assert len(app.error) == 1
    assert "position 17" in app.error[0].value
    assert not app.metric


def test_wrong_length_shows_expected_length(app):
    app.text_area(key=SEQUENCE_KEY).input(example_utr5()[:48]).run()
    assert_clean(app)
    assert len(app.error) == 1
    message = app.error[0].value
    assert "48" in message and "expects 50" in message, message


def test_query_params_select_view(utr5_scrambler_file):
    from scrambler_core import examples

    second = examples.examples("utr5")[1]
    at = new_app(predictor="utr5", bits="1.25", mode="occlusion", example="2")
    at.run()
    assert_clean(at)
    assert at.sidebar.selectbox(key="app.predictor").value == "utr5"
    assert at.sidebar.slider(key="explore.bits").value == pytest.approx(1.25)
    assert at.sidebar.radio(key="explore.mode").value == "occlusion"
    assert at.text_area(key=SEQUENCE_KEY).value == second.sequence
    assert not at.error, [e.value for e in at.error]
    assert live_view(at)["active"] == pytest.approx(1.25)


def test_linked_sequence_is_used(utr5_scrambler_file):
    seq = example_utr5()
    edited = ("C" if seq[0] != "C" else "G") + seq[1:]
    at = new_app(predictor="utr5", seq=edited)
    at.run()
    assert_clean(at)
    assert at.text_area(key=SEQUENCE_KEY).value == edited


def test_bad_query_params_warn_not_crash(utr5_predictor_file):
    at = new_app(predictor="nope", bits="lots", mode="sideways", example="99")
    at.run()
    assert_clean(at)
    warnings = " ".join(w.value for w in at.warning)
    for bad in ("'nope'", "'lots'", "'sideways'", "'99'"):
        assert bad in warnings, warnings
    assert at.sidebar.slider(key="explore.bits").value == pytest.approx(0.5)


def test_missing_scrambler_shows_error(utr5_predictor_file, tmp_path, monkeypatch):
    import streamlit as st

    import scrambler_core.scrambler.explain as scrambler_module

    st.cache_resource.clear()  # scramblers loaded by earlier tests of this process
    # an empty pretrained directory: no scrambler file can be found
    monkeypatch.setattr(scrambler_module, "PRETRAINED_DIR", tmp_path)
    at = new_app(predictor="utr5", mode="occlusion")
    at.run()
    assert_clean(at)
    assert len(at.error) == 1
    assert "no pretrained occlusion scrambler" in at.error[0].value
    float(metric(at, "Prediction (original)"))  # the predictor alone still answers


def test_no_weights_shows_error(tmp_path, monkeypatch):
    """Runs without any pretrained file: the page explains what to do instead of failing."""
    import streamlit as st

    import scrambler_core.predictors.builtin as predictors_module

    st.cache_resource.clear()
    monkeypatch.setattr(predictors_module, "PRETRAINED_DIR", tmp_path)
    at = new_app()
    at.run()
    assert_clean(at)
    shown = [e.value for e in at.error]
    assert any("built-in weights are missing" in e and "Your model" in e for e in shown), shown
    assert not any("python -m" in e or "pretrained/" in e for e in shown), shown


# ----------------------------------------------------------------------------- drawing helpers the page uses

def test_information_content_heights():
    import numpy as np

    from scrambler_core import plot

    pwm = np.array([[1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25], [0.5, 0.5, 0.0, 0.0]])
    ic = plot.information_content(pwm)
    assert ic.shape == (3, 4)
    np.testing.assert_allclose(ic[0], [2.0, 0, 0, 0], atol=1e-9)  # fixed letter: log2 4 bits
    np.testing.assert_allclose(ic[1], 0.0, atol=1e-9)  # uniform: nothing
    np.testing.assert_allclose(ic[2], [0.5, 0.5, 0, 0], atol=1e-9)  # 1 bit shared by two letters


def test_logos_draw_letters():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from scrambler_core import plot

    seq = "ACGTACGTAC"
    pwm = np.full((10, 4), 0.25)
    pwm[3] = [0, 0, 0, 1]
    fig, ax = plot.pwm_logo(pwm, "dna")
    assert ax.get_ylim() == (0, 2.0)
    plt.close(fig)
    fig, ax = plot.importance_logo(np.linspace(0, 1, 10), seq, "ACGT")
    assert ax.get_ylabel() == "importance"
    plt.close(fig)
    with pytest.raises(ValueError, match="length"):
        plot.importance_logo(np.ones(9), seq, "dna")


def test_an_unfaithful_explanation_says_so(utr5_scrambler_file):
    """utr5's inclusion scrambler keeps about 0.23 bits at least: asked for 0.05 it is not faithful."""
    at = new_app(predictor="utr5", mode="inclusion", bits="0.05", example="1")
    at.run()
    assert_clean(at)
    warnings = [w.value for w in at.warning if "not faithful" in w.value]
    assert len(warnings) == 1, [w.value for w in at.warning]
    assert "not faithful at 0.05 bits" in warnings[0] and "Realised 0." in warnings[0]
    live = live_view(at)
    first = [t for t in live["figure"]["data"] if t.get("name") == "warning"][0]["text"][0]
    assert first.startswith("⚠ not faithful at this budget: budget not reached"), first
    # at 1 bit the same explanation is faithful: no warning
    at.sidebar.slider(key="explore.bits").set_value(1.0).run()
    assert not [w.value for w in at.warning if "not faithful" in w.value]


def test_a_shared_link_holds_and_restores_the_whole_view(utr5_scrambler_file):
    """Samples, true-element bands, feature signs and zoom travel in the link and come back from it."""
    link = {"predictor": "utr5", "mode": "inclusion", "bits": "0.75", "example": "2", "n": "64", "truth": "1",
            "features": "1", "zoom": "5-30"}
    at = new_app(**link)
    at.run()
    assert_clean(at)
    assert not at.warning or all("not faithful" in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.sidebar.select_slider(key="explore.n_samples").value == 64
    assert at.toggle(key="explore.truth").value is True and at.toggle(key="explore.posneg").value is True
    assert at.slider(key="explore.zoom.utr5").value == (5, 30)
    assert live_view(at)["active"] == pytest.approx(0.75)
    assert {k: at.query_params[k] for k in link} == link or dict(at.query_params) == link, dict(at.query_params)
    # the view written back is the same link: opening it again gives the same page
    again = new_app(**{k: (v[0] if isinstance(v, list) else v) for k, v in dict(at.query_params).items()})
    again.run()
    assert_clean(again)
    assert again.slider(key="explore.zoom.utr5").value == (5, 30)
    assert again.sidebar.select_slider(key="explore.n_samples").value == 64


def test_a_bad_zoom_in_a_link_is_named():
    at = new_app(predictor="utr5", zoom="30-5")
    at.run()
    assert_clean(at)
    assert any("zoom '30-5'" in w.value for w in at.warning), [w.value for w in at.warning]


def test_a_long_window_opens_on_its_element_and_a_new_sequence_resets_the_zoom(utr5_scrambler_file):
    from scrambler_core import examples

    first, second = examples.examples("polya")[:2]
    at = new_app(predictor="polya", example="1")
    at.run()
    assert_clean(at)
    low, high = at.slider(key="explore.zoom.polya").value
    assert high - low + 1 == 80                                         # 80 of 205 positions: readable letters
    truth = [p + 1 for p in range(205) if first.important[p]]
    assert low <= sorted(truth)[len(truth) // 2] <= high                 # around the true elements
    at.selectbox(key="explore.example.polya").set_value(second.label).run()
    assert_clean(at)
    low2, high2 = at.slider(key="explore.zoom.polya").value
    truth2 = [p + 1 for p in range(205) if second.important[p]]
    assert high2 - low2 + 1 == 80 and low2 <= sorted(truth2)[len(truth2) // 2] <= high2
    utr5 = new_app(predictor="utr5")
    utr5.run()
    assert utr5.slider(key="explore.zoom.utr5").value == (1, 50)       # short sequences are shown whole


def test_the_sequence_travels_between_explore_and_compare(utr5_scrambler_file):
    """A sequence typed on one page is the one the other opens with (per predictor); a link still wins."""
    seq = example_utr5()
    edited = ("C" if seq[0] != "C" else "G") + seq[1:]
    at = new_app(predictor="utr5")
    at.run()
    at.text_area(key=SEQUENCE_KEY).input(edited).run()
    assert_clean(at)
    at.session_state["compare.methods"] = ["saliency"]                  # keep Compare cheap
    at.switch_page("pages/compare.py").run()
    assert_clean(at)
    assert at.text_area(key="compare.sequence.utr5").value == edited
    back = ("A" if edited[5] != "A" else "T")
    on_compare = edited[:5] + back + edited[6:]
    at.text_area(key="compare.sequence.utr5").input(on_compare).run()
    assert_clean(at)
    at.switch_page("pages/explore.py").run()
    assert_clean(at)
    assert at.text_area(key=SEQUENCE_KEY).value == on_compare
    at.switch_page("pages/variant.py").run()                          # and on to Variant, with an example variant
    assert_clean(at)
    assert at.text_area(key="variant.reference.utr5").value == on_compare
    variant = at.text_input(key="variant.variants.utr5").value
    assert variant.startswith("1") and ">" in variant, variant
    on_variant = on_compare[:9] + ("A" if on_compare[9] != "A" else "T") + on_compare[10:]
    at.text_area(key="variant.reference.utr5").input(on_variant).run()
    assert_clean(at)
    at.switch_page("pages/explore.py").run()
    assert_clean(at)
    assert at.text_area(key=SEQUENCE_KEY).value == on_variant
