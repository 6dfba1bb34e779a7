"""The single-process engine of :func:`scrambler_core.batch.run.run_batch`: shards scored one after another."""
from __future__ import annotations

from .scoring import score_records
from .shards import write_shard

__all__ = ["run_shards_locally"]


def run_shards_locally(job, chunks, output, models, metadata=None):
    """Score shards in this process, one in memory at a time; yields ``(shard, {file, rows, sha256})``.

    Parameters
    ----------
    job : BatchJob
    chunks : iterable of (int, list of dict) — each shard to score and its rows
        (:func:`~scrambler_core.batch.shards.shard_chunks`)
    output : Path — the output folder
    models : (Predictor, Scrambler or None) — from :func:`~scrambler_core.batch.scoring.load_models`
    metadata : dict of bytes, optional — Parquet schema metadata of every shard (provenance)
    """
    for shard, records in chunks:
        yield shard, write_shard(output, shard, score_records(records, models, job, shard), metadata)
