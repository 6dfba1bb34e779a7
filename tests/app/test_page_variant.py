"""The Variant page (pages/variant.py) driven by Streamlit's AppTest, without a browser."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "pages/variant.py"
TIMEOUT = 180
VARIANTS_KEY = "variant.variants.utr5"
ALTERNATIVE_KEY = "variant.alternative.utr5"
VCF_KEY = "variant.vcf.utr5"
INPUT_KEY = "variant.input"


def example_utr5():
    from scrambler_core import synthetic

    return synthetic.generate_uorf_set(1, 1, 1, seed=3)[0][0]


def open_page(predictor="utr5", **query) -> AppTest:
    """The Variant page run on its own (AppTest runs a page chosen before the first run alone,
    without app.py): fast, and the page's own link parameters still apply."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["app.predictor"] = predictor
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(PAGE)
    at.run()
    assert_clean(at)
    return at


def assert_clean(at):
    assert not at.exception, [e.value for e in at.exception]


def metric(at, label) -> float:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}; metrics: {[m.label for m in at.metric]}"
    return float(found[0])


def errors(at) -> str:
    return " | ".join(e.value for e in at.error)


def expected_delta(ref, alt, name="utr5"):
    import scrambler_core as sc

    y = sc.load_predictor(name).predict([ref, alt])
    return float(y[0]), float(y[1])


@pytest.fixture
def page(utr5_scrambler_file):
    return open_page(predictor="utr5")


def test_page_runs_for_utr5_with_the_example_variant(page):
    ref = example_utr5()
    assert ref[5] == "A"                                    # position 6: the A of the upstream ATG
    assert page.title[0].value == "Variant"
    assert not page.error, errors(page)
    assert page.text_input(key=VARIANTS_KEY).value == "6A>G"
    alt = ref[:5] + "G" + ref[6:]
    y_ref, y_alt = expected_delta(ref, alt)
    assert metric(page, "Prediction (reference)") == pytest.approx(y_ref, abs=1e-4)
    assert metric(page, "Prediction (alternative)") == pytest.approx(y_alt, abs=1e-4)
    assert metric(page, "Δ prediction (alt − ref)") == pytest.approx(y_alt - y_ref, abs=1e-4)
    assert not [m for m in page.metric if m.label.startswith("Δ log-odds")]   # utr5 is a regression
    assert dict(page.query_params) == {"predictor": "utr5", "mode": "inclusion", "bits": "0.5",
                                       "example": "1", "variants": "6A>G"}
    assert any(e.label == "What am I looking at?" for e in page.expander)
    labels = {b.label for b in page.get("download_button")}
    assert {"Download PNG", "Download SVG", "Per-position CSV", "ISM CSV"} <= labels, labels
    assert len(page.get("plotly_chart")) == 2                # logos and ISM heatmap


def test_link_with_several_variants(utr5_scrambler_file):
    ref = example_utr5()
    assert ref[11] == "C"
    at = open_page(predictor="utr5", variants="6A>G, 12c>t")
    assert not at.error, errors(at)
    assert at.text_input(key=VARIANTS_KEY).value == "6A>G, 12c>t"
    alt = ref[:5] + "G" + ref[6:11] + "T" + ref[12:]
    y_ref, y_alt = expected_delta(ref, alt)
    assert metric(at, "Δ prediction (alt − ref)") == pytest.approx(y_alt - y_ref, abs=1e-4)
    assert at.query_params["variants"] == "6A>G, 12C>T"


@pytest.mark.parametrize("text, reason", [
    ("6A-G", "has no '>' between the reference and alternative letters"),
    ("6C>G", "variant 6C>G: the reference has A at position 6, not C"),
    ("51A>G", "position 51 is outside the sequence, which has 50 nucleotides"),
    ("6A>GG", "indels are refused because the predictor reads a fixed length of 50 nucleotides"),
])
def test_bad_variant_text_shows_the_reason(page, text, reason):
    page.text_input(key=VARIANTS_KEY).input(text).run()
    assert_clean(page)
    assert len(page.error) == 1 and reason in page.error[0].value, errors(page)
    assert page.error[0].value.startswith("Variant: ")
    assert not page.metric


def test_edited_sequence(page):
    ref = example_utr5()
    page.radio(key=INPUT_KEY).set_value("Edited sequence").run()
    assert_clean(page)
    assert page.text_area(key=ALTERNATIVE_KEY).value == ref[:5] + "G" + ref[6:]
    page.text_area(key=ALTERNATIVE_KEY).input(ref).run()
    assert_clean(page)
    assert "the alternative sequence is identical to the reference" in errors(page)
    assert not page.metric
    edited = ref[:11] + "T" + ref[12:]
    page.text_area(key=ALTERNATIVE_KEY).input(edited.lower()).run()
    assert not page.error, errors(page)
    y_ref, y_alt = expected_delta(ref, edited)
    assert metric(page, "Δ prediction (alt − ref)") == pytest.approx(y_alt - y_ref, abs=1e-4)
    assert page.query_params["variants"] == "12C>T"


def test_vcf_line(page):
    ref = example_utr5()
    page.radio(key=INPUT_KEY).set_value("VCF line").run()
    assert_clean(page)
    assert page.text_area(key=VCF_KEY).value == "chr1 1000006 . A G"
    assert not page.error, errors(page)
    assert page.query_params["variants"] == "6A>G"

    page.text_area(key=VCF_KEY).input("chr1 1000006 . A").run()
    assert_clean(page)
    assert "has 4 columns; need at least 5: CHROM POS ID REF ALT" in errors(page)
    page.text_area(key=VCF_KEY).input("chr1 1000006 . C G").run()
    assert "VCF REF 'C' does not match the window, which has 'A' at genomic position 1000006 " \
           "(window position 6)" in errors(page)
    page.text_area(key=VCF_KEY).input("chr1 1000006 . A <DEL>").run()
    assert "is a symbolic or structural allele" in errors(page)

    page.text_area(key=VCF_KEY).input("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n"
                                      "chr1\t1000012\trs1\tC\tT,G\t.\tPASS\t.").run()
    assert not page.error, errors(page)
    alleles = page.radio(key="variant.allele.utr5")
    assert alleles.options == ["12C>T", "12C>G"]
    alleles.set_value("12C>G").run()
    y_ref, y_alt = expected_delta(ref, ref[:11] + "G" + ref[12:])
    assert metric(page, "Δ prediction (alt − ref)") == pytest.approx(y_alt - y_ref, abs=1e-4)


def test_bad_reference_shows_the_reason(page):
    page.text_area(key="variant.reference.utr5").input("ACGT").run()
    assert_clean(page)
    assert "sequence has length 4 but this predictor expects 50 nucleotides" in errors(page)
    assert not page.metric


def test_switching_to_a_sigmoid_predictor_shows_delta_log_odds(utr5_scrambler_file):
    import numpy as np

    import scrambler_core as sc
    from scrambler_core import examples
    from scrambler_core.variants import apply_variants

    if not (ROOT / "pretrained" / "polya.keras").exists():
        pytest.skip("pretrained/polya.keras is absent")
    at = open_page(predictor="utr5", variants="6A>G")
    assert at.query_params["variants"] == "6A>G"
    at.session_state["app.predictor"] = "polya"            # what the sidebar's predictor choice sets
    at.run()
    assert_clean(at)
    assert not at.error, errors(at)
    example = examples.examples("polya")[0]
    first = int(np.flatnonzero(example.important)[0])
    variant = at.text_input(key="variant.variants.polya").value
    assert variant.startswith(f"{first + 1}{example.sequence[first]}>")
    alt = apply_variants(example.sequence, variant)
    predictor = sc.load_predictor("polya")
    prob, logit = predictor.predict([example.sequence, alt]), predictor.predict_logit([example.sequence, alt])
    assert metric(at, "Δ prediction (alt − ref)") == pytest.approx(float(prob[1] - prob[0]), abs=1e-4)
    assert metric(at, "Δ log-odds (alt − ref)") == pytest.approx(float(logit[1] - logit[0]), abs=1e-4)
    assert at.query_params["predictor"] == "polya" and at.query_params["variants"] == variant


def test_without_a_scrambler_predictions_and_ism_still_show(utr5_predictor_file, tmp_path, monkeypatch):
    import streamlit as st

    import scrambler_core.scrambler.explain as scrambler_module

    st.cache_resource.clear()                              # scramblers loaded by earlier tests
    monkeypatch.setattr(scrambler_module, "PRETRAINED_DIR", tmp_path)   # no scrambler file can be found
    at = open_page(predictor="utr5", mode="occlusion")
    assert not at.error, errors(at)
    assert "no pretrained occlusion scrambler" in " ".join(i.value for i in at.info)
    ref = example_utr5()
    y_ref, y_alt = expected_delta(ref, ref[:5] + "G" + ref[6:])
    assert metric(at, "Δ prediction (alt − ref)") == pytest.approx(y_alt - y_ref, abs=1e-4)
    assert len(at.get("plotly_chart")) == 1                # the ISM heatmap; no importance logos
    labels = {b.label for b in at.get("download_button")}
    assert {"Per-position CSV", "ISM CSV"} <= labels, labels
    st.cache_resource.clear()                              # later tests load the real scramblers again


def test_a_long_window_opens_on_the_variant(utr5_scrambler_file):
    if not (ROOT / "pretrained" / "polya.keras").exists():
        pytest.skip("pretrained polya predictor absent")
    at = open_page("polya", variants="150A>G")
    zoom = [s for s in at.slider if s.label == "Positions"][0].value
    assert zoom[1] - zoom[0] + 1 == 80 and zoom[0] <= 150 <= zoom[1], zoom       # 80 of 205, around 150
    short = open_page("utr5")
    assert [s for s in short.slider if s.label == "Positions"][0].value == (1, 50)


def test_link_holds_the_ism_window_and_the_zoom(utr5_scrambler_file):
    at = open_page(predictor="polya", ism="4", zoom="100-150")
    assert not at.error, errors(at)
    assert at.sidebar.slider(key="variant.ism_window").value == 4
    assert at.slider(key="variant.zoom.polya").value == (100, 150)
    assert at.query_params["ism"] == "4" and at.query_params["zoom"] == "100-150"
    again = open_page(predictor="polya", **{k: at.query_params[k] for k in at.query_params if k != "predictor"})
    assert again.slider(key="variant.zoom.polya").value == (100, 150)
    assert again.text_input(key="variant.variants.polya").value == at.text_input(key="variant.variants.polya").value
    bad = open_page(predictor="utr5", ism="99", zoom="9-3")
    warnings = " | ".join(w.value for w in bad.warning)
    assert "ISM window '99' is not a whole number from 0 to 50" in warnings
    assert "zoom '9-3' is not a position range" in warnings
