"""Continuous-mask ablations (zero mask, continuous mean / zero) and the position channel."""
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


# ---------------------------------------------------------------- standardised score logits (score_norm)

def _logits(scores):
    """Inverse softplus of scores (N, L)."""
    return np.log(np.expm1(np.asarray(scores, np.float64)))


def test_score_norm_starts_at_standardised_logits_and_reads_the_budget(tmp_path):
    net = S.ScramblerModel(16, score_norm="instance", **SMALL)
    net.build((None, 16, 5))
    x = onehot(3, 16, seed=4)
    logits = _logits(net(net.network_input(x, np.array([0.1, 0.5, 1.5]))).numpy())
    # gamma 1, beta 0 at the start: every sequence's logits have mean 0 and spread 1, whatever the budget
    np.testing.assert_allclose(logits.mean(1), 0.0, atol=1e-4)
    np.testing.assert_allclose(logits.std(1), 1.0, atol=1e-3)
    # beta = gain * (w_t t + w_log log t + b): set w_t only and the mean logit is gain * w_t * t, by hand
    kernel, bias = net.score_affine.get_weights()
    kernel[0, 1] = 0.01
    net.score_affine.set_weights([kernel, bias])
    budgets = np.array([0.1, 0.5, 1.5])
    shifted = _logits(net(net.network_input(x, budgets)).numpy())
    from scrambler_core.scrambler.network import SCORE_AFFINE_GAIN
    np.testing.assert_allclose(shifted.mean(1), SCORE_AFFINE_GAIN * 0.01 * budgets, atol=1e-4)
    np.testing.assert_allclose(shifted - shifted.mean(1, keepdims=True), logits, atol=1e-4)
    # saved and read back as .keras: the same scores
    net.save(tmp_path / "normed.keras")
    again = keras.saving.load_model(tmp_path / "normed.keras")
    assert again.score_norm == "instance"
    np.testing.assert_allclose(again(again.network_input(x, budgets)).numpy(),
                               net(net.network_input(x, budgets)).numpy(), rtol=1e-5, atol=1e-6)


def test_score_norm_fixed_budget_trains_and_rejects_unknown_values():
    with pytest.raises(ValueError, match="score_norm must be 'none' or 'instance', got 'layer'"):
        S.ScramblerModel(16, score_norm="layer", **SMALL)
    predictor = linear_predictor(weights=((5, 1, 3.0),))
    x = onehot(64, 12, seed=3)
    scrambler, history = S.train_scrambler(predictor, x, epochs=1, bits_conditioned=False, target_bits=0.5,
                                           network_options={**SMALL, "score_norm": "instance"}, log=lambda m: None)
    scores = scrambler.scores(x[:4])
    assert scores.shape == (4, 12) and np.isfinite(scores).all() and (scores > 0).all()
    assert np.isfinite(history[0]["loss"])


def test_score_norm_network_starts_from_a_plain_scrambler_with_its_ranking(tmp_path):
    predictor = linear_predictor()
    plain, _ = S.train_scrambler(predictor, onehot(64, 12), epochs=1, bits_schedule=(), network_options=SMALL,
                                 log=lambda m: None)
    plain.save(tmp_path / "plain.keras")
    net = S.ScramblerModel(12, score_norm="instance", **SMALL)
    net.build((None, 12, 5))
    _initialise_from(net, tmp_path / "plain.keras")
    x, budgets = onehot(3, 12, seed=9), np.array([0.2, 0.6, 1.2])
    before = _logits(plain.network(plain.network.network_input(x, budgets)).numpy())
    after = _logits(net(net.network_input(x, budgets)).numpy())
    standardised = (before - before.mean(1, keepdims=True)) / before.std(1, keepdims=True)
    np.testing.assert_allclose(after, standardised, atol=1e-3)
