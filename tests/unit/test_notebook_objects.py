"""Notebook-friendly objects: keras models accepted everywhere, a short Explanation repr, to_frame, plot,
score_variants for many pairs, list_predictors with the published models found."""
import keras
import matplotlib
import numpy as np
import pandas as pd
import pytest

import scrambler_core as sc
from scrambler_core.predictors import registry
from scrambler_core.scrambler import explain as scrambler_explain
from toymodels import SMALL, linear_predictor, onehot

matplotlib.use("Agg")


def _keras_linear():
    """The toy linear model as a bare keras.Model: output = 2 x[3, A] + 2 x[8, G]."""
    return linear_predictor().model


def test_attribute_takes_a_keras_model_as_tangermeme_and_captum_users_pass_it():
    model = _keras_linear()
    x = onehot(4, 12, seed=3)
    saliency = sc.attribute(model, x, "saliency")
    assert saliency.shape == (4, 12, 4)
    # saliency is the gradient at every letter: d output / d x[3, A] = 2, d output / d x[8, G] = 2, else 0
    expected = np.zeros((4, 12, 4), np.float32)
    expected[:, 3, 0] = expected[:, 8, 2] = 2.0
    np.testing.assert_allclose(saliency, expected, atol=1e-5)
    ism = sc.attribute(model, x, "ism")
    np.testing.assert_allclose(ism, sc.attribute(sc.as_predictor(model), x, "ism"), atol=1e-6)


def test_as_predictor_infers_what_it_can_and_refuses_what_it_cannot():
    model = _keras_linear()
    predictor = sc.as_predictor(model)
    assert (predictor.sequence_length, predictor.alphabet.name, predictor.output_kind) == (12, "dna", "regression")
    assert predictor.name == model.name
    assert sc.as_predictor(predictor) is predictor
    assert sc.as_predictor(model) is predictor      # one wrapper per model: its compiled functions are reused
    assert sc.as_predictor(model, name="mine").name == "mine"
    inputs = keras.Input((10, 7))
    odd = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs)))
    with pytest.raises(sc.ModelFileError, match="7 channels per position"):
        sc.as_predictor(odd)
    a, b = keras.Input((10, 4)), keras.Input((10, 4))
    two = keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Flatten()(keras.layers.Concatenate()([a, b]))))
    with pytest.raises(sc.ModelFileError, match="expected one input"):
        sc.as_predictor(two)
    with pytest.raises(TypeError, match="expected a Predictor, a keras.Model"):
        sc.as_predictor(42)
    with pytest.raises(sc.ModelFileError, match="unknown predictor 'utr6'"):
        sc.as_predictor("utr6")


def test_load_and_train_scrambler_take_a_keras_model(tmp_path):
    utr5 = sc.load_predictor("utr5")
    path = scrambler_explain.PRETRAINED_DIR / "utr5_inclusion.keras"
    from_model = sc.load_scrambler(str(path), predictor=utr5.model)
    from_predictor = sc.load_scrambler("utr5")
    seqs = [e.sequence for e in sc.examples.examples("utr5")]
    np.testing.assert_allclose(from_model.scores(seqs, target_bits=0.5), from_predictor.scores(seqs, target_bits=0.5),
                               atol=1e-5)
    scrambler, history = sc.train_scrambler(_keras_linear(), onehot(64, 12), epochs=1, bits_schedule=(),
                                            network_options=SMALL, log=lambda m: None)
    assert scrambler.predictor.sequence_length == 12 and len(history) == 1


@pytest.fixture(scope="module")
def explained():
    scrambler = sc.load_scrambler("utr5")
    seqs = [e.sequence for e in sc.examples.examples("utr5")]
    seqs = (seqs * 2)[:5]
    return scrambler.explain(seqs, target_bits=0.5, n_samples=8), seqs


def test_explanation_repr_is_one_short_line(explained):
    ex, _ = explained
    text = repr(ex)
    assert "\n" not in text and len(text) < 250, text
    assert text.startswith("Explanation(5 sequences x 50 positions, predictor 'utr5', inclusion, target 0.5 bits")
    assert f"realised {ex.conservation.mean():.2f} bits" in text and "8 samples" in text
    assert f"faithful {int(ex.faithfulness.faithful.sum())}/5" in text


def test_to_frame_is_tidy_one_row_per_sequence_and_position(explained):
    ex, seqs = explained
    frame = ex.to_frame()
    assert len(frame) == 5 * 50
    assert frame["position"].min() == 1 and frame["position"].max() == 50
    row = frame[(frame.sequence_index == 2) & (frame.position == 7)].iloc[0]
    assert row["letter"] == seqs[2][6]
    assert row["importance"] == pytest.approx(float(ex.importance[2, 6]))
    assert row["bits"] == pytest.approx(float(ex.per_position_bits[2, 6]))
    assert row["realised_bits"] == pytest.approx(float(ex.conservation[2]))
    assert row["predictor"] == "utr5" and row["mode"] == "inclusion"
    pwm = frame[["pwm_A", "pwm_C", "pwm_G", "pwm_T"]].to_numpy()
    np.testing.assert_allclose(pwm.sum(1), 1.0, atol=1e-4)
    np.testing.assert_allclose(pwm.reshape(5, 50, 4), ex.pwm, atol=1e-6)
    assert "".join(frame[frame.sequence_index == 4]["letter"]) == seqs[4]


def test_plot_draws_both_logos_of_the_chosen_sequence(explained):
    ex, _ = explained
    fig = ex.plot(1)
    top, bottom = fig.axes
    assert "utr5" in top.get_title(loc="left") and f"{ex.conservation[1]:.2f} bits" in top.get_title(loc="left")
    assert top.get_ylabel() == "bits" and bottom.get_ylabel() == "importance"
    assert bottom.get_ylim()[1] == pytest.approx(float(ex.importance[1].max()) * 1.05, rel=1e-3)
    with pytest.raises(IndexError, match="index 5 is out of range for 5"):
        ex.plot(5)


def _mutated(seqs):
    return [s[:20] + ("C" if s[20] != "C" else "G") + s[21:] for s in seqs]


def test_score_variants_matches_score_variant_pair_by_pair():
    predictor, scrambler = sc.load_predictor("utr5"), sc.load_scrambler("utr5")
    refs = [e.sequence for e in sc.examples.examples("utr5")]
    alts = _mutated(refs)
    table = sc.score_variants(predictor, list(zip(refs, alts)), scrambler=scrambler, target_bits=0.5, batch_size=2)
    assert list(table["id"]) == ["0", "1", "2"][:len(refs)]
    for k, (ref, alt) in enumerate(zip(refs, alts)):
        one = sc.score_variant(predictor, ref, alt, scrambler=scrambler, target_bits=0.5, ism_window=0)
        assert table["delta_prediction"][k] == pytest.approx(one.delta, abs=1e-5)
        np.testing.assert_allclose(table["scrambler_0.5_delta_importance"][k], one.importance_delta, atol=1e-5)
        assert table["variants"][k] == f"21{ref[20]}>{alt[20]}"


def test_score_variants_reads_a_table_and_names_the_bad_pair():
    predictor = sc.load_predictor("utr5")
    refs = [e.sequence for e in sc.examples.examples("utr5")]
    frame = pd.DataFrame({"id": [f"v{k}" for k in range(len(refs))], "ref": refs, "alt": _mutated(refs)})
    table = sc.score_variants(predictor, frame)
    assert list(table["id"]) == list(frame["id"]) and "scrambler_0.5_ref_importance" not in table
    np.testing.assert_allclose(table["ref_prediction"], predictor.predict(refs), atol=1e-5)
    frame.loc[1, "alt"] = frame.loc[1, "ref"]
    with pytest.raises(sc.SequenceError, match="pair v1: the alternative sequence is identical"):
        sc.score_variants(predictor, frame)
    with pytest.raises(sc.SequenceError, match="needs columns ref_sequence and alt_sequence"):
        sc.score_variants(predictor, pd.DataFrame({"a": refs}))
    with pytest.raises(sc.SequenceError, match="pair 0: .*length"):
        sc.score_variants(predictor, [("ACGT", "ACGA")])


def test_list_predictors_includes_the_published_models_found(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, "available_external", lambda directory=None: {"optimus5": tmp_path / "x.hdf5"})
    names = sc.list_predictors()
    assert names[-1] == "optimus5" and "utr5" in names
    assert "optimus5" not in sc.list_predictors(published=False)


def test_run_batch_takes_a_dataframe_as_it_takes_the_csv(tmp_path):
    seqs = [e.sequence for e in sc.examples.examples("utr5")]
    frame = pd.DataFrame({"id": [f"u{k}" for k in range(len(seqs))], "sequence": seqs})
    frame.to_csv(tmp_path / "u.csv", index=False)
    from scrambler_core.batch import read_results, run_batch
    from_frame = run_batch(frame, tmp_path / "frame.parquet", "utr5", methods=("ism",), progress=False)
    run_batch(tmp_path / "u.csv", tmp_path / "file.parquet", "utr5", methods=("ism",), progress=False)
    assert from_frame["job"]["input"] == f"pandas DataFrame ({len(seqs)} rows)"
    a, b = read_results(tmp_path / "frame.parquet"), read_results(tmp_path / "file.parquet")
    assert list(a["id"]) == list(frame["id"])
    np.testing.assert_allclose(np.stack(a["ism_importance"]), np.stack(b["ism_importance"]), atol=1e-6)
    bad = frame.assign(sequence=[seqs[0], seqs[1][:-1], seqs[2]])
    run_batch(bad, tmp_path / "bad.parquet", "utr5", methods=("ism",), progress=False)
    rows = read_results(tmp_path / "bad.parquet")
    assert list(rows["status"]) == ["ok", "error", "ok"] and "length 49" in rows["message"][1]
    with pytest.raises(sc.SequenceError, match="dataframe.csv: row 3"):
        run_batch(bad, tmp_path / "strict.parquet", "utr5", methods=("ism",), progress=False, strict=True)
