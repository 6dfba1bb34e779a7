"""`batch --regions` (strand-aware windows) and `batch --strict` on the command line (issue 20)."""
from __future__ import annotations

import numpy as np
import pytest

from scrambler_core import cli
from scrambler_core.batch import read_results
from scrambler_core.paths import PRETRAINED_DIR

needs_scrambler = pytest.mark.skipif(not (PRETRAINED_DIR / "utr5_inclusion.keras").exists(),
                                     reason="pretrained/utr5_inclusion.keras is not trained in this checkout")
CONTIG = "".join(np.random.default_rng(3).choice(list("ACGT"), 400))
PAIR = {"A": "T", "C": "G", "G": "C", "T": "A"}
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def revcomp(seq):
    return "".join(PAIR[c] for c in reversed(seq))


def other(letter):
    return "C" if letter != "C" else "G"


@pytest.fixture
def inputs(tmp_path):
    (tmp_path / "ref.fa").write_text(">chr7\n" + CONTIG + "\n")
    (tmp_path / "r.bed").write_text("track name=utr\nchr7\t100\t150\tutr_minus\t0\t-\nchr7\t300\t350\tutr_plus\t0\t+\n")
    lines = [f"chr7\t120\tm1\t{CONTIG[119]}\t{other(CONTIG[119])}\t.\tPASS\t.",
             f"chr7\t320\tp1\t{CONTIG[319]}\t{other(CONTIG[319])}\t.\tlowDP\t.",
             f"chr7\t200\tnowhere\t{CONTIG[199]}\t{other(CONTIG[199])}\t.\tPASS\t."]
    (tmp_path / "v.vcf").write_text(HEADER + "\n".join(lines) + "\n")
    return tmp_path


def _batch(folder, *extra):
    return cli.main(["batch", "--predictor", "utr5", "--input", str(folder / "v.vcf"), "--fasta",
                     str(folder / "ref.fa"), "--output", str(folder / "out.parquet"), "--n-samples", "4",
                     "--no-progress", *extra])


@needs_scrambler
def test_batch_regions_reads_each_window_on_its_strand(inputs, capsys):
    assert _batch(inputs, "--regions", str(inputs / "r.bed")) == 0
    assert "3 rows (2 ok, 1 error)" in capsys.readouterr().err
    frame = read_results(inputs / "out.parquet").set_index("id")
    minus = frame.loc["m1"]
    assert (minus["strand"], minus["region"], minus["window_start"], minus["window_end"]) == ("-", "utr_minus", 101, 150)
    assert minus["ref_sequence"] == revcomp(CONTIG[100:150])
    assert minus["alt_sequence"] == revcomp(CONTIG[100:119] + other(CONTIG[119]) + CONTIG[120:150])
    assert (frame.loc["p1", "strand"], frame.loc["p1", "filter"]) == ("+", "lowDP")
    assert frame.loc["p1", "ref_sequence"] == CONTIG[300:350]
    assert frame.loc["nowhere", "message"] == "line 5: no region of r.bed contains chr7:200"


@needs_scrambler
def test_batch_strict_stops_at_the_first_bad_row(inputs, capsys):
    text = (inputs / "v.vcf").read_text().replace(f"\t{CONTIG[319]}\t", f"\t{other(CONTIG[319])}\t", 1)
    (inputs / "v.vcf").write_text(text)
    assert _batch(inputs, "--strict") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: v.vcf: line 4: REF ") and "does not match" in err[0], err
    assert not (inputs / "out.parquet").exists()


@pytest.mark.parametrize("bed, message", [
    ("chr7\t100\t155\tlong\t0\t-\n", "error: r.bed: line 1: region chr7:100-155 is 55 nucleotides long"),
    ("chr7\t100\t150\tx\t0\t*\n", "error: r.bed: line 1: strand must be '+' or '-', got '*'"),
])
def test_batch_bad_regions_is_one_line(inputs, capsys, bed, message):
    (inputs / "r.bed").write_text(bed)
    assert _batch(inputs, "--regions", str(inputs / "r.bed")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(message), err
