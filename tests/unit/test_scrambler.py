"""Scrambler maths (PSSM, conservation, sampling, losses) and a tiny trained scrambler."""
import math

import numpy as np
import pytest

import scrambler_core as sc
from scrambler_core import scrambler as S

import keras
import tensorflow as tf

RNG = np.random.default_rng(0)


def random_onehot(n, length, seed=0):
    rng = np.random.default_rng(seed)
    return np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(n, length))]


def test_zero_scores_give_background_exactly():
    x = random_onehot(3, 7)
    bg = np.random.default_rng(1).dirichlet(np.ones(4), size=7).astype(np.float32)
    for mode in ("inclusion",):
        pwm = S.pwm_from_scores(x, np.zeros((3, 7)), bg, mode).numpy()
        np.testing.assert_allclose(pwm, np.broadcast_to(bg, pwm.shape), atol=1e-6)
    # occlusion: very large scores randomise -> background
    pwm = S.pwm_from_scores(x, np.full((3, 7), 1e6), bg, "occlusion").numpy()
    np.testing.assert_allclose(pwm, np.broadcast_to(bg, pwm.shape), atol=1e-5)


def test_large_inclusion_scores_give_the_input_and_small_occlusion_scores_too():
    x = random_onehot(2, 9)
    bg = np.full((9, 4), 0.25, np.float32)
    np.testing.assert_allclose(S.pwm_from_scores(x, np.full((2, 9), 50.0), bg, "inclusion").numpy(), x, atol=1e-6)
    np.testing.assert_allclose(S.pwm_from_scores(x, np.full((2, 9), 1e-3), bg, "occlusion").numpy(), x, atol=1e-6)


def test_inclusion_pwm_formula_by_hand():
    x = np.array([[[1, 0, 0, 0]]], np.float32)
    bg = np.array([[0.1, 0.2, 0.3, 0.4]], np.float32)
    s = 1.5
    logits = np.array([s, -s, -s, -s]) + np.log(bg[0])
    expected = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(S.pwm_from_scores(x, [[s]], bg).numpy()[0, 0], expected, rtol=1e-5)
    logits = np.array([1, -1, -1, -1]) / s + np.log(bg[0])
    expected = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(S.pwm_from_scores(x, [[s]], bg, "occlusion").numpy()[0, 0], expected, rtol=1e-5)


def test_conservation_by_hand():
    bg = np.full((3, 4), 0.25, np.float32)
    pwm = np.array([[[1, 0, 0, 0], [0.5, 0.5, 0, 0], [0.25, 0.25, 0.25, 0.25]]], np.float32)
    per_position, mean = S.conservation(pwm, bg)
    np.testing.assert_allclose(per_position.numpy()[0], [2.0, 1.0, 0.0], atol=1e-5)
    assert mean.numpy()[0] == pytest.approx(1.0, abs=1e-5)
    # non-uniform background: KL(p || bg) in bits
    bg2 = np.array([[0.7, 0.1, 0.1, 0.1]], np.float32)
    p = np.array([[[0.4, 0.3, 0.2, 0.1]]], np.float32)
    expected = sum(pi * math.log2(pi / qi) for pi, qi in zip(p[0, 0], bg2[0]))
    assert S.conservation(p, bg2)[1].numpy()[0] == pytest.approx(expected, rel=1e-5)
    # fixed positions are left out of the mean
    free = np.array([[1.0], [0.0], [1.0]], np.float32)
    assert S.conservation(pwm, bg, free)[1].numpy()[0] == pytest.approx(1.0, abs=1e-5)


def test_sampler_frequencies_match_the_pwm():
    pwm = np.array([[[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1]]], np.float32)
    soft, hard = S.sample_pwm(pwm, 20000, tf.constant([3, 4]))
    hard = hard.numpy()
    assert hard.shape == (1, 20000, 2, 4)
    np.testing.assert_array_equal(hard.sum(-1), 1.0)
    freq = hard.mean(axis=1)[0]
    # 4 standard errors of a binomial proportion
    tolerance = 4 * np.sqrt(pwm[0] * (1 - pwm[0]) / 20000)
    assert np.all(np.abs(freq - pwm[0]) < tolerance)
    # straight-through forwards the hard sample
    np.testing.assert_allclose(soft.numpy(), hard, atol=1e-6)


def test_straight_through_gradient_is_the_pwm_gradient():
    pwm = tf.Variable([[[0.1, 0.2, 0.3, 0.4]]])
    weights = tf.constant([1.0, 2.0, 3.0, 4.0])
    with tf.GradientTape() as tape:
        samples, _ = S.sample_pwm(pwm, 8, tf.constant([0, 1]))
        value = tf.reduce_sum(samples * weights)
    np.testing.assert_allclose(tape.gradient(value, pwm).numpy()[0, 0], 8 * weights.numpy())


def test_gumbel_samples_are_soft_and_argmax_is_the_hard_sample():
    pwm = np.array([[[0.1, 0.2, 0.3, 0.4]] * 5], np.float32)
    soft, hard = S.sample_pwm(pwm, 16, tf.constant([5, 6]), sampler="gumbel")
    soft = soft.numpy()
    np.testing.assert_allclose(soft.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(np.eye(4)[soft.argmax(-1)], hard.numpy())


def test_prediction_losses_by_hand():
    y = tf.constant([[0.8]])
    q = tf.constant([[[0.6]]])
    kl = 0.8 * math.log(0.8 / 0.6) + 0.2 * math.log(0.2 / 0.4) + 0.6 * math.log(0.6 / 0.8) + 0.4 * math.log(0.4 / 0.2)
    assert S.prediction_loss(y, q, "sigmoid").numpy()[0, 0] == pytest.approx(kl, rel=1e-5)
    assert S.prediction_loss(y, q, "sigmoid", "occlusion").numpy()[0, 0] == pytest.approx(-math.log(0.4), rel=1e-5)
    assert S.prediction_loss(y, q, "sigmoid", objective="maximize").numpy()[0, 0] == pytest.approx(-math.log(0.6))
    assert S.prediction_loss(tf.constant([[3.0]]), tf.constant([[[1.0]]]), "regression").numpy()[0, 0] == 4.0
    assert S.prediction_loss(tf.constant([[3.0]]), tf.constant([[[1.0]]]), "regression", "occlusion").numpy()[0, 0] == -4.0
    ys = tf.constant([[0.7, 0.2, 0.1]])
    qs = tf.constant([[[0.5, 0.25, 0.25]]])
    expected = sum(a * math.log(a / b) for a, b in zip([0.7, 0.2, 0.1], [0.5, 0.25, 0.25]))
    assert S.prediction_loss(ys, qs, "softmax").numpy()[0, 0] == pytest.approx(expected, rel=1e-5)


def test_penalties():
    m, t = tf.constant([0.8, 0.2]), tf.constant([0.5, 0.5])
    np.testing.assert_allclose(S.conservation_penalty(m, t, 2.0).numpy(), [0.18, 0.18], rtol=1e-5)
    np.testing.assert_allclose(S.conservation_penalty(m, t, 2.0, "hinge").numpy(), [0.6, 0.0], rtol=1e-5)


def test_template_fixes_positions():
    free, offset = S.template_arrays("NNAN", "dna", 4)
    np.testing.assert_array_equal(free[:, 0], [1, 1, 0, 1])
    x = random_onehot(1, 4)
    pwm = S.pwm_from_scores(x, np.zeros((1, 4)), np.full((4, 4), 0.25, np.float32), "inclusion", free, offset)
    assert pwm.numpy()[0, 2, 0] > 0.999          # the fixed A
    with pytest.raises(ValueError, match="position 3"):
        S.template_arrays("NNZN", "dna", 4)


def test_background_from_sequences_uses_pseudocounts():
    x = np.eye(4, dtype=np.float32)[[[0, 1], [0, 2], [0, 3]]]
    bg = S.background_from_sequences(x)
    np.testing.assert_allclose(bg[0], [4 / 7, 1 / 7, 1 / 7, 1 / 7], rtol=1e-6)
    np.testing.assert_allclose(bg[1], [1 / 7, 2 / 7, 2 / 7, 2 / 7], rtol=1e-6)


# ---------------------------------------------------------------- a tiny trained scrambler

def toy_predictor(length=12):
    """Linear regression that reads only A at position 3 and G at position 8."""
    inputs = keras.Input((length, 4))
    out = keras.layers.Dense(1)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, out)
    kernel = np.zeros((length * 4, 1), np.float32)
    kernel[3 * 4 + 0] = 2.0
    kernel[8 * 4 + 2] = 2.0
    model.layers[-1].set_weights([kernel, np.zeros(1, np.float32)])
    return sc.Predictor(model, name="toy", alphabet="dna", output_kind="regression")


@pytest.fixture(scope="module")
def toy_scrambler():
    predictor = toy_predictor()
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(1024, 12))]
    x[:512, 3] = [1, 0, 0, 0]
    x[:512, 8] = [0, 0, 1, 0]
    x = x[rng.permutation(1024)]
    scrambler, history = S.train_scrambler(
        predictor, x, epochs=8, bits_schedule=(), learning_rate=3e-3, penalty_weight=20.0,
        network_options=dict(groups=1, blocks=2, dilations=(1,), channels=16), seed=0, log=lambda m: None)
    return predictor, scrambler, history


def test_tiny_scrambler_keeps_prediction_better_than_background(toy_scrambler):
    predictor, scrambler, _ = toy_scrambler
    seqs = ["CCCACCCCGCCC", "TTTATTTTGTTT", "AAAAAAAAGAAA"]
    ex = scrambler.explain(seqs, target_bits=0.4, n_samples=64, seed=1)
    scrambler_error = np.abs(ex.sample_predictions - ex.prediction[:, None]).mean()
    bg = scrambler.background
    rng = np.random.default_rng(2)
    background_samples = np.stack([np.eye(4, dtype=np.float32)[[rng.choice(4, p=row / row.sum()) for row in bg]]
                                   for _ in range(64)])
    background_error = np.abs(predictor.predict(background_samples)[None] - ex.prediction[:, None]).mean()
    assert scrambler_error < 0.5 * background_error
    # the two positions the predictor reads carry the highest scores
    top2 = np.sort(np.argsort(-ex.importance, axis=1)[:, :2], axis=1)
    assert (top2 == [3, 8]).all(axis=1).mean() >= 2 / 3


def test_tiny_bits_conditioned_scrambler_tracks_targets(toy_scrambler):
    _, scrambler, _ = toy_scrambler
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(5).integers(0, 4, size=(64, 12))]
    realised = [scrambler.explain(x, target_bits=t, n_samples=2).conservation.mean() for t in (0.2, 0.6, 1.2)]
    assert realised[0] < realised[1] < realised[2]
    assert abs(realised[1] - 0.6) < 0.25


def test_explain_shapes_seed_and_round_trip(toy_scrambler, tmp_path):
    predictor, scrambler, _ = toy_scrambler
    seqs = ["ACGTACGTACGT", "TTTTAAAACCCC"]
    ex = scrambler.explain(seqs, target_bits=0.5, n_samples=8, seed=3)
    assert ex.importance.shape == (2, 12) and (ex.importance >= 0).all()
    assert ex.pwm.shape == (2, 12, 4)
    np.testing.assert_allclose(ex.pwm.sum(-1), 1.0, atol=1e-5)
    assert ex.samples.shape == (2, 8, 12, 4)
    np.testing.assert_array_equal(ex.samples.sum(-1), 1.0)
    assert ex.sample_predictions.shape == (2, 8) and ex.prediction.shape == (2,) and ex.conservation.shape == (2,)
    np.testing.assert_allclose(ex.prediction, predictor.predict(seqs), rtol=1e-5)
    np.testing.assert_allclose(ex.sample_predictions[0], predictor.predict(ex.samples[0]), rtol=1e-5, atol=1e-6)
    again = scrambler.explain(seqs, target_bits=0.5, n_samples=8, seed=3)
    np.testing.assert_array_equal(ex.samples, again.samples)
    other = scrambler.explain(seqs, target_bits=0.5, n_samples=8, seed=4)
    assert not np.array_equal(ex.samples, other.samples)
    path = tmp_path / "toy_inclusion.keras"
    scrambler.save(path, {"kind": "scrambler"})
    loaded = sc.load_scrambler(str(path), predictor=predictor)
    assert isinstance(loaded.network, sc.ScramblerModel)
    assert loaded.network.get_config()["mode"] == "inclusion"
    np.testing.assert_allclose(loaded.explain(seqs, target_bits=0.5, n_samples=8, seed=3).importance,
                               ex.importance, rtol=1e-6)
    with pytest.raises(ValueError, match="outside"):
        scrambler.explain(seqs, target_bits=3.0)
    with pytest.raises(sc.SequenceError, match="position 2"):
        scrambler.explain(["AXGTACGTACGT"])


def test_checkpoint_resume_continues_training(tmp_path):
    predictor = toy_predictor()
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, size=(128, 12))]
    options = dict(bits_schedule=(), network_options=dict(groups=1, blocks=1, dilations=(1,), channels=8),
                   checkpoint=tmp_path / "ckpt", log=lambda m: None, n_samples=4)
    _, history = S.train_scrambler(predictor, x, epochs=1, **options)
    assert len(history) == 1
    messages = []
    _, history = S.train_scrambler(predictor, x, epochs=2, **{**options, "log": messages.append})
    assert [h["epoch"] for h in history] == [1, 2]
    assert any("resumed" in m for m in messages)


def test_calibration_makes_realised_bits_follow_requests(toy_scrambler, tmp_path):
    predictor, scrambler, _ = toy_scrambler
    rng = np.random.default_rng(11)
    x_cal = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(128, 12))]
    x_check = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(128, 12))]
    try:
        calibration = S.calibrate_bits(scrambler, x_cal)
        assert np.all(np.diff(calibration["requested"]) > 0)
        low, high = calibration["requested"][0], calibration["requested"][-1]
        for target in np.linspace(max(low, 0.3), min(high, 1.5), 4):
            realised = scrambler.explain(x_check, target_bits=float(target), n_samples=1).conservation.mean()
            assert abs(realised - target) < 0.1
        # the map is saved with the network
        path = tmp_path / "calibrated.keras"
        scrambler.save(path)
        loaded = sc.load_scrambler(str(path), predictor=predictor)
        assert loaded.network.bits_calibration == calibration
    finally:
        scrambler.network.bits_calibration = None


def test_n_is_refused_unless_allowed_and_then_filled_with_background(toy_scrambler):
    _, scrambler, _ = toy_scrambler
    with pytest.raises(sc.SequenceError, match="'N' at position 5"):
        scrambler.explain(["ACGTNCGTACGT"])
    ex = scrambler.explain(["ACGTNCGTACGT"], target_bits=0.5, n_samples=4, allow_n=True)
    assert ex.importance.shape == (1, 12)
    x = scrambler.predictor.to_onehot(["ACGTNCGTACGT"], allow_n=True, background=scrambler.background)
    np.testing.assert_allclose(x[0, 4], scrambler.background[4], rtol=1e-6)


def test_fixed_budget_network_starts_exactly_where_the_bits_conditioned_source_stands(toy_scrambler, tmp_path):
    predictor, scrambler, _ = toy_scrambler
    source = tmp_path / "conditioned.keras"
    scrambler.save(source)
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(8).integers(0, 4, size=(16, 12))]
    fixed, history = S.train_scrambler(
        predictor, x, epochs=0, bits_conditioned=False, target_bits=0.4, init_from=source, bits_schedule=(),
        network_options=dict(groups=1, blocks=2, dilations=(1,), channels=16), log=lambda m: None)
    assert history == [] and not fixed.network.bits_conditioned
    np.testing.assert_allclose(fixed.scores(x), scrambler.scores(x, target_bits=0.4), rtol=1e-5, atol=1e-6)
    assert not np.allclose(fixed.scores(x), scrambler.scores(x, target_bits=1.2), atol=1e-3)


def test_closed_inframe_uorf_by_hand():
    from scrambler_core.scrambler.recipes import closed_inframe_uorf
    clean = "C" * 50
    atg_at_2 = clean[:2] + "ATG" + clean[5:]
    cases = {
        atg_at_2: False,                                          # extension: no stop
        atg_at_2[:11] + "TAA" + atg_at_2[14:]: True,              # stop at 11 (11 % 3 == 2), downstream
        atg_at_2[:12] + "TAA" + atg_at_2[15:]: False,             # stop out of frame
        clean[:3] + "ATG" + clean[6:9] + "TAG" + clean[12:]: False,   # uAUG out of frame (3 % 3 == 0)
        clean[:2] + "TGA" + clean[5:20] + "ATG" + clean[23:]: False,  # stop upstream of the uAUG only
    }
    assert [bool(v) for v in closed_inframe_uorf(list(cases))] == list(cases.values())


def test_uaug_tails_keep_in_frame_uaugs_only_and_split_by_prediction():
    from scrambler_core.scrambler.recipes import _trimer_starts, closed_inframe_uorf, uaug_tails
    # a stand-in predictor: a closed in-frame uORF lowers the output, so the low tail holds them
    seqs, stats = uaug_tails(lambda s: 1.0 - closed_inframe_uorf(s) + 0.01 * np.arange(len(s)) / len(s), 200, seed=3)
    assert len(seqs) == 200 and stats["pool"] == 600
    atg = _trimer_starts(seqs, ("ATG",))
    frame = (np.arange(atg.shape[1]) % 3) == 2
    assert (atg & frame).any(1).all() and not (atg & ~frame).any()
    assert stats["low_closed_uorf"] == 1.0 and stats["high_closed_uorf"] == 0.0
    assert 0.1 < stats["pool_closed_uorf"] < 0.6
    again, _ = uaug_tails(lambda s: 1.0 - closed_inframe_uorf(s), 200, seed=3)
    assert again[:5] == uaug_tails(lambda s: 1.0 - closed_inframe_uorf(s), 200, seed=3)[0][:5]
    # min_uaugs=2 (utr5 stage 2, Table D's 2-start setting): two or more in-frame ATGs, none out of frame
    multi, multi_stats = uaug_tails(lambda s: 1.0 - closed_inframe_uorf(s), 100, seed=3, min_uaugs=2)
    atg = _trimer_starts(multi, ("ATG",))
    assert len(multi) == 100 and ((atg & frame).sum(1) >= 2).all() and not (atg & ~frame).any()
    assert multi_stats["low_closed_uorf"] == 1.0 and multi_stats["high_closed_uorf"] == 0.0


def test_training_ends_on_the_epoch_with_the_best_selection_score(tmp_path):
    predictor = toy_predictor()
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, size=(64, 12))]
    snapshots, scores = [], iter([0.5, 0.9, 0.7])         # epoch 2 is the best

    def validation_fn(scr):
        snapshots.append(scr.network.get_weights())
        return {"selection_score": next(scores)}

    options = dict(bits_schedule=(), network_options=dict(groups=1, blocks=1, dilations=(1,), channels=8),
                   n_samples=4, learning_rate=1e-2, log=lambda m: None)
    scr, history = S.train_scrambler(predictor, x, epochs=3, validation_fn=validation_fn, **options)
    assert [h["selection_score"] for h in history] == [0.5, 0.9, 0.7]
    for kept, epoch2, last in zip(scr.network.get_weights(), snapshots[1], snapshots[2]):
        np.testing.assert_array_equal(kept, epoch2)
    assert not all(np.array_equal(a, b) for a, b in zip(snapshots[1], snapshots[2]))
    # with a checkpoint the kept weights survive a resume
    snapshots.clear()
    scores = iter([0.9, 0.1, 0.2])
    ckpt = tmp_path / "ckpt"
    S.train_scrambler(predictor, x, epochs=2, validation_fn=validation_fn, checkpoint=ckpt, **options)
    resumed, _ = S.train_scrambler(predictor, x, epochs=3, validation_fn=validation_fn, checkpoint=ckpt, **options)
    for kept, epoch1 in zip(resumed.network.get_weights(), snapshots[0]):
        np.testing.assert_allclose(kept, epoch1)


def test_a_later_stage_trains_on_new_inputs_with_data_seed_offset():
    """``data_seed_offset`` (APARENT2's stage 2): new training inputs, the same held-out and calibration ones."""
    from scrambler_core.scrambler.recipes import _scrambler_training_data
    predictor = sc.load_predictor("utr5")
    plain = _scrambler_training_data(predictor, predictor, {}, None, 32, seed=0)
    moved = _scrambler_training_data(predictor, predictor, {"data_seed_offset": 1000}, None, 32, seed=0)
    assert moved[3]["data_seed_offset"] == 1000 and "data_seed_offset" not in plain[3]
    assert not any(np.array_equal(a, b) for a, b in zip(plain[0], moved[0]))        # no training input repeats
    np.testing.assert_array_equal(plain[1], moved[1])                                # held-out inputs unchanged
    np.testing.assert_array_equal(plain[2], moved[2])                                # calibration inputs unchanged
    shifted = _scrambler_training_data(predictor, predictor, {}, None, 32, seed=1000)
    np.testing.assert_array_equal(shifted[0], moved[0])                              # seed + offset
