"""The scrambler network (method §1): :class:`ScramblerModel`, the Keras model saved as ``.keras``."""
from __future__ import annotations

import numpy as np

from .. import runtime  # noqa: F401
import keras
import tensorflow as tf

from ..sequences import Alphabet, get_alphabet
from .maths import MODES, OBJECTIVES, gaussian_kernel, pwm_from_scores, template_arrays, uniform_background


SCORE_AFFINE_GAIN = 30.0     # score_norm="instance": the (gamma, beta) layer's output scale (see _normalised_logits)
GUIDE_GAIN = 50.0            # guide="gradient": the guide channel is GUIDE_GAIN * log(g + 0.01) (see network_input)
GUIDE_CHANNELS = {"none": 0, "gradient": 1, "gradient_signed": 3}      # input channels each guide adds
GUIDES = tuple(GUIDE_CHANNELS)


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
    guide : {"none", "gradient"} — ``"gradient"``: a last input channel carries the predictor's gradient at
        the input, per position ``g = max_a |df/dx_a|`` over its mean in the sequence
        (:func:`~scrambler_core.scrambler.guide.gradient_guide`), as ``GUIDE_GAIN * log(g + 0.01)``; the
        caller computes ``g`` (one predictor gradient per sequence) and passes it to :meth:`network_input`
        (our extension, single-input scramblers only; APARENT2, docs/attribution_quality.md);
        ``"gradient_signed"``: that channel and two more from the same gradient
        (:func:`~scrambler_core.scrambler.guide.signed_gradient_guide`): each observed letter's first-order
        contribution against the background, signed towards the sequence's own output (positive: the letter
        pulls the output away from ``guide_reference`` the way the sequence lies), and how far the output lies
        from ``guide_reference``
    guide_reference : float — ``"gradient_signed"``: the explained output (logit for sigmoid models) that
        separates "above" from "below"; training sets it to the mean over its sequences
    score_norm : {"none", "instance"} — ``"instance"``: the score logits of each sequence are standardised
        over its positions, then scaled and shifted by ``(gamma, beta)`` read from the target bits (a dense
        layer on ``(t, log t)``, starting at ``(1, 0)``), as the per-example optimiser parameterises its free
        scores (method §9). The spread of the scores can then not collapse onto a few letters with every other
        score at the dead end of the softplus (our extension; APARENT2, docs/attribution_quality.md)
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
                 position_channel=False, score_norm="none", guide="none", guide_reference=0.0, **kwargs):
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
        if score_norm not in ("none", "instance"):
            raise ValueError(f"score_norm must be 'none' or 'instance', got {score_norm!r}")
        if guide not in GUIDES or (guide != "none" and architecture != "single"):
            raise ValueError(f"guide must be one of {', '.join(GUIDES)} (a guide for single-input scramblers "
                             f"only), got {guide!r} with architecture {architecture!r}")
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
        self.score_norm, self.guide, self.guide_reference = score_norm, guide, float(guide_reference)
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
        self.score_affine = None if score_norm == "none" else keras.layers.Dense(
            2, kernel_initializer="zeros", bias_initializer="zeros")

    @property
    def n_condition_channels(self) -> int:
        """Extra input channels after the one-hot: target bits, drop (mask dropout), position, guide."""
        return int(self.bits_conditioned) + int(self.mask_dropout) + int(self.position_channel) + \
            GUIDE_CHANNELS[self.guide]

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
        logits = self.score_conv(h)[..., 0]
        if self.score_affine is not None:
            logits = self._normalised_logits(logits, inputs)
        scores = keras.ops.softplus(logits)
        if self.smoothing:
            kernel = gaussian_kernel(*self.smoothing)
            scores = tf.nn.conv1d(scores[..., None], kernel[:, None, None], stride=1, padding="SAME")[..., 0]
        return scores

    def _normalised_logits(self, logits, inputs):
        """``score_norm="instance"``: logits (N, L) standardised per sequence, then ``gamma * z + beta``."""
        centred = logits - tf.reduce_mean(logits, axis=1, keepdims=True)
        # the spread computed by hand: grappler's remapper would fuse tf.nn.moments' pattern into a batch norm
        # that only takes 1-D scales, and fail inside tf.function
        z = centred / tf.sqrt(tf.reduce_mean(tf.square(centred), axis=1, keepdims=True) + 1e-5)
        if self.bits_conditioned:
            t = tf.maximum(inputs[:, 0, self.alphabet.size], 1e-3)[:, None]
        else:
            t = tf.fill([tf.shape(logits)[0], 1], max(self.target_bits, 1e-3))
        # (1, 0) at the start; the gain lets the scale and shift move as fast as the per-example optimiser's
        # (lr 0.01) while the trunk trains at the network's rate (Adam's step is the same size in every weight)
        gamma_beta = tf.constant([[1.0, 0.0]]) + SCORE_AFFINE_GAIN * self.score_affine(
            tf.concat([t, tf.math.log(t)], axis=1))
        return gamma_beta[:, :1] * z + gamma_beta[:, 1:]

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

    def network_input(self, x, bits_channel, drop=None, guide=None):
        """Concatenate one-hot (N, L, A) with the bits channel (N,), the drop mask (N, L) and the guide.

        ``drop`` defaults to all ones (nothing dropped); it is ignored by a scrambler
        trained without mask dropout. ``guide`` is required by a guided scrambler
        (:func:`~scrambler_core.scrambler.guide.network_inputs` computes it): (N, L) for ``"gradient"``,
        (N, L, 3) for ``"gradient_signed"``; ignored otherwise. Returns (N, L, A + c).
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
        if self.guide != "none":
            parts.append(self._guide_channels(guide))
        return parts[0] if len(parts) == 1 else tf.concat(parts, axis=-1)

    def _guide_channels(self, guide):
        """The guide's input channels (N, L, c): ``GUIDE_GAIN * log(g + 0.01)``, then for ``"gradient_signed"``
        ``GUIDE_GAIN / 2 * asinh(d / 0.01)`` of the signed contribution and ``GUIDE_GAIN / 4`` × the distance."""
        shape = "(N, L)" if self.guide == "gradient" else "(N, L, 3)"
        if guide is None:
            raise ValueError(f"this scrambler reads the predictor's gradient: pass guide {shape}")
        guide = tf.cast(guide, tf.float32)
        if self.guide == "gradient":
            guide = guide[..., None]
        if guide.shape.rank != 3 or guide.shape[-1] != GUIDE_CHANNELS[self.guide]:
            raise ValueError(f"this scrambler's guide has shape {shape}, got {tuple(guide.shape)}")
        channels = [GUIDE_GAIN * tf.math.log(guide[..., :1] + 0.01)]
        if self.guide == "gradient_signed":
            channels += [GUIDE_GAIN / 2 * tf.math.asinh(guide[..., 1:2] / 0.01), GUIDE_GAIN / 4 * guide[..., 2:]]
        return tf.concat(channels, axis=-1)

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
            "position_channel": self.position_channel, "score_norm": self.score_norm, "guide": self.guide,
            "guide_reference": self.guide_reference,
        })
        return config
