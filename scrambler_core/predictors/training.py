"""Training of the built-in predictors on their synthetic grammars.

``python -m scrambler_core train-predictor utr5`` reproduces ``pretrained/utr5.keras``
and its model card ``pretrained/utr5.json`` (fixed seed); likewise ``polya`` and the pair
predictor ``binder`` (two peptides -> probability that they bind).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import runtime  # noqa: F401
import keras

from .. import synthetic
from ..cards import ModelCard
from ..sequences import one_hot

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
    ModelCard.from_dict(card).write(output_dir / f"{name}.json")
    return card
