"""The Variant page's batch section with a BED6 regions upload (issue 20): strand-aware windows, clear errors."""
from pathlib import Path

import pytest
from pagetools import assert_clean, errors, open_page, private_result_cache, texts

ROOT = Path(__file__).resolve().parents[2]
PAGE = "pages/variant.py"
TIMEOUT = 180
PAIR = {"A": "T", "C": "G", "G": "C", "T": "A"}

private_cache = private_result_cache("batch_regions_page_cache")


@pytest.fixture(scope="module")
def polya_files():
    if not (ROOT / "pretrained" / "polya.keras").exists():
        pytest.skip("pretrained/polya.keras is absent")


def run(at):
    at.run(timeout=TIMEOUT)
    assert_clean(at)
    return at


def example_page_with_bed(bed_name: str, bed: bytes):
    at = open_page(PAGE, "polya", timeout=TIMEOUT)
    at.button(key="variant_batch_example").click()
    run(at)
    at.multiselect(key="variant.batch.methods").set_value(["saliency"])
    at.file_uploader(key="variant_batch_bed").upload(bed_name, bed, "text/plain")
    run(at)
    at.button(key="variant_batch_run").click()
    return run(at)


def test_minus_strand_region_is_scored_on_the_reverse_complement(polya_files):
    import scrambler_core as sc
    from scrambler_core.examples import batch_example

    contig = "".join(batch_example("polya").fasta.splitlines()[1:])
    bed = b"track name=demo\nchrDemo\t205\t410\tpas_minus\t0\t-\n"
    at = example_page_with_bed("my utrs.bed", bed)
    assert not at.error, errors(at)
    frame = at.session_state["_variant_batch_results"]["polya"]["frame"].set_index("id")
    snv = frame.loc["ex1_snv"]
    assert (snv["strand"], snv["region"], snv["window_start"], snv["window_end"]) == ("-", "pas_minus", 206, 410)
    window = contig[205:410]
    revcomp = "".join(PAIR[c] for c in reversed(window))
    assert snv["ref_sequence"] == revcomp
    expected = sc.load_predictor("polya").predict([revcomp])
    assert snv["ref_prediction"] == pytest.approx(float(expected[0]), abs=1e-5)
    assert frame.loc["ex2_snv", "message"] == "line 11: no region of my_utrs.bed contains chrDemo:692"
    shown = [d.value for d in at.dataframe if "delta_prediction" in d.value.columns][0]
    assert {"strand", "region"} <= set(shown.columns)
    assert "regions my utrs.bed" in texts(at.caption)


@pytest.mark.parametrize("bed, message", [
    (b"chrDemo\t205\t305\tshort\t0\t-\n", "Batch: bad.bed: line 1: region chrDemo:205-305 is 100 nucleotides long; "
                                          "every region must be exactly 205"),
    (b"chrDemo\t205\t410\tnostrand\n", "Batch: bad.bed: line 1: 4 columns; a region needs the 6 BED6 columns"),
    (b"\xff\xfe\x00binary", "Batch: bad.bed is not a text file"),
])
def test_a_bad_bed_is_a_clear_message(polya_files, bed, message):
    at = example_page_with_bed("bad.bed", bed)
    shown = errors(at)
    assert message in shown, shown
    assert "Traceback" not in shown and "/tmp" not in shown and "/batch/" not in shown
    assert "_variant_batch_results" not in at.session_state
