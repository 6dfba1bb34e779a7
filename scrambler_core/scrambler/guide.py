"""The predictor's gradient as a scrambler input (``ScramblerModel(guide="gradient")``; our extension).

The one implementation of "gradient of the explained output w.r.t. the one-hot input": saliency,
gradient x input and integrated gradients (:mod:`scrambler_core.attribution`) use :func:`output_gradient`
too.
"""
from __future__ import annotations

from .. import runtime  # noqa: F401
import tensorflow as tf


def output_gradient(predictor, x):
    """Gradient of the explained output (the logit for sigmoid models) w.r.t. the one-hot input.

    Parameters
    ----------
    predictor : Predictor
    x : tf.Tensor or np.ndarray (N, L, A)

    Returns
    -------
    (tf.Tensor (N, L, A), tf.Tensor (N,)) — the gradient and the output; usable inside ``tf.function``
    """
    x = tf.convert_to_tensor(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = predictor.output_tensor(x, logits=predictor.output_kind == "sigmoid")
    return tape.gradient(y, x), y


def gradient_guide(predictor, x):
    """Per-position guide ``g = max_a |df/dx_a|`` over its mean in the sequence, (N, L).

    Scale-free (a sequence's guide averages 1), so it reads the same for predictors with outputs of
    any size. Not differentiated through (a constant input of the scrambler network).
    """
    grads, _ = output_gradient(predictor, x)
    g = tf.reduce_max(tf.abs(grads), axis=-1)
    return tf.stop_gradient(g / (tf.reduce_mean(g, axis=1, keepdims=True) + 1e-12))


def network_inputs(network, predictor, x, bits_channel, drop=None):
    """The network's input for one-hot ``x`` (N, L, A): :meth:`ScramblerModel.network_input`, with the
    predictor's gradient guide when the network reads one (one gradient per sequence), else none."""
    guide = gradient_guide(predictor, x) if network.guide != "none" else None
    return network.network_input(x, bits_channel, drop, guide)
