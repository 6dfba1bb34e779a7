"""Scoring one shard of batch rows: load the models once, then predictions and importances per row."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .job import BatchError, BatchJob, output_schema

__all__ = ["load_models", "score_records", "shard_seed"]

_MODELS: dict = {}
_MODELS_KEPT = 4


def _file_stamp(path):
    try:
        stat = Path(path).stat()
        return (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    except (OSError, TypeError):
        return str(path)


def load_models(job: BatchJob):
    """(predictor, scrambler or None) for a job; raises ModelFileError with the reason.

    The last few loaded pairs are kept in this process (keyed by names, paths and file times), so a
    second run reuses the compiled graphs instead of tracing them again.
    """
    key = (job.predictor, _file_stamp(job.predictor), _file_stamp(job.model_path), _file_stamp(job.scrambler),
           job.mode, job.objective, "scrambler" in job.methods)
    if key in _MODELS:
        models = _MODELS.pop(key)
    else:
        models = _load_models(job)
    _MODELS[key] = models
    while len(_MODELS) > _MODELS_KEPT:
        _MODELS.pop(next(iter(_MODELS)))
    if models[1] is not None:
        for bits in job.target_bits:
            models[1]._check_bits(bits)
    return models


def check_single_sequence(predictor) -> None:
    """Refuse a pair predictor (batch scoring reads one sequence per row)."""
    if predictor.is_pair:
        raise BatchError(f"{predictor.name} is a pair predictor; batch scoring takes single-sequence predictors "
                         "(pairs: python -m scrambler_core explain with a two-column CSV)")


def _load_models(job: BatchJob):
    from ..predictors.registry import load_predictor
    from ..scrambler.explain import load_scrambler
    predictor = load_predictor(job.predictor, path=job.model_path)
    check_single_sequence(predictor)
    scrambler = None
    if "scrambler" in job.methods:
        scrambler = load_scrambler(job.scrambler or job.predictor, mode=job.mode, objective=job.objective,
                                   predictor=predictor, path=job.model_path)
    return predictor, scrambler


def shard_seed(seed: int, shard: int) -> int:
    """The seed of shard ``shard`` of a job seeded ``seed`` (the same on every engine)."""
    return int((int(seed) * 1_000_003 + int(shard)) % (2 ** 31 - 1))


def _importances(x, predictor, scrambler, job: BatchJob, shard: int):
    """(prediction or None, {label: (importance (N, L), mean sample prediction, bits, faithful; the last three
    None for other methods than the scrambler)})."""
    from ..attribution import attribute, method_options
    prediction, per_label = None, {}
    for label, method, bits in job.labels():
        if method == "scrambler":
            explanation = scrambler.explain(x, target_bits=bits, n_samples=job.n_samples,
                                            seed=shard_seed(job.seed, shard), batch_size=job.batch_size,
                                            return_samples=False)
            prediction = explanation.prediction if prediction is None else prediction
            per_label[label] = (explanation.importance, explanation.mean_sample_prediction,
                                explanation.conservation, explanation.faithfulness.faithful)
        else:
            options = dict(job.method_options.get(method, {}))
            if "seed" in method_options(method):
                options.setdefault("seed", shard_seed(job.seed, shard))
            importance = attribute(predictor, x, method, **options)
            per_label[label] = ((importance * x).sum(-1), None, None, None)
    return prediction, per_label


def score_records(records, models, job: BatchJob, shard: int = 0):
    """Score one shard of rows: the same rows, job and shard give the same table on any engine.

    Parameters
    ----------
    records : list of dict — rows from :func:`scrambler_core.records.read_records`
    models : (Predictor, Scrambler or None) — from :func:`load_models`
    job : BatchJob
    shard : int — seeds the scrambler's samples

    Returns
    -------
    pyarrow.Table with :func:`~scrambler_core.batch.job.output_schema`
    """
    import pyarrow as pa

    from ..sequences import one_hot

    predictor, scrambler = models
    schema = output_schema(job)
    columns = {name: [r.get(name) for r in records] for name in schema.names if name in records[0]} \
        if records else {}
    n = len(records)
    for name in schema.names:
        columns.setdefault(name, [None] * n)
    ok = [k for k, r in enumerate(records) if r["status"] == "ok"]
    if ok:
        seqs = ([records[k]["ref_sequence"] for k in ok] + [records[k]["alt_sequence"] for k in ok]) \
            if job.kind == "variant" else [records[k]["sequence"] for k in ok]
        unique = list(dict.fromkeys(seqs))
        where = {s: j for j, s in enumerate(unique)}
        rows = np.array([where[s] for s in seqs])
        x = one_hot(unique, predictor.alphabet)
        prediction, per_label = _importances(x, predictor, scrambler, job, shard)
        if prediction is None:
            prediction = predictor.predict(x)
        _fill(columns, ok, rows, prediction, per_label, job, records)
    arrays = [pa.array(columns[name], type=schema.field(name).type) for name in schema.names]
    return pa.Table.from_arrays(arrays, schema=schema)


def _fill(columns, ok, rows, prediction, per_label, job, records):
    """Put the per-sequence results into the row columns."""
    m = len(ok)
    if job.kind != "variant":
        for j, k in enumerate(ok):
            columns["prediction"][k] = float(prediction[rows[j]])
        for label, (importance, sample, bits, faithful) in per_label.items():
            for j, k in enumerate(ok):
                columns[f"{label}_importance"][k] = importance[rows[j]].astype(np.float32)
                if sample is not None:
                    columns[f"{label}_sample_prediction"][k] = float(sample[rows[j]])
                    columns[f"{label}_bits"][k] = float(bits[rows[j]])
                    columns[f"{label}_faithful"][k] = bool(faithful[rows[j]])
        return
    ref_rows, alt_rows = rows[:m], rows[m:]
    for j, k in enumerate(ok):
        ref, alt = float(prediction[ref_rows[j]]), float(prediction[alt_rows[j]])
        columns["ref_prediction"][k], columns["alt_prediction"][k] = ref, alt
        columns["delta_prediction"][k] = alt - ref
    for label, (importance, sample, _, faithful) in per_label.items():
        for j, k in enumerate(ok):
            ref, alt = importance[ref_rows[j]].astype(np.float32), importance[alt_rows[j]].astype(np.float32)
            columns[f"{label}_ref_importance"][k] = ref
            columns[f"{label}_alt_importance"][k] = alt
            aligned = records[k]["variant_type"] in ("snv", "mnv")
            columns[f"{label}_delta_importance"][k] = (alt - ref) if aligned else None
            if sample is not None:
                columns[f"{label}_ref_sample_prediction"][k] = float(sample[ref_rows[j]])
                columns[f"{label}_alt_sample_prediction"][k] = float(sample[alt_rows[j]])
                columns[f"{label}_ref_faithful"][k] = bool(faithful[ref_rows[j]])
                columns[f"{label}_alt_faithful"][k] = bool(faithful[alt_rows[j]])
