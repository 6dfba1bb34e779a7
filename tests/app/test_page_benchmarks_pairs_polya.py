"""The Benchmarks page's issue-7 sections, driven by Streamlit's AppTest: the interface-residue benchmark of
the built-in binder (Fig S5), the polya mask-dropout and positive / negative feature benchmarks, and the
published ppi pair predictor still refused (it has no grammar)."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pagetools import frame_with, private_result_cache, unrun_page

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "pages/benchmarks.py"
PRETRAINED = ROOT / "pretrained"
TIMEOUT = 300
PAIR_NOTE = "supported on the Explore and Compare pages only"
SCRAMBLER_ROWS = ["scrambler (inclusion, siamese)", "scrambler (occlusion, siamese)", "scrambler (inclusion, joint)",
                  "scrambler (occlusion, joint)"]


private_cache = private_result_cache("benchmark_issue7_cache")


def needs(*files):
    missing = [f for f in files if not (PRETRAINED / f).exists()]
    if missing:
        pytest.skip(f"pretrained {', '.join(missing)} absent")


@pytest.fixture
def calls(monkeypatch):
    """Count the issue-7 benchmarks actually computed (a cached result does not count)."""
    from scrambler_core import benchmarks

    counted = []
    for name in ("interface_benchmark", "dropout_benchmark", "feature_sign_benchmark", "run_benchmarks"):
        original = getattr(benchmarks, name)

        def counting(*args, _name=name, _original=original, **kwargs):
            counted.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(benchmarks, name, counting)
    return counted


def new_page(predictor, **state) -> AppTest:
    return unrun_page(PAGE, predictor, timeout=TIMEOUT, **state)


def assert_clean(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def infos(at) -> str:
    return " | ".join(i.value for i in at.info)


# ----------------------------------------------------------------------------- binder: interface residues

def test_binder_shows_the_interface_section_without_running(calls):
    needs("binder.keras")
    at = new_page("binder")
    at.run()
    assert_clean(at)
    assert at.title[0].value == "Benchmarks"
    assert PAIR_NOTE not in infos(at)
    assert "Interface residues (Fig S5)" in [s.value for s in at.subheader]
    assert at.multiselect(key="benchmarks.interface_methods").value == [
        "scrambler", "ism", "saliency", "gradient_x_input", "integrated_gradients"]
    options = set(at.multiselect(key="benchmarks.interface_methods").options)
    assert {"continuous_mean", "zero_mask", "random_mask", "scrambler_optimized"} <= options
    assert at.number_input(key="benchmarks.interface_n").value == 32
    assert at.button(key="benchmarks_interface_run").label == "Run interface benchmark"
    assert "nothing runs until you do" in infos(at)
    assert any(e.label == "What am I looking at?" for e in at.expander)
    assert not at.dataframe and calls == []
    keys = {n.key for n in at.number_input}
    assert "benchmarks.interface_steps" not in keys                     # per-example methods are opt-in
    at.multiselect(key="benchmarks.interface_methods").set_value(["saliency", "zero_mask"]).run()
    assert_clean(at)
    assert at.number_input(key="benchmarks.interface_n_per_example").value == 8
    assert at.number_input(key="benchmarks.interface_steps").value == 300
    assert calls == []


def test_binder_interface_run_shows_table_chart_and_survives_a_page_switch(calls):
    needs("binder.keras")
    at = new_page("binder", **{"benchmarks.interface_methods": ["scrambler", "saliency"],
                               "benchmarks.interface_n": 8})
    at.run()
    assert_clean(at)
    at.button(key="benchmarks_interface_run").click().run()
    assert_clean(at)
    assert calls == ["interface_benchmark"]

    table = frame_with(at, "method", "mean_ap", "sem_ap", "random_ap", "calls_per_sequence",
                       "seconds_per_sequence", "paper_hbnet_ap")[0]
    rows = table.method.tolist()
    assert rows[-1] == "saliency" and set(rows[:-1]) <= set(SCRAMBLER_ROWS), rows
    left_out = [r for r in SCRAMBLER_ROWS if r not in rows]             # scramblers not trained (yet)
    for row in left_out:
        assert f"{row} left out" in infos(at) and ".keras" in infos(at), infos(at)
    assert table.mean_ap.between(0, 1).all() and (table.n == 8).all()
    assert table.random_ap.nunique() == 1 and 0 < table.random_ap.iloc[0] < 1
    assert table.set_index("method").loc["saliency", "paper_hbnet_ap"] == 0.17
    assert table.set_index("method").loc["saliency", "calls_per_sequence"] == 1
    if "scrambler (inclusion, siamese)" in rows:
        assert table.set_index("method").loc["scrambler (inclusion, siamese)", "calls_per_sequence"] == 0
    chart = at.get("plotly_chart")
    assert len(chart) == 1
    assert "Interface AP table CSV" in {b.label for b in at.get("download_button")}
    assert any("computed in" in s.value for s in at.success), [s.value for s in at.success]

    at.button(key="benchmarks_interface_run").click().run()             # same settings: from the disk cache
    assert_clean(at)
    assert calls == ["interface_benchmark"]
    assert any("served from the cache" in s.value for s in at.success), [s.value for s in at.success]

    at.session_state["app.predictor"] = "utr5" if (PRETRAINED / "utr5.keras").exists() else "binder"
    at.switch_page("pages/variant.py").run()
    at.session_state["app.predictor"] = "binder"
    at.switch_page(PAGE).run()                                          # results survive a page switch
    assert_clean(at)
    assert frame_with(at, "method", "mean_ap")[0].method.tolist() == rows
    at.number_input(key="benchmarks.interface_n").set_value(16).run()
    assert any("settings above have changed" in c.value for c in at.caption)
    assert calls == ["interface_benchmark"]


# ----------------------------------------------------------------------------- polya: dropout and features

def test_polya_dropout_and_feature_sections_run(calls):
    needs("polya.keras", "polya_inclusion_dropout.keras", "polya_inclusion_maximize.keras",
          "polya_inclusion_minimize.keras")
    at = new_page("polya", **{"benchmarks.polya_n": 8})
    at.run()
    assert_clean(at)
    subheaders = [s.value for s in at.subheader]
    assert "Alternative explanations (mask dropout)" in subheaders and "Positive and negative features" in subheaders
    assert "benchmarks.kl" in {c.key for c in at.checkbox}              # the KL benchmark is still there
    # only the shipped full-protocol tables (KL and cost) are drawn; nothing was computed
    assert [list(d.value.columns)[0] for d in at.dataframe] == ["method", "method"] and calls == []
    assert "Press **Run dropout and feature benchmarks**" in infos(at)
    captions = " ".join(c.value for c in at.caption)
    assert "AATAAA" in captions and "ATTAAA" in captions and "minimize" in captions

    at.button(key="benchmarks_polya_run").click().run()
    assert_clean(at)
    assert sorted(calls) == ["dropout_benchmark", "feature_sign_benchmark"]
    dropout = frame_with(at, "condition", "top_on_AATAAA", "top_on_ATTAAA")[0]
    assert dropout.condition.tolist() == ["none", "AATAAA dropped"] and (dropout.n == 8).all()
    features = frame_with(at, "objective", "top_on_raising", "top_on_lowering")[0]
    assert features.objective.tolist() == ["maximize", "minimize"] and (features.n == 8).all()
    labels = {b.label for b in at.get("download_button")}
    assert {"Dropout table CSV", "Features table CSV"} <= labels, labels

    at.switch_page("pages/variant.py").run()
    at.switch_page(PAGE).run()                                          # kept across a page switch
    assert_clean(at)
    assert frame_with(at, "condition", "top_on_AATAAA")
    assert frame_with(at, "objective", "top_on_raising")
    assert sorted(calls) == ["dropout_benchmark", "feature_sign_benchmark"]


def test_utr5_has_no_polya_or_interface_sections(calls):
    needs("utr5.keras")
    at = new_page("utr5")
    at.run()
    assert_clean(at)
    subheaders = [s.value for s in at.subheader]
    assert "Positive and negative features" not in subheaders and "Interface residues (Fig S5)" not in subheaders
    assert calls == []


# ----------------------------------------------------------------------------- ppi: still refused

def test_ppi_is_still_refused_with_the_pair_note(models_dir):
    at = new_page("ppi")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert PAIR_NOTE in infos(at), infos(at)
    assert "Interface residues (Fig S5)" not in [s.value for s in at.subheader]
    assert not at.error
