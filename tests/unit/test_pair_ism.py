"""In-silico mutagenesis of a pair predictor (scrambler_core.pair_ism), checked by hand."""
import numpy as np
import pytest

from scrambler_core.pair_ism import logit, pair_ism
from scrambler_core.sequences import Alphabet, SequenceError

LETTERS = "DEK"
MAX_LENGTH = 4
# logit = sum over chain a of WEIGHT_A[letter] * (position + 1) + sum over chain b of WEIGHT_B[letter]
WEIGHT_A = {"D": 0.5, "E": -1.0, "K": 2.0}
WEIGHT_B = {"D": 0.0, "E": 0.25, "K": -0.75}


def toy_pair_predictor():
    """A real PairPredictor over a tiny linear Keras model whose logit is written out above."""
    import keras

    from scrambler_core.predictors import PairPredictor

    a = keras.Input((MAX_LENGTH, len(LETTERS)))
    b = keras.Input((MAX_LENGTH, len(LETTERS)))
    flat = keras.layers.Concatenate()([keras.layers.Flatten()(a), keras.layers.Flatten()(b)])
    dense = keras.layers.Dense(1, use_bias=False)
    out = keras.layers.Activation("sigmoid")(dense(flat))
    model = keras.Model([a, b], out)
    kernel_a = [[WEIGHT_A[letter] * (position + 1) for letter in LETTERS] for position in range(MAX_LENGTH)]
    kernel_b = [[WEIGHT_B[letter] for letter in LETTERS] for _ in range(MAX_LENGTH)]
    kernel = np.array(kernel_a + kernel_b, np.float32).reshape(-1, 1)
    dense.set_weights([kernel])
    return PairPredictor(model, name="toy", alphabet=Alphabet("protein", LETTERS), max_length=MAX_LENGTH)


@pytest.fixture(scope="module")
def toy():
    return toy_pair_predictor()


def test_pair_ism_matches_the_hand_computed_changes(toy):
    # chain a "DK": position 1 (weight x1) D, position 2 (weight x2) K; chain b "E"
    ism_a, ism_b = pair_ism(toy, "DK", "E")
    # chain a, position 1, D -> E: (-1.0 - 0.5) x 1 = -1.5;  D -> K: (2.0 - 0.5) x 1 = 1.5
    # chain a, position 2, K -> D: (0.5 - 2.0) x 2 = -3.0;   K -> E: (-1.0 - 2.0) x 2 = -6.0
    expected_a = np.array([[0.0, -1.5, 1.5],
                           [-3.0, -6.0, 0.0]])
    # chain b, position 1, E -> D: 0.0 - 0.25 = -0.25;      E -> K: -0.75 - 0.25 = -1.0
    expected_b = np.array([[-0.25, 0.0, -1.0]])
    assert ism_a.shape == (2, 3) and ism_b.shape == (1, 3)
    np.testing.assert_allclose(ism_a, expected_a, atol=1e-5)
    np.testing.assert_allclose(ism_b, expected_b, atol=1e-5)


def test_pair_ism_uses_one_batched_predict_call(toy, monkeypatch):
    calls = []
    original = toy.predict

    def counting(pairs, *args, **kwargs):
        calls.append(len(pairs[0]))
        return original(pairs, *args, **kwargs)

    monkeypatch.setattr(toy, "predict", counting)
    pair_ism(toy, "DKE", "EK")
    assert calls == [1 + (3 + 2) * (len(LETTERS) - 1)]


def test_pair_ism_refuses_bad_chains_and_single_sequence_predictors(toy):
    with pytest.raises(SequenceError):
        pair_ism(toy, "DKA", "E")            # A is not one of the letters
    with pytest.raises(SequenceError):
        pair_ism(toy, "DKEKD", "E")          # longer than max_length
    with pytest.raises(TypeError):
        pair_ism(object(), "D", "E")


def test_logit_stays_finite_at_saturation():
    assert np.isfinite(logit([0.0, 1.0])).all()
    assert logit(0.5) == pytest.approx(0.0)


def test_pair_ism_on_the_published_binder(external_dir, monkeypatch):
    import scrambler_core as sc
    from scrambler_core.examples import pair_examples

    monkeypatch.setenv("SCRAMBLER_MODELS_DIR", str(external_dir))
    pred = sc.load_predictor("ppi")
    example = pair_examples("ppi")[0]
    a, b = example.chain_a[:12], example.chain_b[:10]
    ism_a, ism_b = pair_ism(pred, a, b)
    letters = pred.alphabet.letters
    assert ism_a.shape == (12, 19) and ism_b.shape == (10, 19)
    for chain, ism in ((a, ism_a), (b, ism_b)):
        assert np.all(ism[np.arange(len(chain)), [letters.index(c) for c in chain]] == 0.0)
    # two entries recomputed from separate predictions
    mutant_a = a[:3] + "W" + a[4:]
    mutant_b = b[:6] + "P" + b[7:]
    p = pred.predict([(a, b), (mutant_a, b), (a, mutant_b)])
    assert ism_a[3, letters.index("W")] == pytest.approx(float(logit(p[1]) - logit(p[0])), abs=1e-4)
    assert ism_b[6, letters.index("P")] == pytest.approx(float(logit(p[2]) - logit(p[0])), abs=1e-4)
