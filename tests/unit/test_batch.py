"""Batch scoring (issue 8): inputs, per-row errors, Parquet shards, resume exactly once, Ray = local."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import scrambler_core as sc
from scrambler_core import examples, synthetic
from scrambler_core.batch import (BatchError, read_records, read_results, results_to_csv,
                                  results_to_parquet, run_batch)
from scrambler_core.batch.scoring import shard_seed
from scrambler_core.sequences import SequenceError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def utr5():
    return sc.load_predictor("utr5")


@pytest.fixture(scope="module")
def polya():
    return sc.load_predictor("polya")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The polya example contig and VCF on disk."""
    folder = tmp_path_factory.mktemp("demo")
    example = examples.batch_example("polya")
    (folder / "ref.fa").write_text(example.fasta)
    (folder / "variants.vcf").write_text(example.vcf)
    return folder, example


def _fasta(path, seqs, ids=None):
    ids = ids or [f"s{k}" for k in range(len(seqs))]
    path.write_text("".join(f">{i} some description\n{s[:30]}\n{s[30:]}\n" for i, s in zip(ids, seqs)))
    return path


def _utr5_sequences(n, seed=0):
    return list(synthetic.generate_uorf_set(n, 1, 1, seed=seed)[0])


def _same_frames(a, b):
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for column in a.columns:
        for p, q in zip(a[column], b[column]):
            if isinstance(p, np.ndarray) or isinstance(q, np.ndarray):
                assert p is not None and q is not None, column
                np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-4, err_msg=column)  # float32 across processes
            elif isinstance(p, float) and np.isnan(p):
                assert isinstance(q, float) and np.isnan(q), column
            else:
                assert p == q, column


# ---------------------------------------------------------------------------- VCF windows

def test_vcf_rows_one_per_allele_with_reasons(demo, polya):
    folder, example = demo
    kind, rows = read_records(folder / "variants.vcf", polya, fasta=folder / "ref.fa", anchor=example.anchor)
    assert kind == "variant"
    assert len(rows) == 18
    by_id = {r["id"]: r for r in rows}
    assert [by_id[f"ex1_multi/{k}"]["allele_index"] for k in (1, 2, 3)] == [1, 2, 3]
    assert all(by_id[f"ex1_multi/{k}"]["n_alleles"] == 3 for k in (1, 2, 3))
    # the first example's window is exactly that example, the SNV changes only the anchor position
    snv = by_id["ex1_snv"]
    assert snv["ref_sequence"] == examples.examples("polya")[0].sequence
    diff = [j for j, (p, q) in enumerate(zip(snv["ref_sequence"], snv["alt_sequence"])) if p != q]
    assert diff == [example.anchor - 1]
    assert by_id["ex1_mnv"]["variant_type"] == "mnv"
    # insertion: letters before the variant unchanged, then REF + GG, then the reference shifted by two
    ins, ref = by_id["ex1_insertion"], by_id["ex1_insertion"]["ref_sequence"]
    a = example.anchor - 1
    assert ins["alt_sequence"] == (ref[:a] + ref[a] + "GG" + ref[a + 1:])[:205]
    # deletion of two letters: the window is refilled from the reference after its end
    contig = "".join(example.fasta.splitlines()[1:])
    deletion = by_id["ex1_deletion"]
    start = deletion["window_start"]
    assert deletion["ref_sequence"] == contig[start - 1:start - 1 + 205]
    assert deletion["alt_sequence"] == (contig[start - 1:start - 1 + a + 1] + contig[start - 1 + a + 3:])[:205]
    errors = {r["id"]: r["message"] for r in rows if r["status"] == "error"}
    assert set(errors) == {"ex1_ref_mismatch", "ex1_symbolic", "past_the_end"}
    assert "does not match the reference" in errors["ex1_ref_mismatch"] and "line 9" in errors["ex1_ref_mismatch"]
    assert "symbolic" in errors["ex1_symbolic"]
    assert "runs past the end of chrDemo" in errors["past_the_end"]


@pytest.mark.parametrize("line, expected", [
    ("Demo\t{pos}\t.\t{ref}\tA", None),                      # chr prefix ignored
    ("chr9\t{pos}\t.\t{ref}\tA", "chromosome 'chr9' is not in ref.fa"),
    ("chrDemo\t{pos}\t.\t{ref}", "columns; a VCF record needs at least 5"),
    ("chrDemo\tten\t.\t{ref}\tA", "POS must be a positive whole number"),
    ("chrDemo\t{pos}\t.\t{ref}\t.", "no alternative allele"),
    ("chrDemo\t{pos}\t.\t{ref}\tZ", "'Z', which is not one of A, C, G, T"),
    ("chrDemo\t5\t.\tA,\tC", "REF"),
    ("chrDemo\t5\t.\t{first}\tC", "runs past the start of chrDemo"),
])
def test_vcf_bad_records_are_rows_with_reasons(demo, polya, tmp_path, line, expected):
    folder, example = demo
    contig = "".join(example.fasta.splitlines()[1:])
    pos = 400
    text = line.format(pos=pos, ref=contig[pos - 1], first=contig[4])
    (tmp_path / "one.vcf").write_text("##fileformat=VCFv4.2\n" + text + "\n")
    _, rows = read_records(tmp_path / "one.vcf", polya, fasta=folder / "ref.fa")
    assert len(rows) == 1
    if expected is None:
        assert rows[0]["status"] == "ok" and rows[0]["alt_sequence"][102] == "A"
    else:
        assert rows[0]["status"] == "error"
        assert expected in rows[0]["message"] and rows[0]["message"].startswith("line 2:")


def test_whole_file_problems_raise(demo, polya, tmp_path):
    folder, _ = demo
    (tmp_path / "empty.vcf").write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\n")
    with pytest.raises(SequenceError, match="no VCF data lines"):
        read_records(tmp_path / "empty.vcf", polya, fasta=folder / "ref.fa")
    with pytest.raises(SequenceError, match="needs the reference genome"):
        read_records(folder / "variants.vcf", polya)
    (tmp_path / "junk.vcf").write_bytes(b"\x89PNG\x00\xff\xfe binary")
    with pytest.raises(SequenceError, match="not a text file"):
        read_records(tmp_path / "junk.vcf", polya, fasta=folder / "ref.fa")
    (tmp_path / "junk.fa").write_bytes(b">chrDemo\n\xff\xfe\x00\x81junk\n")
    with pytest.raises(SequenceError, match="not UTF-8|not a text file"):
        read_records(folder / "variants.vcf", polya, fasta=tmp_path / "junk.fa")
    (tmp_path / "headless.fa").write_text("ACGT\nAC\nACGT\n")
    with pytest.raises(SequenceError, match="headless.fa"):
        read_records(folder / "variants.vcf", polya, fasta=tmp_path / "headless.fa")
    (tmp_path / "seqs.fa").write_text("ACGT\n")
    with pytest.raises(SequenceError, match="not FASTA"):
        read_records(tmp_path / "seqs.fa", polya)
    with pytest.raises(SequenceError, match="anchor must be"):
        read_records(folder / "variants.vcf", polya, fasta=folder / "ref.fa", anchor=500)


def test_ragged_reference_is_read_in_memory(demo, polya, tmp_path):
    """pyfaidx refuses uneven lines and CRLF; the reference is then read whole and gives the same windows."""
    folder, example = demo
    contig = "".join(example.fasta.splitlines()[1:])
    lines, start, width = [], 0, 50
    while start < len(contig):
        lines.append(contig[start:start + width])
        start, width = start + width, 77 if width == 50 else 50
    (tmp_path / "ragged.fa").write_bytes((">chrDemo\r\n" + "\r\n".join(lines) + "\r\n").encode())
    _, rows = read_records(folder / "variants.vcf", polya, fasta=tmp_path / "ragged.fa", anchor=example.anchor)
    _, expected = read_records(folder / "variants.vcf", polya, fasta=folder / "ref.fa", anchor=example.anchor)
    assert rows == expected


# ---------------------------------------------------------------------------- scores

def test_sequence_batch_matches_the_api(tmp_path, utr5):
    seqs = _utr5_sequences(10)
    bad = seqs[3][:-1] + "X"
    _fasta(tmp_path / "in.fa", seqs[:3] + [bad, seqs[3][:40]] + seqs[4:] + [seqs[0]],
           ids=[f"s{k}" for k in range(3)] + ["bad_letter", "short"] + [f"s{k}" for k in range(4, 10)] + ["s0"])
    manifest = run_batch(tmp_path / "in.fa", tmp_path / "out.parquet", "utr5", methods=("scrambler", "saliency"),
                         target_bits=(0.25, 1.0), shard_size=4, progress=False)
    frame = read_results(tmp_path / "out.parquet")
    assert manifest["rows"] == 12 and manifest["status_counts"] == {"ok": 10, "error": 2}
    assert len(manifest["shards"]) == 3
    assert list(frame["index"]) == list(range(12))
    errors = frame[frame.status == "error"].set_index("id")["message"]
    assert "'X' at position 50" in errors["bad_letter"]
    assert "length 40" in errors["short"]
    assert frame.loc[frame.status == "error", "prediction"].isna().all()
    good = frame[frame.status == "ok"]
    np.testing.assert_allclose(good["prediction"], utr5.predict(list(good["sequence"])), atol=1e-5)
    saliency = sc.attribute(utr5, list(good["sequence"]), "saliency")
    x = utr5.to_onehot(list(good["sequence"]))
    np.testing.assert_allclose(np.stack(good["saliency_importance"]), (saliency * x).sum(-1), atol=1e-5)
    # scrambler: the first shard's rows equal Scrambler.explain with that shard's seed
    scrambler = sc.load_scrambler("utr5")
    first = frame.iloc[:3]
    explanation = scrambler.explain(list(first["sequence"]), target_bits=1.0, seed=shard_seed(0, 0))
    np.testing.assert_allclose(np.stack(first["scrambler_1_importance"]), explanation.importance, atol=1e-5)
    np.testing.assert_allclose(first["scrambler_1_sample_prediction"], explanation.mean_sample_prediction,
                               atol=1e-5)
    # more bits, more conservation
    assert (good["scrambler_1_bits"] > good["scrambler_0.25_bits"]).mean() > 0.9
    assert len(good["scrambler_0.25_importance"].iloc[0]) == 50
    # the same sequence gets the same prediction wherever it sits
    assert frame.iloc[0]["prediction"] == pytest.approx(frame.iloc[11]["prediction"], abs=1e-6)


def test_variant_batch_deltas(demo, tmp_path, polya):
    folder, example = demo
    run_batch(folder / "variants.vcf", tmp_path / "v.parquet", "polya", fasta=folder / "ref.fa",
              methods=("scrambler", "gradient_x_input"), target_bits=(0.5,), anchor=example.anchor, progress=False)
    frame = read_results(tmp_path / "v.parquet").set_index("id")
    ok = frame[frame.status == "ok"]
    np.testing.assert_allclose(ok["ref_prediction"], polya.predict(list(ok["ref_sequence"])), atol=1e-5)
    np.testing.assert_allclose(ok["alt_prediction"], polya.predict(list(ok["alt_sequence"])), atol=1e-5)
    np.testing.assert_allclose(ok["delta_prediction"], ok["alt_prediction"] - ok["ref_prediction"], atol=1e-6)
    assert frame.loc["ex1_snv", "delta_prediction"] < -0.2          # the SNV breaks the PAS
    snv = frame.loc["ex1_snv"]
    for label in ("scrambler_0.5", "gradient_x_input"):
        np.testing.assert_allclose(snv[f"{label}_delta_importance"],
                                   snv[f"{label}_alt_importance"] - snv[f"{label}_ref_importance"], atol=1e-6)
        assert frame.loc["ex1_insertion", f"{label}_delta_importance"] is None
        assert frame.loc["ex1_deletion", f"{label}_ref_importance"] is not None
    # the scrambler's importance of the reference peaks on the PAS the SNV hits
    top = np.argsort(snv["scrambler_0.5_ref_importance"])[-6:]
    assert (np.abs(top - (example.anchor + 2)) <= 4).mean() >= 0.5
    assert frame.loc["ex1_symbolic", "ref_prediction"] != frame.loc["ex1_symbolic", "ref_prediction"]  # NaN


def test_csv_and_single_parquet_exports(demo, tmp_path):
    folder, example = demo
    run_batch(folder / "variants.vcf", tmp_path / "v.parquet", "polya", fasta=folder / "ref.fa",
              methods=("scrambler",), target_bits=(0.25,), anchor=example.anchor, shard_size=5, progress=False)
    frame = read_results(tmp_path / "v.parquet")
    table = pd.read_csv(__import__("io").StringIO(results_to_csv(frame)))
    assert len(table) == 18 and "scrambler_0.25_ref_importance_205" in table.columns
    assert table["scrambler_0.25_delta_importance_1"].isna().sum() == 5      # 3 errors + 2 indels
    data = results_to_parquet(tmp_path / "v.parquet")
    single = pq.read_table(__import__("io").BytesIO(data)).to_pandas()
    _same_frames(single, frame)
    # pandas reads the folder as one table (the manifest is ignored)
    assert len(pd.read_parquet(tmp_path / "v.parquet")) == 18


# ---------------------------------------------------------------------------- resume

def test_interrupted_run_resumes_exactly_once(tmp_path):
    seqs = _utr5_sequences(23, seed=4)
    _fasta(tmp_path / "in.fa", seqs)
    options = dict(methods=("scrambler",), target_bits=(0.5,), shard_size=5, progress=False)
    run_batch(tmp_path / "in.fa", tmp_path / "whole.parquet", "utr5", **options)

    class Crash(RuntimeError):
        pass

    def crash_after_two(info):
        if info["shard"] == 1:
            raise Crash("simulated crash")

    with pytest.raises(Crash):
        run_batch(tmp_path / "in.fa", tmp_path / "cut.parquet", "utr5", on_shard=crash_after_two, **options)
    written = sorted(p.name for p in (tmp_path / "cut.parquet").glob("part-*.parquet"))
    assert written == ["part-00000.parquet", "part-00001.parquet"]
    assert not (tmp_path / "cut.parquet" / "_manifest.json").exists()
    with pytest.raises(BatchError, match="--resume"):
        run_batch(tmp_path / "in.fa", tmp_path / "cut.parquet", "utr5", **options)
    with pytest.raises(BatchError, match="target_bits"):
        run_batch(tmp_path / "in.fa", tmp_path / "cut.parquet", "utr5", resume=True,
                  **dict(options, target_bits=(1.0,)))
    # damage a finished shard: it is recomputed, never served
    shard = tmp_path / "cut.parquet" / "part-00000.parquet"
    shard.write_bytes(shard.read_bytes()[:100])
    manifest = run_batch(tmp_path / "in.fa", tmp_path / "cut.parquet", "utr5", resume=True, **options)
    assert manifest["shards_scored_this_run"] == 4 and manifest["shards_recomputed_after_damage"] == 1
    assert manifest["rows"] == 23 and len(manifest["shards"]) == 5
    _same_frames(read_results(tmp_path / "cut.parquet"), read_results(tmp_path / "whole.parquet"))
    whole = json.loads((tmp_path / "whole.parquet" / "_manifest.json").read_text())
    assert [s["sha256"] for s in whole["shards"]] == [s["sha256"] for s in manifest["shards"]]
    # resuming a finished run scores nothing and keeps the rows
    again = run_batch(tmp_path / "in.fa", tmp_path / "cut.parquet", "utr5", resume=True, **options)
    assert again["shards_scored_this_run"] == 0 and again["rows"] == 23


def test_killed_cli_run_resumes(tmp_path):
    """SIGKILL a real `batch` process after its first shard, resume, and get the uninterrupted result."""
    seqs = _utr5_sequences(60, seed=9)
    _fasta(tmp_path / "in.fa", seqs)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    base = [sys.executable, "-m", "scrambler_core", "batch", "--predictor", "utr5", "--input", str(tmp_path / "in.fa"),
            "--methods", "scrambler,saliency", "--target-bits", "0.25,0.5", "--shard-size", "4", "--batch-size", "4",
            "--no-progress"]
    process = subprocess.Popen(base + ["--output", str(tmp_path / "cut.parquet")], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and not list((tmp_path / "cut.parquet").glob("part-*.parquet")):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    finished = len(list((tmp_path / "cut.parquet").glob("part-*.parquet")))
    assert 1 <= finished < 15, "the run should have been killed part-way"
    resumed = subprocess.run(base + ["--output", str(tmp_path / "cut.parquet"), "--resume",
                                     "--csv", str(tmp_path / "cut.csv")],
                             env=env, cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert resumed.returncode == 0, resumed.stderr
    assert "60 rows (60 ok) in 15 shards" in resumed.stderr
    manifest = json.loads((tmp_path / "cut.parquet" / "_manifest.json").read_text())
    assert manifest["shards_scored_this_run"] == 15 - finished
    whole = subprocess.run(base + ["--output", str(tmp_path / "whole.parquet")], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=400)
    assert whole.returncode == 0, whole.stderr
    _same_frames(read_results(tmp_path / "cut.parquet"), read_results(tmp_path / "whole.parquet"))
    table = pd.read_csv(tmp_path / "cut.csv")
    assert len(table) == 60 and table["id"].is_unique and "saliency_importance_50" in table.columns


def test_cli_batch_bad_input_is_one_line(demo, tmp_path):
    folder, _ = demo
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cases = [
        (["--input", str(folder / "variants.vcf")], "needs the reference genome"),
        (["--input", str(folder / "variants.vcf"), "--fasta", str(folder / "ref.fa"), "--methods", "magic"],
         "unknown method 'magic'"),
        (["--input", str(folder / "variants.vcf"), "--fasta", str(folder / "ref.fa"), "--target-bits", "half"],
         "--target-bits must be comma-separated numbers"),
    ]
    for extra, message in cases:
        result = subprocess.run([sys.executable, "-m", "scrambler_core", "batch", "--predictor", "polya",
                                 "--output", str(tmp_path / "o.parquet")] + extra,
                                env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert result.returncode == 2
        lines = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
        assert len(lines) == 1 and message in lines[0], result.stderr
        assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------- Ray

def test_ray_engine_equals_local(demo, tmp_path):
    pytest.importorskip("ray")
    folder, example = demo
    options = dict(fasta=folder / "ref.fa", methods=("scrambler", "saliency"), target_bits=(0.25, 1.0),
                   anchor=example.anchor, shard_size=5, progress=False)
    local = run_batch(folder / "variants.vcf", tmp_path / "local.parquet", "polya", **options)
    seen = []
    ray = run_batch(folder / "variants.vcf", tmp_path / "ray.parquet", "polya", engine="ray", workers=2,
                    on_shard=seen.append, **options)
    assert ray["engine"] == "ray" and sorted(s["shard"] for s in seen) == [0, 1, 2, 3]
    _same_frames(read_results(tmp_path / "ray.parquet"), read_results(tmp_path / "local.parquet"))
    assert ray["status_counts"] == local["status_counts"] == {"ok": 15, "error": 3}
    # resume semantics are the same: delete one shard, the Ray run writes only that one
    (tmp_path / "ray.parquet" / "part-00002.parquet").unlink()
    again = run_batch(folder / "variants.vcf", tmp_path / "ray.parquet", "polya", engine="ray", workers=1,
                      resume=True, **options)
    assert again["shards_scored_this_run"] == 1
    _same_frames(read_results(tmp_path / "ray.parquet"), read_results(tmp_path / "local.parquet"))
