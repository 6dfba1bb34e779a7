"""The output folder of a batch run: shard names, atomic shard writes, validity checks, job file and manifest."""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from itertools import islice
from pathlib import Path

import numpy as np

from ..hashing import sha256_file
from .job import BatchError, output_schema

__all__ = ["MANIFEST", "JOB_FILE", "SHARD_PATTERN", "shard_name", "write_shard", "shard_ranges", "valid_shard",
           "records_digest", "summarise_records", "shard_chunks", "prepare_output", "write_manifest"]

MANIFEST = "_manifest.json"
JOB_FILE = "_job.json"
SHARD_PATTERN = re.compile(r"^part-(\d{5,})\.parquet$")


def shard_name(shard: int) -> str:
    """File name of shard ``shard``: ``part-00000.parquet``."""
    return f"part-{shard:05d}.parquet"


def write_shard(output, shard: int, table, metadata=None) -> dict:
    """Write a shard atomically (temporary file, then rename); returns ``{file, rows, sha256}``.

    ``metadata`` ({bytes: bytes}, e.g. :func:`scrambler_core.provenance.parquet_metadata`) is added to
    the shard's schema metadata.
    """
    import pyarrow.parquet as pq
    output = Path(output)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    final = output / shard_name(shard)
    tmp = output / f".{final.name}.{os.getpid()}.tmp"
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, final)
    return {"file": final.name, "rows": table.num_rows, "sha256": sha256_file(final)}


def shard_ranges(n: int, shard_size: int) -> list[tuple[int, int]]:
    """(start, stop) row ranges of the shards of ``n`` rows."""
    return [(start, min(n, start + shard_size)) for start in range(0, n, shard_size)]


def valid_shard(path: Path, start: int, stop: int) -> bool:
    """True when a shard file is readable Parquet holding exactly rows start..stop-1."""
    import pyarrow.parquet as pq
    try:
        index = pq.read_table(path, columns=["index"]).column("index").to_numpy()
    except Exception:  # noqa: BLE001 -- any unreadable file is recomputed
        return False
    return len(index) == stop - start and np.array_equal(index, np.arange(start, stop))


def _digest_row(digest, r) -> None:
    digest.update(json.dumps([r["id"], r.get("sequence", ""), r.get("ref_sequence", ""),
                              r.get("alt_sequence", ""), r["status"]], separators=(",", ":")).encode())


def records_digest(records) -> str:
    """SHA-256 of the rows' ids, sequences and status (a resumed run must read the same input)."""
    digest = hashlib.sha256()
    for r in records:
        _digest_row(digest, r)
    return digest.hexdigest()


def summarise_records(records, kind: str, strict: str | None = None) -> dict:
    """One pass over the rows (a list or a stream): count, digest, status and variant-type counts.

    Parameters
    ----------
    records : iterable of dict — rows of :func:`scrambler_core.records.read_records`
    kind : {"sequence", "variant"}
    strict : str, optional — the input's name: the first error row raises ``"<name>: <message>"``

    Returns
    -------
    dict — ``rows``, ``sha256`` (as :func:`records_digest`), ``status_counts``, ``variant_type_counts``,
    ``error_examples`` (the first five messages)
    """
    from ..sequences import SequenceError
    digest, rows, status, types, examples = hashlib.sha256(), 0, {}, {}, []
    for r in records:
        if r["status"] != "ok":
            if strict:
                raise SequenceError(f"{strict}: {r['message']}")
            if len(examples) < 5:
                examples.append(r["message"])
        _digest_row(digest, r)
        rows += 1
        status[r["status"]] = status.get(r["status"], 0) + 1
        if kind == "variant":
            types[r["variant_type"]] = types.get(r["variant_type"], 0) + 1
    return {"rows": rows, "sha256": digest.hexdigest(), "status_counts": status, "variant_type_counts": types,
            "error_examples": examples}


def shard_chunks(records, ranges, todo):
    """Yield ``(shard, rows)`` for the shards ``todo``, reading a stream once with one shard in memory.

    A list is sliced; a stream (e.g. :class:`~scrambler_core.genome.vcf.VariantRows`) is read afresh
    and the rows of finished shards are skipped. Raises BatchError when the input no longer has the
    rows the first pass counted (the file changed during the run).
    """
    todo = sorted(set(todo))
    if not todo:
        return
    if isinstance(records, list):
        for shard in todo:
            yield shard, records[ranges[shard][0]:ranges[shard][1]]
        return
    wanted, rows = set(todo), iter(records)
    for shard, (start, stop) in enumerate(ranges[:todo[-1] + 1]):
        chunk = list(islice(rows, stop - start))
        if len(chunk) != stop - start or chunk[0]["index"] != start:
            raise BatchError(f"the input changed while it was being scored (shard {shard} has {len(chunk)} of "
                             f"{stop - start} rows); run again")
        if shard in wanted:
            yield shard, chunk


def _check_previous(output: Path, job_record: dict, resume: bool, overwrite: bool) -> None:
    """Clear an earlier output (overwrite), or check that it was made with the same settings (resume)."""
    job_file = output / JOB_FILE
    if overwrite:
        for item in output.iterdir():
            if item.is_file() and (SHARD_PATTERN.match(item.name) or item.name in (JOB_FILE, MANIFEST)
                                   or item.name.endswith(".tmp")):
                item.unlink()
    elif not resume:
        raise BatchError(f"output {output} already exists; add --resume to continue that run or "
                         "--overwrite to start again")
    elif not job_file.is_file():
        raise BatchError(f"output {output} is not a batch output (no {JOB_FILE}); choose a new folder")
    else:
        previous = json.loads(job_file.read_text())
        for key in job_record:
            if previous.get(key) != job_record[key]:
                raise BatchError(f"cannot resume {output}: it was made with {key} = {previous.get(key)!r}, "
                                 f"this run has {job_record[key]!r} (use the same settings, or --overwrite)")


def prepare_output(output: Path, job_record: dict, resume: bool, overwrite: bool) -> None:
    """Make the output folder ready and write ``_job.json``; refuses a folder it must not touch."""
    if output.exists() and not output.is_dir():
        raise BatchError(f"output {output} exists and is a file; the output is a folder of Parquet shards")
    if output.is_dir() and any(output.iterdir()):
        _check_previous(output, job_record, resume, overwrite)
    output.mkdir(parents=True, exist_ok=True)
    for stale in output.glob(".part-*.tmp"):
        stale.unlink()
    (output / MANIFEST).unlink(missing_ok=True)
    tmp = output / f".{JOB_FILE}.tmp"
    tmp.write_text(json.dumps(job_record, indent=2))
    os.replace(tmp, output / JOB_FILE)


def write_manifest(output, job, job_record, summary, ranges, done, recomputed, n_scored, scored_seconds,
                   seconds, engine, provenance=None) -> dict:
    """Check that the shards hold every row exactly once, then write and return ``_manifest.json``.

    ``summary`` is :func:`summarise_records`'s; ``provenance`` (a
    :func:`scrambler_core.provenance.provenance` record) is stored under ``"provenance"``.
    """
    import pyarrow.parquet as pq
    n = summary["rows"]
    index = np.concatenate([pq.read_table(output / shard_name(k), columns=["index"]).column("index").to_numpy()
                            for k in range(len(ranges))]) if ranges else np.zeros(0, int)
    if len(index) != n or not np.array_equal(np.sort(index), np.arange(n)):
        raise BatchError(f"{output}: the shards hold {len(index)} rows for {n} inputs "
                         f"({len(index) - len(np.unique(index))} duplicated); rerun with --overwrite")
    rows_scored = sum(ranges[k][1] - ranges[k][0] for k in range(len(ranges))) if n_scored else 0
    manifest = {
        "job": job_record,
        "engine": engine,
        "rows": n,
        "status_counts": summary["status_counts"],
        "variant_type_counts": summary["variant_type_counts"],
        "error_examples": summary["error_examples"],
        "shards": [dict(done[k], shard=k, first_index=ranges[k][0]) for k in range(len(ranges))],
        "shards_scored_this_run": n_scored,
        "shards_recomputed_after_damage": recomputed,
        "seconds": round(seconds, 3),
        "scoring_seconds": round(scored_seconds, 3),
        "rows_per_second": round((rows_scored if n_scored == len(ranges) else
                                  sum(done[k]["rows"] for k in done)) / max(scored_seconds, 1e-9), 1)
        if n_scored else None,
        "schema": [f"{f.name}: {f.type}" for f in output_schema(job)],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "provenance": provenance,
    }
    tmp = output / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, output / MANIFEST)
    return manifest
