"""The settings of a batch run (:class:`BatchJob`), its errors and the pyarrow schema of its shards."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..tables import method_label

__all__ = ["BatchError", "BatchJob", "default_batch_size", "output_schema"]

_SETTINGS = ("predictor", "model_path", "scrambler", "mode", "objective", "methods", "target_bits",
             "n_samples", "seed", "shard_size", "method_options", "kind", "anchor")


class BatchError(ValueError):
    """A batch job that cannot start or continue (settings, output folder); the message says why."""


def default_batch_size() -> int:
    """Sequences per compiled call: 512 when TensorFlow sees a GPU, else 64."""
    from ..runtime import tf
    return 512 if tf.config.list_physical_devices("GPU") else 64


@dataclass
class BatchJob:
    """Settings of a batch run (everything that changes its results), serialisable as JSON."""

    predictor: str
    kind: str = "sequence"
    methods: tuple = ("scrambler",)
    target_bits: tuple = (0.5,)
    n_samples: int = 32
    seed: int = 0
    shard_size: int = 1024
    batch_size: int = 64
    mode: str = "inclusion"
    objective: str = "reconstruct"
    model_path: str | None = None
    scrambler: str | None = None
    anchor: int | None = None
    method_options: dict = field(default_factory=dict)

    def __post_init__(self):
        from ..attribution import METHODS, method_options
        self.methods = tuple(self.methods)
        self.target_bits = tuple(float(b) for b in self.target_bits)
        if not self.methods:
            raise BatchError("give at least one method")
        for method in self.methods:
            if method not in METHODS:
                raise BatchError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
        for method, options in self.method_options.items():
            unknown = sorted(set(options) - set(method_options(method)))
            if unknown:
                raise BatchError(f"{method} does not take {', '.join(unknown)}; its options are "
                                 f"{', '.join(method_options(method))}")
        if "scrambler" in self.methods and not self.target_bits:
            raise BatchError("the scrambler needs at least one --target-bits value")
        if self.n_samples < 1 or self.shard_size < 1 or self.batch_size < 1:
            raise BatchError("n_samples, shard_size and batch_size must be at least 1")

    def labels(self) -> list[tuple[str, str, float | None]]:
        """(column label, method, bits) for each result: ``scrambler_0.5`` per target bits, else the method."""
        out = []
        for method in self.methods:
            if method == "scrambler":
                out += [(method_label(method, bits), method, bits) for bits in self.target_bits]
            else:
                out.append((method, method, None))
        return out

    def settings(self) -> dict:
        data = asdict(self)
        data["methods"], data["target_bits"] = list(self.methods), list(self.target_bits)
        return {k: data[k] for k in _SETTINGS}


def output_schema(job: BatchJob):
    """The pyarrow schema of every shard of ``job`` (see :mod:`scrambler_core.batch`)."""
    import pyarrow as pa
    vector = pa.list_(pa.float32())
    if job.kind == "variant":
        fields = [("index", pa.int64()), ("record", pa.int64()), ("id", pa.string()), ("chrom", pa.string()),
                  ("pos", pa.int64()), ("ref", pa.string()), ("alt", pa.string()), ("allele_index", pa.int32()),
                  ("n_alleles", pa.int32()), ("variant_type", pa.string()), ("filter", pa.string()),
                  ("window_start", pa.int64()), ("window_end", pa.int64()), ("strand", pa.string()),
                  ("region", pa.string()), ("status", pa.string()), ("message", pa.string()),
                  ("ref_sequence", pa.string()), ("alt_sequence", pa.string()), ("ref_prediction", pa.float64()),
                  ("alt_prediction", pa.float64()), ("delta_prediction", pa.float64())]
        for label, method, _ in job.labels():
            fields += [(f"{label}_ref_importance", vector), (f"{label}_alt_importance", vector),
                       (f"{label}_delta_importance", vector)]
            if method == "scrambler":
                fields += [(f"{label}_ref_sample_prediction", pa.float64()),
                           (f"{label}_alt_sample_prediction", pa.float64()),
                           (f"{label}_ref_faithful", pa.bool_()), (f"{label}_alt_faithful", pa.bool_())]
    else:
        fields = [("index", pa.int64()), ("record", pa.int64()), ("id", pa.string()), ("status", pa.string()),
                  ("message", pa.string()), ("sequence", pa.string()), ("prediction", pa.float64())]
        for label, method, _ in job.labels():
            fields.append((f"{label}_importance", vector))
            if method == "scrambler":
                fields += [(f"{label}_sample_prediction", pa.float64()), (f"{label}_bits", pa.float64()),
                           (f"{label}_faithful", pa.bool_())]
    return pa.schema(fields)
