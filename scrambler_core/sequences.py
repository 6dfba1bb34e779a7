"""Sequence input: alphabets, cleaning, validation, one-hot encoding and readers.

Small, separate functions in the style of tangermeme. One-hot arrays are
``float32`` with shape ``(N, L, A)``: ``N`` sequences, ``L`` positions and
``A`` letters of the alphabet (4 for DNA/RNA, 20 for protein).

Everything a user can get wrong raises :class:`SequenceError` (a
``ValueError``) whose message names the problem, the 1-based position and,
for input with several records, the record id, row or line.

Positions in messages count letters of the *cleaned* sequence (whitespace and
digits removed), which for a GenBank-style paste is the GenBank numbering.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import string
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "SequenceError",
    "Alphabet",
    "DNA",
    "RNA",
    "PROTEIN",
    "get_alphabet",
    "clean_sequence",
    "validate_sequence",
    "fit_length",
    "one_hot",
    "decode",
    "parse_text",
    "read_fasta",
    "read_csv_column",
    "read_sequences",
]


class SequenceError(ValueError):
    """A sequence, or a file or text of sequences, that cannot be used.

    The message is meant to be shown to the user as it is.
    """


@dataclass(frozen=True)
class Alphabet:
    """An ordered set of letters; the order is the one-hot column order.

    Parameters
    ----------
    name : str
        ``"dna"``, ``"rna"`` or ``"protein"``.
    letters : str
        The letters in column order, e.g. ``"ACGT"``.
    """

    name: str
    letters: str

    @property
    def size(self) -> int:
        """Number of letters, ``A`` in the ``(N, L, A)`` shape."""
        return len(self.letters)

    @property
    def ambiguous(self) -> str:
        """The letter for "any letter": ``'X'`` for protein, else ``'N'``."""
        return "X" if self.name == "protein" else "N"

    @property
    def unit(self) -> str:
        """What one position is called in messages (plural)."""
        return "residues" if self.name == "protein" else "nucleotides"


DNA = Alphabet("dna", "ACGT")
RNA = Alphabet("rna", "ACGU")
PROTEIN = Alphabet("protein", "ACDEFGHIKLMNPQRSTVWY")

_ALPHABETS = {a.name: a for a in (DNA, RNA, PROTEIN)}

_STRIP = re.compile(r"[\s0-9]+")
# control characters (tab, CR and LF excepted) and the Unicode replacement char
_JUNK = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")

# Upper-casing touches ASCII letters only: str.upper() turns some non-ASCII letters into ASCII
# ones ('ı' -> 'I', 'ſ' -> 'S', the ligature 'ﬁ' -> 'FI'), which would let look-alikes pass as
# protein letters and make messages show a letter the user never typed.
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)

_FASTA_SUFFIXES = {".fa", ".fasta", ".fna", ".faa", ".fas", ".ffn"}
_CSV_SUFFIXES = {".csv", ".tsv"}
_TXT_SUFFIXES = {".txt"}


def get_alphabet(alphabet) -> Alphabet:
    """Return an :class:`Alphabet` from itself or its name.

    Parameters
    ----------
    alphabet : Alphabet or str
        An alphabet, or one of ``"dna"``, ``"rna"``, ``"protein"``
        (case-insensitive).

    Returns
    -------
    Alphabet

    Raises
    ------
    ValueError
        For an unknown name; the message lists the choices.
    """
    if isinstance(alphabet, Alphabet):
        return alphabet
    if isinstance(alphabet, str) and alphabet.strip().lower() in _ALPHABETS:
        return _ALPHABETS[alphabet.strip().lower()]
    raise ValueError(
        f"unknown alphabet {alphabet!r}; choose one of: {', '.join(_ALPHABETS)}"
    )


# --------------------------------------------------------------------------
# cleaning and validation of one sequence
# --------------------------------------------------------------------------


def _upper(text: str) -> str:
    """``text`` with its ASCII letters upper-cased; every other character is kept as it is."""
    return text.upper() if text.isascii() else text.translate(_ASCII_UPPER)


def _prefix(name) -> str:
    return "" if name is None else f"sequence '{name}': "


def _convert_ut(seq: str, alphabet: Alphabet) -> str:
    if alphabet.name == "dna":
        return seq.replace("U", "T")
    if alphabet.name == "rna":
        return seq.replace("T", "U")
    return seq


def clean_sequence(text, alphabet="dna", *, name=None) -> str:
    """Clean a bare pasted sequence.

    Removes all whitespace (newlines included) and digits, so a GenBank-style
    paste such as ``"1 acgtacgtac 61 ..."`` works, and uppercases ASCII letters
    (other characters are kept, so a look-alike such as ``'ı'`` stays itself and
    is refused by :func:`validate_sequence`). For DNA
    ``U`` is read as ``T``; for RNA ``T`` is read as ``U``. Letters are not
    checked here (see :func:`validate_sequence`).

    Parameters
    ----------
    text : str
        The pasted text.
    alphabet : Alphabet or str, optional
        Alphabet the sequence is meant for. Default ``"dna"``.
    name : str, optional
        Record id used in error messages.

    Returns
    -------
    str
        The cleaned sequence, length ``L``.

    Raises
    ------
    SequenceError
        ``"empty sequence"`` when nothing is left after cleaning.
    """
    alphabet = get_alphabet(alphabet)
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise SequenceError(
            f"{_prefix(name)}expected text, got {type(text).__name__}"
        )
    seq = _upper(_STRIP.sub("", text))
    if not seq:
        raise SequenceError(f"{_prefix(name)}empty sequence")
    return _convert_ut(seq, alphabet)


def _show_char(ch: str) -> str:
    """A character for a message: ``'X'``, or with its code point when it is not ASCII, so a look-alike
    such as the Cyrillic ``'А'`` shows as ``'А' (U+0410)`` and not as an apparently valid ``'A'``."""
    return repr(ch) if ch.isascii() else f"{ch!r} (U+{ord(ch):04X})"


def _check_letters(seq: str, alphabet: Alphabet, allow_n: bool, prefix: str) -> None:
    """Raise on the first letter not in the alphabet (N/X only if allowed)."""
    allowed = set(alphabet.letters)
    if allow_n:
        allowed.add(alphabet.ambiguous)
    if set(seq) <= allowed:
        return
    for i, ch in enumerate(seq, start=1):
        if ch in allowed:
            continue
        if ch == alphabet.ambiguous:
            kind = "residues" if alphabet.name == "protein" else "bases"
            raise SequenceError(
                f"{prefix}{ch!r} at position {i}: ambiguous {kind} are refused; "
                f"replace it with one of {', '.join(alphabet.letters)}"
            )
        raise SequenceError(
            f"{prefix}{_show_char(ch)} at position {i} is not one of "
            f"{', '.join(alphabet.letters)}"
        )


def _check_length(seq: str, length, alphabet: Alphabet, prefix: str) -> None:
    if length is not None and len(seq) != int(length):
        change = "remove" if len(seq) > int(length) else "add"
        raise SequenceError(
            f"{prefix}sequence has length {len(seq)} but this predictor expects "
            f"{int(length)} {alphabet.unit} ({change} {abs(len(seq) - int(length))})"
        )


def _validate(seq, alphabet: Alphabet, length, allow_n: bool, prefix: str) -> str:
    """Clean and validate with a free-form message prefix."""
    if seq is None:
        seq = ""
    if not isinstance(seq, str):
        raise SequenceError(f"{prefix}expected text, got {type(seq).__name__}")
    seq = _upper(_STRIP.sub("", seq))
    if not seq:
        raise SequenceError(f"{prefix}empty sequence")
    seq = _convert_ut(seq, alphabet)
    _check_letters(seq, alphabet, allow_n, prefix)
    _check_length(seq, length, alphabet, prefix)
    return seq


def validate_sequence(seq, alphabet="dna", *, length=None, name=None, allow_n=False) -> str:
    """Clean a sequence and check its letters and length.

    Parameters
    ----------
    seq : str
        The sequence; cleaned first as by :func:`clean_sequence`.
    alphabet : Alphabet or str, optional
        Default ``"dna"``.
    length : int, optional
        Required length ``L``; ``None`` accepts any length.
    name : str, optional
        Record id; messages then start with ``"sequence '<name>': "``.
    allow_n : bool, optional
        Accept the ambiguous letter (``N``, or ``X`` for protein). It is kept
        in the result; :func:`one_hot` encodes it as a background row.

    Returns
    -------
    str
        The cleaned sequence, length ``L``.

    Raises
    ------
    SequenceError
        With messages such as ``"'X' at position 17 is not one of A, C, G, T"``,
        ``"sequence has length 48 but this predictor expects 50 nucleotides
        (add 2)"``, ``"empty sequence"`` or ``"'N' at position 5: ambiguous
        bases are refused; replace it with one of A, C, G, T"`` (``allow_n=True``
        accepts them). Letters are checked before length.
    """
    alphabet = get_alphabet(alphabet)
    return _validate(seq, alphabet, length, allow_n, _prefix(name))


def fit_length(seq, length, *, mode="pad_right", fill="N") -> str:
    """Pad or trim a sequence to ``length``, only as the user asked.

    Parameters
    ----------
    seq : str
        A (cleaned) sequence.
    length : int
        Target length, positive.
    mode : str, optional
        ``"pad_right"`` / ``"pad_left"``: add ``fill`` on that side; a longer
        sequence is refused. ``"trim_right"`` / ``"trim_left"``: cut letters
        from that side; a shorter sequence is refused. ``"center"``: pad or
        trim both sides equally (the odd letter goes to / comes off the
        right). A sequence of the right length is returned unchanged.
    fill : str, optional
        One letter used for padding. Default ``"N"``, which needs
        ``allow_n=True`` downstream.

    Returns
    -------
    str
        A sequence of exactly ``length`` letters.

    Raises
    ------
    SequenceError
        When the mode cannot reach the length.
    ValueError
        For an unknown mode, a non-positive length or a bad ``fill``.
    """
    modes = ("pad_right", "pad_left", "trim_right", "trim_left", "center")
    if mode not in modes:
        raise ValueError(f"unknown mode {mode!r}; choose one of: {', '.join(modes)}")
    length = int(length)
    if length <= 0:
        raise ValueError(f"length must be positive, got {length}")
    if not isinstance(fill, str) or len(fill) != 1:
        raise ValueError(f"fill must be a single letter, got {fill!r}")
    n = len(seq)
    if n == length:
        return seq
    if mode == "center":
        if n < length:
            left = (length - n) // 2
            return fill * left + seq + fill * (length - n - left)
        start = (n - length) // 2
        return seq[start:start + length]
    if mode.startswith("pad") and n > length:
        raise SequenceError(
            f"sequence has length {n}, longer than {length}; {mode} only pads "
            "(use a trim mode or center)"
        )
    if mode.startswith("trim") and n < length:
        raise SequenceError(
            f"sequence has length {n}, shorter than {length}; {mode} only trims "
            "(use a pad mode or center)"
        )
    if mode == "pad_right":
        return seq + fill * (length - n)
    if mode == "pad_left":
        return fill * (length - n) + seq
    if mode == "trim_right":
        return seq[:length]
    return seq[n - length:]


# --------------------------------------------------------------------------
# one-hot encoding
# --------------------------------------------------------------------------


def one_hot(seqs, alphabet="dna", *, background=None) -> np.ndarray:
    """One-hot encode sequences of equal length.

    Parameters
    ----------
    seqs : str or list of str
        ``N`` sequences of length ``L`` (a single string gives ``N = 1``).
        Lowercase is accepted; for DNA ``U`` is read as ``T``, for RNA ``T``
        as ``U``. Whitespace is not removed here (clean first).
    alphabet : Alphabet or str, optional
        Default ``"dna"``.
    background : array_like, shape (L, A) or (A,), optional
        Row used at ambiguous positions (``N``, or ``X`` for protein). When
        ``None`` those rows are uniform, ``1 / A``.

    Returns
    -------
    numpy.ndarray, shape (N, L, A), float32

    Raises
    ------
    SequenceError
        For a letter not in the alphabet (naming the sequence, 1-based, and
        the position), an empty sequence, no sequences, or unequal lengths.
    ValueError
        For a background of the wrong shape or with non-finite values.
    """
    alphabet = get_alphabet(alphabet)
    single = isinstance(seqs, str)
    seqs = [seqs] if single else list(seqs)
    n = len(seqs)
    if n == 0:
        raise SequenceError("no sequences given")

    cleaned = []
    for i, s in enumerate(seqs, start=1):
        prefix = "" if single else f"sequence {i} of {n}: "
        if not isinstance(s, str):
            raise SequenceError(f"{prefix}expected text, got {type(s).__name__}")
        if not s:
            raise SequenceError(f"{prefix}empty sequence")
        s = _convert_ut(_upper(s), alphabet)
        _check_letters(s, alphabet, True, prefix)
        cleaned.append(s)

    length = len(cleaned[0])
    for i, s in enumerate(cleaned, start=1):
        if len(s) != length:
            raise SequenceError(
                f"sequences have different lengths: sequence 1 has length {length}, "
                f"sequence {i} has length {len(s)}"
            )

    size = alphabet.size
    lut = np.full(128, size, dtype=np.int64)  # `size` marks the ambiguous letter
    for j, letter in enumerate(alphabet.letters):
        lut[ord(letter)] = j
    codes = np.frombuffer("".join(cleaned).encode("ascii"), dtype=np.uint8)
    idx = lut[codes].reshape(n, length)

    out = np.ascontiguousarray(np.eye(size + 1, dtype=np.float32)[idx][..., :size])
    amb = idx == size
    if amb.any():
        if background is None:
            bg = np.full((length, size), 1.0 / size, dtype=np.float32)
        else:
            bg = np.asarray(background, dtype=np.float32)
            if bg.shape == (size,):
                bg = np.broadcast_to(bg, (length, size))
            if bg.shape != (length, size):
                raise ValueError(
                    f"background has shape {tuple(np.shape(background))}, "
                    f"expected ({length}, {size}) or ({size},)"
                )
            if not np.all(np.isfinite(bg)):
                raise ValueError("background contains non-finite values")
        rows, cols = np.nonzero(amb)
        out[rows, cols] = bg[cols]
    return out


def decode(onehot, alphabet="dna") -> list[str]:
    """Turn one-hot (or probability) arrays back into strings by argmax.

    Parameters
    ----------
    onehot : array_like, shape (N, L, A) or (L, A)
    alphabet : Alphabet or str, optional
        Default ``"dna"``.

    Returns
    -------
    list of str
        ``N`` strings (one for ``(L, A)`` input). Rows whose maximum is not
        unique -- all-zero rows, and uniform rows such as :func:`one_hot`
        writes for ``N`` -- decode to ``'N'`` (``'X'`` for protein).

    Raises
    ------
    ValueError
        When the shape does not fit the alphabet.
    """
    alphabet = get_alphabet(alphabet)
    x = np.asarray(onehot)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[-1] != alphabet.size:
        raise ValueError(
            f"expected shape (N, L, {alphabet.size}) or (L, {alphabet.size}) for "
            f"{alphabet.name}, got {tuple(np.shape(onehot))}"
        )
    letters = np.array(list(alphabet.letters + alphabet.ambiguous))
    idx = x.argmax(axis=-1)
    top = x.max(axis=-1, keepdims=True)
    tied = (x == top).sum(axis=-1) > 1
    idx = np.where(tied, alphabet.size, idx)
    return ["".join(row) for row in letters[idx]]


# --------------------------------------------------------------------------
# text and files
# --------------------------------------------------------------------------


def _check_printable(text: str, source: str) -> None:
    """Refuse control characters / decoding junk, naming line and column."""
    match = _JUNK.search(text)
    if match is None:
        return
    start = match.start()
    lineno = text.count("\n", 0, start) + 1
    col = start - (text.rfind("\n", 0, start) + 1) + 1
    raise SequenceError(
        f"{source} contains the non-printable character {match.group()!r} at line "
        f"{lineno}, column {col}; is it a binary file?"
    )


def _parse_fasta(text: str, alphabet: Alphabet, length, allow_n: bool, source: str):
    """Parse FASTA text (Bio.SeqIO's FASTA parser) and validate each record.

    ``SimpleFastaParser`` gives the letters as text; ``SeqIO.parse`` would store them in a ``Seq``
    whose ``str()`` fails with a UnicodeDecodeError on any non-ASCII letter (a look-alike such as
    the Cyrillic 'А'), instead of the message naming the letter and its position.
    """
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    _check_printable(text, source)
    lines = text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None or not any(ln.lstrip().startswith(">") for ln in lines):
        raise SequenceError(f"no FASTA records found in {source} (no '>' header line)")
    if not lines[first].lstrip().startswith(">"):
        raise SequenceError(
            f"{source}: line {first + 1} comes before the first '>' header; "
            "FASTA text must start with a '>' line"
        )
    body = "\n".join(ln.lstrip() for ln in lines[first:]) + "\n"
    records = list(SimpleFastaParser(io.StringIO(body)))
    if not records:
        raise SequenceError(f"no FASTA records found in {source}")

    out = []
    seen = {}
    for k, (title, letters) in enumerate(records, start=1):
        rid = title.split(None, 1)[0] if title.strip() else ""   # the first word, as SeqIO's record id
        if not rid:
            raise SequenceError(f"record {k} in {source} has an empty '>' header (no id)")
        if rid in seen:
            raise SequenceError(
                f"duplicate record id '{rid}' in {source} (records {seen[rid]} and {k})"
            )
        seen[rid] = k
        seq = _validate(letters, alphabet, length, allow_n, _prefix(rid))
        out.append((rid, seq))
    return out


def parse_text(text, alphabet="dna", *, length=None, allow_n=False) -> list[tuple[str, str]]:
    """Parse what a user pastes: FASTA or one bare sequence.

    Text whose first non-blank character is ``'>'`` is read as FASTA with
    ``Bio.SeqIO``; any other text is one bare sequence (GenBank-style numbers
    and line breaks are removed) with id ``"seq1"``.

    Parameters
    ----------
    text : str
    alphabet : Alphabet or str, optional
        Default ``"dna"``.
    length : int, optional
        Required length of every sequence.
    allow_n : bool, optional
        Accept ambiguous letters (see :func:`validate_sequence`).

    Returns
    -------
    list of (str, str)
        ``(id, sequence)`` pairs in input order.

    Raises
    ------
    SequenceError
        For non-printable (binary) text, text before the first header when
        the text has ``'>'`` lines, FASTA without records, empty records or
        headers, duplicate ids, and every validation error (named by id).
    """
    alphabet = get_alphabet(alphabet)
    if text is None:
        text = ""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SequenceError(f"text is not UTF-8 (binary data?): {exc}") from exc
    text = text.lstrip("\ufeff")
    if any(ln.lstrip().startswith(">") for ln in text.splitlines()):
        return _parse_fasta(text, alphabet, length, allow_n, "the pasted text")
    _check_printable(text, "the pasted text")
    return [("seq1", _validate(text, alphabet, length, allow_n, ""))]


def _os_reason(exc: BaseException) -> str:
    """Why a file could not be read, without the full path (``"Is a directory"``, ``"Not a gzipped file"``)."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _read_text(path_or_handle) -> tuple[str, str]:
    """Return ``(text, source name)`` from a path or an open handle."""
    if hasattr(path_or_handle, "read"):
        data = path_or_handle.read()
        source = str(getattr(path_or_handle, "name", "the uploaded file"))
    else:
        path = Path(os.fspath(path_or_handle))
        source = f"'{path.name}'"
        try:
            if path.suffix.lower() == ".gz":
                with gzip.open(path, "rb") as fh:
                    data = fh.read()
            else:
                data = path.read_bytes()
        except FileNotFoundError as exc:
            raise SequenceError(f"file {source} not found") from exc
        except (OSError, EOFError, zlib.error) as exc:
            raise SequenceError(f"cannot read {source}: {_os_reason(exc)}") from exc
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SequenceError(f"{source} is not a UTF-8 text file (binary?)") from exc
    return data.lstrip("\ufeff"), source


def read_fasta(path_or_handle, alphabet="dna", *, length=None, allow_n=False) -> list[tuple[str, str]]:
    """Read and validate a FASTA file (``Bio.SeqIO``).

    Parameters
    ----------
    path_or_handle : str, os.PathLike or file-like
        A path (``.gz`` is decompressed) or an open text/binary handle.
    alphabet : Alphabet or str, optional
        Default ``"dna"``.
    length : int, optional
        Required length of every sequence.
    allow_n : bool, optional
        Accept ambiguous letters.

    Returns
    -------
    list of (str, str)
        ``(id, sequence)`` pairs in file order.

    Raises
    ------
    SequenceError
        Same rules as :func:`parse_text`, plus unreadable / binary files.
    """
    alphabet = get_alphabet(alphabet)
    text, source = _read_text(path_or_handle)
    return _parse_fasta(text, alphabet, length, allow_n, source)


def read_csv_column(path_or_buffer, column="sequence", *, id_column=None, alphabet="dna",
                    length=None, allow_n=False, sep=None) -> list[tuple[str, str]]:
    """Read sequences from one column of a CSV/TSV table (``pandas.read_csv``).

    Parameters
    ----------
    path_or_buffer : str, os.PathLike or file-like
    column : str, optional
        Column holding the sequences. Default ``"sequence"``.
    id_column : str, optional
        Column holding ids; without it ids are ``"row1"``, ``"row2"``, ...
        (1-based data rows, header not counted).
    alphabet : Alphabet or str, optional
        Default ``"dna"``.
    length : int, optional
        Required length of every sequence.
    allow_n : bool, optional
        Accept ambiguous letters.
    sep : str, optional
        Field separator; by default a tab for ``.tsv`` paths, else a comma.

    Returns
    -------
    list of (str, str)
        ``(id, sequence)`` pairs in row order.

    Raises
    ------
    SequenceError
        For a missing column (``"column 'sequence' not found; columns are:
        a, b"``), an unreadable or empty table, duplicate ids, and every
        validation error, named by row (``"row 3 (sequence 'x'): ..."``).
    """
    import pandas as pd

    alphabet = get_alphabet(alphabet)
    if sep is None:
        name = path_or_buffer if isinstance(path_or_buffer, (str, os.PathLike)) else \
            getattr(path_or_buffer, "name", "")
        sep = "\t" if str(name).lower().endswith((".tsv", ".tsv.gz")) else ","
    try:
        df = pd.read_csv(path_or_buffer, sep=sep, dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise SequenceError(f"file '{path_or_buffer}' not found") from exc
    except pd.errors.EmptyDataError as exc:
        raise SequenceError("the table is empty (no header row)") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise SequenceError(f"cannot read the table: {exc}") from exc
    except (OSError, EOFError, zlib.error) as exc:   # a directory, no permission, a broken .gz
        where = path_or_buffer if isinstance(path_or_buffer, (str, os.PathLike)) else \
            getattr(path_or_buffer, "name", "the table")
        raise SequenceError(f"cannot read '{Path(str(where)).name}': {_os_reason(exc)}") from exc

    columns = [str(c) for c in df.columns]
    for col in (column, id_column):
        if col is not None and col not in df.columns:
            raise SequenceError(
                f"column '{col}' not found; columns are: {', '.join(columns)}"
            )
    if len(df) == 0:
        raise SequenceError("the table has no data rows")

    out = []
    seen = {}
    for i, seq in enumerate(df[column].tolist(), start=1):
        if id_column is None:
            rid = f"row{i}"
            prefix = f"row {i}: "
        else:
            rid = str(df[id_column].iloc[i - 1]).strip()
            if not rid:
                raise SequenceError(f"row {i}: empty id in column '{id_column}'")
            if rid in seen:
                raise SequenceError(
                    f"duplicate id '{rid}' in column '{id_column}' (rows {seen[rid]} and {i})"
                )
            seen[rid] = i
            prefix = f"row {i} (sequence '{rid}'): "
        out.append((rid, _validate(seq, alphabet, length, allow_n, prefix)))
    return out


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def read_sequences(path, alphabet="dna", *, length=None, column="sequence",
                   allow_n=False) -> list[tuple[str, str]]:
    """Read sequences from a file, choosing the reader by extension.

    ``.fa``/``.fasta``/``.fna``/``.faa`` (also ``.fas``, ``.ffn``, any of
    them ``.gz``) -> :func:`read_fasta`; ``.csv``/``.tsv`` ->
    :func:`read_csv_column`; ``.txt`` -> one sequence per non-empty line with
    ids ``"line<k>"``, ``k`` the 1-based line number in the file (a ``.txt``
    starting with ``'>'`` is read as FASTA).

    Parameters
    ----------
    path : str or os.PathLike
    alphabet : Alphabet or str, optional
        Default ``"dna"``.
    length : int, optional
        Required length of every sequence.
    column : str, optional
        Sequence column for tables. Default ``"sequence"``.
    allow_n : bool, optional
        Accept ambiguous letters.

    Returns
    -------
    list of (str, str)
        ``(id, sequence)`` pairs.

    Raises
    ------
    SequenceError
        For an unknown extension, and whatever the reader raises.
    """
    alphabet = get_alphabet(alphabet)
    path = Path(os.fspath(path))
    ext = _suffix(path)
    if ext in _FASTA_SUFFIXES:
        return read_fasta(path, alphabet, length=length, allow_n=allow_n)
    if ext in _CSV_SUFFIXES:
        if not path.exists():
            raise SequenceError(f"file '{path.name}' not found")
        return read_csv_column(path, column, alphabet=alphabet, length=length,
                               allow_n=allow_n, sep="\t" if ext == ".tsv" else ",")
    if ext in _TXT_SUFFIXES:
        text, source = _read_text(path)
        if text.lstrip().startswith(">"):
            return _parse_fasta(text, alphabet, length, allow_n, source)
        _check_printable(text, source)
        out = []
        for k, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                out.append((f"line{k}", _validate(line, alphabet, length, allow_n,
                                                  f"line {k}: ")))
        if not out:
            raise SequenceError(f"{source} contains no sequences")
        return out
    known = sorted(_FASTA_SUFFIXES | _CSV_SUFFIXES | _TXT_SUFFIXES)
    raise SequenceError(
        f"unknown file type '{ext or path.name}' for '{path.name}'; "
        f"use one of: {', '.join(known)}"
    )
