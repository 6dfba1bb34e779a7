"""The predictor's gradient as a scrambler input (``ScramblerModel(guide="gradient")``; our extension).

The one implementation of "gradient of the explained output w.r.t. the one-hot input": saliency,
gradient x input and integrated gradients (:mod:`scrambler_core.attribution`) use :func:`output_gradient`
too.
"""
from __future__ import annotations

import numpy as np

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
    return tf.stop_gradient(_magnitude(grads)[0])


def _magnitude(grads):
    """``max_a |df/dx_a|`` over its mean in the sequence (N, L), and that mean (N, 1)."""
    g = tf.reduce_max(tf.abs(grads), axis=-1)
    size = tf.reduce_mean(g, axis=1, keepdims=True) + 1e-12
    return g / size, size


def signed_gradient_guide(predictor, x, background, reference):
    """The guide of a ``guide="gradient_signed"`` scrambler, (N, L, 3), from one gradient per sequence.

    Channels: ``g`` of :func:`gradient_guide`; ``d = sign(f(x) - reference) (df/dx_obs - sum_a bg_a df/dx_a)``
    over the sequence's mean ``max_a |df/dx_a|`` (the observed letter's first-order contribution against the
    background, positive where it pulls the output the way the sequence lies from ``reference``); and
    ``|f(x) - reference|`` at every position. ``f`` is the explained output (the logit for sigmoid models).

    Parameters
    ----------
    predictor : Predictor
    x : tf.Tensor or np.ndarray (N, L, A) one-hot
    background : array (L, A) — the scrambler's background
    reference : float — the output that separates "above" from "below" (:func:`guide_reference`)

    Returns
    -------
    tf.Tensor (N, L, 3), not differentiated through
    """
    x = tf.convert_to_tensor(x, tf.float32)
    grads, y = output_gradient(predictor, x)
    g, size = _magnitude(grads)
    contribution = tf.reduce_sum(grads * (x - tf.convert_to_tensor(background, tf.float32)[None]), axis=-1)
    offset = tf.reshape(tf.cast(y, tf.float32), [-1, 1]) - float(reference)                       # (N, 1)
    d = tf.sign(offset) * contribution / size
    distance = tf.broadcast_to(tf.abs(offset), tf.shape(g))
    return tf.stop_gradient(tf.stack([g, d, distance], axis=-1))


def guide_reference(predictor, x, batch_size=256):
    """Mean explained output (the logit for sigmoid models) over one-hot sequences ``x`` (N, L, A): a float."""
    return float(np.mean(predictor.predict(x, batch_size=batch_size, logits=True)))    # logits: sigmoid models only


def network_inputs(network, predictor, x, bits_channel, drop=None):
    """The network's input for one-hot ``x`` (N, L, A): :meth:`ScramblerModel.network_input`, with the
    predictor's gradient guide when the network reads one (one gradient per sequence), else none."""
    guide = None
    if network.guide == "gradient":
        guide = gradient_guide(predictor, x)
    elif network.guide == "gradient_signed":
        guide = signed_gradient_guide(predictor, x, network.background, network.guide_reference)
    return network.network_input(x, bits_channel, drop, guide)
