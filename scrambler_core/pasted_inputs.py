"""Pasted or uploaded batch inputs made ready for the batch scorer: VCF data lines counted, FASTA
normalised so pyfaidx can index it."""
from __future__ import annotations

import io

from .sequences import SequenceError


def count_vcf_data_lines(text: str) -> int:
    """VCF data lines in ``text``: not blank and not starting with ``#`` (the rule ``scrambler_core.batch`` reads).

    Parameters
    ----------
    text : str or None
        Pasted VCF text.

    Returns
    -------
    int
    """
    return sum(1 for line in (text or "").splitlines() if line.strip() and not line.startswith("#"))


def normalised_fasta(data: bytes, source: str) -> str:
    """FASTA text rewritten with 60 letters a line, so pyfaidx can index what people paste or upload.

    Ragged line lengths, Windows line ends and blank lines are common in hand-made FASTA and
    make pyfaidx refuse the file; the records themselves are kept as they are.

    Parameters
    ----------
    data : bytes
        The uploaded file or the pasted text, UTF-8.
    source : str
        How messages name it ("The pasted reference FASTA").

    Returns
    -------
    str
        The records, each ``>title`` then its letters in lines of 60.

    Raises
    ------
    SequenceError
        Not text, no ``>`` header line first, or no records.
    """
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SequenceError(f"{source} is not a text file (byte {err.start} is not UTF-8)") from None
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        raise SequenceError(f"{source} is empty")
    if not first.lstrip().startswith(">"):
        raise SequenceError(f"{source} is not FASTA: the first line should be a header starting with '>' "
                               f"(such as >chr1), found {first.strip()[:40]!r}")
    out = []
    for title, seq in SimpleFastaParser(io.StringIO(text.lstrip())):
        seq = "".join(seq.split())
        if not title.strip():
            raise SequenceError(f"{source} has a record without a name (a line with only '>')")
        out.append(f">{title}\n" + "".join(seq[j:j + 60] + "\n" for j in range(0, len(seq), 60)))
    if not out:
        raise SequenceError(f"{source} has no FASTA records")
    return "".join(out)
