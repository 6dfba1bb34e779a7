"""Recipes of the pretrained scramblers in ``pretrained/`` (data, settings, seed, stages) and the
``train-scrambler`` / ``calibrate-scrambler`` commands that follow them, so the committed weights are reproducible.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import synthetic
from ..cards import ModelCard, scrambler_card

# scrambler inputs held out for checks and for bits calibration: the training seed plus these
HELD_OUT_SEED_OFFSET = 99
UORF_PREDICTORS = ("utr5", "optimus5")      # 50-nt 5'UTR predictors: uAUG/stop recall is checked
CALIBRATION_SEED_OFFSET = 199
KEEP_SET_MONITOR_SEED_OFFSET = 9033         # a stage's KL keep-set monitoring windows (evaluation.keep_set_monitor)


# ============================================================================ recipes (the pretrained specs)

# Continuation stage of the 50-nt 5'UTR inclusion scramblers (issue 17): uAUG tails, bits-conditioned
UAUG_TAILS_STAGE = {
    "data": "uAUG tails: uniform random 50-mers with an ATG in frame with the CDS and no out-of-frame ATG, the 8,000 "
            "lowest and 8,000 highest predictions of a pool of 48,000 (scrambler_core.scrambler.recipes.uaug_tails)",
    "data_kind": "uaug_tails", "n_train": 16_000, "epochs": 6, "learning_rate": 1e-4, "penalty_weight": 50.0,
    "bits_schedule": [], "bits_range": [0.05, 2.0],
}

# Second continuation of the utr5 inclusion scrambler (issue 17): half the uAUG tails above, half uAUG tails of
# 50-mers with two or more in-frame ATGs (Table D's 2-start setting)
UAUG_MULTI_STAGE = {
    **UAUG_TAILS_STAGE,
    "data": "uAUG tails (as stage 1) for 8,000 sequences, and for 8,000 more the lowest and highest predictions among "
            "uniform random 50-mers with two or more ATGs in frame with the CDS and no out-of-frame ATG (pool 24,000 "
            "each; scrambler_core.scrambler.recipes.recipe_sequences, data kind uaug_tails_multi)",
    "data_kind": "uaug_tails_multi", "epochs": 4, "monitor_bits": 0.05, "monitor_start_22_weight": 2.0,
}

SCRAMBLER_SPECS = {
    ("utr5", "inclusion"): {
        "data": "uniform random 50-mers (the predictor's natural input) plus 25 % enriched uORF sequences",
        "n_train": 24_000, "epochs": 11, "learning_rate": 3e-4, "sampler": "gumbel",
        # epochs 1-8 at weight 10 find the uAUGs; epochs 9-11 at 50 make low targets reachable
        "penalty_weight": [10.0] * 8 + [50.0] * 3,
        "bits_schedule": [1.8, 1.2, 0.8, 0.5, 0.35], "bits_range": [0.05, 2.0],
        # issue 17: the stage above keeps the uAUG but not the stop (Table D stop recall 0.36 / 0.47). Among UTRs
        # with an in-frame uAUG and no out-of-frame ATG, the predicted low and high tails differ only by the stop
        # (closed uORF vs N-terminal extension): continuing on them teaches the stop (bench/optimus5_ablation.py)
        # 3 epochs: in the ablation later epochs traded the 2-start / 2-stop set's uAUGs for its stops
        # stage 2 (issue 17): after stage 1 Table D's 2-start / 2-stop start recall was 0.824 (target 0.88). Half of
        # the data are now uAUG tails of 50-mers with two or more in-frame ATGs; epochs are monitored at the
        # bits-channel value the default request (0.1 bits) reaches (the floor, 0.05) and kept by a score that
        # counts the 2/2 start recall twice (bench/optimus5_ablation.py, config c2_multi_sel22)
        "continue": [{**UAUG_TAILS_STAGE, "epochs": 3}, UAUG_MULTI_STAGE],
    },
    ("utr5", "occlusion"): {
        "data": "uniform random 50-mers plus 25 % enriched uORF sequences",
        "n_train": 24_000, "epochs": 6, "learning_rate": 3e-4, "sampler": "gumbel",
        # epochs 5-6 at weight 50 hold the realised bits to high targets
        "penalty_weight": [10.0] * 4 + [50.0] * 2, "bits_schedule": [1.8], "bits_range": [0.05, 2.0],
    },
    ("polya", "inclusion"): {
        "data": "generated 205-nt PAS windows (the predictor's training distribution)",
        "n_train": 12_000, "epochs": 8, "learning_rate": 3e-4, "sampler": "straight_through",
        "penalty_weight": 10.0, "bits_schedule": [1.8, 1.0], "bits_range": [0.05, 2.0],
        # the default network (5 x 4 blocks, dilations 1,2,4,2,1): in a 400-step trial at 0.5 bits its
        # held-out median sample KL was 0.061 against 0.187 for the APARENT-run network (1 x 4, width 8)
        # issue 17: after the stage above the ranking lost the KL benchmark at 20 % to DeepSHAP (0.078 vs 0.036)
        # while per-example optimisation of the same objective beat it (0.020): the network was under-trained
        # stage 2 (issue 17): still 0.070 at 20 % against DeepLIFT's 0.040. Distillation: the rankings of ISM, DeepLIFT
        # and the network itself (each -log(1 + rank), summed) learnt beside the paper's loss, with the predictor's
        # signed gradient as input channels (their weights starting at 0), on 6,000 windows never seen before
        # (seed + 2000); the epoch kept is the best of the KL benchmark's inclusion test on monitoring windows
        # (seed + 9033; bench/polya_distil.py, docs/attribution_quality.md)
        "continue": [{"n_train": 24_000, "epochs": 4, "learning_rate": 1e-4, "bits_schedule": []},
                     {"n_train": 6_000, "epochs": 8, "learning_rate": 3e-4, "bits_schedule": [],
                      "data_seed_offset": 2000, "network_options": {"guide": "gradient_signed"},
                      "ranking_teacher": ["ism", "deeplift", "start"], "ranking_weight": 5.0,
                      "monitor": "keep_set", "monitor_bits": 0.05}],
    },
    ("polya", "occlusion"): {
        "data": "generated 205-nt PAS windows",
        "n_train": 12_000, "epochs": 5, "learning_rate": 3e-4, "sampler": "straight_through",
        "penalty_weight": [10.0] * 3 + [50.0] * 2, "bits_schedule": [1.8], "bits_range": [0.05, 2.0],
        "network_options": {"groups": 1, "blocks": 4, "width": 8, "dilations": [1]},
    },
    # Published predictors (weights read from $SCRAMBLER_MODELS_DIR; the scramblers are stored keyed by the
    # SHA-256 of the weights file). Each starts from the built-in scrambler for the same sequence kind and
    # length (transfer), then trains against the published model.
    ("optimus5", "inclusion"): {
        "data": "uniform random 50-mers (the Optimus 5-Prime MPRA library was random 50-mers)",
        "n_train": 24_000, "epochs": 5, "learning_rate": 1e-4, "sampler": "gumbel", "penalty_weight": 50.0,
        "bits_schedule": [], "bits_range": [0.05, 2.0], "init_from": "utr5_inclusion.keras",
        # stage 0 started from utr5_inclusion.keras as committed before issue 17 (sha256 652080669dba5414…, in the
        # git history); stage 1 (issue 17) continues on the uAUG tails scored by Optimus: Table D stop recall
        # 0.01 -> 0.9 (the ablation in docs/attribution_quality.md)
        "continue": [UAUG_TAILS_STAGE],
    },
    ("optimus5", "occlusion"): {
        "data": "uniform random 50-mers",
        "n_train": 8_000, "epochs": 3, "learning_rate": 1e-4, "sampler": "gumbel", "penalty_weight": 50.0,
        "bits_schedule": [], "bits_range": [0.05, 2.0], "init_from": "utr5_occlusion.keras",
    },
    ("aparent2", "inclusion"): {
        "data": "generated 205-nt windows: random (A/T 0.3, C/G 0.2) with a PAS hexamer at 70 "
                "(AATAAA 60 %, ATTAAA 25 %, a one-letter variant 15 %)",
        "n_train": 3_200, "epochs": 4, "learning_rate": 1e-4, "sampler": "straight_through",
        "penalty_weight": 10.0, "bits_schedule": [], "bits_range": [0.05, 2.0], "n_samples": 8,
        "batch_size": 16, "init_from": "polya_inclusion.keras",
        # issue 17: 12,800 examples left it at R² 0.25 (0.25 bits) and 9,600 more windows did not move the loss
        # (that continuation was stopped and never shipped). Stage 1: standardised score logits (score_norm
        # "instance", started from stage 0 with its ranking kept) and the predictor's gradient as an input
        # (guide "gradient", its weights starting at 0), one pass over 12,800 new windows: in the screen
        # (bench/aparent2_guided.py) four epochs of 3,200 new windows were best, later ones fell back; without
        # the guide one epoch was best (docs/attribution_quality.md). Stage 2: the signed guide (guide
        # "gradient_signed": each letter's first-order contribution, signed towards the window's side of the
        # mean output, and that distance; the new channels start at 0), one pass over 9,600 windows never seen
        # before (seed + 1000): in the screen three epochs of 3,200 were best (R² 0.55 / 0.78 -> 0.77 / 0.93 on
        # the monitoring windows), the fourth fell back at 0.5 bits
        "continue": [{"n_train": 12_800, "epochs": 1, "learning_rate": 1e-4,
                      "network_options": {"score_norm": "instance", "guide": "gradient"}},
                     {"n_train": 9_600, "epochs": 1, "learning_rate": 1e-4, "data_seed_offset": 1000,
                      "network_options": {"score_norm": "instance", "guide": "gradient_signed"}}],
    },
    ("aparent2", "occlusion"): {
        "data": "generated 205-nt windows with a PAS hexamer at 70 (as for inclusion)",
        "n_train": 3_200, "epochs": 4, "learning_rate": 1e-4, "sampler": "straight_through",
        "penalty_weight": 50.0, "bits_schedule": [], "bits_range": [0.05, 2.0], "n_samples": 8,
        "batch_size": 16, "init_from": "polya_occlusion.keras",
        "network_options": {"groups": 1, "blocks": 4, "width": 8, "dilations": [1]},
    },
}

# Variants of the built-in scramblers (issue 7). Each starts from the reconstruct inclusion scrambler of the same
# predictor (transfer; a mask-dropout network gets a zero-initialised drop channel) and trains briefly.
# The polya variants (and aparent2 inclusion above) were started from polya_inclusion.keras as it stood before
# issue 17's stage 2 (sha256 b5bee25000d9076a…, in the git history; each card records the hash it started from);
# a rerun starts from the stage-2 network, leaving out its guide channels (train._initialise_from).
VARIANT_SPECS = {
    ("utr5", "inclusion", "dropout"): {
        "data": "uniform random 50-mers plus 25 % enriched uORF sequences; uniform block mask dropout, rate "
                "U(0, 0.5) over scales 1, 2, 5, a quarter of the examples undropped",
        "n_train": 12_000, "epochs": 3, "learning_rate": 1e-4, "penalty_weight": 50.0, "bits_schedule": [],
        "init_from": "utr5_inclusion.keras", "mask_dropout": "uniform", "dropout_max_rate": 0.5,
    },
    ("polya", "inclusion", "dropout"): {
        "data": "generated 205-nt PAS windows; uniform block mask dropout, rate U(0, 0.5) over scales 1, 2, 5, a "
                "quarter of the examples undropped",
        "n_train": 6_000, "epochs": 4, "learning_rate": 1e-4, "penalty_weight": 10.0, "bits_schedule": [],
        "init_from": "polya_inclusion.keras", "mask_dropout": "uniform", "dropout_max_rate": 0.5,
    },
}
# positive (maximize) and negative (minimize) feature scramblers: the same recipe for both objectives
for _objective in ("maximize", "minimize"):
    VARIANT_SPECS[("utr5", "inclusion", _objective)] = {
        "data": "uniform random 50-mers plus 25 % enriched uORF sequences",
        "n_train": 8_000, "epochs": 2, "learning_rate": 1e-4, "penalty_weight": 50.0, "bits_schedule": [],
        "init_from": "utr5_inclusion.keras",
    }
    VARIANT_SPECS[("polya", "inclusion", _objective)] = {
        "data": "generated 205-nt PAS windows",
        "n_train": 6_000, "epochs": 3, "learning_rate": 1e-4, "penalty_weight": 10.0, "bits_schedule": [],
        "init_from": "polya_inclusion.keras",
    }
# polya: the transfer from the reconstruct scrambler kept its habit of scoring AATAAA the same wherever it sits (the
# network is translation-equivariant), so the maximize scrambler kept an upstream AATAAA, which lowers the proximal
# isoform. A position channel (zero-initialised) lets both objectives learn where AATAAA helps and where it hurts.
for _objective in ("maximize", "minimize"):
    VARIANT_SPECS[("polya", "inclusion", _objective)].update(
        n_train=8_000, learning_rate=3e-4, network_options={"position_channel": True})

BINDER_SPEC = {
    "data": "generated coiled-coil peptide pairs (synthetic.generate_binder_pairs), 24-48 residues per chain, "
            "zero-padded to 48",
    "n_train": 6_000, "epochs": 5, "learning_rate": 3e-4, "sampler": "straight_through", "penalty_weight": 10.0,
    "bits_schedule": [1.8, 1.0], "bits_range": [0.05, 2.0],
}


def scrambler_spec(predictor_name, mode="inclusion", objective="reconstruct", dropout=None, architecture=None):
    """The committed training recipe for a pretrained scrambler (empty dict when there is none).

    Parameters
    ----------
    predictor_name : str
    mode : {"inclusion", "occlusion"}
    objective : {"reconstruct", "maximize", "minimize"}
    dropout : {None, "uniform", "biased"}
    architecture : {None, "siamese", "joint"} — pair predictors

    Returns
    -------
    dict — settings for :func:`~scrambler_core.scrambler.train_scrambler` plus ``data`` / ``init_from``
    """
    if predictor_name == "binder":
        spec = dict(BINDER_SPEC)
        if mode == "occlusion":
            spec.update(penalty_weight=[10.0] * 4 + [50.0] * 2, bits_schedule=[1.8])
        return spec
    if dropout:
        spec = dict(VARIANT_SPECS.get((predictor_name, mode, "dropout"), {}))
        if spec:
            spec["mask_dropout"] = dropout
        return spec
    if objective != "reconstruct":
        return dict(VARIANT_SPECS.get((predictor_name, mode, objective), {}))
    return dict(SCRAMBLER_SPECS.get((predictor_name, mode), {}))


def recipe_stages(spec) -> list[dict]:
    """The stages of a recipe: the recipe itself, then each ``spec["continue"]`` entry laid over it.

    A continuation stage starts from the network the stage before it wrote (``init_from`` is set by the
    trainer), keeps that network's background (the letter frequencies of the predictor's natural
    inputs, not of the continuation's selected data) and is calibrated and checked on the natural inputs
    too (``calibration_data_kind``); it changes only what it names (data, epochs, ...).

    Returns
    -------
    list of dict, at least one
    """
    base = {k: v for k, v in spec.items() if k != "continue"}
    natural = {"background_from": "previous", "calibration_data_kind": base.get("data_kind", "builtin")}
    later = [{**{k: v for k, v in base.items() if k != "init_from"}, **natural, **stage}
             for stage in spec.get("continue", [])]
    return [base] + later


PAS_VARIANTS = ("AATAAA", "ATTAAA")


def generate_pas_windows(n: int, seed: int, length=205, pas_position=70) -> list[str]:
    """Random 205-nt windows with a PAS hexamer at ``pas_position`` (APARENT2's input convention).

    Returns
    -------
    list of str, length n
    """
    rng = np.random.default_rng(seed)
    seqs = synthetic.random_sequences(n, length, rng, probabilities=[0.3, 0.2, 0.2, 0.3])
    out = []
    for s in seqs:
        draw = rng.random()
        pas = "AATAAA" if draw < 0.6 else "ATTAAA" if draw < 0.85 else synthetic._mutate_once("AATAAA", rng)
        out.append(s[:pas_position] + pas + s[pas_position + 6:])
    return out


def training_sequences(predictor_name: str, n: int, seed: int) -> list:
    """Scrambler training inputs for a built-in predictor.

    Returns
    -------
    list of str, length n (``binder``: list of (seq_a, seq_b) pairs)
    """
    rng = np.random.default_rng(seed)
    if predictor_name == "utr5":
        n_enriched = n // 4
        seqs = synthetic.random_sequences(n - n_enriched, synthetic.UTR5_LENGTH, rng)
        seqs += synthetic.generate_utr5_training(n_enriched, seed=seed + 7)
        return [seqs[i] for i in rng.permutation(len(seqs))]
    if predictor_name == "polya":
        return synthetic.generate_polya_training(n, seed=seed + 7)
    if predictor_name == "optimus5":
        return synthetic.random_sequences(n, 50, rng)
    if predictor_name == "aparent2":
        return generate_pas_windows(n, seed + 7)
    if predictor_name == "binder":
        return synthetic.generate_binder_pairs(n, seed=seed + 7)
    raise ValueError(f"no scrambler training data recipe for {predictor_name!r}")


# ----------------------------------------------------------------------------- Optimus uAUG tails (issue 17)

def _trimer_starts(seqs, trimers) -> np.ndarray:
    """Boolean (N, L - 2): where each sequence has one of ``trimers`` starting."""
    arr = np.array([list(s) for s in seqs])
    joined = np.char.add(np.char.add(arr[:, :-2], arr[:, 1:-1]), arr[:, 2:])
    return np.isin(joined, list(trimers))


def closed_inframe_uorf(seqs) -> np.ndarray:
    """True where an in-frame uAUG (0-based start i, i % 3 == 2) has an in-frame stop downstream in the UTR.

    Returns
    -------
    np.ndarray (N,) bool
    """
    atg, stop = _trimer_starts(seqs, ("ATG",)), _trimer_starts(seqs, synthetic.STOP_CODONS)
    frame = (np.arange(atg.shape[1]) % 3) == 2
    atg, stop = atg & frame, stop & frame
    first_atg = np.where(atg.any(1), atg.argmax(1), atg.shape[1])
    return (stop & (np.arange(stop.shape[1])[None] > first_atg[:, None])).any(1)


def uaug_tails(predict, n: int, seed: int, pool_factor: int = 3, length: int = 50, min_uaugs: int = 1):
    """Scrambler training data after the authors' Optimus recipe, with the predictor standing in for MRL.

    The authors trained on the 5,000 lowest- and 5,000 highest-MRL library 50-mers among those carrying
    an in-frame uAUG: there the stop codon is what separates a repressive uORF from a harmless N-terminal
    extension. Here: uniform random 50-mers with at least one ATG in frame with the CDS (0-based start
    i, i % 3 == 2) and **no out-of-frame ATG** (which would otherwise explain most of the low tail), a pool
    of ``pool_factor * n``, and the ``n // 2`` lowest and ``n - n // 2`` highest by ``predict``.
    ``min_uaugs`` = 2 keeps only 50-mers with two or more in-frame ATGs (Table D's 2-start setting).

    Parameters
    ----------
    predict : callable(list of str) -> np.ndarray (N,)
    n : int — sequences returned
    seed : int

    Returns
    -------
    seqs : list of str, length n (bottom tail then top tail, shuffled)
    stats : dict — pool size, the tails' prediction ranges and how often each holds a closed in-frame uORF
    """
    rng = np.random.default_rng(seed)
    pool = []
    while len(pool) < pool_factor * n:
        draw = rng.integers(0, 4, size=(20_000, length))
        seqs = ["".join(synthetic.NUCLEOTIDES[k] for k in row) for row in draw]
        atg = _trimer_starts(seqs, ("ATG",))
        frame = (np.arange(atg.shape[1]) % 3) == 2
        keep = ((atg & frame).sum(1) >= min_uaugs) & ~(atg & ~frame).any(1)
        pool += [s for s, k in zip(seqs, keep) if k]
    pool = pool[:pool_factor * n]
    y = np.asarray(predict(pool), np.float64)
    order = np.argsort(y, kind="stable")
    low, high = order[:n // 2], order[len(order) - (n - n // 2):]
    chosen = np.concatenate([low, high])
    closed = closed_inframe_uorf(pool)
    stats = {"pool": len(pool), "low_tail_max": float(y[low].max()), "high_tail_min": float(y[high].min()),
             "low_closed_uorf": float(closed[low].mean()), "high_closed_uorf": float(closed[high].mean()),
             "pool_closed_uorf": float(closed.mean())}
    return [pool[i] for i in rng.permutation(chosen)], stats


DATA_KINDS = ("builtin", "uniform", "uaug_tails", "uaug_tails_mixed", "uaug_tails_multi")


def recipe_sequences(predictor, spec, n: int, seed: int, return_stats=False):
    """Training inputs of a recipe, by its ``data_kind``.

    ``builtin`` (default): the predictor's own generator (:func:`training_sequences`); ``uniform``: uniform
    random sequences of the predictor's length; ``uaug_tails``: :func:`uaug_tails` scored by the predictor;
    ``uaug_tails_mixed``: half uAUG tails, half uniform random; ``uaug_tails_multi``: half uAUG tails, half
    uAUG tails of 50-mers with two or more in-frame ATGs (``min_uaugs=2``, a pool of their own).

    Returns
    -------
    list of str, length n (and a dict of data statistics when ``return_stats``)
    """
    kind = spec.get("data_kind", "builtin")
    if kind not in DATA_KINDS:
        raise ValueError(f"data_kind must be one of {', '.join(DATA_KINDS)}, got {kind!r}")
    rng = np.random.default_rng(seed)
    stats = {"data_kind": kind}
    if kind == "builtin":
        seqs = training_sequences(predictor.name, n, seed)
    elif kind == "uniform":
        seqs = synthetic.random_sequences(n, predictor.sequence_length, rng)
    else:
        n_tails = n if kind == "uaug_tails" else n // 2
        seqs, tail_stats = uaug_tails(lambda s: predictor.predict(s), n_tails, seed,
                                      length=predictor.sequence_length)
        stats.update(tail_stats)
        if n_tails < n and kind == "uaug_tails_multi":
            multi, multi_stats = uaug_tails(lambda s: predictor.predict(s), n - n_tails, seed + 1,
                                            length=predictor.sequence_length, min_uaugs=2)
            stats["multi_uaug_tails"] = multi_stats
            seqs = seqs + multi
            seqs = [seqs[i] for i in rng.permutation(len(seqs))]
        elif n_tails < n:
            seqs = seqs + synthetic.random_sequences(n - n_tails, predictor.sequence_length, rng)
            seqs = [seqs[i] for i in rng.permutation(len(seqs))]
    return (seqs, stats) if return_stats else seqs


# ============================================================================ training by recipe

def train_scrambler_cli(predictor_name, mode="inclusion", output=None, input_path=None, fixed_bits=None,
                        epochs=None, n_train=None, learning_rate=None, penalty_weight=None, seed=0,
                        time_limit=None, checkpoint=None, objective="reconstruct", model_path=None,
                        dropout=None, architecture=None, template=None, stage=None):
    """Train a scrambler with the committed recipe (built-in and published predictors) or on given sequences.

    Writes weights + card. ``model_path`` is the weights file of a published predictor
    (``optimus5``, ``aparent2``); its SHA-256 goes into the card and the default file name.
    ``objective`` trains positive (maximize) or negative (minimize) feature scramblers, ``dropout``
    ("uniform" / "biased") a mask-dropout scrambler, ``architecture`` ("siamese" / "joint") the
    scrambler of a pair predictor (``binder``), ``template`` fixed positions (method §2).

    A recipe may continue in stages (``spec["continue"]``, see :func:`~scrambler_core.scrambler.recipes.
    recipe_stages`): each stage starts from the network the previous one wrote. ``stage=K`` runs stage K
    (and the ones after it) only, starting from the network already at ``output``.

    Returns
    -------
    dict — the model card (``metrics_held_out`` holds bits tracking, sample agreement
    and, for utr5, uAUG/stop recall; ``stages`` one entry per stage of a staged recipe).
    """
    from ..predictors.pairs import as_single_input

    predictor, spec, output, dropout, architecture = _training_target(
        predictor_name, mode, objective, dropout, architecture, model_path, output)
    if input_path and predictor.is_pair:
        raise ValueError("train-scrambler --input is for single-sequence predictors; a pair predictor trains on "
                         "its built-in generator")
    stages = recipe_stages(spec)
    first = 0 if stage is None else int(stage)
    if not 0 <= first < len(stages):
        raise ValueError(f"--stage must be between 0 and {len(stages) - 1} for this recipe, got {stage}")
    done = []
    if first:
        if not Path(output).exists():
            raise ValueError(f"stage {first} continues {Path(output).name}, which does not exist; run the earlier "
                             f"stages first (leave out --stage)")
        previous = ModelCard.read(Path(output).with_suffix(".json"))
        done = (previous.get("stages") or [_stage_record(previous)])[:first]      # a single-stage card is stage 0
    overrides = {"fixed_bits": fixed_bits, "epochs": epochs, "n_train": n_train, "learning_rate": learning_rate,
                 "penalty_weight": penalty_weight}
    for k in range(first, len(stages)):
        stage_spec = {**stages[k], **{key: v for key, v in overrides.items() if v is not None}}
        if k:
            stage_spec["init_from"] = Path(output).resolve()      # a relative --output is not under pretrained/
        scrambler, card = _train_stage(
            predictor, as_single_input(predictor), stage_spec, input_path=input_path, seed=seed, mode=mode,
            objective=objective, dropout=dropout, architecture=architecture, template=template,
            time_limit=time_limit, checkpoint=None if checkpoint is None else
            (checkpoint if len(stages) == 1 else f"{checkpoint}_stage{k}"))
        card = _scrambler_card(predictor, predictor_name, output, card, seed=seed, mode=mode, objective=objective,
                               dropout=dropout, architecture=architecture, template=template)
        if len(stages) > 1:
            done.append(_stage_record(card))
            card.update(stages=list(done), training_seconds=round(sum(d["training_seconds"] for d in done), 1))
        scrambler.save(output, card)
    return card


def _stage_record(card) -> dict:
    """What a staged card keeps of each stage."""
    return {key: card.get(key) for key in ("data", "settings", "initialised_from", "initialised_from_sha256",
                                           "training_seconds", "history")}


def _training_target(predictor_name, mode, objective, dropout, architecture, model_path, output):
    """The predictor, its recipe, the output path and the resolved dropout / architecture."""
    from ..predictors.registry import EXTERNAL_PREDICTORS
    from ..paths import PRETRAINED_DIR
    from ..predictors.registry import BUILTIN_PREDICTORS, load_predictor
    from .explain import external_scrambler_path, pretrained_scrambler_name

    predictor = load_predictor(predictor_name, path=model_path)
    published = predictor_name in EXTERNAL_PREDICTORS
    if predictor.is_pair:
        architecture = architecture or "siamese"
    known = predictor_name in BUILTIN_PREDICTORS or published
    spec = scrambler_spec(predictor.name, mode, objective, dropout, architecture) if known else {}
    dropout = dropout or spec.get("mask_dropout")
    if output is None:
        stem = pretrained_scrambler_name(Path(str(predictor_name)).stem, mode, objective, bool(dropout), architecture)
        output = (external_scrambler_path(predictor_name, predictor.card["weights_sha256"], mode, objective)
                  if published else PRETRAINED_DIR / f"{stem}.keras")
    return predictor, spec, output, dropout, architecture


def teacher_rankings(predictor, x, methods, start=None, batch_size=512) -> np.ndarray:
    """Distillation targets of a recipe stage (``ranking_teacher``): rankings of ``x`` by attribution methods.

    Each method's per-position scores (:func:`~scrambler_core.attribution.attribute`, ranked by
    :func:`~scrambler_core.attribution.position_scores`) become ``train.rank_targets``; several methods are
    summed (a blend), then ranked again. ``"start"`` is the stage's starting scrambler: its importance at
    0.1 bits (the KL benchmark's ranking), so that a blend keeps what the network already ranks well.

    Parameters
    ----------
    predictor : Predictor (single-sequence)
    x : np.ndarray (N, L, A) one-hot
    methods : sequence of str — attribution method names (e.g. ``["ism"]``) or ``"start"``
    start : str or Path, optional — the starting scrambler's ``.keras`` (required by ``"start"``)

    Returns
    -------
    np.ndarray (N, L) float32 — ``-log(1 + rank)`` per sequence
    """
    from ..attribution import attribute, position_scores
    from .train import rank_targets

    if not methods:
        raise ValueError("ranking_teacher needs at least one attribution method")
    if "start" in methods and start is None:
        raise ValueError("ranking_teacher 'start' needs the stage's starting scrambler (init_from)")
    total = np.zeros(x.shape[:2], np.float32)
    for method in methods:
        if method == "start":
            from .explain import load_scrambler
            scrambler = load_scrambler(start, predictor=predictor)
            batches = [scrambler.scores(x[i:i + batch_size], 0.1) for i in range(0, len(x), batch_size)]
        else:
            batches = [position_scores(attribute(predictor, x[i:i + batch_size], method))
                       for i in range(0, len(x), batch_size)]
        total += rank_targets(np.concatenate(batches))
    return rank_targets(total)


def _stage_settings(spec, mode, objective, dropout, architecture, template):
    fixed_bits = spec.get("fixed_bits")
    return {
        "mode": mode, "objective": objective, "bits_conditioned": fixed_bits is None,
        "target_bits": fixed_bits if fixed_bits is not None else 0.5,
        "bits_range": tuple(spec.get("bits_range", (0.05, 2.0))),
        "bits_schedule": tuple(spec.get("bits_schedule", (1.8, 1.2, 0.8, 0.5, 0.35))),
        "epochs": spec.get("epochs", 8),
        "learning_rate": spec.get("learning_rate", 3e-4),
        "sampler": spec.get("sampler"),
        "penalty_weight": spec.get("penalty_weight"),
        "network_options": spec.get("network_options"),
        "n_samples": spec.get("n_samples", 32),
        "batch_size": spec.get("batch_size", 32),
        "mask_dropout": dropout,
        "dropout_max_rate": spec.get("dropout_max_rate", 0.5),
        "architecture": architecture,
        "template": template,
        # distillation (a stage with a ranking_teacher): the weight of its ranking loss
        **({"ranking_weight": spec.get("ranking_weight", 1.0)} if spec.get("ranking_teacher") else {}),
    }


def _natural_inputs(spec) -> dict:
    """The data kind a stage is calibrated, checked and monitored on: the predictor's natural inputs (a
    continuation on selected data, e.g. uAUG tails, names them as ``calibration_data_kind``)."""
    return {"data_kind": spec.get("calibration_data_kind", spec.get("data_kind", "builtin"))}


def _stage_monitor(predictor, encoder, spec, seed, mode, objective):
    """The stage's per-epoch ``validation_fn`` (training keeps the best epoch by its ``selection_score``), or None.

    Table D on monitoring sets for the 50-nt 5'UTR inclusion scramblers; the KL benchmark's inclusion test on
    256 monitoring windows (seed + ``KEEP_SET_MONITOR_SEED_OFFSET``) for a stage with ``"monitor": "keep_set"``.
    """
    from .. import evaluation

    if predictor.name in UORF_PREDICTORS and mode == "inclusion" and objective == "reconstruct":
        def validation_fn(scr):             # Table D on monitoring sets; training ends on the best epoch
            return evaluation.uorf_monitor(scr, seed=seed, target_bits=spec.get("monitor_bits", 0.125),
                                           start_22_weight=spec.get("monitor_start_22_weight", 1.0))
        return validation_fn
    if spec.get("monitor") == "keep_set":
        x_monitor = encoder.to_onehot(recipe_sequences(predictor, _natural_inputs(spec), 256,
                                                       seed + KEEP_SET_MONITOR_SEED_OFFSET))
        return lambda scr: evaluation.keep_set_monitor(scr, predictor, x_monitor,
                                                       target_bits=spec.get("monitor_bits", 0.05))
    return None


def _train_stage(predictor, encoder, spec, *, input_path, seed, mode, objective, dropout, architecture, template,
                 time_limit, checkpoint):
    """One training run of a recipe stage: data, training with a progress bar, calibration and checks."""
    from tqdm.auto import tqdm

    from ..hashing import sha256_file
    from ..paths import PRETRAINED_DIR
    from ..predictors.base import load_keras_model
    from .checkpoint import checkpoint_epoch
    from .train import train_scrambler

    x, x_valid, x_calibration, data = _scrambler_training_data(predictor, encoder, spec, input_path,
                                                               spec.get("n_train", 24_000), seed)
    settings = _stage_settings(spec, mode, objective, dropout, architecture, template)
    init_from = spec.get("init_from")
    init_path = None if init_from is None else (Path(init_from) if Path(str(init_from)).is_absolute()
                                                else PRETRAINED_DIR / init_from)
    teacher = spec.get("ranking_teacher")     # distillation: the teacher's rankings of this stage's inputs
    ranking_targets = None if not teacher else teacher_rankings(predictor, x, teacher, start=init_path)
    background = None
    if spec.get("background_from") == "previous" and init_path is not None:
        background = np.asarray(load_keras_model(init_path).background, np.float32)
    steps_per_epoch = len(x) // settings["batch_size"]
    bar = tqdm(total=settings["epochs"] * steps_per_epoch, initial=checkpoint_epoch(checkpoint) * steps_per_epoch,
               unit="step", desc=f"{predictor.name} {mode}", mininterval=5)

    def progress(epoch, step, steps, logs):
        bar.n = epoch * steps + step + 1
        bar.set_postfix(epoch=epoch + 1, bits=f"{logs['bits']:.2f}", loss=f"{logs['loss']:.3f}", refresh=False)
        bar.refresh()

    validation_fn = _stage_monitor(predictor, encoder, spec, seed, mode, objective)
    started = time.time()
    scrambler, history = train_scrambler(predictor, x, validation=x_valid[:64], seed=seed, progress=progress,
                                         time_limit=time_limit, checkpoint=checkpoint,
                                         validation_fn=validation_fn, init_from=init_path, background=background,
                                         ranking_targets=ranking_targets, log=lambda m: tqdm.write(m), **settings)
    bar.close()
    seconds = history[-1]["seconds"] if history else time.time() - started
    return scrambler, {"data": {**data, "n_train": len(x), "n_validation": len(x_valid)},
                       "settings": {**{k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()},
                                    **({"ranking_teacher": list(teacher)} if teacher else {})},
                       "history": history, "metrics_held_out": calibrate_and_evaluate(scrambler, x_calibration,
                                                                                      x_valid),
                       "training_seconds": round(seconds, 1),
                       "initialised_from": None if init_from is None else Path(str(init_from)).name,
                       "initialised_from_sha256": None if init_path is None else sha256_file(init_path)}


def _scrambler_card(predictor, predictor_name, output, stage_card, *, seed, mode, objective, dropout, architecture,
                    template):
    """The model card of a trained scrambler: identity, the stage's data/settings/history/metrics, the command."""
    from ..predictors.registry import EXTERNAL_PREDICTORS
    from ..predictors.registry import BUILTIN_PREDICTORS

    published = predictor_name in EXTERNAL_PREDICTORS
    fixed_bits = None if stage_card["settings"]["bits_conditioned"] else stage_card["settings"]["target_bits"]
    identity = {
        "predictor_card": ({k: predictor.card.get(k) for k in ("grammar_version", "seed")}
                           if predictor_name in BUILTIN_PREDICTORS else None),
        **({"predictor_file": predictor.card.get("file"), "predictor_sha256": predictor.card.get("weights_sha256")}
           if published else {}),
        "seed": seed,
    }
    command = (f"python -m scrambler_core train-scrambler --predictor {predictor_name} --mode {mode}"
               + (f" --objective {objective}" if objective != "reconstruct" else "")
               + (f" --dropout {dropout}" if dropout else "")
               + (f" --architecture {architecture}" if architecture else "")
               + (f" --template {template}" if template else "")
               + (f" --model-path {Path(predictor.path).name}" if published else "")
               + (f" --fixed-bits {fixed_bits}" if fixed_bits is not None else "") + f" --seed {seed}")
    return scrambler_card(Path(output).stem, predictor.name, identity=identity, training=stage_card,
                          command=command).to_dict()


def _scrambler_training_data(predictor, encoder, spec, input_path, n_train, seed):
    """Training, held-out and calibration inputs (one-hot) and the card's data entry.

    From ``input_path`` (a tenth held out, split in half for calibration and checks) or from the
    recipe's data kind (:func:`recipe_sequences`) with separate seeds.
    """
    from ..sequences import read_sequences

    if input_path:
        seqs = [s for _, s in read_sequences(input_path, predictor.alphabet, length=predictor.sequence_length)]
        rng = np.random.default_rng(seed)
        seqs = [seqs[i] for i in rng.permutation(len(seqs))]
        n_valid = max(1, min(256, len(seqs) // 10))
        valid, seqs = seqs[:n_valid], seqs[n_valid:]
        x_valid = encoder.to_onehot(valid)
        return (encoder.to_onehot(seqs), x_valid[len(x_valid) // 2:], x_valid[: len(x_valid) // 2],
                {"description": f"{input_path} ({len(seqs)} training, {n_valid} held out)"})
    offset = int(spec.get("data_seed_offset", 0))       # a later stage's new inputs (seed + offset)
    seqs, stats = recipe_sequences(predictor, spec, n_train, seed + offset, return_stats=True)
    natural = _natural_inputs(spec)
    valid = recipe_sequences(predictor, natural, 256, seed + HELD_OUT_SEED_OFFSET)
    calibration = recipe_sequences(predictor, natural, 256, seed + CALIBRATION_SEED_OFFSET)
    data = {"description": spec.get("data", ""), **({} if stats["data_kind"] == "builtin" else stats)}
    if offset:
        data["data_seed_offset"] = offset
    if natural["data_kind"] != stats["data_kind"]:
        data["calibration_data_kind"] = natural["data_kind"]
    return encoder.to_onehot(seqs), encoder.to_onehot(valid), encoder.to_onehot(calibration), data


def calibrate_and_evaluate(scrambler, x_calibration, x_valid):
    """Calibrate a bits-conditioned scrambler's bits channel, then measure it on held-out inputs.

    Parameters
    ----------
    scrambler : Scrambler
    x_calibration : np.ndarray (M, L, A) — inputs for :func:`calibrate_bits`
    x_valid : np.ndarray (N, L, A) — separate held-out inputs for the checks

    Returns
    -------
    dict — uncalibrated and calibrated bits tracking, sample agreement (R² of original vs
    mean sample prediction), and for the utr5 inclusion scrambler the uAUG/stop recall.
    """
    from .. import evaluation
    from .explain import calibrate_bits

    net = scrambler.network
    targets = [0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0] if net.bits_conditioned else [net.target_bits]
    metrics = {}
    if net.bits_conditioned:
        net.bits_calibration = None
        metrics["bits_tracking_uncalibrated"] = evaluation.bits_tracking(scrambler, x_valid, targets)
        calibrate_bits(scrambler, x_calibration)
    tracking = evaluation.bits_tracking(scrambler, x_valid, targets)
    metrics["bits_tracking_requested_vs_realised"] = tracking
    metrics["bits_tracking_max_abs_error_0.1_to_1.5"] = max(
        abs(float(k) - v) for k, v in tracking.items() if 0.1 <= float(k) <= 1.5)
    agreement_bits = [0.25, 0.5, 1.0] if net.bits_conditioned else [net.target_bits]
    if net.objective != "reconstruct":
        metrics["mean_sample_prediction_minus_original"] = {
            f"{t:g}": evaluation.objective_shift(scrambler, x_valid, t) for t in agreement_bits}
    elif net.mode == "inclusion":
        metrics["sample_agreement"] = {f"{t:g}": evaluation.sample_agreement(scrambler, x_valid, t)
                                       for t in agreement_bits}
    else:
        metrics["occlusion_effect"] = {f"{t:g}": evaluation.occlusion_effect(scrambler, x_valid, t)
                                       for t in [1.0, 1.5, 1.8]}
    if scrambler.predictor.name in UORF_PREDICTORS and net.mode == "inclusion" and net.objective == "reconstruct":
        recall_bits = [0.1, 0.25, 0.5, 1.0] if net.bits_conditioned else [net.target_bits]
        metrics["uorf_recall_1start_1stop_n200"] = {
            f"{t:g}": evaluation.uorf_recall(lambda s, t=t: scrambler.scores(s, target_bits=t), n=200)
            for t in recall_bits}
    return metrics


def calibrate_scrambler_file(path, seed=0):
    """Re-calibrate and re-evaluate a saved built-in scrambler; rewrite its weights and card.

    Returns
    -------
    dict — the updated model card
    """
    from .explain import load_scrambler

    scrambler = load_scrambler(str(path))
    data = dict(scrambler.card.get("data", {}))    # the recipe's data kind (builtin when the card has none)
    data["data_kind"] = data.get("calibration_data_kind", data.get("data_kind", "builtin"))
    x_calibration = scrambler.predictor.to_onehot(recipe_sequences(scrambler.predictor, data, 256,
                                                                   seed + CALIBRATION_SEED_OFFSET))
    x_valid = scrambler.predictor.to_onehot(recipe_sequences(scrambler.predictor, data, 256,
                                                             seed + HELD_OUT_SEED_OFFSET))
    card = dict(scrambler.card)
    card["metrics_held_out"] = calibrate_and_evaluate(scrambler, x_calibration, x_valid)
    scrambler.save(path, card)
    return card
