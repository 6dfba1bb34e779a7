"""Faithfulness checks (scrambler_core.scrambler.faithfulness) on hand-made numbers."""
import numpy as np
import pytest

from scrambler_core import scrambler as S
from scrambler_core.scrambler.faithfulness import check_faithfulness, output_reference
from toymodels import SMALL, linear_predictor

UTR5_LIKE = (6.2, 3.0)      # mean and sd of a predictor's outputs on random sequences


def samples(*groups):
    """Sample predictions made of (count, value) groups, with a little jitter."""
    values = np.concatenate([np.full(n, v) + np.linspace(-0.05, 0.05, n) for n, v in groups])
    return values[None, :]


@pytest.mark.parametrize("target, realised, ok", [
    (0.05, 0.158, False),       # 0.108 off; tolerance max(0.05, 0.0125)
    (0.05, 0.09, True),         # 0.04 off
    (0.5, 0.61, True),          # tolerance 0.125
    (1.0, 1.3, False),          # tolerance 0.25
    (2.0, 1.55, True),          # tolerance 0.5
])
def test_the_budget_check(target, realised, ok):
    checks = check_faithfulness(target, [realised], samples((32, 3.7)), 3.7, "inclusion", UTR5_LIKE)
    assert bool(checks.bits_ok[0]) is ok
    assert bool(checks.faithful[0]) is ok
    assert ("Realised" in checks.warnings[0]) is (not ok)


def test_inclusion_must_keep_the_prediction():
    # the original 3.7 is 2.5 from the random mean 6.2; the scale is max(2.5, 3.0) = 3.0, tolerance 1.5
    kept = check_faithfulness(0.5, [0.5], samples((32, 4.9)), 3.7, "inclusion", UTR5_LIKE)
    lost = check_faithfulness(0.5, [0.5], samples((32, 5.5)), 3.7, "inclusion", UTR5_LIKE)
    assert kept.shift_ok[0] and kept.faithful[0] and kept.warnings == [""]
    assert not lost.shift_ok[0] and lost.shift[0] == pytest.approx(1.8)
    assert "far from the original (3.700)" in lost.warnings[0] and "larger budget" in lost.warnings[0]


def test_samples_split_in_two_are_flagged():
    split = check_faithfulness(0.5, [0.5], samples((19, 3.7), (13, 9.0)), 3.7, "inclusion", UTR5_LIKE)
    assert split.split[0] and not split.faithful[0]
    assert "13 of 32 near 9" in split.warnings[0]
    few = check_faithfulness(0.5, [0.5], samples((29, 3.7), (3, 9.0)), 3.7, "inclusion", UTR5_LIKE)
    assert not few.split[0]                 # 3 of 32 is under the 20 % minority


@pytest.mark.parametrize("original, mean, ok", [
    (8.0, 7.5, False),       # stands out from random (1.8 > sd 1.0) and moved only 0.5 < 0.9
    (8.0, 6.6, True),        # moved 1.4 towards the random mean
    (6.5, 6.5, True),        # no different from a random sequence: nothing to lose
])
def test_occlusion_must_lose_the_prediction(original, mean, ok):
    checks = check_faithfulness(0.5, [0.5], samples((16, mean - 2), (16, mean + 2)), original, "occlusion",
                                (6.2, 1.0))
    assert bool(checks.shift_ok[0]) is ok
    assert not checks.split[0]               # occlusion samples may spread: not a failure
    assert ("stays close to the original" in checks.warnings[0]) is (not ok)


def test_output_reference_is_the_random_sequences_mean_and_sd():
    predictor = linear_predictor()        # 2 [A at 3] + 2 [G at 8]: mean 1.0, sd sqrt(1.5) on random DNA
    mean, sd = output_reference(predictor, n=4000)
    assert mean == pytest.approx(1.0, abs=0.08) and sd == pytest.approx(np.sqrt(1.5), abs=0.08)
    assert output_reference(predictor) == (mean, sd)      # cached on the predictor


def test_explanations_carry_their_checks():
    scrambler = S.Scrambler(S.ScramblerModel(12, **SMALL), linear_predictor())
    ex = scrambler.explain(["ACGTACGTACGA", "AAAAAAAAGAAA"], target_bits=0.5, n_samples=16)
    checks = ex.faithfulness
    assert checks.faithful.shape == (2,) and len(checks.warnings) == 2
    frame = checks.to_frame()
    assert list(frame.columns) == ["bits_ok", "shift", "shift_ok", "split", "faithful", "warning"]
    np.testing.assert_allclose(frame["shift"], ex.mean_sample_prediction - ex.prediction, rtol=1e-5, atol=1e-6)
    expected_bits_ok = np.abs(ex.conservation - 0.5) <= 0.125
    np.testing.assert_array_equal(checks.bits_ok, expected_bits_ok)


def test_a_card_that_misses_its_budgets_gets_a_calibration_warning():
    from scrambler_core.scrambler.faithfulness import calibration_warning

    bad = {"metrics_held_out": {"bits_tracking_requested_vs_realised": {"0.1": 0.486, "0.25": 0.486, "0.5": 0.49,
                                                                         "1.0": 1.02}}}
    text = calibration_warning(bad)
    assert "0.1 → 0.49, 0.25 → 0.49" in text and ", 1 →" not in text and "0.5 →" not in text
    good = {"metrics_held_out": {"bits_tracking_requested_vs_realised": {"0.1": 0.12, "0.5": 0.55}}}
    assert calibration_warning(good) == "" and calibration_warning({}) == ""
