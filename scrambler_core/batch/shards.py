"""The output folder of a batch run: shard names, atomic shard writes, validity checks, job file and manifest."""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path

import numpy as np

from ..hashing import sha256_file
from .job import BatchError, output_schema

__all__ = ["MANIFEST", "JOB_FILE", "SHARD_PATTERN", "shard_name", "write_shard", "shard_ranges", "valid_shard",
           "records_digest", "prepare_output", "write_manifest"]

MANIFEST = "_manifest.json"
JOB_FILE = "_job.json"
SHARD_PATTERN = re.compile(r"^part-(\d{5,})\.parquet$")


def shard_name(shard: int) -> str:
    """File name of shard ``shard``: ``part-00000.parquet``."""
    return f"part-{shard:05d}.parquet"


def write_shard(output, shard: int, table) -> dict:
    """Write a shard atomically (temporary file, then rename); returns ``{file, rows, sha256}``."""
    import pyarrow.parquet as pq
    output = Path(output)
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


def records_digest(records) -> str:
    """SHA-256 of the rows' ids, sequences and status (a resumed run must read the same input)."""
    digest = hashlib.sha256()
    for r in records:
        digest.update(json.dumps([r["id"], r.get("sequence", ""), r.get("ref_sequence", ""),
                                  r.get("alt_sequence", ""), r["status"]], separators=(",", ":")).encode())
    return digest.hexdigest()


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


def _counts(records, kind: str) -> tuple[dict, dict]:
    status, types = {}, {}
    for r in records:
        status[r["status"]] = status.get(r["status"], 0) + 1
        if kind == "variant":
            types[r["variant_type"]] = types.get(r["variant_type"], 0) + 1
    return status, types


def write_manifest(output, job, job_record, records, ranges, done, recomputed, n_scored, scored_seconds,
                   seconds, engine) -> dict:
    """Check that the shards hold every row exactly once, then write and return ``_manifest.json``."""
    import pyarrow.parquet as pq
    index = np.concatenate([pq.read_table(output / shard_name(k), columns=["index"]).column("index").to_numpy()
                            for k in range(len(ranges))]) if ranges else np.zeros(0, int)
    if len(index) != len(records) or not np.array_equal(np.sort(index), np.arange(len(records))):
        raise BatchError(f"{output}: the shards hold {len(index)} rows for {len(records)} inputs "
                         f"({len(index) - len(np.unique(index))} duplicated); rerun with --overwrite")
    status, types = _counts(records, job.kind)
    rows_scored = sum(ranges[k][1] - ranges[k][0] for k in range(len(ranges))) if n_scored else 0
    manifest = {
        "job": job_record,
        "engine": engine,
        "rows": len(records),
        "status_counts": status,
        "variant_type_counts": types,
        "error_examples": [r["message"] for r in records if r["status"] != "ok"][:5],
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
    }
    tmp = output / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, output / MANIFEST)
    return manifest
