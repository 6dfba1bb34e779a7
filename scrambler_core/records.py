"""The one reader of sequence and variant files: FASTA, CSV/TSV, text and VCF in, one row per record out.

Batch scoring, user models and the app pages all read files through :func:`read_records`.
"""
from __future__ import annotations

import gzip
import io
import os
import re
import zlib
from pathlib import Path
from typing import NamedTuple

from .sequences import (SequenceError, _convert_ut, get_alphabet, read_csv_column, read_fasta,
                        validate_sequence)

__all__ = ["Records", "read_records", "input_kind", "ON_ERROR"]

ON_ERROR = ("row", "raise")
TABLE_SUFFIXES = (".csv", ".tsv")
_SEQUENCE_SUFFIXES = TABLE_SUFFIXES + (".txt", ".fa", ".fasta", ".fna", ".faa", ".fas", ".ffn")
_IN_MEMORY_REFERENCE_BYTES = 256 * 1024 * 1024


class Records(NamedTuple):
    """What :func:`read_records` returns: ``kind, rows = read_records(...)``.

    Attributes
    ----------
    kind : {"sequence", "variant"}
        ``"variant"`` for a VCF, else ``"sequence"``.
    rows : list of dict
        One dict per record (per ALT allele for a VCF), in file order; see :func:`read_records`.
    """

    kind: str
    rows: list


# ============================================================================ sources

def input_kind(name) -> str:
    """``"variant"`` for a ``.vcf`` / ``.vcf.gz`` name, else ``"sequence"`` (``x.vcf.csv`` is a table)."""
    names = [s.lower() for s in Path(str(name)).suffixes]
    return "variant" if ".vcf" in names and _format_suffix(str(name)) not in _SEQUENCE_SUFFIXES else "sequence"


def _format_suffix(name: str) -> str:
    """The last suffix of ``name`` that is not ``.gz``, lower case (``''`` when none)."""
    suffixes = [s.lower() for s in Path(name).suffixes if s.lower() != ".gz"]
    return suffixes[-1] if suffixes else ""


def _open_text(path: Path) -> str:
    """Text of a file (``.gz`` decompressed); binary junk raises a SequenceError."""
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


def _decode(data, name: str) -> str:
    """Text of in-memory content: bytes (``.gz`` names decompressed), str, or a handle's ``read()``."""
    if hasattr(data, "read"):
        data = data.read()
    if isinstance(data, str):
        return data
    data = bytes(data)
    if name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise SequenceError(f"{name} cannot be read ({err or type(err).__name__})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SequenceError(f"{name} is not a text file (byte {err.start} is not UTF-8)") from None


class _Source:
    """A file path or in-memory content with the name that chooses its format and names it in messages."""

    def __init__(self, source, name=None):
        self.path = None
        if isinstance(source, (str, os.PathLike)):
            self.path = Path(source)
            self.name = self.path.name
            if self.path.is_dir():
                raise SequenceError(f"input {self.name} is a folder, not a file")
            if not self.path.is_file():
                raise SequenceError(f"input file not found: {self.name}")
            self._data = None
        else:
            self.name = str(name or getattr(source, "name", None) or "the uploaded file")
            self._data = source
        self._text = None

    def text(self) -> str:
        if self._text is None:
            self._text = _open_text(self.path) if self.path is not None else _decode(self._data, self.name)
        return self._text

    def csv_input(self):
        """What ``pandas.read_csv`` reads: the path, or the text in a buffer."""
        return self.path if self.path is not None else io.StringIO(self.text())


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


# ============================================================================ VCF and the reference genome

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


def _short_line_row(index: int, lineno: int, n_columns: int) -> dict:
    return _record(index, lineno, f"line_{lineno}", chrom="", pos=0, ref="", alt="", allele_index=0, n_alleles=0,
                   variant_type="none", window_start=0, window_end=0, ref_sequence="", alt_sequence="",
                   status="error", message=f"line {lineno}: {n_columns} columns; a VCF record needs at least 5 "
                                           "(CHROM POS ID REF ALT)")


def _variant_rows(source: _Source, fasta, alphabet, length, anchor) -> list[dict]:
    """Rows of a VCF, one per ALT allele, windows cut from ``fasta`` (see :func:`read_records`)."""
    anchor = length // 2 + 1 if anchor is None else int(anchor)
    if not 1 <= anchor <= length:
        raise SequenceError(f"anchor must be a window position between 1 and {length}, got {anchor}")
    text = source.text()
    reference = _Reference(fasta)
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        columns = [c.strip() for c in (line.split("\t") if "\t" in line else line.split())]
        if len(columns) < 5:
            rows.append(_short_line_row(len(rows), lineno, len(columns)))
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
        raise SequenceError(f"{source.name} has no VCF data lines (only '#' header or blank lines)")
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


def read_records(source, predictor_or_alphabet, *, fasta=None, column="sequence", anchor=None, on_error="row",
                 name=None, length=None, sep=None) -> Records:
    """Read a FASTA, CSV/TSV, text or VCF file into rows, one per record (per ALT allele for a VCF).

    The format follows the name: ``.vcf[.gz]`` is a VCF (needs ``fasta``); ``.csv``/``.tsv`` a table with
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
        Variant rows add ``chrom, pos, ref, alt, allele_index, n_alleles, variant_type, window_start,
        window_end, ref_sequence, alt_sequence`` (windows of length L; ``""`` on error rows).

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
        if not fasta:
            raise SequenceError("a VCF input needs the reference genome: give --fasta genome.fa")
        if length is None:
            raise SequenceError("a VCF input needs a window length: give a predictor or length=")
        rows = _variant_rows(src, fasta, alphabet, length, anchor)
    elif fasta:
        raise SequenceError("--fasta is only used with a VCF input (.vcf or .vcf.gz)")
    else:
        rows = _sequence_rows(src, alphabet, length, column, sep, on_error)
    if on_error == "raise":
        bad = next((r for r in rows if r["status"] != "ok"), None)
        if bad is not None:
            raise SequenceError(f"{src.name}: {bad['message']}")
    return Records(kind, rows)
