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
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import sys
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .sequences import SequenceError, _convert_ut, get_alphabet, validate_sequence
from .hashing import sha256_file

__all__ = ["BatchJob", "read_sequence_records", "read_variant_records", "read_records", "run_batch",
           "read_results", "results_to_csv", "results_to_parquet", "score_records", "output_schema", "default_batch_size",
           "BatchError"]

MANIFEST = "_manifest.json"
JOB_FILE = "_job.json"
SHARD_PATTERN = re.compile(r"^part-(\d{5,})\.parquet$")
VARIANT_TYPES = ("snv", "mnv", "insertion", "deletion", "complex", "symbolic", "none")
_SETTINGS = ("predictor", "model_path", "scrambler", "mode", "objective", "methods", "target_bits",
             "n_samples", "seed", "shard_size", "method_options", "kind", "anchor")


class BatchError(ValueError):
    """A batch job that cannot start or continue (settings, output folder); the message says why."""


def default_batch_size() -> int:
    """Sequences per compiled call: 512 when TensorFlow sees a GPU, else 64."""
    from .runtime import tf
    return 512 if tf.config.list_physical_devices("GPU") else 64


# ============================================================================ inputs

def _record(index, record, identifier, **fields) -> dict:
    out = {"index": index, "record": record, "id": str(identifier), "status": "ok", "message": ""}
    out.update(fields)
    return out


def _open_text(path: Path):
    """Text lines of a file (``.gz`` decompressed); binary junk raises a SequenceError."""
    opener = gzip.open if path.suffix == ".gz" else open
    if path.is_dir():
        raise SequenceError(f"{path.name} is a folder, not a file")
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            return handle.read()
    except UnicodeDecodeError as err:
        raise SequenceError(f"{path.name} is not a text file (byte {err.start} is not UTF-8)") from None
    except (OSError, EOFError, zlib.error) as err:
        detail = str(err).replace(str(path), path.name) or type(err).__name__
        raise SequenceError(f"{path.name} cannot be read ({detail})") from None


def _checked_sequence(seq, predictor, name) -> tuple[str, str]:
    """(cleaned sequence, '') or (raw, reason)."""
    try:
        return validate_sequence(seq, predictor.alphabet, length=predictor.sequence_length, name=name), ""
    except SequenceError as err:
        return str(seq)[:10_000], str(err)


def read_sequence_records(path, predictor, column="sequence") -> list[dict]:
    """Rows of a FASTA (``.fa``, ``.fasta``, ``.fna``, ``.gz``) or CSV/TSV (column ``column``, optional ``id``) file.

    Each sequence is checked on its own: a bad one becomes a row with
    ``status="error"`` and the reason, the others are scored.

    Parameters
    ----------
    path : str or Path
    predictor : Predictor — gives the alphabet and the length L
    column : str — sequence column of a CSV/TSV

    Returns
    -------
    list of dict — ``index, record, id, status, message, sequence``

    Raises
    ------
    SequenceError
        The file as a whole cannot be read (not FASTA, not a table, missing column, empty).
    """
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    suffix = suffixes[-1] if suffixes else ""
    if suffix in (".csv", ".tsv"):
        import pandas as pd
        if path.is_dir():
            raise SequenceError(f"{path.name} is a folder, not a file")
        try:
            table = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError,
                zlib.error) as err:
            raise SequenceError(f"{path.name} is not a readable CSV/TSV table "
                                f"({str(err).splitlines()[0] if str(err) else type(err).__name__})") from None
        if column not in table.columns:
            raise SequenceError(f"{path.name} has no column {column!r}; its columns are "
                                f"{', '.join(map(str, table.columns[:8])) or 'none'}")
        ids = table["id"].tolist() if "id" in table.columns else [f"seq_{k + 1}" for k in range(len(table))]
        rows = []
        for k, (identifier, seq) in enumerate(zip(ids, table[column].tolist())):
            cleaned, reason = _checked_sequence(seq, predictor, None)
            rows.append(_record(k, k + 2, identifier or f"seq_{k + 1}", sequence=cleaned,
                                status="error" if reason else "ok", message=f"row {k + 2}: {reason}" if reason else ""))
        if not rows:
            raise SequenceError(f"{path.name} has no rows")
        return rows
    from Bio.SeqIO.FastaIO import SimpleFastaParser
    text = _open_text(path)
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first.startswith(">"):
        raise SequenceError(f"{path.name} is not FASTA: the first line should start with '>' "
                            f"(found {first[:40]!r}); CSV/TSV files need a .csv/.tsv name")
    rows = []
    for k, (title, seq) in enumerate(SimpleFastaParser(io.StringIO(text))):
        identifier = title.split()[0] if title.strip() else f"record_{k + 1}"
        cleaned, reason = _checked_sequence(seq, predictor, identifier)
        if not seq.strip():
            reason = f"sequence '{identifier}': empty record"
        rows.append(_record(k, k + 1, identifier, sequence=cleaned, status="error" if reason else "ok",
                            message=reason))
    if not rows:
        raise SequenceError(f"{path.name} has no FASTA records")
    return rows


_IN_MEMORY_REFERENCE_BYTES = 256 * 1024 * 1024


class _Reference:
    """A reference genome: indexed with pyfaidx (a ``.fai`` beside it); chromosome names match with or without ``chr``.

    A FASTA pyfaidx cannot index (uneven line lengths, Windows line endings, a read-only folder) is read
    into memory instead when it is at most 256 MB; larger ones get a message saying how to fix them.
    """

    def __init__(self, fasta):
        import pyfaidx
        path = Path(fasta)
        if not path.is_file():
            raise SequenceError(f"reference FASTA not found: {path.name}")
        self.path = path
        self.contigs = None
        try:
            self.fasta = pyfaidx.Fasta(str(path), as_raw=True, sequence_always_upper=True,
                                       rebuild=True, build_index=True)
            keys = list(self.fasta.keys())
        except (pyfaidx.FastaIndexingError, pyfaidx.UnsupportedCompressionFormat, UnicodeDecodeError,
                ValueError, OSError) as err:
            reason = str(err).replace(str(path), path.name).splitlines()[0] if str(err) else type(err).__name__
            if isinstance(err, UnicodeDecodeError):
                reason = f"byte {err.start} is not UTF-8 text"
            if path.stat().st_size > _IN_MEMORY_REFERENCE_BYTES or isinstance(err, UnicodeDecodeError):
                raise SequenceError(f"reference FASTA {path.name} cannot be indexed ({reason}); rewrap it so every "
                                    "sequence line has the same length (e.g. 60 letters), with Unix line ends, "
                                    "or bgzip it") from None
            keys = self._read_in_memory(reason)
        if not keys:
            raise SequenceError(f"reference FASTA {path.name} has no sequences")
        self.names = {}
        for name in keys:
            self.names[name] = name
            self.names.setdefault(_strip_chr(name), name)

    def _read_in_memory(self, reason) -> list:
        from Bio.SeqIO.FastaIO import SimpleFastaParser
        text = _open_text(self.path)
        if not text.lstrip().startswith(">"):
            raise SequenceError(f"reference FASTA {self.path.name} cannot be read ({reason}): it should start "
                                "with a '>' header line")
        self.contigs = {}
        for title, seq in SimpleFastaParser(io.StringIO(text)):
            if not title.strip():
                continue
            name = title.split()[0]
            if name in self.contigs:
                raise SequenceError(f"reference FASTA {self.path.name} has two sequences named '{name}'")
            self.contigs[name] = seq.replace("\r", "").replace(" ", "").upper()
        return list(self.contigs)

    def keys(self) -> list:
        return list(self.contigs) if self.contigs is not None else list(self.fasta.keys())

    def lookup(self, chrom):
        return self.names.get(chrom) or self.names.get(_strip_chr(chrom))

    def length(self, name) -> int:
        return len(self.contigs[name]) if self.contigs is not None else len(self.fasta[name])

    def fetch(self, name, start, end) -> str:
        """Letters at 1-based inclusive genomic positions start..end."""
        if self.contigs is not None:
            return self.contigs[name][start - 1:end]
        return str(self.fasta[name][start - 1:end])


def _strip_chr(name: str) -> str:
    return name[3:] if name.lower().startswith("chr") else name


def _variant_type(ref: str, alt: str) -> str:
    if alt in (".", "") or not ref:
        return "none"
    if alt == "*" or alt.startswith("<") or "[" in alt or "]" in alt:
        return "symbolic"
    if len(ref) == len(alt):
        return "snv" if len(ref) == 1 else "mnv"
    if len(ref) == 1 and alt[0] == ref[0]:
        return "insertion"
    if len(alt) == 1 and ref[0] == alt[0]:
        return "deletion"
    return "complex"


def read_variant_records(vcf, fasta, predictor, anchor=None) -> list[dict]:
    """Rows of a VCF (``.vcf`` or ``.vcf.gz``): one per ALT allele, with windows cut from a reference FASTA.

    The predictor's window (length L) is placed so the variant's first REF
    letter sits at window position ``anchor`` (1-based, default the middle,
    ``L // 2 + 1``). REF is checked against the reference. Substitutions (SNV,
    MNV) change the letters in place; an insertion or deletion is applied and
    the window refilled from the reference (or cut) to length L, so the
    letters after it shift (``*_delta_importance`` is then null).

    Parameters
    ----------
    vcf : str or Path
    fasta : str or Path — indexed with pyfaidx (a ``.fai`` is written beside it)
    predictor : Predictor
    anchor : int, optional

    Returns
    -------
    list of dict — ``index, record, id, chrom, pos, ref, alt, allele_index, n_alleles, variant_type,
    window_start, window_end, status, message, ref_sequence, alt_sequence``

    Raises
    ------
    SequenceError
        The VCF has no data lines or is not text, or the FASTA cannot be read.
    """
    length = predictor.sequence_length
    alphabet = predictor.alphabet
    anchor = length // 2 + 1 if anchor is None else int(anchor)
    if not 1 <= anchor <= length:
        raise SequenceError(f"anchor must be a window position between 1 and {length}, got {anchor}")
    vcf = Path(vcf)
    if not vcf.is_file():
        raise SequenceError(f"VCF file not found: {vcf.name}")
    text = _open_text(vcf)
    reference = _Reference(fasta)
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        columns = [c.strip() for c in (line.split("\t") if "\t" in line else line.split())]
        if len(columns) < 5:
            rows.append(_record(len(rows), lineno, f"line_{lineno}", chrom="", pos=0, ref="", alt="",
                                allele_index=0, n_alleles=0, variant_type="none", window_start=0, window_end=0,
                                ref_sequence="", alt_sequence="", status="error",
                                message=f"line {lineno}: {len(columns)} columns; a VCF record needs at least 5 "
                                        "(CHROM POS ID REF ALT)"))
            continue
        chrom, pos_text, vid, ref_text, alt_text = columns[:5]
        alts = alt_text.split(",")
        for k, alt_raw in enumerate(alts, start=1):
            ref = _convert_ut(ref_text.upper(), alphabet)
            alt = _convert_ut(alt_raw.upper(), alphabet)
            identifier = vid if vid not in (".", "") else f"{chrom}:{pos_text}:{ref_text}>{alt_raw}"
            if len(alts) > 1:
                identifier = f"{identifier}/{k}"
            row = _record(len(rows), lineno, identifier, chrom=chrom, pos=0, ref=ref, alt=alt, allele_index=k,
                          n_alleles=len(alts), variant_type=_variant_type(ref, alt), window_start=0,
                          window_end=0, ref_sequence="", alt_sequence="")
            reason = _place_variant(row, pos_text, reference, length, alphabet, anchor)
            if reason:
                row["status"], row["message"] = "error", f"line {lineno}: {reason}"
            rows.append(row)
    if not rows:
        raise SequenceError(f"{vcf.name} has no VCF data lines (only '#' header or blank lines)")
    return rows


def _place_variant(row, pos_text, reference, length, alphabet, anchor) -> str:
    """Fill the windows of one VCF allele; returns '' or the reason it cannot be scored."""
    if not re.fullmatch(r"[0-9]+", pos_text) or int(pos_text) < 1:
        return f"POS must be a positive whole number, got '{pos_text}'"
    pos = row["pos"] = int(pos_text)
    ref, alt, kind = row["ref"], row["alt"], row["variant_type"]
    name = reference.lookup(row["chrom"])
    if name is None:
        known = ", ".join(reference.keys()[:5])
        return f"chromosome '{row['chrom']}' is not in {reference.path.name} (it has {known})"
    if not ref or ref == "." or any(c not in alphabet.letters for c in ref):
        return f"REF '{ref}' must be letters of {alphabet.letters}" if ref else "the REF column is empty"
    if kind == "none":
        return "the record has no alternative allele ('.')"
    if kind == "symbolic":
        return f"ALT '{alt}' is a symbolic or breakend allele; only sequence alleles can be scored"
    bad = [c for c in alt if c not in alphabet.letters]
    if bad:
        return f"ALT '{alt}' has '{bad[0]}', which is not one of {', '.join(alphabet.letters)}"
    chrom_length = reference.length(name)
    start = pos - anchor + 1
    end = start + length - 1
    row["window_start"], row["window_end"] = start, end
    if pos + len(ref) - 1 > chrom_length:
        return f"POS {pos} (REF '{ref}') is past the end of {name} ({chrom_length:,} letters)"
    observed = reference.fetch(name, pos, pos + len(ref) - 1)
    if observed != ref:
        return f"REF '{ref}' does not match the reference, which has '{observed}' at {name}:{pos}"
    if start < 1 or end > chrom_length:
        return (f"the {length}-letter window {name}:{start}-{end} (variant at window position {anchor}) runs "
                f"past the {'start' if start < 1 else 'end'} of {name} ({chrom_length:,} letters)")
    if pos + len(ref) - 1 > end:
        return f"REF '{ref}' runs past the end of the {length}-letter window (ends at {end})"
    extra = max(0, len(ref) - len(alt))
    if end + extra > chrom_length:
        return f"the deletion needs letters past the end of {name} to refill the window"
    window = reference.fetch(name, start, end + extra)
    ref_window = window[:length]
    offset = pos - start
    alt_window = (window[:offset] + alt + window[offset + len(ref):])[:length]
    for which, seq in (("reference", ref_window), ("alternative", alt_window)):
        wrong = next((j for j, c in enumerate(seq) if c not in alphabet.letters), None)
        if wrong is not None:
            return (f"the {which} window has '{seq[wrong]}' at {name}:{start + wrong} (window position "
                    f"{wrong + 1}); windows must be {alphabet.letters} only")
    row["ref_sequence"], row["alt_sequence"] = ref_window, alt_window
    return ""


def _kind_of(path) -> str:
    names = [s.lower() for s in Path(path).suffixes]
    return "variant" if ".vcf" in names else "sequence"


def read_records(input_path, predictor, *, fasta=None, column="sequence", anchor=None) -> tuple[str, list[dict]]:
    """``("sequence" | "variant", rows)`` for any input the batch takes (VCF needs ``fasta``)."""
    kind = _kind_of(input_path)
    if Path(input_path).is_dir():
        raise SequenceError(f"input {Path(input_path).name} is a folder, not a file")
    if not Path(input_path).is_file():
        raise SequenceError(f"input file not found: {Path(input_path).name}")
    if kind == "variant":
        if not fasta:
            raise SequenceError("a VCF input needs the reference genome: give --fasta genome.fa")
        return kind, read_variant_records(input_path, fasta, predictor, anchor=anchor)
    if fasta:
        raise SequenceError("--fasta is only used with a VCF input (.vcf or .vcf.gz)")
    return kind, read_sequence_records(input_path, predictor, column=column)


# ============================================================================ the job

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
        from .attribution import METHODS, method_options
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
                out += [(f"scrambler_{bits:g}", method, bits) for bits in self.target_bits]
            else:
                out.append((method, method, None))
        return out

    def settings(self) -> dict:
        data = asdict(self)
        data["methods"], data["target_bits"] = list(self.methods), list(self.target_bits)
        return {k: data[k] for k in _SETTINGS}


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


def _load_models(job: BatchJob):
    from .predictors import load_predictor
    from .scrambler import load_scrambler
    predictor = load_predictor(job.predictor, path=job.model_path)
    if getattr(predictor, "is_pair", False):
        raise BatchError(f"{predictor.name} is a pair predictor; batch scoring takes single-sequence predictors "
                         "(pairs: python -m scrambler_core explain with a two-column CSV)")
    scrambler = None
    if "scrambler" in job.methods:
        scrambler = load_scrambler(job.scrambler or job.predictor, mode=job.mode, objective=job.objective,
                                   predictor=predictor, path=job.model_path)
    return predictor, scrambler


def output_schema(job: BatchJob):
    """The pyarrow schema of every shard of ``job`` (see the module docstring)."""
    import pyarrow as pa
    vector = pa.list_(pa.float32())
    if job.kind == "variant":
        fields = [("index", pa.int64()), ("record", pa.int64()), ("id", pa.string()), ("chrom", pa.string()),
                  ("pos", pa.int64()), ("ref", pa.string()), ("alt", pa.string()), ("allele_index", pa.int32()),
                  ("n_alleles", pa.int32()), ("variant_type", pa.string()), ("window_start", pa.int64()),
                  ("window_end", pa.int64()), ("status", pa.string()), ("message", pa.string()),
                  ("ref_sequence", pa.string()), ("alt_sequence", pa.string()), ("ref_prediction", pa.float64()),
                  ("alt_prediction", pa.float64()), ("delta_prediction", pa.float64())]
        for label, method, _ in job.labels():
            fields += [(f"{label}_ref_importance", vector), (f"{label}_alt_importance", vector),
                       (f"{label}_delta_importance", vector)]
            if method == "scrambler":
                fields += [(f"{label}_ref_sample_prediction", pa.float64()),
                           (f"{label}_alt_sample_prediction", pa.float64())]
    else:
        fields = [("index", pa.int64()), ("record", pa.int64()), ("id", pa.string()), ("status", pa.string()),
                  ("message", pa.string()), ("sequence", pa.string()), ("prediction", pa.float64())]
        for label, method, _ in job.labels():
            fields.append((f"{label}_importance", vector))
            if method == "scrambler":
                fields += [(f"{label}_sample_prediction", pa.float64()), (f"{label}_bits", pa.float64())]
    return pa.schema(fields)


def _shard_seed(seed: int, shard: int) -> int:
    return int((int(seed) * 1_000_003 + int(shard)) % (2 ** 31 - 1))


def score_records(records, models, job: BatchJob, shard: int = 0):
    """Score one shard of rows: the same rows, job and shard give the same table on any engine.

    Parameters
    ----------
    records : list of dict — rows from :func:`read_records`
    models : (Predictor, Scrambler or None) — from :func:`load_models`
    job : BatchJob
    shard : int — seeds the scrambler's samples

    Returns
    -------
    pyarrow.Table with :func:`output_schema`
    """
    import pyarrow as pa

    from .attribution import attribute, method_options
    from .sequences import one_hot

    predictor, scrambler = models
    schema = output_schema(job)
    columns = {name: [r.get(name) for r in records] for name in schema.names if name in records[0]} \
        if records else {}
    n = len(records)
    for name in schema.names:
        columns.setdefault(name, [None] * n)
    ok = [k for k, r in enumerate(records) if r["status"] == "ok"]
    variant = job.kind == "variant"
    if ok:
        seqs = ([records[k]["ref_sequence"] for k in ok] + [records[k]["alt_sequence"] for k in ok]) if variant \
            else [records[k]["sequence"] for k in ok]
        unique = list(dict.fromkeys(seqs))
        where = {s: j for j, s in enumerate(unique)}
        rows = np.array([where[s] for s in seqs])
        x = one_hot(unique, predictor.alphabet)
        prediction = None
        per_label = {}
        for label, method, bits in job.labels():
            if method == "scrambler":
                explanation = scrambler.explain(x, target_bits=bits, n_samples=job.n_samples,
                                                seed=_shard_seed(job.seed, shard), batch_size=job.batch_size,
                                                return_samples=False)
                prediction = explanation.prediction if prediction is None else prediction
                per_label[label] = (explanation.importance, explanation.mean_sample_prediction,
                                    explanation.conservation)
            else:
                options = dict(job.method_options.get(method, {}))
                if "seed" in method_options(method):
                    options.setdefault("seed", _shard_seed(job.seed, shard))
                importance = attribute(predictor, x, method, **options)
                per_label[label] = ((importance * x).sum(-1), None, None)
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
        for label, (importance, sample, bits) in per_label.items():
            for j, k in enumerate(ok):
                columns[f"{label}_importance"][k] = importance[rows[j]].astype(np.float32)
                if sample is not None:
                    columns[f"{label}_sample_prediction"][k] = float(sample[rows[j]])
                    columns[f"{label}_bits"][k] = float(bits[rows[j]])
        return
    ref_rows, alt_rows = rows[:m], rows[m:]
    for j, k in enumerate(ok):
        ref, alt = float(prediction[ref_rows[j]]), float(prediction[alt_rows[j]])
        columns["ref_prediction"][k], columns["alt_prediction"][k] = ref, alt
        columns["delta_prediction"][k] = alt - ref
    for label, (importance, sample, _) in per_label.items():
        for j, k in enumerate(ok):
            ref, alt = importance[ref_rows[j]].astype(np.float32), importance[alt_rows[j]].astype(np.float32)
            columns[f"{label}_ref_importance"][k] = ref
            columns[f"{label}_alt_importance"][k] = alt
            aligned = records[k]["variant_type"] in ("snv", "mnv")
            columns[f"{label}_delta_importance"][k] = (alt - ref) if aligned else None
            if sample is not None:
                columns[f"{label}_ref_sample_prediction"][k] = float(sample[ref_rows[j]])
                columns[f"{label}_alt_sample_prediction"][k] = float(sample[alt_rows[j]])


# ============================================================================ shards

def _shard_name(shard: int) -> str:
    return f"part-{shard:05d}.parquet"


def write_shard(output, shard: int, table) -> dict:
    """Write a shard atomically (temporary file, then rename); returns ``{file, rows, sha256}``."""
    import pyarrow.parquet as pq
    output = Path(output)
    final = output / _shard_name(shard)
    tmp = output / f".{final.name}.{os.getpid()}.tmp"
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, final)
    return {"file": final.name, "rows": table.num_rows, "sha256": sha256_file(final)}


def _shard_ranges(n: int, shard_size: int) -> list[tuple[int, int]]:
    return [(start, min(n, start + shard_size)) for start in range(0, n, shard_size)]


def _valid_shard(path: Path, start: int, stop: int) -> bool:
    """True when a shard file is readable Parquet holding exactly rows start..stop-1."""
    import pyarrow.parquet as pq
    try:
        index = pq.read_table(path, columns=["index"]).column("index").to_numpy()
    except Exception:  # noqa: BLE001 -- any unreadable file is recomputed
        return False
    return len(index) == stop - start and np.array_equal(index, np.arange(start, stop))


def _records_digest(records) -> str:
    digest = hashlib.sha256()
    for r in records:
        digest.update(json.dumps([r["id"], r.get("sequence", ""), r.get("ref_sequence", ""),
                                  r.get("alt_sequence", ""), r["status"]], separators=(",", ":")).encode())
    return digest.hexdigest()


def _prepare_output(output: Path, job_record: dict, resume: bool, overwrite: bool) -> None:
    if output.exists() and not output.is_dir():
        raise BatchError(f"output {output} exists and is a file; the output is a folder of Parquet shards")
    job_file = output / JOB_FILE
    if output.is_dir() and any(output.iterdir()):
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
    output.mkdir(parents=True, exist_ok=True)
    for stale in output.glob(".part-*.tmp"):
        stale.unlink()
    (output / MANIFEST).unlink(missing_ok=True)
    tmp = output / f".{JOB_FILE}.tmp"
    tmp.write_text(json.dumps(job_record, indent=2))
    os.replace(tmp, job_file)


class _Progress:
    """tqdm bar (rate and ETA) on stderr, a callable ``progress(done, total)``, or nothing."""

    def __init__(self, progress, total, done):
        self.callback = progress if callable(progress) else None
        self.bar = None
        self.done, self.total = done, total
        if progress is True:
            from tqdm import tqdm
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


def run_batch(input_path, output, predictor, *, fasta=None, methods=("scrambler",), target_bits=(0.5,),
              n_samples=32, seed=0, mode="inclusion", objective="reconstruct", model_path=None, scrambler=None,
              column="sequence", anchor=None, method_options=None, batch_size=None, shard_size=1024,
              engine="local", ray_address=None, workers=None, resume=False, overwrite=False, progress=True,
              on_shard=None) -> dict:
    """Score every row of a FASTA, CSV/TSV or VCF file and write a sharded Parquet dataset.

    Parameters
    ----------
    input_path : str or Path — ``.fa/.fasta/.fna[.gz]``, ``.csv``, ``.tsv`` or ``.vcf[.gz]``
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

    Returns
    -------
    dict — the manifest (also written to ``output/_manifest.json``)

    Raises
    ------
    SequenceError, BatchError, ModelFileError
        Input, settings or models that cannot be used (before anything is scored).
    """
    started = time.perf_counter()
    if engine not in ("local", "ray"):
        raise BatchError(f"engine must be 'local' or 'ray', got {engine!r}")
    from .predictors import load_predictor
    predictor_model = load_predictor(predictor, path=model_path)
    if getattr(predictor_model, "is_pair", False):
        raise BatchError(f"{predictor_model.name} is a pair predictor; batch scoring takes single-sequence "
                         "predictors (pairs: python -m scrambler_core explain with a two-column CSV)")
    kind, records = read_records(input_path, predictor_model, fasta=fasta, column=column, anchor=anchor)
    job = BatchJob(predictor=str(predictor), kind=kind, methods=methods, target_bits=target_bits,
                   n_samples=int(n_samples), seed=int(seed), shard_size=int(shard_size),
                   batch_size=int(batch_size or default_batch_size()), mode=mode, objective=objective,
                   model_path=str(model_path) if model_path else None,
                   scrambler=str(scrambler) if scrambler else None, anchor=anchor,
                   method_options=method_options or {})
    if engine == "local":
        models = load_models(job)
    else:
        load_models(job)  # fail early, before starting Ray
    output = Path(output)
    job_record = dict(job.settings(), input=str(Path(input_path).resolve()), rows=len(records),
                      records_sha256=_records_digest(records))
    _prepare_output(output, job_record, resume, overwrite)
    ranges = _shard_ranges(len(records), job.shard_size)
    done, recomputed = {}, 0
    for shard, (start, stop) in enumerate(ranges):
        path = output / _shard_name(shard)
        if path.exists():
            if _valid_shard(path, start, stop):
                done[shard] = {"file": path.name, "rows": stop - start, "sha256": sha256_file(path)}
            else:
                path.unlink()
                recomputed += 1
    todo = [k for k in range(len(ranges)) if k not in done]
    bar = _Progress(progress, len(records), sum(v["rows"] for v in done.values()))
    score_started = time.perf_counter()
    try:
        if engine == "local":
            for shard in todo:
                start, stop = ranges[shard]
                info = write_shard(output, shard, score_records(records[start:stop], models, job, shard))
                done[shard] = info
                bar.update(info["rows"])
                if on_shard:
                    on_shard(dict(info, shard=shard))
        else:
            from .batch_ray import run_shards_on_ray
            for shard, info in run_shards_on_ray(job, records, ranges, todo, output, ray_address, workers):
                done[shard] = info
                bar.update(info["rows"])
                if on_shard:
                    on_shard(dict(info, shard=shard))
    finally:
        bar.close()
    scored_seconds = time.perf_counter() - score_started
    return _write_manifest(output, job, job_record, records, ranges, done, recomputed, len(todo),
                           scored_seconds, time.perf_counter() - started, engine)


def _write_manifest(output, job, job_record, records, ranges, done, recomputed, n_scored, scored_seconds,
                    seconds, engine) -> dict:
    import pyarrow.parquet as pq
    index = np.concatenate([pq.read_table(output / _shard_name(k), columns=["index"]).column("index").to_numpy()
                            for k in range(len(ranges))]) if ranges else np.zeros(0, int)
    if len(index) != len(records) or not np.array_equal(np.sort(index), np.arange(len(records))):
        raise BatchError(f"{output}: the shards hold {len(index)} rows for {len(records)} inputs "
                         f"({len(index) - len(np.unique(index))} duplicated); rerun with --overwrite")
    status = {}
    types = {}
    for r in records:
        status[r["status"]] = status.get(r["status"], 0) + 1
        if job.kind == "variant":
            types[r["variant_type"]] = types.get(r["variant_type"], 0) + 1
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


# ============================================================================ reading results

def read_results(output):
    """The rows of a batch output as a pandas DataFrame in input order (list columns hold numpy arrays)."""
    import pyarrow.parquet as pq
    output = Path(output)
    files = sorted(p for p in output.glob("part-*.parquet") if SHARD_PATTERN.match(p.name))
    if not files:
        raise BatchError(f"{output} holds no result shards")
    import pyarrow as pa
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
