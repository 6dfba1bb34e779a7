"""The Ray engine of :func:`scrambler_core.batch.run.run_batch`: Ray Data ``map_batches`` over an actor pool.

Each actor loads the predictor and scrambler once and scores whole shards
(:func:`~scrambler_core.batch.scoring.score_records`, seeded by the shard number), so
its results equal the single-process engine's. Actors write their shards to
the output folder themselves (temporary file + rename), which must therefore
be visible to every node of a cluster (a shared file system); the driver keeps
the manifest. Without ``ray_address`` a local Ray instance is started and
stopped; with one, the job joins that cluster.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict

import numpy as np

from .job import BatchError, BatchJob
from .scoring import load_models, score_records
from .shards import write_shard


class ShardScorer:
    """Ray Data actor: holds the models of one job; each batch row is one shard to score and write."""

    def __init__(self, job: dict, output: str):
        self.job = BatchJob(**job)
        self.output = output
        self.models = load_models(self.job)

    def __call__(self, batch: dict) -> dict:
        shards, rows, digests, files = [], [], [], []
        for shard, payload in zip(batch["shard"], batch["payload"]):
            records = json.loads(payload)
            info = write_shard(self.output, int(shard), score_records(records, self.models, self.job, int(shard)))
            shards.append(int(shard))
            rows.append(info["rows"])
            digests.append(info["sha256"])
            files.append(info["file"])
        return {"shard": np.array(shards), "rows": np.array(rows), "sha256": np.array(digests),
                "file": np.array(files)}


def run_shards_on_ray(job: BatchJob, records, ranges, todo, output, ray_address=None, workers=None):
    """Score the shards ``todo`` on Ray; yields ``(shard, {file, rows, sha256})`` as shards finish."""
    try:
        import ray
        import ray.data
    except ImportError:  # pragma: no cover -- ray is in requirements.txt
        raise BatchError("the Ray engine needs the 'ray[data]' package (pip install 'ray[data]')") from None
    if not todo:
        return
    started_here = False
    if not ray.is_initialized():
        options = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
        if ray_address:
            ray.init(address=ray_address, **options)
        else:
            ray.init(num_cpus=os.cpu_count() or 1, **options)
        started_here = True
    try:
        import logging
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        resources = ray.cluster_resources()
        use_gpu = resources.get("GPU", 0) >= 1
        size = int(workers or (resources.get("GPU") if use_gpu else max(1, resources.get("CPU", 1) // 1)))
        size = max(1, min(size, len(todo)))
        items = [{"shard": k, "payload": json.dumps(records[ranges[k][0]:ranges[k][1]])} for k in todo]
        dataset = ray.data.from_items(items, override_num_blocks=len(items))
        scored = dataset.map_batches(
            ShardScorer, batch_size=1, batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=size),
            fn_constructor_kwargs={"job": asdict(job), "output": str(output)},
            num_cpus=0 if use_gpu else 1, num_gpus=1 if use_gpu else 0)
        for row in scored.iter_rows():
            yield int(row["shard"]), {"file": str(row["file"]), "rows": int(row["rows"]),
                                      "sha256": str(row["sha256"])}
    finally:
        if started_here:
            ray.shutdown()
