"""The predictor's gradient as a scrambler input (ScramblerModel(guide="gradient"), scrambler/guide.py)."""
import numpy as np
import pytest

import keras

import scrambler_core as sc
from scrambler_core import attribution
from scrambler_core import scrambler as S
from scrambler_core.scrambler.guide import (gradient_guide, guide_reference, network_inputs, output_gradient,
                                            signed_gradient_guide)
from scrambler_core.scrambler.network import GUIDE_GAIN
from scrambler_core.scrambler.train import _initialise_from

from toymodels import SMALL, linear_predictor, onehot

WEIGHTS = ((3, 0, 2.0), (8, 2, -4.0), (8, 1, 1.0))


def _hand_guide(length=12):
    """max_a |w[l, a]| over its mean along the sequence, for the linear predictor of WEIGHTS."""
    w = np.zeros((length, 4))
    for position, letter, weight in WEIGHTS:
        w[position, letter] = weight
    g = np.abs(w).max(1)
    return g / g.mean()


def test_gradient_guide_of_a_linear_predictor_is_its_weights_by_hand():
    predictor = linear_predictor(weights=WEIGHTS)
    x = onehot(3, 12, seed=1)
    grads, y = output_gradient(predictor, x)
    np.testing.assert_allclose(y.numpy(), predictor.predict(x), rtol=1e-5)
    np.testing.assert_allclose(grads.numpy()[:, 8, 2], -4.0, rtol=1e-6)
    np.testing.assert_allclose(grads.numpy()[:, 0], 0.0, atol=1e-7)
    guide = gradient_guide(predictor, x).numpy()
    np.testing.assert_allclose(guide, np.tile(_hand_guide(), (3, 1)), rtol=1e-5)   # 12 / 6 at 8, 12 / 6 * 0.5 at 3


def test_guide_of_a_sigmoid_model_is_the_logit_gradient():
    inputs = keras.Input((12, 4))
    logit = keras.layers.Dense(1)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, keras.layers.Activation("sigmoid")(logit))
    kernel = np.zeros((48, 1), np.float32)
    kernel[5 * 4 + 1] = 3.0
    model.layers[2].set_weights([kernel, np.zeros(1, np.float32)])
    predictor = sc.Predictor(model, name="toy_sigmoid", alphabet="dna", output_kind="sigmoid")
    grads, _ = output_gradient(predictor, onehot(2, 12, seed=5))
    np.testing.assert_allclose(grads.numpy()[:, 5, 1], 3.0, rtol=1e-5)    # not 3 p (1 - p): the logit's


def test_guided_network_input_adds_the_log_guide_last_and_requires_it():
    net = S.ScramblerModel(12, guide="gradient", mask_dropout=True, **SMALL)
    assert net.n_condition_channels == 3
    x, guide = onehot(2, 12, seed=3), np.tile(_hand_guide(), (2, 1)).astype(np.float32)
    inputs = net.network_input(x, np.full(2, 0.4), np.ones((2, 12)), guide).numpy()
    assert inputs.shape == (2, 12, 7)
    np.testing.assert_allclose(inputs[..., 4], 0.4, atol=1e-6)              # bits, then drop, then the guide
    np.testing.assert_allclose(inputs[..., 6], GUIDE_GAIN * np.log(guide + 0.01), rtol=1e-5)
    with pytest.raises(ValueError, match="reads the predictor's gradient: pass guide"):
        net.network_input(x, np.full(2, 0.4))
    # a plain network ignores a guide
    plain = S.ScramblerModel(12, **SMALL)
    assert plain.network_input(x, np.full(2, 0.4), None, guide).shape == (2, 12, 5)


@pytest.mark.parametrize("options, message", [
    ({"guide": "saliency"}, "guide must be one of none, gradient, gradient_signed"),
    ({"guide": "gradient_signed", "architecture": "joint"}, "single-input scramblers only"),
    ({"guide": "gradient", "architecture": "siamese"}, "single-input scramblers only"),
])
def test_guide_rejects_unknown_values_and_pairs(options, message):
    with pytest.raises(ValueError, match=message):
        S.ScramblerModel(12, **SMALL, **options)


def test_guided_network_starts_from_a_plain_one_exactly_and_round_trips(tmp_path):
    predictor = linear_predictor(weights=WEIGHTS)
    plain, _ = S.train_scrambler(predictor, onehot(64, 12), epochs=1, bits_schedule=(), network_options=SMALL,
                                 log=lambda m: None)
    plain.save(tmp_path / "plain.keras")
    net = S.ScramblerModel(12, guide="gradient", background=plain.background, **SMALL)
    net.build((None, 12, 4 + net.n_condition_channels))
    _initialise_from(net, tmp_path / "plain.keras")
    guided = S.Scrambler(net, predictor)
    x = onehot(4, 12, seed=9)
    # the guide's input weights start at zero: the same scores as the plain network
    np.testing.assert_allclose(guided.scores(x, target_bits=0.5), plain.scores(x, target_bits=0.5),
                               rtol=1e-4, atol=1e-6)
    kernel = guided.network.input_conv.kernel.numpy()
    assert kernel.shape[1] == 6 and not kernel[:, 5].any()
    guided.save(tmp_path / "guided.keras")
    again = S.load_scrambler(tmp_path / "guided.keras", predictor=predictor)
    assert again.network.guide == "gradient"
    kernel[:, 5] = 0.5                                                        # now the guide matters
    again.network.input_conv.kernel.assign(kernel)
    moved = again.scores(x, target_bits=0.5)
    assert np.abs(moved - plain.scores(x, target_bits=0.5)).max() > 1e-3
    manual = again.network(network_inputs(again.network, predictor, x, np.full(4, 0.5)), training=False).numpy()
    np.testing.assert_allclose(moved, manual, rtol=1e-5, atol=1e-6)


def test_plain_network_starts_from_a_guided_one_without_its_guide_rows(tmp_path):
    """A variant without a guide (mask dropout) transfer-started from a guided scrambler (polya inclusion since
    issue 17's stage 2): the guide's kernel rows are left out, every other row is copied."""
    net = S.ScramblerModel(12, guide="gradient_signed", **SMALL)
    net.build((None, 12, 4 + net.n_condition_channels))
    kernel = np.random.default_rng(0).normal(size=net.input_conv.kernel.shape).astype(np.float32)
    net.input_conv.kernel.assign(kernel)                        # rows: 4 letters, bits, 3 guide channels
    net.save(tmp_path / "guided.keras")
    dropout = S.ScramblerModel(12, mask_dropout=True, **SMALL)
    dropout.build((None, 12, 4 + dropout.n_condition_channels))
    _initialise_from(dropout, tmp_path / "guided.keras")
    copied = dropout.input_conv.kernel.numpy()                  # rows: 4 letters, bits, drop
    np.testing.assert_array_equal(copied[:, :5], kernel[:, :5])
    assert not copied[:, 5].any()


def test_guided_scrambler_trains_explains_and_counts_its_gradient():
    predictor = linear_predictor(weights=WEIGHTS)
    x = onehot(64, 12, seed=6)
    scrambler, history = S.train_scrambler(predictor, x, epochs=1, bits_schedule=(), log=lambda m: None,
                                           network_options={**SMALL, "score_norm": "instance", "guide": "gradient"})
    assert np.isfinite(history[0]["loss"])
    explanation = scrambler.explain(x[:3], target_bits=0.5, n_samples=4, seed=0)
    assert explanation.pwm.shape == (3, 12, 4) and np.isfinite(explanation.importance).all()
    _, info = attribution.attribute(predictor, x[:5], "scrambler", scrambler=scrambler, return_info=True)
    assert info["predictor_calls"] == 5                                       # one gradient per sequence
    _, info = attribution.attribute(predictor, x[:5], "scrambler", scrambler=scrambler, n_samples=2,
                                    return_info=True)
    assert info["predictor_calls"] == 5 + 5 * 3


def _hand_signed_guide(x, reference, background):
    """signed_gradient_guide of the linear predictor of WEIGHTS, by hand: (N, L, 3)."""
    w = np.zeros((12, 4))
    for position, letter, weight in WEIGHTS:
        w[position, letter] = weight
    f = (x * w[None]).sum((1, 2))
    size = np.abs(w).max(1).mean()                                          # (2 + 4) / 12
    contribution = (x * w[None]).sum(-1) - (background * w).sum(-1)[None]   # w[l, obs] - sum_a bg_a w[l, a]
    d = np.sign(f - reference)[:, None] * contribution / size
    return np.stack([np.tile(_hand_guide(), (len(x), 1)), d, np.tile(np.abs(f - reference)[:, None], (1, 12))], -1)


def test_signed_guide_of_a_linear_predictor_by_hand():
    predictor = linear_predictor(weights=WEIGHTS)
    x = onehot(6, 12, seed=4)
    background = np.tile([[0.3, 0.2, 0.2, 0.3]], (12, 1)).astype(np.float32)
    guide = signed_gradient_guide(predictor, x, background, reference=0.5).numpy()
    np.testing.assert_allclose(guide, _hand_signed_guide(x, 0.5, background), rtol=1e-5, atol=1e-6)
    assert guide[..., 1][:, [0, 1, 2, 4, 5, 6, 7, 9, 10, 11]].max() == 0     # positions the model does not read
    assert abs(guide_reference(predictor, x, batch_size=4) - predictor.predict(x).mean()) < 1e-5


def test_signed_network_input_channels_and_shape_checks():
    net = S.ScramblerModel(12, guide="gradient_signed", guide_reference=0.5, **SMALL)
    assert net.n_condition_channels == 4 and net.get_config()["guide_reference"] == 0.5
    x = onehot(2, 12, seed=3)
    guide = _hand_signed_guide(x, 0.5, np.full((12, 4), 0.25)).astype(np.float32)
    inputs = net.network_input(x, np.full(2, 0.4), None, guide).numpy()
    assert inputs.shape == (2, 12, 8)
    np.testing.assert_allclose(inputs[..., 5], GUIDE_GAIN * np.log(guide[..., 0] + 0.01), rtol=1e-5)
    np.testing.assert_allclose(inputs[..., 6], GUIDE_GAIN / 2 * np.arcsinh(guide[..., 1] / 0.01), rtol=1e-5)
    np.testing.assert_allclose(inputs[..., 7], GUIDE_GAIN / 4 * guide[..., 2], rtol=1e-5)
    with pytest.raises(ValueError, match=r"pass guide \(N, L, 3\)"):
        net.network_input(x, np.full(2, 0.4))
    with pytest.raises(ValueError, match=r"guide has shape \(N, L, 3\), got \(2, 12\)"):
        net.network_input(x, np.full(2, 0.4), None, guide[..., 0])


def test_signed_network_starts_from_a_gradient_guided_one_and_trains(tmp_path):
    predictor = linear_predictor(weights=WEIGHTS)
    x = onehot(64, 12, seed=6)
    options = {**SMALL, "score_norm": "instance"}
    guided, _ = S.train_scrambler(predictor, x, epochs=1, bits_schedule=(), log=lambda m: None,
                                  network_options={**options, "guide": "gradient"})
    guided.save(tmp_path / "guided.keras")
    net = S.ScramblerModel(12, guide="gradient_signed", background=guided.background, **options)
    net.build((None, 12, 4 + net.n_condition_channels))
    _initialise_from(net, tmp_path / "guided.keras")
    kernel = net.input_conv.kernel.numpy()
    assert kernel.shape[1] == 8 and not kernel[:, 6:].any()                 # the new channels start at zero
    np.testing.assert_allclose(S.Scrambler(net, predictor).scores(x[:4], target_bits=0.5),
                               guided.scores(x[:4], target_bits=0.5), rtol=1e-4, atol=1e-6)
    signed, history = S.train_scrambler(predictor, x, epochs=1, bits_schedule=(), log=lambda m: None,
                                        init_from=str(tmp_path / "guided.keras"),
                                        network_options={**options, "guide": "gradient_signed"})
    # training sets the reference to its sequences' mean output
    assert signed.network.guide_reference == pytest.approx(float(predictor.predict(x).mean()), abs=1e-5)
    signed.save(tmp_path / "signed.keras")
    again = S.load_scrambler(tmp_path / "signed.keras", predictor=predictor)
    continued = S.ScramblerModel(12, guide="gradient_signed", background=guided.background, **options)
    continued.build((None, 12, 4 + continued.n_condition_channels))
    _initialise_from(continued, tmp_path / "signed.keras")                  # a later stage keeps the reference
    assert continued.guide_reference == signed.network.guide_reference
    assert again.network.guide == "gradient_signed" and again.network.guide_reference == signed.network.guide_reference
    _, info = attribution.attribute(predictor, x[:5], "scrambler", scrambler=again, return_info=True)
    assert info["predictor_calls"] == 5 and np.isfinite(history[0]["loss"])
