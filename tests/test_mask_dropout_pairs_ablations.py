"""Issue 7 core: mask dropout, inference templates, pair (siamese / joint) scramblers, continuous-mask ablations."""
import numpy as np
import pytest

import keras

import scrambler_core as sc
from scrambler_core import attribution
from scrambler_core import scrambler as S
from scrambler_core.scrambler.train import _initialise_from
from scrambler_core.predictors import ConcatenatedPair, PairPredictor, as_single_input
from scrambler_core.sequences import PROTEIN, SequenceError


def onehot(n, length, seed=0, size=4):
    rng = np.random.default_rng(seed)
    return np.eye(size, dtype=np.float32)[rng.integers(0, size, size=(n, length))]


def linear_predictor(length=12, weights=((3, 0, 2.0), (8, 2, 2.0))):
    """Regression that reads only the given (position, letter, weight) terms."""
    inputs = keras.Input((length, 4))
    out = keras.layers.Dense(1)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, out)
    kernel = np.zeros((length * 4, 1), np.float32)
    for position, letter, weight in weights:
        kernel[position * 4 + letter] = weight
    model.layers[-1].set_weights([kernel, np.zeros(1, np.float32)])
    return sc.Predictor(model, name="toy", alphabet="dna", output_kind="regression")


SMALL = dict(groups=1, blocks=1, dilations=(1,), channels=8)


# ---------------------------------------------------------------- drop masks

def test_random_drop_masks_are_binary_blocky_and_bounded():
    rng = np.random.default_rng(0)
    masks = S.random_drop_masks(2000, 60, rng, max_rate=0.5, keep_all=0.25)
    assert masks.shape == (2000, 60) and masks.dtype == np.float32
    assert set(np.unique(masks)) <= {0.0, 1.0}
    untouched = (masks == 1).all(1).mean()
    assert 0.25 <= untouched <= 0.45            # a quarter forced whole, plus low-rate draws
    dropped = 1 - masks.mean()
    assert 0.05 < dropped < 0.3                  # rate U(0, 0.5) split over three scales
    # blocks of 5 exist: some example has 5 consecutive zeros aligned to a multiple of 5
    assert any(((m.reshape(12, 5) == 0).all(1)).any() for m in masks)
    assert (S.random_drop_masks(10, 60, rng, max_rate=0.0, keep_all=0.0) == 1).all()


def test_biased_drop_masks_follow_the_scores():
    rng = np.random.default_rng(1)
    scores = np.zeros((400, 40))
    scores[:, 10] = 5.0                           # the network's favourite position
    masks = S.biased_drop_masks(scores, rng, keep_all=0.0, scales=(1,))
    assert (masks[:, 10] == 0).mean() > 0.95
    assert (masks[:, 30] == 0).mean() < 0.05
    present = np.ones((400, 40), bool)
    present[:, 10] = False                        # padding is never drawn
    masks = S.biased_drop_masks(scores, rng, keep_all=0.0, scales=(1,), present=present)
    assert (masks[:, 10] == 1).all()


@pytest.mark.parametrize("text, expected_zero", [
    ("3-5", [2, 3, 4]), ("3..5, 9", [2, 3, 4, 8]), ("5-3;1", [0, 2, 3, 4]), ("", []), ("10", [9])])
def test_drop_mask_from_ranges(text, expected_zero):
    mask = S.drop_mask_from_ranges(text, 10)
    assert np.flatnonzero(mask == 0).tolist() == expected_zero


@pytest.mark.parametrize("text, message", [
    ("3-x", "cannot read '3-x'"), ("0-2", r"outside 1-10"), ("4-11", "outside 1-10"), ("1-2-3", "cannot read")])
def test_drop_mask_from_ranges_refuses(text, message):
    with pytest.raises(ValueError, match=message):
        S.drop_mask_from_ranges(text, 10)


# ---------------------------------------------------------------- mask-dropout network

def test_drop_channel_zeroes_scores_and_sets_background_or_keeps_letter():
    x = onehot(2, 12)
    bg = np.full((12, 4), 0.25, np.float32)
    for mode in ("inclusion", "occlusion"):
        net = S.ScramblerModel(12, mode=mode, mask_dropout=True, background=bg, **SMALL)
        drop = np.ones((2, 12), np.float32)
        drop[:, 4:7] = 0
        scores = net(net.network_input(x, np.full(2, 0.5), drop)).numpy()
        assert (scores[:, 4:7] == 0).all() and (scores[:, :4] > 0).all()
        pwm = net.pwm(x, scores).numpy()
        if mode == "inclusion":      # dropped -> background
            np.testing.assert_allclose(pwm[:, 4:7], 0.25, atol=1e-6)
        else:                        # dropped -> cannot be scrambled: the observed letter
            np.testing.assert_allclose(pwm[:, 4:7], x[:, 4:7], atol=1e-6)
    assert net.n_condition_channels == 2


def test_initialising_a_dropout_network_from_a_plain_one_keeps_its_scores(tmp_path):
    predictor = linear_predictor()
    x = onehot(64, 12)
    plain, _ = S.train_scrambler(predictor, x, epochs=1, bits_schedule=(), network_options=SMALL, log=lambda m: None)
    plain.save(tmp_path / "plain.keras")
    grown = S.ScramblerModel(12, mask_dropout=True, **SMALL)
    grown.build((None, 12, 6))
    _initialise_from(grown, tmp_path / "plain.keras")
    x_test = onehot(5, 12, seed=3)
    before = plain.network(plain.network.network_input(x_test, np.full(5, 0.7))).numpy()
    after = grown(grown.network_input(x_test, np.full(5, 0.7))).numpy()
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)
    wrong = S.ScramblerModel(12, **dict(SMALL, channels=4))
    wrong.build((None, 12, 5))
    with pytest.raises(sc.ModelFileError, match="not a scrambler of the same shape"):
        _initialise_from(wrong, tmp_path / "plain.keras")


def test_drop_is_refused_by_a_plain_scrambler_and_checked_for_shape():
    predictor = linear_predictor()
    scrambler = S.Scrambler(S.ScramblerModel(12, mask_dropout=True, **SMALL), predictor)
    x = onehot(3, 12)
    drop = np.ones(12, np.float32)
    drop[[3, 8]] = 0
    ex = scrambler.explain(x, target_bits=0.5, drop=drop, n_samples=64)
    assert (ex.importance[:, [3, 8]] == 0).all() and (ex.importance[:, [0, 5]] > 0).all()
    np.testing.assert_array_equal(ex.drop, np.broadcast_to(drop, (3, 12)))
    np.testing.assert_allclose(scrambler.scores(x, target_bits=0.5, drop=drop), ex.importance, rtol=1e-5)
    assert scrambler.explain(x, target_bits=0.5).drop is None
    with pytest.raises(ValueError, match=r"expected \(3, 12\)"):
        scrambler.explain(x, drop=np.ones((3, 11)))
    with pytest.raises(ValueError, match="only 0"):
        scrambler.explain(x, drop=np.full(12, 0.5))
    plain = S.Scrambler(S.ScramblerModel(12, **SMALL), predictor)
    with pytest.raises(ValueError, match="not trained with mask dropout.*dropout=True"):
        plain.explain(x, drop=np.ones(12))


# ---------------------------------------------------------------- templates at inference

def test_inference_template_fixes_letters_scores_samples_and_bits():
    predictor = linear_predictor()
    net = S.ScramblerModel(12, **SMALL)
    scr = S.Scrambler(net, predictor)
    x = onehot(2, 12, seed=4)
    x[:, :3] = np.eye(4, dtype=np.float32)[[2, 0, 3]]             # both start with GAT
    template = "GAT" + "N" * 9
    ex = scr.explain(x, target_bits=0.5, template=template, n_samples=16)
    assert (ex.importance[:, :3] == 0).all()
    assert ex.fixed.tolist() == [True] * 3 + [False] * 9
    assert (ex.samples[:, :, :3].argmax(-1) == np.array([2, 0, 3])).all()
    plain = scr.explain(x, target_bits=0.5, n_samples=16)
    # the mean over free positions only: the same per-position bits averaged over 9, not 12
    np.testing.assert_allclose(ex.conservation, ex.per_position_bits[:, 3:].mean(1), rtol=1e-5)
    assert not plain.fixed.any()
    np.testing.assert_allclose(scr.scores(x, target_bits=0.5, template=template)[:, :3], 0)
    with pytest.raises(ValueError, match="sequence 1 has .* at position 1 but the template fixes 'C'"):
        scr.explain(x, template="C" + "N" * 11)
    with pytest.raises(ValueError, match="template has length 5, expected 12"):
        scr.explain(x, template="GATNN")


def test_conservation_with_per_example_weights():
    bg = np.full((3, 4), 0.25, np.float32)
    pwm = np.array([[[1, 0, 0, 0], [0.5, 0.5, 0, 0], [0.25] * 4]] * 2, np.float32)
    weights = np.array([[1, 1, 0], [1, 0, 0]], np.float32)
    _, mean = S.conservation(pwm, bg, weights)
    np.testing.assert_allclose(mean.numpy(), [1.5, 2.0], atol=1e-5)


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


# ---------------------------------------------------------------- continuous-mask ablations

@pytest.mark.parametrize("method", list(attribution.ABLATION_METHODS) + ["scrambler_optimized"])
def test_ablation_methods_find_the_only_feature(method):
    predictor = linear_predictor(weights=((5, 1, 3.0),))      # reads C at position 5 only
    x = onehot(4, 12, seed=2)
    x[:, 5] = [0, 1, 0, 0]
    imp, info = sc.attribute(predictor, x, method, steps=150, return_info=True)
    assert imp.shape == (4, 12, 4)
    assert (np.abs(imp).sum(-1).argmax(1) == 5).all(), np.abs(imp).sum(-1).round(2)
    per_input = 1 if method in ("continuous_mean", "continuous_zero", "zero_mask") else 32
    assert info["predictor_calls"] == 4 * (1 + per_input * 150)


def test_continuous_mean_feeds_the_blend_not_samples():
    """With one input per step the prediction term is exact: the loss of the blend, no sampling noise."""
    predictor = linear_predictor(weights=((5, 1, 3.0),))
    x = onehot(2, 12, seed=2)
    x[:, 5] = [0, 1, 0, 0]
    a, _ = sc.attribute(predictor, x, "continuous_mean", steps=50, seed=0, return_info=True)
    b, _ = sc.attribute(predictor, x, "continuous_mean", steps=50, seed=1, return_info=True)
    # seeds only change the initial scores, and both runs converge to the same ranking
    assert (np.abs(a).sum(-1).argmax(1) == np.abs(b).sum(-1).argmax(1)).all()
    with pytest.raises(ValueError, match="continuous_mean does not take n_samples"):
        sc.attribute(predictor, x, "continuous_mean", n_samples=4)


def test_position_channel_is_a_ramp_and_starts_neutral_from_a_plain_scrambler(tmp_path):
    predictor = linear_predictor()
    plain, _ = S.train_scrambler(predictor, onehot(64, 12), epochs=1, bits_schedule=(), network_options=SMALL,
                                 log=lambda m: None)
    plain.save(tmp_path / "plain.keras")
    net = S.ScramblerModel(12, position_channel=True, mask_dropout=True, **SMALL)
    assert net.n_condition_channels == 3
    x = onehot(3, 12, seed=9)
    inputs = net.network_input(x, np.full(3, 0.4), np.ones((3, 12))).numpy()
    assert inputs.shape == (3, 12, 7)
    np.testing.assert_allclose(inputs[0, :, -1], np.linspace(0, 1, 12), atol=1e-6)
    np.testing.assert_allclose(inputs[:, :, 4], 0.4, atol=1e-6)          # bits, then drop, then position
    net.build((None, 12, 7))
    _initialise_from(net, tmp_path / "plain.keras")
    before = plain.network(plain.network.network_input(x, np.full(3, 0.4))).numpy()
    np.testing.assert_allclose(net(net.network_input(x, np.full(3, 0.4))).numpy(), before, rtol=1e-5, atol=1e-6)
    assert S.ScramblerModel.from_config(net.get_config()).position_channel
