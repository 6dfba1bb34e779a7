"""Strand-aware BED regions for VCF batch scoring (issue 20): windows read 5'->3' on the region's strand."""
from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

import scrambler_core as sc
from scrambler_core.batch import read_records, read_results, run_batch
from scrambler_core.genome.regions import read_regions
from scrambler_core.sequences import SequenceError

L = 50
RNG = np.random.default_rng(20)
CONTIG = "".join(RNG.choice(list("ACGT"), 300))
PAIR = {"A": "T", "C": "G", "G": "C", "T": "A"}


def revcomp(seq: str) -> str:
    """Written out here, independent of the package's reverse_complement."""
    return "".join(PAIR[c] for c in seq[::-1])


def other(letter: str) -> str:
    return "C" if letter != "C" else "G"


BED = ("track name=test\n# a comment\nbrowser position chr1:1-300\n"
       "chr1\t40\t90\tfwd\t0\t+\n"
       "chr1\t60\t110\trev\t0\t-\n"
       "1\t200\t250\tsolo\t0\t-\n")


@pytest.fixture(scope="module")
def utr5():
    return sc.load_predictor("utr5")


@pytest.fixture
def files(tmp_path):
    (tmp_path / "ref.fa").write_text(">chr1\n" + CONTIG + "\n")
    (tmp_path / "regions.bed").write_text(BED)
    snv70, snv220, snv150 = other(CONTIG[69]), other(CONTIG[219]), other(CONTIG[149])
    lines = [f"chr1\t70\tboth\t{CONTIG[69]}\t{snv70}\t.\tPASS\t.",
             f"chr1\t220\tminus_snv\t{CONTIG[219]}\t{snv220}\t.\tq10;lowDP\t.",
             f"chr1\t150\toutside\t{CONTIG[149]}\t{snv150}\t.\tPASS\t.",
             f"chr1\t225\tminus_del\t{CONTIG[224:227]}\t{CONTIG[224]}\t.\t.\t.",
             f"chr1\t230\tminus_ins\t{CONTIG[229]}\t{CONTIG[229]}GG\t.\tPASS\t.",
             f"chr1\t249\tpast_region\t{CONTIG[248:251]}\tA\t.\tPASS\t."]
    (tmp_path / "v.vcf").write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                                    + "\n".join(lines) + "\n")
    return tmp_path


def test_regions_are_found_by_position(files):
    regions = read_regions(files / "regions.bed", L)
    assert regions.count == 3
    assert [r.name for r in regions.containing("chr1", 70)] == ["fwd", "rev"]
    assert [r.name for r in regions.containing("chr1", 41)] == ["fwd"]       # first base of 40-90 (0-based start)
    assert regions.containing("chr1", 40) == []
    assert [r.name for r in regions.containing("chr1", 110)] == ["rev"]      # last base
    assert regions.containing("chr1", 111) == [] and regions.containing("chr2", 70) == []
    assert [r.name for r in regions.containing("1", 201)] == ["solo"]        # chr prefix ignored


@pytest.mark.parametrize("line, fragment", [
    ("chr1\t40\t95\tlong\t0\t+", "line 2: region chr1:40-95 is 55 nucleotides long; every region must be exactly 50"),
    ("chr1\t40\t90\tnostrand\t0\t.", "line 2: strand must be '+' or '-', got '.'"),
    ("chr1\t40\t90", "line 2: 3 columns; a region needs the 6 BED6 columns"),
    ("chr1\tforty\t90\tx\t0\t+", "line 2: start and end must be whole numbers"),
])
def test_a_bad_bed_line_is_named(tmp_path, line, fragment):
    (tmp_path / "r.bed").write_text("chr1\t0\t50\tok\t0\t+\n" + line + "\n")
    with pytest.raises(SequenceError) as info:
        read_regions(tmp_path / "r.bed", L)
    assert str(info.value).startswith("r.bed: ") and fragment in str(info.value), str(info.value)


def test_windows_follow_the_region_strand(files, utr5):
    _, rows = read_records(files / "v.vcf", utr5, fasta=files / "ref.fa", regions=files / "regions.bed")
    by = {(r["id"], r["region"]): r for r in rows}
    assert [(r["id"], r["region"], r["strand"]) for r in rows][:3] == [
        ("both", "fwd", "+"), ("both", "rev", "-"), ("minus_snv", "solo", "-")]
    fwd, rev = by[("both", "fwd")], by[("both", "rev")]
    assert fwd["ref_sequence"] == CONTIG[40:90] and (fwd["window_start"], fwd["window_end"]) == (41, 90)
    assert fwd["alt_sequence"] == CONTIG[40:69] + other(CONTIG[69]) + CONTIG[70:90]
    assert rev["ref_sequence"] == revcomp(CONTIG[60:110]) and (rev["window_start"], rev["window_end"]) == (61, 110)
    assert rev["alt_sequence"] == revcomp(CONTIG[60:69] + other(CONTIG[69]) + CONTIG[70:110])
    # genomic 70 is window position 110 - 70 + 1 = 41 on the minus strand, holding the complement of ALT
    assert rev["alt_sequence"][40] == PAIR[other(CONTIG[69])] and rev["ref"] == CONTIG[69]
    snv = by[("minus_snv", "solo")]
    assert snv["filter"] == "q10;lowDP" and snv["pos"] == 220 and snv["chrom"] == "chr1"
    assert snv["alt_sequence"] == revcomp(CONTIG[200:219] + other(CONTIG[219]) + CONTIG[220:250])
    # minus-strand deletion: the 5' end (genomic end 250) stays, the 3' end is refilled from before 201
    deletion = by[("minus_del", "solo")]
    assert deletion["alt_sequence"] == revcomp(CONTIG[198:225] + CONTIG[227:250])
    assert deletion["ref_sequence"] == revcomp(CONTIG[200:250]) and deletion["filter"] == "."
    # minus-strand insertion: two genomic letters at the 3' end (genomic start) are cut
    insertion = by[("minus_ins", "solo")]
    assert insertion["alt_sequence"] == revcomp((CONTIG[200:230] + "GG" + CONTIG[230:250])[2:])
    outside = by[("outside", "")]
    assert outside["status"] == "error" and outside["strand"] == "" and outside["ref_sequence"] == ""
    assert outside["message"] == "line 5: no region of regions.bed contains chr1:150"
    past = by[("past_region", "solo")]
    assert past["status"] == "error" and "runs past the end of the 50-letter region solo" in past["message"]
    assert [r["index"] for r in rows] == list(range(len(rows))) == list(range(7))


def test_without_regions_the_strand_is_plus(files, utr5):
    _, rows = read_records(files / "v.vcf", utr5, fasta=files / "ref.fa")
    assert {(r["strand"], r["region"]) for r in rows} == {("+", "")}
    assert rows[0]["ref_sequence"] == CONTIG[69 - L // 2:69 - L // 2 + L]
    with pytest.raises(SequenceError, match="--anchor is not used with --regions"):
        read_records(files / "v.vcf", utr5, fasta=files / "ref.fa", regions=files / "regions.bed", anchor=3)
    (files / "seqs.fa").write_text(">a\n" + CONTIG[:L] + "\n")
    with pytest.raises(SequenceError, match="--regions is only used with a VCF input"):
        read_records(files / "seqs.fa", utr5, regions=files / "regions.bed")


def test_batch_scores_the_minus_strand_window(files, utr5, tmp_path):
    manifest = run_batch(files / "v.vcf", tmp_path / "out.parquet", "utr5", fasta=files / "ref.fa",
                         regions=files / "regions.bed", methods=("saliency",), shard_size=3, progress=False)
    frame = read_results(tmp_path / "out.parquet")
    assert manifest["rows"] == 7 and manifest["status_counts"] == {"ok": 5, "error": 2}
    assert manifest["job"]["regions"].endswith("regions.bed")
    rev = frame[(frame.id == "both") & (frame.region == "rev")].iloc[0]
    expected = utr5.predict([revcomp(CONTIG[60:110]),
                             revcomp(CONTIG[60:69] + other(CONTIG[69]) + CONTIG[70:110])])
    assert rev["ref_prediction"] == pytest.approx(float(expected[0]), abs=1e-5)
    assert rev["alt_prediction"] == pytest.approx(float(expected[1]), abs=1e-5)
    assert (rev["chrom"], rev["pos"], rev["window_start"], rev["window_end"], rev["strand"]) == \
           ("chr1", 70, 61, 110, "-")
    assert list(frame["strand"]) == ["+", "-", "-", "", "-", "-", "-"]
    schema = pq.read_schema(tmp_path / "out.parquet" / "part-00000.parquet")
    assert {"strand", "region", "filter"} <= set(schema.names)
