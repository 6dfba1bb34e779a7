"""TF-MoDISco hand-off (issue 20): the npz layout modisco-lite reads, and a run that finds a planted PAS."""
from __future__ import annotations

import time

import h5py
import numpy as np
import pytest
from modiscolite.cli import _load_input

import scrambler_core as sc
from scrambler_core import synthetic
from scrambler_core.batch import read_results, run_batch
from scrambler_core.exports.modisco import (contributions_from_results, default_window, export_modisco,
                                            ism_hypothetical, run_modisco, summarise_modisco)

PAS = "AATAAA"        # the polya grammar's strongest PAS hexamer (synthetic._pas_score: +3.0)
N_SEQUENCES = 200


def _planted_pas(n, seed=20207):
    """Random 205-nt polya windows with AATAAA planted in the PAS window [60, 90) (seed used nowhere else)."""
    rng = np.random.default_rng(seed)
    seqs = synthetic.random_sequences(n, synthetic.POLYA_LENGTH, rng)
    starts = rng.integers(synthetic.PAS_WINDOW[0], synthetic.PAS_WINDOW[1] - len(PAS) + 1, n)
    return [s[:k] + PAS + s[k + len(PAS):] for s, k in zip(seqs, starts)]


@pytest.fixture(scope="module")
def polya():
    return sc.load_predictor("polya")


def test_export_is_the_length_last_layout_modisco_reads(tmp_path):
    rng = np.random.default_rng(3)
    x = sc.one_hot(["".join(rng.choice(list("ACGT"), 30)) for _ in range(5)])
    hypothetical = rng.normal(size=x.shape).astype(np.float32)
    paths = export_modisco(x, hypothetical, tmp_path)
    assert paths == {"ohe": tmp_path / "ohe.npz", "contrib": tmp_path / "contrib.npz"}
    ohe, contrib = _load_input(paths["ohe"]), _load_input(paths["contrib"])    # as `modisco motifs -s -a` reads
    assert ohe.shape == contrib.shape == (5, 4, 30) and ohe.dtype == np.float32
    np.testing.assert_array_equal(ohe.transpose(0, 2, 1), x)
    np.testing.assert_array_equal(contrib.transpose(0, 2, 1), hypothetical)


def test_bad_arrays_and_windows_are_refused(tmp_path):
    x = sc.one_hot(["ACGT" * 5, "TTGA" * 5])
    with pytest.raises(ValueError, match=r"hypothetical contributions have shape \(2, 19, 4\)"):
        export_modisco(x, np.zeros((2, 19, 4)), tmp_path)
    with pytest.raises(ValueError, match=r"DNA one-hot sequences of shape \(N, L, 4\)"):
        export_modisco(np.zeros((2, 20, 20)), np.zeros((2, 20, 20)), tmp_path)
    with pytest.raises(ValueError, match="NaN"):
        export_modisco(x, np.full(x.shape, np.nan), tmp_path)
    with pytest.raises(ValueError, match="--window 30 does not fit the 20-letter sequences .at most 20"):
        run_modisco(x, np.zeros(x.shape), tmp_path, window=30)
    assert default_window(205) == 204 and default_window(50) == 50


def test_ism_hypothetical_contributions_project_onto_ism(polya):
    seqs = _planted_pas(3, seed=20208)
    hypothetical = ism_hypothetical(polya, seqs)
    x = polya.to_onehot(seqs)
    assert hypothetical.shape == x.shape == (3, 205, 4)
    np.testing.assert_allclose(hypothetical.sum(-1), 0, atol=1e-5)          # centred over the letters
    # on the observed letter: (A-1)/A of ISM's score (f(x) minus the mean of the 3 substitutions)
    ism = sc.attribute(polya, seqs, "ism").sum(-1)
    np.testing.assert_allclose((hypothetical * x).sum(-1), ism * 3 / 4, atol=1e-5)


@pytest.mark.slow
def test_modisco_finds_the_planted_pas_first(polya, tmp_path):
    seqs = _planted_pas(N_SEQUENCES)
    x = polya.to_onehot(seqs)
    hypothetical = ism_hypothetical(polya, seqs)
    started = time.perf_counter()
    out = run_modisco(x, hypothetical, tmp_path, report=False)
    seconds = time.perf_counter() - started
    first = out["patterns"][0]
    print(f"modisco-lite on {N_SEQUENCES} x 205: {seconds:.1f} s; first pattern {first['consensus']} "
          f"({first['n_seqlets']} seqlets)")
    assert first["pattern"] == "pos_patterns.pattern_0"
    assert first["consensus"] == PAS
    assert first["n_seqlets"] >= 0.8 * N_SEQUENCES                # nearly every planted PAS is a seqlet
    with h5py.File(out["h5"], "r") as h5:
        assert int(h5.attrs["window_size"]) == out["window"] == 204
        assert "pos_patterns/pattern_0/seqlets" in h5
    assert summarise_modisco(out["h5"])[0]["consensus"] == PAS
    assert out["report"] is None and out["ohe"].exists() and out["contrib"].exists()


@pytest.mark.slow
def test_stored_batch_scores_find_the_pas_too(polya, tmp_path):
    seqs = _planted_pas(N_SEQUENCES, seed=20209)
    (tmp_path / "pas.fa").write_text("".join(f">s{k}\n{s}\n" for k, s in enumerate(seqs)))
    run_batch(tmp_path / "pas.fa", tmp_path / "results", "polya", methods=("ism",), progress=False)
    frame = read_results(tmp_path / "results")
    x, hypothetical, what = contributions_from_results(frame)
    assert "ism" in what and x.shape == (N_SEQUENCES, 205, 4)
    # the projection modisco makes gives back the stored scores
    np.testing.assert_allclose((x * hypothetical).sum(-1), np.stack(frame["ism_importance"]), atol=1e-6)
    out = run_modisco(x, hypothetical, tmp_path / "modisco")
    assert out["patterns"][0]["consensus"] == PAS          # read on the sequences' strand
    assert out["report"] == tmp_path / "modisco" / "report" / "report.html" and out["report"].exists()
    assert list((tmp_path / "modisco" / "report" / "logos").rglob("*.png"))
    with pytest.raises(ValueError, match="has no scores for 'scrambler_0.5'; it has ism"):
        contributions_from_results(frame, column="scrambler_0.5")
