"""The Predictor interface over any Keras model, and refusal of unusable model files."""
import numpy as np
import pytest

import keras

import scrambler_core as sc
from scrambler_core.cards import ModelCard
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


# ----------------------------------------------------------------------------- predictor kinds (issue 18)

def toy_pair_predictor(length=6):
    """A PairPredictor over a tiny two-input model (no files needed)."""
    from scrambler_core.predictors import PairPredictor
    a, b = keras.Input((length, 20)), keras.Input((length, 20))
    h = keras.layers.Concatenate()([keras.layers.Flatten()(a), keras.layers.Flatten()(b)])
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    return PairPredictor(keras.Model([a, b], out), name="toy", alphabet=sc.get_alphabet("protein"),
                         max_length=length)


@pytest.mark.parametrize("name, pair", [("utr5", False), ("polya", False), ("binder", True)])
def test_builtin_predictors_say_whether_they_read_pairs(name, pair):
    from scrambler_core.predictors import PAIR_BUILTINS, BasePredictor
    if name not in sc.list_predictors():
        pytest.skip(f"built-in predictor {name} is not trained (python -m scrambler_core train-predictor {name})")
    pred = sc.load_predictor(name)
    assert isinstance(pred, BasePredictor)
    assert pred.is_pair is pair and pred.is_concatenated_pair is False
    assert (name in PAIR_BUILTINS) is pair
    assert isinstance(pred.card, ModelCard) and pred.card["kind"] == "predictor" and pred.card["name"] == name


def test_published_pair_and_its_concatenation_say_whether_they_read_pairs(external_dir):
    from scrambler_core.predictors import ConcatenatedPair, PairPredictor, as_single_input, find_model_file
    ppi = sc.load_predictor("ppi", path=find_model_file("ppi", external_dir))
    assert isinstance(ppi, PairPredictor) and ppi.is_pair is True and ppi.is_concatenated_pair is False
    assert isinstance(ppi.card, ModelCard) and ppi.card.validate()["name"] == "ppi" and "weights_sha256" in ppi.card
    joined = as_single_input(ppi)
    assert isinstance(joined, ConcatenatedPair)
    assert joined.is_pair is False and joined.is_concatenated_pair is True and joined.pair is ppi


def test_file_predictor_toy_pair_and_concatenation_have_a_boolean_is_pair(tmp_path):
    from scrambler_core.predictors import BasePredictor, ConcatenatedPair, as_single_input
    path = tmp_path / "m.keras"
    small_model().save(path)
    single = sc.load_predictor(str(path))
    assert single.is_pair is False and single.is_concatenated_pair is False
    assert as_single_input(single) is single
    with pytest.raises(ValueError, match="not a pair predictor"):
        ConcatenatedPair(single)
    pair = toy_pair_predictor()
    assert isinstance(pair, BasePredictor) and pair.is_pair is True
    joined = ConcatenatedPair(pair)
    assert isinstance(joined, BasePredictor) and joined.is_pair is False and joined.is_concatenated_pair is True
    assert joined.predict([("LEEL", "KK")]).shape == (1,)


def test_unknown_predictor_name_is_a_clear_error():
    from scrambler_core.predictors import load_external
    with pytest.raises(sc.ModelFileError, match=r"unknown predictor 'nosuch': built-ins are utr5, polya, binder, "
                                                r"published models optimus5, aparent2, ppi .*path of a \.keras file"):
        sc.load_predictor("nosuch")
    with pytest.raises(sc.ModelFileError, match="unknown external model 'nosuch'; choose one of optimus5"):
        load_external("nosuch")
