"""Pair (siamese / joint) scramblers and the concatenated pair predictor."""
import numpy as np
import pytest

import keras

import scrambler_core as sc
from scrambler_core import attribution
from scrambler_core import scrambler as S
from scrambler_core.scrambler.train import _initialise_from
from scrambler_core.predictors import ConcatenatedPair, PairPredictor, as_single_input
from scrambler_core.sequences import PROTEIN, SequenceError


from toymodels import SMALL, linear_predictor, onehot

# ---------------------------------------------------------------- pairs

def pair_predictor(symmetric=False):
    """A two-input model: probability = sigmoid(2 #A in chain a at 1-4 - 2 #A in chain b) (no GRU).

    ``symmetric``: sigmoid(2 #A in chain a at 1-4 + 2 #A in chain b at 1-4 - 3) (a siamese scrambler
    sees one chain at a time, so it can only explain a predictor that treats both chains alike).
    """
    size, length = PROTEIN.size, 10
    a = keras.Input((length, size))
    b = keras.Input((length, size))
    count_a = keras.ops.sum(a[:, :4, 0], axis=1, keepdims=True)
    if symmetric:
        count_b = keras.ops.sum(b[:, :4, 0], axis=1, keepdims=True)
        out = keras.layers.Activation("sigmoid")(2.0 * count_a + 2.0 * count_b - 3.0)
    else:
        count_b = keras.ops.sum(b[:, :, 0], axis=1, keepdims=True)
        out = keras.layers.Activation("sigmoid")(2.0 * count_a - 2.0 * count_b)
    return PairPredictor(keras.Model([a, b], out), name="toypair", alphabet=PROTEIN, max_length=length, min_length=3)


def test_concatenated_pair_encodes_splits_and_predicts():
    pred = pair_predictor()
    wrapped = as_single_input(pred)
    assert isinstance(wrapped, ConcatenatedPair) and as_single_input(pred) is wrapped
    x = wrapped.to_onehot([("AAC", "CCCCA"), ("CAAAAD", "DDD")])
    assert x.shape == (2, 20, 20)
    assert x[0, 3:10].sum() == 0 and x[0, 15:].sum() == 0          # padding rows are zero
    assert wrapped.sequences(x) == [("AAC", "CCCCA"), ("CAAAAD", "DDD")]
    np.testing.assert_array_equal(wrapped.lengths(x), [[3, 5], [6, 3]])
    expected = 1 / (1 + np.exp(-np.array([2 * 2 - 2 * 1, 2 * 3 - 0])))
    np.testing.assert_allclose(wrapped.predict([("AAC", "CCCCA"), ("CAAAAD", "DDD")]), expected, rtol=1e-5)
    np.testing.assert_allclose(pred.predict([("AAC", "CCCCA")]), expected[:1], rtol=1e-5)
    with pytest.raises(SequenceError, match="pair #1 chain b has 2 residues"):
        wrapped.to_onehot([("AAC", "CC")])


@pytest.mark.parametrize("architecture", ["siamese", "joint"])
def test_pair_scrambler_padding_and_architecture(architecture):
    pred = pair_predictor()
    x = as_single_input(pred).to_onehot([("AAACD", "CCCCA"), ("AAACD", "AAAAAAAAA")])
    wide = dict(SMALL, width=5, dilations=(4,))       # sees 16 positions either side: across the chains
    net = S.ScramblerModel(20, "protein", architecture=architecture, **wide)
    scr = S.Scrambler(net, pred)
    ex = scr.explain(x, target_bits=1.0, n_samples=8)
    assert ex.chain_length == 10
    imp_a, imp_b = ex.chains(ex.importance)
    assert (imp_a[:, 5:] == 0).all() and (imp_b[0, 5:] == 0).all() and (imp_b[1, 9:] == 0).all()
    assert (ex.samples[0, :, 5:10] == 0).all() and (ex.samples[0, :, 15:] == 0).all()
    assert (ex.samples[0, :, :5].sum(-1) == 1).all()
    assert (ex.pwm[0, 5:10] == 0).all()
    # the conservation mean counts residues only
    present = x.sum(-1) > 0
    np.testing.assert_allclose(ex.conservation, [ex.per_position_bits[i][present[i]].mean() for i in range(2)],
                               rtol=1e-5)
    assert ex.sample_sequences(0)[0].count("/") == 1 and len(ex.sample_sequences(0)[0]) == 11
    # siamese: chain a's scores do not depend on chain b; joint: they may
    same_a = imp_a[0], imp_a[1]
    if architecture == "siamese":
        np.testing.assert_allclose(*same_a, rtol=1e-5)
    else:
        assert not np.allclose(*same_a)


def test_pair_scramblers_refuse_the_wrong_kind_of_predictor():
    with pytest.raises(sc.ModelFileError, match="siamese scrambler cannot explain predictor 'toy'"):
        S.Scrambler(S.ScramblerModel(12, architecture="siamese", **SMALL), linear_predictor())
    with pytest.raises(sc.ModelFileError, match="single scrambler cannot explain predictor 'toypair'"):
        S.Scrambler(S.ScramblerModel(20, "protein", **SMALL), pair_predictor())


def test_training_a_siamese_pair_scrambler_and_saving_it(tmp_path):
    pred = pair_predictor(symmetric=True)
    rng = np.random.default_rng(0)
    letters = PROTEIN.letters
    pairs = [("".join(rng.choice(list(letters), size=int(rng.integers(5, 11)))),
              "".join(rng.choice(list(letters), size=int(rng.integers(4, 11))))) for _ in range(512)]
    pairs = [("AAA" + a[3:], b) if k % 2 else (a, b) for k, (a, b) in enumerate(pairs)]
    scr, history = S.train_scrambler(pred, pairs, epochs=4, bits_schedule=(), learning_rate=3e-3, penalty_weight=20.0,
                                     architecture="siamese", network_options=SMALL, seed=0, log=lambda m: None)
    assert scr.network.architecture == "siamese" and scr.is_pair
    assert history[-1]["prediction_loss"] < history[0]["prediction_loss"]
    ex = scr.explain([("AAACDEF", "CDEFG")], target_bits=1.0)
    assert abs(ex.mean_sample_prediction[0] - ex.prediction[0]) < 0.1
    assert abs(ex.conservation[0] - 1.0) < 0.3
    scr.save(tmp_path / "pair.keras")
    loaded = sc.load_scrambler(str(tmp_path / "pair.keras"), predictor=pred)
    assert loaded.network.architecture == "siamese" and loaded.network.alphabet.letters == PROTEIN.letters
    np.testing.assert_allclose(loaded.scores([("AAACDEF", "CDEFG")], target_bits=1.0), ex.importance, rtol=1e-5)
    with pytest.raises(ValueError, match="architecture must be one of siamese, joint"):
        S.train_scrambler(pred, pairs[:32], epochs=1, architecture="tripod", log=lambda m: None)
    with pytest.raises(ValueError, match="only for pair predictors"):
        S.train_scrambler(linear_predictor(), onehot(32, 12), epochs=1, architecture="joint", log=lambda m: None)


def test_attribute_accepts_pairs_and_ism_skips_padding():
    pred = pair_predictor()
    imp, info = sc.attribute(pred, [("AAC", "CCCCA")], "ism", return_info=True)
    assert imp.shape == (1, 20, 20)
    # 8 residues x 19 substitutions + the original
    assert info["predictor_calls"] == 1 + 8 * 19
    assert imp[0, 3:10].sum() == 0 and imp[0, 15:].sum() == 0
    # A at 0..2 of chain a raise the logit by 2 each (mutating one lowers it by 2): ISM scores it +2, positive
    # meaning the letter raises the output, like the gradient methods
    np.testing.assert_allclose(imp[0, :2, 0], 2.0, rtol=1e-4)
    grads = sc.attribute(pred, [("AAC", "CCCCA")], "saliency")
    assert grads.shape == (1, 20, 20)
    with pytest.raises(ValueError, match="deeplift is not available for pair predictors"):
        sc.attribute(pred, [("AAC", "CCCCA")], "deeplift")
