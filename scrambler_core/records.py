"""The one reader of sequence and variant files: FASTA, CSV/TSV, text and VCF/BCF in, one row per record out.

Batch scoring, user models and the app pages all read files through :func:`read_records`. VCF/BCF
rows (windows cut from a reference, optionally on strand-aware BED regions) come from
:mod:`scrambler_core.genome.vcf`, which streams the file.
"""
from __future__ import annotations

import io
import os
import zlib
from pathlib import Path
from typing import NamedTuple

from .sequences import SequenceError, get_alphabet, read_csv_column, read_fasta, validate_sequence
from .sources import Source as _Source
from .sources import format_suffix as _format_suffix
from .sources import new_row as _record

__all__ = ["Records", "read_records", "input_kind", "ON_ERROR"]

ON_ERROR = ("row", "raise")
TABLE_SUFFIXES = (".csv", ".tsv")
_SEQUENCE_SUFFIXES = TABLE_SUFFIXES + (".txt", ".fa", ".fasta", ".fna", ".faa", ".fas", ".ffn")


class Records(NamedTuple):
    """What :func:`read_records` returns: ``kind, rows = read_records(...)``.

    Attributes
    ----------
    kind : {"sequence", "variant"}
        ``"variant"`` for a VCF, else ``"sequence"``.
    rows : list of dict, or VariantRows
        One dict per record (per ALT allele for a VCF), in file order; see :func:`read_records`. With
        ``stream=True`` a VCF's rows are a :class:`~scrambler_core.genome.vcf.VariantRows`: an iterable
        that reads the file afresh on each pass, never holding all rows.
    """

    kind: str
    rows: list


# ============================================================================ sources

def input_kind(name) -> str:
    """``"variant"`` for a ``.vcf`` / ``.vcf.gz`` / ``.bcf`` name, else ``"sequence"`` (``x.vcf.csv`` is a table)."""
    names = [s.lower() for s in Path(str(name)).suffixes]
    if _format_suffix(str(name)) in _SEQUENCE_SUFFIXES:
        return "sequence"
    return "variant" if ".vcf" in names or ".bcf" in names else "sequence"


# ============================================================================ sequence files

def _record(index, record, identifier, **fields) -> dict:
    out = {"index": index, "record": record, "id": str(identifier), "status": "ok", "message": ""}
    out.update(fields)
    return out


def _checked_sequence(seq, alphabet, length, name) -> tuple[str, str]:
    """(cleaned sequence, '') or (raw, reason)."""
    try:
        return validate_sequence(seq, alphabet, length=length, name=name), ""
    except SequenceError as err:
        return str(seq)[:10_000], str(err)


def _load_table(source: _Source, sep: str):
    import pandas as pd
    try:
        return pd.read_csv(source.csv_input(), sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError,
            zlib.error) as err:
        raise SequenceError(f"{source.name} is not a readable CSV/TSV table "
                            f"({str(err).splitlines()[0] if str(err) else type(err).__name__})") from None


def _table_rows(source: _Source, alphabet, length, column, sep) -> list[dict]:
    """Rows of a CSV/TSV, a bad sequence kept as an error row (``record`` is the file line, header = 1)."""
    table = _load_table(source, sep)
    if column not in table.columns:
        raise SequenceError(f"{source.name} has no column {column!r}; its columns are "
                            f"{', '.join(map(str, table.columns[:8])) or 'none'}")
    ids = table["id"].tolist() if "id" in table.columns else [f"seq_{k + 1}" for k in range(len(table))]
    rows = []
    for k, (identifier, seq) in enumerate(zip(ids, table[column].tolist())):
        cleaned, reason = _checked_sequence(seq, alphabet, length, None)
        rows.append(_record(k, k + 2, identifier or f"seq_{k + 1}", sequence=cleaned,
                            status="error" if reason else "ok", message=f"row {k + 2}: {reason}" if reason else ""))
    if not rows:
        raise SequenceError(f"{source.name} has no rows")
    return rows


def _fasta_rows(source: _Source, alphabet, length) -> list[dict]:
    """Rows of a FASTA, a bad, empty or unnamed record kept as a row (``record`` counts records from 1)."""
    from Bio.SeqIO.FastaIO import SimpleFastaParser
    text = source.text()
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first.startswith(">"):
        raise SequenceError(f"{source.name} is not FASTA: the first line should start with '>' "
                            f"(found {first[:40]!r}); CSV/TSV files need a .csv/.tsv name")
    rows = []
    for k, (title, seq) in enumerate(SimpleFastaParser(io.StringIO(text))):
        identifier = title.split()[0] if title.strip() else f"record_{k + 1}"
        cleaned, reason = _checked_sequence(seq, alphabet, length, identifier)
        if not seq.strip():
            reason = f"sequence '{identifier}': empty record"
        rows.append(_record(k, k + 1, identifier, sequence=cleaned, status="error" if reason else "ok",
                            message=reason))
    if not rows:
        raise SequenceError(f"{source.name} has no FASTA records")
    return rows


def _strict_sequence_rows(source: _Source, alphabet, length, column, sep) -> list[dict]:
    """Rows of a sequence file where the first bad record (or a duplicate id) raises, naming file and record.

    Tables go through :func:`~scrambler_core.sequences.read_csv_column` (messages ``"x.csv: row 3: ..."``,
    data rows from 1), FASTA through :func:`~scrambler_core.sequences.read_fasta`, and a ``.txt`` without
    ``>`` headers is one sequence per line (``"sequence 'line 3 of x.txt': ..."``). A message that does
    not name the file yet starts with ``"<file name>: "``.
    """
    try:
        return _strict_rows(source, alphabet, length, column, sep)
    except SequenceError as err:
        if source.name in str(err):
            raise
        raise SequenceError(f"{source.name}: {err}") from None


def _strict_rows(source: _Source, alphabet, length, column, sep) -> list[dict]:
    text = source.text().lstrip("\ufeff")
    suffix = _format_suffix(source.name)
    if suffix in TABLE_SUFFIXES:
        pairs = read_csv_column(io.StringIO(text), column, alphabet=alphabet, length=length, sep=sep)
        return [_record(k, k + 2, rid, sequence=seq) for k, (rid, seq) in enumerate(pairs)]
    if suffix == ".txt" and not any(ln.lstrip().startswith(">") for ln in text.splitlines()):
        lines = [(k, line) for k, line in enumerate(text.splitlines(), start=1) if line.strip()]
        return [_record(j, k, f"line{k}", sequence=validate_sequence(line, alphabet, length=length,
                                                                     name=f"line {k} of {source.name}"))
                for j, (k, line) in enumerate(lines)]
    handle = io.StringIO(text)
    handle.name = source.name
    pairs = read_fasta(handle, alphabet, length=length)
    return [_record(k, k + 1, rid, sequence=seq) for k, (rid, seq) in enumerate(pairs)]


# ============================================================================ the reader

def _alphabet_and_length(predictor_or_alphabet, length):
    """(Alphabet, L or None) from a predictor (``.alphabet``, ``.sequence_length``) or an alphabet."""
    if hasattr(predictor_or_alphabet, "sequence_length") and hasattr(predictor_or_alphabet, "alphabet"):
        length = predictor_or_alphabet.sequence_length if length is None else length
        return get_alphabet(predictor_or_alphabet.alphabet), length
    return get_alphabet(predictor_or_alphabet), length


def _sequence_rows(source: _Source, alphabet, length, column, sep, on_error) -> list[dict]:
    """Rows of a FASTA, CSV/TSV or text file in the given ``on_error`` mode."""
    suffix = _format_suffix(source.name)
    sep = sep or ("\t" if suffix == ".tsv" else ",")
    if on_error == "raise":
        return _strict_sequence_rows(source, alphabet, length, column, sep)
    if suffix in TABLE_SUFFIXES:
        return _table_rows(source, alphabet, length, column, sep)
    return _fasta_rows(source, alphabet, length)


def _variant_rows(src, fasta, alphabet, length, anchor, regions, on_error):
    """The VariantRows of a VCF/BCF, on BED ``regions`` (a path or an upload's content) when given."""
    from .genome.regions import read_regions
    from .genome.vcf import VariantRows
    if not fasta:
        raise SequenceError("a VCF input needs the reference genome: give --fasta genome.fa")
    if length is None:
        raise SequenceError("a VCF input needs a window length: give a predictor or length=")
    if regions is not None:
        if anchor is not None:
            raise SequenceError("--anchor is not used with --regions: the regions give the windows")
        regions = read_regions(regions, length, name=None if isinstance(regions, (str, os.PathLike)) else "regions.bed")
    return VariantRows(src, fasta, alphabet, length, anchor, regions, on_error)


def read_records(source, predictor_or_alphabet, *, fasta=None, column="sequence", anchor=None, on_error="row",
                 name=None, length=None, sep=None, regions=None, stream=False) -> Records:
    """Read a FASTA, CSV/TSV, text or VCF/BCF file into rows, one per record (per ALT allele for a VCF).

    The format follows the name: ``.vcf[.gz]`` or ``.bcf`` is a VCF (needs ``fasta``; a text VCF, plain,
    gzip or bgzip, is streamed line by line, a BCF decoded by htslib through cyvcf2); ``.csv``/``.tsv`` a table with
    the sequences in ``column`` (ids from an ``id`` column when there is one); anything else FASTA
    (``.gz`` is decompressed). With ``on_error="raise"`` a ``.txt`` without ``>`` headers holds one
    sequence per line.

    Parameters
    ----------
    source : str, os.PathLike, bytes or file-like
        A path (a ``str`` is always a path), or the content of an upload (bytes or a text/binary handle)
        together with ``name``.
    predictor_or_alphabet : Predictor, Alphabet or str
        A predictor gives the alphabet and the length L every sequence (VCF window) must have; an
        alphabet (``"dna"``) reads sequences of any length unless ``length`` is given.
    fasta : str or Path, optional
        Reference genome of a VCF (indexed with pyfaidx, a ``.fai`` is written beside it).
    column : str
        Sequence column of a CSV/TSV.
    anchor : int, optional
        VCF: 1-based window position of the variant's first REF letter (default the middle, ``L // 2 + 1``).
        An insertion or deletion is applied and the window refilled from the reference (or cut) to L.
    regions : str, Path, bytes or file-like, optional
        VCF: BED6 regions, each L long (:func:`~scrambler_core.genome.regions.read_regions`); a variant
        gets one row per region holding it, on that region's window read 5'→3' on its strand, or an error
        row ``"no region of regions.bed contains chr1:12345"``. Not used with ``anchor``.
    stream : bool — VCF: rows as a re-iterable stream (bounded memory) instead of a list.
    on_error : {"row", "raise"}
        ``"row"`` (what batch scoring uses): a record that cannot be used becomes a row with
        ``status="error"`` and a ``message`` saying why (``"line 9: REF 'A' does not match ..."``,
        ``"row 5: 'X' at position 3 ..."``, ``"sequence 's2': ..."``); duplicate ids are kept.
        ``"raise"`` (what user models use): the first bad record raises :class:`SequenceError` naming the
        file and the record (``"x.csv: row 12: sequence has length 15 ..."`` counting data rows,
        ``"x.fa: sequence 's6': 'X' at position 5 ..."``, ``"v.vcf: line 3: ..."``); duplicate FASTA ids
        are refused, and table rows get ids ``row1``, ``row2``, ... (an ``id`` column is not read).
    name : str, optional
        File name of in-memory content (chooses the format, names the file in messages).
    length : int, optional
        Required sequence length when ``predictor_or_alphabet`` is an alphabet (overrides a predictor's).
    sep : str, optional
        Table separator (default a tab for ``.tsv``, else a comma).

    Returns
    -------
    Records
        ``(kind, rows)``: ``kind`` is ``"sequence"`` or ``"variant"``; ``rows`` a list of N dicts in file
        order. Every row holds ``index`` (0..N-1), ``record`` (FASTA: record number from 1; table: file
        line, header = 1; text: line; VCF: line), ``id``, ``status`` (``"ok"``/``"error"``), ``message``
        (``""`` when ok). Sequence rows add ``sequence`` (cleaned, length L, U read as T for DNA).
        Variant rows add ``chrom, pos, ref, alt, allele_index, n_alleles, variant_type, filter,
        window_start, window_end, strand, region, ref_sequence, alt_sequence`` (see
        :mod:`scrambler_core.genome.vcf`; windows of length L read on ``strand``, ``""`` on error rows).

    Raises
    ------
    SequenceError
        The file as a whole cannot be read (missing, a folder, binary, not FASTA, not a table, missing
        column, no records, a VCF without ``fasta``, an unreadable reference, a bad ``anchor``), and with
        ``on_error="raise"`` the first bad record.
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be 'row' or 'raise', got {on_error!r}")
    src = _Source(source, name)
    kind = input_kind(src.name)
    alphabet, length = _alphabet_and_length(predictor_or_alphabet, length)
    if kind == "variant":
        rows = _variant_rows(src, fasta, alphabet, length, anchor, regions, on_error)
        return Records(kind, rows if stream else list(rows))
    if fasta or regions is not None:
        raise SequenceError(f"--{'fasta' if fasta else 'regions'} is only used with a VCF input (.vcf, .vcf.gz "
                            "or .bcf)")
    rows = _sequence_rows(src, alphabet, length, column, sep, on_error)
    if on_error == "raise":
        bad = next((r for r in rows if r["status"] != "ok"), None)
        if bad is not None:
            raise SequenceError(f"{src.name}: {bad['message']}")
    return Records(kind, rows)
