"""Per-example optimisation of an explanation (scrambler_core.refine) and Scrambler.explain_scores."""
import numpy as np
import pytest

from scrambler_core import scrambler as S
from scrambler_core.refine import optimise_explanation
from toymodels import SMALL, linear_predictor

# A (position 3, letter A) and G (position 8) are what the toy regression reads
SEQUENCES = ["CCCAGTCCGCTT", "TTTACGATGAGC"]


@pytest.fixture(scope="module")
def scrambler():
    return S.Scrambler(S.ScramblerModel(12, **SMALL), linear_predictor())


def test_explain_scores_of_the_networks_own_scores_is_its_explanation(scrambler):
    ex = scrambler.explain(SEQUENCES, target_bits=0.5, n_samples=8, seed=3)
    again = scrambler.explain_scores(SEQUENCES, scrambler.scores(SEQUENCES, 0.5), 0.5, n_samples=8)
    np.testing.assert_allclose(again.pwm, ex.pwm, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(again.conservation, ex.conservation, rtol=1e-5)
    np.testing.assert_allclose(again.prediction, ex.prediction, rtol=1e-6)
    assert again.sample_predictions.shape == (2, 8) and again.sequences == SEQUENCES
    assert again.faithfulness is not None and again.target_bits == 0.5


def test_optimisation_keeps_what_the_toy_model_reads_within_the_budget(scrambler):
    ex = optimise_explanation(scrambler, SEQUENCES, target_bits=0.4, steps=150, n_samples=16, seed=0)
    assert ex.importance.shape == (2, 12) and ex.pwm.shape == (2, 12, 4)
    for k in range(2):
        top = set(np.argsort(-ex.importance[k])[:2].tolist())
        assert top == {3, 8}, (k, ex.importance[k].round(2))
        # the samples keep the prediction (4.0: both letters read, weight 2 each)
        assert np.abs(ex.sample_predictions[k].mean() - ex.prediction[k]) < 0.5
    assert np.all(ex.conservation <= 0.4 * 1.25 + 0.05), ex.conservation
    assert ex.info["steps"] == 150 and ex.info["predictor_calls_per_sequence"] == 1 + 16 * 150
    assert ex.faithfulness.faithful.all(), ex.faithfulness.warnings


@pytest.mark.parametrize("kwargs, message", [
    (dict(target_bits=0.3, steps=0), "steps must be at least 1"),
    (dict(target_bits=0.0), "target_bits must be > 0"),
])
def test_bad_options_are_named(scrambler, kwargs, message):
    with pytest.raises(ValueError, match=message):
        optimise_explanation(scrambler, SEQUENCES, **kwargs)


@pytest.mark.parametrize("scores, message", [
    (np.ones((2, 11)), r"shape \(2, 12\)"),
    (-np.ones((2, 12)), ">= 0"),
    (np.full((2, 12), np.nan), "finite"),
])
def test_explain_scores_refuses_bad_scores(scrambler, scores, message):
    with pytest.raises(ValueError, match=message):
        scrambler.explain_scores(SEQUENCES, scores, 0.5)
