"""One CLI dialect: --version, --methods and METHOD.KEY=VALUE everywhere, one column scheme, --output -,
unknown predictors named with the available ones, progress on attribute and predict."""
import io
import json

import numpy as np
import pandas as pd
import pytest

import scrambler_core as sc
from scrambler_core import cli, synthetic
from scrambler_core.tables import check_output, method_label, result_column, with_positions


@pytest.fixture
def fasta(tmp_path):
    seqs, _, _ = synthetic.generate_uorf_set(3, 1, 1, seed=31)
    path = tmp_path / "seqs.fa"
    path.write_text("".join(f">s{k}\n{s}\n" for k, s in enumerate(seqs)))
    return path, seqs


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip().endswith(f" {sc.__version__}")


def test_labels_and_columns_follow_one_scheme():
    assert method_label("scrambler", 0.25) == "scrambler_0.25" and method_label("scrambler", 1.0) == "scrambler_1"
    assert method_label("ism") == "ism"
    assert result_column("ism", "importance") == "ism_importance"
    assert result_column("scrambler_0.5", "importance", "ref") == "scrambler_0.5_ref_importance"
    with pytest.raises(ValueError, match="needs its target bits"):
        method_label("scrambler")
    frame = with_positions(pd.DataFrame({"id": ["a", "b"]}), np.arange(6).reshape(2, 3), "ism_importance", "x.csv")
    assert list(frame.columns) == ["id", "ism_importance_1", "ism_importance_2", "ism_importance_3"]
    assert frame["ism_importance_3"].tolist() == [2, 5]
    for bad in ("x.txt", "x"):
        with pytest.raises(ValueError, match="or be - for CSV on standard output"):
            check_output(bad)


def test_output_dash_writes_csv_to_standard_output(fasta, capsys):
    path, seqs = fasta
    assert cli.main(["predict", "--predictor", "utr5", "--input", str(path), "--output", "-"]) == 0
    captured = capsys.readouterr()
    table = pd.read_csv(io.StringIO(captured.out))
    assert list(table["sequence"]) == seqs
    np.testing.assert_allclose(table["prediction"], sc.load_predictor("utr5").predict(seqs), rtol=1e-5)
    assert "predicted 3 sequences with utr5 -> standard output" in captured.err
    assert cli.main(["attribute", "--predictor", "utr5", "--methods", "ism", "--input", str(path),
                     "--output", "-"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert table.shape == (3, 4 + 50) and "ism_importance_50" in table


def test_unknown_predictor_lists_the_available_ones(fasta, capsys):
    path, _ = fasta
    for command in (["explain"], ["attribute", "--methods", "ism"], ["predict"], ["batch"]):
        out = "out.parquet" if command[0] == "batch" else "out.csv"
        assert cli.main([*command, "--predictor", "utr6", "--input", str(path), "--output", out]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: unknown predictor 'utr6': built-ins are utr5, polya, binder"), err
        assert "optimus5" in err and "\n" not in err
    assert cli.main(["train-scrambler", "--predictor", "utr6"]) == 2
    assert "unknown predictor 'utr6'" in capsys.readouterr().err


def test_a_model_file_without_a_scrambler_is_still_told_to_give_one(fasta, tmp_path, capsys):
    path, _ = fasta
    assert cli.main(["explain", "--predictor", str(tmp_path / "mine.keras"), "--input", str(path),
                     "--output", "o.csv"]) == 2
    assert "--scrambler is required for a predictor given by path" in capsys.readouterr().err


def test_attribute_and_predict_show_progress_over_batches(fasta, capsys):
    path, _ = fasta
    assert cli.main(["attribute", "--predictor", "utr5", "--methods", "saliency", "--input", str(path),
                     "--output", "-", "--batch-size", "1"]) == 0
    err = capsys.readouterr().err
    assert "saliency: 100%" in err and "3/3" in err
    assert cli.main(["predict", "--predictor", "utr5", "--input", str(path), "--output", "-", "--batch-size", "1",
                     "--no-progress"]) == 0
    assert "predict:" not in capsys.readouterr().err


def test_batch_and_attribute_share_option_syntax(fasta, tmp_path):
    path, seqs = fasta
    out = tmp_path / "b.parquet"
    assert cli.main(["batch", "--predictor", "utr5", "--methods", "integrated_gradients", "--option",
                     "integrated_gradients.steps=4", "--input", str(path), "--output", str(out),
                     "--no-progress"]) == 0
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["job"]["method_options"] == {"integrated_gradients": {"steps": 4}}
    table = sc.batch.read_results(out)
    assert "integrated_gradients_importance" in table


def test_batch_csv_dash_writes_the_results_to_standard_output(fasta, tmp_path, capsys):
    path, seqs = fasta
    assert cli.main(["batch", "--predictor", "utr5", "--methods", "saliency", "--input", str(path),
                     "--output", str(tmp_path / "b.parquet"), "--no-progress", "--csv", "-"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(table["sequence"]) == seqs and "saliency_importance_50" in table


def test_explain_optimise_steps_writes_the_optimised_explanation(fasta, tmp_path, capsys):
    """--optimise-steps: per-example optimisation (scrambler_core.refine), its own column label and provenance."""
    from scrambler_core.provenance import read_parquet_provenance
    from scrambler_core.refine import optimise_explanation

    path, seqs = fasta
    out = tmp_path / "opt.parquet"
    assert cli.main(["explain", "--predictor", "utr5", "--input", str(path), "--output", str(out),
                     "--target-bits", "0.25", "--optimise-steps", "20"]) == 0
    table = pd.read_parquet(out)
    assert "scrambler_optimized_0.25_bits" in table and "scrambler_0.25_bits" not in table
    expected = optimise_explanation(sc.load_scrambler("utr5"), seqs, 0.25, steps=20, seed=0)
    np.testing.assert_allclose(np.stack(table["scrambler_optimized_0.25_importance"]), expected.importance,
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(table["scrambler_optimized_0.25_bits"], expected.conservation, rtol=1e-4)
    assert read_parquet_provenance(out)["settings"]["optimise_steps"] == 20
    assert method_label("scrambler_optimized", 0.25) == "scrambler_optimized_0.25"
    assert method_label("scrambler_optimized") == "scrambler_optimized"


@pytest.mark.parametrize("extra, message", [
    (["--optimise-steps", "-1"], "--optimise-steps must be >= 0"),
    (["--optimise-steps", "10", "--drop", "3-5"], "cannot be combined with --drop or --template"),
])
def test_explain_optimise_steps_refuses_what_it_cannot_do(fasta, capsys, extra, message):
    path, _ = fasta
    assert cli.main(["explain", "--predictor", "utr5", "--input", str(path), "--output", "o.csv", *extra]) == 2
    assert message in capsys.readouterr().err
