"""Genome-browser tracks (bigWig, bedGraph) of a VCF or regions batch result, for IGV and the UCSC browser.

Every score column of a batch result becomes one track at genomic coordinates:

* a **per-position** list column (``{label}_ref_importance``, ``{label}_alt_importance``,
  ``{label}_delta_importance``, or ``{label}_importance`` of a regions result) covers its row's window:
  window position j is genomic ``window_start + j - 1`` on the ``+`` strand and ``window_end - j + 1``
  on the ``-`` strand (column ``strand``; a result without it is read as ``+``). ALT (and delta) scores
  of insertions and deletions are left out: after the indel their window positions do not line up with
  the genome.
* a **scalar** column (``delta_prediction``, ``ref_prediction``, ``alt_prediction``,
  ``{label}_ref_sample_prediction``, ...) is one value over each variant's REF span
  ``pos .. pos + len(REF) - 1`` (a regions row without ``pos``: over its whole window).

Where the spans of several rows overlap (windows of nearby variants, the alleles of a multi-allelic
record) a genomic position takes the value of the row whose variant is **nearest** to it (distance to
``pos``; for a row without ``pos`` to the middle of its window), and the **mean** of the rows tied at
that distance: a bigWig cannot hold overlapping intervals, and each window is centred on its own
variant. Rows with ``status`` other than ``ok`` and missing values are skipped. Runs of equal values are
written as one interval.

Chromosome sizes come from the reference FASTA when it is given (its ``.fai`` index, via pyfaidx), else
from the largest end any row reaches on each chromosome (enough for IGV to draw the track; the bigWig
header then understates the chromosome's length).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

__all__ = ["FORMATS", "NOT_GENOMIC", "genomic_rows", "score_columns", "track_intervals", "chrom_sizes",
           "write_bigwig", "write_bedgraph", "write_tracks"]

FORMATS = {"bigwig": ".bw", "bedgraph": ".bedgraph"}
NOT_GENOMIC = "tracks need a VCF batch result with genomic coordinates"
_COORDINATES = ("chrom", "window_start", "window_end")
_NOT_SCORES = {"index", "record", "pos", "window_start", "window_end", "allele_index", "n_alleles"}


def _as_frame(results):
    """A results DataFrame, or the folder of a batch run read with :func:`read_results`."""
    import pandas as pd
    if isinstance(results, pd.DataFrame):
        return results, "the results"
    from ..batch.run import read_results
    path = Path(results)
    if not path.is_dir():
        raise ValueError(f"{path} is not a batch output folder (python -m scrambler_core batch ... --output DIR)")
    return read_results(path), path.name


def genomic_rows(frame, source="the results"):
    """The scored rows (``status == "ok"``) of a result with genomic coordinates.

    Raises ``ValueError`` naming the problem for a sequence (FASTA/CSV) result or one with no scored rows.
    """
    missing = [c for c in _COORDINATES if c not in frame.columns]
    if missing:
        raise ValueError(f"{NOT_GENOMIC}; {source} has no {', '.join(missing)} column (a FASTA/CSV batch "
                         "result): run batch on a VCF with --fasta")
    rows = frame[frame["status"] == "ok"] if "status" in frame.columns else frame
    if rows.empty:
        raise ValueError(f"{source} has no scored rows (every row has status=error)")
    if "strand" in rows.columns:
        bad = sorted({str(s) for s in rows["strand"] if s not in ("+", "-", ".", "", None) and s == s})
        if bad:
            raise ValueError(f"column strand of {source} must hold '+' or '-', got {bad[0]!r}")
    return rows.reset_index(drop=True)


def _first_value(series):
    return next((v for v in series if v is not None and not (isinstance(v, float) and np.isnan(v))), None)


def _is_per_position(series) -> bool:
    return isinstance(_first_value(series), (np.ndarray, list))


def score_columns(frame) -> list[str]:
    """The columns that become tracks: per-position list columns and floating-point scalar columns."""
    from pandas.api.types import is_float_dtype
    out = []
    for name in frame.columns:
        if name in _NOT_SCORES:
            continue
        if is_float_dtype(frame[name].dtype) or _is_per_position(frame[name]):
            out.append(str(name))
    return out


def _minus(rows) -> np.ndarray:
    if "strand" not in rows.columns:
        return np.zeros(len(rows), bool)
    return (rows["strand"] == "-").to_numpy()


def _centres(rows) -> np.ndarray:
    """Genomic position each row's values are nearest to: its variant's POS, else its window's middle."""
    if "pos" in rows.columns:
        return rows["pos"].to_numpy(np.float64)
    return (rows["window_start"].to_numpy(np.float64) + rows["window_end"].to_numpy(np.float64)) / 2


def _indel(rows) -> np.ndarray:
    if "ref" not in rows.columns or "alt" not in rows.columns:
        return np.zeros(len(rows), bool)
    return np.array([len(str(r)) != len(str(a)) for r, a in zip(rows["ref"], rows["alt"])], bool)


def _spans(rows, column):
    """(chrom, first genomic position, values in genomic order, centre) of every row with a value."""
    centres, minus = _centres(rows), _minus(rows)
    chroms, starts, ends = rows["chrom"].astype(str), rows["window_start"], rows["window_end"]
    if _is_per_position(rows[column]):
        skip = _indel(rows) if "_alt_" in column or "_delta_" in column else np.zeros(len(rows), bool)
        for k, values in enumerate(rows[column]):
            if values is None or skip[k] or (isinstance(values, float) and np.isnan(values)):
                continue
            values = np.asarray(values, np.float64)
            width = int(ends.iloc[k]) - int(starts.iloc[k]) + 1
            if len(values) != width:
                raise ValueError(f"column {column}, row {rows['id'].iloc[k] if 'id' in rows else k}: "
                                 f"{len(values)} values for the {width}-letter window "
                                 f"{chroms.iloc[k]}:{starts.iloc[k]}-{ends.iloc[k]}")
            yield chroms.iloc[k], int(starts.iloc[k]), values[::-1] if minus[k] else values, centres[k]
        return
    has_ref = "pos" in rows.columns and "ref" in rows.columns
    for k, value in enumerate(rows[column].to_numpy(np.float64)):
        if not np.isfinite(value):
            continue
        first = int(rows["pos"].iloc[k]) if has_ref else int(starts.iloc[k])
        width = len(str(rows["ref"].iloc[k])) if has_ref else int(ends.iloc[k]) - first + 1
        yield chroms.iloc[k], first, np.full(width, value), centres[k]


def _clusters(spans):
    """Groups of spans (sorted by start) whose positions overlap or touch."""
    group, end = [], 0
    for span in sorted(spans, key=lambda s: s[1]):
        if group and span[1] > end + 1:
            yield group
            group = []
        group.append(span)
        end = max(end, span[1] + len(span[2]) - 1)
    if group:
        yield group


def _nearest_values(group):
    """(first position, values) of one cluster: the nearest row's value, the mean of rows tied at that distance."""
    first = min(s[1] for s in group)
    n = max(s[1] + len(s[2]) for s in group) - first
    best, total, count = np.full(n, np.inf), np.zeros(n), np.zeros(n)
    for _, start, values, centre in group:
        idx = np.arange(len(values)) + (start - first)
        distance = np.abs(np.arange(start, start + len(values)) - centre)
        distance[~np.isfinite(values)] = np.inf
        values = np.where(np.isfinite(values), values, 0.0)
        closer, tied = distance < best[idx], (distance == best[idx]) & np.isfinite(distance)
        total[idx] = np.where(closer, values, np.where(tied, total[idx] + values, total[idx]))
        count[idx] = np.where(closer, 1, np.where(tied, count[idx] + 1, count[idx]))
        best[idx] = np.minimum(best[idx], distance)
    with np.errstate(invalid="ignore", divide="ignore"):
        return first, np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _runs(first, values):
    """0-based half-open (starts, ends, values) of the runs of equal finite values."""
    finite = np.isfinite(values)
    change = np.ones(len(values), bool)
    change[1:] = (values[1:] != values[:-1]) | (finite[1:] != finite[:-1])
    begin = np.flatnonzero(change)
    end = np.append(begin[1:], len(values))
    keep = finite[begin]
    return (begin[keep] + first - 1), (end[keep] + first - 1), values[begin[keep]]


def track_intervals(rows, column) -> dict:
    """One track's intervals per chromosome.

    Parameters
    ----------
    rows : DataFrame — scored rows with genomic coordinates (:func:`genomic_rows`)
    column : str — a per-position list column (values of length ``window_end - window_start + 1``) or a
        scalar column

    Returns
    -------
    dict chrom -> (starts, ends, values): int64, int64, float64 arrays of equal length, 0-based half-open
    intervals sorted by start, without overlaps (overlapping rows combined as the module describes)
    """
    by_chrom = {}
    for span in _spans(rows, column):
        by_chrom.setdefault(span[0], []).append(span)
    out = {}
    for chrom, spans in by_chrom.items():
        parts = [_runs(*_nearest_values(group)) for group in _clusters(spans)]
        out[chrom] = tuple(np.concatenate([p[i] for p in parts]) for i in range(3))
    return out


def chrom_sizes(rows, fasta=None) -> dict:
    """Chromosome lengths: from ``fasta`` (its .fai index) when given, else the largest end seen per chromosome.

    Raises ``ValueError`` when a chromosome is not in ``fasta`` or the rows run past its end.
    """
    ends = rows.groupby(rows["chrom"].astype(str))["window_end"].max()
    if "pos" in rows.columns and "ref" in rows.columns:
        ref_ends = rows["pos"] + rows["ref"].astype(str).str.len() - 1
        ends = np.maximum(ends, ref_ends.groupby(rows["chrom"].astype(str)).max())
    seen = {str(c): int(e) for c, e in ends.items()}
    if fasta is None:
        return seen
    from ..genome.reference import Reference
    reference = Reference(fasta)
    sizes = {}
    for chrom, end in seen.items():
        name = reference.lookup(chrom)
        if name is None:
            raise ValueError(f"chromosome '{chrom}' of the results is not in {Path(fasta).name} "
                             f"(it has {', '.join(reference.keys()[:5])})")
        sizes[chrom] = reference.length(name)
        if end > sizes[chrom]:
            raise ValueError(f"the results reach {chrom}:{end}, past the end of {chrom} in {Path(fasta).name} "
                             f"({sizes[chrom]:,} letters): is it the genome the batch ran on?")
    return sizes


def write_bigwig(path, intervals: dict, sizes: dict) -> Path:
    """Write one track as bigWig with pyBigWig (chromosomes sorted by name, intervals by start)."""
    import pyBigWig
    path = Path(path)
    chroms = sorted(sizes)
    bw = pyBigWig.open(str(path), "w")
    if bw is None:
        raise OSError(f"cannot write {path}")
    try:
        bw.addHeader([(c, int(sizes[c])) for c in chroms], maxZooms=10)
        for chrom in chroms:
            starts, ends, values = intervals.get(chrom, ((), (), ()))
            if len(starts):
                bw.addEntries([chrom] * len(starts), starts.tolist(), ends=ends.tolist(),
                              values=values.astype(np.float64).tolist())
    finally:
        bw.close()
    return path


def write_bedgraph(path, intervals: dict, name: str) -> Path:
    """Write one track as bedGraph text: a ``track type=bedGraph`` line, then ``chrom start end value`` rows."""
    path = Path(path)
    lines = [f'track type=bedGraph name="{name}" description="scrambler_core batch: {name}" visibility=full']
    for chrom in sorted(intervals):
        starts, ends, values = intervals[chrom]
        lines += [f"{chrom}\t{s}\t{e}\t{v:.7g}" for s, e, v in zip(starts.tolist(), ends.tolist(), values.tolist())]
    path.write_text("\n".join(lines) + "\n")
    return path


def _file_name(column: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", column)


def _chosen_columns(frame, columns, source) -> list[str]:
    available = score_columns(frame)
    if not columns:
        return available
    unknown = [c for c in columns if c not in available]
    if unknown:
        raise ValueError(f"{source} has no score column {unknown[0]!r}; its score columns are "
                         f"{', '.join(available)}")
    return list(columns)


def write_tracks(results, output_dir, *, format="bigwig", columns=None, fasta=None) -> list[Path]:
    """Write one genome-browser track per score column of a VCF (or regions) batch result.

    Parameters
    ----------
    results : str, Path or DataFrame — a batch output folder or its :func:`read_results` frame
    output_dir : str or Path — created if missing; files ``<column>.bw`` or ``<column>.bedgraph``
    format : {"bigwig", "bedgraph"}
    columns : list of str, optional — score columns to write (default: every one, :func:`score_columns`)
    fasta : str or Path, optional — the reference genome, for chromosome sizes

    Returns
    -------
    list of Path — the files written, in column order
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    frame, source = _as_frame(results)
    rows = genomic_rows(frame, source)
    chosen = _chosen_columns(frame, columns, source)
    sizes = chrom_sizes(rows, fasta)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for column in chosen:
        intervals = track_intervals(rows, column)
        path = output_dir / (_file_name(column) + FORMATS[format])
        if format == "bigwig":
            written.append(write_bigwig(path, intervals, sizes))
        else:
            written.append(write_bedgraph(path, intervals, column))
    return written
