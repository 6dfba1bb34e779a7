"""The batch driver (:func:`run_batch`: read, plan shards, run an engine, write the manifest) and result readers."""
from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import numpy as np

from ..hashing import sha256_file
from ..records import read_records
from .job import BatchError, BatchJob, default_batch_size
from .local import run_shards_locally
from .scoring import check_single_sequence, load_models
from .shards import (SHARD_PATTERN, prepare_output, shard_chunks, shard_name, shard_ranges, summarise_records,
                     valid_shard, write_manifest)

__all__ = ["run_batch", "read_results", "results_to_csv", "results_to_parquet"]

ENGINES = ("local", "ray")


class _Progress:
    """tqdm bar (rate and ETA) on stderr, a callable ``progress(done, total)``, or nothing."""

    def __init__(self, progress, total, done):
        self.callback = progress if callable(progress) else None
        self.bar = None
        self.done, self.total = done, total
        if progress is True:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, initial=done, unit="seq", desc="batch", file=sys.stderr,
                            dynamic_ncols=True, smoothing=0.1)
        self._report()

    def _report(self):
        if self.callback:
            self.callback(self.done, self.total)

    def update(self, rows):
        self.done += rows
        if self.bar is not None:
            self.bar.update(rows)
        self._report()

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _input_source(input_path) -> tuple:
    """(what read_records reads, its file name, the manifest's ``input``) of a path or a pandas DataFrame.

    A DataFrame is read as the CSV it would be written as (a ``sequence`` column or ``column=``, an
    optional ``id``), so a notebook's table gives the same rows, checks and messages as the file.
    """
    if hasattr(input_path, "to_csv") and hasattr(input_path, "columns"):
        name = "dataframe.csv"
        return input_path.to_csv(index=False).encode(), name, f"pandas DataFrame ({len(input_path)} rows)"
    return input_path, Path(input_path).name, str(Path(input_path).resolve())


def _read_input(source, name, predictor, model_path, fasta, column, anchor, regions):
    """Load the predictor (to check it and learn L and the alphabet) and read the input rows.

    A VCF's rows are a stream (read again for each pass), other inputs a list.
    """
    from ..predictors.registry import load_predictor
    predictor_model = load_predictor(predictor, path=model_path)
    check_single_sequence(predictor_model)
    return read_records(source, predictor_model, fasta=fasta, column=column, anchor=anchor, on_error="row",
                        regions=regions, stream=True, name=None if isinstance(source, (str, Path)) else name)


def _provenance(models, job_record, command) -> tuple[dict, dict]:
    """(the manifest's provenance record, the Parquet metadata of every shard).

    Shards carry the record without its time and command, so a shard written by a resumed run is
    byte-identical to the same shard of an uninterrupted run with the same input, settings and models.
    """
    from ..provenance import parquet_metadata, provenance
    record = provenance(models[0], models[1], settings=job_record, command=command)
    stable = {k: v for k, v in record.items() if k not in ("created", "command")}
    return record, parquet_metadata(stable)


def _completed_shards(output: Path, ranges) -> tuple[dict, int]:
    """({shard: info} of the valid shards already in ``output``, number of damaged shards deleted)."""
    done, recomputed = {}, 0
    for shard, (start, stop) in enumerate(ranges):
        path = output / shard_name(shard)
        if path.exists():
            if valid_shard(path, start, stop):
                done[shard] = {"file": path.name, "rows": stop - start, "sha256": sha256_file(path)}
            else:
                path.unlink()
                recomputed += 1
    return done, recomputed


def _run_engine(engine, job, chunks, n_todo, output, models, ray_address, workers, metadata):
    """The engine's iterator of ``(shard, info)``; the Ray engine is imported only when asked for."""
    if engine == "local":
        return run_shards_locally(job, chunks, output, models, metadata)
    from .ray_engine import run_shards_on_ray
    return run_shards_on_ray(job, chunks, n_todo, output, ray_address, workers, metadata)


def _score_shards(shards, done, bar, on_shard) -> None:
    """Record each finished shard in ``done``, advance the progress bar and call ``on_shard``."""
    try:
        for shard, info in shards:
            done[shard] = info
            bar.update(info["rows"])
            if on_shard:
                on_shard(dict(info, shard=shard))
    finally:
        bar.close()


def run_batch(input_path, output, predictor, *, fasta=None, methods=("scrambler",), target_bits=(0.5,),
              n_samples=32, seed=0, mode="inclusion", objective="reconstruct", model_path=None, scrambler=None,
              column="sequence", anchor=None, method_options=None, batch_size=None, shard_size=1024,
              engine="local", ray_address=None, workers=None, resume=False, overwrite=False, progress=True,
              on_shard=None, regions=None, strict=False, command=None) -> dict:
    """Score every row of a FASTA, CSV/TSV or VCF/BCF file and write a sharded Parquet dataset.

    A VCF/BCF is streamed twice: a first pass counts and digests its rows (and, with ``strict``,
    stops at the first bad one), a second scores them shard by shard, so memory stays bounded by
    one shard (local engine) or one shard per Ray actor, however long the file.

    Parameters
    ----------
    input_path : str, Path or pandas.DataFrame — ``.fa/.fasta/.fna[.gz]``, ``.csv``, ``.tsv``, ``.vcf[.gz]``,
        ``.bcf``, or a DataFrame with a ``sequence`` column (or ``column``) and optionally ``id``
    output : str or Path — a folder (e.g. ``results.parquet``) of ``part-NNNNN.parquet`` shards
    predictor : str — built-in or published name, or a ``.keras`` path
    fasta : str or Path — reference genome, VCF input only
    methods : sequence of str — ``"scrambler"`` and/or any :data:`attribution.METHODS`
    target_bits : sequence of float — one scrambler result per value
    n_samples, seed, mode, objective : scrambler settings
    model_path, scrambler : published model weights; a scrambler ``.keras`` path
    column : str — sequence column of a CSV/TSV
    anchor : int — VCF: window position (1-based) of the variant, default the middle
    method_options : dict — ``{"integrated_gradients": {"steps": 20}}``
    batch_size : int — sequences per compiled call (default :func:`default_batch_size`)
    shard_size : int — rows per shard (the unit of resumption and of Ray work)
    engine : {"local", "ray"}
    ray_address : str — an existing Ray cluster (default: start a local Ray instance)
    workers : int — Ray actors, each holding the loaded models (default: CPUs, or GPUs)
    resume : bool — continue an interrupted run in ``output`` (same settings and input)
    overwrite : bool — delete an earlier output first
    progress : bool or callable ``(done_rows, total_rows)``
    on_shard : callable ``(shard_info)``, optional — called after each shard is written
    regions : str or Path, optional — VCF: BED6 regions (each L long) giving strand-aware windows
        (see :func:`scrambler_core.records.read_records`)
    strict : bool — stop at the first bad row with ``SequenceError("<file>: line N: <reason>")``
        before anything is written, instead of keeping it as an error row
    command : str, optional — the command line, stored in the manifest's provenance

    Returns
    -------
    dict — the manifest (also written to ``output/_manifest.json``), with ``"provenance"``
    (:func:`scrambler_core.provenance.provenance`; every shard's schema metadata holds it too, without
    its time and command)

    Raises
    ------
    SequenceError, BatchError, ModelFileError
        Input, settings or models that cannot be used (before anything is scored).
    """
    started = time.perf_counter()
    if engine not in ENGINES:
        raise BatchError(f"engine must be 'local' or 'ray', got {engine!r}")
    source, name, described = _input_source(input_path)
    kind, records = _read_input(source, name, predictor, model_path, fasta, column, anchor, regions)
    job = BatchJob(predictor=str(predictor), kind=kind, methods=methods, target_bits=target_bits,
                   n_samples=int(n_samples), seed=int(seed), shard_size=int(shard_size),
                   batch_size=int(batch_size or default_batch_size()), mode=mode, objective=objective,
                   model_path=str(model_path) if model_path else None,
                   scrambler=str(scrambler) if scrambler else None, anchor=anchor,
                   method_options=method_options or {})
    models = load_models(job)  # the Ray engine loads them in its actors: this fails early, before Ray starts
    output = Path(output)
    summary = summarise_records(records, kind, strict=name if strict else None)
    job_record = dict(job.settings(), input=described,
                      regions=str(Path(regions).resolve()) if regions else None, rows=summary["rows"],
                      records_sha256=summary["sha256"])
    record, metadata = _provenance(models, job_record, command)
    prepare_output(output, job_record, resume, overwrite)
    ranges = shard_ranges(summary["rows"], job.shard_size)
    done, recomputed = _completed_shards(output, ranges)
    todo = [k for k in range(len(ranges)) if k not in done]
    bar = _Progress(progress, summary["rows"], sum(v["rows"] for v in done.values()))
    score_started = time.perf_counter()
    chunks = shard_chunks(records, ranges, todo)
    _score_shards(_run_engine(engine, job, chunks, len(todo), output, models, ray_address, workers, metadata),
                  done, bar, on_shard)
    return write_manifest(output, job, job_record, summary, ranges, done, recomputed, len(todo),
                          time.perf_counter() - score_started, time.perf_counter() - started, engine, record)


# ============================================================================ reading results

def read_results(output):
    """The rows of a batch output as a pandas DataFrame in input order (list columns hold numpy arrays)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    output = Path(output)
    files = sorted(p for p in output.glob("part-*.parquet") if SHARD_PATTERN.match(p.name))
    if not files:
        raise BatchError(f"{output} holds no result shards")
    table = pa.concat_tables([pq.read_table(f) for f in files])
    return table.to_pandas().sort_values("index", kind="stable").reset_index(drop=True)


def results_to_csv(frame, path_or_buffer=None):
    """Write (or return) a results frame as CSV, list columns spread to ``NAME_1 .. NAME_L``."""
    import pandas as pd
    parts, flat = [], {}
    for name in frame.columns:
        values = frame[name]
        first = next((v for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))), None)
        if isinstance(first, (np.ndarray, list)):
            width = len(first)
            block = np.full((len(frame), width), np.nan, np.float32)
            for k, v in enumerate(values):
                if v is not None and not (isinstance(v, float) and np.isnan(v)):
                    block[k] = v
            parts.append(pd.DataFrame(block, columns=[f"{name}_{j + 1}" for j in range(width)]))
        else:
            flat[name] = values.to_numpy()
    table = pd.concat([pd.DataFrame(flat)] + parts, axis=1)
    return table.to_csv(path_or_buffer, index=False)


def results_to_parquet(output, path_or_buffer=None):
    """One Parquet file of all shards of a batch output, in input order (bytes when no path is given)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.Table.from_pandas(read_results(output), preserve_index=False)
    if path_or_buffer is not None:
        pq.write_table(table, path_or_buffer, compression="zstd")
        return None
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()
