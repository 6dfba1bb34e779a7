"""Published predictors read from ../shared/external: adapters reproduce the authors' figures.

Every test here is skipped (with the reason) when that folder is absent.
"""
import shutil

import numpy as np
import pandas as pd
import pytest

import scrambler_core as sc
from scrambler_core.hashing import sha256_file
from scrambler_core.predictors import published, registry

OPTIMUS_DIR = "pjsample_human_5utr_modeling/modeling/saved_models"
APARENT2_FILE = ("johli_aparent-resnet/saved_models/"
                 "aparent_all_libs_resnet_no_clinvar_wt_ep_5_var_batch_size_inference_mode_no_drop.h5")
PPI_FILE = ("johli_scrambler/examples/protein/saved_models/ppi_rnn_baker_big_set_5x_negatives_classifier_"
            "symmetric_drop_25_5x_negatives_balanced_partitioned_data_epoch_10.h5")
POINT_SEQUENCES = ["AGAGCTAACTTTTTCACATCCCAGAAGACATCCATGCGGAAAAGGTATAA",
                   "TCACACCGGGAACGAGCAACGCCGGTGCCGGTCTCCCGGATGGGCCCTAC",
                   "CCCCGAAATGGAGACTGTAAAGTTTGAGACTCCCCACACCGGGTATCATA"]


def roc_auc(labels, scores):
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties averaged."""
    labels = np.asarray(labels).astype(bool)
    ranks = pd.Series(scores).rank().to_numpy()
    n_pos, n_neg = labels.sum(), (~labels).sum()
    return (ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def test_roc_auc_hand_computed():
    # pairs (pos, neg): (0.9>0.1) (0.9>0.4) (0.3>0.1) (0.3<0.4) -> 3 of 4
    assert roc_auc([1, 0, 1, 0], [0.9, 0.1, 0.3, 0.4]) == pytest.approx(0.75)


# ----------------------------------------------------------------------------- Optimus 5-Prime

@pytest.fixture(scope="module")
def optimus_test_set(external_dir):
    return pd.read_csv(external_dir / "johli_scrambler/examples/dna/randomSampleTestingAllAUGtypes.csv")


@pytest.mark.parametrize("file_name, expected_z, min_r", [
    ("retrained_evolution_model.hdf5", [-0.645, -1.323, -2.002], 0.94),
    ("evolution_model.hdf5", [-0.162, -1.091, -1.651], 0.95),
])
def test_optimus_point_values_and_correlation(external_dir, optimus_test_set, file_name, expected_z, min_r):
    pred = sc.load_predictor("optimus5", path=external_dir / OPTIMUS_DIR / file_name)
    assert pred.sequence_length == 50 and pred.output_kind == "regression"
    z = pred.zscore_model.predict(pred.to_onehot(POINT_SEQUENCES), verbose=0)[:, 0]
    np.testing.assert_allclose(z, expected_z, atol=1e-3)
    slope, intercept = published.OPTIMUS_MRL_MAP[file_name]
    np.testing.assert_allclose(pred.predict(POINT_SEQUENCES), slope * z + intercept, rtol=1e-5)
    mrl = pred.predict(optimus_test_set["utr"].tolist())
    r = np.corrcoef(mrl, optimus_test_set["rl"])[0, 1]
    assert len(mrl) == 3200 and r >= min_r
    # the linear map puts predictions on the measured MRL scale, not just correlated with it
    assert abs(mrl.mean() - optimus_test_set["rl"].mean()) < 0.3


def test_optimus_found_by_original_name(models_dir):
    pred = sc.load_predictor("optimus5")
    assert pred.path.endswith("retrained_evolution_model.hdf5")
    assert pred.card["weights_sha256"] == sha256_file(pred.path)
    assert "MRL" in pred.description
    assert sc.predictors.list_external().keys() == {"optimus5", "aparent2", "ppi"}


def test_optimus_refuses_wrong_letters(models_dir):
    pred = sc.load_predictor("optimus5")
    with pytest.raises(sc.SequenceError, match="position"):
        pred.predict(["ACGTZ" + "A" * 45])
    with pytest.raises(sc.SequenceError, match="50"):
        pred.predict(["ACGT" * 13])      # 52 nt: the adapter adds ATGG itself


# ----------------------------------------------------------------------------- APARENT2

@pytest.fixture(scope="module")
def aparent2(external_dir):
    return sc.load_predictor("aparent2", path=external_dir / APARENT2_FILE)


def test_aparent2_example_variants_exact(external_dir, aparent2):
    table = pd.read_csv(external_dir / "johli_aparent-resnet/example_variants.csv")
    narrow = aparent2.variant_logodds(table["ref_seq"].tolist(), table["var_seq"].tolist(), "narrow")
    full = aparent2.variant_logodds(table["ref_seq"].tolist(), table["var_seq"].tolist(), "full")
    np.testing.assert_allclose(narrow, table["delta_logodds_narrow_77_127"], atol=1e-4)
    np.testing.assert_allclose(full, table["delta_logodds_full_0_205"], atol=1e-4)


def test_aparent2_isoform_is_the_cleavage_window(aparent2, external_dir):
    table = pd.read_csv(external_dir / "johli_aparent-resnet/example_variants.csv")
    seqs = table["ref_seq"].tolist()
    cut = aparent2.cleavage_profile(seqs)
    assert cut.shape == (3, 206)
    np.testing.assert_allclose(cut.sum(axis=1), 1.0, atol=1e-5)
    iso = aparent2.predict(seqs)
    np.testing.assert_allclose(iso, cut[:, 80:110].sum(axis=1), atol=1e-5)
    # the exact logit (log-odds of the 80:110 window) agrees with the probability
    np.testing.assert_allclose(aparent2.predict_logit(seqs), np.log(iso / (1 - iso)), atol=1e-3)


def test_aparent2_clinvar_correlation(external_dir, aparent2):
    table = pd.read_csv(external_dir / "johli_aparent/analysis/predictions/apa_variant_mpra_clinvar_snvs.csv",
                        sep="\t")
    ref = ["N" * 20 + s + "N" * 21 for s in table["wt_seq"]]
    alt = ["N" * 20 + s + "N" * 21 for s in table["master_seq"]]
    delta = aparent2.variant_logodds(ref, alt, "narrow")
    assert len(delta) == 1818
    assert np.corrcoef(delta, table["delta_logodds_true"])[0, 1] >= 0.8


def test_aparent2_variant_result_reports_narrow_logodds(aparent2, external_dir):
    table = pd.read_csv(external_dir / "johli_aparent-resnet/example_variants.csv")
    ref, alt = table["ref_seq"][1], table["var_seq"][1]
    result = sc.score_variant(aparent2, ref, alt, ism_window=0)
    narrow_ref, narrow_alt, narrow_delta = result.isoform_logodds["narrow"]
    assert narrow_delta == pytest.approx(table["delta_logodds_narrow_77_127"][1], abs=1e-4)
    assert result.isoform_logodds["full"][2] == pytest.approx(table["delta_logodds_full_0_205"][1], abs=1e-4)
    assert narrow_alt - narrow_ref == pytest.approx(narrow_delta)


def test_aparent2_window_names():
    assert published.aparent2_window("narrow") == (77, 127)
    assert published.aparent2_window((0, 206)) == (0, 206)
    with pytest.raises(ValueError, match="narrow"):
        published.aparent2_window("wide")
    with pytest.raises(ValueError, match="0 <= start"):
        published.aparent2_window((10, 5))


# ----------------------------------------------------------------------------- binder (pairs)

def test_ppi_auc_on_test_pairs(external_dir):
    pred = sc.load_predictor("ppi", path=external_dir / PPI_FILE)
    table = pd.read_csv(external_dir / "johli_scrambler/examples/protein/coiled_coil_binders_big_set_test.csv",
                        sep="\t")
    assert len(table) == 4000
    probability = pred.predict(list(zip(table["amino_seq_1"], table["amino_seq_2"])))
    auc = roc_auc(table["interacts"], probability)
    accuracy = ((probability > 0.5) == table["interacts"].astype(bool)).mean()
    # PPI.md reports AUC 0.962 and accuracy 0.845 (three decimals)
    assert round(auc, 3) >= 0.962
    assert round(accuracy, 3) >= 0.845
    swapped = pred.predict(list(zip(table["amino_seq_2"], table["amino_seq_1"])))
    assert round(roc_auc(table["interacts"], swapped), 3) >= 0.959


def test_ppi_input_checks(models_dir):
    pred = sc.load_predictor("ppi")
    assert pred.is_pair and pred.max_length == 81
    with pytest.raises(sc.SequenceError, match="chain b"):
        pred.predict([("LEELLKK", "LEECLKK")])           # no cysteine channel
    with pytest.raises(sc.SequenceError, match="1-81"):
        pred.predict([("L" * 82, "LEELLKK")])
    with pytest.raises(sc.SequenceError, match="two sequences"):
        pred.predict([("LEELLKK",)])
    a, b = pred.to_onehot([("LEEL", "KK")])
    assert a.shape == (1, 81, 20) and a[0, :4].sum() == 4 and a[0, 4:].sum() == 0 and b[0, :2].sum() == 2


# ----------------------------------------------------------------------------- wrong files, missing files

def test_wrong_file_gets_a_clear_message(external_dir, tmp_path):
    with pytest.raises(sc.ModelFileError, match="expected layers"):
        sc.load_predictor("optimus5", path=external_dir / APARENT2_FILE)
    with pytest.raises(sc.ModelFileError, match="expected layers"):
        sc.load_predictor("aparent2", path=external_dir / OPTIMUS_DIR / "evolution_model.hdf5")
    junk = tmp_path / "retrained_evolution_model.hdf5"
    junk.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(sc.ModelFileError, match="not an HDF5"):
        sc.load_predictor("optimus5", path=junk)
    with pytest.raises(sc.ModelFileError, match="not found"):
        sc.load_predictor("aparent2", path=tmp_path / "missing.h5")


def test_missing_models_dir_explains_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.delenv("SCRAMBLER_MODELS_DIR", raising=False)
    with pytest.raises(sc.ModelFileError, match="SCRAMBLER_MODELS_DIR is not set") as info:
        sc.load_predictor("aparent2")
    assert "aparent-resnet" in str(info.value)
    monkeypatch.setenv("SCRAMBLER_MODELS_DIR", str(tmp_path))
    assert sc.predictors.list_external() == {}
    with pytest.raises(sc.ModelFileError, match="holds no retrained_evolution_model.hdf5"):
        sc.load_predictor("optimus5")


def test_found_in_subfolders_preferred_file_first(external_dir, tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    shutil.copy(external_dir / OPTIMUS_DIR / "evolution_model.hdf5", tmp_path / "a" / "b")
    assert registry.find_model_file("optimus5", tmp_path).name == "evolution_model.hdf5"
    shutil.copy(external_dir / OPTIMUS_DIR / "retrained_evolution_model.hdf5", tmp_path / "a")
    assert registry.find_model_file("optimus5", tmp_path).name == "retrained_evolution_model.hdf5"
    assert registry.find_model_file("ppi", tmp_path) is None


# ----------------------------------------------------------------------------- command line

def test_cli_predict_pairs_and_refusals(models_dir, tmp_path, capsys):
    from scrambler_core.cli import main
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("id,sequence_a,sequence_b\np1,LEELLKKNEELLKKNEELLKK,KKLLEEKKLLEEKKLLEE\n"
                     "p2,VKELLEKLKENL,EVKELLEKL\n")
    out = tmp_path / "out.csv"
    assert main(["predict", "--predictor", "ppi", "--input", str(pairs), "--output", str(out)]) == 0
    table = pd.read_csv(out)
    expected = sc.load_predictor("ppi").predict(list(zip(table["sequence_a"], table["sequence_b"])))
    np.testing.assert_allclose(table["prediction"], expected, rtol=1e-5)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,sequence_a,sequence_b\np1,LEECLKK,KKLLEE\n")
    assert main(["predict", "--predictor", "ppi", "--input", str(bad), "--output", str(out)]) == 2
    assert "'C' at position 4" in capsys.readouterr().err
    assert main(["attribute", "--predictor", "ppi", "--method", "ism", "--input", str(pairs),
                 "--output", str(out)]) == 2
    assert "pair predictor" in capsys.readouterr().err
    assert main(["predict", "--predictor", "ppi", "--input", str(pairs), "--column", "a,b",
                 "--output", str(out)]) == 2
    assert "no column 'a'" in capsys.readouterr().err


def test_cli_predict_optimus_by_model_path(external_dir, tmp_path, monkeypatch):
    from scrambler_core.cli import main
    monkeypatch.delenv("SCRAMBLER_MODELS_DIR", raising=False)
    seqs = tmp_path / "utrs.txt"
    seqs.write_text("\n".join(POINT_SEQUENCES) + "\n")
    out = tmp_path / "mrl.csv"
    model = external_dir / OPTIMUS_DIR / "evolution_model.hdf5"
    assert main(["predict", "--predictor", "optimus5", "--model-path", str(model), "--input", str(seqs),
                 "--output", str(out)]) == 0
    z = np.array([-0.162, -1.091, -1.651])
    np.testing.assert_allclose(pd.read_csv(out)["prediction"], 1.74 * z + 6.40, atol=3e-3)
    assert main(["predict", "--predictor", "optimus5", "--input", str(seqs), "--output", str(out)]) == 2


# ----------------------------------------------------------------------------- pretrained scramblers

def test_scrambler_chosen_by_weights_sha(external_dir):
    retrained = external_dir / OPTIMUS_DIR / "retrained_evolution_model.hdf5"
    scrambler = sc.load_scrambler("optimus5", mode="inclusion", path=retrained)
    sha = sha256_file(retrained)
    assert scrambler.card["predictor_sha256"] == sha
    assert scrambler.path.endswith(f"optimus5-{sha[:16]}_inclusion.keras")
    assert scrambler.predictor.path == str(retrained)


def test_scrambler_refuses_other_weights(external_dir):
    evolution = external_dir / OPTIMUS_DIR / "evolution_model.hdf5"
    with pytest.raises(sc.ModelFileError, match="no pretrained inclusion scrambler matches") as info:
        sc.load_scrambler("optimus5", mode="inclusion", path=evolution)
    assert "retrained_evolution_model.hdf5" in str(info.value)       # names what it was trained against
    assert "train-scrambler --predictor optimus5 --model-path" in str(info.value)
    trained = sc.load_scrambler("optimus5", mode="inclusion",
                                path=external_dir / OPTIMUS_DIR / "retrained_evolution_model.hdf5")
    with pytest.raises(sc.ModelFileError, match="was trained against"):
        sc.load_scrambler(trained.path, predictor=sc.load_predictor("optimus5", path=evolution))


QUALITY = [
    # name, mode, bits, check
    ("optimus5", "inclusion", 0.5, 0.75),      # R² of original vs mean sample prediction
    # aparent2 inclusion, measured here 0.871 / 0.900 / 0.954 at 0.25 / 0.5 / 1 bits (stage 2, the signed guide;
    # the gradient-guided stage 1 before it: 0.635 / 0.808 / 0.950, the unguided stage 1: 0.334 / 0.430 / 0.664,
    # stage 0: 0.244 / 0.340 / 0.508). Issue 17's targets are 0.6 / 0.8 on 512 windows (docs/attribution_quality.md)
    ("aparent2", "inclusion", 0.25, 0.8),
    ("aparent2", "inclusion", 0.5, 0.85),
    ("aparent2", "inclusion", 1.0, 0.9),
    ("optimus5", "occlusion", 1.0, 1.0),       # median |original - mean sample prediction| (MRL)
    ("aparent2", "occlusion", 1.0, 0.08),      # same, isoform proportion
]


@pytest.mark.parametrize("name, mode, bits, threshold", QUALITY)
def test_pretrained_scrambler_on_held_out(models_dir, name, mode, bits, threshold):
    from scrambler_core.scrambler.recipes import training_sequences
    scrambler = sc.load_scrambler(name, mode=mode)
    held_out = training_sequences(name, 128, seed=4242)         # not a training seed
    explanation = scrambler.explain(held_out, target_bits=bits, n_samples=32, seed=1)
    original, mean_sample = explanation.prediction, explanation.mean_sample_prediction
    if mode == "inclusion":
        r2 = 1 - np.sum((original - mean_sample) ** 2) / np.sum((original - original.mean()) ** 2)
        assert r2 >= threshold
    else:
        assert np.median(np.abs(original - mean_sample)) >= threshold
    for target in (0.25, 0.5, 1.0):                             # realised bits track the request
        realised = scrambler.explain(held_out[:16], target_bits=target, n_samples=1).conservation.mean()
        assert abs(realised - target) < 0.08


def _table_d(predictor, methods):
    from scrambler_core import benchmarks
    table, _ = benchmarks.recall_benchmark(predictor, methods=methods, n=512)   # held-out seeds 2035 / 2046
    return {(r.method, f"{r.n_starts}/{r.n_stops}"): (r.start_recall, r.stop_recall) for r in table.itertuples()}


def test_optimus5_inclusion_scrambler_reaches_the_paper_table_d(models_dir):
    """Paper Table D, Scrambler (high penalty): 0.88 / 0.84 (1 start / 1 stop) and 0.75 / 0.70 (2 / 2), top 6.

    ``sc.attribute(pred, seqs, "scrambler")`` with its defaults on 512 held-out UTRs per setting (the
    network never saw these seeds). Measured when committed: 0.994 / 0.955 and 0.889 / 0.873.
    """
    recall = _table_d(sc.load_predictor("optimus5"), ("scrambler",))
    start, stop = recall["scrambler", "1/1"]
    assert start >= 0.88 and stop >= 0.84, recall
    start, stop = recall["scrambler", "2/2"]
    assert start >= 0.75 and stop >= 0.70, recall
