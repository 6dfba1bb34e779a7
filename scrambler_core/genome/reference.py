"""The reference genome of a VCF input: pyfaidx-indexed, or read into memory when pyfaidx refuses it."""
from __future__ import annotations

import io
from pathlib import Path

from ..sequences import SequenceError
from ..sources import open_text

__all__ = ["Reference", "strip_chr"]

_IN_MEMORY_REFERENCE_BYTES = 256 * 1024 * 1024


def strip_chr(name: str) -> str:
    """``name`` without a leading ``chr`` (any case): ``chr1`` and ``1`` name the same chromosome."""
    return name[3:] if name.lower().startswith("chr") else name


class Reference:
    """A reference genome: indexed with pyfaidx (a ``.fai`` beside it); chromosome names match with or without ``chr``.

    A FASTA pyfaidx cannot index (uneven line lengths, Windows line endings, a read-only folder) is read
    into memory instead when it is at most 256 MB; larger ones get a message saying how to fix them.

    Parameters
    ----------
    fasta : str or Path
        The reference FASTA (``.fa``, bgzipped ``.fa.gz`` with its ``.fai``/``.gzi``).
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
            self.names.setdefault(strip_chr(name), name)

    def _read_in_memory(self, reason) -> list:
        from Bio.SeqIO.FastaIO import SimpleFastaParser
        text = open_text(self.path)
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
        """The chromosome names, in file order."""
        return list(self.contigs) if self.contigs is not None else list(self.fasta.keys())

    def lookup(self, chrom):
        """The reference's name of ``chrom`` (with or without ``chr``), or None."""
        return self.names.get(chrom) or self.names.get(strip_chr(chrom))

    def length(self, name) -> int:
        """Letters of chromosome ``name``."""
        return len(self.contigs[name]) if self.contigs is not None else len(self.fasta[name])

    def fetch(self, name, start, end) -> str:
        """Letters at 1-based inclusive genomic positions start..end."""
        if self.contigs is not None:
            return self.contigs[name][start - 1:end]
        return str(self.fasta[name][start - 1:end])
