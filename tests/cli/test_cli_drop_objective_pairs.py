"""Command line for issue 7: --drop, --objective, --template, pair explain and the new benchmarks."""
import numpy as np
import pandas as pd
import pytest

import scrambler_core as sc
from scrambler_core import cli, synthetic
from scrambler_core.paths import PRETRAINED_DIR


def needs(*names):
    missing = [n for n in names if not (PRETRAINED_DIR / f"{n}.keras").exists()]
    return pytest.mark.skipif(bool(missing), reason=f"pretrained/{', '.join(missing)}.keras not trained in this "
                                                    "checkout")


@pytest.fixture
def polya_csv(tmp_path):
    rng = np.random.default_rng(3)
    seqs = [s[:66] + "AATAAA" + s[72:78] + "ATTAAA" + s[84:] for s in synthetic.random_sequences(4, 205, rng)]
    path = tmp_path / "windows.csv"
    pd.DataFrame({"id": [f"w{k}" for k in range(4)], "sequence": seqs}).to_csv(path, index=False)
    return path, seqs


@needs("polya_inclusion_dropout")
def test_explain_drop_uses_the_dropout_scrambler(polya_csv, tmp_path):
    path, seqs = polya_csv
    out = tmp_path / "out.csv"
    assert cli.main(["explain", "--predictor", "polya", "--input", str(path), "--output", str(out),
                     "--target-bits", "0.25", "--drop", "67-72", "--n-samples", "8"]) == 0
    table = pd.read_csv(out)
    importance = table[[f"scrambler_0.25_importance_{j}" for j in range(1, 206)]].to_numpy()
    assert (importance[:, 66:72] == 0).all()
    api = sc.load_scrambler("polya", dropout=True).scores(seqs, target_bits=0.25,
                                                          drop=sc.scrambler.drop_mask_from_ranges("67-72", 205))
    np.testing.assert_allclose(importance, api, rtol=1e-4, atol=1e-5)


def test_explain_drop_and_template_errors_are_one_line(polya_csv, tmp_path, capsys):
    path, _ = polya_csv
    out = tmp_path / "out.csv"
    assert cli.main(["explain", "--predictor", "polya", "--input", str(path), "--output", str(out),
                     "--drop", "60-x"]) == 2
    assert "cannot read '60-x'" in capsys.readouterr().err
    assert cli.main(["explain", "--predictor", "polya", "--input", str(path), "--output", str(out),
                     "--template", "C" + "N" * 204]) == 2
    err = capsys.readouterr().err.strip()
    assert "the template fixes 'C'" in err and len(err.splitlines()) == 1


@needs("polya_inclusion_maximize", "polya_inclusion_minimize")
def test_explain_objective_writes_its_name(polya_csv, tmp_path):
    path, _ = polya_csv
    for objective in ("maximize", "minimize"):
        out = tmp_path / f"{objective}.parquet"
        assert cli.main(["explain", "--predictor", "polya", "--input", str(path), "--output", str(out),
                         "--objective", objective, "--n-samples", "4"]) == 0
        table = pd.read_parquet(out)
        assert (table["objective"] == objective).all() and len(table["scrambler_0.5_importance"][0]) == 205


@needs("binder_inclusion_siamese", "binder_occlusion_joint")
def test_explain_pairs_writes_both_chains(tmp_path):
    pairs = synthetic.generate_binder_pairs(3, seed=5)
    path = tmp_path / "pairs.csv"
    pd.DataFrame({"sequence_a": [a for a, _ in pairs], "sequence_b": [b for _, b in pairs]}).to_csv(path, index=False)
    for mode, architecture in (("inclusion", "siamese"), ("occlusion", "joint")):
        out = tmp_path / f"{mode}.csv"
        assert cli.main(["explain", "--predictor", "binder", "--input", str(path), "--output", str(out),
                         "--mode", mode, "--architecture", architecture, "--n-samples", "4"]) == 0
        table = pd.read_csv(out)
        a = table[[f"scrambler_0.5_importance_a_{j}" for j in range(1, 49)]].to_numpy()
        b = table[[f"scrambler_0.5_importance_b_{j}" for j in range(1, 49)]].to_numpy()
        for k, (chain_a, chain_b) in enumerate(pairs):
            assert (a[k, len(chain_a):] == 0).all() and (b[k, len(chain_b):] == 0).all()
        np.testing.assert_allclose(table["prediction"], sc.load_predictor("binder").predict(pairs), rtol=1e-5)


@needs("binder_inclusion_siamese")
def test_benchmark_interface_on_binder(tmp_path, capsys):
    assert cli.main(["benchmark", "--predictor", "binder", "--benchmark", "interface", "--methods",
                     "scrambler,saliency", "--n", "16", "--output-dir", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "interface.csv")
    assert "scrambler (inclusion, siamese)" in set(table["method"]) and "saliency" in set(table["method"])
    ok = table.dropna(subset=["mean_ap"])
    assert ((ok["mean_ap"] >= 0) & (ok["mean_ap"] <= 1)).all()
    assert "Interface residues" in capsys.readouterr().out


def test_benchmark_refusals(tmp_path, capsys):
    assert cli.main(["benchmark", "--predictor", "utr5", "--benchmark", "interface",
                     "--output-dir", str(tmp_path)]) == 2
    assert "binder" in capsys.readouterr().err
    assert cli.main(["benchmark", "--predictor", "utr5", "--benchmark", "dropout",
                     "--output-dir", str(tmp_path)]) == 2
    assert "polya grammar" in capsys.readouterr().err


def test_train_scrambler_with_a_template(tmp_path):
    out = tmp_path / "fixed.keras"
    template = "GGG" + "N" * 47
    assert cli.main(["train-scrambler", "--predictor", "utr5", "--n-train", "64", "--epochs", "1",
                     "--template", template, "--output", str(out)]) == 0
    scr = sc.load_scrambler(str(out))
    assert scr.network.template == template
    card = __import__("json").loads(out.with_suffix(".json").read_text())
    assert card["settings"]["template"] == template and "--template" in card["command"]
    seqs = ["GGG" + s[3:] for s in synthetic.random_sequences(4, 50, np.random.default_rng(0))]
    ex = scr.explain(seqs, target_bits=0.5, n_samples=8)
    assert (ex.importance[:, :3] == 0).all() and ex.fixed[:3].all() and not ex.fixed[3:].any()
    assert (ex.samples[:, :, :3].argmax(-1) == 2).all()
