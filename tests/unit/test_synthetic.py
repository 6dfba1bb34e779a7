"""The synthetic grammars on hand-written sequences (values computed by hand)."""
import numpy as np
import pytest

from scrambler_core import synthetic as S

# 50 nt with no ATG and no stop codon in any frame
CLEAN = "CT" * 25


def put(seq, motif, pos):
    return seq[:pos] + motif + seq[pos + len(motif):]


def gc_factor(seq):
    gc = (seq.count("G") + seq.count("C")) / len(seq)
    return 1 - 0.6 * max(0.0, gc - 0.5)


def test_clean_sequence_is_clean():
    assert len(CLEAN) == 50
    assert "ATG" not in CLEAN and not any(s in CLEAN for s in S.STOP_CODONS)


def test_no_uaug_translates_everything():
    truth = S.utr5_truth(CLEAN)
    assert truth.features["fraction_translating"] == 1.0
    assert truth.value == pytest.approx(1 + 8 * gc_factor(CLEAN))
    assert not truth.important.any()


def test_in_frame_uorf_weak_kozak():
    # uAUG at 20 (20 % 3 == 2), weak Kozak: position 17 is C, position 23 is not G
    seq = put(put(CLEAN, "ATG", 20), "TAA", 32)
    assert seq[17] not in "AG" and seq[23] != "G"
    truth = S.utr5_truth(seq)
    # 0.5 scan past + 0.5 initiate * 0.3 reinitiate
    assert truth.features["fraction_translating"] == pytest.approx(0.5 + 0.5 * 0.3)
    assert truth.value == pytest.approx(1 + 8 * 0.65 * gc_factor(seq))
    assert set(np.flatnonzero(truth.important)) == {20, 21, 22, 32, 33, 34}


def test_strong_kozak_and_n_terminal_extension():
    # in frame (i % 3 == 2), no stop after: N-terminal extension translates the CDS
    seq = put(put(CLEAN, "A", 17), "ATG", 20)
    assert S.utr5_truth(seq).features["fraction_translating"] == pytest.approx(1.0)
    # out of frame (i = 21), G at i+3: strong Kozak, no stop -> overlapping uORF, lost with p = 0.9
    seq = put(put(CLEAN, "ATG", 21), "G", 24)
    assert S.utr5_truth(seq).features["fraction_translating"] == pytest.approx(0.1)


def test_two_uaugs_recursion():
    # weak out-of-frame uAUG at 10 with stop at 16, then weak in-frame uAUG at 26 with stop at 38
    seq = put(put(put(put(CLEAN, "ATG", 10), "TGA", 16), "ATG", 26), "TAG", 38)
    assert seq[7] not in "AG" and seq[13] != "G" and seq[23] not in "AG" and seq[29] != "G"
    second = 0.5 + 0.5 * 0.3          # scanning ribosome from after the first uORF
    expected = 0.5 * 0.3 * second + 0.5 * second
    assert S.utr5_truth(seq).features["fraction_translating"] == pytest.approx(expected)


def test_uorf_set_has_exactly_the_inserted_codons():
    seqs, starts, stops = S.generate_uorf_set(50, 2, 2, seed=1)
    for seq, st, sp in zip(seqs, starts, stops):
        assert [k for k in range(48) if seq[k:k + 3] == "ATG"] == sorted(st.tolist())
        assert [k for k in range(48) if seq[k:k + 3] in S.STOP_CODONS] == sorted(sp.tolist())
        assert all(k % 3 == 2 for k in list(st) + list(sp))
        assert min(sp) > min(st)


def test_polya_grammar_by_hand():
    base = "C" * 205
    # only CCCC repressors in 90-130: 37 overlapping occurrences of CCCC in [90, 130)
    truth = S.polya_truth(base)
    n_repressors = (130 - 90) - 3
    assert truth.logit == pytest.approx(-3 - 0.3 * n_repressors)

    seq = ("AC" * 103)[:205]                    # no motif at all
    assert S.polya_truth(seq).logit == pytest.approx(-3.0)
    s1 = put(seq, "AATAAA", 70)
    assert S.polya_truth(s1).logit == pytest.approx(0.0)
    assert S.polya_truth(put(seq, "ATTAAA", 70)).logit == pytest.approx(-1.0)
    assert S.polya_truth(put(seq, "AATACA", 70)).logit == pytest.approx(-2.5)
    # a PAS outside [60, 90) does not count
    assert S.polya_truth(put(seq, "AATAAA", 86)).logit == pytest.approx(-3.0)
    # USE: at most 3 TGTA count
    s2 = put(put(put(put(s1, "TGTA", 22), "TGTA", 30), "TGTA", 38), "TGTA", 46)
    assert S.polya_truth(s2).logit == pytest.approx(3 * 0.4)
    # DSE and upstream PAS
    s3 = put(put(s1, "GTGT", 100), "AATAAA", 10)
    truth = S.polya_truth(s3)
    assert truth.logit == pytest.approx(0.3 - 1.0)
    assert truth.value == pytest.approx(1 / (1 + np.exp(0.7)))
    assert set(np.flatnonzero(truth.important)) == set(range(70, 76)) | set(range(100, 104)) | set(range(10, 16))


def test_generators_are_deterministic():
    assert S.generate_utr5_training(20, seed=4) == S.generate_utr5_training(20, seed=4)
    assert S.generate_polya_training(5, seed=4) == S.generate_polya_training(5, seed=4)
    assert all(len(s) == 205 for s in S.generate_polya_training(5, seed=4))
