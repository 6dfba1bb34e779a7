"""Scrambler networks (Linder et al.): learned stochastic masks that explain a predictor.

A scrambler maps a one-hot sequence ``x`` (L, A) to importance scores ``s`` (L,)
that turn ``x`` into a PSSM (method §2). Sequences sampled from that PSSM keep
(inclusion) or lose (occlusion) the predictor's output at a chosen information
budget, the target bits (§4). A *bits-conditioned* scrambler (§6) takes the
target as an extra input channel, so one network serves every slider position.

Functions here are small and composable (``pwm_from_scores``, ``conservation``,
``sample_pwm``, ``prediction_loss``); :class:`ScramblerModel` is the Keras
network (saved as ``.keras``); :class:`Scrambler` joins it to a predictor and
offers :meth:`Scrambler.explain`; :func:`train_scrambler` trains one.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import runtime  # noqa: F401
import keras
import tensorflow as tf

from .predictors import PRETRAINED_DIR, ModelFileError, Predictor, load_keras_model, load_predictor
from .sequences import Alphabet, clean_sequence, decode, get_alphabet
from .hashing import sha256_file

MODES = ("inclusion", "occlusion")
OBJECTIVES = ("reconstruct", "maximize", "minimize")
SAMPLERS = ("straight_through", "gumbel")
EPSILON = 1e-7


# ============================================================================ maths

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


# ============================================================================ network

@keras.saving.register_keras_serializable(package="scrambler_core")
class ScramblerModel(keras.Model):
    """The residual network of method §1 that outputs importance scores, plus its PSSM settings.

    Input: one-hot ``(N, L, A)`` concatenated with condition channels
    (``(N, L, 1)`` target bits for a bits-conditioned scrambler). Output: scores
    ``(N, L)``, softplus (>= 0), optionally Gaussian-smoothed.

    Parameters
    ----------
    sequence_length, alphabet : int, str
    alphabet_letters : str, optional — the channel order when it is not the named alphabet's (e.g. a
        published protein model with 19 letters)
    position_channel : bool — a last input channel ``j / (L - 1)`` tells the network where each position
        is (our extension: the residual network is translation-equivariant, so without it the same
        motif gets the same score wherever it sits, e.g. AATAAA inside and upstream of a PAS window)
    mode : {"inclusion", "occlusion"}
    bits_conditioned : bool
    target_bits : float — the fixed target (ignored when bits-conditioned)
    bits_range : (float, float) — range of a bits-conditioned scrambler
    channels, groups, blocks, width, dilations, dropout, norm : network shape (§1)
    smoothing : None or (width, sigma)
    template : str or None — fixed positions (§2)
    background : list (L, A) — background frequencies
    predictor_name, objective, output_kind : what it explains
    bits_calibration : dict, optional — ``{"requested": [...], "condition": [...]}``: the
        bits-channel value whose realised mean conservation on held-out sequences equals
        each requested target (see :func:`calibrate_bits`); None feeds the target as is.
    mask_dropout : bool — trained with mask dropout (§7): a last input channel ``drop`` (1 = usable,
        0 = dropped) multiplies the scores, so a dropped position is left to the background
        (inclusion) or kept as observed (occlusion): it cannot be part of the explanation.
    architecture : {"single", "siamese", "joint"} — for pair predictors (§10) the input is chain a
        then chain b along the length axis (``sequence_length`` = 2 Lmax, zero rows are padding);
        siamese applies the network to each chain alone, joint sees both. Padding scores are 0.
    """

    def __init__(self, sequence_length, alphabet="dna", mode="inclusion", bits_conditioned=True,
                 target_bits=0.5, bits_range=(0.05, 2.0), channels=32, groups=5, blocks=4, width=3,
                 dilations=(1, 2, 4, 2, 1), dropout=0.0, norm="batch", smoothing=None, template=None,
                 background=None, predictor_name=None, objective="reconstruct", output_kind="regression",
                 bits_calibration=None, mask_dropout=False, architecture="single", alphabet_letters=None,
                 position_channel=False, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
        if len(dilations) != groups:
            raise ValueError(f"need one dilation per group: {groups} groups, {len(dilations)} dilations")
        if architecture not in ("single", "siamese", "joint"):
            raise ValueError(f"architecture must be 'single', 'siamese' or 'joint', got {architecture!r}")
        if architecture == "siamese" and int(sequence_length) % 2:
            raise ValueError("a siamese scrambler needs an even sequence_length (two chains of equal padded length)")
        if norm not in ("batch", "instance", "none"):
            raise ValueError(f"norm must be 'batch', 'instance' or 'none', got {norm!r}")
        self.sequence_length = int(sequence_length)
        self.alphabet = get_alphabet(alphabet)
        if alphabet_letters and alphabet_letters != self.alphabet.letters:      # a model's own letter order
            self.alphabet = Alphabet(self.alphabet.name, str(alphabet_letters))
        self.mode, self.objective, self.output_kind = mode, objective, output_kind
        self.bits_conditioned = bool(bits_conditioned)
        self.target_bits = float(target_bits)
        self.bits_range = tuple(float(b) for b in bits_range)
        self.channels, self.groups, self.blocks, self.width = channels, groups, blocks, width
        self.dilations = tuple(int(d) for d in dilations)
        self.dropout_rate, self.norm = float(dropout), norm
        self.smoothing = tuple(smoothing) if smoothing else None
        self.template = template
        self.predictor_name = predictor_name
        self.bits_calibration = bits_calibration
        self.mask_dropout = bool(mask_dropout)
        self.position_channel = bool(position_channel)
        self.architecture = architecture
        if background is None:
            background = uniform_background(self.sequence_length, self.alphabet.size)
        self.background = np.asarray(background, dtype=np.float32)
        if self.background.shape != (self.sequence_length, self.alphabet.size):
            raise ValueError(f"background has shape {self.background.shape}, expected "
                             f"({self.sequence_length}, {self.alphabet.size})")
        free, offset = template_arrays(template, self.alphabet, self.sequence_length)
        self.free, self.offset = free, offset

        def norm_layer():
            if norm == "batch":
                return keras.layers.BatchNormalization()
            if norm == "instance":
                return keras.layers.GroupNormalization(groups=channels)
            return keras.layers.Identity()

        self.input_conv = keras.layers.Conv1D(channels, 1, padding="same")
        self.skip_convs = [keras.layers.Conv1D(channels, 1, padding="same") for _ in range(groups)]
        self.block_layers = []
        for g in range(groups):
            for _ in range(blocks):
                self.block_layers.append([
                    norm_layer(), keras.layers.Conv1D(channels, width, padding="same", dilation_rate=self.dilations[g]),
                    norm_layer(), keras.layers.Conv1D(channels, width, padding="same", dilation_rate=self.dilations[g]),
                    keras.layers.Dropout(self.dropout_rate)])
        self.final_conv = keras.layers.Conv1D(channels, 1, padding="same")
        self.score_conv = keras.layers.Conv1D(1, 1, padding="same")

    @property
    def n_condition_channels(self) -> int:
        """Extra input channels after the one-hot: target bits, drop (mask dropout), position."""
        return int(self.bits_conditioned) + int(self.mask_dropout) + int(self.position_channel)

    @property
    def is_pair(self) -> bool:
        """True for a siamese or joint scrambler of a pair predictor."""
        return self.architecture != "single"

    def build(self, input_shape):
        self.call(keras.ops.zeros((1,) + tuple(input_shape[1:])))
        super().build(input_shape)

    def call(self, inputs, training=False):
        size = self.alphabet.size
        if self.architecture == "siamese":          # each chain on its own through the same network
            half = self.sequence_length // 2
            scores = self._scores(tf.reshape(inputs, [-1, half, inputs.shape[-1]]), training)
            scores = tf.reshape(scores, [-1, self.sequence_length])
        else:
            scores = self._scores(inputs, training)
        scores = scores * tf.reshape(self.free[:, 0], [1, -1])
        if self.mask_dropout:
            scores = scores * inputs[..., size + int(self.bits_conditioned)]
        if self.is_pair:
            scores = scores * self.present(inputs[..., :size])
        return scores

    def present(self, x):
        """1 at residues, 0 at padding (all-zero rows), shape (N, L); all ones for a single-input scrambler."""
        x = tf.convert_to_tensor(x, tf.float32)
        if not self.is_pair:
            return tf.ones(tf.shape(x)[:2], tf.float32)
        return tf.cast(tf.reduce_sum(x, axis=-1) > 0.0, tf.float32)

    def position_weights(self, x, free=None):
        """Positions counted in the conservation mean: free and (pairs) not padding, (N, L)."""
        free = self.free if free is None else free
        return self.present(x) * tf.reshape(tf.convert_to_tensor(free, tf.float32)[:, 0], [1, -1])

    def mask_samples(self, samples, x):
        """Zero the padding rows of samples (N, S, L, A) of pairs; unchanged otherwise."""
        if not self.is_pair:
            return samples
        return samples * self.present(x)[:, None, :, None]

    def _scores(self, inputs, training):
        h = self.input_conv(inputs)
        skips = []
        k = 0
        for g in range(self.groups):
            skips.append(self.skip_convs[g](h))
            for _ in range(self.blocks):
                norm1, conv1, norm2, conv2, drop = self.block_layers[k]
                k += 1
                r = conv1(keras.ops.relu(norm1(h, training=training)))
                r = conv2(keras.ops.relu(norm2(r, training=training)))
                h = h + drop(r, training=training)
        h = self.final_conv(h)
        for skip in skips:
            h = h + skip
        scores = keras.ops.softplus(self.score_conv(h))[..., 0]
        if self.smoothing:
            kernel = gaussian_kernel(*self.smoothing)
            scores = tf.nn.conv1d(scores[..., None], kernel[:, None, None], stride=1, padding="SAME")[..., 0]
        return scores

    def bits_condition(self, target_bits):
        """Bits-channel value for requested targets, through the calibration map when there is one.

        Parameters
        ----------
        target_bits : float or np.ndarray (N,)

        Returns
        -------
        np.ndarray (N,) float32
        """
        t = np.atleast_1d(np.asarray(target_bits, dtype=np.float64))
        if self.bits_calibration:
            t = np.interp(t, self.bits_calibration["requested"], self.bits_calibration["condition"])
        return t.astype(np.float32)

    def network_input(self, x, bits_channel, drop=None):
        """Concatenate one-hot (N, L, A) with the bits channel (N,) and the drop mask (N, L).

        ``drop`` defaults to all ones (nothing dropped); it is ignored by a scrambler
        trained without mask dropout. Returns (N, L, A + c).
        """
        x = tf.convert_to_tensor(x, tf.float32)
        parts = [x]
        if self.bits_conditioned:
            t = tf.reshape(tf.cast(bits_channel, tf.float32), [-1, 1, 1])
            parts.append(tf.broadcast_to(t, tf.concat([tf.shape(x)[:2], [1]], axis=0)))
        if self.mask_dropout:
            d = tf.ones(tf.shape(x)[:2], tf.float32) if drop is None else tf.cast(drop, tf.float32)
            parts.append(d[..., None])
        if self.position_channel:
            ramp = tf.linspace(0.0, 1.0, self.sequence_length)
            parts.append(tf.broadcast_to(ramp[None, :, None], tf.concat([tf.shape(x)[:2], [1]], axis=0)))
        return parts[0] if len(parts) == 1 else tf.concat(parts, axis=-1)

    def pwm(self, x, scores, free=None, offset=None):
        """PSSM (N, L, A) of one-hot ``x`` under ``scores`` with this scrambler's mode and background.

        ``free`` (L, 1) / ``offset`` (L, A) override the template (see :meth:`Scrambler.explain`).
        Padding rows of pairs are all zero (nothing is sampled there).
        """
        free = self.free if free is None else free
        offset = self.offset if offset is None else offset
        pwm = pwm_from_scores(x, scores, self.background, self.mode, free, offset)
        return pwm * self.present(x)[..., None] if self.is_pair else pwm

    def get_config(self):
        config = super().get_config()
        config.update({
            "sequence_length": self.sequence_length, "alphabet": self.alphabet.name, "mode": self.mode,
            "bits_conditioned": self.bits_conditioned, "target_bits": self.target_bits,
            "bits_range": list(self.bits_range), "channels": self.channels, "groups": self.groups,
            "blocks": self.blocks, "width": self.width, "dilations": list(self.dilations),
            "dropout": self.dropout_rate, "norm": self.norm,
            "smoothing": list(self.smoothing) if self.smoothing else None, "template": self.template,
            "background": self.background.tolist(), "predictor_name": self.predictor_name,
            "objective": self.objective, "output_kind": self.output_kind,
            "bits_calibration": self.bits_calibration, "mask_dropout": self.mask_dropout,
            "architecture": self.architecture, "alphabet_letters": self.alphabet.letters,
            "position_channel": self.position_channel,
        })
        return config


# ============================================================================ explanations

@dataclass
class Explanation:
    """What a scrambler says about a batch of sequences.

    Attributes
    ----------
    importance : np.ndarray (N, L) — scores s >= 0 (occlusion: large = randomised)
    pwm : np.ndarray (N, L, A) — rows sum to 1
    samples : np.ndarray (N, S, L, A) — hard one-hot samples from ``pwm``
    sample_predictions : np.ndarray (N, S)
    prediction : np.ndarray (N,) — prediction on the original sequence
    conservation : np.ndarray (N,) — realised mean bits over free positions
    per_position_bits : np.ndarray (N, L)
    target_bits : float
    mode : str
    sequences : list of str (pairs: list of (seq_a, seq_b))
    drop : np.ndarray (N, L) or None — the drop mask used (1 = usable, 0 = dropped)
    fixed : np.ndarray (L,) bool — positions fixed by the template (drawn black in logos)
    chain_length : int — pairs: Lmax, the length of each half (chain a = ``[:, :Lmax]``); 0 otherwise
    """

    importance: np.ndarray
    pwm: np.ndarray
    samples: np.ndarray
    sample_predictions: np.ndarray
    prediction: np.ndarray
    conservation: np.ndarray
    per_position_bits: np.ndarray
    target_bits: float
    mode: str
    sequences: list = field(default_factory=list)
    alphabet: str = "dna"
    drop: np.ndarray | None = None
    chain_length: int = 0
    fixed: np.ndarray | None = None

    def chains(self, array) -> tuple:
        """Split a per-position array of a pair explanation (e.g. ``importance``) into chain a and chain b.

        Parameters
        ----------
        array : np.ndarray (N, 2 Lmax, ...)

        Returns
        -------
        (np.ndarray (N, Lmax, ...), np.ndarray (N, Lmax, ...))
        """
        if not self.chain_length:
            raise ValueError("not a pair explanation")
        return array[:, :self.chain_length], array[:, self.chain_length:]

    @property
    def mean_sample_prediction(self) -> np.ndarray:
        """Mean prediction over the samples, shape (N,)."""
        return self.sample_predictions.mean(axis=1)

    def sample_sequences(self, index=0) -> list[str]:
        """The samples of sequence ``index`` as strings."""
        letters = np.array(list(get_alphabet(self.alphabet).letters))
        if self.chain_length:
            out = []
            for row in self.samples[index]:
                chars = np.where(row.sum(-1) > 0, letters[row.argmax(-1)], "")
                out.append("".join(chars[:self.chain_length]) + "/" + "".join(chars[self.chain_length:]))
            return out
        return ["".join(row) for row in letters[self.samples[index].argmax(-1)]]


BATCH_BUCKETS = (1, 4, 16, 64, 256, 1024)   # compiled batch shapes; 256 and 1024 only when batch_size asks (GPU)


def _bucket(n):
    for b in BATCH_BUCKETS:
        if n <= b:
            return b
    return BATCH_BUCKETS[-1]


class Scrambler:
    """A trained scrambler joined to the predictor it explains.

    Parameters
    ----------
    network : ScramblerModel
    predictor : Predictor
    card : dict, optional — model card
    """

    def __init__(self, network: ScramblerModel, predictor: Predictor, card=None, path=None):
        from .pairs import as_single_input
        if network.is_pair != bool(getattr(predictor, "is_pair", False)
                                   or getattr(predictor, "is_concatenated_pair", False)):
            raise ModelFileError(f"a {network.architecture} scrambler cannot explain predictor {predictor.name!r}"
                                 f" ({'a pair' if getattr(predictor, 'is_pair', False) else 'a single-input'} "
                                 "predictor)")
        predictor = as_single_input(predictor)
        if network.sequence_length != predictor.sequence_length:
            raise ModelFileError(f"scrambler is for length {network.sequence_length} but predictor "
                                 f"{predictor.name!r} takes length {predictor.sequence_length}")
        if network.alphabet.size != predictor.alphabet.size:
            raise ModelFileError(f"scrambler is for the {network.alphabet.name} alphabet but predictor "
                                 f"{predictor.name!r} reads {predictor.alphabet.name}")
        self.network = network
        self.predictor = predictor
        self.card = card or {}
        self.path = str(path) if path else None
        self._graph = tf.function(self._explain_graph, reduce_retracing=False)
        self._scores_graph = tf.function(
            lambda x, bits_channel, drop: self.network(self.network.network_input(x, bits_channel, drop),
                                                       training=False),
            reduce_retracing=False)

    def __repr__(self):
        kind = (f"bits-conditioned {self.network.bits_range[0]}-{self.network.bits_range[1]} bits"
                if self.network.bits_conditioned else f"{self.network.target_bits} bits")
        extras = "".join([f", {self.network.architecture}" if self.network.is_pair else "",
                          f", objective={self.network.objective!r}" if self.network.objective != "reconstruct" else "",
                          ", mask dropout" if self.network.mask_dropout else ""])
        return f"Scrambler(predictor={self.predictor.name!r}, mode={self.mode!r}, {kind}{extras})"

    @property
    def objective(self) -> str:
        """``"reconstruct"``, ``"maximize"`` (positive features) or ``"minimize"`` (negative features)."""
        return self.network.objective

    @property
    def is_pair(self) -> bool:
        """True when it explains a pair predictor (siamese or joint)."""
        return self.network.is_pair

    def _batches(self, x, drop, target_bits, batch_size):
        """Chunks of at most ``batch_size`` (<= 1024) padded to a bucket size, so the compiled graphs see few shapes.

        Yields
        ------
        (chunk index, real rows, one-hot (B, L, A), bits channel (B,), drop mask (B, L)) — tensors
        """
        step = max(1, min(int(batch_size), BATCH_BUCKETS[-1]))
        for chunk_index, start in enumerate(range(0, len(x), step)):
            count = len(x[start:start + step])
            size = _bucket(count)
            padded = np.zeros((size,) + x.shape[1:], dtype=np.float32)
            padded[:count] = x[start:start + step]
            drop_padded = np.ones((size, x.shape[1]), np.float32)
            drop_padded[:count] = drop[start:start + step]
            channel = np.repeat(self.network.bits_condition(target_bits), size)
            yield chunk_index, count, tf.constant(padded), tf.constant(channel), tf.constant(drop_padded)

    def _template_arrays(self, template, x):
        """The scrambler's fixed positions joined with a per-call ``template``: free (L, 1), offset (L, A)."""
        net = self.network
        if template is None:
            return net.free, net.offset
        free, offset = template_arrays(template, self.predictor.alphabet, net.sequence_length)
        fixed = np.flatnonzero(free[:, 0] == 0)
        if len(fixed):
            wanted = offset[fixed].argmax(-1)                       # (F,)
            observed = x[:, fixed].argmax(-1)                       # (N, F)
            bad = (observed != wanted) | (x[:, fixed].max(-1) < 1)
            if bad.any():
                k, b = np.argwhere(bad)[0]
                letters = self.predictor.alphabet.letters
                raise ValueError(f"sequence {k + 1} has {letters[observed[k, b]]!r} at position {fixed[b] + 1} but "
                                 f"the template fixes {letters[wanted[b]]!r} there")
        both_free = (net.free * free).astype(np.float32)
        joined = np.where(net.free == 0, net.offset, offset).astype(np.float32)
        return both_free, joined

    def _drop_array(self, drop, n):
        """Validate a drop mask: None, (L,) for every sequence, (N, L), or for pairs a (drop_a, drop_b) tuple."""
        length = self.network.sequence_length
        if drop is None:
            return np.ones((n, length), np.float32)
        if not self.network.mask_dropout:
            raise ValueError("this scrambler was not trained with mask dropout, so it cannot look for an "
                             "alternative explanation; load one with load_scrambler(name, dropout=True)")
        if isinstance(drop, tuple) and self.network.is_pair:
            half = [np.asarray(d, np.float32) for d in drop]
            drop = np.concatenate([np.broadcast_to(h, (n, length // 2)) if h.ndim == 1 else h for h in half], 1)
        drop = np.asarray(drop, np.float32)
        if drop.ndim == 1:
            drop = np.broadcast_to(drop, (n, drop.shape[0]))
        if drop.shape != (n, length):
            raise ValueError(f"drop mask has shape {drop.shape}; expected ({n}, {length}) with 1 = usable, "
                             "0 = dropped")
        if not np.all((drop == 0) | (drop == 1)):
            raise ValueError("drop mask must hold only 0 (dropped) and 1 (usable)")
        return np.ascontiguousarray(drop)

    @property
    def mode(self) -> str:
        return self.network.mode

    @property
    def background(self) -> np.ndarray:
        """Background PWM, shape (L, A)."""
        return self.network.background

    def _check_bits(self, target_bits):
        net = self.network
        if target_bits is None:
            return net.target_bits if not net.bits_conditioned else 0.5
        target_bits = float(target_bits)
        if net.bits_conditioned:
            low, high = net.bits_range
            if not (low - 1e-9 <= target_bits <= high + 1e-9):
                raise ValueError(f"target_bits {target_bits} is outside this scrambler's range {low}-{high}")
        elif abs(target_bits - net.target_bits) > 1e-6:
            raise ValueError(f"this scrambler was trained for {net.target_bits} bits only; "
                             "use a bits-conditioned scrambler for other targets")
        return target_bits

    def _explain_graph(self, x, bits_channel, drop, free, offset, seed, n_samples):
        net = self.network
        scores = net(net.network_input(x, bits_channel, drop), training=False) * tf.reshape(free, [1, -1])
        pwm = net.pwm(x, scores, free, offset)
        per_position, mean_bits = conservation(pwm, net.background, net.position_weights(x, free))
        _, hard = sample_pwm(pwm, n_samples, seed)
        hard = net.mask_samples(hard, x)
        flat = tf.reshape(hard, tf.concat([[-1], tf.shape(x)[1:]], axis=0))
        sample_pred = tf.reshape(self.predictor.output_tensor(flat), [tf.shape(x)[0], n_samples])
        original = self.predictor.output_tensor(x)
        return scores, pwm, hard, sample_pred, original, mean_bits, per_position

    def scores(self, seqs, target_bits=None, batch_size=64, allow_n=False, drop=None, template=None):
        """Importance scores only: one forward pass of the network, no sampling, no predictor call.

        Parameters
        ----------
        seqs : str, list of str, or np.ndarray (N, L, A); pairs: list of (seq_a, seq_b)
        target_bits : float, optional
        drop : np.ndarray (N, L) or (L,), optional — see :meth:`explain`
        template : str, optional — fixed positions, see :meth:`explain`

        Returns
        -------
        np.ndarray (N, L), float32 — the same scores :meth:`explain` reports
        """
        target_bits = self._check_bits(target_bits)
        x = self.predictor.to_onehot(seqs, allow_n=allow_n, background=self.background)
        drop = self._drop_array(drop, len(x))
        free, _ = self._template_arrays(template, x)
        out = []
        for _, count, padded, channel, drop_padded in self._batches(x, drop, target_bits, batch_size):
            out.append(self._scores_graph(padded, channel, drop_padded).numpy()[:count])
        return (np.concatenate(out) * free[:, 0]).astype(np.float32)

    def explain(self, seqs, target_bits=None, n_samples=32, seed=0, batch_size=64, allow_n=False, drop=None,
                template=None, return_samples=True):
        """Explain sequences: importance, PWM, samples and predictions on them.

        Parameters
        ----------
        seqs : str, list of str, or np.ndarray (N, L, A); for a pair scrambler a (seq_a, seq_b)
            tuple or a list of them (the arrays are then chain a then chain b, L = 2 Lmax)
        target_bits : float — in the scrambler's bits range (bits-conditioned) or its fixed target
        n_samples : int, S
        seed : int — same seed, same result
        batch_size : int — sequences per compiled call (padded to a fixed bucket size)
        allow_n : bool — accept ``N`` and fill it with the scrambler's background
        drop : np.ndarray (N, L) or (L,), optional — mask dropout (method §7): 1 = usable, 0 = dropped.
            Dropped positions cannot be part of the explanation, so a scrambler trained with mask
            dropout shows the alternative feature set that still explains the prediction.
        template : str, optional — fixed positions (method §2), length L: a letter fixes that position
            (constant regions such as a reporter's flanks), ``N`` / ``.`` / ``-`` leaves it free. Fixed
            positions keep their letter in the PWM and every sample, score 0, and are left out of the
            conservation mean. Added to the scrambler's own template; every sequence must carry the
            template's letters.
        return_samples : bool — False leaves ``samples`` empty, (N, 0, L, A): batch scoring needs only the
            sample predictions, and the samples are S times the input's size

        Returns
        -------
        Explanation
        """
        target_bits = self._check_bits(target_bits)
        x = self.predictor.to_onehot(seqs, allow_n=allow_n, background=self.background)
        drop_given = drop is not None
        drop = self._drop_array(drop, len(x))
        free, offset = self._template_arrays(template, x)
        n_samples = int(n_samples)
        if n_samples < 1:
            raise ValueError("n_samples must be at least 1")
        results = []
        for chunk_index, count, padded, channel, drop_padded in self._batches(x, drop, target_bits, batch_size):
            out = self._graph(padded, channel, drop_padded, tf.constant(free), tf.constant(offset),
                              tf.constant([int(seed), chunk_index], tf.int32), n_samples)
            results.append([o.numpy()[:count] if (k != 2 or return_samples)
                            else np.zeros((count, 0) + tuple(x.shape[1:]), np.float32)
                            for k, o in enumerate(out)])
        scores, pwm, hard, sample_pred, original, mean_bits, per_position = (
            np.concatenate(parts) for parts in zip(*results))
        if self.network.is_pair:
            names = self.predictor.sequences(x)
        elif isinstance(seqs, np.ndarray):
            names = decode(x, self.predictor.alphabet)
        else:
            names = [clean_sequence(s, self.predictor.alphabet) for s in ([seqs] if isinstance(seqs, str) else seqs)]
        return Explanation(importance=scores, pwm=pwm, samples=hard, sample_predictions=sample_pred,
                           prediction=original, conservation=mean_bits, per_position_bits=per_position,
                           target_bits=target_bits, mode=self.mode, sequences=names,
                           alphabet=self.predictor.alphabet.name, drop=drop if drop_given else None,
                           fixed=free[:, 0] == 0,
                           chain_length=self.predictor.chain_length if self.network.is_pair else 0)

    def save(self, path, card=None):
        """Save the network as ``.keras`` (atomic) and the model card beside it as ``.json``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp.keras")
        self.network.save(tmp)
        tmp.replace(path)
        card = card if card is not None else self.card
        if card:
            card_tmp = path.with_suffix(".json.tmp")
            card_tmp.write_text(json.dumps(card, indent=2) + "\n")
            card_tmp.replace(path.with_suffix(".json"))


def external_scrambler_path(predictor_name, weights_sha256, mode="inclusion", objective="reconstruct") -> Path:
    """Where the pretrained scrambler for a published model's weights file lives (keyed by its SHA-256)."""
    suffix = "" if objective == "reconstruct" else f"_{objective}"
    return PRETRAINED_DIR / f"{predictor_name}-{weights_sha256[:16]}_{mode}{suffix}.keras"


def _external_scrambler(key, mode, objective, predictor, model_path):
    from .predictors import load_predictor
    predictor = predictor or load_predictor(key, path=model_path)
    sha = predictor.card.get("weights_sha256", "")
    path = external_scrambler_path(key, sha, mode, objective)
    if path.exists():
        return path, predictor
    suffix = "" if objective == "reconstruct" else f"_{objective}"
    others = []
    for other in sorted(PRETRAINED_DIR.glob(f"{key}-*_{mode}{suffix}.keras")):
        card_path = other.with_suffix(".json")
        card = json.loads(card_path.read_text()) if card_path.exists() else {}
        others.append(f"{card.get('predictor_file', '?')} (sha256 {card.get('predictor_sha256', other.stem)[:16]}…)")
    trained_for = (f"; the pretrained {mode} scramblers for {key} were trained against " + ", ".join(others)
                   if others else f"; there is no pretrained {mode} scrambler for {key}")
    raise ModelFileError(
        f"no pretrained {mode} scrambler matches this {key} weights file ({Path(predictor.path).name}, sha256 "
        f"{sha[:16]}…){trained_for}. A scrambler only explains the exact weights it was trained against; train "
        f"one with: python -m scrambler_core train-scrambler --predictor {key} --model-path FILE --mode {mode}")


def pretrained_scrambler_name(name, mode="inclusion", objective="reconstruct", dropout=False, architecture=None) -> str:
    """File stem of a built-in's pretrained scrambler: ``NAME_MODE[_OBJECTIVE][_ARCHITECTURE][_dropout]``.

    Examples
    --------
    >>> pretrained_scrambler_name("polya", "inclusion", "maximize")
    'polya_inclusion_maximize'
    >>> pretrained_scrambler_name("binder", "occlusion", architecture="siamese")
    'binder_occlusion_siamese'
    """
    parts = [name, mode]
    if objective != "reconstruct":
        parts.append(objective)
    if architecture:
        parts.append(architecture)
    if dropout:
        parts.append("dropout")
    return "_".join(parts)


def load_scrambler(name_or_path, mode="inclusion", objective="reconstruct", predictor=None, path=None,
                   dropout=False, architecture=None) -> Scrambler:
    """Load a pretrained scrambler for a built-in or published predictor, or a ``.keras`` scrambler file.

    Parameters
    ----------
    name_or_path : str
        ``"utr5"`` / ``"polya"`` (pretrained ``NAME_MODE.keras``), ``"optimus5"`` / ``"aparent2"``
        (pretrained ``NAME-SHA_MODE.keras``, chosen by the SHA-256 of the predictor's weights file) or a path.
    mode : {"inclusion", "occlusion"}
    objective : {"reconstruct", "maximize", "minimize"}
    predictor : Predictor, optional — the predictor it explains (default: the
        built-in named in the scrambler file, or the published model at ``path``).
    path : str or Path, optional — a published model's weights file (default ``$SCRAMBLER_MODELS_DIR``)
    dropout : bool — the scrambler trained with mask dropout (accepts ``explain(..., drop=mask)``)
    architecture : {"siamese", "joint"}, optional — pair predictors only (default siamese)

    Returns
    -------
    Scrambler

    Raises
    ------
    ModelFileError — no pretrained scrambler, or one trained against other weights
    """
    from .external import EXTERNAL_PREDICTORS
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    key = str(name_or_path)
    scrambler_path = Path(key)
    if key in EXTERNAL_PREDICTORS:
        if dropout or architecture:
            raise ModelFileError(f"there is no pretrained {'mask-dropout' if dropout else architecture} scrambler for "
                                 f"the published model {key}; train one with: python -m scrambler_core "
                                 f"train-scrambler --predictor {key} --model-path FILE --mode {mode}"
                                 + (" --dropout uniform --output FILE.keras" if dropout else ""))
        scrambler_path, predictor = _external_scrambler(key, mode, objective, predictor, path)
    elif scrambler_path.suffix != ".keras":
        from .pairs import ARCHITECTURES
        from .predictors import PAIR_BUILTINS
        if key in PAIR_BUILTINS:
            architecture = architecture or "siamese"
            if architecture not in ARCHITECTURES:
                raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}")
        elif architecture:
            raise ValueError(f"{key!r} takes one sequence; architecture= is only for pair predictors")
        stem = pretrained_scrambler_name(key, mode, objective, dropout, architecture)
        scrambler_path = PRETRAINED_DIR / f"{stem}.keras"
        if not scrambler_path.exists():
            options = "".join([f" --objective {objective}" if objective != "reconstruct" else "",
                               f" --architecture {architecture}" if architecture else "",
                               " --dropout uniform" if dropout else ""])
            raise ModelFileError(f"no pretrained {mode} scrambler ({objective}{', mask dropout' if dropout else ''}) "
                                 f"for {key!r} at {scrambler_path}; train one with: python -m scrambler_core "
                                 f"train-scrambler --predictor {key} --mode {mode}{options}")
    network = load_keras_model(scrambler_path)
    if not isinstance(network, ScramblerModel):
        raise ModelFileError(f"{scrambler_path.name} is a Keras model but not a scrambler")
    card_path = scrambler_path.with_suffix(".json")
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    if predictor is None:
        if not network.predictor_name:
            raise ModelFileError(f"{scrambler_path.name} does not name its predictor; pass predictor=")
        predictor = load_predictor(network.predictor_name, path=path)
    trained_sha = card.get("predictor_sha256")
    actual_sha = getattr(predictor, "card", {}).get("weights_sha256")
    if trained_sha and actual_sha and trained_sha != actual_sha:
        raise ModelFileError(f"{scrambler_path.name} was trained against {card.get('predictor_file')} (sha256 "
                             f"{trained_sha[:16]}…) but the predictor's file has sha256 {actual_sha[:16]}…")
    return Scrambler(network, predictor, card=card, path=scrambler_path)


# ============================================================================ training

def _bits_schedule_floor(epoch, schedule):
    return schedule[epoch] if schedule and epoch < len(schedule) else None


def train_scrambler(predictor: Predictor, sequences, *, mode="inclusion", objective="reconstruct",
                    bits_conditioned=True, target_bits=0.5, bits_range=(0.05, 2.0),
                    bits_schedule=(1.8, 1.2, 0.8, 0.5, 0.35), epochs=8, batch_size=32, n_samples=32,
                    learning_rate=1e-4, sampler=None, penalty_weight=None, penalty_kind="target",
                    network_options=None, background=None, template=None, seed=0, validation=None,
                    checkpoint=None, progress=None, log=print, time_limit=None, jit_compile=False,
                    validation_fn=None, init_from=None, mask_dropout=None, dropout_max_rate=0.5,
                    architecture=None):
    """Train a scrambler for a frozen predictor (method §4-6).

    Parameters
    ----------
    predictor : Predictor (or a pair predictor: then ``sequences`` are (seq_a, seq_b) pairs)
    sequences : np.ndarray (N, L, A) or list of str — training inputs (no labels needed)
    mode : {"inclusion", "occlusion"}
    objective : {"reconstruct", "maximize", "minimize"}
    bits_conditioned : bool — one network for every target in ``bits_range`` (§6)
    target_bits : float — fixed target (when not bits-conditioned)
    bits_schedule : sequence of float — per-epoch warm-up: the lowest target allowed in
        epoch e (bits-conditioned) or the target itself (fixed); afterwards the real range.
    epochs, batch_size, n_samples, learning_rate : training settings (Adam, beta 0.5 / 0.9)
    sampler : {"straight_through", "gumbel"} — default straight-through for classifiers,
        Gumbel for regressors
    penalty_weight : float or sequence of float — default 1 (inclusion) / 10 (occlusion);
        bits-conditioned: 10. A sequence gives the weight per epoch (the last one repeats).
    network_options : dict — ScramblerModel shape options
    background : np.ndarray (L, A), optional — default from ``sequences``
    validation : np.ndarray (M, L, A), optional — held-out inputs for per-epoch bits tracking
    checkpoint : path, optional — save after each epoch and resume from it
    progress : callable(epoch, step, steps, logs), optional
    time_limit : float, optional — stop after this many seconds (checkpoint kept)
    jit_compile : bool — compile the train step with XLA
    validation_fn : callable(Scrambler) -> dict, optional — extra per-epoch checks; a ``selection_score``
        in its dict makes training end on the epoch that scored highest (not the last)
    init_from : path, optional — a scrambler ``.keras`` whose weights start the training (transfer from a
        scrambler of a related predictor, or from the same scrambler without mask dropout: the drop
        channel's input weights then start at zero, so the start behaves exactly like the source)
    mask_dropout : {None, "uniform", "biased"} — train with mask dropout (§7): uniform random block
        masks (:func:`random_drop_masks`) or masks drawn where the network's own no-dropout scores are
        high (:func:`biased_drop_masks`)
    dropout_max_rate : float — upper end of the per-example dropout rate (uniform masks)
    architecture : {"siamese", "joint"} — pair predictors only (default siamese, §10)

    Returns
    -------
    scrambler : Scrambler
    history : list of dict — per-epoch losses and bits tracking
    """
    from .pairs import ARCHITECTURES, as_single_input
    if mask_dropout not in (None, *DROPOUT_KINDS):
        raise ValueError(f"mask_dropout must be None or one of {', '.join(DROPOUT_KINDS)}, got {mask_dropout!r}")
    if getattr(predictor, "is_pair", False):
        architecture = architecture or "siamese"
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}")
    elif architecture not in (None, "single"):
        raise ValueError(f"architecture={architecture!r} is only for pair predictors")
    options = {k: v for k, v in locals().items() if k not in ("predictor", "sequences", "ARCHITECTURES",
                                                              "as_single_input")}
    options["architecture"] = architecture or "single"
    predictor = as_single_input(predictor)
    return _TrainingRun(predictor, predictor.to_onehot(sequences), options).run()


class _TrainingRun:
    """One :func:`train_scrambler` call: the network, its optimizer, the compiled step and the per-epoch loop."""

    def __init__(self, predictor, x, options):
        self.predictor, self.x, self.o = predictor, x, dict(options)
        o = self.o
        self.rng = np.random.default_rng(o["seed"])
        keras.utils.set_random_seed(o["seed"])
        o["sampler"] = o["sampler"] or ("gumbel" if predictor.output_kind == "regression" else "straight_through")
        if o["penalty_weight"] is None:
            o["penalty_weight"] = 10.0 if (o["mode"] == "occlusion" or o["bits_conditioned"]) else 1.0
        self.weights_per_epoch = list(np.atleast_1d(np.asarray(o["penalty_weight"], dtype=np.float32)))
        self.network = self._build_network()
        self.optimizer = keras.optimizers.Adam(o["learning_rate"], beta_1=0.5, beta_2=0.9)
        self.optimizer.build(self.network.trainable_variables)
        self.start_epoch, self.history = 0, []
        if checkpoint_epoch(o["checkpoint"]):
            self.start_epoch, self.history = _restore_checkpoint(self.network, self.optimizer, o["checkpoint"])
            o["log"](f"resumed from {o['checkpoint']} after epoch {self.start_epoch}")
        network = self.network
        self.no_drop_scores = tf.function(lambda xb, tb: network(network.network_input(xb, tb), training=False),
                                          reduce_retracing=True)
        self.drop_rng = np.random.default_rng(o["seed"] + 31)
        self.train_step = self._compile_step()
        self.steps = len(x) // o["batch_size"]

    def _build_network(self):
        o, predictor = self.o, self.predictor
        background = o["background"] if o["background"] is not None else background_from_sequences(self.x)
        network = ScramblerModel(predictor.sequence_length, predictor.alphabet.name, mode=o["mode"],
                                 bits_conditioned=o["bits_conditioned"], target_bits=o["target_bits"],
                                 bits_range=o["bits_range"], background=background, template=o["template"],
                                 predictor_name=predictor.name, objective=o["objective"],
                                 output_kind=predictor.output_kind, mask_dropout=bool(o["mask_dropout"]),
                                 architecture=o["architecture"], alphabet_letters=predictor.alphabet.letters,
                                 **dict(o["network_options"] or {}))
        network.build((None, predictor.sequence_length, predictor.alphabet.size + network.n_condition_channels))
        if o["init_from"] is not None:
            _initialise_from(network, o["init_from"])
            o["log"](f"initialised from {o['init_from']}")
        return network

    def _full_output(self, inputs):
        y = self.predictor.model(inputs, training=False)
        return tf.reshape(y, [tf.shape(y)[0], -1])

    def _compile_step(self):
        o, network, optimizer = self.o, self.network, self.optimizer
        kind, n_samples = self.predictor.output_kind, o["n_samples"]

        @tf.function(reduce_retracing=True, jit_compile=o["jit_compile"])
        def train_step(xb, tb, drop, seed_pair, weight):
            original = self._full_output(xb)
            with tf.GradientTape() as tape:
                scores = network(network.network_input(xb, tb, drop), training=True)
                pwm = network.pwm(xb, scores)
                _, mean_bits = conservation(pwm, network.background, network.position_weights(xb))
                samples, _ = sample_pwm(pwm, n_samples, seed_pair, o["sampler"])
                samples = network.mask_samples(samples, xb)
                flat = tf.reshape(samples, tf.concat([[-1], tf.shape(xb)[1:]], axis=0))
                sampled = tf.reshape(self._full_output(flat), [tf.shape(xb)[0], n_samples, -1])
                pred_loss = tf.reduce_mean(prediction_loss(original, sampled, kind, o["mode"], o["objective"]), axis=1)
                penalty = conservation_penalty(mean_bits, tb, weight, o["penalty_kind"])
                loss = tf.reduce_mean(pred_loss + penalty)
            grads = tape.gradient(loss, network.trainable_variables)
            optimizer.apply_gradients(zip(grads, network.trainable_variables))
            return loss, tf.reduce_mean(pred_loss), tf.reduce_mean(mean_bits), tf.reduce_mean(tf.abs(mean_bits - tb))

        return train_step

    def drop_masks(self, xb, t):
        """Mask-dropout masks (N, L) for a batch: all ones without mask dropout."""
        o = self.o
        if not o["mask_dropout"]:
            return np.ones(xb.shape[:2], np.float32)
        if o["mask_dropout"] == "uniform":
            return random_drop_masks(len(xb), xb.shape[1], self.drop_rng, max_rate=o["dropout_max_rate"])
        scores = self.no_drop_scores(tf.constant(xb), tf.constant(t, tf.float32)).numpy()
        return biased_drop_masks(scores, self.drop_rng, present=xb.sum(-1) > 0)

    def targets_for(self, epoch):
        """Target bits (batch,) for one step of ``epoch``: drawn (bits-conditioned) or the fixed target."""
        o = self.o
        floor = _bits_schedule_floor(epoch, o["bits_schedule"])
        if o["bits_conditioned"]:
            low_full, high = o["bits_range"]
            low = max(low_full, floor) if floor is not None else low_full
            return _draw_bits(self.rng, o["batch_size"], low, high)
        target = max(o["target_bits"], floor) if floor is not None else o["target_bits"]
        return np.full(o["batch_size"], target, np.float32)

    def run_epoch(self, epoch, started):
        """Train one epoch; returns the mean loss, prediction loss, bits and bits error, and the steps run."""
        o, x, batch_size, steps = self.o, self.x, self.o["batch_size"], self.steps
        order = np.random.default_rng(o["seed"] + epoch).permutation(len(x))
        weight = tf.constant(self.weights_per_epoch[min(epoch, len(self.weights_per_epoch) - 1)])
        totals, step = np.zeros(4), 0
        for step in range(steps):
            idx = order[step * batch_size:(step + 1) * batch_size]
            t = self.targets_for(epoch)
            out = self.train_step(tf.constant(x[idx]), tf.constant(t, tf.float32),
                                  tf.constant(self.drop_masks(x[idx], t)),
                                  tf.constant([o["seed"], epoch * steps + step], tf.int32), weight)
            totals += [float(v) for v in out]
            if o["progress"] and (step % 10 == 0 or step == steps - 1):
                o["progress"](epoch, step, steps, dict(zip(("loss", "prediction_loss", "bits", "bits_error"),
                                                           totals / (step + 1))))
            if o["time_limit"] and time.time() - started > o["time_limit"]:
                break
        return totals / max(step + 1, 1), float(weight)

    def epoch_record(self, epoch, means, weight, seconds):
        """The history entry of an epoch: losses, bits tracking and the validation function's checks."""
        o = self.o
        record = {"epoch": epoch + 1, "bits_floor": _bits_schedule_floor(epoch, o["bits_schedule"]),
                  "penalty_weight": weight,
                  **dict(zip(("loss", "prediction_loss", "mean_bits", "bits_error"), means.tolist())),
                  "seconds": seconds}
        scrambler = Scrambler(self.network, self.predictor)
        if o["validation"] is not None:
            record["tracking"] = bits_tracking(scrambler, o["validation"], [0.1, 0.25, 0.5, 1.0, 1.5]
                                               if o["bits_conditioned"] else [o["target_bits"]])
        if o["validation_fn"] is not None:
            record.update(o["validation_fn"](scrambler))
        return record

    def run(self):
        o, history, log = self.o, self.history, self.o["log"]
        started = time.time()
        previous_seconds = history[-1]["seconds"] if history else 0.0
        best = _best_so_far(self.network, history, o["checkpoint"])
        for epoch in range(self.start_epoch):          # resumed: replay the target draws of finished epochs
            for _ in range(self.steps):
                self.targets_for(epoch)
        for epoch in range(self.start_epoch, o["epochs"]):
            means, weight = self.run_epoch(epoch, started)
            record = self.epoch_record(epoch, means, weight, round(time.time() - started + previous_seconds, 1))
            best = _remember_best(self.network, record, best, o["checkpoint"])
            history.append(record)
            log(json.dumps(record))
            if o["checkpoint"]:
                _save_checkpoint(self.network, self.optimizer, o["checkpoint"], epoch + 1, history)
            if o["time_limit"] and time.time() - started > o["time_limit"]:
                log(f"time limit {o['time_limit']}s reached after epoch {epoch + 1}")
                break
        if best.get("epoch") and best["epoch"] != len(history):
            self.network.set_weights(best["weights"])
            log(f"kept epoch {best['epoch']} (selection score {best['score']:.4f}, the best of {len(history)})")
        return Scrambler(self.network, self.predictor), history


def _best_path(checkpoint):
    return None if not checkpoint else Path(checkpoint).with_name(f"{Path(checkpoint).stem}.best.weights.h5")


def _best_so_far(network, history, checkpoint) -> dict:
    """The best epoch by ``selection_score`` among finished epochs, with its weights when a checkpoint kept them."""
    scored = [h for h in history if "selection_score" in h]
    path = _best_path(checkpoint)
    if not scored or path is None or not path.exists():
        return {}
    top = max(scored, key=lambda h: h["selection_score"])
    return {"epoch": top["epoch"], "score": top["selection_score"], "weights": _read_weights(network, path)}


def _remember_best(network, record, best, checkpoint) -> dict:
    """Keep the weights of the epoch with the highest ``record["selection_score"]`` (when a validation_fn gives one).

    Training then ends on those weights, not the last epoch's: a budget that trades one feature for another
    (the uAUG against the stop) can get worse after its best epoch. With a checkpoint the kept weights are
    also written beside it, so a resumed run still ends on them.
    """
    score = record.get("selection_score")
    if score is None or (best.get("epoch") and score <= best["score"]):
        return best
    path = _best_path(checkpoint)
    if path is not None:
        tmp = path.with_name(f".{path.stem}.tmp.weights.h5")
        network.save_weights(tmp)
        tmp.replace(path)
    return {"epoch": record["epoch"], "score": float(score), "weights": network.get_weights()}


def _read_weights(network, path):
    current = network.get_weights()
    network.load_weights(path)
    kept = network.get_weights()
    network.set_weights(current)
    return kept


def _initialise_from(network, init_from):
    """Copy a saved scrambler's weights into ``network``.

    The shapes must match, except that ``network`` may take extra input channels (a mask-dropout
    channel): those rows of the first convolution start at zero; and a fixed-budget ``network`` may
    start from a bits-conditioned source, read at the network's ``target_bits``.
    """
    source = load_keras_model(init_from)
    if not isinstance(source, ScramblerModel):
        raise ModelFileError(f"{Path(init_from).name} is not a scrambler; cannot start from it")
    target_weights, source_weights = network.get_weights(), source.get_weights()
    if source.bits_conditioned and not network.bits_conditioned:
        source_weights = _fold_bits_channel(source, source_weights, network.target_bits)
    if len(target_weights) != len(source_weights):
        raise ModelFileError(f"{Path(init_from).name} is not a scrambler of the same shape; cannot start from it")
    merged = []
    for k, (t, s) in enumerate(zip(target_weights, source_weights)):
        if t.shape == s.shape:
            merged.append(s)
        elif k == 0 and t.ndim == 3 and t.shape[0] == s.shape[0] and t.shape[2] == s.shape[2] \
                and t.shape[1] > s.shape[1]:
            grown = np.zeros_like(t)
            grown[:, :s.shape[1]] = s
            merged.append(grown)
        else:
            raise ModelFileError(f"{Path(init_from).name} is not a scrambler of the same shape; cannot start from it")
    network.set_weights(merged)


def _fold_bits_channel(source, weights, target_bits):
    """Weights of ``source`` (bits-conditioned) with its bits channel held at ``target_bits``.

    The bits channel enters through the first 1x1 convolution only, as a constant per sequence: its
    kernel row times the channel value moves into that convolution's bias, so the fixed-budget network
    starts exactly where the bits-conditioned one stands at ``target_bits``.
    """
    kernel, bias = weights[0], weights[1]
    channel = source.alphabet.size
    value = float(source.bits_condition(target_bits)[0])
    folded = np.delete(kernel, channel, axis=1)
    return [folded, bias + value * kernel[0, channel]] + list(weights[2:])


def _draw_bits(rng, n, low, high):
    """Half uniform, half log-uniform targets in [low, high], shape (n,)."""
    uniform = rng.uniform(low, high, n)
    log_uniform = np.exp(rng.uniform(np.log(low), np.log(high), n))
    return np.where(rng.random(n) < 0.5, uniform, log_uniform).astype(np.float32)


def bits_tracking(scrambler: Scrambler, x, targets=(0.1, 0.25, 0.5, 1.0, 1.5, 2.0), n_samples=4):
    """Requested vs realised mean conservation on held-out sequences.

    Returns
    -------
    dict — ``{target: realised mean bits}`` (string keys, rounded)
    """
    return {f"{t:g}": round(float(scrambler.explain(x, target_bits=t, n_samples=n_samples).conservation.mean()), 4)
            for t in targets}


def calibrate_bits(scrambler: Scrambler, x, n_grid=40, n_samples=1):
    """Map requested bits to the bits-channel value that realises them on held-out sequences.

    The bits-conditioned network is trained so that its realised mean conservation
    follows the channel value; a prediction term that pulls conservation up leaves a
    small, smooth bias. This measures realised mean conservation over a grid of
    channel values on held-out inputs ``x`` (N, L, A), makes it monotone, and stores
    the inverse map in the network (``bits_calibration``), so ``explain(target_bits=t)``
    realises ``t`` on average. Targets the network cannot reach are clipped to what it can.

    Returns
    -------
    dict — ``{"requested": [...], "condition": [...]}`` (also set on ``scrambler.network``)
    """
    net = scrambler.network
    if not net.bits_conditioned:
        raise ValueError("only a bits-conditioned scrambler can be calibrated")
    net.bits_calibration = None
    low, high = net.bits_range
    grid = np.linspace(low, high, n_grid)
    realised = np.array([scrambler.explain(x, target_bits=t, n_samples=n_samples).conservation.mean()
                         for t in grid])
    realised = np.maximum.accumulate(realised)
    realised = realised + np.arange(n_grid) * 1e-6      # strictly increasing for the inverse
    requested = np.clip(np.linspace(low, high, 2 * n_grid), realised[0], realised[-1])
    requested = np.unique(requested)
    condition = np.interp(requested, realised, grid)
    net.bits_calibration = {"requested": [round(float(v), 6) for v in requested],
                            "condition": [round(float(v), 6) for v in condition]}
    return net.bits_calibration


def _checkpoint_state(checkpoint) -> dict | None:
    """The checkpoint's state file (None when there is none); a damaged one raises ValueError naming it."""
    state = Path(checkpoint).with_suffix(".state.json")
    if not state.exists():
        return None
    try:
        data = json.loads(state.read_text())
        int(data["epoch"])
        return data
    except (ValueError, KeyError, TypeError, OSError) as err:
        raise ValueError(f"training checkpoint {state.name} is damaged ({type(err).__name__}); delete "
                         f"{Path(checkpoint).name}.* to start again") from None


def checkpoint_epoch(checkpoint) -> int:
    """Epochs finished in a training checkpoint (0 when there is none)."""
    if not checkpoint:
        return 0
    state = _checkpoint_state(checkpoint)
    return int(state["epoch"]) if state else 0


def _save_checkpoint(network, optimizer, checkpoint, epoch, history):
    """Write epoch-stamped weight and optimizer files, then the state file that points to them (atomic).

    The state file is written last, with the files' SHA-256, so a crash at any moment leaves the
    previous complete checkpoint in force; older epoch files are removed afterwards.
    """
    checkpoint = Path(checkpoint)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    stem = f"{checkpoint.stem}.e{epoch:04d}"
    weights = checkpoint.with_name(f"{stem}.weights.h5")
    tmp = checkpoint.with_name(f".{stem}.tmp.weights.h5")
    network.save_weights(tmp)
    tmp.replace(weights)
    optimizer_file = checkpoint.with_name(f"{stem}.optimizer.npz")
    tmp = checkpoint.with_name(f".{stem}.tmp.optimizer.npz")
    np.savez(tmp, *[v.numpy() for v in optimizer.variables])
    tmp.replace(optimizer_file)
    state = {"epoch": epoch, "history": history, "weights": weights.name, "optimizer": optimizer_file.name,
             "weights_sha256": sha256_file(weights), "optimizer_sha256": sha256_file(optimizer_file)}
    state_tmp = checkpoint.with_suffix(".state.json.tmp")
    state_tmp.write_text(json.dumps(state))
    state_tmp.replace(checkpoint.with_suffix(".state.json"))
    for old in checkpoint.parent.glob(f"{checkpoint.stem}.e*.*"):
        if old.name not in (weights.name, optimizer_file.name):
            old.unlink(missing_ok=True)


def _restore_checkpoint(network, optimizer, checkpoint):
    checkpoint = Path(checkpoint)
    state = _checkpoint_state(checkpoint)
    if "weights_sha256" not in state:
        raise ValueError(f"training checkpoint {checkpoint.name}.state.json was written by an older version "
                         f"(no checksums); delete {checkpoint.name}.* to start again")
    files = {}
    for kind in ("weights", "optimizer"):
        path = checkpoint.with_name(state[kind])
        if not path.is_file() or sha256_file(path) != state[f"{kind}_sha256"]:
            raise ValueError(f"training checkpoint {path.name} is missing or damaged (its SHA-256 differs from "
                             f"the one recorded after epoch {state['epoch']}); delete {checkpoint.name}.* to start "
                             "again")
        files[kind] = path
    network.load_weights(files["weights"])
    saved = np.load(files["optimizer"])
    for variable, key in zip(optimizer.variables, sorted(saved.files, key=lambda k: int(k.split("_")[1]))):
        variable.assign(saved[key])
    return state["epoch"], state["history"]
