"""Training a scrambler for a frozen predictor (method §4-7): :func:`train_scrambler` and its per-epoch loop."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .. import runtime  # noqa: F401
import keras
import tensorflow as tf

from ..predictors.base import ModelFileError, Predictor, load_keras_model
from .checkpoint import _restore_checkpoint, _save_checkpoint, checkpoint_epoch
from .explain import Scrambler, bits_tracking
from .maths import (DROPOUT_KINDS, KEEP_FRACTIONS, background_from_sequences, biased_drop_masks, conservation,
                    conservation_penalty, draw_keep_counts, keep_set_mask, keep_set_samples, prediction_loss,
                    random_drop_masks, sample_pwm)
from .guide import guide_reference, network_inputs
from .network import GUIDE_CHANNELS, ScramblerModel


def _bits_schedule_floor(epoch, schedule):
    return schedule[epoch] if schedule and epoch < len(schedule) else None


def train_scrambler(predictor: Predictor, sequences, *, mode="inclusion", objective="reconstruct",
                    bits_conditioned=True, target_bits=0.5, bits_range=(0.05, 2.0),
                    bits_schedule=(1.8, 1.2, 0.8, 0.5, 0.35), epochs=8, batch_size=32, n_samples=32,
                    learning_rate=1e-4, sampler=None, penalty_weight=None, penalty_kind="target",
                    network_options=None, background=None, template=None, seed=0, validation=None,
                    checkpoint=None, progress=None, log=print, time_limit=None, jit_compile=False,
                    validation_fn=None, init_from=None, mask_dropout=None, dropout_max_rate=0.5,
                    architecture=None, keep_set_weight=0.0, keep_set_samples=16,
                    keep_set_fractions=None, ranking_targets=None, ranking_weight=1.0):
    """Train a scrambler for a frozen predictor (method §4-6).

    Parameters
    ----------
    predictor : Predictor, keras.Model with one input (N, L, A), or a pair predictor (then
        ``sequences`` are (seq_a, seq_b) pairs)
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
    keep_set_weight : float — weight of the keep-set term (our extension, inclusion only): each example's
        top ``k`` positions by score (``k`` from the KL benchmark's fractions, :data:`KEEP_FRACTIONS`) kept
        exactly, the rest drawn from the background (:func:`keep_set_samples`), through a straight-through
        top-k mask (:func:`keep_set_mask`); 0 trains the paper's loss alone
    keep_set_samples : int — samples per example for the keep-set term
    keep_set_fractions : sequence of float, optional — the kept fractions drawn from (default
        :data:`KEEP_FRACTIONS`)
    ranking_targets : np.ndarray (N, L), optional — a ranking per training sequence to learn beside the
        paper's loss (distillation, our extension): ``ranking_weight`` times the mean squared difference
        between the network's standardised log scores and the standardised targets (:func:`ranking_loss`)

    Returns
    -------
    scrambler : Scrambler
    history : list of dict — per-epoch losses and bits tracking
    """
    from ..predictors.pairs import ARCHITECTURES, as_single_input
    from ..predictors.registry import as_predictor
    predictor = as_predictor(predictor)
    if mask_dropout not in (None, *DROPOUT_KINDS):
        raise ValueError(f"mask_dropout must be None or one of {', '.join(DROPOUT_KINDS)}, got {mask_dropout!r}")
    if predictor.is_pair:
        architecture = architecture or "siamese"
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}")
    elif architecture not in (None, "single"):
        raise ValueError(f"architecture={architecture!r} is only for pair predictors")
    _check_extra_terms(predictor, mode, keep_set_weight, ranking_targets)
    options = {k: v for k, v in locals().items() if k not in ("predictor", "sequences", "ARCHITECTURES",
                                                              "as_single_input", "as_predictor")}
    options["architecture"] = architecture or "single"
    predictor = as_single_input(predictor)
    return _TrainingRun(predictor, predictor.to_onehot(sequences), options).run()


def _check_extra_terms(predictor, mode, keep_set_weight, ranking_targets):
    """Refuse the keep-set term and ranking targets where they do not apply (naming which)."""
    if keep_set_weight and (mode != "inclusion" or predictor.is_pair):
        raise ValueError("keep_set_weight is for inclusion scramblers of single-sequence predictors")
    if ranking_targets is not None and predictor.is_pair:
        raise ValueError("ranking_targets is for scramblers of single-sequence predictors")
    if keep_set_weight and ranking_targets is not None:
        raise ValueError("give keep_set_weight or ranking_targets, not both")


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
        self.no_drop_scores = tf.function(
            lambda xb, tb: network(network_inputs(network, predictor, xb, tb), training=False), reduce_retracing=True)
        self.drop_rng = np.random.default_rng(o["seed"] + 31)
        self.keep_rng = np.random.default_rng(o["seed"] + 37)
        self.rankings = (np.zeros(x.shape[:2], np.float32) if o["ranking_targets"] is None
                         else _checked_rankings(o["ranking_targets"], x))
        self.train_step = self._compile_step()
        self.steps = len(x) // o["batch_size"]

    def _build_network(self):
        o, predictor = self.o, self.predictor
        background = o["background"] if o["background"] is not None else background_from_sequences(self.x)
        options = dict(o["network_options"] or {})
        if options.get("guide") == "gradient_signed" and "guide_reference" not in options:
            options["guide_reference"] = guide_reference(predictor, self.x[:1024])     # "above" vs "below"
        network = ScramblerModel(predictor.sequence_length, predictor.alphabet.name, mode=o["mode"],
                                 bits_conditioned=o["bits_conditioned"], target_bits=o["target_bits"],
                                 bits_range=o["bits_range"], background=background, template=o["template"],
                                 predictor_name=predictor.name, objective=o["objective"],
                                 output_kind=predictor.output_kind, mask_dropout=bool(o["mask_dropout"]),
                                 architecture=o["architecture"], alphabet_letters=predictor.alphabet.letters,
                                 **options)
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
        def train_step(xb, tb, drop, seed_pair, weight, keep_counts, ranking):
            original = self._full_output(xb)
            inputs = network_inputs(network, self.predictor, xb, tb, drop)     # the guide outside the tape
            with tf.GradientTape() as tape:
                scores = network(inputs, training=True)
                pwm = network.pwm(xb, scores)
                _, mean_bits = conservation(pwm, network.background, network.position_weights(xb))
                samples, _ = sample_pwm(pwm, n_samples, seed_pair, o["sampler"])
                samples = network.mask_samples(samples, xb)
                pred_loss = tf.reduce_mean(self._sample_loss(original, samples, xb), axis=1)
                penalty = conservation_penalty(mean_bits, tb, weight, o["penalty_kind"])
                extra, extra_weight = self._extra_term(original, xb, scores, keep_counts, ranking, seed_pair)
                loss = tf.reduce_mean(pred_loss + penalty) + extra_weight * extra
            grads = tape.gradient(loss, network.trainable_variables)
            optimizer.apply_gradients(zip(grads, network.trainable_variables))
            return (loss, tf.reduce_mean(pred_loss), tf.reduce_mean(mean_bits), tf.reduce_mean(tf.abs(mean_bits - tb)),
                    extra)

        return train_step

    def _sample_loss(self, original, samples, xb):
        """Prediction loss (N, S) of samples (N, S, L, A) of the batch ``xb``."""
        flat = tf.reshape(samples, tf.concat([[-1], tf.shape(xb)[1:]], axis=0))
        sampled = tf.reshape(self._full_output(flat), [tf.shape(xb)[0], tf.shape(samples)[1], -1])
        return prediction_loss(original, sampled, self.predictor.output_kind, self.o["mode"], self.o["objective"])

    def _extra_term(self, original, xb, scores, keep_counts, ranking, seed_pair):
        """The optional term beside the paper's loss and its weight: the keep-set term (the top ``keep_counts``
        positions kept, the rest from the background) or the ranking loss against ``ranking``; else 0."""
        o = self.o
        if o["ranking_targets"] is not None:
            return ranking_loss(scores, ranking), o["ranking_weight"]
        if not o["keep_set_weight"]:
            return tf.constant(0.0), 0.0
        mask = keep_set_mask(scores, keep_counts)
        samples = keep_set_samples(xb, mask, self.network.background, o["keep_set_samples"],
                                   seed_pair + tf.constant([0, 1 << 20], tf.int32))
        return tf.reduce_mean(self._sample_loss(original, samples, xb)), o["keep_set_weight"]

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
        totals, step = np.zeros(5), 0
        for step in range(steps):
            idx = order[step * batch_size:(step + 1) * batch_size]
            t = self.targets_for(epoch)
            out = self.train_step(tf.constant(x[idx]), tf.constant(t, tf.float32),
                                  tf.constant(self.drop_masks(x[idx], t)),
                                  tf.constant([o["seed"], epoch * steps + step], tf.int32), weight,
                                  tf.constant(draw_keep_counts(self.keep_rng, len(idx), x.shape[1],
                                                               o["keep_set_fractions"] or KEEP_FRACTIONS)),
                                  tf.constant(self.rankings[idx]))
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
        if o["keep_set_weight"] or o["ranking_targets"] is not None:
            record["ranking_loss" if o["ranking_targets"] is not None else "keep_set_loss"] = float(means[4])
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


def _checked_rankings(targets, x):
    targets = np.asarray(targets, np.float32)
    if targets.shape != x.shape[:2]:
        raise ValueError(f"ranking_targets must have shape (N, L) = {x.shape[:2]}, got {targets.shape}")
    return targets


def ranking_loss(scores, targets):
    """Mean squared difference (scalar) of standardised ``log(scores)`` (N, L) and standardised ``targets``
    (N, L), per sequence: only the ranking and relative spacing count, not the scale."""
    def standardised(v):
        mean, var = tf.nn.moments(v, axes=[-1], keepdims=True)
        return (v - mean) / tf.sqrt(var + 1e-6)
    return tf.reduce_mean(tf.square(standardised(tf.math.log(scores + 1e-6)) - standardised(targets)))


def rank_targets(scores) -> np.ndarray:
    """Distillation targets from per-position scores: ``-log(1 + rank)`` per sequence, rank 0 the highest.

    The top of a ranking is spread out and its tail (which a teacher leaves in no meaningful order) squeezed
    together; :func:`ranking_loss` standardises them per sequence.

    Parameters
    ----------
    scores : np.ndarray (N, L)

    Returns
    -------
    np.ndarray (N, L) float32
    """
    ranks = np.argsort(np.argsort(-np.asarray(scores), axis=1, kind="stable"), axis=1)
    return -np.log1p(ranks).astype(np.float32)


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
    channel): those rows of the first convolution start at zero; a fixed-budget ``network`` may
    start from a bits-conditioned source, read at the network's ``target_bits``; and a network with
    ``score_norm="instance"`` may start from one without: its (gamma, beta) layer keeps its (1, 0) start,
    so each sequence's positions keep their order and the logits' spread is standardised. A
    ``guide="gradient_signed"`` network started from another keeps that one's ``guide_reference``; a network
    without a guide started from a guided one reads none of its guide channels (their rows are left out).
    """
    source = load_keras_model(init_from)
    if not isinstance(source, ScramblerModel):
        raise ModelFileError(f"{Path(init_from).name} is not a scrambler; cannot start from it")
    target_weights, source_weights = network.get_weights(), source.get_weights()
    if source.guide != "none" and network.guide == "none":      # the guide channels come last
        source_weights = [source_weights[0][:, :-GUIDE_CHANNELS[source.guide]]] + source_weights[1:]
    if source.bits_conditioned and not network.bits_conditioned:
        source_weights = _fold_bits_channel(source, source_weights, network.target_bits)
    if network.score_norm != "none" and source.score_norm == "none":
        source_weights = source_weights + target_weights[len(source_weights):]
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
    if network.guide == source.guide == "gradient_signed":     # its weights were trained against that reference
        network.guide_reference = source.guide_reference


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
