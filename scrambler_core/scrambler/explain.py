"""Explanations by a trained scrambler: :class:`Scrambler` (network + predictor), :class:`Explanation`,
loading pretrained or saved scramblers, bits tracking and calibration of the bits channel."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import runtime  # noqa: F401
import tensorflow as tf

from ..cards import ModelCard
from ..paths import PRETRAINED_DIR
from ..predictors.base import ModelFileError, Predictor, load_keras_model
from ..predictors.registry import as_predictor, load_predictor
from ..sequences import clean_sequence, decode
from .maths import MODES, OBJECTIVES, conservation, sample_pwm, template_arrays
from .network import ScramblerModel
from .explanation import Explanation
from .faithfulness import check_faithfulness, output_reference
from .guide import network_inputs
from .sweep import BitsSweep, bits_grid


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
        from ..predictors.pairs import as_single_input
        if network.is_pair != (predictor.is_pair or predictor.is_concatenated_pair):
            raise ModelFileError(f"a {network.architecture} scrambler cannot explain predictor {predictor.name!r}"
                                 f" ({'a pair' if predictor.is_pair else 'a single-input'} "
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
            lambda x, bits_channel, drop: self.network(network_inputs(self.network, self.predictor, x, bits_channel,
                                                                      drop), training=False),
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

        ``target_bits`` is one float or one per row, (N,).
        """
        step = max(1, min(int(batch_size), BATCH_BUCKETS[-1]))
        bits_rows = np.broadcast_to(np.asarray(target_bits, np.float64), (len(x),))   # one target or one per row
        for chunk_index, start in enumerate(range(0, len(x), step)):
            count = len(x[start:start + step])
            size = _bucket(count)
            padded = np.zeros((size,) + x.shape[1:], dtype=np.float32)
            padded[:count] = x[start:start + step]
            drop_padded = np.ones((size, x.shape[1]), np.float32)
            drop_padded[:count] = drop[start:start + step]
            channel = self.network.bits_condition(bits_rows[start:start + count])
            channel = np.concatenate([channel, np.repeat(channel[-1:], size - count)])
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
        scores = net(network_inputs(net, self.predictor, x, bits_channel, drop), training=False) * \
            tf.reshape(free, [1, -1])
        return self._from_scores(x, scores, free, offset, seed, n_samples)

    def _from_scores(self, x, scores, free, offset, seed, n_samples):
        """PWM, samples, their predictions and the bits of given scores (N, L): the explanation's second half."""
        net = self.network
        pwm = net.pwm(x, scores, free, offset)
        per_position, mean_bits = conservation(pwm, net.background, net.position_weights(x, free))
        _, hard = sample_pwm(pwm, n_samples, seed)
        hard = net.mask_samples(hard, x)
        flat = tf.reshape(hard, tf.concat([[-1], tf.shape(x)[1:]], axis=0))
        sample_pred = tf.reshape(self.predictor.output_tensor(flat), [tf.shape(x)[0], n_samples])
        original = self.predictor.output_tensor(x)
        return scores, pwm, hard, sample_pred, original, mean_bits, per_position

    def scores(self, seqs, target_bits=None, batch_size=64, allow_n=False, drop=None, template=None):
        """Importance scores only: one forward pass of the network, no sampling, no predictor call (a
        ``guide="gradient"`` network: one predictor gradient per sequence, its input).

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

    def _run(self, x, target_bits, n_samples, seed, batch_size, drop, free, offset, return_samples=True):
        """The compiled explanation over padded batches: (scores, pwm, samples, sample predictions,
        prediction, mean bits, per-position bits), each with N rows; ``target_bits`` one float or (N,)."""
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
        return tuple(np.concatenate(parts) for parts in zip(*results))

    def explain_bits_grid(self, seq, target_bits=None, n_samples=32, seed=0, allow_n=False, drop=None,
                          template=None):
        """One sequence explained at every budget of a grid, in one batched call (the live bits slider).

        Parameters
        ----------
        seq : str or np.ndarray (1, L, A) — one sequence
        target_bits : array_like (T,), optional — default :data:`BITS_GRID` within the scrambler's range
            (a fixed-target scrambler: its one target)
        n_samples, seed, allow_n, template : as :meth:`explain`
        drop : np.ndarray (L,), optional — mask dropout, as :meth:`explain`

        Returns
        -------
        BitsSweep — importance (T, L), pwm (T, L, A), sample predictions (T, S), realised bits (T,)
        """
        grid = bits_grid(self.network) if target_bits is None else np.asarray(target_bits, np.float64).ravel()
        if grid.size == 0:
            raise ValueError("target_bits must hold at least one budget")
        grid = np.array([self._check_bits(b) for b in grid])
        x = self.predictor.to_onehot(seq if not isinstance(seq, str) else [seq], allow_n=allow_n,
                                     background=self.background)
        if len(x) != 1:
            raise ValueError(f"explain_bits_grid explains one sequence, got {len(x)}")
        tiled = np.repeat(x, len(grid), axis=0)
        drop = None if drop is None else np.broadcast_to(np.asarray(drop, np.float32).reshape(1, -1),
                                                         (len(grid), x.shape[1]))
        free, offset = self._template_arrays(template, tiled)
        scores, pwm, _, sample_pred, original, mean_bits, _ = self._run(
            tiled, grid, n_samples, seed, len(grid), self._drop_array(drop, len(grid)), free, offset,
            return_samples=False)
        return BitsSweep(target_bits=grid, importance=scores, pwm=pwm, sample_predictions=sample_pred,
                         prediction=float(original[0]), conservation=mean_bits, mode=self.mode,
                         sequence=decode(x, self.predictor.alphabet)[0], alphabet=self.predictor.alphabet.name,
                         fixed=free[:, 0] == 0, drop=None if drop is None else np.asarray(drop[0]),
                         output_reference=output_reference(self.predictor))

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
        scores, pwm, hard, sample_pred, original, mean_bits, per_position = self._run(
            x, target_bits, n_samples, seed, batch_size, drop, free, offset, return_samples)
        if self.network.is_pair:
            names = self.predictor.sequences(x)
        elif isinstance(seqs, np.ndarray):
            names = decode(x, self.predictor.alphabet)
        else:
            names = [clean_sequence(s, self.predictor.alphabet) for s in ([seqs] if isinstance(seqs, str) else seqs)]
        return self._explanation((scores, pwm, hard, sample_pred, original, mean_bits, per_position), target_bits,
                                 names, free, drop if drop_given else None)

    def explain_scores(self, seqs, scores, target_bits, n_samples=32, seed=0, allow_n=False):
        """The explanation that given importance scores make (e.g. optimised per example): this scrambler's
        PSSM, background, samples and faithfulness checks, with ``scores`` in place of the network's output.

        Parameters
        ----------
        seqs : str, list of str, or np.ndarray (N, L, A)
        scores : np.ndarray (N, L) — importance scores (>= 0)
        target_bits : float — the budget the scores were made for (the faithfulness checks compare with it)
        n_samples, seed, allow_n : as :meth:`explain`

        Returns
        -------
        Explanation
        """
        x = self.predictor.to_onehot(seqs, allow_n=allow_n, background=self.background)
        scores = np.asarray(scores, np.float32)
        if scores.shape != x.shape[:2] or not np.all(np.isfinite(scores)) or np.any(scores < 0):
            raise ValueError(f"scores must be finite, >= 0 and of shape {x.shape[:2]} (N, L), got {scores.shape}")
        free, offset = self._template_arrays(None, x)
        out = self._from_scores(tf.constant(x), tf.constant(scores * free[:, 0]), tf.constant(free),
                                tf.constant(offset), tf.constant([int(seed), 0], tf.int32), int(n_samples))
        _, pwm, hard, sample_pred, original, mean_bits, per_position = (o.numpy() for o in out)
        return self._explanation((scores * free[:, 0], pwm, hard, sample_pred, original, mean_bits, per_position),
                                 float(target_bits), decode(x, self.predictor.alphabet), free, None)

    def _explanation(self, outputs, target_bits, names, free, drop):
        """The :class:`Explanation` of one run: ``outputs`` = (importance, pwm, samples, sample predictions,
        original prediction, conservation, per-position bits), ``free`` (N, L, 1) 0 at fixed positions."""
        importance, pwm, hard, sample_pred, original, mean_bits, per_position = outputs
        return Explanation(importance=importance, pwm=pwm, samples=hard, sample_predictions=sample_pred,
                           prediction=original, conservation=mean_bits, per_position_bits=per_position,
                           target_bits=target_bits, mode=self.mode, sequences=names,
                           alphabet=self.predictor.alphabet.name, drop=drop, predictor=self.predictor.name,
                           fixed=free[:, 0] == 0,
                           chain_length=self.predictor.chain_length if self.network.is_pair else 0,
                           faithfulness=check_faithfulness(target_bits, mean_bits, sample_pred, original, self.mode,
                                                           output_reference(self.predictor)))

    def save(self, path, card=None):
        """Save the network as ``.keras`` (atomic) and the model card beside it as ``.json``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp.keras")
        self.network.save(tmp)
        tmp.replace(path)
        card = card if card is not None else self.card
        if card:
            ModelCard.from_dict(card).write(path.with_suffix(".json"))


def external_scrambler_path(predictor_name, weights_sha256, mode="inclusion", objective="reconstruct") -> Path:
    """Where the pretrained scrambler for a published model's weights file lives (keyed by its SHA-256)."""
    suffix = "" if objective == "reconstruct" else f"_{objective}"
    return PRETRAINED_DIR / f"{predictor_name}-{weights_sha256[:16]}_{mode}{suffix}.keras"


def _external_scrambler(key, mode, objective, predictor, model_path):
    from ..predictors.registry import load_predictor
    predictor = predictor or load_predictor(key, path=model_path)
    sha = predictor.card.get("weights_sha256", "")
    path = external_scrambler_path(key, sha, mode, objective)
    if path.exists():
        return path, predictor
    suffix = "" if objective == "reconstruct" else f"_{objective}"
    others = []
    for other in sorted(PRETRAINED_DIR.glob(f"{key}-*_{mode}{suffix}.keras")):
        card = ModelCard.read_if_exists(other.with_suffix(".json"))
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
    predictor : Predictor or keras.Model, optional — the predictor it explains (default: the
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
    from ..predictors.registry import EXTERNAL_PREDICTORS
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
        from ..predictors.pairs import ARCHITECTURES
        from ..predictors.registry import PAIR_BUILTINS
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
    card = ModelCard.read_if_exists(scrambler_path.with_suffix(".json")).to_dict()
    if predictor is not None:
        predictor = as_predictor(predictor)
    else:
        if not network.predictor_name:
            raise ModelFileError(f"{scrambler_path.name} does not name its predictor; pass predictor=")
        predictor = load_predictor(network.predictor_name, path=path)
    trained_sha = card.get("predictor_sha256")
    actual_sha = getattr(predictor, "card", {}).get("weights_sha256")
    if trained_sha and actual_sha and trained_sha != actual_sha:
        raise ModelFileError(f"{scrambler_path.name} was trained against {card.get('predictor_file')} (sha256 "
                             f"{trained_sha[:16]}…) but the predictor's file has sha256 {actual_sha[:16]}…")
    return Scrambler(network, predictor, card=card, path=scrambler_path)


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
