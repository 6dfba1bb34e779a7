"""Training of the built-in predictors on their synthetic grammars.

``python -m scrambler_core train-predictor utr5`` reproduces ``pretrained/utr5.keras``
and its model card ``pretrained/utr5.json`` (fixed seed); likewise ``polya`` and the pair
predictor ``binder`` (two peptides -> probability that they bind).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from . import runtime  # noqa: F401
import keras

from . import synthetic
from .sequences import one_hot

# scrambler inputs held out for checks and for bits calibration: the training seed plus these
HELD_OUT_SEED_OFFSET = 99
UORF_PREDICTORS = ("utr5", "optimus5")      # 50-nt 5'UTR predictors: uAUG/stop recall is checked
CALIBRATION_SEED_OFFSET = 199

PREDICTOR_SPECS = {
    "utr5": {"n_train": 240_000, "n_test": 10_000, "epochs": 8, "noise": 0.3},
    "polya": {"n_train": 150_000, "n_test": 10_000, "epochs": 8, "reads": 50},
    "binder": {"n_train": 80_000, "n_test": 5_000, "epochs": 15},
}


def build_utr5_model(length=synthetic.UTR5_LENGTH):
    """Optimus-5-Prime-like CNN: conv x3 -> dense -> MRL (regression).

    Returns
    -------
    keras.Model, input (N, 50, 4), output (N, 1)
    """
    inputs = keras.Input((length, 4), name="onehot")
    h = keras.layers.Conv1D(64, 8, padding="same", activation="relu")(inputs)
    h = keras.layers.Conv1D(48, 8, padding="same", activation="relu")(h)
    h = keras.layers.Conv1D(48, 8, padding="same", activation="relu")(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(64, activation="relu")(h)
    h = keras.layers.Dropout(0.1)(h)
    out = keras.layers.Dense(1, name="mrl")(h)
    return keras.Model(inputs, out, name="utr5")


def build_polya_model(length=synthetic.POLYA_LENGTH):
    """APARENT-like CNN: conv -> pool -> conv -> dense -> logit -> sigmoid.

    Returns
    -------
    keras.Model, input (N, 205, 4), output (N, 1) probability
    """
    inputs = keras.Input((length, 4), name="onehot")
    h = keras.layers.Conv1D(48, 8, padding="same", activation="relu")(inputs)
    h = keras.layers.MaxPooling1D(2)(h)
    h = keras.layers.Conv1D(32, 6, padding="same", activation="relu")(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(32, activation="relu")(h)
    h = keras.layers.Dropout(0.1)(h)
    logit = keras.layers.Dense(1, name="logit")(h)
    out = keras.layers.Activation("sigmoid", name="proportion")(logit)
    return keras.Model(inputs, out, name="polya")


def build_binder_model(length=synthetic.BINDER_MAX_LENGTH, channels=20, encoding=8, hidden=64):
    """Coiled-coil binder CNN for two in-register peptides -> probability that they bind.

    Each chain (zero-padded to ``length``) goes through the same per-residue encoder (a width-1
    Conv1D). The chains are parallel and in register, so the two encodings are concatenated
    position by position, in both orders ``[a, b]`` and ``[b, a]``. Each is padded to a whole
    number of heptads and reshaped to one row per heptad (``(7, 7 * 2 * encoding)`` for 48
    residues), which gives the network the heptad letter of every residue; a Conv1D of width 2
    over heptads covers g of heptad k facing e' of heptad k+1 (i -> i+5); a width-1 Conv1D
    follows, then global average pooling. The two orders share these layers and their pooled
    features are added, so the model is symmetric under swapping the chains. Dense -> ``logit``
    Dense(1) -> ``Activation("sigmoid", name="probability")``.

    Returns
    -------
    keras.Model, inputs ``chain_a``, ``chain_b`` (N, length, 20), output (N, 1) probability
    """
    a = keras.Input((length, channels), name="chain_a")
    b = keras.Input((length, channels), name="chain_b")
    encoder = keras.layers.Conv1D(encoding, 1, padding="same", activation="relu", name="residue_encoder")
    ea, eb = encoder(a), encoder(b)
    heptads = -(-length // 7)
    pad = keras.layers.ZeroPadding1D((0, 7 * heptads - length), name="pad_to_heptads")
    to_heptads = keras.layers.Reshape((heptads, 7 * 2 * encoding), name="heptad_rows")
    contacts = keras.layers.Conv1D(hidden, 2, padding="same", activation="relu", name="heptad_contacts")
    mix = keras.layers.Conv1D(hidden // 2, 1, padding="same", activation="relu", name="heptad_features")
    pool = keras.layers.GlobalAveragePooling1D(name="pool_heptads")

    def pair_features(first, second, order):
        h = keras.layers.Concatenate(name=f"in_register_{order}")([first, second])
        return pool(mix(contacts(to_heptads(pad(h)))))

    h = keras.layers.Add(name="symmetric_sum")([pair_features(ea, eb, "ab"), pair_features(eb, ea, "ba")])
    h = keras.layers.Dense(hidden // 2, activation="relu", name="dense")(h)
    logit = keras.layers.Dense(1, name="logit")(h)
    out = keras.layers.Activation("sigmoid", name="probability")(logit)
    return keras.Model([a, b], out, name="binder")


def _encode_pairs(pairs, length=synthetic.BINDER_MAX_LENGTH):
    """One-hot chains a and b of peptide pairs, zero-padded to ``length``: two (N, length, 20) float32."""
    letters = synthetic.PROTEIN_LETTERS
    index = {c: k for k, c in enumerate(letters)}
    out = np.zeros((2, len(pairs), length, len(letters)), np.float32)
    for n, pair in enumerate(pairs):
        for c, seq in enumerate(pair):
            out[c, n, np.arange(len(seq)), [index[s] for s in seq]] = 1.0
    return out[0], out[1]


def roc_auc(labels, scores):
    """Area under the ROC curve by the rank (Mann-Whitney) formula, ties sharing their mean rank.

    Parameters
    ----------
    labels : array (N,) of bool
    scores : array (N,) of float

    Returns
    -------
    float
    """
    labels = np.asarray(labels, bool)
    scores = np.asarray(scores, float)
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), float)
    sorted_scores = scores[order]
    start = 0
    while start < len(scores):
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2 + 1
        start = end + 1
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs both positive and negative labels")
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _r2(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    return float(1 - np.sum((y_true - y_pred) ** 2) / np.sum((y_true - y_true.mean()) ** 2))


def make_dataset(name, n, seed):
    """Sequences, noisy labels and true values for a built-in grammar.

    Returns
    -------
    seqs : list of str
    x : np.ndarray (N, L, 4); for ``binder`` the pairs and a tuple of two (N, 48, 20) arrays
    labels : np.ndarray (N,) — noisy training labels (``binder``: the true probability itself)
    true : np.ndarray (N,) — noiseless grammar values
    """
    rng = np.random.default_rng(seed + 1)
    if name == "binder":
        pairs = synthetic.generate_binder_pairs(n, seed)
        true = synthetic.binder_probability(pairs)
        return pairs, _encode_pairs(pairs), true.copy(), true
    if name == "utr5":
        seqs = synthetic.generate_utr5_training(n, seed)
        true = synthetic.utr5_mrl(seqs)
        labels = true + rng.normal(0, PREDICTOR_SPECS["utr5"]["noise"], size=n).astype(np.float32)
    elif name == "polya":
        seqs = synthetic.generate_polya_training(n, seed)
        true = synthetic.polya_proportion(seqs)
        reads = PREDICTOR_SPECS["polya"]["reads"]
        labels = (rng.binomial(reads, true) / reads).astype(np.float32)
    else:
        raise ValueError(f"unknown built-in predictor {name!r}; choose utr5, polya or binder")
    return seqs, one_hot(seqs, "dna"), labels.astype(np.float32), true


def train_predictor(name, output_dir="pretrained", seed=0, n_train=None, n_test=None, epochs=None,
                    verbose=1):
    """Train a built-in predictor on its grammar and write ``NAME.keras`` and ``NAME.json``.

    Parameters
    ----------
    name : {"utr5", "polya", "binder"}
    output_dir : str or Path
    seed : int
    n_train, n_test, epochs : int, optional
        Override the defaults in ``PREDICTOR_SPECS`` (tests use tiny values).

    Returns
    -------
    dict
        The model card.
    """
    if name not in PREDICTOR_SPECS:
        raise ValueError(f"unknown built-in predictor {name!r}; choose {', '.join(PREDICTOR_SPECS)}")
    if name == "binder":
        return train_binder(output_dir, seed=seed, n_train=n_train, n_test=n_test, epochs=epochs, verbose=verbose)
    spec = dict(PREDICTOR_SPECS[name])
    n_train = n_train or spec["n_train"]
    n_test = n_test or spec["n_test"]
    epochs = epochs or spec["epochs"]
    keras.utils.set_random_seed(seed)
    start = time.time()
    _, x_train, y_train, _ = make_dataset(name, n_train, seed)
    _, x_test, y_test, true_test = make_dataset(name, n_test, seed + 1000)
    model = build_utr5_model() if name == "utr5" else build_polya_model()
    loss = "mse" if name == "utr5" else "binary_crossentropy"
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=epochs * (n_train // 128 + 1))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss)
    history = model.fit(x_train, y_train, batch_size=128, epochs=epochs, validation_data=(x_test, y_test),
                        verbose=verbose)
    pred = model.predict(x_test, batch_size=1024, verbose=0)[:, 0]
    metrics = {"r2_vs_true_function": _r2(true_test, pred), "r2_vs_noisy_labels": _r2(y_test, pred),
               "pearson_r_vs_true_function": float(np.corrcoef(true_test, pred)[0, 1])}
    if name == "polya":
        clipped = np.clip(pred, 1e-6, 1 - 1e-6)
        true_logit = np.log(true_test / (1 - true_test))
        metrics["r2_logit_vs_true_logit"] = _r2(true_logit, np.log(clipped / (1 - clipped)))
    if name == "utr5":
        seqs, _, _ = synthetic.generate_uorf_set(512, 1, 1, seed=seed + 2000)
        metrics["r2_vs_true_function_uorf_set"] = _r2(synthetic.utr5_mrl(seqs),
                                                        model.predict(one_hot(seqs), verbose=0)[:, 0])
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    card = {
        "name": name,
        "kind": "predictor",
        "grammar": f"scrambler_core.synthetic.{name}",
        "grammar_version": synthetic.GRAMMAR_VERSION,
        "output_kind": "regression" if name == "utr5" else "sigmoid",
        "data": {"n_train": n_train, "n_test": n_test,
                 "generator": f"scrambler_core.synthetic.generate_{name}_training",
                 "labels": ("true MRL + Gaussian noise sd 0.3" if name == "utr5"
                            else "binomial read fraction of 50 reads")},
    }
    return _save_predictor(model, card, history, metrics, seed, epochs, start, output_dir)


def train_binder(output_dir="pretrained", seed=0, n_train=None, n_test=None, epochs=None, verbose=1):
    """Train the ``binder`` pair predictor on :func:`synthetic.generate_binder_pairs`; write ``binder.keras/.json``.

    Labels are the grammar's true probabilities, fitted with binary cross-entropy (soft labels).
    The card's test metrics are measured on fresh pairs (seed + 1000): ROC AUC and accuracy against
    the true label (true probability > 0.5), Pearson r of the model's logit against the true logit.

    Returns
    -------
    dict — the model card
    """
    spec = PREDICTOR_SPECS["binder"]
    n_train = n_train or spec["n_train"]
    n_test = n_test or spec["n_test"]
    epochs = epochs or spec["epochs"]
    keras.utils.set_random_seed(seed)
    start = time.time()
    _, (a_train, b_train), y_train, _ = make_dataset("binder", n_train, seed)
    test_pairs, (a_test, b_test), y_test, _ = make_dataset("binder", n_test, seed + 1000)
    true_logit = synthetic.binder_logit(test_pairs)
    model = build_binder_model()
    batch = 128
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, decay_steps=epochs * (n_train // batch + 1))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="binary_crossentropy")
    history = model.fit([a_train, b_train], y_train, batch_size=batch, epochs=epochs,
                        validation_data=([a_test, b_test], y_test), verbose=verbose)
    logit_model = keras.Model(model.inputs, model.get_layer("logit").output)
    pred_logit = logit_model.predict([a_test, b_test], batch_size=1024, verbose=0)[:, 0]
    true_label = y_test > 0.5
    metrics = {
        "roc_auc_vs_true_label": roc_auc(true_label, pred_logit),
        "accuracy_vs_true_label": float(np.mean((pred_logit > 0) == true_label)),
        "pearson_r_logit_vs_true_logit": float(np.corrcoef(true_logit, pred_logit)[0, 1]),
        "pearson_r_probability_vs_true_probability": float(
            np.corrcoef(y_test, 1 / (1 + np.exp(-pred_logit)))[0, 1]),
        "fraction_true_binders": float(true_label.mean()),
    }
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    card = {
        "name": "binder",
        "kind": "predictor",
        "pair": True,
        "grammar": "scrambler_core.synthetic.binder_truth",
        "grammar_version": synthetic.GRAMMAR_VERSION,
        "output_kind": "sigmoid",
        "input": (f"two peptides of {synthetic.BINDER_MIN_LENGTH}-{synthetic.BINDER_MAX_LENGTH} residues over "
                  f"{synthetic.PROTEIN_LETTERS}, left-aligned and zero-padded to {synthetic.BINDER_MAX_LENGTH}"),
        "output": "probability that the two peptides form a parallel, in-register coiled-coil heterodimer",
        "data": {"n_train": n_train, "n_test": n_test,
                 "generator": "scrambler_core.synthetic.generate_binder_pairs",
                 "test_seed": seed + 1000,
                 "labels": "the true probability binder_truth(a, b).value (soft labels, binary cross-entropy)"},
    }
    return _save_predictor(model, card, history, metrics, seed, epochs, start, output_dir)


def _save_predictor(model, card, history, metrics, seed, epochs, start, output_dir):
    """Complete a predictor's card (seed, size, metrics, time, command), write NAME.keras (atomic) and NAME.json."""
    name = card["name"]
    card.update({
        "seed": seed,
        "epochs": epochs,
        "parameters": int(model.count_params()),
        "metrics_held_out": metrics,
        "final_val_loss": float(history.history["val_loss"][-1]),
        "training_seconds": round(time.time() - start, 1),
        "command": f"python -m scrambler_core train-predictor {name} --seed {seed}",
    })
    tmp = output_dir / f".{name}.tmp.keras"
    model.save(tmp)
    tmp.replace(output_dir / f"{name}.keras")
    card_tmp = output_dir / f".{name}.json.tmp"
    card_tmp.write_text(json.dumps(card, indent=2) + "\n")
    card_tmp.replace(output_dir / f"{name}.json")
    return card


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

    A recipe may continue in stages (``spec["continue"]``, see :func:`~scrambler_core.pretrained_specs.
    recipe_stages`): each stage starts from the network the previous one wrote. ``stage=K`` runs stage K
    (and the ones after it) only, starting from the network already at ``output``.

    Returns
    -------
    dict — the model card (``metrics_held_out`` holds bits tracking, sample agreement
    and, for utr5, uAUG/stop recall; ``stages`` one entry per stage of a staged recipe).
    """
    from .pairs import as_single_input
    from .pretrained_specs import recipe_stages

    predictor, spec, output, dropout, architecture = _training_target(
        predictor_name, mode, objective, dropout, architecture, model_path, output)
    if input_path and getattr(predictor, "is_pair", False):
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
        previous = json.loads(Path(output).with_suffix(".json").read_text())
        done = (previous.get("stages") or [_stage_record(previous)])[:first]      # a single-stage card is stage 0
    overrides = {"fixed_bits": fixed_bits, "epochs": epochs, "n_train": n_train, "learning_rate": learning_rate,
                 "penalty_weight": penalty_weight}
    for k in range(first, len(stages)):
        stage_spec = {**stages[k], **{key: v for key, v in overrides.items() if v is not None}}
        if k:
            stage_spec["init_from"] = Path(output)
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
    from .external import EXTERNAL_PREDICTORS
    from .predictors import BUILTIN_PREDICTORS, PRETRAINED_DIR, load_predictor
    from .pretrained_specs import scrambler_spec
    from .scrambler import external_scrambler_path, pretrained_scrambler_name

    predictor = load_predictor(predictor_name, path=model_path)
    published = predictor_name in EXTERNAL_PREDICTORS
    if getattr(predictor, "is_pair", False):
        architecture = architecture or "siamese"
    known = predictor_name in BUILTIN_PREDICTORS or published
    spec = scrambler_spec(predictor.name, mode, objective, dropout, architecture) if known else {}
    dropout = dropout or spec.get("mask_dropout")
    if output is None:
        stem = pretrained_scrambler_name(Path(str(predictor_name)).stem, mode, objective, bool(dropout), architecture)
        output = (external_scrambler_path(predictor_name, predictor.card["weights_sha256"], mode, objective)
                  if published else PRETRAINED_DIR / f"{stem}.keras")
    return predictor, spec, output, dropout, architecture


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
    }


def _train_stage(predictor, encoder, spec, *, input_path, seed, mode, objective, dropout, architecture, template,
                 time_limit, checkpoint):
    """One training run of a recipe stage: data, training with a progress bar, calibration and checks."""
    from tqdm import tqdm

    from . import evaluation
    from .hashing import sha256_file
    from .predictors import PRETRAINED_DIR, load_keras_model
    from .scrambler import checkpoint_epoch, train_scrambler

    x, x_valid, x_calibration, data = _scrambler_training_data(predictor, encoder, spec, input_path,
                                                               spec.get("n_train", 24_000), seed)
    settings = _stage_settings(spec, mode, objective, dropout, architecture, template)
    init_from = spec.get("init_from")
    init_path = None if init_from is None else (Path(init_from) if Path(str(init_from)).is_absolute()
                                                else PRETRAINED_DIR / init_from)
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

    validation_fn = None
    if predictor.name in UORF_PREDICTORS and mode == "inclusion" and objective == "reconstruct":
        def validation_fn(scr):             # Table D on monitoring sets; training ends on the best epoch
            return evaluation.uorf_monitor(scr, seed=seed)
    started = time.time()
    scrambler, history = train_scrambler(predictor, x, validation=x_valid[:64], seed=seed, progress=progress,
                                         time_limit=time_limit, checkpoint=checkpoint,
                                         validation_fn=validation_fn, init_from=init_path, background=background,
                                         log=lambda m: tqdm.write(m), **settings)
    bar.close()
    seconds = history[-1]["seconds"] if history else time.time() - started
    return scrambler, {"data": {**data, "n_train": len(x), "n_validation": len(x_valid)},
                       "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()},
                       "history": history, "metrics_held_out": calibrate_and_evaluate(scrambler, x_calibration,
                                                                                      x_valid),
                       "training_seconds": round(seconds, 1),
                       "initialised_from": None if init_from is None else Path(str(init_from)).name,
                       "initialised_from_sha256": None if init_path is None else sha256_file(init_path)}


def _scrambler_card(predictor, predictor_name, output, stage_card, *, seed, mode, objective, dropout, architecture,
                    template):
    """The model card of a trained scrambler: identity, the stage's data/settings/history/metrics, the command."""
    from .external import EXTERNAL_PREDICTORS
    from .predictors import BUILTIN_PREDICTORS

    published = predictor_name in EXTERNAL_PREDICTORS
    fixed_bits = None if stage_card["settings"]["bits_conditioned"] else stage_card["settings"]["target_bits"]
    return {
        "name": Path(output).stem, "kind": "scrambler", "predictor": predictor.name,
        "predictor_card": ({k: predictor.card.get(k) for k in ("grammar_version", "seed")}
                           if predictor_name in BUILTIN_PREDICTORS else None),
        **({"predictor_file": predictor.card.get("file"), "predictor_sha256": predictor.card.get("weights_sha256")}
           if published else {}),
        "seed": seed, **stage_card,
        "command": f"python -m scrambler_core train-scrambler --predictor {predictor_name} --mode {mode}"
                   + (f" --objective {objective}" if objective != "reconstruct" else "")
                   + (f" --dropout {dropout}" if dropout else "")
                   + (f" --architecture {architecture}" if architecture else "")
                   + (f" --template {template}" if template else "")
                   + (f" --model-path {Path(predictor.path).name}" if published else "")
                   + (f" --fixed-bits {fixed_bits}" if fixed_bits is not None else "") + f" --seed {seed}",
    }


def _scrambler_training_data(predictor, encoder, spec, input_path, n_train, seed):
    """Training, held-out and calibration inputs (one-hot) and the card's data entry.

    From ``input_path`` (a tenth held out, split in half for calibration and checks) or from the
    recipe's data kind (:func:`~scrambler_core.pretrained_specs.recipe_sequences`) with separate seeds.
    """
    from .pretrained_specs import recipe_sequences
    from .sequences import read_sequences

    if input_path:
        seqs = [s for _, s in read_sequences(input_path, predictor.alphabet, length=predictor.sequence_length)]
        rng = np.random.default_rng(seed)
        seqs = [seqs[i] for i in rng.permutation(len(seqs))]
        n_valid = max(1, min(256, len(seqs) // 10))
        valid, seqs = seqs[:n_valid], seqs[n_valid:]
        x_valid = encoder.to_onehot(valid)
        return (encoder.to_onehot(seqs), x_valid[len(x_valid) // 2:], x_valid[: len(x_valid) // 2],
                {"description": f"{input_path} ({len(seqs)} training, {n_valid} held out)"})
    seqs, stats = recipe_sequences(predictor, spec, n_train, seed, return_stats=True)
    natural = {"data_kind": spec.get("calibration_data_kind", spec.get("data_kind", "builtin"))}
    valid = recipe_sequences(predictor, natural, 256, seed + HELD_OUT_SEED_OFFSET)
    calibration = recipe_sequences(predictor, natural, 256, seed + CALIBRATION_SEED_OFFSET)
    data = {"description": spec.get("data", ""), **({} if stats["data_kind"] == "builtin" else stats)}
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
    from . import evaluation
    from .scrambler import calibrate_bits

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
    from .pretrained_specs import recipe_sequences
    from .scrambler import load_scrambler

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
