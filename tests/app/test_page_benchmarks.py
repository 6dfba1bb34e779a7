"""The Benchmarks page (pages/benchmarks.py) driven by Streamlit's AppTest, without a browser."""
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from pagetools import frame_with, private_result_cache, unrun_page

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "pages/benchmarks.py"
TIMEOUT = 180
TINY = {"benchmarks.n": 8, "benchmarks.n_samples": 8, "benchmarks.n_recall": 8,
        "benchmarks.methods": ["scrambler", "saliency"]}
TABLE_D = ["method", "start_1_1", "stop_1_1", "start_2_2", "stop_2_2"]


private_cache = private_result_cache("benchmark_cache")


@pytest.fixture
def runs(monkeypatch):
    """Count the benchmark runs actually computed (a cached result does not count)."""
    from scrambler_core import benchmarks

    calls = []
    original = benchmarks.run_benchmarks

    def counting(*args, **kwargs):
        calls.append(kwargs.get("methods"))
        return original(*args, **kwargs)

    monkeypatch.setattr(benchmarks, "run_benchmarks", counting)
    return calls


def new_page(predictor="utr5", **state) -> AppTest:
    return unrun_page(PAGE, predictor, timeout=TIMEOUT, **state)


def assert_clean(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_page_loads_without_running_anything(utr5_predictor_file, runs):
    at = new_page()
    at.run()
    assert_clean(at)
    assert at.title[0].value == "Benchmarks"
    assert runs == []
    assert not at.warning, [w.value for w in at.warning]
    assert len(at.image) == 1                                          # only the shipped full-protocol plot
    assert any("nothing runs until you do" in i.value for i in at.info)
    assert at.button(key="benchmarks_run").label == "Run benchmarks"
    assert at.checkbox(key="benchmarks.kl").value and at.checkbox(key="benchmarks.recall").value
    assert at.multiselect(key="benchmarks.methods").value == [
        "scrambler", "saliency", "gradient_x_input", "integrated_gradients", "deeplift", "deepshap", "ism"]
    assert at.number_input(key="benchmarks.n").value == 32
    assert at.number_input(key="benchmarks.n_samples").value == 32
    assert at.number_input(key="benchmarks.n_recall").value == 64
    assert any("The full protocol" in c.value and "command line" in c.value for c in at.caption)
    assert not any("python -m" in c.value for c in at.caption)
    assert any(e.label == "What am I looking at?" for e in at.expander)


def test_run_shows_tables_plot_and_cache(utr5_scrambler_file, runs):
    at = new_page(**TINY)
    at.run()
    assert_clean(at)
    at.button(key="benchmarks_run").click().run()
    assert_clean(at)
    assert len(runs) == 1 and list(runs[0]) == ["scrambler", "saliency"]

    kl = frame_with(at, "method", "inclusion 20 %", "occlusion 2 %")[-1]       # after the shipped tables
    assert kl.method.tolist() == ["scrambler", "saliency"]
    assert len(kl.columns) == 1 + 2 * 4
    assert (kl.drop(columns="method").to_numpy() >= 0).all()
    beside = frame_with(at, *TABLE_D)[-1]                               # measured, the paper's figure after each
    assert list(beside.columns) == ["method"] + [c for col in TABLE_D[1:] for c in (col, f"{col}_paper")]
    assert beside.method.tolist()[:2] == ["scrambler", "saliency"]      # the measured rows first, in their order
    measured = beside.set_index("method").loc[["scrambler", "saliency"], TABLE_D[1:]]
    assert measured.stack().between(0, 1).all()
    paper = beside.set_index("method")
    assert paper.loc["scrambler", "stop_1_1_paper"] == 0.84 and paper.loc["ism", "stop_1_1_paper"] == 0.07
    assert np.isnan(paper.loc["ism", "stop_1_1"])                       # not measured in this run
    assert any("squared error" in h.value for h in at.subheader), [h.value for h in at.subheader]
    cost = frame_with(at, "predictor_calls_per_sequence", "time_ratio")[-1]
    assert cost.method.tolist() == ["scrambler", "saliency"]
    assert len(at.image) == 2                                           # the shipped KL plot and this run's
    labels = {b.label for b in at.get("download_button")}
    assert {"Download PNG", "Download SVG", "KL table CSV", "Table D CSV (with the paper's)",
            "Recall CSV (all four settings)", "Cost table CSV"} <= labels, labels
    assert any("computed in" in s.value for s in at.success), [s.value for s in at.success]

    results = sys.modules["pages._ui.results"]
    hits = results.result_cache().stats()["hits"]
    at.button(key="benchmarks_run").click().run()                       # same settings: from the disk cache
    assert_clean(at)
    assert len(runs) == 1
    assert results.result_cache().stats()["hits"] == hits + 1
    assert any("served from the cache" in s.value for s in at.success), [s.value for s in at.success]
    assert frame_with(at, "method", "inclusion 20 %")[-1].method.tolist() == ["scrambler", "saliency"]

    at.session_state["compare.methods"] = ["saliency"]                  # keep the other page cheap
    at.switch_page("pages/compare.py").run()                            # results survive a page switch
    assert at.title[0].value == "Compare"
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert len(runs) == 1
    assert frame_with(at, "method", "inclusion 20 %")[-1].method.tolist() == ["scrambler", "saliency"]
    at.number_input(key="benchmarks.n").set_value(16).run()
    assert any("settings above have changed" in c.value for c in at.caption)


def test_recall_is_explained_as_unavailable_for_polya(utr5_predictor_file, runs):
    if not (ROOT / "pretrained" / "polya.keras").exists():
        pytest.skip("pretrained polya predictor absent")
    at = new_page("polya")
    at.run()
    assert_clean(at)
    notes = " ".join(i.value for i in at.info)
    assert "Ground-truth recall (Table D) is not available for polya" in notes, notes
    assert "50-nt DNA 5'UTR" in notes and "205" in notes, notes
    keys = {c.key for c in at.checkbox}
    assert "benchmarks.kl" in keys and "benchmarks.recall" not in keys
    assert at.number_input(key="benchmarks.n_recall").disabled
    assert runs == []


def test_the_shipped_full_protocol_is_drawn_when_the_page_opens(utr5_scrambler_file, runs):
    """Nothing to press: the full-protocol tables shipped with this version, with their provenance."""
    from scrambler_core import benchmarks

    shipped = benchmarks.shipped_benchmark("utr5")
    assert shipped is not None, "pretrained/benchmarks/utr5 is missing (python bench/ship_benchmarks.py)"
    at = new_page()
    at.run()
    assert_clean(at)
    assert runs == []                                                     # nothing was computed
    assert "Full protocol" in [h.value for h in at.subheader]
    headline = [s.value for s in at.success if "Shipped with this version" in s.value]
    assert headline and shipped["provenance"]["commit"][:10] in headline[0], [s.value for s in at.success]
    beside = frame_with(at, *TABLE_D)[0]
    expected = shipped["table_d"].set_index("method")
    assert beside.set_index("method").loc["scrambler", "stop_1_1"] == pytest.approx(
        expected.loc["scrambler", "stop_1_1"])
    kl = frame_with(at, "method", "inclusion 20 %")[0]
    assert set(kl.method) == set(shipped["kl"].method)
