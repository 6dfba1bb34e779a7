"""The Variant page's "Batch: score many variants" section (pages/variant.py), driven by AppTest."""
import io
from pathlib import Path

import numpy as np
import pytest
from pagetools import assert_clean, errors, metric, open_page, private_result_cache, texts

ROOT = Path(__file__).resolve().parents[2]
PAGE = "pages/variant.py"
TIMEOUT = 180
VCF_KEY = "variant.batch.vcf"
REFERENCE_KEY = "variant.batch.reference"
FASTA_KEY = "variant.batch.fasta"
METHODS_KEY = "variant.batch.methods"
BITS_KEY = "variant.batch.bits"
ANCHOR_KEY = "variant.batch.anchor.polya"
RESULTS_KEY = "_variant_batch_results"
SHOWN_COLUMNS = ["id", "chrom", "pos", "ref", "alt", "variant_type", "status", "message", "ref_prediction",
                 "alt_prediction", "delta_prediction"]

private_cache = private_result_cache("batch_page_cache")


@pytest.fixture(scope="module")
def polya_files():
    for name in ("polya.keras", "polya_inclusion.keras"):
        if not (ROOT / "pretrained" / name).exists():
            pytest.skip(f"pretrained/{name} is absent")


def polya_page():
    return open_page(PAGE, "polya", timeout=TIMEOUT)


def run(at):
    at.run(timeout=TIMEOUT)
    assert_clean(at)
    return at


def click(at, key):
    at.button(key=key).click()
    return run(at)


def batch_frames(at):
    return [d.value for d in at.dataframe if "delta_prediction" in d.value.columns]


def results(at):
    return at.session_state[RESULTS_KEY]["polya"]


@pytest.fixture(scope="module")
def example_run(polya_files):
    """The polya page with the example loaded and run: scrambler at 0.25 bits."""
    from scrambler_core.examples import batch_example

    at = polya_page()
    assert [s.value for s in at.subheader if s.value == "Batch: score many variants"]
    assert not batch_frames(at)                           # nothing shown before a run
    click(at, "variant_batch_example")
    example = batch_example("polya")
    assert at.text_area(key=VCF_KEY).value == example.vcf
    assert at.radio(key=REFERENCE_KEY).value == "Example contig (chrDemo)"
    assert at.number_input(key=ANCHOR_KEY).value == example.anchor
    at.multiselect(key=METHODS_KEY).set_value(["scrambler"])
    at.multiselect(key=BITS_KEY).set_value([0.25])
    click(at, "variant_batch_run")
    return at


def test_example_batch_shows_every_row_and_the_refused_ones(example_run):
    at = example_run
    assert not at.error, errors(at)
    frames = batch_frames(at)
    assert len(frames) == 1
    table = frames[0]
    assert len(table) == 18
    assert list(table.columns) == SHOWN_COLUMNS + ["scrambler_0.25_ref_sample_prediction",
                                                   "scrambler_0.25_alt_sample_prediction"]
    assert not any(table[c].map(lambda v: hasattr(v, "__len__") and not isinstance(v, str)).any()
                   for c in table.columns)                # no list columns in the shown table
    assert (table["status"] == "ok").sum() == 15 and (table["status"] == "error").sum() == 3
    manifest = results(at)["manifest"]
    assert manifest["status_counts"] == {"ok": 15, "error": 3}
    assert "18 rows: 15 scored, 3 refused" in texts(at.caption)
    warning = texts(at.warning)
    assert "3 rows could not be scored" in warning
    assert "ex1_ref_mismatch" in warning and "does not match" in warning
    assert "ex1_symbolic" in warning and "past_the_end" in warning
    snv = table[table["id"] == "ex1_snv"].iloc[0]
    assert snv["status"] == "ok" and snv["variant_type"] == "snv"
    assert snv["delta_prediction"] < 0                    # the SNV breaks the PAS
    assert snv["delta_prediction"] == pytest.approx(snv["alt_prediction"] - snv["ref_prediction"])
    ok = table[table["status"] == "ok"]
    assert ok["scrambler_0.25_ref_sample_prediction"].notna().all()
    assert set(table.loc[table["id"].str.startswith("ex1_multi"), "variant_type"]) == {"snv"}
    assert {"insertion", "deletion", "mnv", "symbolic"} <= set(table["variant_type"])


def test_example_batch_matches_the_core_function(example_run, tmp_path):
    """The page shows what scrambler_core.batch.run_batch gives for the same files and settings."""
    from scrambler_core.batch import read_results, run_batch
    from scrambler_core.examples import batch_example

    example = batch_example("polya")
    (tmp_path / "v.vcf").write_text(example.vcf)
    (tmp_path / "ref.fa").write_text(example.fasta)
    run_batch(tmp_path / "v.vcf", tmp_path / "out", "polya", fasta=tmp_path / "ref.fa", methods=["scrambler"],
              target_bits=[0.25], anchor=example.anchor, shard_size=256, progress=False)
    expected = read_results(tmp_path / "out")
    shown = batch_frames(example_run)[0]
    assert list(shown["id"]) == list(expected["id"])
    assert shown["delta_prediction"].fillna(99).tolist() == pytest.approx(
        expected["delta_prediction"].fillna(99).tolist(), abs=1e-6)


def test_a_batch_row_opens_in_the_single_variant_view(example_run):
    """Choosing a scored row and "Open above" makes its windows the single view's reference and variant."""
    at = example_run
    table = batch_frames(at)[0]
    stored = results(at)["frame"]
    ok = stored[stored["status"] == "ok"].reset_index(drop=True)
    k = int(ok.index[ok["id"] == "ex1_snv"][0])
    at.selectbox(key="variant.batch.row").set_value(k)
    click(at, "variant.batch.open")
    assert at.text_area(key="variant.reference.polya").value == ok.loc[k, "ref_sequence"]
    assert at.radio(key="variant.input").value == "Variant (120G>A)"
    changed = at.text_input(key="variant.variants.polya").value
    assert changed.endswith("A>G") or ">" in changed, changed
    assert "Batch row ex1_snv" in texts(at.info)
    expected = float(table.loc[table["id"] == "ex1_snv", "delta_prediction"].iloc[0])
    assert metric(at, "Δ prediction (alt − ref)") == f"{expected:+.4f}"
    changes = [sum(a != b for a, b in zip(r, a_)) for r, a_ in zip(ok["ref_sequence"], ok["alt_sequence"])]
    k = int(np.argmax(changes))                                       # an indel that shifts the rest of the window
    assert ok.loc[k, "variant_type"] in ("insertion", "deletion") and changes[k] > 4
    at.selectbox(key="variant.batch.row").set_value(k)
    click(at, "variant.batch.open")
    assert at.radio(key="variant.input").value == "Edited sequence"
    assert at.text_area(key="variant.alternative.polya").value == ok.loc[k, "alt_sequence"]
    expected = float(ok.loc[k, "delta_prediction"])
    assert metric(at, "Δ prediction (alt − ref)") == f"{expected:+.4f}"


def test_downloads_read_back(example_run):
    import pandas as pd
    import pyarrow.parquet as pq

    at = example_run
    labels = {b.label for b in at.get("download_button")}
    assert {"Download Parquet", "Download CSV"} <= labels, labels
    stored = results(at)
    table = pq.read_table(io.BytesIO(stored["parquet"]))
    assert table.num_rows == 18
    column = table.column("scrambler_0.25_ref_importance").to_pylist()
    ok = [v for v, s in zip(column, table.column("status").to_pylist()) if s == "ok"]
    assert len(ok) == 15 and all(len(v) == 205 for v in ok)
    frame = pd.read_csv(io.BytesIO(stored["csv"]))
    assert len(frame) == 18
    assert "scrambler_0.25_ref_importance_205" in frame.columns
    assert "scrambler_0.25_ref_importance_206" not in frame.columns
    assert frame.loc[frame["id"] == "ex1_snv", "scrambler_0.25_ref_importance_1"].notna().all()


def test_results_survive_a_rerun(example_run):
    at = example_run
    at.multiselect(key=BITS_KEY).set_value([0.5, 1.0])    # changed, but Run is not pressed
    run(at)
    frames = batch_frames(at)
    assert len(frames) == 1 and len(frames[0]) == 18
    assert "scrambler_0.25_ref_sample_prediction" in frames[0].columns   # still the last run's results
    assert at.multiselect(key=BITS_KEY).value == [0.5, 1.0]
    assert at.text_area(key=VCF_KEY).value.startswith("##fileformat=VCFv4.2")
    assert "18 rows: 15 scored, 3 refused" in texts(at.caption)
    run(at)                                                # a plain rerun keeps it too
    assert len(batch_frames(at)) == 1


def test_too_many_lines_are_refused(polya_files):
    at = polya_page()
    click(at, "variant_batch_example")
    lines = "\n".join(f"chrDemo\t{100 + k}\tv{k}\tA\tG" for k in range(501))
    at.text_area(key=VCF_KEY).input("#CHROM\tPOS\tID\tREF\tALT\n" + lines)
    click(at, "variant_batch_run")
    assert "The VCF has 501 data lines; the app scores up to 500; use the command line's batch scoring for more" \
        in errors(at)
    assert not batch_frames(at)
    assert RESULTS_KEY not in at.session_state             # nothing was run


def test_empty_vcf_and_missing_reference_are_refused(polya_files):
    at = polya_page()
    click(at, "variant_batch_run")                          # the VCF box starts empty
    assert "The VCF has no data lines" in errors(at)
    assert "Load example" in errors(at)
    click(at, "variant_batch_example")
    at.radio(key=REFERENCE_KEY).set_value("Paste FASTA")
    run(at)
    click(at, "variant_batch_run")
    assert "Batch: Reference FASTA: paste the reference FASTA" in errors(at)
    at.radio(key=REFERENCE_KEY).set_value("Upload FASTA")
    run(at)
    click(at, "variant_batch_run")
    assert "Batch: Reference FASTA: upload a FASTA file" in errors(at)
    assert not batch_frames(at)


def test_malformed_vcf_is_a_refused_row(polya_files):
    at = polya_page()
    click(at, "variant_batch_example")
    at.text_area(key=VCF_KEY).input("hello world")
    at.multiselect(key=METHODS_KEY).set_value(["saliency"])
    click(at, "variant_batch_run")
    assert not at.error, errors(at)
    table = batch_frames(at)[0]
    assert len(table) == 1 and table["status"].tolist() == ["error"]
    warning = texts(at.warning)
    assert "line_1: line 1: 2 columns; a VCF record needs at least 5 (CHROM POS ID REF ALT)" in warning
    assert "1 rows: 0 scored, 1 refused" in texts(at.caption)


def test_pasted_fasta_without_a_header_is_refused(polya_files):
    from scrambler_core.examples import batch_example

    at = polya_page()
    click(at, "variant_batch_example")
    at.radio(key=REFERENCE_KEY).set_value("Paste FASTA")
    run(at)
    letters = "".join(batch_example("polya").fasta.splitlines()[1:])
    at.text_area(key=FASTA_KEY).input(letters)
    click(at, "variant_batch_run")
    message = errors(at)
    assert "Batch: The pasted reference FASTA is not FASTA: the first line should be a header starting with '>'" \
        in message, message
    assert "/" not in message.split("found")[0]            # no server path in the message
    assert not batch_frames(at)
    assert at.text_area(key=FASTA_KEY).value == letters     # what was typed is kept


def test_unknown_chromosome_and_bad_anchor_rows(polya_files):
    """A pasted FASTA whose record has another name: every row is refused with the reason, nothing crashes."""
    from scrambler_core.examples import batch_example

    at = polya_page()
    click(at, "variant_batch_example")
    at.radio(key=REFERENCE_KEY).set_value("Paste FASTA")
    run(at)
    at.text_area(key=FASTA_KEY).input(batch_example("polya").fasta.replace(">chrDemo", ">chrOther"))
    at.multiselect(key=METHODS_KEY).set_value(["saliency"])
    click(at, "variant_batch_run")
    assert not at.error, errors(at)
    table = batch_frames(at)[0]
    assert (table["status"] == "error").all()
    assert "chromosome 'chrDemo' is not in reference.fa (it has chrOther)" in texts(at.warning)
    assert "and 8 more" in texts(at.warning)                # 18 refused rows, 10 listed


def test_ragged_pasted_and_uploaded_fasta_are_read(polya_files):
    """Hand-made FASTA (uneven line lengths, Windows line ends) is accepted; the upload is used too."""
    from scrambler_core.examples import batch_example

    example = batch_example("polya")
    letters = "".join(example.fasta.splitlines()[1:])
    cuts = [0]
    while cuts[-1] < len(letters):
        cuts.append(cuts[-1] + 37 + 11 * (len(cuts) % 3))
    ragged = ">chrDemo pasted\r\n" + "\r\n".join(letters[a:b] for a, b in zip(cuts, cuts[1:])) + "\r\n"

    at = polya_page()
    click(at, "variant_batch_example")
    at.multiselect(key=METHODS_KEY).set_value(["saliency"])
    at.radio(key=REFERENCE_KEY).set_value("Paste FASTA")
    run(at)
    at.text_area(key=FASTA_KEY).input(ragged)
    click(at, "variant_batch_run")
    assert not at.error, errors(at)
    assert results(at)["manifest"]["status_counts"] == {"ok": 15, "error": 3}
    assert "saliency_ref_importance" in results(at)["frame"].columns

    at.radio(key=REFERENCE_KEY).set_value("Upload FASTA")
    run(at)
    at.file_uploader(key="variant_batch_fasta").upload("genome.fa", ragged.encode(), "text/plain")
    run(at)
    assert not at.error, errors(at)
    at.text_area(key=VCF_KEY).input(example.vcf.replace("ex1_snv", "uploaded_snv"))
    click(at, "variant_batch_run")
    assert not at.error, errors(at)
    assert "uploaded_snv" in batch_frames(at)[0]["id"].tolist()
    assert results(at)["manifest"]["status_counts"] == {"ok": 15, "error": 3}


def test_upload_over_20_mb_is_refused(polya_files):
    at = polya_page()
    click(at, "variant_batch_example")
    at.radio(key=REFERENCE_KEY).set_value("Upload FASTA")
    run(at)
    big = b">chrBig\n" + b"ACGT" * (21 * 1024 * 1024 // 4)
    at.file_uploader(key="variant_batch_fasta").upload("big.fa", big, "text/plain")
    run(at)
    assert "Reference FASTA: big.fa is 21.0 MB; the app takes files up to 20 MB" in errors(at)
    click(at, "variant_batch_run")
    assert len(at.error) == 1, errors(at)                    # shown once, and nothing is run
    assert RESULTS_KEY not in at.session_state


def test_published_model_batch_uses_its_file(models_dir):
    """A published predictor (aparent2, 205 nt) is scored from $SCRAMBLER_MODELS_DIR; no example contig is offered."""
    from scrambler_core.examples import batch_example

    if not list((ROOT / "pretrained").glob("aparent2-*_inclusion.keras")):
        pytest.skip("no pretrained aparent2 scrambler")
    example = batch_example("polya")                      # a 205-nt window fits aparent2 too
    at = open_page(PAGE, "aparent2", timeout=TIMEOUT)
    assert not [b for b in at.button if b.key == "variant_batch_example"]
    assert at.radio(key=REFERENCE_KEY).options == ["Upload FASTA", "Paste FASTA"]
    assert at.number_input(key="variant.batch.anchor.aparent2").value == 103
    at.text_area(key=VCF_KEY).input(example.vcf)
    at.radio(key=REFERENCE_KEY).set_value("Paste FASTA")
    run(at)
    at.text_area(key=FASTA_KEY).input(example.fasta)
    at.number_input(key="variant.batch.anchor.aparent2").set_value(example.anchor)
    at.multiselect(key=BITS_KEY).set_value([0.5])
    click(at, "variant_batch_run")
    assert not at.error, errors(at)
    stored = at.session_state[RESULTS_KEY]["aparent2"]
    assert stored["manifest"]["status_counts"] == {"ok": 15, "error": 3}
    assert stored["manifest"]["job"]["model_path"].startswith(str(models_dir))
    table = batch_frames(at)[0]
    assert table.loc[table["status"] == "ok", "scrambler_0.5_alt_sample_prediction"].notna().all()
