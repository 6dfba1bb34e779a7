"""The Ray engine of :func:`scrambler_core.batch.run.run_batch`: a pool of actors fed shard by shard.

Each actor loads the predictor and scrambler once and scores whole shards
(:func:`~scrambler_core.batch.scoring.score_records`, seeded by the shard number), so
its results equal the single-process engine's. The driver reads the input lazily and
keeps at most one shard per actor in flight (plus the one being read), so a
streamed VCF of millions of rows never sits whole in the driver or the object
store. Actors write their shards to the output folder themselves (temporary
file + rename), which must therefore be visible to every node of a cluster (a
shared file system); the driver keeps the manifest. Without ``ray_address`` a
local Ray instance is started and stopped; with one, the job joins that cluster.
"""
from __future__ import annotations

import os
from dataclasses import asdict

from .job import BatchError, BatchJob
from .scoring import load_models, score_records
from .shards import write_shard


class ShardScorer:
    """Ray actor: holds the models of one job; :meth:`score` scores and writes one shard."""

    def __init__(self, job: dict, output: str, metadata=None):
        self.job = BatchJob(**job)
        self.output = output
        self.metadata = metadata
        self.models = load_models(self.job)

    def score(self, shard: int, records: list) -> tuple[int, dict]:
        """Score ``records`` as shard ``shard``, write it; returns ``(shard, {file, rows, sha256})``."""
        table = score_records(records, self.models, self.job, int(shard))
        return int(shard), write_shard(self.output, int(shard), table, self.metadata)


def _start_ray(ray, ray_address) -> bool:
    """Join ``ray_address`` or start a local instance; True when this call started Ray."""
    if ray.is_initialized():
        return False
    options = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
    if ray_address:
        ray.init(address=ray_address, **options)
    else:
        ray.init(num_cpus=os.cpu_count() or 1, **options)
    return True


def run_shards_on_ray(job: BatchJob, chunks, n_todo: int, output, ray_address=None, workers=None, metadata=None):
    """Score shards on a Ray actor pool; yields ``(shard, {file, rows, sha256})`` as shards finish.

    Parameters
    ----------
    job : BatchJob
    chunks : iterable of (int, list of dict) — shards to score, read lazily
    n_todo : int — how many shards ``chunks`` yields (sizes the pool)
    output : Path — the output folder (shared by all nodes)
    ray_address : str, optional — an existing cluster
    workers : int, optional — actors (default one per GPU, else per CPU)
    metadata : dict of bytes, optional — Parquet schema metadata of every shard
    """
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:  # pragma: no cover -- ray is in requirements.txt
        raise BatchError("the Ray engine needs the 'ray' package (pip install 'ray[data]')") from None
    if not n_todo:
        return
    started_here = _start_ray(ray, ray_address)
    try:
        resources = ray.cluster_resources()
        use_gpu = resources.get("GPU", 0) >= 1
        size = int(workers or (resources.get("GPU") if use_gpu else max(1, resources.get("CPU", 1))))
        size = max(1, min(size, n_todo))
        actor = ray.remote(num_cpus=0 if use_gpu else 1, num_gpus=1 if use_gpu else 0)(ShardScorer)
        pool = ActorPool([actor.remote(asdict(job), str(output), metadata) for _ in range(size)])
        for shard, records in chunks:
            if not pool.has_free():
                yield pool.get_next_unordered()
            pool.submit(lambda a, item: a.score.remote(*item), (shard, records))
        while pool.has_next():
            yield pool.get_next_unordered()
    finally:
        if started_here:
            ray.shutdown()
