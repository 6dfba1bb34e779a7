"""Genome-browser tracks of a VCF batch result (issue 20): bigWig and bedGraph at genomic coordinates."""
from __future__ import annotations

import numpy as np
import pyBigWig
import pytest

from scrambler_core import examples
from scrambler_core.batch import read_results, run_batch
from scrambler_core.exports.tracks import NOT_GENOMIC, score_columns, track_intervals, write_tracks


@pytest.fixture(scope="module")
def vcf_result(tmp_path_factory):
    """The utr5 example contig and VCF (overlapping windows, a multi-allelic record, indels, error rows)
    scored with ISM."""
    folder = tmp_path_factory.mktemp("tracks")
    example = examples.batch_example("utr5")
    (folder / "ref.fa").write_text(example.fasta)
    (folder / "variants.vcf").write_text(example.vcf)
    run_batch(folder / "variants.vcf", folder / "results.parquet", "utr5", fasta=folder / "ref.fa",
              methods=("ism",), anchor=example.anchor, progress=False)
    contig = "".join(example.fasta.splitlines()[1:])
    return folder, read_results(folder / "results.parquet"), len(contig)


def _expected(frame, column, position):
    """Brute force: the value at a 1-based genomic position from the rows whose span covers it, nearest
    variant first, ties averaged (None when no row covers it)."""
    found = []
    for _, row in frame[frame.status == "ok"].iterrows():
        value = row[column]
        if isinstance(value, np.ndarray):
            if column.endswith("_alt_importance") and len(row["ref"]) != len(row["alt"]):
                continue
            if not row["window_start"] <= position <= row["window_end"]:
                continue
            minus = "strand" in frame.columns and row["strand"] == "-"
            j = row["window_end"] - position if minus else position - row["window_start"]
            found.append((abs(position - row["pos"]), float(value[j])))
        elif value is not None and np.isfinite(value) and row["pos"] <= position < row["pos"] + len(row["ref"]):
            found.append((abs(position - row["pos"]), float(value)))
    if not found:
        return None
    nearest = min(d for d, _ in found)
    return float(np.mean([v for d, v in found if d == nearest]))


def _bigwig_values(path, chrom, first, last):
    """1-based inclusive positions first..last; NaN where the file has no value."""
    bw = pyBigWig.open(str(path))
    try:
        return np.array(bw.values(chrom, first - 1, last))
    finally:
        bw.close()


def _check_track(path, frame, column, first, last):
    got = _bigwig_values(path, "chrDemo", first, last)
    for k, position in enumerate(range(first, last + 1)):
        want = _expected(frame, column, position)
        if want is None:
            assert np.isnan(got[k]), (column, position)
        else:
            assert got[k] == pytest.approx(want, rel=1e-5, abs=1e-6), (column, position)


def test_every_score_column_becomes_a_bigwig(vcf_result, tmp_path):
    folder, frame, contig_length = vcf_result
    paths = write_tracks(folder / "results.parquet", tmp_path, fasta=folder / "ref.fa")
    columns = score_columns(frame)
    assert {"delta_prediction", "ism_ref_importance", "ism_alt_importance", "ism_delta_importance"} <= set(columns)
    assert [p.name for p in paths] == [c + ".bw" for c in columns]
    for column in ("delta_prediction", "ism_ref_importance", "ism_alt_importance", "ism_delta_importance"):
        bw = pyBigWig.open(str(tmp_path / f"{column}.bw"))
        assert bw.isBigWig() and bw.chroms() == {"chrDemo": contig_length}
        bw.close()
        # every position of the contig, across overlapping windows of several variants
        _check_track(tmp_path / f"{column}.bw", frame, column, 1, contig_length)


def test_values_at_the_variants(vcf_result, tmp_path):
    folder, frame, contig_length = vcf_result
    write_tracks(folder / "results.parquet", tmp_path, columns=["delta_prediction", "ism_ref_importance"],
                 fasta=folder / "ref.fa")
    rows = frame.set_index("id")
    delta = tmp_path / "delta_prediction.bw"
    ex2 = rows.loc["ex2_snv"]
    # a lone SNV: its own delta; the next position holds the three ALTs of a multi-allelic record: their mean
    assert _bigwig_values(delta, "chrDemo", ex2.pos, ex2.pos)[0] == pytest.approx(ex2.delta_prediction, rel=1e-6)
    multi = [rows.loc[f"ex2_multi/{k}", "delta_prediction"] for k in (1, 2, 3)]
    assert _bigwig_values(delta, "chrDemo", ex2.pos + 1, ex2.pos + 1)[0] == pytest.approx(np.mean(multi), rel=1e-6)
    # where the windows of ex1_snv (pos 56) and ex1_mnv (pos 58) overlap, position 100 takes the MNV's window
    mnv = rows.loc["ex1_mnv"]
    assert mnv.window_start <= 100 <= rows.loc["ex1_snv", "window_end"]
    value = _bigwig_values(tmp_path / "ism_ref_importance.bw", "chrDemo", 100, 100)[0]
    assert value == pytest.approx(mnv.ism_ref_importance[100 - mnv.window_start], rel=1e-6)
    # error rows are skipped: nothing past the last scored window (past_the_end is an error row)
    last = frame.loc[frame.status == "ok", "window_end"].max()
    assert last + 10 <= contig_length
    assert np.isnan(_bigwig_values(delta, "chrDemo", last + 1, contig_length)).all()


def test_minus_strand_windows_run_from_window_end(vcf_result, tmp_path):
    folder, frame, contig_length = vcf_result
    frame = frame[~frame["id"].str.startswith("ex3_multi")].copy()
    frame["strand"] = np.where(frame["id"] == "ex3_snv", "-", "+")
    write_tracks(frame, tmp_path, columns=["ism_ref_importance"], fasta=folder / "ref.fa")
    row = frame.set_index("id").loc["ex3_snv"]
    values = _bigwig_values(tmp_path / "ism_ref_importance.bw", "chrDemo", row.window_start, row.window_end)
    np.testing.assert_allclose(values, row.ism_ref_importance[::-1], rtol=1e-6)
    _check_track(tmp_path / "ism_ref_importance.bw", frame, "ism_ref_importance", 1, contig_length)


def test_indel_alt_scores_are_left_out(vcf_result):
    _, frame, _ = vcf_result
    insertion = frame[frame["id"] == "ex1_insertion"].reset_index(drop=True)
    assert insertion.loc[0, "ism_alt_importance"] is not None
    assert track_intervals(insertion, "ism_alt_importance") == {}
    starts, ends, values = track_intervals(insertion, "ism_ref_importance")["chrDemo"]
    assert starts[0] == insertion.loc[0, "window_start"] - 1 and ends[-1] == insertion.loc[0, "window_end"]


def test_bedgraph_holds_the_same_intervals(vcf_result, tmp_path):
    folder, frame, _ = vcf_result
    bedgraph = write_tracks(folder / "results.parquet", tmp_path / "bg", format="bedgraph",
                            columns=["ism_delta_importance"])[0]
    bigwig = write_tracks(folder / "results.parquet", tmp_path / "bw", columns=["ism_delta_importance"])[0]
    assert bedgraph.name == "ism_delta_importance.bedgraph"
    lines = bedgraph.read_text().splitlines()
    assert lines[0].startswith('track type=bedGraph name="ism_delta_importance"')
    rows = [line.split("\t") for line in lines[1:]]
    starts = [int(r[1]) for r in rows]
    assert starts == sorted(starts) and all(int(r[2]) <= int(n[1]) for r, n in zip(rows, rows[1:]))
    bw = pyBigWig.open(str(bigwig))
    assert [(s, e) for s, e, _ in bw.intervals("chrDemo")] == [(int(r[1]), int(r[2])) for r in rows]
    np.testing.assert_allclose([float(r[3]) for r in rows], [v for _, _, v in bw.intervals("chrDemo")], rtol=1e-6)
    bw.close()


def test_sizes_without_a_fasta_are_the_largest_end(vcf_result, tmp_path):
    folder, frame, _ = vcf_result
    path = write_tracks(folder / "results.parquet", tmp_path, columns=["delta_prediction"])[0]
    bw = pyBigWig.open(str(path))
    assert bw.chroms() == {"chrDemo": int(frame.loc[frame.status == "ok", "window_end"].max())}
    bw.close()


def test_bad_inputs_say_what_is_wrong(vcf_result, tmp_path):
    folder, frame, _ = vcf_result
    sequences = frame[["index", "id", "status", "ref_sequence"]].rename(columns={"ref_sequence": "sequence"})
    with pytest.raises(ValueError, match=NOT_GENOMIC):
        write_tracks(sequences, tmp_path)
    with pytest.raises(ValueError, match="no score column 'nope'.*delta_prediction"):
        write_tracks(frame, tmp_path, columns=["nope"])
    with pytest.raises(ValueError, match="format must be one of bigwig, bedgraph"):
        write_tracks(frame, tmp_path, format="wig")
    (tmp_path / "other.fa").write_text(">chrOther\n" + "A" * 400 + "\n")
    with pytest.raises(ValueError, match="chromosome 'chrDemo' of the results is not in other.fa"):
        write_tracks(frame, tmp_path, fasta=tmp_path / "other.fa")
    (tmp_path / "short.fa").write_text(">chrDemo\n" + "A" * 100 + "\n")
    with pytest.raises(ValueError, match="past the end of chrDemo in short.fa"):
        write_tracks(frame, tmp_path, fasta=tmp_path / "short.fa")
    errors = frame.assign(status="error")
    with pytest.raises(ValueError, match="no scored rows"):
        write_tracks(errors, tmp_path)
    with pytest.raises(ValueError, match="must hold '\\+' or '-', got 'x'"):
        write_tracks(frame.assign(strand="x"), tmp_path)
