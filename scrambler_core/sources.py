"""Where records come from: a path or in-memory upload with the name that names it, read as text.

Used by :mod:`scrambler_core.records` (sequence files) and :mod:`scrambler_core.genome` (VCF, BED,
reference genome); nothing here imports TensorFlow.
"""
from __future__ import annotations

import gzip
import io
import os
import zlib
from pathlib import Path

from .sequences import SequenceError

__all__ = ["Source", "open_text", "decode_text", "format_suffix", "new_row"]

_GZIP_MAGIC = b"\x1f\x8b"


def format_suffix(name: str) -> str:
    """The last suffix of ``name`` that is not ``.gz``, lower case (``''`` when none)."""
    suffixes = [s.lower() for s in Path(name).suffixes if s.lower() != ".gz"]
    return suffixes[-1] if suffixes else ""


def _read_error(name: str, err: Exception) -> SequenceError:
    """The SequenceError of a file that cannot be read: not UTF-8, damaged gzip, an OS error."""
    if isinstance(err, UnicodeDecodeError):
        return SequenceError(f"{name} is not a text file (byte {err.start} is not UTF-8)")
    return SequenceError(f"{name} cannot be read ({err or type(err).__name__})")


def open_text(path: Path) -> str:
    """Text of a file (``.gz`` decompressed); binary junk raises a SequenceError."""
    opener = gzip.open if path.suffix == ".gz" else open
    if path.is_dir():
        raise SequenceError(f"{path.name} is a folder, not a file")
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            return handle.read()
    except UnicodeDecodeError as err:
        raise _read_error(path.name, err) from None
    except (OSError, EOFError, zlib.error) as err:
        detail = str(err).replace(str(path), path.name) or type(err).__name__
        raise SequenceError(f"{path.name} cannot be read ({detail})") from None


def decode_text(data, name: str) -> str:
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
            raise _read_error(name, err) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _read_error(name, err) from None


def new_row(index, record, identifier, **fields) -> dict:
    """One output row: ``index, record, id, status="ok", message=""`` and ``fields``."""
    out = {"index": index, "record": record, "id": str(identifier), "status": "ok", "message": ""}
    out.update(fields)
    return out


class Source:
    """A file path or in-memory content with the name that chooses its format and names it in messages.

    Parameters
    ----------
    source : str, os.PathLike, bytes, str content of an upload or file-like
        A ``str`` is always a path.
    name : str, optional
        File name of in-memory content.
    """

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
        """The whole text (read once, then kept)."""
        if self._text is None:
            self._text = open_text(self.path) if self.path is not None else decode_text(self._data, self.name)
        return self._text

    def csv_input(self):
        """What ``pandas.read_csv`` reads: the path, or the text in a buffer."""
        return self.path if self.path is not None else io.StringIO(self.text())

    def is_gzip(self) -> bool:
        """True when the file starts with the gzip magic bytes (gzip or bgzip, whatever its name)."""
        if self.path is None:
            return False
        with open(self.path, "rb") as handle:
            return handle.read(2) == _GZIP_MAGIC

    def lines(self):
        """Iterate ``(line number from 1, line without its end)`` without holding the file in memory.

        A path is read line by line (gzip and bgzip recognised by their magic bytes); in-memory content
        is decoded first (an upload is small). Undecodable bytes raise a SequenceError naming the line.
        """
        if self.path is None:
            yield from enumerate(self.text().splitlines(), start=1)
            return
        opener = gzip.open if self.is_gzip() else open
        lineno = 0
        try:
            with opener(self.path, "rt", encoding="utf-8", newline=None) as handle:
                for lineno, line in enumerate(handle, start=1):
                    yield lineno, line.rstrip("\r\n")
        except UnicodeDecodeError as err:
            raise SequenceError(f"{self.name} is not a text file (line {lineno + 1}: byte {err.start} of its "
                                "block is not UTF-8)") from None
        except (OSError, EOFError, zlib.error) as err:
            detail = str(err).replace(str(self.path), self.name) or type(err).__name__
            raise SequenceError(f"{self.name} cannot be read (after line {lineno}: {detail})") from None
