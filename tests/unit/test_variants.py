"""Tests for scrambler_core.variants: parsing, checking, applying and scoring variants."""

from pathlib import Path

import numpy as np
import pytest

from scrambler_core.sequences import RNA, SequenceError
from scrambler_core.variants import (
    Variant,
    VariantResult,
    apply_variants,
    diff_sequences,
    format_variants,
    parse_variants,
    parse_vcf_line,
    score_variant,
)

PRETRAINED = Path(__file__).resolve().parents[2] / "pretrained"

#        position: 1234567890
SEQ = "ACGTACGTAC"


# ---------------------------------------------------------------- the Variant


def test_variant_str_and_normalisation():
    v = Variant(120, "g", "a")
    assert str(v) == "120G>A"
    assert (v.position, v.ref, v.alt) == (120, "G", "A")
    assert v.start == 119 and v.end == 120 and v.span() == "position 120"
    mnv = Variant(10, "AC", "GT")
    assert str(mnv) == "10AC>GT" and mnv.end == 11 and mnv.span() == "positions 10-11"
    assert Variant(np.int64(3), "G", "T") == Variant(3, "G", "T")
    with pytest.raises(AttributeError):
        v.position = 3  # frozen


@pytest.mark.parametrize("args, match", [
    ((0, "G", "A"), "1-based and must be at least 1, got 0"),
    ((2.0, "G", "A"), "position must be a whole number"),
    ((True, "G", "A"), "position must be a whole number"),
    ((3, "", "A"), "ref must be a non-empty string"),
    ((3, "G", None), "alt must be a non-empty string"),
])
def test_variant_refuses_bad_fields(args, match):
    with pytest.raises(ValueError, match=match):
        Variant(*args)


# ---------------------------------------------------------------- parse / format


def test_parse_one_and_round_trip():
    variants = parse_variants("3G>T", SEQ)
    assert variants == [Variant(3, "G", "T")]
    assert parse_variants(format_variants(variants), SEQ) == variants


def test_parse_several_separators_case_and_spaces():
    variants = parse_variants(" 3g>t, 1A>C;5 A > T\n 7g>c ", SEQ)
    assert variants == [Variant(3, "G", "T"), Variant(1, "A", "C"), Variant(5, "A", "T"),
                        Variant(7, "G", "C")]
    text = format_variants(variants)
    assert text == "3G>T, 1A>C, 5A>T, 7G>C"
    assert parse_variants(text, SEQ) == variants


def test_parse_mnv_and_apply():
    variants = parse_variants("9ac>gt", SEQ)
    assert variants == [Variant(9, "AC", "GT")]
    assert apply_variants(SEQ, variants) == "ACGTACGTGT"


def test_parse_u_t_conversion():
    assert parse_variants("3G>U", SEQ) == [Variant(3, "G", "T")]
    rna = "ACGUACGUAC"
    assert parse_variants("4T>A, 3g>u", rna, RNA) == [Variant(4, "U", "A"), Variant(3, "G", "U")]
    assert apply_variants(rna, "3G>U", alphabet="rna") == "ACUUACGUAC"


def test_parse_cleans_the_reference():
    assert parse_variants("3G>T", "acgt acgt\nac") == [Variant(3, "G", "T")]


@pytest.mark.parametrize("text, match", [
    ("", r"^no variant given; write one such as 120G>A$"),
    ("  ,; ", r"^no variant given"),
    ("G>A", r"the variant \('G>A'\) does not start with a position; expected POSITION REF>ALT"),
    ("3G-T", r"\('3G-T'\) has no '>' between the reference and alternative letters"),
    ("3GT", r"\('3GT'\) has no '>'"),
    ("3G>T, x", r"^item 2 of 2 \('x'\) has no '>'"),
    ("3G>T;7G>C;c.1A>C", r"^item 3 of 3 \('c.1A>C'\) does not start with a position"),
    ("3G>T>A", r"\('3G>T>A'\) is not a variant; expected POSITION REF>ALT such as 120G>A"),
    ("0A>C", r"has position 0, but positions start at 1"),
    ("3>", r"\('3>'\) has no reference or alternative letters"),
    ("3G>*", r"contains a symbol; only the letters A, C, G, T are allowed"),
    ("11A>C", r"^variant 11A>C: position 11 is outside the sequence, which has 10 nucleotides "
              r"\(positions 1 to 10\)$"),
    ("10CA>GT", r"variant 10CA>GT covers positions 10-11, past the end of the sequence"),
    ("3A>T", r"^variant 3A>T: the reference has G at position 3, not A$"),
    ("5AG>TT", r"^variant 5AG>TT: the reference has AC at positions 5-6, not AG$"),
    ("3G>G", r"^variant 3G>G: the alternative is the same as the reference"),
    ("3G>N", r"^variant 3G>N, alternative letter: 'N' is not one of A, C, G, T$"),
    ("3X>A", r"^variant 3X>A, reference letter: 'X' is not one of A, C, G, T$"),
    ("3G>T 3G>C", r"^variants 3G>T and 3G>C both change position 3"),
    ("5AC>GA, 6C>A", r"^variants 5AC>GA and 6C>A both change position 6"),
    ("3G>", r"^variant '3G>' is an insertion or deletion: indels are refused because the "
            r"predictor reads a fixed length of 10 nucleotides"),
    ("3G>TT", r"'3G>TT' is an insertion or deletion.*fixed length of 10 nucleotides"),
    ("3->A", r"'3->A' is an insertion or deletion"),
    ("3del", r"'3del' is an insertion or deletion"),
    ("3_4insA", r"'3_4insA' is an insertion or deletion"),
])
def test_parse_refuses_bad_input(text, match):
    with pytest.raises(SequenceError, match=match):
        parse_variants(text, SEQ)


def test_parse_refuses_bad_reference_and_text_type():
    with pytest.raises(SequenceError, match=r"^sequence 'reference': 'Z' at position 2"):
        parse_variants("3G>T", "AZGT")
    with pytest.raises(SequenceError, match="variants must be text such as 120G>A, got int"):
        parse_variants(3, SEQ)


# ---------------------------------------------------------------- apply


def test_apply_several_and_input_unchanged():
    variants = [Variant(1, "A", "T"), Variant(10, "C", "G"), Variant(5, "AC", "CA")]
    assert apply_variants(SEQ, variants) == "TCGTCAGTAG"
    assert apply_variants(SEQ, Variant(2, "C", "G")) == "AGGTACGTAC"
    assert SEQ == "ACGTACGTAC"


@pytest.mark.parametrize("variants, match", [
    ([Variant(3, "A", "T")], r"^variant 3A>T: the reference has G at position 3, not A$"),
    ([Variant(12, "A", "T")], r"position 12 is outside the sequence"),
    ([Variant(3, "G", "TT")], r"^variant 3G>TT changes the length \(1 letter replaced by 2\): "
                              r"insertions and deletions are refused"),
    ([Variant(3, "G", "T"), Variant(3, "G", "A")], r"both change position 3"),
    ([], r"^no variant given"),
    (["3G>T"], r"expected Variant objects, got str \('3G>T'\)"),
])
def test_apply_validates_again(variants, match):
    with pytest.raises(SequenceError, match=match):
        apply_variants(SEQ, variants)


# ---------------------------------------------------------------- diff


def test_diff_returns_substitutions_in_order():
    assert diff_sequences(SEQ, "TCGTACGTAG") == [Variant(1, "A", "T"), Variant(10, "C", "G")]
    assert diff_sequences(SEQ, "acgtacgtat") == [Variant(10, "C", "T")]
    variants = diff_sequences(SEQ, "GGGTACGTAC")
    assert apply_variants(SEQ, variants) == "GGGTACGTAC"


@pytest.mark.parametrize("alt, match", [
    (SEQ, r"^the alternative sequence is identical to the reference"),
    (SEQ.lower(), r"^the alternative sequence is identical to the reference"),
    (SEQ[:-1], r"^the alternative sequence has 9 nucleotides but the reference has 10; only "
               r"substitutions can be compared"),
    (SEQ + "A", r"has 11 nucleotides but the reference has 10"),
    ("ACGTAZGTAC", r"^sequence 'alternative': 'Z' at position 6 is not one of A, C, G, T$"),
    ("", r"^sequence 'alternative': empty sequence$"),
])
def test_diff_refuses(alt, match):
    with pytest.raises(SequenceError, match=match):
        diff_sequences(SEQ, alt)


# ---------------------------------------------------------------- VCF


def test_vcf_maps_pos_with_window_start():
    # window starts at genomic 1000: POS 1002 is window position 3 (G)
    assert parse_vcf_line("chr1\t1002\t.\tG\tA", SEQ, 1000) == [Variant(3, "G", "A")]
    assert parse_vcf_line("chr1 1000 rs1 a c 50 PASS DP=3", SEQ, 1000) == [Variant(1, "A", "C")]
    assert parse_vcf_line("1\t1009\t.\tC\tT", SEQ, 1000) == [Variant(10, "C", "T")]
    assert parse_vcf_line("1 3 . G A", SEQ, 1) == [Variant(3, "G", "A")]


def test_vcf_multi_allelic_header_and_trimming():
    text = ("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n\n"
            "chr7\t1002\trs9\tG\tA,T,C\t.\tPASS\t.\n")
    variants = parse_vcf_line(text, SEQ, 1000, chrom="7")
    assert variants == [Variant(3, "G", "A"), Variant(3, "G", "T"), Variant(3, "G", "C")]
    assert [apply_variants(SEQ, [v]) for v in variants] == ["ACATACGTAC", "ACTTACGTAC", "ACCTACGTAC"]
    # shared first and last letters are dropped: REF CGT ALT CAT at 1001 -> window 3G>A
    assert parse_vcf_line("1 1001 . CGT CAT", SEQ, 1000) == [Variant(3, "G", "A")]
    assert parse_vcf_line("1 1001 . CG TA", SEQ, 1000) == [Variant(2, "CG", "TA")]


@pytest.mark.parametrize("line, match", [
    ("chr1 1002 . G", r"^the VCF line \(line 1\) has 4 columns?; need at least 5: "
                      r"CHROM POS ID REF ALT"),
    ("#CHROM POS\nchr1", r"\(line 2\) has 1 column.*need at least 5"),
    ("## only a header", r"^no VCF data line found"),
    ("1 1002 . G A\n1 1003 . T A", r"^found 2 VCF data lines \(lines 1, 2\); give one record"),
    ("chr1 x . G A", r"^VCF POS \(column 2\) must be a positive whole number, got 'x'$"),
    ("chr1 999 . A C", r"^VCF POS 999 \(REF 'A'\) is outside the window, which covers genomic "
                       r"positions 1000-1009"),
    ("chr1 1010 . A C", r"VCF POS 1010 .* outside the window"),
    ("chr1 1009 . CA GT", r"VCF POS 1009 \(REF 'CA'\) is outside the window"),
    ("chr1 1002 . C A", r"^VCF REF 'C' does not match the window, which has 'G' at genomic "
                        r"position 1002 \(window position 3\)"),
    ("chr1 1002 . GA CC", r"has 'GT' at genomic positions 1002-1003 \(window positions 3-4\)"),
    ("chr1 1002 . G <DEL>", r"^ALT allele '<DEL>' is a symbolic or structural allele; only "
                            r"substitutions.*fixed length of 10 nucleotides"),
    ("chr1 1002 . G *", r"^ALT allele '\*' is a symbolic"),
    ("chr1 1002 . G G]17:198982]", r"is a symbolic or structural allele"),
    ("chr1 1002 . G GA", r"^ALT allele 'GA' is an insertion or deletion \(REF has 1 letter, ALT "
                         r"has 2\); indels are refused because the predictor reads a fixed length"),
    ("chr1 1002 . GT G", r"ALT allele 'G' is an insertion or deletion"),
    ("chr1 1002 . G A,GA", r"^ALT allele 2 of 2 \('GA'\) is an insertion or deletion.*remove it "
                           r"from the ALT column to score the others"),
    ("chr1 1002 . G .", r"the record has no alternative allele"),
    ("chr1 1002 . G G", r"ALT allele 'G' is the same as REF"),
    ("chr1 1002 . G R", r"ALT allele 'R': 'R' is not one of A, C, G, T"),
    ("chr2 1002 . G A", r"^the VCF record is on chromosome 'chr2' but the window is on 'chr1'$"),
])
def test_vcf_refuses(line, match):
    with pytest.raises(SequenceError, match=match):
        parse_vcf_line(line, SEQ, 1000, chrom="chr1")


@pytest.mark.parametrize("start, match", [
    (0, r"window start must be at least 1"),
    ("1000", r"window start must be a whole number"),
    (True, r"window start must be a whole number"),
])
def test_vcf_refuses_bad_window_start(start, match):
    with pytest.raises(SequenceError, match=match):
        parse_vcf_line("1 1002 . G A", SEQ, start)


def test_vcf_chrom_prefix_is_ignored():
    assert parse_vcf_line("chr1 1002 . G A", SEQ, 1000, chrom="1") == [Variant(3, "G", "A")]
    assert parse_vcf_line("1 1002 . G A", SEQ, 1000, chrom="chr1") == [Variant(3, "G", "A")]


# ---------------------------------------------------------------- scoring (built-in models)


@pytest.fixture(scope="module")
def utr5():
    for name in ("utr5.keras", "utr5_inclusion.keras"):
        if not (PRETRAINED / name).exists():
            pytest.skip(f"pretrained/{name} is absent (python -m scrambler_core train-predictor utr5)")
    import scrambler_core as sc

    pred = sc.load_predictor("utr5")
    return pred, sc.load_scrambler("utr5", mode="inclusion", predictor=pred)


@pytest.fixture(scope="module")
def utr5_example():
    from scrambler_core import synthetic

    return synthetic.generate_uorf_set(1, 1, 1, seed=3)[0][0]


def _substitute(seq, index, letters="ACGT"):
    """seq with the letter at 0-based index replaced by the first other letter."""
    new = next(c for c in letters if c != seq[index])
    return seq[:index] + new + seq[index + 1:]


def test_score_variant_utr5(utr5, utr5_example):
    from scrambler_core import attribute

    pred, scr = utr5
    ref = utr5_example
    alt = _substitute(_substitute(ref, 19), 24)            # positions 20 and 25
    result = score_variant(pred, ref, alt, scrambler=scr, target_bits=0.5, ism_window=3)
    assert isinstance(result, VariantResult)

    expected = pred.predict([ref, alt])
    assert result.ref_prediction == pytest.approx(float(expected[0]), abs=1e-5)
    assert result.alt_prediction == pytest.approx(float(expected[1]), abs=1e-5)
    assert result.delta == pytest.approx(float(expected[1] - expected[0]), abs=1e-5)
    assert result.ref_logit is None and result.delta_logit is None
    assert result.changed.tolist() == [19, 24]
    assert [str(v) for v in result.variants] == [f"20{ref[19]}>{alt[19]}", f"25{ref[24]}>{alt[24]}"]

    scores = scr.scores([ref, alt], target_bits=0.5)
    np.testing.assert_allclose(result.importance_ref, scores[0], atol=1e-6)
    np.testing.assert_allclose(result.importance_alt, scores[1], atol=1e-6)
    np.testing.assert_allclose(result.importance_delta, scores[1] - scores[0], atol=1e-6)
    assert result.target_bits == pytest.approx(0.5)

    # ISM window: 0-based 19-3 = 16 .. 24+3 = 27 inclusive, i.e. 12 rows
    _, info = attribute(pred, [ref], "ism", return_info=True)
    assert result.ism_start == 16 and result.ism_changes.shape == (12, 4)
    np.testing.assert_allclose(result.ism_changes, info["changes"][0, 16:28], atol=1e-6)
    assert result.ism_positions.tolist() == list(range(17, 29))

    frame = result.to_frame()
    assert list(frame.columns) == ["position", "ref", "alt", "changed", "importance_ref",
                                   "importance_alt", "importance_delta"]
    assert len(frame) == 50 and frame["position"].tolist() == list(range(1, 51))
    assert "".join(frame["ref"]) == ref and "".join(frame["alt"]) == alt
    assert frame.loc[frame["changed"], "position"].tolist() == [20, 25]
    np.testing.assert_allclose(frame["importance_delta"], scores[1] - scores[0], atol=1e-6)

    ism = result.ism_frame()
    assert len(ism) == 12 * 3 and set(ism.columns) == {"position", "ref", "letter", "change"}
    row = ism[(ism["position"] == 20) & (ism["letter"] == alt[19])]
    assert float(row["change"].iloc[0]) == pytest.approx(
        float(info["changes"][0, 19, "ACGT".index(alt[19])]), abs=1e-6)


def test_score_variant_without_scrambler_clips_ism_window(utr5, utr5_example):
    pred, _ = utr5
    ref = utr5_example
    alt = _substitute(ref, 1)                                # position 2
    result = score_variant(pred, ref, alt, ism_window=10)
    assert result.importance_ref is None and result.importance_delta is None
    assert result.ism_start == 0 and result.ism_changes.shape == (12, 4)   # 0 .. 1+10
    assert np.isnan(result.to_frame()["importance_ref"]).all()
    # one substitution: its ISM cell is the prediction change itself
    j_alt = "ACGT".index(alt[1])
    assert result.ism_changes[1, j_alt] == pytest.approx(result.delta, abs=1e-4)
    at_end = score_variant(pred, ref, _substitute(ref, 49), ism_window=0)
    assert at_end.ism_start == 49 and at_end.ism_changes.shape == (1, 4)
    # the reference letter's own column is 0, the three substitutions are not all 0
    j = "ACGT".index(ref[49])
    assert at_end.ism_changes[0, j] == 0.0


@pytest.mark.parametrize("alt, kwargs, error, match", [
    ("same", {}, SequenceError, r"the alternative sequence is identical to the reference"),
    ("short", {}, SequenceError, r"^sequence 'alternative': sequence has length 49 but this "
                                 r"predictor expects 50 nucleotides"),
    ("bad", {}, SequenceError, r"^sequence 'alternative': 'Z' at position 1 is not one of"),
    ("ok", {"ism_window": -1}, ValueError, r"ism_window must be 0 or more, got -1"),
])
def test_score_variant_refuses(utr5, utr5_example, alt, kwargs, error, match):
    pred, _ = utr5
    ref = utr5_example
    alt = {"same": ref, "short": ref[:-1], "bad": "Z" + ref[1:], "ok": _substitute(ref, 3)}[alt]
    with pytest.raises(error, match=match):
        score_variant(pred, ref, alt, **kwargs)


def test_score_variant_polya_delta_logit():
    if not (PRETRAINED / "polya.keras").exists():
        pytest.skip("pretrained/polya.keras is absent (python -m scrambler_core train-predictor polya)")
    import scrambler_core as sc
    from scrambler_core import synthetic

    pred = sc.load_predictor("polya")
    ref = synthetic.generate_polya_training(1, seed=3)[0]
    alt = _substitute(ref, 100)
    result = score_variant(pred, ref, alt, ism_window=5)
    prob = pred.predict([ref, alt])
    logit = pred.predict_logit([ref, alt])
    assert result.output_kind == "sigmoid"
    assert result.delta == pytest.approx(float(prob[1] - prob[0]), abs=1e-5)
    assert result.ref_logit == pytest.approx(float(logit[0]), abs=1e-5)
    assert result.delta_logit == pytest.approx(float(logit[1] - logit[0]), abs=1e-5)
    # log-odds and probabilities agree: logit = log(p / (1 - p))
    assert result.ref_logit == pytest.approx(np.log(prob[0] / (1 - prob[0])), abs=1e-3)
    assert result.ism_start == 95 and result.ism_changes.shape == (11, 4)
    # ISM of a sigmoid model is on the logit scale: the variant's cell is delta_logit
    assert result.ism_changes[5, "ACGT".index(alt[100])] == pytest.approx(result.delta_logit, abs=1e-4)
