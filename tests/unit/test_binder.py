"""The built-in pair predictor ``binder``: its coiled-coil grammar, generator, trained model, examples and CLI."""
import numpy as np
import pandas as pd
import pytest

import scrambler_core as sc
from scrambler_core import synthetic
from scrambler_core.examples import pair_examples
from scrambler_core.paths import PRETRAINED_DIR
from scrambler_core.predictors.training import roc_auc

needs_binder = pytest.mark.skipif(not (PRETRAINED_DIR / "binder.keras").exists(),
                                  reason="pretrained/binder.keras is not trained in this checkout "
                                         "(python -m scrambler_core train-predictor binder)")

# A 28-residue pair (four heptads abcdefg from position 0), terms counted by hand (0-based positions):
#   a positions 0, 7, 14, 21:  L/I +0.5, N/N +1.5, L/L +0.5, N/A -1.5
#   d positions 3, 10, 17, 24: I/L +0.5, V/V +0.5, L/A 0,    A/L 0
#   g -> e' (i -> i+5): a6 E / b11 K +0.6, b6 K / a11 E +0.6, a13 K / b18 A 0, b13 E / a18 E -0.6,
#                       a20 E / b25 E -0.6, b20 K / a25 E +0.6; g 27 faces 32, outside the interface
#   logit = -3.0 + 2.0 + 0.6 = -0.4
HAND_A = "LAAIEAE" + "NAAVEAK" + "LAALEAE" + "NAAAEAA"
HAND_B = "IAALKAK" + "NAAVKAE" + "LAAAAAK" + "AAALEAA"
HAND_LOGIT = -0.4
HAND_IMPORTANT_A = [0, 3, 6, 7, 10, 11, 14, 18, 20, 21, 25]
HAND_IMPORTANT_B = [0, 3, 6, 7, 10, 11, 13, 14, 20, 21, 25]


def test_constants():
    assert synthetic.BINDER_MIN_LENGTH == 24 and synthetic.BINDER_MAX_LENGTH == 48
    assert synthetic.HEPTAD == "abcdefg"
    assert synthetic.PROTEIN_LETTERS == sc.sequences.get_alphabet("protein").letters
    assert (synthetic.BINDER_CORE, synthetic.BINDER_ASN_PAIR, synthetic.BINDER_ASN_MISMATCH) == (0.5, 1.5, -1.5)
    assert (synthetic.BINDER_SALT_BRIDGE, synthetic.BINDER_REPULSION, synthetic.BINDER_BIAS) == (0.6, -0.6, -3.0)


def test_hand_counted_pair():
    truth = synthetic.binder_truth(HAND_A, HAND_B)
    assert truth.logit == pytest.approx(HAND_LOGIT)
    assert truth.value == pytest.approx(1 / (1 + np.exp(-HAND_LOGIT)))
    assert truth.features["core"] == [0, 3, 10, 14]
    assert truth.features["asn_pair"] == [7] and truth.features["asn_mismatch"] == [21]
    assert sorted(truth.features["salt_bridge"]) == [("a", 6, 11), ("b", 6, 11), ("b", 20, 25)]
    assert sorted(truth.features["repulsion"]) == [("a", 20, 25), ("b", 13, 18)]
    assert truth.important_a.shape == (28,) and truth.important_b.shape == (28,)
    assert list(np.flatnonzero(truth.important_a)) == HAND_IMPORTANT_A
    assert list(np.flatnonzero(truth.important_b)) == HAND_IMPORTANT_B


def test_only_the_interface_counts_and_swapping_chains_keeps_the_logit():
    longer_b = HAND_B + "LAALKAK"             # residues 28-34 face nothing on the 28-residue chain a
    truth = synthetic.binder_truth(HAND_A, longer_b)
    assert truth.logit == pytest.approx(HAND_LOGIT)
    assert truth.important_b.shape == (35,) and not truth.important_b[28:].any()
    assert truth.features["interface_length"] == 28
    swapped = synthetic.binder_truth(HAND_B, HAND_A)
    assert swapped.logit == pytest.approx(HAND_LOGIT)
    assert list(np.flatnonzero(swapped.important_a)) == HAND_IMPORTANT_B


def test_asn_switch_flips_the_pair():
    matched_b = HAND_B[:21] + "N" + HAND_B[22:]          # a position 21: N/A (-1.5) becomes N/N (+1.5)
    before, after = synthetic.binder_truth(HAND_A, HAND_B), synthetic.binder_truth(HAND_A, matched_b)
    assert after.logit - before.logit == pytest.approx(3.0)
    assert before.value < 0.5 < after.value
    # an Asn at a d position has no term; at an a position facing a hydrophobic residue it costs 1.5
    d_asn = synthetic.binder_truth(HAND_A[:3] + "N" + HAND_A[4:], HAND_B)
    assert d_asn.logit == pytest.approx(HAND_LOGIT - 0.5)
    a_asn = synthetic.binder_truth("N" + HAND_A[1:], HAND_B)
    assert a_asn.logit == pytest.approx(HAND_LOGIT - 0.5 - 1.5)


def test_like_charges_lower_the_logit():
    acidic = ("LAALEAE" * 4)
    basic = ("LAALKAK" * 4)
    designed = synthetic.binder_truth(acidic, basic)
    like = synthetic.binder_truth(acidic, acidic)
    # 4 core a + 4 core d = +4.0; 3 g->e' pairs per direction = 6 pairs of +-0.6
    assert designed.logit == pytest.approx(-3.0 + 4.0 + 6 * 0.6)
    assert like.logit == pytest.approx(-3.0 + 4.0 - 6 * 0.6)
    assert like.value < 0.5 < designed.value
    assert synthetic.binder_truth(basic.replace("K", "R"), basic).logit == pytest.approx(like.logit)
    assert synthetic.binder_truth(acidic.replace("E", "D"), basic).logit == pytest.approx(designed.logit)


def test_generator_balance_lengths_and_determinism():
    pairs = synthetic.generate_binder_pairs(600, seed=3)
    assert pairs == synthetic.generate_binder_pairs(600, seed=3)
    lengths = np.array([(len(a), len(b)) for a, b in pairs])
    assert lengths.min() >= 24 and lengths.max() <= 48
    assert 0.4 < np.mean(lengths[:, 0] == lengths[:, 1]) < 0.9          # both same and different lengths
    assert set(np.unique(lengths)) >= {24, 48}
    letters = set("".join(a + b for a, b in pairs))
    assert letters <= set(synthetic.PROTEIN_LETTERS)
    p = synthetic.binder_probability(pairs)
    assert p.shape == (600,) and p.dtype == np.float32
    assert 0.3 < np.mean(p > 0.5) < 0.7
    assert np.mean((p > 0.1) & (p < 0.9)) > 0.2                          # spread, not only 0 and 1
    np.testing.assert_allclose(synthetic.binder_logit(pairs[:5]), [t.logit for t in synthetic.binder_truths(pairs[:5])])


def test_roc_auc_rank_formula():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.5)     # ties share their rank
    assert roc_auc([1, 1, 0], [3, 2, 1]) == pytest.approx(1.0)


def test_examples_are_valid_and_state_the_truth():
    examples = pair_examples("binder")
    assert 2 <= len(examples) <= 3
    for example in examples:
        for chain in (example.chain_a, example.chain_b):
            assert 24 <= len(chain) <= 48 and set(chain) <= set(synthetic.PROTEIN_LETTERS)
        truth = synthetic.binder_truth(example.chain_a, example.chain_b)
        assert f"binding probability {truth.value:.3f}" in example.description
    values = [synthetic.binder_truth(e.chain_a, e.chain_b).value for e in examples]
    assert values[0] > 0.5 > values[1]


# ----------------------------------------------------------------------------- the trained predictor

@pytest.fixture(scope="module")
def binder():
    return sc.load_predictor("binder")


@needs_binder
def test_loads_as_a_pair_builtin(binder):
    assert binder.is_pair and binder.name == "binder" and binder.output_kind == "sigmoid"
    assert binder.alphabet.letters == "ACDEFGHIKLMNPQRSTVWY"
    assert (binder.min_length, binder.max_length) == (24, 48)
    assert "binder" in sc.list_predictors()
    assert binder.card["metrics_held_out"]["roc_auc_vs_true_label"] >= 0.95
    assert binder.card["metrics_held_out"]["pearson_r_logit_vs_true_logit"] >= 0.9


@needs_binder
def test_auc_on_fresh_pairs(binder):
    pairs = synthetic.generate_binder_pairs(1000, seed=2024)
    truth = synthetic.binder_probability(pairs)
    predicted = binder.predict(pairs)
    assert predicted.shape == (1000,)
    assert roc_auc(truth > 0.5, predicted) >= 0.93
    assert np.mean((predicted > 0.5) == (truth > 0.5)) >= 0.85


@needs_binder
def test_one_tuple_swapped_chains_and_examples(binder):
    examples = pair_examples("binder")
    one = binder.predict((examples[0].chain_a, examples[0].chain_b))
    assert one.shape == (1,) and one[0] > 0.5
    pairs = [(e.chain_a, e.chain_b) for e in examples]
    np.testing.assert_allclose(binder.predict(pairs), binder.predict([(b, a) for a, b in pairs]), atol=1e-5)
    assert binder.predict([pairs[1]])[0] < 0.5


@needs_binder
@pytest.mark.parametrize("chain_a, chain_b, words", [
    ("LAALEAX" * 4, "LAALKAK" * 4, ["pair #2 chain a", "'X' at position 7"]),
    ("LAALEAE" * 4, "LAALKAB" * 4, ["pair #2 chain b", "'B' at position 7"]),
    ("LAALEAE" * 4, ("LAALKAK" * 4)[:23], ["pair #2 chain b", "23 residues", "24-48"]),
    (("LAALEAE" * 7)[:49], "LAALKAK" * 4, ["pair #2 chain a", "49 residues", "24-48"]),
])
def test_bad_pairs_raise_a_clear_error(binder, chain_a, chain_b, words):
    good = ("LAALEAE" * 4, "LAALKAK" * 4)
    with pytest.raises(sc.SequenceError) as err:
        binder.predict([good, (chain_a, chain_b)])
    for word in words:
        assert word in str(err.value), str(err.value)


@needs_binder
def test_pair_ism_marks_the_asn_pair(binder):
    from scrambler_core.pair_ism import pair_ism

    example = pair_examples("binder")[0]
    ism_a, ism_b = pair_ism(binder, example.chain_a, example.chain_b)
    assert ism_a.shape == (35, 20) and ism_b.shape == (35, 20)
    asn = example.chain_a.index("N")
    assert ism_a[asn].sum() / 19 < -1.0 and ism_b[asn].sum() / 19 < -1.0      # losing the N-N pair hurts
    surface = [i for i in range(35) if synthetic.HEPTAD[i % 7] in "bcf"]
    assert np.abs(ism_a[surface]).mean() < 0.3 * np.abs(ism_a[asn]).mean()


@needs_binder
def test_cli_predict_pairs_and_refusals(binder, tmp_path, capsys):
    from scrambler_core.cli import main

    examples = pair_examples("binder")
    pairs = tmp_path / "pairs.csv"
    pd.DataFrame({"id": [f"p{k}" for k in range(len(examples))],
                  "sequence_a": [e.chain_a for e in examples],
                  "sequence_b": [e.chain_b for e in examples]}).to_csv(pairs, index=False)
    out = tmp_path / "out.csv"
    assert main(["predict", "--predictor", "binder", "--input", str(pairs), "--output", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table["id"]) == [f"p{k}" for k in range(len(examples))]
    expected = binder.predict(list(zip(table["sequence_a"], table["sequence_b"])))
    np.testing.assert_allclose(table["prediction"], expected, rtol=1e-5)
    assert capsys.readouterr().err.strip().endswith(f"predicted {len(examples)} pairs with binder -> {out}")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,sequence_a,sequence_b\np1,LAALEAE,LAALKAKLAALKAKLAALKAKLAALKAK\n")
    assert main(["predict", "--predictor", "binder", "--input", str(bad), "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: pair #1 chain a has 7 residues") and "\n" not in err, err
    for command in (["attribute", "--method", "ism", "--input", str(pairs), "--output", str(out)],
                    ["benchmark", "--benchmark", "kl", "--output-dir", str(tmp_path / "bench")]):
        assert main([command[0], "--predictor", "binder", *command[1:]]) == 2
        err = capsys.readouterr().err.strip()
        assert "pair predictor" in err and "\n" not in err, err
