"""Batch scoring: FASTA / CSV / VCF in, a sharded Parquet dataset out, resumable, on one machine or on Ray.

>>> summary = run_batch("variants.vcf", "results.parquet", "polya", fasta="genome.fa",
...                     methods=("scrambler", "ism"), target_bits=(0.25, 0.5))   # doctest: +SKIP
>>> frame = read_results("results.parquet")                                       # doctest: +SKIP

The output is a directory of Parquet shards (``part-00000.parquet``, ...), one
per ``shard_size`` input rows, plus ``_job.json`` (the settings) and, when the
run is complete, ``_manifest.json`` (counts and SHA-256 checksums). pandas and
pyarrow read the directory as one table (files starting with ``_`` are
ignored). Each shard is written to a temporary file and renamed, so a shard is
either complete or absent: a run that was interrupted (Ctrl-C, kill, crash)
continues with ``resume=True`` and ends with every input row exactly once.

Rows
----
One row per input sequence, or per VCF ALT allele (a multi-allelic record
gives one row per allele, ``allele_index`` 1..``n_alleles``). A row that
cannot be scored (bad letters, wrong length, reference mismatch, symbolic
allele, window past the chromosome end) is kept with ``status="error"`` and a
``message`` naming what is wrong; nothing is dropped silently.

Columns (sequence input): ``index, record, id, status, message, sequence,
prediction`` and per method. Columns (VCF input): ``index, record, id, chrom,
pos, ref, alt, allele_index, n_alleles, variant_type, window_start,
window_end, status, message, ref_sequence, alt_sequence, ref_prediction,
alt_prediction, delta_prediction`` and per method. Method columns, with
``LABEL`` = ``scrambler_<bits>`` (one per target bits) or the method name:

* ``LABEL_importance`` (sequences) or ``LABEL_ref_importance``,
  ``LABEL_alt_importance``, ``LABEL_delta_importance`` (variants; alt − ref,
  null for indels, whose positions do not line up): list<float32> of length L,
  the score of the observed letter at each position;
* scrambler only: ``LABEL_sample_prediction`` and ``LABEL_bits`` (sequences),
  ``LABEL_ref_sample_prediction`` and ``LABEL_alt_sample_prediction``
  (variants): mean prediction over the samples, realised bits.

Modules: :mod:`.job` (settings, schema), :mod:`.scoring` (one shard), :mod:`.shards` (the output
folder), :mod:`.local` and :mod:`.ray_engine` (how shards are run; Ray is imported only by the Ray
engine), :mod:`.run` (the driver and result readers). Inputs are read by
:func:`scrambler_core.records.read_records` with ``on_error="row"``.
"""
from __future__ import annotations

from ..records import read_records
from .job import BatchError, BatchJob, default_batch_size, output_schema
from .run import read_results, results_to_csv, results_to_parquet, run_batch
from .scoring import load_models, score_records
from .shards import write_shard

__all__ = ["BatchJob", "read_records", "run_batch", "read_results", "results_to_csv", "results_to_parquet",
           "score_records", "output_schema", "default_batch_size", "BatchError", "load_models", "write_shard"]
