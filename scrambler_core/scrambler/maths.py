"""The scrambler's maths (method §2-4, §7): backgrounds, PSSMs from scores, conservation, sampling, losses
and mask-dropout masks. Small functions on arrays and tensors, no network."""
from __future__ import annotations

import math

import numpy as np

from .. import runtime  # noqa: F401
import tensorflow as tf

from ..sequences import get_alphabet

MODES = ("inclusion", "occlusion")
OBJECTIVES = ("reconstruct", "maximize", "minimize")
SAMPLERS = ("straight_through", "gumbel")
EPSILON = 1e-7


def background_from_sequences(x, pseudocount=1.0) -> np.ndarray:
    """Per-position letter frequencies of training sequences (method §2).

    ``bg[j, c] = (count of c at j + 1) / (N + A)``.

    Parameters
    ----------
    x : np.ndarray, shape (N, L, A), one-hot

    Returns
    -------
    np.ndarray, shape (L, A), float32, rows sum to 1
    """
    x = np.asarray(x, dtype=np.float64)
    counts = x.sum(axis=0)
    return ((counts + pseudocount) / (x.shape[0] + pseudocount * x.shape[2])).astype(np.float32)


def uniform_background(length, alphabet_size) -> np.ndarray:
    """Uniform background, shape (L, A)."""
    return np.full((length, alphabet_size), 1.0 / alphabet_size, dtype=np.float32)


def template_arrays(template, alphabet, length):
    """Fixed-position masks from a template string (method §2).

    Parameters
    ----------
    template : str or None
        Length L; a letter of the alphabet fixes that position, ``N`` (or ``.``,
        ``X``) leaves it free. None: every position is free.

    Returns
    -------
    free : np.ndarray (L, 1) — 1 at free positions (M)
    offset : np.ndarray (L, A) — +10 on the fixed letter, -4 elsewhere, 0 at free positions (T)
    """
    alphabet = get_alphabet(alphabet)
    free = np.ones((length, 1), dtype=np.float32)
    offset = np.zeros((length, alphabet.size), dtype=np.float32)
    if template is None:
        return free, offset
    if len(template) != length:
        raise ValueError(f"template has length {len(template)}, expected {length}")
    for j, letter in enumerate(template.upper()):
        if letter in ("N", ".", "X", "-") and letter not in alphabet.letters:
            continue
        if letter not in alphabet.letters:
            raise ValueError(f"template letter {letter!r} at position {j + 1} is not one of "
                             f"{', '.join(alphabet.letters)} or N")
        free[j] = 0.0
        offset[j] = -4.0
        offset[j, alphabet.letters.index(letter)] = 10.0
    return free, offset


def pwm_from_scores(x, scores, background, mode="inclusion", free=None, offset=None):
    """PSSM from importance scores (method §2).

    Inclusion: ``l = s * (2x - 1)``; occlusion: ``l = (2x - 1) / max(s, 1e-7)``;
    ``p = softmax((l + log bg) * M + T)``.

    Parameters
    ----------
    x : tensor (N, L, A) one-hot
    scores : tensor (N, L), >= 0
    background : tensor (L, A)
    mode : {"inclusion", "occlusion"}
    free, offset : tensors (L, 1) and (L, A), optional fixed-position template

    Returns
    -------
    tf.Tensor (N, L, A), rows sum to 1
    """
    x = tf.convert_to_tensor(x, tf.float32)
    scores = tf.convert_to_tensor(scores, tf.float32)[..., None]
    signed = 2.0 * x - 1.0
    if mode == "inclusion":
        logits = scores * signed
    elif mode == "occlusion":
        logits = signed / tf.maximum(scores, EPSILON)
    else:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    logits = logits + tf.math.log(tf.convert_to_tensor(background, tf.float32))
    if free is not None:
        logits = logits * free + offset
    return tf.nn.softmax(logits, axis=-1)


def conservation(pwm, background, free=None):
    """Per-position conservation in bits, ``sum_c p log2(p / bg)``, and its mean over free positions.

    Parameters
    ----------
    pwm : tensor (N, L, A)
    background : tensor (L, A)
    free : tensor (L, 1) or (N, L), optional — 1 at free positions (per example for pairs: padding
        and fixed positions 0)

    Returns
    -------
    per_position : tf.Tensor (N, L)
    mean : tf.Tensor (N,)
    """
    pwm = tf.convert_to_tensor(pwm, tf.float32)
    background = tf.convert_to_tensor(background, tf.float32)
    per_position = tf.reduce_sum(pwm * (tf.math.log(pwm + 1e-12) - tf.math.log(background)), axis=-1)
    per_position = per_position / math.log(2.0)
    if free is None:
        return per_position, tf.reduce_mean(per_position, axis=-1)
    weights = tf.convert_to_tensor(free, tf.float32)
    if weights.shape.rank != 2 or weights.shape[-1] == 1:      # (L, 1) or (L,): the same for every example
        weights = tf.reshape(weights, [1, -1])
    weights = tf.broadcast_to(weights, tf.shape(per_position))
    mean = tf.reduce_sum(per_position * weights, axis=-1) / tf.maximum(tf.reduce_sum(weights, axis=-1), 1.0)
    return per_position, mean


def sample_pwm(pwm, n_samples, seed, sampler="straight_through", temperature=0.5):
    """Draw samples from a PWM (method §3).

    Parameters
    ----------
    pwm : tensor (N, L, A)
    n_samples : int, S
    seed : tensor of shape (2,), int — stateless seed (same seed, same samples)
    sampler : {"straight_through", "gumbel"}
        Straight-through: hard one-hot forward, gradient of ``p`` backward.
        Gumbel: relaxed Gumbel-softmax (soft vectors) at ``temperature``.

    Returns
    -------
    samples : tf.Tensor (N, S, L, A) — what the predictor sees (soft for gumbel)
    hard : tf.Tensor (N, S, L, A) — hard one-hot samples (arg-max of the same draw)
    """
    pwm = tf.convert_to_tensor(pwm, tf.float32)
    shape = tf.concat([tf.shape(pwm)[:1], [n_samples], tf.shape(pwm)[1:]], axis=0)
    uniform = tf.random.stateless_uniform(shape, seed=seed, minval=1e-20, maxval=1.0)
    gumbel = -tf.math.log(-tf.math.log(uniform))
    log_p = tf.math.log(pwm + 1e-20)[:, None]
    noisy = log_p + gumbel
    hard = tf.one_hot(tf.argmax(noisy, axis=-1), tf.shape(pwm)[-1], dtype=tf.float32)
    if sampler == "straight_through":
        p = tf.broadcast_to(pwm[:, None], shape)
        return p + tf.stop_gradient(hard - p), hard
    if sampler == "gumbel":
        return tf.nn.softmax(noisy / temperature, axis=-1), hard
    raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")


def _symmetric_bernoulli_kl(p, q):
    p = tf.clip_by_value(p, EPSILON, 1 - EPSILON)
    q = tf.clip_by_value(q, EPSILON, 1 - EPSILON)
    kl_pq = p * tf.math.log(p / q) + (1 - p) * tf.math.log((1 - p) / (1 - q))
    kl_qp = q * tf.math.log(q / p) + (1 - q) * tf.math.log((1 - q) / (1 - p))
    return kl_pq + kl_qp


def prediction_loss(original, sampled, output_kind, mode="inclusion", objective="reconstruct"):
    """Prediction term of the scrambler loss per sample (method §4).

    Parameters
    ----------
    original : tensor (N, K) — predictor output on the input (K = 1 unless softmax)
    sampled : tensor (N, S, K) — predictor output on the samples
    output_kind : {"sigmoid", "softmax", "regression"}
    mode : {"inclusion", "occlusion"}
    objective : {"reconstruct", "maximize", "minimize"}

    Returns
    -------
    tf.Tensor (N, S)
    """
    y = original[:, None, :]
    q = sampled
    if output_kind == "sigmoid":
        y, q = y[..., 0], q[..., 0]
        qc = tf.clip_by_value(q, EPSILON, 1 - EPSILON)
        if objective == "maximize":
            return -tf.math.log(qc)
        if objective == "minimize":
            return -tf.math.log(1 - qc)
        if mode == "inclusion":
            return _symmetric_bernoulli_kl(tf.broadcast_to(y, tf.shape(q)), q)
        # occlusion: push toward the opposite class of the original
        high = tf.cast(y >= 0.5, tf.float32)
        return -(high * tf.math.log(1 - qc) + (1 - high) * tf.math.log(qc))
    if output_kind == "softmax":
        yc = tf.clip_by_value(y, EPSILON, 1.0)
        qc = tf.clip_by_value(q, EPSILON, 1.0)
        top = tf.one_hot(tf.argmax(y, axis=-1), tf.shape(y)[-1])
        q_top = tf.reduce_sum(qc * top, axis=-1)
        if objective == "maximize":
            return -tf.math.log(q_top)
        if objective == "minimize":
            return -tf.math.log(tf.maximum(1 - q_top, EPSILON))
        if mode == "inclusion":
            return tf.reduce_sum(yc * tf.math.log(yc / qc), axis=-1)
        return -tf.math.log(tf.maximum(1 - q_top, EPSILON))
    # regression
    y, q = y[..., 0], q[..., 0]
    if objective == "maximize":
        return -q
    if objective == "minimize":
        return q
    squared = tf.square(y - q)
    return squared if mode == "inclusion" else -squared


KEEP_FRACTIONS = (0.02, 0.05, 0.1, 0.2)   # the KL benchmark's kept fractions (keep-set training draws one per example)


def keep_set_mask(scores, keep_counts, temperature=1.0):
    """Straight-through top-k mask of each sequence's ``k`` highest-scoring positions (our extension).

    Forward: 1 at the top ``k`` positions by score, 0 elsewhere (what the KL benchmark keeps). Backward:
    the gradient of ``sigmoid((log s - t) / (temperature * sd))``, ``t`` midway between the k-th and
    (k+1)-th log score and ``sd`` the standard deviation of the sequence's log scores.

    Parameters
    ----------
    scores : tensor (N, L), >= 0
    keep_counts : tensor (N,), int, 1 <= k < L

    Returns
    -------
    tf.Tensor (N, L)
    """
    log_s = tf.math.log(tf.convert_to_tensor(scores, tf.float32) + 1e-6)
    ordered = tf.sort(log_s, axis=-1, direction="DESCENDING")
    k = tf.cast(keep_counts, tf.int32)
    kth = tf.gather(ordered, k - 1, batch_dims=1)
    threshold = tf.stop_gradient((kth + tf.gather(ordered, k, batch_dims=1)) / 2.0)
    spread = tf.stop_gradient(tf.math.reduce_std(log_s, axis=-1)) * temperature + 1e-3
    soft = tf.sigmoid((log_s - threshold[:, None]) / spread[:, None])
    hard = tf.cast(log_s >= tf.stop_gradient(kth)[:, None], tf.float32)
    return soft + tf.stop_gradient(hard - soft)


def keep_set_samples(x, mask, background, n_samples, seed):
    """Samples (N, S, L, A) that keep ``x`` where ``mask`` (N, L) is 1 and draw the rest from ``background``
    (L, A), differentiable in ``mask`` (the KL benchmark's resampling, inside training)."""
    x = tf.convert_to_tensor(x, tf.float32)
    _, drawn = sample_pwm(tf.broadcast_to(tf.convert_to_tensor(background, tf.float32), tf.shape(x)),
                          n_samples, seed)
    m = mask[:, None, :, None]
    return m * x[:, None] + (1.0 - m) * drawn


def draw_keep_counts(rng, n, length, fractions=KEEP_FRACTIONS) -> np.ndarray:
    """Kept positions per example (n,) int32: ``round(f * length)`` of a fraction drawn from ``fractions``."""
    counts = np.round(rng.choice(np.asarray(fractions, np.float64), n) * length)
    return np.clip(counts, 1, length - 1).astype(np.int32)


def conservation_penalty(mean_bits, target_bits, weight=1.0, kind="target"):
    """``w (m - t)^2`` (target) or ``w max(m - t, 0)`` (hinge), per example, shape (N,)."""
    if kind == "target":
        return weight * tf.square(mean_bits - target_bits)
    if kind == "hinge":
        return weight * tf.nn.relu(mean_bits - target_bits)
    raise ValueError(f"penalty kind must be 'target' or 'hinge', got {kind!r}")


def gaussian_kernel(width=5, sigma=1.0) -> np.ndarray:
    """Unnormalised Gaussian (peak 1), shape (width,)."""
    grid = np.arange(width) - (width - 1) / 2
    return np.exp(-0.5 * (grid / sigma) ** 2).astype(np.float32)


DROPOUT_KINDS = ("uniform", "biased")
DROPOUT_SCALES = (1, 2, 5)


def random_drop_masks(n, length, rng, max_rate=0.5, scales=DROPOUT_SCALES, keep_all=0.25) -> np.ndarray:
    """Uniform random block dropout masks for mask-dropout training (method §7, Fig S2A).

    Per example a rate ``r ~ U(0, max_rate)`` is split over the block ``scales`` by softmax
    weights of ``U(-5, 5)`` draws; for each scale a coarse cell is kept where
    ``U(0, 1) >= r * pi_k``, each cell covers ``scale`` positions, and the scales multiply.

    Parameters
    ----------
    n, length : int
    rng : np.random.Generator
    max_rate : float — upper end of the per-example rate
    scales : sequence of int — block widths
    keep_all : float — fraction of examples with no dropout at all (all ones)

    Returns
    -------
    np.ndarray (n, length) float32 — 1 = usable, 0 = dropped
    """
    masks = np.ones((n, length), np.float32)
    rates = rng.uniform(0.0, max_rate, n)
    logits = rng.uniform(-5.0, 5.0, (n, len(scales)))
    weights = np.exp(logits - logits.max(1, keepdims=True))
    weights /= weights.sum(1, keepdims=True)
    for k, scale in enumerate(scales):
        cells = -(-length // scale)
        keep = rng.uniform(0.0, 1.0, (n, cells)) >= (rates * weights[:, k])[:, None]
        masks *= np.repeat(keep, scale, axis=1)[:, :length]
    masks[rng.uniform(0.0, 1.0, n) < keep_all] = 1.0
    return masks


def biased_drop_masks(scores, rng, max_blocks=3, scales=DROPOUT_SCALES, keep_all=0.25, present=None) -> np.ndarray:
    """Dropout masks biased toward what the scrambler itself finds important (Fig S2B).

    Block centres are drawn with probability proportional to the no-dropout ``scores``,
    so training mostly removes the features the network would choose first and it must
    learn the next explanation.

    Parameters
    ----------
    scores : np.ndarray (N, L) — importance with an all-ones mask
    rng : np.random.Generator
    max_blocks : int — 1..max_blocks blocks per example
    present : np.ndarray (N, L) bool, optional — positions that can be dropped (not padding)

    Returns
    -------
    np.ndarray (N, L) float32 — 1 = usable, 0 = dropped
    """
    scores = np.maximum(np.asarray(scores, np.float64), 0.0)
    n, length = scores.shape
    masks = np.ones((n, length), np.float32)
    for i in range(n):
        weights = scores[i] + 1e-6
        if present is not None:
            weights = weights * present[i]
        if weights.sum() <= 0 or rng.uniform() < keep_all:
            continue
        for _ in range(int(rng.integers(1, max_blocks + 1))):
            centre = int(rng.choice(length, p=weights / weights.sum()))
            width = int(rng.choice(scales))
            start = max(0, centre - width // 2)
            masks[i, start:start + width] = 0.0
    return masks


def drop_mask_from_ranges(ranges, length) -> np.ndarray:
    """A drop mask (L,) with 0 on 1-based inclusive ``ranges`` such as ``"3-8, 20"`` or ``[(3, 8), (20, 20)]``.

    Returns
    -------
    np.ndarray (L,) float32 — 1 = usable, 0 = dropped

    Raises
    ------
    ValueError — malformed text or a position outside 1..L
    """
    if isinstance(ranges, str):
        parts = []
        for token in ranges.replace(";", ",").split(","):
            token = token.strip()
            if not token:
                continue
            bounds = token.replace("..", "-").split("-")
            try:
                numbers = [int(b) for b in bounds]
            except ValueError:
                raise ValueError(f"cannot read {token!r} as a position or a range like 12-18") from None
            if len(numbers) == 1:
                numbers = numbers * 2
            if len(numbers) != 2:
                raise ValueError(f"cannot read {token!r} as a position or a range like 12-18")
            parts.append(tuple(numbers))
        ranges = parts
    mask = np.ones(length, np.float32)
    for start, end in ranges:
        start, end = int(start), int(end)
        if start > end:
            start, end = end, start
        if start < 1 or end > length:
            raise ValueError(f"positions {start}-{end} are outside 1-{length}")
        mask[start - 1:end] = 0.0
    return mask
