"""Attribution methods: the scrambler and every baseline the paper compared (method §9, §11).

One entry point, tangermeme style::

    importance = sc.attribute(predictor, seqs, "integrated_gradients", steps=50)
    importance, info = sc.attribute(predictor, seqs, "ism", return_info=True)

Every method returns an array of shape ``(N, L, A)``. Methods that score a
position (ISM, the scramblers) put the score on the observed letter and zero
elsewhere; gradient methods return a value per letter. One sign convention for
every signed method: **positive means the letter raises the explained output**
(ISM: ``f(x) - mean f(x_mut)``; the gradient methods, IG, DeepLIFT and DeepSHAP
as they are). The scramblers' scores are importances, never negative. For sigmoid predictors
the gradient-based methods and ISM explain the pre-sigmoid logit.
``info`` reports ``predictor_calls`` (sequences passed through the predictor,
forward or forward + backward), ``seconds`` and method-specific extras
(ISM ``changes``, integrated-gradients ``completeness_error``, DeepLIFT
``delta``).
"""
from __future__ import annotations

import inspect
import math
import time

import numpy as np

from .runtime import tf

METHODS = ("ism", "saliency", "gradient_x_input", "integrated_gradients", "deeplift", "deepshap",
           "scrambler", "scrambler_optimized", "scrambler_finetuned",
           "continuous_mean", "continuous_zero", "continuous_random", "zero_mask", "random_mask")
# Ablations (Fig S5C/D): per-example scores with a continuous mask instead of sampling, and sigmoid-mask baselines
ABLATION_METHODS = ("continuous_mean", "continuous_zero", "continuous_random", "zero_mask", "random_mask")
MASKINGS = ("sample", "mean", "zero", "random")
PAIR_UNSUPPORTED = ("deeplift", "deepshap")
# Methods that optimise per example (cost: steps x samples predictor calls per sequence)
PER_EXAMPLE_METHODS = ("scrambler_optimized", "scrambler_finetuned") + ABLATION_METHODS


# ============================================================================ helpers

def _predict_explained(predictor, x, batch_size=512):
    return predictor.predict(x, batch_size=batch_size, logits=predictor.output_kind == "sigmoid")


def predictor_background(predictor) -> np.ndarray:
    """Background PWM of a predictor, shape (L, A).

    The background of its pretrained inclusion scrambler (letter frequencies of the
    scrambler's training sequences) when there is one, else uniform.
    """
    cached = getattr(predictor, "_attribution_background", None)
    if cached is not None:
        return cached
    from .scrambler.maths import uniform_background

    try:
        background = np.asarray(_pretrained_scrambler(predictor, "inclusion").background, np.float32)
    except (ValueError, OSError):
        background = uniform_background(predictor.sequence_length, predictor.alphabet.size)
    predictor._attribution_background = background
    return background


def _pretrained_scrambler(predictor, mode="inclusion", objective="reconstruct", architecture=None):
    from .scrambler.explain import load_scrambler

    cache = predictor.__dict__.setdefault("_attribution_scramblers", {})
    pair = getattr(predictor, "is_concatenated_pair", False)
    key = (mode, objective, architecture)
    if key not in cache:
        cache[key] = load_scrambler(predictor.name, mode=mode, objective=objective, predictor=predictor,
                                    architecture=(architecture or "siamese") if pair else None)
    return cache[key]


def dinucleotide_shuffle(x, n_shuffles=1, seed=0) -> np.ndarray:
    """Shuffles of one-hot sequences that keep every dinucleotide count (Altschul-Erickson).

    Parameters
    ----------
    x : np.ndarray (L, A) or (N, L, A), one-hot
    n_shuffles : int, R
    seed : int

    Returns
    -------
    np.ndarray (R, L, A) for one sequence, (N, R, L, A) for several, float32
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:
        return np.stack([dinucleotide_shuffle(row, n_shuffles, seed + 7919 * i) for i, row in enumerate(x)])
    rng = np.random.default_rng(seed)
    letters = x.argmax(-1)
    out = np.zeros((n_shuffles,) + x.shape, np.float32)
    for r in range(n_shuffles):
        out[r, np.arange(len(letters)), _shuffle_letters(letters, rng)] = 1.0
    return out


def _shuffle_letters(letters, rng):
    """One random Eulerian walk through the dinucleotide multigraph of ``letters``."""
    length = len(letters)
    if length < 3:
        return letters.copy()
    first, last = letters[0], letters[-1]
    successors = {}
    for a, b in zip(letters[:-1], letters[1:]):
        successors.setdefault(int(a), []).append(int(b))
    vertices = [v for v in successors if v != last]
    while True:  # random last exits; accept when they form a tree rooted at the last letter
        last_exit = {v: int(rng.integers(len(successors[v]))) for v in vertices}
        ok = True
        for v in vertices:
            seen, u = set(), v
            while u != last:
                if u in seen:
                    ok = False
                    break
                seen.add(u)
                u = successors[u][last_exit[u]]
            if not ok:
                break
        if ok:
            break
    order = {}
    for v, edges in successors.items():
        edges = list(edges)
        tail = [edges.pop(last_exit[v])] if v in last_exit else []
        rng.shuffle(edges)
        order[v] = edges + tail
    walk, position = [int(first)], {v: 0 for v in order}
    for _ in range(length - 1):
        u = walk[-1]
        walk.append(order[u][position[u]])
        position[u] += 1
    return np.asarray(walk)


def _baseline_array(predictor, x, baseline, seed, n_references=1):
    """Baselines of shape (N, R, L, A) from a keyword or an array."""
    n = len(x)
    if baseline is None or (isinstance(baseline, str) and baseline == "background"):
        return np.broadcast_to(predictor_background(predictor), (n, 1) + x.shape[1:]).astype(np.float32)
    if isinstance(baseline, str):
        if baseline == "uniform":
            return np.full((n, 1) + x.shape[1:], 1.0 / x.shape[-1], np.float32)
        if baseline == "shuffle":
            return dinucleotide_shuffle(x, n_references, seed)
        raise ValueError(f"baseline must be 'background', 'uniform', 'shuffle' or an array, got {baseline!r}")
    b = np.asarray(baseline, np.float32)
    if b.shape == x.shape[1:]:
        return np.broadcast_to(b, (n, 1) + b.shape).astype(np.float32)
    if b.shape == x.shape:
        return b[:, None]
    if b.ndim == 3 and b.shape[1:] == x.shape[1:]:   # (R, L, A) reference sequences, shared
        return np.broadcast_to(b, (n,) + b.shape).astype(np.float32)
    raise ValueError(f"baseline has shape {b.shape}; expected (L, A) = {x.shape[1:]}, (N, L, A) = {x.shape} "
                     f"or (R, L, A) reference sequences")


def _on_observed(x, position_scores):
    return (np.asarray(position_scores, np.float32)[..., None] * x).astype(np.float32)


# ============================================================================ perturbation

def ism(predictor, x, *, batch_size=1024, seed=0):
    """In-silico mutagenesis: every single substitution (method §11).

    Parameters
    ----------
    predictor : Predictor
    x : np.ndarray (N, L, A)
    batch_size : int — mutants per predictor call

    Returns
    -------
    importance : np.ndarray (N, L, A) — ``f(x) - mean f(x_mut)`` over the A-1 substitutions, on the
        observed letter: positive when the observed letter raises the output (the sign convention of
        every method here, of tangermeme and of captum)
    info : dict — ``changes`` (N, L, A): the raw change ``f(x_mut) - f(x)`` per substitution, on the
        substituted letter (0 on the observed letter); ``predictor_calls`` = N (1 + L (A-1))
    """
    n, length, size = x.shape
    reference = _predict_explained(predictor, x, batch_size)
    changes = np.zeros(x.shape, np.float32)
    eye = np.eye(size, dtype=np.float32)
    per_sequence = length * (size - 1)
    chunk = max(1, batch_size // per_sequence)
    for start in range(0, n, chunk):
        block = x[start:start + chunk]
        mutants = np.broadcast_to(block[:, None, None], (len(block), length, size, length, size)).copy()
        mutants[:, np.arange(length), :, np.arange(length), :] = eye
        present = block.sum(-1, keepdims=True) > 0                  # padding rows of pairs are all zero
        substitution = (block == 0) & present                       # (b, L, A): letters that change
        flat = mutants[substitution]                                # (b * L * (A-1), L, A)
        y = _predict_explained(predictor, flat, batch_size)
        values = np.zeros(block.shape, np.float32)
        values[substitution] = y
        changes[start:start + len(block)] = np.where(substitution, values - reference[start:start + chunk, None, None], 0)
    importance = _on_observed(x, -changes.sum(-1) / (size - 1))
    present = int((x.sum(-1) > 0).sum())
    return importance, {"changes": changes, "predictor_calls": n + present * (size - 1)}


# ============================================================================ gradients

def _gradient_fn(predictor):
    cache = predictor.__dict__.setdefault("_attribution_graphs", {})
    if "gradient" not in cache:
        from .scrambler.guide import output_gradient
        cache["gradient"] = tf.function(lambda x: output_gradient(predictor, x), reduce_retracing=True)
    return cache["gradient"]


def _gradients(predictor, x, batch_size):
    """Gradient of the explained output w.r.t. the input, (N, L, A), and the output (N,)."""
    fn = _gradient_fn(predictor)
    grads, outputs = [], []
    for start in range(0, len(x), batch_size):
        chunk = x[start:start + batch_size]
        size = batch_size if len(x) > batch_size else len(chunk)
        padded = np.concatenate([chunk, np.repeat(chunk[:1], size - len(chunk), 0)]) if size > len(chunk) else chunk
        g, y = fn(tf.constant(padded))
        grads.append(g.numpy()[:len(chunk)])
        outputs.append(y.numpy()[:len(chunk)])
    return np.concatenate(grads), np.concatenate(outputs)


def saliency(predictor, x, *, batch_size=256, seed=0):
    """Gradient of the output w.r.t. the one-hot input, ``df/dx`` (N, L, A)."""
    grads, _ = _gradients(predictor, x, batch_size)
    return grads.astype(np.float32), {"predictor_calls": len(x)}


def gradient_x_input(predictor, x, *, batch_size=256, seed=0):
    """Gradient times input, ``x * df/dx`` (N, L, A): the gradient on the observed letter."""
    grads, _ = _gradients(predictor, x, batch_size)
    return (x * grads).astype(np.float32), {"predictor_calls": len(x)}


def integrated_gradients(predictor, x, *, steps=50, baseline="background", n_references=1,
                         batch_size=1024, seed=0):
    """Integrated gradients along the straight path from a baseline (midpoint rule).

    Parameters
    ----------
    steps : int — gradient evaluations per path
    baseline : "background" (the predictor's background PWM), "uniform", "shuffle"
        (dinucleotide shuffles of each input), or an array (L, A) / (N, L, A)
    n_references : int — shuffles averaged when ``baseline="shuffle"``

    Returns
    -------
    importance : np.ndarray (N, L, A) — ``(x - b) * mean gradient``, averaged over references
    info : dict — ``completeness_error`` (N,): ``sum(importance) - (f(x) - mean f(b))``
    """
    steps = int(steps)
    if steps < 1:
        raise ValueError("steps must be at least 1")
    baselines = _baseline_array(predictor, x, baseline, seed, n_references)       # (N, R, L, A)
    n, refs = baselines.shape[:2]
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)
    base_flat = baselines.reshape((-1,) + x.shape[1:])
    x_flat = np.repeat(x, refs, axis=0)
    per_path = max(1, batch_size // steps)
    total = np.zeros(x_flat.shape, np.float32)
    for start in range(0, len(x_flat), per_path):
        xb, bb = x_flat[start:start + per_path], base_flat[start:start + per_path]
        path = bb[:, None] + alphas[None, :, None, None] * (xb - bb)[:, None]
        grads, _ = _gradients(predictor, path.reshape((-1,) + x.shape[1:]), per_path * steps)
        total[start:start + per_path] = (xb - bb) * grads.reshape(path.shape).mean(1)
    attributions = total.reshape((n, refs) + x.shape[1:]).mean(1)
    f_x = _predict_explained(predictor, x)
    f_b = _predict_explained(predictor, base_flat).reshape(n, refs).mean(1)
    error = attributions.sum((1, 2)) - (f_x - f_b)
    return attributions.astype(np.float32), {
        "completeness_error": error.astype(np.float32),
        "predictor_calls": n * refs * steps + n + n * refs}


# ============================================================================ DeepLIFT / DeepSHAP

def deeplift(predictor, x, *, baseline="background", batch_size=256, seed=0):
    """DeepLIFT (rescale rule) relative to a baseline (default: the background PWM).

    Returns
    -------
    importance : np.ndarray (N, L, A) — contributions; they sum to ``f(x) - f(baseline)``
    info : dict — ``delta`` (N,): ``f(x) - f(baseline)`` of the explained output
    """
    from . import deeplift as _deeplift

    baselines = _baseline_array(predictor, x, baseline, seed)
    if baselines.shape[1] != 1:
        raise ValueError("deeplift takes one baseline per sequence; use deepshap for several references")
    contributions, delta = _deeplift.deeplift(
        predictor.model, x, baselines[:, 0], logit=predictor.output_kind == "sigmoid",
        output_index=predictor.output_index, batch_size=batch_size, return_delta=True)
    return contributions.astype(np.float32), {"delta": delta, "predictor_calls": 2 * len(x)}


def deepshap(predictor, x, *, n_references=20, references="shuffle", batch_size=256, seed=0):
    """DeepSHAP: DeepLIFT averaged over references, batched over references.

    Parameters
    ----------
    n_references : int — dinucleotide shuffles per sequence (``references="shuffle"``)
    references : "shuffle", np.ndarray (R, L, A) — R reference sequences shared by every input (a 3-D
        array always means shared references, whatever R) — or np.ndarray (N, R, L, A) — R references
        of each input

    Returns
    -------
    importance : np.ndarray (N, L, A)
    info : dict — ``delta`` (N,): ``f(x) - mean_r f(reference_r)``; ``n_references`` = R
    """
    from . import deeplift as _deeplift

    baselines = _deepshap_references(predictor, x, references, seed, int(n_references))
    n, refs = baselines.shape[:2]
    contributions, delta = _deeplift.deeplift(
        predictor.model, np.repeat(x, refs, axis=0), baselines.reshape((-1,) + x.shape[1:]),
        logit=predictor.output_kind == "sigmoid", output_index=predictor.output_index,
        batch_size=batch_size, return_delta=True)
    importance = contributions.reshape((n, refs) + x.shape[1:]).mean(1)
    return importance.astype(np.float32), {"delta": delta.reshape(n, refs).mean(1),
                                           "predictor_calls": 2 * n * refs, "n_references": refs}


def _deepshap_references(predictor, x, references, seed, n_references):
    """DeepSHAP references as (N, R, L, A): shuffles, shared (R, L, A) or per-input (N, R, L, A)."""
    if isinstance(references, str):
        if references != "shuffle":
            raise ValueError(f"references must be 'shuffle' or an array, got {references!r}")
        return _baseline_array(predictor, x, "shuffle", seed, n_references)
    r = np.asarray(references, np.float32)
    if r.ndim == 3 and r.shape[1:] == x.shape[1:] and len(r):
        return np.broadcast_to(r, (len(x),) + r.shape).astype(np.float32)
    if r.ndim == 4 and r.shape[0] == len(x) and r.shape[2:] == x.shape[1:] and r.shape[1]:
        return r
    raise ValueError(f"references has shape {r.shape}; expected (R, L, A) shared references with (L, A) = "
                     f"{x.shape[1:]}, or (N, R, L, A) with N = {len(x)}")


# ============================================================================ scramblers

DEFAULT_SCRAMBLER_BITS = {"inclusion": 0.1, "occlusion": 1.8}


def scrambler(predictor, x, *, target_bits=None, mode="inclusion", scrambler=None, n_samples=0,
              batch_size=64, seed=0, objective="reconstruct", architecture=None):
    """The pretrained scrambler's importance on the observed letter (one forward pass).

    Parameters
    ----------
    target_bits : float — for a bits-conditioned scrambler; default 0.1 (inclusion: rank by what
        is kept at a tight budget) or 1.8 (occlusion: rank by the few positions scrambled)
    mode : {"inclusion", "occlusion"} — which pretrained scrambler (ignored with ``scrambler``)
    scrambler : Scrambler, optional — use this one instead of the pretrained one
    n_samples : int — 0 (default): the scores only, one pass of the scrambler network and no
        predictor call (a ``guide="gradient"`` network: one predictor gradient per sequence); S > 0: the
        full ``explain`` (S samples and their predictions, in ``info``)
    objective : {"reconstruct", "maximize", "minimize"} — which pretrained scrambler (positive /
        negative features for maximize / minimize)
    architecture : {"siamese", "joint"}, optional — pair predictors (default siamese)

    Returns
    -------
    importance : np.ndarray (N, L, A)
    info : dict — ``predictor_calls`` = 0, or N (1 + S) with ``explanation`` (the full
        :class:`Explanation`) when ``n_samples`` > 0; plus N for a guided network
    """
    scr = scrambler if scrambler is not None else _pretrained_scrambler(predictor, mode, objective, architecture)
    if target_bits is None:
        target_bits = DEFAULT_SCRAMBLER_BITS[scr.mode]
    bits = target_bits if scr.network.bits_conditioned else None
    guide_calls = len(x) if scr.network.guide != "none" else 0      # one predictor gradient per sequence
    if int(n_samples) <= 0:
        scores = scr.scores(x, target_bits=bits, batch_size=batch_size)
        return _on_observed(x, scores), {"predictor_calls": guide_calls}
    explanation = scr.explain(x, target_bits=bits, n_samples=n_samples, seed=seed, batch_size=batch_size)
    return _on_observed(x, explanation.importance), {
        "explanation": explanation, "predictor_calls": guide_calls + len(x) * (1 + int(n_samples))}


def _predictor_inputs(x, s, pwm, present, seed_pair, *, kind, masking, background, n_samples, sampler):
    """What the per-example predictor sees, (N, S', L, A): PSSM samples or a continuous mask's blend."""
    from .scrambler.maths import sample_pwm

    length, size = x.shape[1], x.shape[2]
    if masking == "sample":
        samples, _ = sample_pwm(pwm, n_samples, seed_pair, sampler)
        return samples * present[:, None, :, None]
    if kind == "sigmoid_mask":
        keep = s
    else:
        observed_p = tf.reduce_sum(pwm * x, -1)
        observed_bg = tf.reduce_sum(background[None] * x, -1)
        keep = tf.clip_by_value((observed_p - observed_bg) / tf.maximum(1.0 - observed_bg, 1e-6), 0.0, 1.0)
    keep = keep[:, None, :, None]
    kept = keep * x[:, None]
    if masking == "mean":
        filled = kept + (1.0 - keep) * background[None, None]
    elif masking == "zero":
        filled = kept
    else:
        draws = tf.random.stateless_categorical(tf.zeros([tf.shape(x)[0] * n_samples * length, size]),
                                                1, seed=seed_pair)
        random = tf.reshape(tf.one_hot(draws[:, 0], size), [-1, n_samples, length, size])
        filled = kept + (1.0 - keep) * random
    return filled * present[:, None, :, None]


class _PerExampleOptimiser:
    """Per-example scores optimised with Adam on a fixed batch size (method §9).

    ``kind="optimized"``: ``s = softplus(instance_norm(theta) * gamma + beta)``;
    ``kind="finetuned"``: ``s = relu(clip(s_pretrained, 0, 4) - softplus(theta))``;
    ``kind="sigmoid_mask"``: a mask ``m = sigmoid(theta)`` in [0, 1] with an L1 budget (the "Zero" /
    "Rand" scrambler-like baselines of Fig S5D).

    ``masking`` says what the predictor sees (Fig S5C): ``"sample"`` — samples of the PSSM (the
    scrambler); a continuous mask ``m`` = how far the PSSM moved from the background to the observed
    letter, with the rest filled by the background PWM (``"mean"``), zeros (``"zero"``) or random
    one-hot letters (``"random"``).
    """

    def __init__(self, predictor, batch, length, size, *, kind, mode, objective, background, n_samples,
                 sampler, learning_rate, penalty_weight, target_bits, penalty_kind, masking="sample"):
        from .scrambler.maths import conservation, conservation_penalty, pwm_from_scores, prediction_loss

        self.kind = kind
        shape = (batch, length)
        self.theta = tf.Variable(tf.zeros(shape), trainable=True)
        self.gamma = tf.Variable(tf.ones((batch, 1)))
        self.beta = tf.Variable(tf.zeros((batch, 1)))
        variables = [self.theta] + ([self.gamma, self.beta] if kind == "optimized" else [])
        self.variables = variables
        self.moments = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in variables]
        self.step = tf.Variable(0.0)
        background = tf.constant(background, tf.float32)
        output_kind = predictor.output_kind
        n_inputs = n_samples if masking in ("sample", "random") else 1

        def full_output(inputs):
            y = predictor.model(inputs, training=False)
            return tf.reshape(y, [tf.shape(y)[0], -1])

        def scores_of(pretrained):
            if kind == "optimized":
                mean, variance = tf.nn.moments(self.theta, axes=[1], keepdims=True)
                normed = (self.theta - mean) / tf.sqrt(variance + 1e-5)
                return tf.nn.softplus(normed * self.gamma + self.beta)
            if kind == "sigmoid_mask":
                return tf.sigmoid(self.theta)
            return tf.nn.relu(tf.clip_by_value(pretrained, 0.0, 4.0) - tf.nn.softplus(self.theta))

        def predictor_inputs(x, s, pwm, present, seed_pair):
            return _predictor_inputs(x, s, pwm, present, seed_pair, kind=kind, masking=masking,
                                     background=background, n_samples=n_samples, sampler=sampler)

        @tf.function(reduce_retracing=True)
        def train_step(x, original, pretrained, seed_pair):
            present = tf.cast(tf.reduce_sum(x, -1) > 0, tf.float32)
            with tf.GradientTape() as tape:
                s = scores_of(pretrained) * present
                if kind == "sigmoid_mask":
                    pwm = x
                    mean_bits = tf.reduce_sum(s, 1) / tf.maximum(tf.reduce_sum(present, 1), 1.0)  # kept fraction
                    penalty = penalty_weight * tf.nn.relu(mean_bits - target_bits)
                else:
                    pwm = pwm_from_scores(x, s, background, mode) * present[..., None]
                    _, mean_bits = conservation(pwm, background, present)
                    penalty = conservation_penalty(mean_bits, target_bits, penalty_weight, penalty_kind)
                inputs = predictor_inputs(x, s, pwm, present, seed_pair)
                flat = tf.reshape(inputs, [-1, length, size])
                sampled = tf.reshape(full_output(flat), [tf.shape(x)[0], n_inputs, -1])
                pred_loss = tf.reduce_mean(prediction_loss(original, sampled, output_kind, mode, objective), axis=1)
                loss = tf.reduce_sum(pred_loss + penalty)
            self._adam_update(tape.gradient(loss, variables), learning_rate)
            return tf.reduce_mean(pred_loss), mean_bits

        self.n_inputs = n_inputs
        self.train_step = train_step
        self.scores_of = tf.function(tf.autograph.experimental.do_not_convert(scores_of), reduce_retracing=True)
        self.full_output = tf.function(full_output, reduce_retracing=True)

    def _adam_update(self, grads, learning_rate, b1=0.5, b2=0.9):
        """One Adam step (beta 0.5 / 0.9) on the per-example variables, with this object's moments."""
        self.step.assign_add(1.0)
        for v, g, (m, u) in zip(self.variables, grads, self.moments):
            m.assign(b1 * m + (1 - b1) * g)
            u.assign(b2 * u + (1 - b2) * tf.square(g))
            m_hat = m / (1 - tf.pow(b1, self.step))
            u_hat = u / (1 - tf.pow(b2, self.step))
            v.assign_sub(learning_rate * m_hat / (tf.sqrt(u_hat) + 1e-7))

    def reset(self, rng):
        shape = self.theta.shape
        if self.kind == "optimized":   # Glorot normal over (L,)
            std = math.sqrt(2.0 / (shape[1] + 1))
            self.theta.assign(rng.normal(0.0, std, shape).astype(np.float32))
        elif self.kind == "sigmoid_mask":   # start half kept
            self.theta.assign(rng.normal(0.0, 0.01, shape).astype(np.float32))
        else:
            self.theta.assign(np.full(shape, -3.0, np.float32) + rng.normal(0, 0.01, shape).astype(np.float32))
        self.gamma.assign(tf.ones_like(self.gamma))
        self.beta.assign(tf.zeros_like(self.beta))
        for m, u in self.moments:
            m.assign(tf.zeros_like(m))
            u.assign(tf.zeros_like(u))
        self.step.assign(0.0)


def _optimise_per_example(predictor, x, *, kind, steps, target_bits, penalty_weight, mode, objective,
                          n_samples, learning_rate, batch_size, seed, pretrained_scores=None,
                          background=None, sampler=None, penalty_kind="hinge", masking="sample"):
    n, length, size = x.shape
    if background is None:
        background = predictor_background(predictor)
    sampler = sampler or ("gumbel" if predictor.output_kind == "regression" else "straight_through")
    batch = max(1, min(int(batch_size), n))
    key = (kind, batch, mode, objective, int(n_samples), sampler, float(learning_rate), float(penalty_weight),
           float(target_bits), penalty_kind, masking, background.tobytes())
    cache = predictor.__dict__.setdefault("_attribution_optimisers", {})
    if key not in cache:
        cache.clear()
        cache[key] = _PerExampleOptimiser(
            predictor, batch, length, size, kind=kind, mode=mode, objective=objective, background=background,
            n_samples=int(n_samples), sampler=sampler, learning_rate=float(learning_rate),
            penalty_weight=float(penalty_weight), target_bits=float(target_bits), penalty_kind=penalty_kind,
            masking=masking)
    opt = cache[key]
    rng = np.random.default_rng(seed)
    if pretrained_scores is None:
        pretrained_scores = np.zeros((n, length), np.float32)
    scores = np.zeros((n, length), np.float32)
    final_bits, final_loss = np.zeros(n, np.float32), []
    for index, start in enumerate(range(0, n, batch)):
        chunk = x[start:start + batch]
        pad = batch - len(chunk)
        xb = np.concatenate([chunk, np.repeat(chunk[:1], pad, 0)]) if pad else chunk
        pb = pretrained_scores[start:start + batch]
        pb = np.concatenate([pb, np.repeat(pb[:1], pad, 0)]) if pad else pb
        xb, pb = tf.constant(xb), tf.constant(pb.astype(np.float32))
        original = opt.full_output(xb)
        opt.reset(rng)
        for step in range(int(steps)):
            loss, bits = opt.train_step(xb, original, pb, tf.constant([int(seed), index * 100_003 + step], tf.int32))
        present = (chunk.sum(-1) > 0).astype(np.float32)
        scores[start:start + len(chunk)] = opt.scores_of(pb).numpy()[:len(chunk)] * present
        final_bits[start:start + len(chunk)] = bits.numpy()[:len(chunk)]
        final_loss.append(float(loss))
    return _on_observed(x, scores), {
        "predictor_calls": n * (1 + opt.n_inputs * int(steps)), "scores": scores, "mean_bits": final_bits,
        "final_prediction_loss": float(np.mean(final_loss)) if final_loss else float("nan")}


def scrambler_optimized(predictor, x, *, steps=300, target_bits=0.0, penalty_weight=5.0, mode="inclusion",
                        objective="reconstruct", n_samples=32, learning_rate=0.01, batch_size=64, seed=0,
                        sampler=None, background=None):
    """Per-example optimisation from scratch (method §9; paper's Optimus setting by default).

    Free scores per input (Glorot normal, instance norm, softplus), the scrambler's PSSM,
    sampler and loss with a hinge penalty ``w max(m - target_bits, 0)``; Adam (lr 0.01,
    beta 0.5 / 0.9), optimiser state reset per batch. ``background`` (L, A): default the predictor's
    pretrained inclusion scrambler's.

    Returns
    -------
    importance : np.ndarray (N, L, A) — final scores on the observed letter
    info : dict — ``scores`` (N, L), ``mean_bits`` (N,), ``predictor_calls`` = N (1 + S steps)
    """
    return _optimise_per_example(predictor, x, kind="optimized", steps=steps, target_bits=target_bits,
                                 penalty_weight=penalty_weight, mode=mode, objective=objective,
                                 n_samples=n_samples, learning_rate=learning_rate, batch_size=batch_size,
                                 seed=seed, sampler=sampler,
                                 background=None if background is None else np.asarray(background, np.float32))


def scrambler_finetuned(predictor, x, *, steps=300, start_bits=0.1, target_bits=0.0, penalty_weight=5.0,
                        mode="inclusion", objective="reconstruct", n_samples=32, learning_rate=0.01,
                        batch_size=64, seed=0, scrambler=None, sampler=None):
    """Per-example fine-tuning of the pretrained scrambler (method §9): it can only lower scores.

    ``s = relu(clip(s_pretrained, 0, 4) - softplus(theta))`` with the pretrained scores at
    ``start_bits``, then the same optimisation as :func:`scrambler_optimized`.

    Returns
    -------
    importance : np.ndarray (N, L, A)
    info : dict — ``scores``, ``mean_bits``, ``predictor_calls`` (the pretrained pass included)
    """
    scr = scrambler if scrambler is not None else _pretrained_scrambler(predictor, mode)
    pretrained = scr.scores(x, target_bits=start_bits if scr.network.bits_conditioned else None)
    importance, info = _optimise_per_example(
        predictor, x, kind="finetuned", steps=steps, target_bits=target_bits, penalty_weight=penalty_weight,
        mode=scr.mode, objective=objective, n_samples=n_samples, learning_rate=learning_rate,
        batch_size=batch_size, seed=seed, pretrained_scores=pretrained, background=scr.background,
        sampler=sampler)
    return importance, info


def _continuous(predictor, x, masking, *, steps, target_bits, penalty_weight, mode, objective, n_samples,
                learning_rate, batch_size, seed):
    return _optimise_per_example(predictor, x, kind="optimized", steps=steps, target_bits=target_bits,
                                 penalty_weight=penalty_weight, mode=mode, objective=objective,
                                 n_samples=n_samples, learning_rate=learning_rate, batch_size=batch_size,
                                 seed=seed, masking=masking)


def continuous_mean(predictor, x, *, steps=300, target_bits=0.0, penalty_weight=5.0, mode="inclusion",
                    objective="reconstruct", learning_rate=0.01, batch_size=64, seed=0):
    """Ablation (Fig S5C "Cont. Mean Bg"): per-example scores with a continuous mask, no sampling.

    The scores make the same PSSM as :func:`scrambler_optimized`; the mask ``m`` (N, L) is how far
    it moved from the background toward the observed letter, and the predictor sees the single
    blend ``m x + (1 - m) bg`` instead of samples. Same penalty and optimiser.

    Returns
    -------
    importance : np.ndarray (N, L, A) — scores on the observed letter
    info : dict — ``scores``, ``mean_bits``, ``predictor_calls`` = N (1 + steps)
    """
    return _continuous(predictor, x, "mean", steps=steps, target_bits=target_bits, penalty_weight=penalty_weight,
                       mode=mode, objective=objective, n_samples=1, learning_rate=learning_rate,
                       batch_size=batch_size, seed=seed)


def continuous_zero(predictor, x, *, steps=300, target_bits=0.0, penalty_weight=5.0, mode="inclusion",
                    objective="reconstruct", learning_rate=0.01, batch_size=64, seed=0):
    """Ablation (Fig S5C "Cont. No Bg"): as :func:`continuous_mean`, the predictor sees ``m x`` (zeros elsewhere).

    Returns
    -------
    importance : np.ndarray (N, L, A)
    info : dict — ``scores``, ``mean_bits``, ``predictor_calls`` = N (1 + steps)
    """
    return _continuous(predictor, x, "zero", steps=steps, target_bits=target_bits, penalty_weight=penalty_weight,
                       mode=mode, objective=objective, n_samples=1, learning_rate=learning_rate,
                       batch_size=batch_size, seed=seed)


def continuous_random(predictor, x, *, steps=300, target_bits=0.0, penalty_weight=5.0, mode="inclusion",
                      objective="reconstruct", n_samples=32, learning_rate=0.01, batch_size=64, seed=0):
    """Ablation (Fig S5C "Cont. Rand Bg"): the predictor sees ``m x + (1 - m) r``, r random one-hot letters.

    Returns
    -------
    importance : np.ndarray (N, L, A)
    info : dict — ``scores``, ``mean_bits``, ``predictor_calls`` = N (1 + S steps)
    """
    return _continuous(predictor, x, "random", steps=steps, target_bits=target_bits,
                       penalty_weight=penalty_weight, mode=mode, objective=objective, n_samples=n_samples,
                       learning_rate=learning_rate, batch_size=batch_size, seed=seed)


def _sigmoid_mask(predictor, x, masking, *, steps, keep_fraction, penalty_weight, objective, n_samples,
                  learning_rate, batch_size, seed):
    return _optimise_per_example(predictor, x, kind="sigmoid_mask", steps=steps, target_bits=keep_fraction,
                                 penalty_weight=penalty_weight, mode="inclusion", objective=objective,
                                 n_samples=n_samples, learning_rate=learning_rate, batch_size=batch_size,
                                 seed=seed, masking=masking)


def zero_mask(predictor, x, *, steps=300, keep_fraction=0.1, penalty_weight=5.0, objective="reconstruct",
              learning_rate=0.05, batch_size=64, seed=0):
    """Scrambler-like baseline "Zero" (Fig S5D, L2X / INVASE style): a sigmoid mask, masked letters zeroed.

    ``m = sigmoid(theta)`` per position; the predictor sees ``m x``; loss = the scrambler's
    prediction term + ``w max(mean m - keep_fraction, 0)`` (no PSSM, no background).

    Returns
    -------
    importance : np.ndarray (N, L, A) — ``m`` on the observed letter
    info : dict — ``scores`` (the mask), ``mean_bits`` (here: the kept fraction), ``predictor_calls``
    """
    return _sigmoid_mask(predictor, x, "zero", steps=steps, keep_fraction=keep_fraction,
                         penalty_weight=penalty_weight, objective=objective, n_samples=1,
                         learning_rate=learning_rate, batch_size=batch_size, seed=seed)


def random_mask(predictor, x, *, steps=300, keep_fraction=0.1, penalty_weight=5.0, objective="reconstruct",
                n_samples=32, learning_rate=0.05, batch_size=64, seed=0):
    """Scrambler-like baseline "Rand" (Fig S5D): a sigmoid mask, masked letters replaced by random letters.

    Returns
    -------
    importance : np.ndarray (N, L, A)
    info : dict — ``scores`` (the mask), ``mean_bits`` (the kept fraction), ``predictor_calls``
    """
    return _sigmoid_mask(predictor, x, "random", steps=steps, keep_fraction=keep_fraction,
                         penalty_weight=penalty_weight, objective=objective, n_samples=n_samples,
                         learning_rate=learning_rate, batch_size=batch_size, seed=seed)


# ============================================================================ dispatcher

_FUNCTIONS = {
    "ism": ism, "saliency": saliency, "gradient_x_input": gradient_x_input,
    "integrated_gradients": integrated_gradients, "deeplift": deeplift, "deepshap": deepshap,
    "scrambler": scrambler, "scrambler_optimized": scrambler_optimized, "scrambler_finetuned": scrambler_finetuned,
    "continuous_mean": continuous_mean, "continuous_zero": continuous_zero, "continuous_random": continuous_random,
    "zero_mask": zero_mask, "random_mask": random_mask,
}


def method_options(method) -> dict:
    """Options a method takes and their defaults, e.g. ``{"steps": 50, ...}``."""
    if method not in _FUNCTIONS:
        raise ValueError(f"unknown attribution method {method!r}; choose one of {', '.join(METHODS)}")
    signature = inspect.signature(_FUNCTIONS[method])
    return {k: p.default for k, p in signature.parameters.items() if p.kind == p.KEYWORD_ONLY}


def attribute(predictor, seqs, method, *, return_info=False, **options):
    """Attribution scores of a predictor's output for sequences, by any method.

    Parameters
    ----------
    predictor : Predictor, a ``keras.Model`` with one input (N, L, A) (wrapped by
        :func:`~scrambler_core.predictors.registry.as_predictor`), or a pair predictor (then ``seqs`` are
        (seq_a, seq_b) pairs and the result is chain a then chain b along the length axis, (N, 2 Lmax, A);
        see :mod:`scrambler_core.predictors.pairs`)
    seqs : str, list of str, or np.ndarray (N, L, A)
    method : str — one of :data:`METHODS`
    return_info : bool — also return a dict with ``predictor_calls``, ``seconds``,
        ``calls_per_sequence``, ``seconds_per_sequence`` and method extras
    **options : method options (see :func:`method_options`), e.g. ``batch_size``, ``seed``,
        ``steps``, ``baseline``, ``n_references``, ``target_bits``

    Returns
    -------
    np.ndarray (N, L, A) float32 (and ``info`` when ``return_info``)

    Examples
    --------
    >>> imp, info = attribute(load_predictor("utr5"), ["ACGT" * 12 + "AC"], "ism", return_info=True)
    >>> imp.shape, info["predictor_calls"]
    ((1, 50, 4), 151)
    """
    allowed = method_options(method)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"{method} does not take {', '.join(unknown)}; its options are {', '.join(allowed)}")
    from .predictors.pairs import as_single_input
    from .predictors.registry import as_predictor
    predictor = as_single_input(as_predictor(predictor))
    if getattr(predictor, "is_concatenated_pair", False) and method in PAIR_UNSUPPORTED:
        raise ValueError(f"{method} is not available for pair predictors (the layer-by-layer rules do not cover the "
                         f"split of the two chains); use ism, saliency, gradient_x_input, integrated_gradients or "
                         f"the scramblers")
    x = predictor.to_onehot(seqs)
    started = time.perf_counter()
    importance, info = _FUNCTIONS[method](predictor, x, **options)
    seconds = time.perf_counter() - started
    if not return_info:
        return importance
    info.update(method=method, n_sequences=len(x), seconds=seconds, seconds_per_sequence=seconds / len(x),
                calls_per_sequence=info["predictor_calls"] / len(x))
    return importance, info


def position_scores(importance) -> np.ndarray:
    """Per-position score for ranking (method §12): ``|score|`` summed over the alphabet, (N, L)."""
    return np.abs(np.asarray(importance)).sum(-1)
