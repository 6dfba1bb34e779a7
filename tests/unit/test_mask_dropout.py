"""Mask dropout (method §7): drop masks, the drop channel, and inference templates that fix letters."""
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
