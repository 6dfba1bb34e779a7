"""The Compare page (pages/compare.py) driven by Streamlit's AppTest, without a browser."""
import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pagetools import open_page, private_result_cache

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


HOVER = re.compile(r"^([A-Z]) · ([-+0-9.e]+)(?: score| \(([-+0-9.e]+) score / max\))$")


def row_letters(at, chart: int = 0) -> list:
    """Per logo row, per position, the letters drawn: [(letter, value, drawn height or None)], from the hover text."""
    spec = json.loads(at.get("plotly_chart")[chart].proto.spec)
    rows = []
    for trace in (t for t in spec["data"] if t["type"] == "bar" and t.get("name") == ""):
        positions = []
        for text in trace["hovertext"]:
            items = text.split("<br>")[1:] if "<br>" in text else [text.split(" · ", 1)[1]]
            items = [m.groups() for m in map(HOVER.match, items) if m]        # "no letter" has none
            positions.append([(letter, float(v), None if h is None else float(h)) for letter, v, h in items])
        rows.append(positions)
    return rows


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
    assert titles[FAST.index("ism")].startswith("In-silico mutagenesis (ISM) · 151 calls · ")
    assert titles[FAST.index("integrated_gradients")].startswith("Integrated gradients · 52 calls · ")
    assert dict(page.query_params) == {"predictor": "utr5", "methods": ",".join(FAST), "mode": "inclusion",
                                       "bits": "0.5", "example": "1"}
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


def test_all_letters_view_and_normalised_rows(page):
    page.radio(key="compare.view").set_value("all").run()
    page.toggle(key="compare.normalise").set_value(True).run()
    assert_clean(page)
    titles = logo_titles(page)
    assert titles[FAST.index("ism")].endswith("· substitutions")
    assert titles[FAST.index("integrated_gradients")].endswith("· all letters")
    assert " · " in titles[FAST.index("scrambler")] and "all letters" not in titles[FAST.index("scrambler")]
    spec = json.loads(page.get("plotly_chart")[0].proto.spec)
    ranges = {tuple(v["range"]) for k, v in spec["layout"].items() if k.startswith("yaxis")}
    assert len(ranges) == 1                                              # normalised rows share one scale
    assert spec["layout"]["yaxis"]["title"]["text"] == "score / max"
    rows = row_letters(page)
    sequence = examples_utr5()[0].sequence
    for method in ("saliency", "integrated_gradients", "deeplift"):      # every letter has a value
        assert all(len(letters) == A for letters in rows[FAST.index(method)]), method
    assert any(len(letters) > 1 for letters in rows[FAST.index("deepshap")])   # the shuffles' letters too
    ism = rows[FAST.index("ism")]                                         # the 3 substitutions, not your letter
    assert all(len(p) == A - 1 and sequence[j] not in {c for c, _, _ in p} for j, p in enumerate(ism))
    for method, row in zip(FAST, rows):                                   # the tallest stack of each row is 1
        peak = max(max(sum(h for _, _, h in p if h > 0), -sum(h for _, _, h in p if h < 0)) for p in row)
        assert peak == pytest.approx(1.0, abs=0.01), method


def test_default_view_draws_your_letter_with_one_sign_rule(page):
    """Every row draws only the observed letter (x · attribution); the uAUG lowers the MRL in every signed row."""
    assert page.radio(key="compare.view").value == "observed"
    assert "All four letters" in page.radio(key="compare.view").options
    assert any("above the line raise the output" in c.value for c in page.caption), [c.value for c in page.caption]
    sequence = examples_utr5()[0].sequence                                # upstream ATG at 6–8
    assert sequence[5:8] == "ATG"
    rows = row_letters(page)
    assert len(rows) == len(FAST)
    for method, row in zip(FAST, rows):
        for j, letters in enumerate(row):
            assert [c for c, _, _ in letters] in ([], [sequence[j]]), (method, j, letters)
        if method != "scrambler":                                         # importances: no sign
            assert all(row[j] and row[j][0][1] < 0 for j in (5, 6, 7)), (method, row[5:8])
    scrambler = rows[FAST.index("scrambler")]
    assert all(v >= 0 for p in scrambler for _, v, _ in p)
    page.toggle(key="compare.normalise").set_value(True).run()
    assert_clean(page)
    for method, row in zip(FAST, row_letters(page)):                      # the tallest letter of each row is 1
        assert max(abs(h) for p in row for _, _, h in p) == pytest.approx(1.0, abs=0.01), method


def test_methods_have_human_names_and_identifiers_in_links_and_csv(page):
    picker = page.multiselect(key="compare.methods")
    assert "Integrated gradients" in picker.options and "Scrambler (per-example optimised)" in picker.options
    assert "integrated_gradients" not in picker.options
    assert picker.value == FAST                                           # the values stay identifiers
    assert "Integrated gradients — `integrated_gradients`" in picker.help
    assert "In-silico mutagenesis (ISM) — `ism`" in picker.help
    costs = cost_frame(page).set_index("method")
    assert costs.loc["integrated_gradients", "name"] == "Integrated gradients"
    scores = [b for b in page.get("download_button") if b.label == "Scores CSV (all methods)"]
    assert scores


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
    assert dict(at.query_params) == {"predictor": "utr5", "methods": "saliency,ism", "mode": "inclusion",
                                     "bits": "0.5", "example": "2"}


def test_a_link_holds_every_control(utr5_scrambler_file):
    """Scrambler row, letters drawn, normalising, true elements and zoom travel in the link and come back."""
    link = {"predictor": "utr5", "methods": "scrambler,saliency", "mode": "occlusion", "bits": "0.75",
            "example": "2", "view": "all", "normalise": "1", "truth": "1", "zoom": "5-30"}
    at = new_page(**link)
    at.run()
    assert_clean(at)
    assert not at.warning or all("not faithful" in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.sidebar.radio(key="compare.mode").value == "occlusion"
    assert at.sidebar.slider(key="compare.bits").value == pytest.approx(0.75)
    assert at.radio(key="compare.view").value == "all"
    assert at.toggle(key="compare.normalise").value is True and at.toggle(key="compare.truth").value is True
    assert at.slider(key="compare.zoom.utr5").value == (5, 30)
    assert dict(at.query_params) == link
    bad = new_page(predictor="utr5", methods="saliency", view="sideways", steps="7", zoom="x")
    bad.run()
    assert_clean(bad)
    warnings = " | ".join(w.value for w in bad.warning)
    assert "letters drawn 'sideways' is not one of observed, all" in warnings
    assert "steps '7' is not a whole number from 10 to 2000" in warnings and "zoom 'x'" in warnings


def test_per_example_method_is_opt_in_with_its_cost(utr5_scrambler_file):
    at = new_page(methods="scrambler_finetuned")
    at.session_state["compare.steps"] = 10
    at.run()
    assert_clean(at)
    assert any("1 + 32 × 10 = 321" in i.value for i in at.info), [i.value for i in at.info]
    costs = cost_frame(at)
    assert costs.method.tolist() == ["scrambler_finetuned"]
    assert costs.predictor_calls.iloc[0] == 1 + 32 * 10


def test_binder_pair_rows_have_names_your_letter_and_one_scale_per_method():
    from scrambler_core.examples import pair_examples

    if not (ROOT / "pretrained" / "binder.keras").exists():
        pytest.skip("the binder predictor is not trained yet")
    example = pair_examples("binder")[0]
    at = open_page(PAGE, "binder", **{"compare.pair_methods": ["ism", "saliency"]})
    assert not at.error, [e.value for e in at.error]
    assert "Saliency — `saliency`" in at.multiselect(key="compare.pair_methods").help
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    for chart, (label, chain) in enumerate((("a", example.chain_a), ("b", example.chain_b))):
        titles = [a["text"] for a in json.loads(charts[chart].proto.spec)["layout"]["annotations"]]
        assert [t.split(" · ")[:2] for t in titles] == [[f"Chain {label}", "In-silico mutagenesis (ISM)"],
                                                        [f"Chain {label}", "Saliency"]], titles
        for row in row_letters(at, chart):
            assert len(row) == len(chain)
            assert all([c for c, _, _ in p] in ([], [chain[j]]) for j, p in enumerate(row))   # your letter only
    at.radio(key="compare.view").set_value("all").run()
    at.toggle(key="compare.normalise").set_value(True).run()
    assert_clean(at)
    assert not at.error, [e.value for e in at.error]
    rows = [row_letters(at, chart) for chart in (0, 1)]
    for method in range(2):              # one peak per method over both chains: its tallest stack reaches 1
        peak = max(max(sum(h for _, _, h in p if h > 0), -sum(h for _, _, h in p if h < 0))
                   for chain in rows for p in chain[method])
        assert peak == pytest.approx(1.0, abs=0.01)
    assert any(len(p) > 1 for p in rows[0][1])                           # saliency: every letter
