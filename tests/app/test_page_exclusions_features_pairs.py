"""Explore and Compare with the new scramblers (issue 7), driven by Streamlit's AppTest.

* Excluded positions (mask dropout, method §7): typed ranges make the page use the dropout
  scrambler; the excluded positions have ~0 importance; bad text gives an error naming the problem.
* Positive / negative features (objective maximize / minimize): two more importance logos.
* The built-in pair predictor ``binder``: pair-scrambler logos of both chains on Explore, and every
  method on both chains on Compare.

Pretrained files that are not in pretrained/ yet make the test skip with the file's name.
"""
import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from pagetools import assert_clean, metric, texts
from scrambler_core.comparison import method_name
from pagetools import open_page as _open_page

ROOT = Path(__file__).resolve().parents[2]
PRETRAINED = ROOT / "pretrained"
TIMEOUT = 240


# ----------------------------------------------------------------------------- helpers

def need(*stems):
    for stem in stems:
        path = PRETRAINED / f"{stem}.keras"
        if not path.exists():
            pytest.skip(f"pretrained file {path.relative_to(ROOT)} is not there yet (being trained)")


def open_page(page: str, predictor: str, **state) -> AppTest:
    return _open_page(page, predictor, timeout=TIMEOUT, **state)


def figures(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def titles(figure) -> list[str]:
    return [a["text"] for a in figure["layout"].get("annotations", [])]


def figure_with_title(at, words) -> dict:
    found = [f for f in figures(at) if any(words in t for t in titles(f))]
    assert found, f"no chart titled {words!r}; titles: {[titles(f) for f in figures(at)]}"
    return found[0]


def hover_values(figure, row: int) -> np.ndarray:
    """The value shown on hover at each position of one logo row (0 where there is no letter)."""
    yaxis = "y" if row == 0 else f"y{row + 1}"
    bars = [t for t in figure["data"] if t["type"] == "bar" and t.get("yaxis", "y") == yaxis]
    assert len(bars) == 1
    values = []
    for text in bars[0]["hovertext"]:
        match = re.search(r"· [A-Z] · ([-0-9.e+]+)", text)
        values.append(float(match.group(1)) if match else 0.0)
    return np.array(values)


@pytest.fixture(scope="module")
def utr5_example():
    need("utr5", "utr5_inclusion")
    from scrambler_core.examples import examples

    return examples("utr5")[0].sequence


# ----------------------------------------------------------------------------- pure helpers

def test_ranges_are_formatted_compactly_and_selections_read():
    from pages._ui import inputs

    assert inputs.format_ranges([62, 60, 61, 101, 5]) == "5, 60-62, 101"
    assert inputs.format_ranges([]) == ""
    event = {"selection": {"points": [{"x": 3.0, "y": 0.2}, {"x": 3, "y": 1.0}, {"x": 99}],
                           "box": [{"x": [9.6, 12.4], "y": [0, 1]}], "lasso": []}}
    assert inputs.selected_positions(event, 50) == {3, 10, 11, 12}
    assert inputs.selected_positions(None, 50) == set()
    assert inputs.selected_positions({"selection": {"points": [], "box": []}}, 50) == set()
    # the live chart: points of the histogram (trace 9) and boxes drawn on its axis (x3) are not positions
    live = {"selection": {"points": [{"x": 4, "curve_number": 2}, {"x": 7.2, "curve_number": 9}],
                          "box": [{"xref": "x3", "x": [1, 30]}, {"xref": "x2", "x": [19.6, 21.2]}]}}
    assert inputs.selected_positions(live, 50, curves=range(8), axes=("x", "x2")) == {4, 20, 21}


# ----------------------------------------------------------------------------- excluded positions

@pytest.mark.parametrize("name", ["utr5", "polya"])
def test_excluded_ranges_use_the_dropout_scrambler(name):
    need(name, f"{name}_inclusion", f"{name}_inclusion_dropout")
    import scrambler_core as sc
    from scrambler_core.examples import examples

    example = examples(name)[0].sequence
    at = open_page("pages/explore.py", name, **{f"explore.exclude.{name}": "10-15, 30",
                                                 "explore.mode": "inclusion", "explore.bits": 0.5})
    assert not at.error, texts(at.error)
    figure = figure_with_title(at, "Importance on your sequence")
    assert any("alternative" in t for t in titles(figure)), titles(figure)
    excluded = [p - 1 for p in (*range(10, 16), 30)]
    importance = hover_values(figure, 1)
    assert np.abs(importance[excluded]).max() <= 1e-3 * max(np.abs(importance).max(), 1e-9), importance[excluded]
    shaded = sorted({int(round(s["x0"] + 0.5)) for s in figure["layout"]["shapes"] if s.get("name") == "shade"})
    assert shaded == [p + 1 for p in excluded]
    # the page's scores are the dropout scrambler's
    scrambler = sc.load_scrambler(name, mode="inclusion", dropout=True)
    assert scrambler.network.mask_dropout
    drop = sc.scrambler.drop_mask_from_ranges("10-15, 30", len(example))
    expected = scrambler.explain([example], target_bits=0.5, n_samples=32, drop=drop).importance[0]
    np.testing.assert_allclose(importance, expected, rtol=2e-2, atol=2e-3 * float(expected.max()))
    caption = texts(at.caption)
    assert "with them excluded" in caption and "without exclusions" in caption, caption
    assert at.query_params["exclude"] == ["10-15, 30"] or at.query_params["exclude"] == "10-15, 30"


@pytest.mark.parametrize("text, words", [("10-x", "cannot read '10-x'"), ("45-60", "outside 1-50"),
                                         ("0", "outside 1-50")])
def test_bad_exclusion_text_names_the_problem(utr5_example, text, words):
    at = open_page("pages/explore.py", "utr5", **{"explore.exclude.utr5": text})
    errors = texts(at.error)
    assert "Excluded positions" in errors and words in errors, errors
    figure = figure_with_title(at, "Importance on your sequence")      # the page goes on without exclusions
    assert not any("alternative" in t for t in titles(figure))


def test_exclusion_without_a_dropout_scrambler_says_so(utr5_example):
    missing = [n for n in ("utr5", "polya") if not (PRETRAINED / f"{n}_occlusion_dropout.keras").exists()
               and (PRETRAINED / f"{n}_occlusion.keras").exists()]
    if not missing:
        pytest.skip("every built-in has an occlusion mask-dropout scrambler")
    name = missing[0]
    at = open_page("pages/explore.py", name, **{f"explore.exclude.{name}": "3-5", "explore.mode": "occlusion"})
    assert not at.error, texts(at.error)
    assert "mask dropout" in texts(at.info), texts(at.info)
    shown = texts(at.info) + texts(at.error) + texts(at.warning)
    assert "python -m" not in shown and "/pretrained/" not in shown and ".keras" not in shown, shown
    figure = figure_with_title(at, "Importance on your sequence")
    assert not any("alternative" in t for t in titles(figure))


# ----------------------------------------------------------------------------- positive / negative features

def test_positive_and_negative_features_add_two_logos(utr5_example):
    at = open_page("pages/explore.py", "utr5", **{"explore.bits": 0.5})
    before = len(figures(at))
    at.toggle(key="explore.posneg").set_value(True).run(timeout=TIMEOUT)
    assert_clean(at)
    if not all((PRETRAINED / f"utr5_inclusion_{o}.keras").exists() for o in ("maximize", "minimize")):
        assert "not available" in texts(at.info), texts(at.info)
        pytest.skip("utr5_inclusion_maximize/minimize.keras are not there yet (the page said so)")
    assert not at.error, texts(at.error)
    assert len(figures(at)) == before + 1
    figure = figure_with_title(at, "Raises the prediction")
    names = titles(figure)
    assert len(names) == 2 and names[0].startswith("Raises the prediction · mean prediction on samples")
    assert names[1].startswith("Lowers the prediction · mean prediction on samples")
    raises = float(names[0].rsplit(" ", 1)[1])
    lowers = float(names[1].rsplit(" ", 1)[1])
    assert raises > lowers, names
    for row in (0, 1):
        assert hover_values(figure, row).max() > 0


# ----------------------------------------------------------------------------- pairs

@pytest.fixture(scope="module")
def binder_pair():
    need("binder")
    from scrambler_core.examples import pair_examples

    example = pair_examples("binder")[0]
    return example.chain_a, example.chain_b


def test_binder_explore_shows_both_chains(binder_pair):
    need("binder_inclusion_siamese")
    chain_a, chain_b = binder_pair
    at = open_page("pages/explore.py", "binder", **{"explore.mode": "inclusion", "explore.bits": 0.5})
    assert not at.error, texts(at.error)
    for label, chain in (("a", chain_a), ("b", chain_b)):
        figure = figure_with_title(at, f"Chain {label}: importance")
        values = hover_values(figure, 1)
        assert len(values) == len(chain) and values.max() > 0       # residues only, no padding
    float(metric(at, "Mean probability (samples)"))
    assert "ISM CSV (both chains)" in {b.label for b in at.get("download_button")}
    if (PRETRAINED / "binder_inclusion_joint.keras").exists():
        at.sidebar.radio(key="explore.pair_architecture").set_value("joint").run(timeout=TIMEOUT)
        assert_clean(at)
        assert not at.error, texts(at.error)
        figure_with_title(at, "Chain b: importance")
        assert "joint inclusion pair scrambler" in texts(at.caption)


def test_binder_compare_shows_every_method_on_both_chains(binder_pair):
    chain_a, chain_b = binder_pair
    methods = ["scrambler", "ism", "saliency"]
    at = open_page("pages/compare.py", "binder", **{"compare.pair_methods": methods})
    assert not at.error, texts(at.error)
    assert at.text_area(key="compare.chain_a.binder").value == chain_a
    for label, chain in (("a", chain_a), ("b", chain_b)):
        figure = figure_with_title(at, f"Chain {label}")
        shown = [t for t in titles(figure)]
        for method in ("ism", "saliency"):
            assert any(t.startswith(f"Chain {label} · {method_name(method)}") for t in shown), shown
        if (PRETRAINED / "binder_inclusion_siamese.keras").exists():
            assert any(t.startswith(f"Chain {label} · {method_name('scrambler')}") for t in shown), shown
        bars = [t for t in figure["data"] if t["type"] == "bar"]
        assert all(len(b["x"]) == len(chain) if isinstance(b["x"], list) else True for b in bars)
    if not (PRETRAINED / "binder_inclusion_siamese.keras").exists():
        assert "not available" in texts(at.info), texts(at.info)
    at.text_area(key="compare.chain_b.binder").set_value("KLZ").run(timeout=TIMEOUT)
    assert_clean(at)
    assert "chain b" in texts(at.error), texts(at.error)


# ----------------------------------------------------------------------------- stand-in scramblers
# Untrained networks with the new options, saved in a temporary pretrained folder, so the page logic
# is tested even before the real files exist (the values mean nothing; the structure does).

@pytest.fixture
def stand_ins(tmp_path):
    need("utr5", "binder")
    import streamlit as st

    import scrambler_core as sc
    from scrambler_core import scrambler as S
    from scrambler_core.scrambler import explain as explain_module

    specs = []
    utr5, binder = sc.load_predictor("utr5"), sc.load_predictor("binder")
    for stem, kw in (("utr5_inclusion", {}), ("utr5_inclusion_dropout", dict(mask_dropout=True)),
                     ("utr5_inclusion_maximize", dict(objective="maximize")),
                     ("utr5_inclusion_minimize", dict(objective="minimize"))):
        specs.append((stem, utr5, utr5.sequence_length, kw))
    for arch in ("siamese", "joint"):
        specs.append((f"binder_inclusion_{arch}", binder, 2 * binder.max_length, dict(architecture=arch)))
    for stem, predictor, length, kw in specs:
        net = S.ScramblerModel(length, alphabet=predictor.alphabet.name, alphabet_letters=predictor.alphabet.letters,
                               predictor_name=predictor.name, output_kind=predictor.output_kind, channels=8,
                               groups=1, blocks=1, dilations=(1,), **kw)
        net.build((None, length, predictor.alphabet.size + net.n_condition_channels))
        net.save(tmp_path / f"{stem}.keras")
    st.cache_resource.clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(explain_module, "PRETRAINED_DIR", tmp_path)
        yield tmp_path
    st.cache_resource.clear()


def test_stand_in_dropout_scrambler_zeroes_the_excluded_positions(stand_ins):
    at = open_page("pages/explore.py", "utr5", **{"explore.exclude.utr5": "3, 20-25"})
    assert not at.error, texts(at.error)
    figure = figure_with_title(at, "Importance on your sequence · alternative")
    importance = hover_values(figure, 1)
    excluded = [2, *range(19, 25)]
    assert np.all(importance[excluded] == 0) and importance.max() > 0
    assert "mask dropout" in texts(at.caption) and "with them excluded" in texts(at.caption)
    at.text_input(key="explore.exclude.utr5").set_value("").run(timeout=TIMEOUT)   # back to the plain scrambler
    assert_clean(at)
    figure = figure_with_title(at, "Importance on your sequence")
    assert not any("alternative" in t for t in titles(figure))
    assert "exclude" not in at.query_params


def test_stand_in_positive_and_negative_features(stand_ins):
    at = open_page("pages/explore.py", "utr5", **{"explore.posneg": True})
    assert not at.error and not at.info, (texts(at.error), texts(at.info))
    names = titles(figure_with_title(at, "Raises the prediction"))
    assert [n.split(" · ")[0] for n in names] == ["Raises the prediction", "Lowers the prediction"]


def test_stand_in_binder_pages(stand_ins, binder_pair):
    chain_a, chain_b = binder_pair
    at = open_page("pages/explore.py", "binder")
    assert not at.error, texts(at.error)
    for label, chain in (("a", chain_a), ("b", chain_b)):
        assert len(hover_values(figure_with_title(at, f"Chain {label}: importance"), 1)) == len(chain)
    at.sidebar.radio(key="explore.pair_architecture").set_value("joint").run(timeout=TIMEOUT)
    assert_clean(at)
    assert "joint inclusion pair scrambler" in texts(at.caption)
    at.sidebar.radio(key="explore.mode").set_value("occlusion").run(timeout=TIMEOUT)   # no stand-in: says so
    assert_clean(at)
    assert "not available" in texts(at.info), texts(at.info)

    at = open_page("pages/compare.py", "binder", **{"compare.pair_methods": ["scrambler", "ism"]})
    assert not at.error and not at.warning, (texts(at.error), texts(at.warning))
    for label in ("a", "b"):
        shown = titles(figure_with_title(at, f"Chain {label} · "))
        assert [t.split(" · ")[1] for t in shown] == [method_name("scrambler"), method_name("ism")], shown
