"""DeepLIFT contributions (rescale rule) for Keras 3 sequence models, tangermeme style.

The model is run once on the batch ``[x; reference]`` (2N examples) by walking
its layer graph node by node.  Every elementwise nonlinearity is replaced by a
``tf.custom_gradient`` op whose backward pass for the ``x`` half is the secant
multiplier ``(f(z) - f(z_ref)) / (z - z_ref)`` (local gradient where
``|z - z_ref| < 1e-6``); max pooling uses the split of shap's DeepExplainer so
that the contributions still add up exactly.  Linear layers keep their ordinary
gradient.  Contributions are ``d sum(f(x)) / dx * (x - reference)`` and satisfy
summation-to-delta: ``contrib.sum(axis=(1, 2)) == f(x) - f(reference)``.

>>> contrib = deeplift(model, x, np.full((L, 4), 0.25, np.float32))   # doctest: +SKIP
"""
from __future__ import annotations

import weakref

import numpy as np

from . import runtime  # noqa: F401  (TensorFlow threading / logging before import)
import keras
import tensorflow as tf
from keras.src.models.functional import Functional

__all__ = ["deeplift", "SUPPORTED_LAYERS", "SUPPORTED_ACTIVATIONS", "UnsupportedLayerError"]

# Layers whose map from input to output is linear (affine) at inference.
_LINEAR = ("Dense", "Conv1D", "Conv2D", "BatchNormalization", "Add", "Subtract", "Average",
           "Concatenate", "Flatten", "Reshape", "Permute", "Identity", "Dropout",
           "SpatialDropout1D", "SpatialDropout2D", "GaussianDropout", "GaussianNoise",
           "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D",
           "GlobalAveragePooling2D", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D",
           "Cropping2D", "InputLayer", "Rescaling",
           "Affine")  # "Affine": any layer class that declares ``deeplift_affine = True``
_FUSED = ("Dense", "Conv1D", "Conv2D")  # may carry an `activation`, split off and rescaled
_ELEMENTWISE = ("Activation", "ReLU", "LeakyReLU", "ELU")  # rescale rule
_MAXPOOL = ("MaxPooling1D", "MaxPooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D")
_MODELS = ("Functional", "Sequential")

SUPPORTED_LAYERS = _LINEAR + _ELEMENTWISE + _MAXPOOL + _MODELS
"""Class names of the Keras layers (and nested models) :func:`deeplift` accepts."""

SUPPORTED_ACTIVATIONS = ("linear", "relu", "relu6", "leaky_relu", "elu", "selu", "sigmoid",
                         "hard_sigmoid", "tanh", "softplus", "softsign", "exponential")
"""Names of the elementwise activation functions handled by the rescale rule."""

_EPS = 1e-6  # below this |z - z_ref| the rescale multiplier falls back to f'(z)
_MAXPOOL_EPS = 1e-7


class UnsupportedLayerError(ValueError):
    """The model holds a layer or activation that DeepLIFT here cannot explain exactly."""


# --------------------------------------------------------------------------- checks
def _activation_name(fn):
    return getattr(fn, "__name__", None) or type(fn).__name__


def _describe(layer):
    return f"layer {layer.name!r} ({type(layer).__name__})"


def _class_name(layer):
    """Name under which ``layer`` is supported, or None (subclasses with their own ``call`` are not)."""
    if isinstance(layer, keras.Sequential):
        return "Sequential" if type(layer).call is keras.Sequential.call else None
    if isinstance(layer, Functional):
        return "Functional" if type(layer).call is Functional.call else None
    if getattr(type(layer), "deeplift_affine", False):
        return "Affine"
    name = type(layer).__name__
    cls = getattr(keras.layers, name, None)
    return name if name in SUPPORTED_LAYERS and type(layer) is cls else None


def _check_activation(layer):
    name = _activation_name(layer.activation)
    if name not in SUPPORTED_ACTIVATIONS or getattr(keras.activations, name, None) is not layer.activation:
        raise UnsupportedLayerError(
            f"{_describe(layer)} uses activation {name!r}, which deeplift does not support; "
            f"supported activations: {', '.join(SUPPORTED_ACTIVATIONS)}")
    return name


def _unsupported(layer):
    return UnsupportedLayerError(
        f"{_describe(layer)} is not supported by deeplift (its contributions would not be "
        f"exact); supported layers: {', '.join(SUPPORTED_LAYERS)}")


def _check(model):
    """Raise UnsupportedLayerError for the first layer (recursively) that is not supported."""
    for layer in _graph_layers(model):
        name = _class_name(layer)
        if name is None:
            raise _unsupported(layer)
        if name in _MODELS:
            _check(layer)
        elif name in _FUSED or name == "Activation":
            _check_activation(layer)


def _graph(model):
    """The Functional graph of ``model`` (a Sequential's inner one), or None."""
    if isinstance(model, keras.Sequential):
        return getattr(model, "_functional", None)
    return model


def _graph_layers(model):
    graph = _graph(model)
    return graph.operations if graph is not None else model.layers


def _final_operation(model):
    graph = _graph(model)
    if graph is None:
        return model.layers[-1]
    return graph.outputs[0]._keras_history.operation


def _ends_in_sigmoid(model):
    last = _final_operation(model)
    if _class_name(last) in _MODELS:
        return _ends_in_sigmoid(last)
    act = getattr(last, "activation", None)
    return (_class_name(last) in _FUSED + ("Activation",)
            and act is not None and _activation_name(act) == "sigmoid")


# --------------------------------------------------------------------------- gradient rules
def _rescale(f):
    """Elementwise ``f`` on the paired batch [x; ref] with the DeepLIFT rescale multiplier."""

    @tf.custom_gradient
    def op(z):
        y = f(z)

        def grad(dy):
            n = tf.shape(z)[0] // 2
            zx, zr = z[:n], z[n:]
            with tf.GradientTape() as tape:
                tape.watch(zx)
                fx = f(zx)
            local = tape.gradient(fx, zx)
            dz = zx - zr
            small = tf.abs(dz) < _EPS
            secant = (y[:n] - y[n:]) / tf.where(small, tf.ones_like(dz), dz)
            mult = tf.where(small, local, secant)
            return tf.concat([dy[:n] * mult, tf.zeros_like(zr)], 0)

        return y, grad

    return op


def _maxpool(pool):
    """Max pooling on [x; ref] with shap DeepExplainer's split, exact for summation-to-delta.

    ``max(y_x, y_r) - y_r`` goes to the argmax positions of the x window and
    ``y_x - max(y_x, y_r)`` to those of the reference window; each input's share
    divided by its own ``x - ref`` is its multiplier.
    """

    @tf.custom_gradient
    def op(z):
        y = pool(z)

        def grad(dy):
            n = tf.shape(z)[0] // 2
            yx, yr = y[:n], y[n:]
            cross = tf.maximum(yx, yr)
            routed_dy = tf.concat([dy[:n] * (cross - yr), dy[:n] * (yx - cross)], 0)
            with tf.GradientTape() as tape:
                tape.watch(z)
                yy = pool(z)
            routed = tape.gradient(yy, z, output_gradients=routed_dy)
            share = routed[:n] + routed[n:]
            dz = z[:n] - z[n:]
            small = tf.abs(dz) < _MAXPOOL_EPS
            mult = tf.where(small, tf.zeros_like(dz), share / tf.where(small, tf.ones_like(dz), dz))
            return tf.concat([mult, tf.zeros_like(mult)], 0)

        return y, grad

    return op


# --------------------------------------------------------------------------- graph walk
def _call(layer, args, kwargs):
    kwargs = dict(kwargs)
    if getattr(layer, "_call_has_training_arg", False):
        kwargs["training"] = False
    return layer(*args, **kwargs)


def _apply(layer, args, kwargs, drop_sigmoid):
    """Output of one layer call on the paired batch, with DeepLIFT gradients."""
    name = _class_name(layer)
    if name is None:
        raise _unsupported(layer)
    if name in _MODELS:
        out = _forward(layer, keras.tree.flatten(args), drop_sigmoid)
        return out[0] if len(out) == 1 else out
    if name in _FUSED:
        act = _check_activation(layer)
        saved = layer.activation
        layer.activation = keras.activations.linear
        try:
            z = _call(layer, args, kwargs)
        finally:
            layer.activation = saved
        if act == "linear" or (drop_sigmoid and act == "sigmoid"):
            return z
        return _rescale(saved)(z)
    if name == "Activation":
        act = _check_activation(layer)
        if act == "linear" or (drop_sigmoid and act == "sigmoid"):
            return args[0]
        return _rescale(layer.activation)(args[0])
    if name in _ELEMENTWISE:
        return _rescale(lambda t: layer(t))(args[0])
    if name in _MAXPOOL:
        return _maxpool(lambda t: layer(t))(args[0])
    return _call(layer, args, kwargs)


def _forward(model, inputs, drop_sigmoid=False):
    """Run ``model`` on flat ``inputs`` node by node; returns the flat list of outputs.

    Mirrors ``keras.src.ops.function.Function._run_through_graph`` but dispatches
    per *node*, so a layer called at several nodes (shared layer) is handled at
    each, and only the node producing the model output drops its sigmoid.
    """
    graph = _graph(model)
    if graph is None:  # Sequential without a known input: apply the layers in order
        x = inputs[0]
        for i, layer in enumerate(model.layers):
            x = _apply(layer, [x], {}, drop_sigmoid and i == len(model.layers) - 1)
        return [x]
    tensors = {id(k): v for k, v in zip(graph.inputs, inputs)}
    final = id(graph.outputs[0])
    for depth in sorted(graph._nodes_by_depth, reverse=True):
        for node in graph._nodes_by_depth[depth]:
            if not node.operation or node.is_input:
                continue
            if any(id(t) not in tensors for t in node.input_tensors):
                continue
            args, kwargs = node.arguments.fill_in(tensors)
            is_final = any(id(t) == final for t in node.outputs)
            out = _apply(node.operation, args, kwargs, drop_sigmoid and is_final)
            for k, v in zip(node.outputs, keras.tree.flatten(out)):
                tensors[id(k)] = v
    return [tensors[id(t)] for t in graph.outputs]


# --------------------------------------------------------------------------- public API
_STEP_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _step_fn(model, logit, output_index):
    per_model = _STEP_CACHE.setdefault(model, {})
    key = (bool(logit), int(output_index))
    if key in per_model:
        return per_model[key]

    model_ref = weakref.ref(model)  # the cache must not keep the model alive

    @tf.function(reduce_retracing=True)
    def step(x, ref):
        n = tf.shape(x)[0]
        with tf.GradientTape() as tape:
            z = tf.concat([x, ref], 0)
            tape.watch(z)
            y = _forward(model_ref(), [z], drop_sigmoid=logit)[0]
            y = tf.reshape(y, [2 * n, -1])[:, output_index] if len(y.shape) > 1 else y
            target = tf.reduce_sum(y[:n])
        grad = tape.gradient(target, z)[:n]
        return grad * (x - ref), y[:n] - y[n:]

    per_model[key] = step
    return step


def deeplift(model, x, baseline, *, logit=False, output_index=0, batch_size=128, return_delta=False):
    """DeepLIFT contributions (rescale rule) of each input letter relative to a baseline.

    Parameters
    ----------
    model : keras.Model
        Functional or Sequential (nested Functional/Sequential models allowed) with
        one input of shape (N, L, A) and output (N, 1), (N,) or (N, K); only layers
        in ``SUPPORTED_LAYERS`` and activations in ``SUPPORTED_ACTIVATIONS``.
    x : np.ndarray, shape (N, L, A)
        Inputs to explain (e.g. one-hot sequences).
    baseline : np.ndarray, shape (L, A) or (N, L, A)
        Reference shared by all examples, or one per example.
    logit : bool
        Explain the pre-sigmoid logit of a model whose final layer is a sigmoid
        (``Activation("sigmoid")`` or Dense/Conv with ``activation="sigmoid"``).
    output_index : int
        Column of an (N, K) output to explain.
    batch_size : int
        Examples per forward/backward pass (each pass runs 2 * batch_size rows).
    return_delta : bool
        Also return ``f(x) - f(baseline)`` of the explained output.

    Returns
    -------
    contributions : np.ndarray, shape (N, L, A), float32
        ``(x - baseline) * multiplier``; sums over (L, A) to ``f(x) - f(baseline)``.
    delta : np.ndarray, shape (N,), float32
        Only with ``return_delta=True`` (logit space when ``logit=True``).

    Raises
    ------
    UnsupportedLayerError
        The model holds a layer or activation outside the supported lists (the
        message names the layer and its class).
    ValueError
        Wrong shapes, a model with several inputs/outputs, or ``logit=True`` on
        a model that does not end in a sigmoid.
    """
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(f"deeplift needs a model with one input and one output; {model.name!r} has "
                         f"{len(model.inputs)} inputs and {len(model.outputs)} outputs")
    _check(model)
    if logit and not _ends_in_sigmoid(model):
        raise ValueError(f"logit=True but model {model.name!r} does not end in a sigmoid "
                         "(final Activation('sigmoid') or Dense/Conv with activation='sigmoid')")
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (N, L, A); got {x.shape}")
    baseline = np.asarray(baseline, dtype=np.float32)
    if baseline.shape not in (x.shape[1:], x.shape):
        raise ValueError(f"baseline must have shape {x.shape[1:]} or {x.shape}; got {baseline.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive; got {batch_size}")
    step = _step_fn(model, logit, output_index)
    contribs, deltas = [], []
    for start in range(0, len(x), batch_size):
        chunk = x[start:start + batch_size]
        ref = (baseline[start:start + batch_size] if baseline.ndim == 3
               else np.broadcast_to(baseline, chunk.shape))
        c, d = step(tf.constant(chunk), tf.constant(np.ascontiguousarray(ref)))
        contribs.append(c.numpy())
        deltas.append(d.numpy())
    contrib = (np.concatenate(contribs) if contribs else np.zeros_like(x)).astype(np.float32)
    if return_delta:
        delta = (np.concatenate(deltas) if deltas else np.zeros(0)).astype(np.float32)
        return contrib, delta
    return contrib
