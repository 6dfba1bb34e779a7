"""The single-process engine of :func:`scrambler_core.batch.run.run_batch`: shards scored one after another."""
from __future__ import annotations

from .scoring import score_records
from .shards import write_shard

__all__ = ["run_shards_locally"]


def run_shards_locally(job, records, ranges, todo, output, models):
    """Score the shards ``todo`` in this process; yields ``(shard, {file, rows, sha256})`` as shards finish.

    Parameters
    ----------
    job : BatchJob
    records : list of dict — all rows of the input
    ranges : list of (start, stop) — row range of each shard
    todo : list of int — the shards to score
    output : Path — the output folder
    models : (Predictor, Scrambler or None) — from :func:`~scrambler_core.batch.scoring.load_models`
    """
    for shard in todo:
        start, stop = ranges[shard]
        yield shard, write_shard(output, shard, score_records(records[start:stop], models, job, shard))
