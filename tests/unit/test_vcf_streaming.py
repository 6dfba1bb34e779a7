"""Streamed VCF/BCF input (issue 20): bounded memory, FILTER, BCF through cyvcf2, --strict, resume, provenance."""
from __future__ import annotations

import gzip
import json
import tracemalloc

import numpy as np
import pyarrow.parquet as pq
import pytest

from scrambler_core.batch import BatchError, read_records, read_results, run_batch
from scrambler_core.provenance import METADATA_KEY
from scrambler_core.sequences import SequenceError

L = 50
RNG = np.random.default_rng(7)
CONTIG = "".join(RNG.choice(list("ACGT"), 2000))
HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=2000>\n"
          "##FILTER=<ID=q10,Description=\"low quality\">\n##FILTER=<ID=lowDP,Description=\"low depth\">\n"
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")


def other(letter: str) -> str:
    return "C" if letter != "C" else "G"


def snv_lines(positions, filters=("PASS",)):
    return [f"chr1\t{p}\tv{p}\t{CONTIG[p - 1]}\t{other(CONTIG[p - 1])}\t.\t{filters[k % len(filters)]}\t."
            for k, p in enumerate(positions)]


@pytest.fixture
def reference(tmp_path):
    path = tmp_path / "ref.fa"
    path.write_text(">chr1\n" + "\n".join(CONTIG[k:k + 60] for k in range(0, len(CONTIG), 60)) + "\n")
    return path


def test_filter_column_and_rows_match_the_list(tmp_path, reference):
    lines = snv_lines([100, 200, 300], filters=("PASS", "q10;lowDP", "."))
    lines.append(f"chr1\t400\tmulti\t{CONTIG[399]}\tA,C,G,T\t.\tPASS\t.")
    (tmp_path / "v.vcf").write_text(HEADER + "\n".join(lines) + "\n")
    streamed = read_records(tmp_path / "v.vcf", "dna", fasta=reference, length=L, stream=True)
    first, second = list(streamed.rows), list(streamed.rows)            # every pass reads the file afresh
    whole = read_records(tmp_path / "v.vcf", "dna", fasta=reference, length=L).rows
    assert first == second == whole and isinstance(whole, list) and not isinstance(streamed.rows, list)
    assert [r["filter"] for r in whole[:3]] == ["PASS", "q10;lowDP", "."]
    assert [r["index"] for r in whole] == list(range(7)) and [r["allele_index"] for r in whole[3:]] == [1, 2, 3, 4]
    ref_is_alt = next(r for r in whole[3:] if r["alt"] == CONTIG[399])
    assert ref_is_alt["status"] == "ok" and ref_is_alt["ref_sequence"] == ref_is_alt["alt_sequence"]
    # bgzip (cyvcf2 writes BGZF) and plain gzip read the same rows
    (tmp_path / "v.vcf.gz").write_bytes(gzip.compress((HEADER + "\n".join(lines) + "\n").encode()))
    assert read_records(tmp_path / "v.vcf.gz", "dna", fasta=reference, length=L).rows == whole


def _write_with_cyvcf2(source, target, mode):
    cyvcf2 = pytest.importorskip("cyvcf2")
    reader = cyvcf2.VCF(str(source))
    writer = cyvcf2.Writer(str(target), reader, mode=mode)
    for variant in reader:
        writer.write_record(variant)
    writer.close()
    reader.close()


def test_bcf_and_bgzip_through_htslib(tmp_path, reference):
    lines = snv_lines([100, 200], filters=("PASS", "q10;lowDP"))
    lines.append(f"chr1\t300\tmismatch\t{other(CONTIG[299])}\tA\t.\t.\t.")
    (tmp_path / "v.vcf").write_text(HEADER + "\n".join(lines) + "\n")
    _write_with_cyvcf2(tmp_path / "v.vcf", tmp_path / "v.bcf", "wb")
    _write_with_cyvcf2(tmp_path / "v.vcf", tmp_path / "v.vcf.gz", "wz")
    text = read_records(tmp_path / "v.vcf", "dna", fasta=reference, length=L).rows
    bcf = read_records(tmp_path / "v.bcf", "dna", fasta=reference, length=L).rows
    bgzip = read_records(tmp_path / "v.vcf.gz", "dna", fasta=reference, length=L).rows
    def content(rows):                       # htslib adds a ##FILTER=<ID=PASS> line: records move down one line
        return [{k: v for k, v in r.items() if k not in ("record", "message")} for r in rows]

    assert content(bgzip) == content(text) and bgzip[2]["message"].startswith("line 9: REF")
    assert [r["filter"] for r in bcf] == ["PASS", "q10;lowDP", "."]
    assert [(r["id"], r["ref_sequence"], r["alt_sequence"], r["status"]) for r in bcf] == \
           [(r["id"], r["ref_sequence"], r["alt_sequence"], r["status"]) for r in text]
    assert bcf[2]["message"].startswith("record 3: REF") and text[2]["message"].startswith("line 8: REF")
    (tmp_path / "broken.bcf").write_bytes((tmp_path / "v.bcf").read_bytes()[:-40])
    with pytest.raises(SequenceError, match="broken.bcf"):
        list(read_records(tmp_path / "broken.bcf", "dna", fasta=reference, length=L).rows)


@pytest.mark.slow
def test_a_long_vcf_streams_in_bounded_memory(tmp_path, reference):
    """100,000 rows: the streamed pass stays under 8 MB of Python allocations, the whole list does not."""
    rows = 100_000
    positions = [L + (k % 1800) for k in range(rows)]
    with open(tmp_path / "long.vcf", "w") as out:
        out.write(HEADER)
        for k, p in enumerate(positions):
            out.write(f"chr1\t{p}\tv{k}\t{CONTIG[p - 1]}\t{other(CONTIG[p - 1])}\t.\tPASS\t.\n")
    bound = 8 * 2 ** 20
    peaks = {}
    for stream in (True, False):
        tracemalloc.start()
        read = read_records(tmp_path / "long.vcf", "dna", fasta=reference, length=L, stream=stream).rows
        count = sum(1 for _ in read)
        peaks[stream] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del read
        assert count == rows
    assert peaks[True] < bound, f"streamed peak {peaks[True] / 2 ** 20:.1f} MB"
    assert peaks[False] > 4 * bound, "the control (every row held) should exceed the bound by far"


def test_strict_stops_at_the_first_bad_row(tmp_path, reference):
    lines = snv_lines([100, 200]) + [f"chr1\t300\tbad\t{other(CONTIG[299])}\tA\t.\tPASS\t."] + snv_lines([400])
    (tmp_path / "v.vcf").write_text(HEADER + "\n".join(lines) + "\n")
    with pytest.raises(SequenceError) as info:
        run_batch(tmp_path / "v.vcf", tmp_path / "out.parquet", "utr5", fasta=reference, methods=("saliency",),
                  strict=True, progress=False)
    assert str(info.value).startswith("v.vcf: line 8: REF ") and "does not match the reference" in str(info.value)
    assert not (tmp_path / "out.parquet").exists()
    manifest = run_batch(tmp_path / "v.vcf", tmp_path / "out.parquet", "utr5", fasta=reference,
                         methods=("saliency",), progress=False)
    assert manifest["status_counts"] == {"ok": 3, "error": 1}
    (tmp_path / "s.fa").write_text(f">a\n{CONTIG[:L]}\n>b\n{CONTIG[:L - 1]}X\n")
    with pytest.raises(SequenceError, match=r"^s.fa: sequence 'b': 'X' at position 50"):
        run_batch(tmp_path / "s.fa", tmp_path / "s.parquet", "utr5", methods=("saliency",), strict=True,
                  progress=False)


def test_streamed_vcf_resumes_with_provenance(tmp_path, reference):
    lines = snv_lines(range(60, 1900, 80))            # 23 rows, 5 shards
    (tmp_path / "v.vcf").write_text(HEADER + "\n".join(lines) + "\n")
    options = dict(fasta=reference, methods=("saliency",), shard_size=5, progress=False)
    whole = run_batch(tmp_path / "v.vcf", tmp_path / "whole.parquet", "utr5", command="batch whole", **options)

    def crash(info):
        if info["shard"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(tmp_path / "v.vcf", tmp_path / "cut.parquet", "utr5", on_shard=crash, **options)
    resumed = run_batch(tmp_path / "v.vcf", tmp_path / "cut.parquet", "utr5", resume=True, command="batch --resume",
                        **options)
    assert resumed["shards_scored_this_run"] == 3 and resumed["rows"] == 23
    assert [s["sha256"] for s in resumed["shards"]] == [s["sha256"] for s in whole["shards"]]
    assert read_results(tmp_path / "cut.parquet").equals(read_results(tmp_path / "whole.parquet"))
    # the manifest holds the full provenance; _job.json (what --resume compares) does not
    written = json.loads((tmp_path / "cut.parquet" / "_manifest.json").read_text())["provenance"]
    assert written["command"] == "batch --resume" and written["created"]
    assert written["predictor"]["weights_sha256"] == whole["provenance"]["predictor"]["weights_sha256"]
    assert len(written["predictor"]["weights_sha256"]) == 64 and written["versions"]["numpy"] == np.__version__
    assert written["settings"]["records_sha256"] == resumed["job"]["records_sha256"]
    assert "provenance" not in json.loads((tmp_path / "cut.parquet" / "_job.json").read_text())
    for shard in sorted((tmp_path / "cut.parquet").glob("part-*.parquet")):
        stored = json.loads(pq.read_schema(shard).metadata[METADATA_KEY])
        assert stored["predictor"] == written["predictor"] and stored["versions"] == written["versions"]
        assert "created" not in stored and stored["settings"]["input"].endswith("v.vcf")
    # a changed input is refused on resume (the records digest), whatever the provenance time
    (tmp_path / "v.vcf").write_text(HEADER + "\n".join(lines[:-1]) + "\n")
    with pytest.raises(BatchError, match="rows"):
        run_batch(tmp_path / "v.vcf", tmp_path / "cut.parquet", "utr5", resume=True, **options)


def test_a_header_contig_of_another_length_is_another_build(tmp_path, reference):
    """##contig lengths are compared with the reference: a VCF of another build is refused, as a whole."""
    lines = "\n".join(snv_lines([100, 200])) + "\n"
    (tmp_path / "ok.vcf").write_text(HEADER.replace("ID=chr1", "ID=1") + lines)          # chr1 and 1 match
    assert [r["status"] for r in read_records(tmp_path / "ok.vcf", "dna", fasta=reference, length=L).rows] == \
        ["ok", "ok"]
    other_build = HEADER.replace("length=2000>\n", "length=2500>\n##contig=<ID=chrUn,length=5>\n")
    (tmp_path / "hg19.vcf").write_text(other_build + lines)
    with pytest.raises(SequenceError, match=r"hg19.vcf: line 2: the header declares chr1 with length 2,500 but "
                                            r"ref.fa has chr1 with 2,000 letters: the VCF and the reference genome "
                                            r"are from different builds"):
        list(read_records(tmp_path / "hg19.vcf", "dna", fasta=reference, length=L).rows)
    _write_with_cyvcf2(tmp_path / "hg19.vcf", tmp_path / "hg19.bcf", "wb")
    with pytest.raises(SequenceError, match="hg19.bcf: header: the header declares chr1 with length 2,500"):
        list(read_records(tmp_path / "hg19.bcf", "dna", fasta=reference, length=L).rows)
    with pytest.raises(SequenceError, match="different builds"):
        run_batch(tmp_path / "hg19.vcf", tmp_path / "out", "utr5", fasta=reference, methods=("ism",), progress=False)
    assert not (tmp_path / "out").exists()                                   # refused before anything is written
