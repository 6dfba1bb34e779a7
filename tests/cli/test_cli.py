"""The command line: explain to CSV/Parquet, predict, and one-line errors with exit status 2."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scrambler_core as sc
from scrambler_core import cli, synthetic
from scrambler_core.paths import PRETRAINED_DIR
from scrambler_core.provenance import read_parquet_provenance, weights_fingerprint

ROOT = Path(__file__).resolve().parents[2]
needs_scrambler = pytest.mark.skipif(not (PRETRAINED_DIR / "utr5_inclusion.keras").exists(),
                                     reason="pretrained/utr5_inclusion.keras is not trained in this checkout")


@pytest.fixture
def fasta(tmp_path):
    seqs, _, _ = synthetic.generate_uorf_set(5, 1, 1, seed=8)
    path = tmp_path / "seqs.fa"
    path.write_text("".join(f">utr{k}\n{s[:25]}\n{s[25:].lower()}\n" for k, s in enumerate(seqs)))
    return path, seqs


@needs_scrambler
def test_explain_writes_csv(fasta, tmp_path, capsys):
    path, seqs = fasta
    out = tmp_path / "out.csv"
    status = cli.main(["explain", "--predictor", "utr5", "--target-bits", "0.5", "--mode", "inclusion",
                       "--input", str(path), "--output", str(out), "--n-samples", "8"])
    assert status == 0
    table = pd.read_csv(out)
    assert list(table["id"]) == [f"utr{k}" for k in range(5)]
    assert list(table["sequence"]) == seqs
    assert list(table.columns[:10]) == ["id", "sequence", "predictor", "mode", "objective", "prediction",
                                        "scrambler_0.5_sample_prediction", "scrambler_0.5_bits",
                                        "scrambler_0.5_faithful", "scrambler_0.5_warning"]
    assert (table["predictor"] == "utr5").all() and (table["mode"] == "inclusion").all()
    importance = table[[f"scrambler_0.5_importance_{j}" for j in range(1, 51)]].to_numpy()
    assert importance.shape == (5, 50) and (importance >= 0).all()
    assert np.all(np.abs(table["scrambler_0.5_bits"] - 0.5) < 0.2)
    record = json.loads((tmp_path / "out.csv.provenance.json").read_text())
    assert record["predictor"]["name"] == "utr5" and record["scrambler"]["mode"] == "inclusion"
    assert record["settings"]["target_bits"] == 0.5 and len(record["scrambler"]["weights_sha256"]) == 64


@needs_scrambler
def test_explain_writes_parquet(fasta, tmp_path):
    path, _ = fasta
    out = tmp_path / "out.parquet"
    assert cli.main(["explain", "--predictor", "utr5", "--input", str(path), "--output", str(out),
                     "--n-samples", "4"]) == 0
    table = pd.read_parquet(out)
    assert len(table) == 5 and len(table["scrambler_0.5_importance"].iloc[0]) == 50
    record = read_parquet_provenance(out)
    assert record["versions"]["tensorflow"] and record["settings"]["n_samples"] == 4
    assert record["predictor"]["weights_sha256"] == weights_fingerprint(sc.load_predictor("utr5"))


def test_bad_letter_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.fa"
    path.write_text(">a\n" + "A" * 16 + "X" + "A" * 33 + "\n")
    status = cli.main(["predict", "--predictor", "utr5", "--input", str(path), "--output", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err == "error: sequence 'a': 'X' at position 17 is not one of A, C, G, T"


def test_wrong_length_and_missing_file(tmp_path, capsys):
    path = tmp_path / "short.fa"
    path.write_text(">s\nACGT\n")
    assert cli.main(["predict", "--predictor", "utr5", "--input", str(path), "--output", str(tmp_path / "o.csv")]) == 2
    assert "expects 50" in capsys.readouterr().err
    assert cli.main(["predict", "--predictor", "utr5", "--input", str(tmp_path / "nope.fa"),
                     "--output", str(tmp_path / "o.csv")]) == 2
    assert "not found" in capsys.readouterr().err
    assert cli.main(["predict", "--predictor", "nosuchmodel", "--input", str(path),
                     "--output", str(tmp_path / "o.csv")]) == 2
    assert "unknown predictor" in capsys.readouterr().err


def test_predict_matches_api(fasta, tmp_path):
    path, seqs = fasta
    out = tmp_path / "p.csv"
    assert cli.main(["predict", "--predictor", "utr5", "--input", str(path), "--output", str(out)]) == 0
    np.testing.assert_allclose(pd.read_csv(out)["prediction"], sc.load_predictor("utr5").predict(seqs), rtol=1e-5)


def test_module_entry_point_help_and_error():
    """A real subprocess: --help works and bad input gives exit 2 and a single line on stderr."""
    help_text = subprocess.run([sys.executable, "-m", "scrambler_core", "explain", "--help"], cwd=ROOT,
                               capture_output=True, text=True, timeout=300)
    assert help_text.returncode == 0 and "--target-bits" in help_text.stdout
    bad = subprocess.run([sys.executable, "-m", "scrambler_core", "explain", "--predictor", "utr5",
                          "--input", "-", "--output", "x.txt"], cwd=ROOT, input="ACGT", capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 2
    lines = [l for l in bad.stderr.splitlines() if l.strip()]
    assert lines == ["error: output must end in .csv or .parquet, or be - for CSV on standard output; got 'x.txt'"]


def test_explain_with_a_model_path_needs_a_scrambler(tmp_path, capsys):
    path = tmp_path / "s.fa"
    path.write_text(">s\n" + "A" * 50 + "\n")
    status = cli.main(["explain", "--predictor", str(tmp_path / "mine.keras"), "--input", str(path),
                       "--output", str(tmp_path / "o.csv")])
    assert status == 2
    assert "--scrambler is required" in capsys.readouterr().err


def test_attribute_writes_scores_that_match_the_api(fasta, tmp_path, capsys):
    from scrambler_core.attribution import attribute
    from scrambler_core.predictors import load_predictor

    path, seqs = fasta
    out = tmp_path / "ism.csv"
    assert cli.main(["attribute", "--predictor", "utr5", "--methods", "ism,saliency", "--input", str(path),
                     "--output", str(out), "--batch-size", "2"]) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns[:4]) == ["id", "sequence", "predictor", "prediction"]
    for method in ("ism", "saliency"):
        expected = attribute(load_predictor("utr5"), seqs, method).sum(-1)
        np.testing.assert_allclose(frame[[f"{method}_importance_{j + 1}" for j in range(50)]].to_numpy(), expected,
                                   atol=1e-5)
    err = capsys.readouterr().err
    assert "ism: 755 predictor calls" in err and "attributed 5 sequences with utr5" in err


def test_attribute_options_and_errors(fasta, tmp_path, capsys):
    path, _ = fasta
    out = tmp_path / "ig.parquet"
    assert cli.main(["attribute", "--predictor", "utr5", "--methods", "integrated_gradients", "--option",
                     "integrated_gradients.steps=4", "--option", "integrated_gradients.baseline=uniform",
                     "--input", str(path), "--output", str(out)]) == 0
    assert len(pd.read_parquet(out)["integrated_gradients_importance"].iloc[0]) == 50
    assert read_parquet_provenance(out)["settings"]["options"]["integrated_gradients"]["steps"] == 4
    assert cli.main(["attribute", "--predictor", "utr5", "--methods", "ism", "--option", "ism.steps=4",
                     "--input", str(path), "--output", str(out)]) == 2
    assert "ism does not take steps" in capsys.readouterr().err
    assert cli.main(["attribute", "--predictor", "utr5", "--methods", "ism,lime", "--input", str(path),
                     "--output", str(out)]) == 2
    assert "unknown method 'lime'; choose from ism, saliency" in capsys.readouterr().err
    assert cli.main(["attribute", "--predictor", "utr5", "--methods", "ism", "--option", "steps=4",
                     "--input", str(path), "--output", str(out)]) == 2
    assert "must look like METHOD.KEY=VALUE" in capsys.readouterr().err
    assert cli.main(["attribute", "--predictor", "utr5", "--methods", "ism", "--option", "deepshap.n_references=4",
                     "--input", str(path), "--output", str(out)]) == 2
    assert "which is not among --methods ism" in capsys.readouterr().err


@needs_scrambler
def test_benchmark_command_writes_tables(tmp_path, capsys):
    status = cli.main(["benchmark", "--predictor", "utr5", "--benchmark", "recall", "--methods", "ism,scrambler",
                       "--n-recall", "6", "--output-dir", str(tmp_path)])
    assert status == 0
    out = capsys.readouterr().out
    assert "Table D" in out and "paper_stop_1_1" in out and "time_ratio" in out
    table = pd.read_csv(tmp_path / "table_d.csv")
    assert list(table.method) == ["ism", "scrambler"]
    assert table.set_index("method").loc["ism", "paper_stop_2_2"] == 0.13


def test_benchmark_command_errors(tmp_path, capsys):
    assert cli.main(["benchmark", "--predictor", "utr5", "--methods", "ism,lime", "--output-dir", str(tmp_path)]) == 2
    assert "unknown method 'lime'" in capsys.readouterr().err
    assert cli.main(["benchmark", "--predictor", "polya", "--benchmark", "recall", "--output-dir", str(tmp_path)]) == 2
    assert "50-nt DNA 5'UTR predictor" in capsys.readouterr().err
    assert cli.main(["benchmark", "--predictor", "utr5", "--option", "ism=3", "--output-dir", str(tmp_path)]) == 2
    assert "METHOD.KEY=VALUE" in capsys.readouterr().err


def test_train_scrambler_runs_a_staged_recipe_and_resumes_from_a_stage(tmp_path, capsys):
    """utr5 inclusion continues on uAUG tails (issue 17): three stages, each starting from the one before."""
    import json

    out = tmp_path / "staged.keras"
    assert cli.main(["train-scrambler", "--predictor", "utr5", "--n-train", "64", "--epochs", "1",
                     "--output", str(out)]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert [s["data"].get("data_kind", "builtin") for s in card["stages"]] == ["builtin", "uaug_tails",
                                                                               "uaug_tails_multi"]
    assert card["stages"][0]["initialised_from"] is None
    assert card["stages"][1]["initialised_from"] == card["stages"][2]["initialised_from"] == "staged.keras"
    tails = card["stages"][1]["data"]
    assert tails["low_closed_uorf"] == 1.0 and tails["high_closed_uorf"] == 0.0
    assert card["data"]["multi_uaug_tails"]["pool"] == 3 * 32        # half of the 64 from 2+ in-frame ATG 50-mers
    assert card["training_seconds"] == round(sum(s["training_seconds"] for s in card["stages"]), 1)
    first_stage = card["stages"][0]
    background = sc.load_scrambler(str(out)).background
    # --stage 1: only the continuation, from the network already there; stage 0's record is kept, and so is the
    # background (the natural inputs' letter frequencies, not the uAUG tails')
    assert cli.main(["train-scrambler", "--predictor", "utr5", "--n-train", "64", "--epochs", "1",
                     "--output", str(out), "--stage", "1"]) == 0
    np.testing.assert_array_equal(sc.load_scrambler(str(out)).background, background)
    again = json.loads(out.with_suffix(".json").read_text())
    assert again["stages"][0] == first_stage and len(again["stages"]) == 3
    assert again["stages"][1]["initialised_from_sha256"] != card["stages"][1]["initialised_from_sha256"]
    capsys.readouterr()
    assert cli.main(["train-scrambler", "--predictor", "utr5", "--output", str(tmp_path / "none.keras"),
                     "--stage", "1"]) == 2
    assert "none.keras, which does not exist" in capsys.readouterr().err
    assert cli.main(["train-scrambler", "--predictor", "utr5", "--output", str(out), "--stage", "5"]) == 2
    assert "--stage must be between 0 and 2" in capsys.readouterr().err


def test_polya_distillation_stage_from_a_relative_output(tmp_path, monkeypatch):
    """polya inclusion's stage 2 (issue 17): ISM / DeepLIFT / start rankings distilled, the signed guide added, the
    epoch kept by the KL keep-set monitor; ``--stage`` continues the network at a relative ``--output``."""
    import json
    import shutil

    from scrambler_core.paths import PRETRAINED_DIR

    for suffix in (".keras", ".json"):
        shutil.copy(PRETRAINED_DIR / f"polya_inclusion{suffix}", tmp_path / f"start{suffix}")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train-scrambler", "--predictor", "polya", "--n-train", "64", "--epochs", "1",
                     "--output", "start.keras", "--stage", "2"]) == 0
    card = json.loads((tmp_path / "start.json").read_text())
    stage = card["stages"][2]
    assert stage["settings"]["ranking_teacher"] == ["ism", "deeplift", "start"]
    assert stage["settings"]["ranking_weight"] == 5.0 and stage["initialised_from"] == "start.keras"
    assert stage["data"]["data_seed_offset"] == 2000
    record = stage["history"][-1]
    assert record["ranking_loss"] > 0 and set(record["monitor"]) == {"0.2", "0.1", "0.05", "0.02"}
    scrambler = sc.load_scrambler(str(tmp_path / "start.keras"))
    assert scrambler.network.guide == "gradient_signed"
