"""DeepLIFT (rescale rule): hand-derived values, summation-to-delta, graph handling, refusals."""
import numpy as np
import pytest

from scrambler_core import runtime  # noqa: F401
import keras
from keras import layers

from scrambler_core.deeplift import SUPPORTED_LAYERS, UnsupportedLayerError, deeplift
from scrambler_core.paths import PRETRAINED_DIR
from scrambler_core.predictors import load_predictor

L, A = 50, 4


def onehot(n, length=L, seed=0):
    rng = np.random.default_rng(seed)
    return np.eye(A, dtype=np.float32)[rng.integers(0, A, (n, length))]


def uniform(length=L):
    return np.full((length, A), 0.25, np.float32)


def randomize(model, seed=0):
    """Random weights everywhere (biases too) and non-trivial BatchNorm statistics."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 2.0, c), rng.normal(0, 0.5, c),
                               rng.normal(0, 0.5, c), rng.uniform(0.2, 3.0, c)])
        elif layer.weights:
            layer.set_weights([rng.normal(0, 0.4, w.shape).astype(np.float32) for w in layer.get_weights()])
    return model


def output(model, x, logit=False):
    """Model output (N,), or the pre-sigmoid logit (exact, from the final layer's input)."""
    if not logit:
        return np.asarray(model(x, training=False), dtype=np.float64).reshape(len(x), -1)[:, 0]
    last = model.layers[-1]
    h = np.asarray(keras.Model(model.inputs[0], last.input)(x, training=False), dtype=np.float64)
    if isinstance(last, layers.Dense):
        kernel, bias = last.get_weights()
        h = h @ kernel + bias
    return h.reshape(len(x), -1)[:, 0]


def check_summation(model, x, ref, logit=False, tol=1e-3):
    """Summation-to-delta relative error; also checks delta against the model's own outputs."""
    contrib, delta = deeplift(model, x, ref, logit=logit, return_delta=True)
    assert contrib.shape == x.shape and contrib.dtype == np.float32
    assert delta.shape == (len(x),) and delta.dtype == np.float32
    refs = np.broadcast_to(ref, x.shape)
    expected = output(model, x, logit) - output(model, refs, logit)
    np.testing.assert_allclose(delta, expected, rtol=1e-3, atol=1e-4)
    err = np.abs(contrib.sum(axis=(1, 2)) - delta) / np.maximum(np.abs(delta), 1e-3)
    assert err.max() <= tol, err
    return contrib, delta, err.max()


# ------------------------------------------------------------------ hand-derived values
def test_hand_derived_one_hidden_layer():
    inp = keras.Input((3, 2))
    hidden = layers.Dense(2, activation="relu")
    head = layers.Dense(1)
    model = keras.Model(inp, head(hidden(layers.Flatten()(inp))))
    w = np.array([[2, 0, 0, 1, 1, 0],            # unit 0: z_x = 2, z_ref = 0    -> m = 1
                  [1, 1, -1, -1, 0, 2]], float).T  # unit 1: z_x = -0.5, z_ref = 0.5 -> m = 0.5
    hidden.set_weights([w, np.array([-2.0, -0.5])])
    head.set_weights([np.array([[3.0], [-2.0]]), np.array([0.1])])
    x = np.array([[[1, 0], [0, 1], [1, 0]]], np.float32)
    ref = np.full((3, 2), 0.5, np.float32)
    contrib, delta = deeplift(model, x, ref, return_delta=True)
    # contribution_i = (x_i - r_i) * (w0_i * 1 * 3 + w1_i * 0.5 * -2) = dx_i * (3 w0_i - w1_i)
    expected = np.array([[[2.5, 0.5], [-0.5, 2.0], [1.5, 1.0]]], np.float32)
    np.testing.assert_allclose(contrib, expected, atol=1e-6)
    np.testing.assert_allclose(delta, [7.0], atol=1e-6)  # f(x) = 6.1, f(ref) = -0.9
    # plain gradient x input-difference would give unit 1 zero weight: rescale differs
    assert not np.allclose(contrib, (x - ref) * (3 * w[:, 0]).reshape(3, 2))


def test_equal_preactivation_falls_back_to_local_gradient():
    inp = keras.Input((3, 2))
    dense = layers.Dense(1, activation="tanh")
    model = keras.Model(inp, dense(layers.Flatten()(inp)))
    dense.set_weights([np.array([[1.0], [1.0], [0], [0], [0], [0]]), np.array([0.0])])
    x = np.array([[[1, 0], [0, 1], [1, 0]]], np.float32)
    ref = np.full((3, 2), 0.5, np.float32)  # z_x = z_ref = 1: secant undefined
    contrib = deeplift(model, x, ref)
    slope = 1 - np.tanh(1.0) ** 2
    expected = np.zeros((1, 3, 2), np.float32)
    expected[0, 0] = [0.5 * slope, -0.5 * slope]
    np.testing.assert_allclose(contrib, expected, atol=1e-6)


def test_linear_model_is_weight_times_difference():
    inp = keras.Input((L, A))
    dense = layers.Dense(1)
    model = keras.Model(inp, dense(layers.Flatten()(inp)))
    randomize(model)
    x, ref = onehot(5), uniform()
    contrib = deeplift(model, x, ref)
    w = dense.get_weights()[0].reshape(L, A)
    np.testing.assert_allclose(contrib, w * (x - ref), rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ summation-to-delta
def branched_convnet(seed=0):
    inp = keras.Input((L, A))
    a = layers.Conv1D(8, 5, padding="same", activation="relu")(inp)
    a = layers.BatchNormalization()(a)
    a = layers.MaxPooling1D(2)(a)
    a = layers.Dropout(0.3)(a)
    b = layers.Conv1D(8, 3, padding="same", activation="tanh")(inp)
    b = layers.Activation("softplus")(b)
    b = layers.AveragePooling1D(2)(b)
    s = layers.Add()([a, b])
    c = layers.Concatenate()([s, a])
    h = layers.Dense(16, activation="relu")(layers.Flatten()(c))
    out = layers.Dense(1, activation="sigmoid")(h)
    return randomize(keras.Model(inp, out), seed)


@pytest.mark.parametrize("logit", [True, False])
def test_summation_to_delta_branched_convnet(logit):
    model = branched_convnet()
    x = onehot(8)
    _, delta, _ = check_summation(model, x, uniform(), logit=logit)
    p_x, p_r = output(model, x), output(model, uniform()[None])
    if logit:  # delta is in logit space, not probability space
        logit_delta = np.log(p_x / (1 - p_x)) - np.log(p_r / (1 - p_r))
        np.testing.assert_allclose(delta, logit_delta, rtol=2e-2, atol=1e-3)
        assert np.abs(delta).max() > 1.0 and not np.allclose(delta, p_x - p_r, atol=0.1)
    else:
        np.testing.assert_allclose(delta, p_x - p_r, atol=1e-5)


def test_batching_and_per_example_baselines():
    model = branched_convnet(1)
    x = onehot(8, seed=3)
    single = deeplift(model, x, uniform())
    np.testing.assert_allclose(deeplift(model, x, uniform(), batch_size=3), single, atol=1e-6)
    np.testing.assert_allclose(deeplift(model, x, np.tile(uniform(), (8, 1, 1))), single, atol=1e-6)
    # genuinely different baselines per example: summation still holds for each
    refs = np.random.default_rng(5).dirichlet(np.ones(A), (8, L)).astype(np.float32)
    contrib, delta = deeplift(model, x, refs, return_delta=True)
    expected = output(model, x) - output(model, refs)
    np.testing.assert_allclose(delta, expected, atol=1e-5)
    np.testing.assert_allclose(contrib.sum(axis=(1, 2)), delta, rtol=1e-3, atol=1e-5)


def test_overlapping_maxpool_and_global_maxpool():
    inp = keras.Input((L, A))
    a = layers.LeakyReLU(negative_slope=0.1)(layers.Conv1D(6, 7)(inp))
    a = layers.MaxPooling1D(pool_size=4, strides=1, padding="same")(a)  # windows overlap
    a = layers.Conv1D(6, 3, activation="elu")(a)
    g = layers.GlobalMaxPooling1D()(a)
    m = layers.GlobalAveragePooling1D()(a)
    out = layers.Dense(1)(layers.Concatenate()([g, m]))
    model = randomize(keras.Model(inp, out), 2)
    # a non-uniform baseline, so that reference and input windows peak at different positions
    ref = np.random.default_rng(3).dirichlet(np.ones(A), L).astype(np.float32)
    check_summation(model, onehot(8, seed=1), ref)
    check_summation(model, onehot(8, seed=1), uniform())


def test_conv2d_model():
    inp = keras.Input((L, A))
    a = layers.Reshape((L, A, 1))(inp)
    a = layers.ZeroPadding2D(((2, 2), (0, 0)))(a)
    a = layers.Conv2D(5, (5, A), activation="relu")(a)          # (L, 1, 5)
    a = layers.MaxPooling2D((3, 1))(a)
    a = layers.Conv2D(4, (3, 1), padding="same", activation="sigmoid")(a)
    a = layers.Cropping2D(((1, 1), (0, 0)))(a)
    g = layers.GlobalMaxPooling2D()(a)
    h = layers.GlobalAveragePooling2D()(a)
    out = layers.Dense(1)(layers.Subtract()([g, h]))
    model = randomize(keras.Model(inp, out), 4)
    check_summation(model, onehot(8, seed=2), uniform())


def test_shared_layer_called_twice():
    def build(shared):
        inp = keras.Input((L, A))
        conv_a = layers.Conv1D(A, 3, padding="same", activation="relu", name="conv_a")
        conv_b = conv_a if shared else layers.Conv1D(A, 3, padding="same", activation="relu",
                                                     name="conv_b")
        shifted = layers.Cropping1D((0, 2))(layers.ZeroPadding1D((2, 0))(inp))
        h = conv_b(conv_a(inp))                                  # same layer twice in sequence
        k = conv_a(shifted)                                      # ... and on another branch
        s = layers.Average()([h, k])
        out = layers.Dense(1)(layers.Flatten()(s))
        return randomize(keras.Model(inp, out), 6)

    x = onehot(8, seed=4)
    shared = build(True)
    assert len(shared.get_layer("conv_a")._inbound_nodes) == 3
    c_shared, _, _ = check_summation(shared, x, uniform())
    c_separate, _, _ = check_summation(build(False), x, uniform())
    assert not np.allclose(c_shared, c_separate, atol=1e-3)


def test_sequential_and_nested_models():
    seq = keras.Sequential([keras.Input((L, A)),
                            layers.Conv1D(8, 5, activation="relu"),
                            layers.MaxPooling1D(3),
                            layers.Flatten(),
                            layers.Dense(8, activation="tanh"),
                            layers.Dense(1, activation="sigmoid")])
    randomize(seq, 7)
    x = onehot(8, seed=6)
    check_summation(seq, x, uniform(), logit=True)
    check_summation(seq, x, uniform(), logit=False)

    inner = keras.Sequential([keras.Input((L, A)), layers.Conv1D(4, 3, padding="same", activation="relu")])
    inp = keras.Input((L, A))
    trunk = keras.Model(inp, layers.Add()([inner(inp), inp]))
    outer_in = keras.Input((L, A))
    out = layers.Dense(1)(layers.Flatten()(trunk(outer_in)))
    nested = keras.Model(outer_in, layers.Activation("sigmoid")(out))
    for m in (inner, trunk, nested):
        randomize(m, 8)
    check_summation(nested, x, uniform(), logit=True)


def test_multi_column_output_index():
    inp = keras.Input((L, A))
    h = layers.Conv1D(4, 5, activation="softplus")(inp)
    model = randomize(keras.Model(inp, layers.Dense(3)(layers.Flatten()(h))), 9)
    x = onehot(4, seed=7)
    contrib, delta = deeplift(model, x, uniform(), output_index=2, return_delta=True)
    full = np.asarray(model(x)) - np.asarray(model(uniform()[None]))
    np.testing.assert_allclose(delta, full[:, 2], atol=1e-5)
    np.testing.assert_allclose(contrib.sum(axis=(1, 2)), delta, rtol=1e-3, atol=1e-5)


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize("make", [
    lambda inp: layers.Multiply(name="gate")([inp, layers.Conv1D(A, 3, padding="same")(inp)]),
    lambda inp: layers.LayerNormalization(name="norm")(inp),
    lambda inp: layers.Dense(A, activation="softmax", name="soft")(inp),
])
def test_unsupported_layer_raises(make):
    inp = keras.Input((L, A))
    h = make(inp)
    model = keras.Model(inp, layers.Dense(1)(layers.Flatten()(h)))
    with pytest.raises(UnsupportedLayerError) as info:
        deeplift(model, onehot(2), uniform())
    bad = [layer for layer in model.layers if layer.name in ("gate", "norm", "soft")][0]
    assert bad.name in str(info.value) and type(bad).__name__ in str(info.value)
    assert "Dense" in SUPPORTED_LAYERS and "Multiply" not in SUPPORTED_LAYERS


def test_logit_needs_final_sigmoid():
    inp = keras.Input((L, A))
    model = keras.Model(inp, layers.Dense(1)(layers.Flatten()(inp)))
    with pytest.raises(ValueError, match="sigmoid"):
        deeplift(model, onehot(2), uniform(), logit=True)
    with pytest.raises(ValueError, match="baseline"):
        deeplift(model, onehot(2), np.zeros((L + 1, A), np.float32))


# ------------------------------------------------------------------ built-in predictors
@pytest.mark.parametrize("name,logit", [("utr5", False), ("polya", True)])
def test_builtin_predictors(name, logit):
    if not (PRETRAINED_DIR / f"{name}.keras").exists():
        pytest.skip(f"pretrained predictor {name} is absent")
    pred = load_predictor(name)
    length = pred.sequence_length
    x, bg = onehot(8, length, seed=11), uniform(length)
    contrib, delta = deeplift(pred.model, x, bg, logit=logit, return_delta=True)
    expected = pred.predict(x, logits=logit) - pred.predict(bg[None], logits=logit)
    np.testing.assert_allclose(delta, expected, rtol=1e-4, atol=1e-4)
    err = np.abs(contrib.sum(axis=(1, 2)) - delta) / np.maximum(np.abs(delta), 1e-3)
    assert err.max() <= 1e-3
