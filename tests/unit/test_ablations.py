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
