"""Strand-aware regions from a BED6 file: the windows a VCF's variants are scored on.

A region is ``chrom, start (0-based), end, name, score, strand``, exactly L nucleotides long (L the
predictor's sequence length). A variant inside a region is scored on that region's window, read 5'→3'
on the region's strand (the reverse complement of the reference on ``-``).
"""
from __future__ import annotations

import bisect
import re
from typing import NamedTuple

from ..sequences import SequenceError
from ..sources import Source
from .reference import strip_chr

__all__ = ["Region", "Regions", "read_regions", "reverse_complement"]

_COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A", "U": "A", "N": "N"}
_SKIPPED = ("#", "track", "browser")


class Region(NamedTuple):
    """One BED line: ``start`` 0-based, ``end`` exclusive (so genomic 1-based ``start + 1 .. end``)."""

    chrom: str
    start: int
    end: int
    name: str
    strand: str
    line: int


def reverse_complement(seq: str, alphabet) -> str:
    """Reverse complement of a DNA (A↔T, C↔G) or RNA (A↔U) sequence; ``N`` stays ``N``.

    Parameters
    ----------
    seq : str — letters of ``alphabet``
    alphabet : Alphabet — ``dna`` or ``rna`` (its letters choose T or U)

    Returns
    -------
    str of the same length
    """
    u = "U" in alphabet.letters
    table = dict(_COMPLEMENT, A="U" if u else "T")
    try:
        return "".join(table[c] for c in reversed(seq))
    except KeyError as err:
        raise SequenceError(f"'{err.args[0]}' has no complement; minus-strand regions need DNA or RNA") from None


class Regions:
    """The regions of a BED file, found by position (every region is ``length`` long).

    Parameters
    ----------
    regions : list of Region
    name : str — the BED file's name (for messages)
    length : int — L, the length of every region
    """

    def __init__(self, regions, name: str, length: int):
        self.name, self.length = name, int(length)
        self._by_chrom: dict[str, list] = {}
        for region in regions:
            self._by_chrom.setdefault(strip_chr(region.chrom), []).append(region)
        self._starts = {}
        for chrom, items in self._by_chrom.items():
            items.sort(key=lambda r: (r.start, r.line))
            self._starts[chrom] = [r.start for r in items]
        self.count = len(regions)

    def containing(self, chrom: str, pos: int) -> list:
        """The regions (in BED start order) that hold 1-based position ``pos`` of ``chrom``."""
        key = strip_chr(chrom)
        starts = self._starts.get(key)
        if not starts:
            return []
        lo = bisect.bisect_left(starts, pos - self.length)   # start >= pos - L  <=>  end >= pos
        hi = bisect.bisect_left(starts, pos)                 # start < pos      <=>  start + 1 <= pos
        return self._by_chrom[key][lo:hi]


def _region(columns, lineno: int, length: int) -> Region:
    """One BED6 line as a Region; raises a SequenceError (without the file name) saying what is wrong."""
    if len(columns) < 6:
        raise SequenceError(f"line {lineno}: {len(columns)} columns; a region needs the 6 BED6 columns "
                            "chrom, start, end, name, score, strand")
    chrom, start, end, name, _, strand = columns[:6]
    if not re.fullmatch(r"[0-9]+", start) or not re.fullmatch(r"[0-9]+", end):
        raise SequenceError(f"line {lineno}: start and end must be whole numbers, got '{start}' and '{end}'")
    start, end = int(start), int(end)
    if end - start != length:
        raise SequenceError(f"line {lineno}: region {chrom}:{start}-{end} is {end - start} nucleotides long; "
                            f"every region must be exactly {length} (the predictor's sequence length)")
    if strand not in ("+", "-"):
        raise SequenceError(f"line {lineno}: strand must be '+' or '-', got '{strand}'")
    return Region(chrom, start, end, "" if name == "." else name, strand, lineno)


def read_regions(source, length: int, *, name=None) -> Regions:
    """Read a BED6 file of regions, each exactly ``length`` nucleotides long.

    ``#``, ``track`` and ``browser`` lines and blank lines are skipped; columns are tab-separated (or
    whitespace when a line has no tab).

    Parameters
    ----------
    source : str, os.PathLike, bytes or file-like — a path, or an upload's content with ``name``
    length : int — L, the predictor's sequence length
    name : str, optional — file name of in-memory content

    Returns
    -------
    Regions

    Raises
    ------
    SequenceError
        ``"regions.bed: line 4: ..."`` for the first bad line (wrong length, bad strand, too few
        columns, non-numeric coordinates), or a file without regions.
    """
    src = Source(source, name or "regions.bed")
    regions = []
    try:
        for lineno, line in src.lines():
            if not line.strip() or line.lstrip().startswith(_SKIPPED):
                continue
            columns = [c.strip() for c in (line.split("\t") if "\t" in line else line.split())]
            regions.append(_region(columns, lineno, length))
    except SequenceError as err:
        raise SequenceError(str(err) if str(err).startswith(src.name) else f"{src.name}: {err}") from None
    if not regions:
        raise SequenceError(f"{src.name} has no regions (only blank, '#', 'track' or 'browser' lines)")
    return Regions(regions, src.name, length)
