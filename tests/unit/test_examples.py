"""Built-in examples: deterministic, valid, and their true elements match the grammar."""
import numpy as np
import pytest

from scrambler_core import examples, synthetic


@pytest.mark.parametrize("name, length", [("utr5", 50), ("polya", 205)])
def test_examples_are_deterministic_and_valid(name, length):
    first, again = examples.examples(name), examples.examples(name)
    assert len(first) == 3
    assert [e.sequence for e in first] == [e.sequence for e in again]
    assert len({e.label for e in first}) == 3
    for example in first:
        assert len(example.sequence) == length and set(example.sequence) <= set("ACGT")
        assert example.important.shape == (length,) and example.important.dtype == bool


def test_utr5_uorf_example_marks_its_codons():
    example = examples.examples("utr5")[0]
    seq, starts, stops = synthetic.generate_uorf_set(1, 1, 1, seed=3)
    assert example.sequence == seq[0]
    start, stop = int(starts[0, 0]), int(stops[0, 0])
    assert example.sequence[start:start + 3] == "ATG"
    assert example.important[start:start + 3].all() and example.important[stop:stop + 3].all()
    # 1-based spans in the sentence a user reads
    assert f"{start + 1}–{start + 3}" in example.description and f"{stop + 1}–{stop + 3}" in example.description


def test_utr5_clean_example_has_no_uaug():
    example = examples.examples("utr5")[2]
    assert "ATG" not in example.sequence
    assert not example.important.any()
    assert "no upstream ATG" in example.description


def test_polya_example_names_its_signal():
    example = examples.examples("polya")[0]
    truth = synthetic.polya_truth(example.sequence)
    pas = truth.features["pas"]
    assert example.important[pas:pas + 6].all()
    assert f"{example.sequence[pas:pas + 6]} at {pas + 1}–{pas + 6}" in example.description
    np.testing.assert_array_equal(example.important, truth.important)


def test_unknown_predictor_has_no_examples():
    assert examples.examples("my_model") == []
