"""``tracks`` and ``motifs`` (issue 20): genome-browser tracks and TF-MoDISco from a batch output folder."""
from __future__ import annotations

import numpy as np
import pyBigWig
import pytest

from scrambler_core import cli, examples, synthetic
from scrambler_core.batch import read_results, run_batch


@pytest.fixture(scope="module")
def vcf_results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vcf")
    example = examples.batch_example("utr5")
    (folder / "ref.fa").write_text(example.fasta)
    (folder / "variants.vcf").write_text(example.vcf)
    run_batch(folder / "variants.vcf", folder / "results", "utr5", fasta=folder / "ref.fa", methods=("ism",),
              anchor=example.anchor, progress=False)
    return folder


@pytest.fixture(scope="module")
def pas_results(tmp_path_factory):
    """A FASTA batch (polya, ISM) of 200 windows with AATAAA planted in the PAS window (seed used nowhere else)."""
    folder = tmp_path_factory.mktemp("pas")
    rng = np.random.default_rng(20211)
    seqs = synthetic.random_sequences(200, synthetic.POLYA_LENGTH, rng)
    seqs = [s[:k] + "AATAAA" + s[k + 6:] for s, k in zip(seqs, rng.integers(60, 85, len(seqs)))]
    (folder / "pas.fa").write_text("".join(f">s{k}\n{s}\n" for k, s in enumerate(seqs)))
    run_batch(folder / "pas.fa", folder / "results", "polya", methods=("ism",), progress=False)
    return folder


def test_tracks_writes_bigwigs_and_lists_them(vcf_results, tmp_path, capsys):
    status = cli.main(["tracks", str(vcf_results / "results"), "--output", str(tmp_path / "tracks"),
                       "--fasta", str(vcf_results / "ref.fa")])
    out, err = capsys.readouterr()
    assert status == 0, err
    written = out.split()
    assert str(tmp_path / "tracks" / "delta_prediction.bw") in written
    assert str(tmp_path / "tracks" / "ism_ref_importance.bw") in written
    assert "File > Load from File" in err and "chromosome sizes of ref.fa" in err
    frame = read_results(vcf_results / "results").set_index("id")
    snv = frame.loc["ex2_snv"]
    bw = pyBigWig.open(str(tmp_path / "tracks" / "delta_prediction.bw"))
    assert bw.values("chrDemo", snv.pos - 1, snv.pos)[0] == pytest.approx(snv.delta_prediction, rel=1e-6)
    bw.close()


def test_tracks_bedgraph_with_chosen_columns(vcf_results, tmp_path, capsys):
    status = cli.main(["tracks", str(vcf_results / "results"), "--output", str(tmp_path), "--format", "bedgraph",
                       "--columns", "delta_prediction, ism_ref_importance"])
    assert status == 0, capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["delta_prediction.bedgraph", "ism_ref_importance.bedgraph"]
    first = (tmp_path / "ism_ref_importance.bedgraph").read_text().splitlines()[:2]
    assert first[0].startswith('track type=bedGraph name="ism_ref_importance"')
    assert first[1].split("\t")[:2] == ["chrDemo", "50"]         # window 51-100 of the first variant, 0-based


def test_tracks_bad_input_is_one_line_and_exit_2(vcf_results, pas_results, tmp_path, capsys):
    cases = [
        (["tracks", str(pas_results / "results"), "--output", str(tmp_path)],
         "error: tracks need a VCF batch result with genomic coordinates"),
        (["tracks", str(tmp_path / "missing"), "--output", str(tmp_path)], "is not a batch output folder"),
        (["tracks", str(vcf_results / "results"), "--output", str(tmp_path), "--columns", "ism_importance"],
         "has no score column 'ism_importance'"),
        (["tracks", str(vcf_results / "results"), "--output", str(tmp_path), "--fasta", str(tmp_path / "no.fa")],
         "reference FASTA not found: no.fa"),
    ]
    for argv, message in cases:
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


@pytest.mark.slow
def test_motifs_finds_the_planted_pas_and_writes_the_report(pas_results, tmp_path, capsys):
    status = cli.main(["motifs", str(pas_results / "results"), "--output", str(tmp_path / "m")])
    out, err = capsys.readouterr()
    assert status == 0, err
    lines = out.splitlines()
    pattern, seqlets, consensus = lines[1].split("\t")
    assert pattern == "pos_patterns.pattern_0" and consensus == "AATAAA" and int(seqlets.split()[0]) >= 150
    assert f"report: {tmp_path / 'm' / 'report' / 'report.html'}" in lines
    assert "200 sequences of 205 letters, scores: ism" in err and "modisco motifs -s" in err
    for name in ("ohe.npz", "contrib.npz", "modisco_results.h5", "report/report.html"):
        assert (tmp_path / "m" / name).exists(), name


@pytest.mark.slow
def test_motifs_with_a_predictor_uses_full_ism(pas_results, tmp_path, capsys):
    status = cli.main(["motifs", str(pas_results / "results"), "--output", str(tmp_path), "--predictor", "polya",
                       "--no-report", "--max-seqlets", "500"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "ISM of polya" in err and out.splitlines()[1].endswith("\tAATAAA")
    assert not (tmp_path / "report").exists()
    contrib = np.load(tmp_path / "contrib.npz")["arr_0"]
    assert contrib.shape == (200, 4, 205)
    np.testing.assert_allclose(contrib.sum(1), 0, atol=1e-5)     # every letter scored, centred per position


def test_motifs_bad_input_is_one_line_and_exit_2(vcf_results, pas_results, tmp_path, capsys):
    results = str(pas_results / "results")
    cases = [
        (["motifs", results, "--output", str(tmp_path), "--column", "ism", "--predictor", "polya"],
         "give --column (stored scores) or --predictor"),
        (["motifs", results, "--output", str(tmp_path), "--column", "saliency"], "has no scores for 'saliency'"),
        (["motifs", results, "--output", str(tmp_path), "--window", "300"], "--window 300 does not fit"),
        (["motifs", str(tmp_path / "missing"), "--output", str(tmp_path)], "is not a batch output folder"),
        (["motifs", str(vcf_results / "results"), "--output", str(tmp_path), "--max-seqlets", "0"],
         "--max-seqlets must be at least 1"),
    ]
    for argv, message in cases:
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_help_names_the_outputs(capsys):
    for command, text in (("tracks", "File > Load from File"), ("motifs", "modisco_results.h5")):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        assert text in " ".join(capsys.readouterr().out.split())
