"""scrambler_core.comparison on hand-made linear Keras models (answers computed by hand)."""
import numpy as np
import pandas as pd
import pytest

from scrambler_core import runtime  # noqa: F401
import keras

from scrambler_core import comparison
from scrambler_core.predictors import Predictor

A = 4
LETTERS = "ACGT"
BIAS = 0.3


def linear_predictor(length=6, seed=0):
    """f(x) = sum(W * x) + b, a regression output; returns (predictor, W)."""
    weights = np.random.default_rng(seed).normal(0, 1, (length, A)).astype(np.float32)
    inputs = keras.Input((length, A))
    dense = keras.layers.Dense(1)
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    dense.set_weights([weights.reshape(-1, 1), np.array([BIAS], np.float32)])
    return Predictor(model, name=f"linear{length}", alphabet="dna"), weights


@pytest.fixture(scope="module")
def linear():
    return linear_predictor()


SEQUENCE = "ACGTTG"


def onehot(sequence):
    return np.eye(A, dtype=np.float32)[[LETTERS.index(c) for c in sequence]]


def test_saliency_is_the_weights_and_costs_one_call(linear):
    pred, weights = linear
    result = comparison.run_method(pred, SEQUENCE, "saliency")
    np.testing.assert_allclose(result.importance, weights, atol=1e-6)
    assert result.predictor_calls == 1
    assert result.seconds >= 0
    assert result.method == "saliency" and result.options == {}


def test_gradient_x_input_is_the_observed_weight(linear):
    pred, weights = linear
    result = comparison.run_method(pred, SEQUENCE, "gradient_x_input")
    np.testing.assert_allclose(result.importance, onehot(SEQUENCE) * weights, atol=1e-6)


def test_ism_maps_and_cost(linear):
    pred, weights = linear
    result = comparison.run_method(pred, SEQUENCE, "ism")
    x = onehot(SEQUENCE)
    observed = (x * weights).sum(-1, keepdims=True)
    changes = np.where(x == 0, weights - observed, 0.0)          # f(x_mut) - f(x) = W[j, b] - W[j, obs]
    assert result.predictor_calls == 1 + 6 * 3 == 19
    np.testing.assert_allclose(comparison.display_map(result, SEQUENCE, LETTERS, "all"), changes, atol=1e-5)
    # positive = the observed letter raises the output: f(x) - mean f(x_mut)
    mean_on_reference = x * (-changes.sum(-1, keepdims=True) / 3)
    np.testing.assert_allclose(comparison.display_map(result, SEQUENCE, LETTERS, "observed"), mean_on_reference,
                               atol=1e-5)
    np.testing.assert_allclose(comparison.display_map(result, SEQUENCE, LETTERS), result.importance)
    with pytest.raises(ValueError, match="view"):
        comparison.display_map(result, SEQUENCE, LETTERS, "sideways")
    with pytest.raises(ValueError, match="positions"):
        comparison.display_map(result, SEQUENCE + "A", LETTERS)


def test_observed_view_draws_x_times_the_attribution_and_all_view_every_letter(linear):
    pred, weights = linear
    x = onehot(SEQUENCE)
    saliency = comparison.run_method(pred, SEQUENCE, "saliency")
    observed = comparison.display_map(saliency, SEQUENCE, LETTERS)           # the default view
    np.testing.assert_allclose(observed, x * weights, atol=1e-6)             # one letter per position
    assert ((observed != 0).sum(-1) <= 1).all()
    np.testing.assert_allclose(observed.sum(-1), comparison.observed_letter_scores(weights, SEQUENCE, LETTERS),
                               atol=1e-6)
    np.testing.assert_allclose(comparison.display_map(saliency, SEQUENCE, LETTERS, "all"), weights, atol=1e-6)
    baseline = np.full((6, A), 0.25, np.float32)
    for method in ("integrated_gradients", "deeplift"):
        result = comparison.run_method(pred, SEQUENCE, method, {"baseline": baseline})
        np.testing.assert_allclose(comparison.display_map(result, SEQUENCE, LETTERS), x * (x - baseline) * weights,
                                   atol=1e-5, err_msg=method)
        np.testing.assert_allclose(comparison.display_map(result, SEQUENCE, LETTERS, "all"),
                                   (x - baseline) * weights, atol=1e-5, err_msg=method)
    # position methods are on the observed letter in both views
    scrambler = comparison.MethodResult("scrambler", {}, x * np.arange(6.0)[:, None], 0, 0.0)
    for view in comparison.VIEWS:
        np.testing.assert_allclose(comparison.display_map(scrambler, SEQUENCE, LETTERS, view), scrambler.importance)
    # an unknown letter (N) draws nothing
    assert not comparison.display_map(saliency, "ACNTTG", LETTERS)[2].any()


def test_every_signed_method_agrees_in_sign_on_the_letter_that_lowers_the_output():
    """A letter that lowers the output is below the line in every method's default view (one sign rule)."""
    pred, weights = linear_predictor(6, seed=3)
    sequence = "".join(LETTERS[k] for k in weights.argmin(1))                 # every letter the lowest weight
    x = onehot(sequence)
    signed = ["ism", "saliency", "gradient_x_input", "integrated_gradients", "deeplift", "deepshap"]
    references = np.full((2, 6, A), 0.25, np.float32)          # shuffles of 6 letters may equal the sequence
    results = comparison.compare_methods(pred, sequence, signed, {"deepshap": {"references": references}})
    rows, raw, titles = comparison.display_rows(results, sequence, LETTERS)
    for method, row in zip(signed, rows):
        observed = (row * x).sum(-1)
        assert (observed < 0).all(), (method, observed)
        assert not (row * (1 - x)).any(), method                             # nothing on other letters
    assert titles[0].startswith("In-silico mutagenesis (ISM) · 19 calls · ")


def test_display_rows_normalise_each_row_to_its_tallest_stack(linear):
    pred, weights = linear
    results = comparison.compare_methods(pred, SEQUENCE, ["saliency", "ism"])
    for view in comparison.VIEWS:
        rows, raw, titles = comparison.display_rows(results, SEQUENCE, LETTERS, view, normalised=True)
        for row, before in zip(rows, raw):
            assert comparison.stack_peak(row) == pytest.approx(1.0)
            peak = comparison.stack_peak(before)
            np.testing.assert_allclose(row * peak, before, rtol=1e-5, atol=1e-6)   # signs and shape kept
        if view == "observed":   # one letter per position: the tallest letter has height 1
            assert all(np.abs(row).max() == pytest.approx(1.0) for row in rows)
    assert titles == [comparison.row_title(results["saliency"]) + " · all letters",
                      comparison.row_title(results["ism"]) + " · substitutions"]
    unnormalised, raw, _ = comparison.display_rows(results, SEQUENCE, LETTERS)
    assert all(np.array_equal(a, b) for a, b in zip(unnormalised, raw))


def test_pair_display_rows_cut_each_chain_and_share_one_peak_per_method():
    importance = np.zeros((8, A), np.float32)
    importance[0, 0], importance[1, 1] = 2.0, -1.0            # chain a "AC" (padded to 4)
    importance[4, 2] = 4.0                                     # chain b "G"
    importance[5, 3] = 7.0                                     # padding of chain b: never drawn
    result = comparison.MethodResult("saliency", {}, importance, 1, 0.0)
    out = comparison.pair_display_rows({"saliency": result}, [(0, "AC"), (4, "G")], LETTERS, "observed", True)
    (cut_a, rows_a, raw_a), (cut_b, rows_b, raw_b) = out
    assert rows_a[0].shape == (2, A) and rows_b[0].shape == (1, A)
    np.testing.assert_allclose(rows_a[0][:, :2], [[0.5, 0.0], [0.0, -0.25]])
    np.testing.assert_allclose(rows_b[0], [[0.0, 0.0, 1.0, 0.0]])
    assert raw_b[0][0, 2] == 4.0 and cut_b["saliency"].importance.shape == (1, A)


def test_integrated_gradients_and_deeplift_are_exact_and_checked(linear):
    pred, weights = linear
    baseline = np.full((6, A), 0.25, np.float32)
    x = onehot(SEQUENCE)
    ig = comparison.run_method(pred, SEQUENCE, "integrated_gradients", {"baseline": baseline, "steps": 4})
    np.testing.assert_allclose(ig.importance, (x - baseline) * weights, atol=1e-5)
    assert ig.predictor_calls == 4 + 2
    assert abs(ig.extras["completeness_error"]) < 1e-4
    dl = comparison.run_method(pred, SEQUENCE, "deeplift", {"baseline": baseline})
    np.testing.assert_allclose(dl.importance, (x - baseline) * weights, atol=1e-5)
    assert dl.extras["delta"] == pytest.approx(float(((x - baseline) * weights).sum()), abs=1e-4)


def test_expected_calls_match_what_the_methods_report(linear):
    pred, _ = linear
    options = {"integrated_gradients": {"steps": 5}, "deepshap": {"n_references": 3}}
    methods = ["ism", "saliency", "gradient_x_input", "integrated_gradients", "deeplift", "deepshap"]
    results = comparison.compare_methods(pred, SEQUENCE, methods, options)
    assert list(results) == methods
    by_hand = {"ism": 1 + 6 * 3, "saliency": 1, "gradient_x_input": 1, "integrated_gradients": 5 + 2,
               "deeplift": 2, "deepshap": 2 * 3}
    for method, result in results.items():
        assert result.predictor_calls == by_hand[method], method
        assert comparison.expected_predictor_calls(method, 6, A, result.options) == by_hand[method], method
    assert comparison.expected_predictor_calls("scrambler", 50, 4) == 0
    assert comparison.expected_predictor_calls("scrambler", 50, 4, {"n_samples": 8}) == 9
    assert comparison.expected_predictor_calls("scrambler_optimized", 50, 4) == 1 + 32 * 300
    assert comparison.expected_predictor_calls("scrambler_finetuned", 50, 4, {"steps": 10}) == 1 + 32 * 10

    table = comparison.cost_table(results)
    assert list(table.method) == methods
    assert list(table.columns) == ["method", "name", "predictor_calls", "calls_formula", "seconds", "check"]
    assert table.set_index("method").loc["integrated_gradients", "name"] == "Integrated gradients"
    assert table.set_index("method").loc["ism", "predictor_calls"] == 19
    assert table.set_index("method").loc["ism", "calls_formula"] == "1 + L(A−1) = 1 + 6×3 = 19"
    assert table.set_index("method").loc["deepshap", "calls_formula"] == "2R = 2×3 = 6"
    assert "sum" in table.set_index("method").loc["deeplift", "check"]


def test_compare_methods_uses_the_given_runner_and_refuses_unknown_methods(linear):
    pred, _ = linear
    seen = []

    def run(method, options):
        seen.append((method, options))
        return comparison.MethodResult(method, options, np.zeros((6, A), np.float32), 0, 0.0)

    out = comparison.compare_methods(pred, SEQUENCE, ["deeplift", "ism"], {"ism": {"batch_size": 8}}, run=run)
    assert list(out) == ["deeplift", "ism"]
    assert seen == [("deeplift", {}), ("ism", {"batch_size": 8})]
    with pytest.raises(ValueError, match="unknown attribution method 'magic'"):
        comparison.compare_methods(pred, SEQUENCE, ["ism", "magic"])


def test_bad_sequence_is_a_sequence_error(linear):
    from scrambler_core import SequenceError

    pred, _ = linear
    with pytest.raises(SequenceError, match="expects 6"):
        comparison.run_method(pred, "ACGT", "saliency")
    with pytest.raises(SequenceError, match="position 3"):
        comparison.run_method(pred, "ACXTTG", "saliency")


def test_scores_table(linear):
    pred, weights = linear
    results = comparison.compare_methods(pred, SEQUENCE, ["saliency", "gradient_x_input"])
    table = comparison.scores_table(results, SEQUENCE, LETTERS)
    assert list(table.columns) == ["position", "letter", "saliency", "saliency_abs_sum", "gradient_x_input",
                                   "gradient_x_input_abs_sum"]
    assert table.position.tolist() == [1, 2, 3, 4, 5, 6]
    assert "".join(table.letter) == SEQUENCE
    observed = np.array([weights[j, LETTERS.index(c)] for j, c in enumerate(SEQUENCE)])
    np.testing.assert_allclose(table.saliency, observed, atol=1e-6)
    np.testing.assert_allclose(table.gradient_x_input, observed, atol=1e-6)
    np.testing.assert_allclose(table.saliency_abs_sum, np.abs(weights).sum(1), atol=1e-5)
    np.testing.assert_allclose(table.gradient_x_input_abs_sum, np.abs(observed), atol=1e-6)
    with pytest.raises(ValueError, match="positions"):
        comparison.scores_table(results, SEQUENCE + "A", LETTERS)


def test_normalise():
    m = np.array([[2.0, -4.0], [1.0, 0.0]])
    np.testing.assert_allclose(comparison.normalise(m), m / 4)
    assert np.abs(comparison.normalise(m)).max() == 1.0
    np.testing.assert_array_equal(comparison.normalise(np.zeros((3, 4))), np.zeros((3, 4)))
    stacked = np.array([[1.0, 1.0, -0.5], [0.5, 0.0, 0.0]])      # a stack of two letters reaches 2
    assert comparison.stack_peak(stacked) == 2.0
    np.testing.assert_allclose(comparison.normalise(stacked), stacked / 2)
    np.testing.assert_allclose(comparison.normalise(stacked, peak=4.0), stacked / 4)
    assert comparison.stack_peak(np.zeros((0, 4))) == 0.0


def test_every_method_has_a_human_name():
    from scrambler_core.attribution import METHODS

    assert set(comparison.METHOD_NAMES) == set(METHODS)
    names = [comparison.method_name(m) for m in METHODS]
    assert len(set(names)) == len(names)                                     # no two methods share a name
    assert all(name != method for name, method in zip(names, METHODS))
    assert comparison.method_name("integrated_gradients") == "Integrated gradients"
    assert comparison.method_name("scrambler_optimized") == "Scrambler (per-example optimised)"
    assert comparison.method_name("ism") == "In-silico mutagenesis (ISM)"
    assert comparison.method_name("gradient_x_input") == "Gradient × input"
    assert comparison.method_name("magic") == "magic"
    assert comparison.methods_help(["ism", "deeplift"]) == ("* In-silico mutagenesis (ISM) — `ism`\n"
                                                           "* DeepLIFT — `deeplift`")


def test_scrambler_options_and_titles():
    assert comparison.scrambler_options("ism", mode="occlusion", target_bits=1.0) == {}
    assert comparison.scrambler_options("scrambler", mode="occlusion", target_bits=0.25) == {
        "mode": "occlusion", "target_bits": 0.25}
    assert comparison.scrambler_options("scrambler") == {"mode": "inclusion", "target_bits": 0.1}
    assert comparison.scrambler_options("scrambler_finetuned", mode="inclusion", steps=20) == {
        "mode": "inclusion", "steps": 20}
    with pytest.raises(ValueError):
        comparison.scrambler_options("nope")
    result = comparison.MethodResult("ism", {}, np.zeros((50, 4)), 151, 0.0123)
    assert comparison.row_title(result) == "In-silico mutagenesis (ISM) · 151 calls · 12 ms"
    assert comparison.format_seconds(2.5) == "2.50 s"
    assert set(comparison.FAST_METHODS) | set(comparison.PER_EXAMPLE_METHODS) == set(comparison.METHODS)
    assert set(comparison.METHOD_NOTES) == set(comparison.METHODS)


def test_benchmark_steps_and_recall_availability(linear):
    assert comparison.benchmark_steps(["ism", "saliency"], ("kl",)) == 4
    assert comparison.benchmark_steps(["ism", "saliency"], ("recall",)) == 8
    assert comparison.benchmark_steps(["ism", "saliency", "deeplift"]) == 3 * 2 + 3 * 4
    pred, _ = linear
    reason = comparison.recall_unavailable_reason(pred)
    assert "50-nt DNA 5'UTR" in reason and "reads 6 nucleotides" in reason
    assert comparison.recall_unavailable_reason(linear_predictor(50)[0]) is None
    with pytest.raises(ValueError, match="50-nt"):
        comparison.run_benchmarks_in_memory(pred, which=("recall",), methods=["saliency"])


def test_run_benchmarks_in_memory_reports_progress_fractions():
    pred, _ = linear_predictor(50, seed=2)
    rng = np.random.default_rng(0)
    test_set = ["".join(rng.choice(list(LETTERS), 50)) for _ in range(4)]
    told = []
    results = comparison.run_benchmarks_in_memory(
        pred, which=("kl", "recall"), methods=["saliency", "gradient_x_input"], n=4, n_recall=4, n_samples=4,
        test_sequences=test_set, progress=lambda fraction, text: told.append((fraction, text)))
    steps = comparison.benchmark_steps(["saliency", "gradient_x_input"], ("kl", "recall"))
    assert steps == 12
    assert len(told) == steps + 1
    fractions = [f for f, _ in told]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] == 1.0
    assert fractions[1] == pytest.approx(1 / 12)
    assert told[0][1] == "saliency (inclusion)" and told[-1][1] == "done"
    assert set(results["kl"].method) == {"saliency", "gradient_x_input"}
    assert set(results["kl"].benchmark) == {"inclusion", "occlusion"}
    assert len(results["kl"]) == 2 * 2 * 4
    assert list(results["table_d"].method) == ["saliency", "gradient_x_input"]
    assert results["table_d"].set_index("method").loc["saliency", "paper_start_1_1"] == 0.20
    assert isinstance(results["cost"], pd.DataFrame) and set(results["cost"].method) == {"saliency",
                                                                                        "gradient_x_input"}
    assert results["settings"]["n"] == 4 and results["settings"]["methods"] == ("saliency", "gradient_x_input")


def test_run_benchmarks_in_memory_refuses_empty_choices(linear):
    pred, _ = linear
    with pytest.raises(ValueError, match="at least one benchmark"):
        comparison.run_benchmarks_in_memory(pred, which=(), methods=["saliency"])
    with pytest.raises(ValueError, match="at least one attribution method"):
        comparison.run_benchmarks_in_memory(pred, which=("kl",), methods=[])


class FakeScrambler:
    """Duck-typed stand-in for a pretrained scrambler: fixed scores, records the modes it served."""

    def __init__(self, mode, served):
        self.mode = mode
        self.served = served
        self.network = type("Network", (), {"bits_conditioned": True, "guide": "none"})()  # as ScramblerModel

    def scores(self, x, target_bits=None, batch_size=64):
        self.served.append((self.mode, target_bits))
        return np.tile(np.linspace(1.0, 0.0, x.shape[1], dtype=np.float32), (len(x), 1))


def test_run_benchmarks_in_memory_uses_the_given_scramblers():
    pred, _ = linear_predictor(50, seed=4)
    served = []
    scramblers = {m: FakeScrambler(m, served) for m in ("inclusion", "occlusion")}
    rng = np.random.default_rng(1)
    test_set = ["".join(rng.choice(list(LETTERS), 50)) for _ in range(4)]
    results = comparison.run_benchmarks_in_memory(pred, which=("kl", "recall"), methods=["scrambler"], n=4,
                                                  n_recall=4, n_samples=4, test_sequences=test_set,
                                                  scramblers=scramblers)
    assert {mode for mode, _ in served} == {"inclusion", "occlusion"}
    assert (("inclusion", 0.1) in served) and (("occlusion", 1.8) in served)   # the default ranking budgets
    kl = results["kl"]
    assert set(kl.benchmark) == {"inclusion", "occlusion"} and set(kl.method) == {"scrambler"}
    assert list(results["table_d"].method) == ["scrambler"]


def test_scrambler_result_keeps_plain_options_and_scores_the_observed_letter(linear):
    pred, _ = linear
    served = []
    fake = FakeScrambler("inclusion", served)
    options = dict(comparison.scrambler_options("scrambler", mode="inclusion", target_bits=0.3), scrambler=fake)
    result = comparison.run_method(pred, SEQUENCE, "scrambler", options)
    assert served == [("inclusion", 0.3)]
    assert result.options == {"mode": "inclusion", "target_bits": 0.3}          # no scrambler object kept
    assert result.predictor_calls == 0
    np.testing.assert_allclose(result.importance, onehot(SEQUENCE) * np.linspace(1, 0, 6)[:, None], atol=1e-6)
    assert comparison.cost_table({"scrambler": result}).check.iloc[0] == "inclusion at 0.3 bits"


def test_explanation_scores_table_has_one_row_per_position():
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    pwm = rng.dirichlet(np.ones(4), size=(2, len(SEQUENCE)))
    explanation = SimpleNamespace(importance=rng.normal(size=(2, len(SEQUENCE))),
                                  per_position_bits=rng.uniform(size=(2, len(SEQUENCE))), pwm=pwm)
    table = comparison.explanation_scores_table(explanation, SEQUENCE, LETTERS, index=1)
    assert list(table.columns) == ["position", "letter", "importance", "bits", "p_A", "p_C", "p_G", "p_T"]
    assert table["position"].tolist() == list(range(1, len(SEQUENCE) + 1))
    assert "".join(table["letter"]) == SEQUENCE
    np.testing.assert_allclose(table["importance"], explanation.importance[1])
    np.testing.assert_allclose(table[["p_A", "p_C", "p_G", "p_T"]].to_numpy(), pwm[1])


def test_pair_ism_table_lists_every_substitution_of_both_chains():
    ism_a, ism_b = np.arange(8.0).reshape(2, 4), -np.arange(12.0).reshape(3, 4)
    table = comparison.pair_ism_table(ism_a, ism_b, "AC", "GTA", LETTERS)
    assert len(table) == (2 + 3) * 3
    assert list(table.columns) == ["chain", "position", "residue", "substitution", "delta_logodds"]
    row = table[(table.chain == "b") & (table.position == 2) & (table.substitution == "A")].iloc[0]
    assert row.residue == "T" and row.delta_logodds == -4.0
    assert not (table.residue == table.substitution).any()
