"""The KL benchmark's keep-set inside training: the straight-through top-k mask, its samples, the kept counts,
and the ranking (distillation) loss of ``train_scrambler(ranking_targets=...)``."""
import numpy as np
import pytest

import tensorflow as tf

from scrambler_core import scrambler as S
from scrambler_core.scrambler.maths import draw_keep_counts, keep_set_mask, keep_set_samples
from scrambler_core.scrambler.train import ranking_loss


def test_keep_set_mask_keeps_each_rows_top_k_by_hand():
    scores = np.array([[5.0, 1.0, 3.0, 0.5, 2.0],
                       [0.1, 0.2, 0.3, 0.4, 0.5]], np.float32)
    mask = keep_set_mask(scores, np.array([2, 3])).numpy()
    np.testing.assert_array_equal(mask, [[1, 0, 1, 0, 0], [0, 0, 1, 1, 1]])


def test_keep_set_mask_gradient_raises_a_score_whose_keeping_lowers_the_loss():
    scores = tf.Variable(np.array([[5.0, 1.0, 3.0, 0.5, 2.0]], np.float32))
    upstream = np.array([[1.0, -1.0, 2.0, -2.0, 1.0]], np.float32)     # d loss / d mask, negated
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(keep_set_mask(scores, np.array([2])) * upstream)
    grad = tape.gradient(value, scores).numpy()
    assert (np.sign(grad) == np.sign(upstream)).all()
    # the steepest at the boundary: positions 2 (kept, 3.0) and 4 (dropped, 2.0) are the k-th and (k+1)-th
    steepness = np.abs(grad / upstream * scores.numpy())[0]          # d mask / d log score
    assert steepness[[2, 4]].min() > steepness[[0, 1, 3]].max()


def test_keep_set_samples_keep_the_mask_and_draw_the_rest_from_the_background():
    x = np.eye(4, dtype=np.float32)[[[0, 1, 2]]]                   # A C G
    background = np.array([[0.7, 0.1, 0.1, 0.1]] * 3, np.float32)
    mask = tf.constant([[1.0, 0.0, 1.0]])
    samples = keep_set_samples(x, mask, background, 4000, tf.constant([1, 2])).numpy()
    assert samples.shape == (1, 4000, 3, 4)
    np.testing.assert_array_equal(samples[0, :, 0], np.broadcast_to(x[0, 0], (4000, 4)))
    np.testing.assert_array_equal(samples[0, :, 2], np.broadcast_to(x[0, 2], (4000, 4)))
    np.testing.assert_allclose(samples[0, :, 1].mean(0), background[1], atol=0.03)
    assert set(np.unique(samples)) == {0.0, 1.0}


def test_keep_counts_are_the_benchmarks_rounded_fractions():
    counts = draw_keep_counts(np.random.default_rng(0), 400, 205)
    assert set(counts.tolist()) == {4, 10, 20, 41}          # round(0.02, 0.05, 0.1, 0.2 x 205)
    assert set(draw_keep_counts(np.random.default_rng(0), 50, 3, (0.01, 0.99)).tolist()) == {1, 2}


def test_ranking_loss_by_hand_and_blind_to_scale():
    targets = np.array([[0.0, 1.0, 2.0, 5.0]], np.float32)
    assert float(ranking_loss(np.exp(3.0 * targets - 2.0), targets)) == pytest.approx(0.0, abs=1e-5)
    # log scores (0, 1) against targets (1, 0): standardised (-1, 1) vs (1, -1): mean square 4
    assert float(ranking_loss(np.exp([[0.0, 1.0]]), np.array([[1.0, 0.0]]))) == pytest.approx(4.0, rel=1e-4)


def _linear_predictor(length=8):
    import keras
    import scrambler_core as sc
    inputs = keras.Input((length, 4))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs)))
    kernel = np.zeros((length * 4, 1), np.float32)
    kernel[2 * 4] = 2.0
    model.layers[-1].set_weights([kernel, np.zeros(1, np.float32)])
    return sc.Predictor(model, name="linear", alphabet="dna", output_kind="regression")


def test_training_learns_given_rankings_and_checks_their_shape():
    predictor = _linear_predictor()
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, size=(256, 8))]
    targets = np.tile(-np.abs(np.arange(8) - 6.0), (256, 1)).astype(np.float32)   # position 6 first
    options = dict(bits_schedule=(), network_options=dict(groups=1, blocks=1, dilations=(1,), channels=8),
                   n_samples=4, learning_rate=1e-2, log=lambda m: None, seed=0)
    with pytest.raises(ValueError, match=r"ranking_targets must have shape \(N, L\) = \(256, 8\), got \(256, 7\)"):
        S.train_scrambler(predictor, x, epochs=1, ranking_targets=targets[:, :7], **options)
    _, history = S.train_scrambler(predictor, x, epochs=4, ranking_targets=targets, ranking_weight=5.0,
                                   **options)
    assert history[-1]["ranking_loss"] < 0.5 * history[0]["ranking_loss"]


@pytest.mark.parametrize("options, message", [
    (dict(keep_set_weight=1.0, mode="occlusion"), "keep_set_weight is for inclusion scramblers"),
    (dict(keep_set_weight=1.0, ranking_targets=np.zeros((16, 8), np.float32)), "not both"),
])
def test_extra_terms_refuse_what_they_cannot_do(options, message):
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, size=(16, 8))]
    with pytest.raises(ValueError, match=message):
        S.train_scrambler(_linear_predictor(), x, epochs=1, log=lambda m: None, **options)


def test_ranking_targets_refuse_pair_predictors():
    import scrambler_core as sc
    pair = sc.load_predictor("binder")
    seqs = [("LEKKLAEL", "KEELKAKL")] * 4
    with pytest.raises(ValueError, match="ranking_targets is for scramblers of single-sequence predictors"):
        S.train_scrambler(pair, seqs, epochs=1, ranking_targets=np.zeros((4, 96), np.float32), log=lambda m: None)


def test_keep_set_training_reports_its_term():
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, size=(64, 8))]
    _, history = S.train_scrambler(_linear_predictor(), x, epochs=2, bits_schedule=(), keep_set_weight=1.0,
                                   keep_set_fractions=[0.25], n_samples=4, keep_set_samples=4,
                                   network_options=dict(groups=1, blocks=1, dilations=(1,), channels=8),
                                   log=lambda m: None)
    assert all(h["keep_set_loss"] > 0 for h in history) and "ranking_loss" not in history[0]


def test_rank_targets_by_hand():
    from scrambler_core.scrambler.train import rank_targets
    targets = rank_targets(np.array([[0.5, 3.0, 1.0], [2.0, 1.0, 0.0]]))
    np.testing.assert_allclose(targets, -np.log([[3.0, 1.0, 2.0], [1.0, 2.0, 3.0]]), rtol=1e-6)
    assert targets.dtype == np.float32


def test_teacher_rankings_rank_positions_by_the_methods_scores():
    import keras
    import scrambler_core as sc
    from scrambler_core.scrambler.recipes import teacher_rankings
    from scrambler_core.scrambler.train import rank_targets

    weights = np.array([0.0, 1.0, 3.0, -2.0, 0.5], np.float32)      # on letter A at each position
    inputs = keras.Input((5, 4))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs)))
    kernel = np.zeros((20, 1), np.float32)
    kernel[0::4, 0] = weights
    model.layers[-1].set_weights([kernel, np.zeros(1, np.float32)])
    predictor = sc.Predictor(model, name="linear", alphabet="dna", output_kind="regression")
    x = np.zeros((3, 5, 4), np.float32)
    x[..., 0] = 1.0                                                  # AAAAA: ISM's change at j is -weights[j]
    expected = rank_targets(np.tile(np.abs(weights), (3, 1)))        # positions 2, 3, 1, 4, 0
    np.testing.assert_array_equal(teacher_rankings(predictor, x, ["ism"]), expected)
    # a blend of two methods that agree (saliency: |gradient| = |weights| on A) ranks the same
    np.testing.assert_array_equal(teacher_rankings(predictor, x, ["ism", "saliency"], batch_size=2), expected)
    with pytest.raises(ValueError, match="at least one attribution method"):
        teacher_rankings(predictor, x, [])


def test_teacher_rankings_start_needs_the_starting_scrambler():
    from scrambler_core.scrambler.recipes import teacher_rankings
    x = np.eye(4, dtype=np.float32)[np.zeros((2, 8), int)]
    with pytest.raises(ValueError, match="'start' needs the stage's starting scrambler"):
        teacher_rankings(_linear_predictor(), x, ["ism", "start"])


class _FixedScrambler:
    """Duck-typed scrambler with fixed scores (what ``keep_set_monitor`` reads)."""

    class network:
        bits_conditioned = False

    def __init__(self, scores):
        self._scores = np.asarray(scores, np.float32)

    def scores(self, x, target_bits=None):
        return np.broadcast_to(self._scores, x.shape[:2])


def test_keep_set_monitor_prefers_the_ranking_that_keeps_what_the_predictor_reads():
    from scrambler_core.evaluation import keep_set_monitor
    predictor = _linear_predictor()                 # reads only letter A at position 2
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(1).integers(0, 4, size=(32, 8))]
    right = keep_set_monitor(_FixedScrambler([0, 0, 9, 0, 0, 0, 0, 0]), predictor, x, fractions=(0.25, 0.125),
                             n_samples=16)
    wrong = keep_set_monitor(_FixedScrambler([9, 8, 0, 7, 6, 5, 4, 3]), predictor, x, fractions=(0.25, 0.125),
                             n_samples=16)
    assert right["monitor"] == {"0.25": 0.0, "0.125": 0.0}     # position 2 kept: every sample predicts as x
    # position 2 redrawn: squared error 4 whenever A and the draw differ on it (about 3/8 of pairs), median > 0
    assert min(wrong["monitor"].values()) > 0.0
    assert right["selection_score"] > wrong["selection_score"]
