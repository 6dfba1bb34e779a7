"""Benchmarks: hand-computed recall and divergences, and a tiny run of every method."""
import numpy as np
import pandas as pd
import pytest

from scrambler_core import runtime  # noqa: F401
import keras

from scrambler_core import benchmarks as B
from scrambler_core import evaluation
from scrambler_core.attribution import METHODS
from scrambler_core.paths import PRETRAINED_DIR
from scrambler_core.predictors import Predictor, load_predictor

L, A = 10, 4
HAVE_SCRAMBLERS = (PRETRAINED_DIR / "utr5_inclusion.keras").exists() and (PRETRAINED_DIR / "utr5_occlusion.keras").exists()


def one_position_predictor(kind="regression"):
    """f(x) = 4 [x_3 = C] - 4 [x_3 = T] + 0.1: only position 3 matters."""
    weights = np.zeros((L, A), np.float32)
    weights[3] = [0.0, 4.0, 0.0, -4.0]
    inputs = keras.Input((L, A))
    dense = keras.layers.Dense(1, activation="sigmoid" if kind == "sigmoid" else None)
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    dense.set_weights([weights.reshape(-1, 1), np.array([0.1], np.float32)])
    return Predictor(model, name="one_position", alphabet="dna", output_kind=kind)


def test_uorf_recall_scores_by_hand():
    scores = np.zeros((3, 50))
    starts = np.array([[5], [5], [5]])
    stops = np.array([[20], [20], [20]])
    scores[0, [5, 6, 7, 20, 21, 22]] = 1.0            # both codons whole in the top 6
    scores[1, [5, 6, 7, 20, 21, 30]] = 1.0            # stop codon missing a letter
    scores[2, [5, 6, 40, 20, 21, 22]] = 1.0           # start codon missing a letter
    out = B.uorf_recall_scores(scores, starts, stops)
    assert out["start_recall"] == pytest.approx(2 / 3)
    assert out["stop_recall"] == pytest.approx(2 / 3)
    assert out["both"] == pytest.approx(1 / 3)


def test_min_solution_counts_any_one_of_two_codons():
    scores = np.zeros((1, 50))
    scores[0, [14, 15, 16, 29, 30, 31]] = 1.0         # second uAUG and second stop
    out = B.uorf_recall_scores(scores, np.array([[5, 14]]), np.array([[20, 29]]))
    assert out["start_recall"] == 1.0 and out["stop_recall"] == 1.0
    assert out["all_start"] == 0.0 and out["all_stop"] == 0.0   # 12 positions would need both of each


def test_top_positions_and_divergence_by_hand():
    mask = B.top_positions(np.array([[0.1, 3.0, 2.0, 0.5]]), 0.5)
    assert mask.tolist() == [[False, True, True, False]]
    assert B.top_positions(np.zeros((1, 10)), 0.02).sum() == 1            # at least one position
    sq = B._divergence(np.array([1.0]), np.array([[1.0, 3.0]]), "regression")
    np.testing.assert_allclose(sq, [[0.0, 4.0]])
    p, q = 0.8, 0.4
    expected = p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q)) + q * np.log(q / p) + (1 - q) * np.log((1 - q) / (1 - p))
    np.testing.assert_allclose(B._divergence(np.array([p]), np.array([[q]]), "sigmoid"), [[expected]])


def test_background_samples_follow_the_background():
    background = np.tile([0.7, 0.1, 0.1, 0.1], (5, 1)).astype(np.float32)
    samples = evaluation._background_samples(background, 4000, seed=3)
    assert samples.shape == (4000, 5, 4) and (samples.sum(-1) == 1).all()
    np.testing.assert_allclose(samples.mean(0)[:, 0], 0.7, atol=0.03)


def test_kl_benchmark_on_a_one_position_model():
    pred = one_position_predictor()
    rng = np.random.default_rng(0)
    x = np.eye(A, dtype=np.float32)[rng.integers(0, A, (6, L))]
    x[:, 3] = [0, 1, 0, 0]                                            # C at the position that matters: f = 4.1
    background = np.full((L, A), 0.25, np.float32)
    table, costs = B.kl_benchmark(pred, x, ["ism", "saliency"], fractions=(0.1,), n_samples=400, seed=1,
                                  background=background)
    ism_in = table.query("method == 'ism' and benchmark == 'inclusion'")["median"].item()
    ism_out = table.query("method == 'ism' and benchmark == 'occlusion'")["median"].item()
    assert ism_in == pytest.approx(0.0, abs=1e-10)     # the one important position kept: nothing changes
    # resampling it: f changes by 4 (to A or G) or 8 (to T) -> E[(y - y')^2] = (16 + 16 + 64) / 4 = 24
    assert ism_out == pytest.approx(24.0, rel=0.15)
    assert set(costs.method) == {"ism", "saliency"}
    assert (table.positions == 1).all() and len(table) == 4


def test_table_d_and_cost_ratios():
    recall = pd.DataFrame([
        {"method": "ism", "n_starts": 1, "n_stops": 1, "start_recall": 0.9, "stop_recall": 0.8},
        {"method": "ism", "n_starts": 2, "n_stops": 2, "start_recall": 0.7, "stop_recall": 0.6},
        {"method": "gradient_x_input", "n_starts": 1, "n_stops": 1, "start_recall": 0.1, "stop_recall": 0.2}])
    table = B.table_d(recall).set_index("method")
    assert table.loc["ism", "stop_2_2"] == 0.6 and table.loc["ism", "paper_start_1_1"] == 0.79
    assert np.isnan(table.loc["gradient_x_input", "paper_stop_1_1"]) and np.isnan(table.loc["gradient_x_input", "start_2_2"])
    costs = pd.DataFrame([
        {"method": "scrambler", "predictor_calls_per_sequence": 33, "seconds_per_sequence": 0.002},
        {"method": "integrated_gradients", "predictor_calls_per_sequence": 52, "seconds_per_sequence": 0.03},
        {"method": "integrated_gradients", "predictor_calls_per_sequence": 52, "seconds_per_sequence": 0.05}])
    ratios = B.cost_table(costs).set_index("method")
    assert ratios.loc["integrated_gradients", "time_ratio"] == pytest.approx(20.0)
    assert ratios.loc["scrambler", "calls_ratio"] == 1.0


def test_recall_benchmark_refuses_a_predictor_of_another_shape():
    with pytest.raises(ValueError, match="50-nt DNA 5'UTR predictor"):
        B.recall_benchmark(one_position_predictor(), ["ism"], n=2)


@pytest.mark.skipif(not HAVE_SCRAMBLERS, reason="pretrained utr5 scramblers absent in this checkout")
def test_every_method_on_a_tiny_utr5_benchmark(tmp_path):
    pred = load_predictor("utr5")
    fast = {"integrated_gradients": {"steps": 8}, "deepshap": {"n_references": 3},
            "scrambler_optimized": {"steps": 4, "n_samples": 4}, "scrambler_finetuned": {"steps": 4, "n_samples": 4}}
    results = B.run_benchmarks(pred, tmp_path, methods=METHODS, n=6, n_recall=6, n_samples=16,
                               n_per_example=3, method_options=fast)
    kl, recall, cost = results["kl"], results["recall"], results["cost"]
    assert set(kl.method) == set(METHODS) == set(recall.method) == set(cost.method)
    assert len(kl) == len(METHODS) * 2 * 4 and (kl["median"] >= 0).all() and np.isfinite(kl["median"]).all()
    assert recall[["start_recall", "stop_recall"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (recall.query("method == 'scrambler_optimized'").n == 3).all()
    # ISM finds the single uAUG of the 1 start / 1 stop set
    assert recall.query("method == 'ism' and n_starts == 1 and n_stops == 1").start_recall.item() >= 0.5
    assert cost.set_index("method").loc["ism", "predictor_calls_per_sequence"] == 151
    for name in ("kl.csv", "kl.png", "kl.svg", "recall.csv", "table_d.csv", "cost.csv"):
        assert (tmp_path / name).stat().st_size > 100


def test_kl_benchmark_of_a_user_model_needs_test_sequences(tmp_path):
    with pytest.raises(ValueError, match="give the KL test set"):
        B.run_benchmarks(one_position_predictor(), tmp_path, which=("kl",), methods=["ism"])


def test_table_d_beside_the_paper_keeps_the_measured_order_and_aligns_the_paper():
    import pandas as pd

    from scrambler_core.benchmarks import divergence_name, table_d_beside_paper

    measured = pd.DataFrame({"method": ["ism", "scrambler", "magic"], "start_1_1": [0.9, 0.8, 0.1],
                             "stop_1_1": [0.8, 0.7, 0.1], "start_2_2": [0.9, 0.6, 0.1], "stop_2_2": [0.1, 0.5, 0.1]})
    out = table_d_beside_paper(measured)
    assert out.method.tolist()[:3] == ["ism", "scrambler", "magic"]
    assert set(out.method[3:]) == {"scrambler_low_penalty", "saliency", "integrated_gradients", "deeplift",
                                   "deepshap"}
    row = out.set_index("method")
    assert row.loc["ism", "stop_1_1"] == 0.8 and row.loc["ism", "stop_1_1_paper"] == 0.07
    assert row.loc["scrambler", "stop_2_2_paper"] == 0.70 and pd.isna(row.loc["magic", "start_1_1_paper"])
    assert pd.isna(row.loc["deeplift", "start_1_1"]) and row.loc["deeplift", "start_1_1_paper"] == 0.54
    assert divergence_name("regression") == "squared error"
    assert divergence_name("sigmoid") == "symmetric KL divergence"
