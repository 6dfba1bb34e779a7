"""The Compare page (pages/compare.py) driven by Streamlit's AppTest, without a browser."""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pagetools import private_result_cache

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "pages/compare.py"
TIMEOUT = 180
L, A = 50, 4                       # utr5: 50 nucleotides of ACGT
SEQUENCE_KEY = "compare.sequence.utr5"
FAST = ["scrambler", "saliency", "gradient_x_input", "integrated_gradients", "deeplift", "deepshap", "ism"]


private_cache = private_result_cache("compare_cache")


def examples_utr5():
    from scrambler_core import examples

    return examples.examples("utr5")


def new_page(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.session_state["app.predictor"] = "utr5"
    at.switch_page(PAGE)
    return at


def assert_clean(at):
    assert not at.exception, [e.value for e in at.exception]


def cost_frame(at):
    frames = [d.value for d in at.dataframe if "predictor_calls" in d.value.columns]
    assert len(frames) == 1, [list(d.value.columns) for d in at.dataframe]
    return frames[0]


def logo_titles(at):
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    return [a["text"] for a in spec["layout"].get("annotations", [])]


@pytest.fixture
def page(utr5_scrambler_file):
    at = new_page()
    at.run()
    assert_clean(at)
    return at


@pytest.fixture
def count_runs(monkeypatch):
    """Count the attributions the page computes (cached results do not count)."""
    from scrambler_core import comparison

    calls = []
    original = comparison.run_method

    def counting(predictor, sequence, method, options=None):
        calls.append(method)
        return original(predictor, sequence, method, options)

    monkeypatch.setattr(comparison, "run_method", counting)
    return calls


def test_default_example_shows_every_fast_method(page):
    assert page.title[0].value == "Compare"
    assert not page.error, [e.value for e in page.error]
    assert not page.warning, [w.value for w in page.warning]
    assert page.text_area(key=SEQUENCE_KEY).value == examples_utr5()[0].sequence
    assert page.multiselect(key="compare.methods").value == FAST
    costs = cost_frame(page)
    assert costs.method.tolist() == FAST                                 # one row per selected method
    calls = costs.set_index("method").predictor_calls
    assert calls["ism"] == 1 + L * (A - 1) == 151                        # every single-letter mutant + the original
    assert calls["saliency"] == 1 and calls["gradient_x_input"] == 1
    assert calls["integrated_gradients"] == 50 + 2                       # 50 steps + f(x) + f(baseline)
    assert calls["deeplift"] == 2 and calls["deepshap"] == 2 * 20
    assert calls["scrambler"] == 0                                       # one pass of the scrambler network
    assert (costs.seconds >= 0).all()
    titles = logo_titles(page)
    assert len(titles) == len(FAST)
    assert titles[FAST.index("ism")].startswith("ism · 151 calls · ")
    assert dict(page.query_params) == {"predictor": "utr5", "methods": ",".join(FAST), "example": "1"}
    assert any(e.label == "What am I looking at?" for e in page.expander)
    labels = {b.label for b in page.get("download_button")}
    assert {"Download PNG", "Download SVG", "Scores CSV (all methods)", "Cost CSV"} <= labels, labels


def test_switching_methods_off_and_on_uses_the_cache(page, count_runs):
    page.multiselect(key="compare.methods").unselect("ism").run()
    assert_clean(page)
    costs = cost_frame(page)
    assert "ism" not in costs.method.tolist()
    assert costs.method.tolist() == [m for m in FAST if m != "ism"]
    assert page.query_params["methods"] == ",".join(m for m in FAST if m != "ism")
    assert len(logo_titles(page)) == len(FAST) - 1
    page.multiselect(key="compare.methods").select("ism").run()
    assert_clean(page)
    costs = cost_frame(page)
    assert costs.method.tolist() == FAST
    assert costs.from_cache.all()
    assert count_runs == []                                              # nothing was recomputed


def test_new_scrambler_bits_recompute_only_the_scrambler(page, count_runs):
    page.sidebar.slider(key="compare.bits").set_value(1.5).run()
    assert_clean(page)
    assert count_runs == ["scrambler"]
    costs = cost_frame(page).set_index("method")
    assert not costs.from_cache["scrambler"] and costs.from_cache["ism"]
    assert "1.5 bits" in costs.check["scrambler"]


def test_ism_substitutions_and_normalised_rows(page):
    page.radio(key="compare.ism_view").set_value("substitutions").run()
    page.toggle(key="compare.normalise").set_value(True).run()
    assert_clean(page)
    titles = logo_titles(page)
    assert titles[FAST.index("ism")].endswith("· substitutions")
    spec = json.loads(page.get("plotly_chart")[0].proto.spec)
    ranges = {tuple(v["range"]) for k, v in spec["layout"].items() if k.startswith("yaxis")}
    assert len(ranges) == 1                                              # normalised rows share one scale
    assert spec["layout"]["yaxis"]["title"]["text"] == "score / max"


def test_bad_letter_names_the_position(page):
    seq = examples_utr5()[0].sequence
    page.text_area(key=SEQUENCE_KEY).input(seq[:16] + "X" + seq[17:]).run()
    assert_clean(page)
    assert len(page.error) == 1
    assert "position 17" in page.error[0].value and "'X'" in page.error[0].value, page.error[0].value
    assert not [d for d in page.dataframe if "predictor_calls" in d.value.columns]


def test_wrong_length_names_the_expected_length(page):
    page.text_area(key=SEQUENCE_KEY).input(examples_utr5()[0].sequence[:48]).run()
    assert_clean(page)
    assert len(page.error) == 1
    message = page.error[0].value
    assert "48" in message and "expects 50" in message, message
    assert not page.get("plotly_chart")


def test_link_chooses_methods_and_example(utr5_scrambler_file):
    second = examples_utr5()[1]
    at = new_page(methods="ism,saliency,magic", example="2")
    at.run()
    assert_clean(at)
    assert at.text_area(key=SEQUENCE_KEY).value == second.sequence
    assert cost_frame(at).method.tolist() == ["saliency", "ism"]
    assert any("'magic'" in w.value for w in at.warning), [w.value for w in at.warning]
    assert dict(at.query_params) == {"predictor": "utr5", "methods": "saliency,ism", "example": "2"}


def test_per_example_method_is_opt_in_with_its_cost(utr5_scrambler_file):
    at = new_page(methods="scrambler_finetuned")
    at.session_state["compare.steps"] = 10
    at.run()
    assert_clean(at)
    assert any("1 + 32 × 10 = 321" in i.value for i in at.info), [i.value for i in at.info]
    costs = cost_frame(at)
    assert costs.method.tolist() == ["scrambler_finetuned"]
    assert costs.predictor_calls.iloc[0] == 1 + 32 * 10
