"""Attribution methods on toy models with hand-computed answers, and on the built-ins."""
import numpy as np
import pytest

from scrambler_core import runtime  # noqa: F401
import keras

from scrambler_core import attribution
from scrambler_core.attribution import METHODS, attribute, dinucleotide_shuffle, method_options, position_scores
from scrambler_core.paths import PRETRAINED_DIR
from scrambler_core.predictors import Predictor, load_predictor

L, A = 6, 4
rng = np.random.default_rng(0)
WEIGHTS = rng.normal(0, 1, (L, A)).astype(np.float32)
BIAS = 0.3


def linear_predictor(weights=WEIGHTS, kind="regression"):
    """f(x) = sum(W * x) + b (regression) or sigmoid of it."""
    inputs = keras.Input((weights.shape[0], A))
    flat = keras.layers.Flatten()(inputs)
    dense = keras.layers.Dense(1, activation="sigmoid" if kind == "sigmoid" else None)
    model = keras.Model(inputs, dense(flat))
    dense.set_weights([weights.reshape(-1, 1), np.array([BIAS], np.float32)])
    return Predictor(model, name=f"linear_{kind}", alphabet="dna", output_kind=kind)


def onehot(n, length=L, seed=1):
    r = np.random.default_rng(seed)
    return np.eye(A, dtype=np.float32)[r.integers(0, A, (n, length))]


def hidden_layer_predictor():
    r = np.random.default_rng(3)
    inputs = keras.Input((L, A))
    h = keras.layers.Dense(5, activation="relu")(keras.layers.Flatten()(inputs))
    out = keras.layers.Dense(1)(h)
    model = keras.Model(inputs, out)
    model.set_weights([r.normal(0, 0.7, w.shape).astype(np.float32) for w in model.get_weights()])
    return Predictor(model, name="mlp", alphabet="dna", output_kind="regression")


needs_pretrained = pytest.mark.skipif(not (PRETRAINED_DIR / "utr5_inclusion.keras").exists(),
                                      reason="pretrained utr5 scrambler absent in this checkout")


# ------------------------------------------------------------------ hand-computed cases

def test_ism_on_a_linear_model_is_the_weight_difference():
    pred = linear_predictor()
    x = onehot(3)
    importance, info = attribute(pred, x, "ism", return_info=True)
    observed = (x * WEIGHTS).sum(-1, keepdims=True)                    # W[j, obs_j]
    expected_changes = np.where(x == 0, WEIGHTS[None] - observed, 0.0)
    np.testing.assert_allclose(info["changes"], expected_changes, atol=1e-5)
    # positive = the observed letter raises the output: W[j, obs] - mean of the other letters' weights
    expected_scores = -expected_changes.sum(-1) / (A - 1)
    np.testing.assert_allclose(importance, x * expected_scores[..., None], atol=1e-5)
    # the same sign as gradient x input on a linear model, position by position
    gxi = attribute(pred, x, "gradient_x_input").sum(-1)
    centred = gxi - (WEIGHTS.sum(-1) - (x * WEIGHTS).sum(-1)) / (A - 1)
    np.testing.assert_allclose(importance.sum(-1), centred, atol=1e-5)
    assert info["predictor_calls"] == 3 * (1 + L * (A - 1))


def test_ism_explains_the_logit_of_a_sigmoid_model():
    pred = linear_predictor(kind="sigmoid")
    x = onehot(2)
    _, info = attribute(pred, x, "ism", return_info=True)
    observed = (x * WEIGHTS).sum(-1, keepdims=True)
    np.testing.assert_allclose(info["changes"], np.where(x == 0, WEIGHTS[None] - observed, 0.0), atol=1e-4)


@pytest.mark.parametrize("kind", ["regression", "sigmoid"])
def test_gradients_of_a_linear_model(kind):
    pred = linear_predictor(kind=kind)
    x = onehot(4)
    np.testing.assert_allclose(attribute(pred, x, "saliency"), np.broadcast_to(WEIGHTS, x.shape), atol=1e-5)
    np.testing.assert_allclose(attribute(pred, x, "gradient_x_input"), x * WEIGHTS, atol=1e-5)


def test_integrated_gradients_and_deeplift_are_exact_on_a_linear_model():
    pred = linear_predictor()
    x = onehot(4)
    baseline = np.full((L, A), 0.25, np.float32)
    expected = (x - baseline) * WEIGHTS
    ig, info = attribute(pred, x, "integrated_gradients", baseline=baseline, steps=5, return_info=True)
    np.testing.assert_allclose(ig, expected, atol=1e-5)
    assert np.abs(info["completeness_error"]).max() < 1e-4
    dl, info = attribute(pred, x, "deeplift", baseline=baseline, return_info=True)
    np.testing.assert_allclose(dl, expected, atol=1e-5)
    np.testing.assert_allclose(info["delta"], expected.sum((1, 2)), atol=1e-4)


def test_deepshap_averages_deeplift_over_given_references():
    pred = linear_predictor()
    x = onehot(3)
    references = onehot(5, seed=9)
    shap = attribute(pred, x, "deepshap", references=references)
    expected = np.mean([(x - r) * WEIGHTS for r in references], axis=0)
    np.testing.assert_allclose(shap, expected, atol=1e-5)


def test_deepshap_reads_a_3d_array_as_shared_references_even_when_r_equals_n():
    pred = linear_predictor()
    x = onehot(3)
    references = onehot(3, seed=9)                    # R == N: still shared by every input
    shap, info = attribute(pred, x, "deepshap", references=references, return_info=True)
    # by hand for sequence 0: mean over the 3 references of (x0 - r) * W
    by_hand = ((x[0] - references[0]) * WEIGHTS + (x[0] - references[1]) * WEIGHTS
               + (x[0] - references[2]) * WEIGHTS) / 3
    np.testing.assert_allclose(shap[0], by_hand, atol=1e-5)
    assert not np.allclose(shap[0], (x[0] - references[0]) * WEIGHTS, atol=1e-3)
    assert info["n_references"] == 3
    y_refs = pred.predict(references).mean()
    np.testing.assert_allclose(info["delta"], pred.predict(x) - y_refs, atol=1e-4)


def test_deepshap_takes_references_per_sequence_as_4d():
    pred = linear_predictor()
    x = onehot(2)
    references = np.stack([onehot(2, seed=4), onehot(2, seed=5)])       # (N=2, R=2, L, A)
    shap, info = attribute(pred, x, "deepshap", references=references, return_info=True)
    for i in range(2):
        np.testing.assert_allclose(shap[i], np.mean([(x[i] - r) * WEIGHTS for r in references[i]], axis=0),
                                   atol=1e-5)
    assert info["n_references"] == 2


@pytest.mark.parametrize("references, message", [
    ("uniform", "references must be 'shuffle' or an array"),
    (np.zeros((2, L + 1, A)), r"expected \(R, L, A\)"),
    (np.zeros((3, 2, L, A)), r"\(N, R, L, A\) with N = 2"),
    (np.zeros((0, L, A)), "references has shape"),
])
def test_deepshap_refuses_references_of_the_wrong_shape(references, message):
    with pytest.raises(ValueError, match=message):
        attribute(linear_predictor(), onehot(2), "deepshap", references=references)


def test_integrated_gradients_completeness_on_a_relu_network():
    pred = hidden_layer_predictor()
    x = onehot(6)
    _, coarse = attribute(pred, x, "integrated_gradients", steps=4, return_info=True)
    ig, fine = attribute(pred, x, "integrated_gradients", steps=256, return_info=True)
    assert np.abs(fine["completeness_error"]).max() < 1e-2
    assert np.abs(fine["completeness_error"]).max() <= np.abs(coarse["completeness_error"]).max() + 1e-6
    # DeepLIFT obeys summation-to-delta exactly on the same network
    dl, info = attribute(pred, x, "deeplift", return_info=True)
    y = pred.predict(x)
    y0 = pred.predict(np.broadcast_to(np.full((L, A), 0.25, np.float32), x.shape).copy())
    np.testing.assert_allclose(dl.sum((1, 2)), y - y0, atol=1e-4)


def test_shuffle_baseline_and_deepshap_defaults_run():
    pred = hidden_layer_predictor()
    x = onehot(2, length=L)
    ig = attribute(pred, x, "integrated_gradients", baseline="shuffle", n_references=3, steps=8)
    shap, info = attribute(pred, x, "deepshap", n_references=4, return_info=True)
    assert ig.shape == shap.shape == x.shape
    assert info["predictor_calls"] == 2 * 2 * 4


# ------------------------------------------------------------------ dinucleotide shuffle

def _dinucleotide_counts(letters):
    counts = np.zeros((A, A), int)
    for a, b in zip(letters[:-1], letters[1:]):
        counts[a, b] += 1
    return counts


def test_dinucleotide_shuffle_keeps_dinucleotide_counts():
    x = onehot(1, length=120, seed=4)[0]
    shuffles = dinucleotide_shuffle(x, n_shuffles=5, seed=1)
    letters = x.argmax(-1)
    assert shuffles.shape == (5, 120, A)
    for s in shuffles:
        s_letters = s.argmax(-1)
        assert (_dinucleotide_counts(s_letters) == _dinucleotide_counts(letters)).all()
        assert s_letters[0] == letters[0] and s_letters[-1] == letters[-1]
    assert any((s.argmax(-1) != letters).any() for s in shuffles)
    np.testing.assert_array_equal(shuffles, dinucleotide_shuffle(x, n_shuffles=5, seed=1))
    assert dinucleotide_shuffle(onehot(3, 30), 2).shape == (3, 2, 30, A)


# ------------------------------------------------------------------ scrambler methods

def test_optimised_scrambler_finds_the_one_position_that_matters():
    weights = np.zeros((L, A), np.float32)
    weights[2] = [0.0, 4.0, 0.0, -4.0]
    pred = linear_predictor(weights)
    x = onehot(4, seed=5)
    x[:, 2] = [0, 1, 0, 0]                                           # C at position 2: f = 4.3
    importance, info = attribute(pred, x, "scrambler_optimized", steps=150, penalty_weight=2.0, n_samples=16,
                                 return_info=True)
    scores = info["scores"]
    assert (scores.argmax(1) == 2).all()
    assert (scores[:, 2] > 3 * np.delete(scores, 2, axis=1).max(1)).all()
    np.testing.assert_allclose(importance, x * scores[..., None])
    assert info["predictor_calls"] == 4 * (1 + 16 * 150)


@needs_pretrained
def test_scrambler_methods_on_utr5():
    pred = load_predictor("utr5")
    from scrambler_core import synthetic
    seqs, starts, _ = synthetic.generate_uorf_set(4, 1, 1, seed=3)
    x = pred.to_onehot(seqs)
    importance, info = attribute(pred, x, "scrambler", target_bits=0.25, n_samples=32, return_info=True)
    np.testing.assert_allclose(position_scores(importance), info["explanation"].importance, rtol=1e-6)
    assert (importance[x == 0] == 0).all()
    assert info["predictor_calls"] == 4 * 33
    # the default is the scores alone: one pass of the network, no predictor call, same numbers
    scores_only, info0 = attribute(pred, x, "scrambler", target_bits=0.25, return_info=True)
    np.testing.assert_allclose(scores_only, importance, rtol=1e-5, atol=1e-6)
    assert info0["predictor_calls"] == 0 and "explanation" not in info0
    pretrained = info["explanation"].importance
    tuned, tinfo = attribute(pred, x, "scrambler_finetuned", start_bits=0.25, steps=5, return_info=True)
    # fine-tuning can only lower the (clipped) pretrained scores
    assert (tinfo["scores"] <= np.clip(pretrained, 0, 4) + 1e-5).all()
    # the uAUG letters are among the 6 top-scoring positions of the pretrained scrambler
    top6 = np.argsort(-pretrained, 1)[:, :6]
    assert all({s, s + 1, s + 2} <= set(t.tolist()) for s, t in zip(starts[:, 0], top6))


# ------------------------------------------------------------------ the dispatcher

def test_every_method_is_listed_with_options():
    assert set(METHODS) == set(attribution._FUNCTIONS)
    assert method_options("integrated_gradients")["steps"] == 50
    assert method_options("deepshap")["n_references"] == 20
    assert method_options("scrambler_optimized")["steps"] == 300
    for method in METHODS:
        assert {"batch_size", "seed"} <= set(method_options(method))


def test_unknown_method_and_option_are_refused():
    pred = linear_predictor()
    with pytest.raises(ValueError, match="unknown attribution method 'gradcam'"):
        attribute(pred, onehot(1), "gradcam")
    with pytest.raises(ValueError, match="ism does not take steps"):
        attribute(pred, onehot(1), "ism", steps=3)
    with pytest.raises(ValueError, match="baseline has shape"):
        attribute(pred, onehot(1), "integrated_gradients", baseline=np.zeros((3, 4)))


def test_every_method_reports_cost_on_a_builtin():
    pred = load_predictor("utr5")
    x = pred.to_onehot(["ATG" + "C" * 47, "GCGCATGAAATAGC" + "A" * 36])
    fast = {"integrated_gradients": {"steps": 4}, "deepshap": {"n_references": 2},
            "scrambler_optimized": {"steps": 3, "n_samples": 4}, "scrambler_finetuned": {"steps": 3, "n_samples": 4}}
    methods = METHODS if (PRETRAINED_DIR / "utr5_inclusion.keras").exists() else \
        [m for m in METHODS if not m.startswith("scrambler")]
    for method in methods:
        importance, info = attribute(pred, x, method, return_info=True, **fast.get(method, {}))
        assert importance.shape == (2, 50, 4) and importance.dtype == np.float32
        assert np.isfinite(importance).all()
        assert info["predictor_calls"] >= (0 if method == "scrambler" else 2) and info["seconds"] > 0
        assert info["calls_per_sequence"] == info["predictor_calls"] / 2
