"""The Predictor interface over any Keras model, and refusal of unusable model files."""
import numpy as np
import pytest

import keras

import scrambler_core as sc
from scrambler_core.predictors import infer_output_kind


def small_model(length=10, channels=4, activation="sigmoid", units=1):
    inputs = keras.Input((length, channels))
    h = keras.layers.Conv1D(4, 3, padding="same", activation="relu")(inputs)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(units, activation=activation)(h)
    return keras.Model(inputs, out)


def test_sigmoid_dense_model_logit_and_predict(tmp_path):
    model = small_model()
    path = tmp_path / "m.keras"
    model.save(path)
    pred = sc.load_predictor(str(path))
    assert pred.output_kind == "sigmoid" and pred.sequence_length == 10 and pred.alphabet.letters == "ACGT"
    seqs = ["ACGTACGTAC", "TTTTTGGGGG", "acgtnacgta".replace("n", "a")]
    p = pred.predict(seqs)
    assert p.shape == (3,) and p.dtype == np.float32
    np.testing.assert_allclose(p, model.predict(sc.one_hot(seqs), verbose=0)[:, 0], rtol=1e-5)
    np.testing.assert_allclose(1 / (1 + np.exp(-pred.predict_logit(seqs))), p, rtol=1e-4)
    # one-hot input works the same
    np.testing.assert_allclose(pred.predict(sc.one_hot(seqs)), p, rtol=1e-6)
    # batching: more sequences than one batch
    many = ["ACGTACGTAC"] * 1100
    assert pred.predict(many, batch_size=512).shape == (1100,)


def test_output_kinds_are_inferred():
    assert infer_output_kind(small_model(activation=None)) == "regression"
    assert infer_output_kind(small_model(activation="softmax", units=3)) == "softmax"
    pred = sc.Predictor(small_model(activation="softmax", units=3), name="s", output_kind="softmax",
                        output_index=2)
    x = sc.one_hot(["ACGTACGTAC"])
    np.testing.assert_allclose(pred.predict(x), pred.model.predict(x, verbose=0)[:, 2], rtol=1e-5)
    with pytest.raises(ValueError, match="only sigmoid"):
        pred.predict_logit(x)


def test_lambda_model_is_refused(tmp_path):
    inputs = keras.Input((10, 4))
    out = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    out = keras.layers.Dense(1)(keras.layers.Flatten()(out))
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, out).save(path)
    with pytest.raises(sc.ModelFileError, match="refused for safety"):
        sc.load_predictor(str(path))


def test_broken_and_wrong_files_are_refused(tmp_path):
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"\x00\x01 not a zip file" * 10)
    with pytest.raises(sc.ModelFileError, match="junk.keras"):
        sc.load_predictor(str(junk))
    with pytest.raises(sc.ModelFileError, match="not found"):
        sc.load_predictor(str(tmp_path / "missing.keras"))
    with pytest.raises(sc.ModelFileError, match="expected a .keras"):
        sc.load_predictor(str(tmp_path / "model.txt"))
    with pytest.raises(sc.ModelFileError, match="unknown predictor"):
        sc.load_predictor("nosuchmodel")
    odd = tmp_path / "odd.keras"
    small_model(channels=7).save(odd)
    with pytest.raises(sc.ModelFileError, match="7 channels"):
        sc.load_predictor(str(odd))


def test_sequence_errors_name_the_problem():
    pred = sc.Predictor(small_model(), name="m", output_kind="sigmoid")
    with pytest.raises(sc.SequenceError, match="expects 10"):
        pred.predict(["ACGT"])
    with pytest.raises(sc.SequenceError, match="'X' at position 3"):
        pred.predict(["ACXTACGTAC"])
    with pytest.raises(sc.SequenceError, match="sequence '#2'"):
        pred.predict(["ACGTACGTAC", "ACXTACGTAC"])
    # RNA letters are read as DNA
    np.testing.assert_allclose(pred.predict(["ACGUACGUAC"]), pred.predict(["ACGTACGTAC"]))
