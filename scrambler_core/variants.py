"""Sequence variants: parse, check and apply substitutions, and score them with a predictor.

A variant is a substitution of one letter (``120G>A``) or of several
neighbouring letters of the same length (an MNV, ``10AC>GT``) at a 1-based
position of a fixed-length sequence. Predictors read exactly ``L`` letters, so
insertions and deletions are refused with a message that says so.

>>> from scrambler_core.variants import parse_variants, apply_variants
>>> v = parse_variants("3g>t", "ACGTA")
>>> str(v[0]), apply_variants("ACGTA", v)
('3G>T', 'ACTTA')

Three ways to describe an alternative sequence, all checked against the
reference (the reference letter must match):

* :func:`parse_variants` -- ``"120G>A, 7C>T; 33 A>G"``;
* :func:`diff_sequences` -- an edited copy of the reference;
* :func:`parse_vcf_line` -- a VCF record plus the reference window and the
  genomic coordinate of its first base.

:func:`score_variant` predicts both sequences and, with a scrambler, compares
their importance; it also reports the in-silico mutagenesis (ISM) map of the
reference around the changed positions.

Every input error raises :class:`~scrambler_core.sequences.SequenceError`
(a ``ValueError``) whose message names what is wrong and where; positions in
messages are 1-based.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .sequences import (SequenceError, _check_printable, _convert_ut, _show_char, _upper, get_alphabet,
                        validate_sequence)

__all__ = [
    "Variant",
    "VariantResult",
    "parse_variants",
    "format_variants",
    "apply_variants",
    "diff_sequences",
    "parse_vcf_line",
    "score_variant",
]

_EXAMPLE = "120G>A"
_SEPARATORS = re.compile(r"[,;\s]+")
# ASCII digits only: \d would read look-alikes such as '١' (Arabic-Indic one) or '１' (fullwidth) as positions
_ITEM = re.compile(r"^([0-9]+)([A-Za-z*\-.]*)>([A-Za-z*\-.]*)$")
_HGVS_INDEL = re.compile(r"^[0-9]+(_[0-9]+)?(del|ins|dup|delins)", re.IGNORECASE)
_VCF_COLUMNS = ("CHROM", "POS", "ID", "REF", "ALT")


# ============================================================================ the variant


@dataclass(frozen=True)
class Variant:
    """One substitution of a fixed-length sequence.

    Parameters
    ----------
    position : int
        1-based position of the first changed letter.
    ref : str
        Reference letter(s) at ``position``; uppercased.
    alt : str
        Alternative letter(s), as many as ``ref``; uppercased.

    Examples
    --------
    >>> str(Variant(120, "G", "A"))
    '120G>A'
    """

    position: int
    ref: str
    alt: str

    def __post_init__(self):
        if isinstance(self.position, bool) or not isinstance(self.position, (int, np.integer)):
            raise ValueError(f"Variant position must be a whole number, got {self.position!r}")
        if int(self.position) < 1:
            raise ValueError(f"Variant position is 1-based and must be at least 1, got {self.position}")
        for field_name in ("ref", "alt"):
            value = getattr(self, field_name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"Variant {field_name} must be a non-empty string, got {value!r}")
            object.__setattr__(self, field_name, _upper(value))
        object.__setattr__(self, "position", int(self.position))

    def __str__(self) -> str:
        return f"{self.position}{self.ref}>{self.alt}"

    @property
    def start(self) -> int:
        """0-based index of the first changed letter."""
        return self.position - 1

    @property
    def end(self) -> int:
        """1-based position of the last letter covered (``position`` for one letter)."""
        return self.position + len(self.ref) - 1

    def span(self) -> str:
        """``"position 120"`` or ``"positions 10-11"`` for messages."""
        if self.end == self.position:
            return f"position {self.position}"
        return f"positions {self.position}-{self.end}"


def format_variants(variants) -> str:
    """Write variants as text that :func:`parse_variants` reads back.

    Parameters
    ----------
    variants : iterable of Variant

    Returns
    -------
    str
        e.g. ``"7C>T, 120G>A"`` (in the given order).
    """
    return ", ".join(str(v) for v in variants)


# ============================================================================ checks shared by every reader


def _letters_word(n: int, alphabet) -> str:
    unit = alphabet.unit[:-1] if n == 1 else alphabet.unit
    return f"{n} {unit}"


def _count(n: int, word: str = "letter") -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _fixed_length_reason(length: int, alphabet) -> str:
    return f"the predictor reads a fixed length of {_letters_word(length, alphabet)}"


def _check_allele_letters(letters: str, alphabet, what: str) -> None:
    """Raise when an allele holds a letter that is not in the alphabet."""
    for k, ch in enumerate(letters, start=1):
        if ch not in alphabet.letters:
            where = "" if len(letters) == 1 else f" (letter {k})"
            raise SequenceError(
                f"{what}: {_show_char(ch)}{where} is not one of {', '.join(alphabet.letters)}"
            )


def _check_variant(variant: Variant, sequence: str, alphabet) -> None:
    """Check one variant against the (clean) reference; raise SequenceError naming it."""
    length = len(sequence)
    name = f"variant {variant}"
    if len(variant.ref) != len(variant.alt):
        raise SequenceError(
            f"{name} changes the length ({_count(len(variant.ref))} replaced by "
            f"{len(variant.alt)}): insertions and deletions are refused because "
            f"{_fixed_length_reason(length, alphabet)}; write substitutions only"
        )
    _check_allele_letters(variant.ref, alphabet, f"{name}, reference letter")
    _check_allele_letters(variant.alt, alphabet, f"{name}, alternative letter")
    if variant.position > length:
        raise SequenceError(
            f"{name}: position {variant.position} is outside the sequence, which has "
            f"{_letters_word(length, alphabet)} (positions 1 to {length})"
        )
    if variant.end > length:
        raise SequenceError(
            f"{name} covers positions {variant.position}-{variant.end}, past the end of the "
            f"sequence, which has {_letters_word(length, alphabet)} (positions 1 to {length})"
        )
    observed = sequence[variant.start:variant.end]
    if observed != variant.ref:
        raise SequenceError(
            f"{name}: the reference has {observed} at {variant.span()}, not {variant.ref}"
        )
    if variant.ref == variant.alt:
        raise SequenceError(
            f"{name}: the alternative is the same as the reference (nothing changes)"
        )


def _check_overlaps(variants) -> None:
    """Raise when two variants change the same position."""
    owner = {}
    for v in variants:
        for pos in range(v.position, v.end + 1):
            if pos in owner:
                raise SequenceError(
                    f"variants {owner[pos]} and {v} both change position {pos}; "
                    "give each position at most once"
                )
            owner[pos] = v


def _checked(variants, sequence: str, alphabet) -> list[Variant]:
    variants = list(variants)
    if not variants:
        raise SequenceError(f"no variant given; write one such as {_EXAMPLE}")
    for v in variants:
        if not isinstance(v, Variant):
            raise SequenceError(f"expected Variant objects, got {type(v).__name__} ({v!r})")
    for v in variants:
        _check_variant(v, sequence, alphabet)
    _check_overlaps(variants)
    return variants


# ============================================================================ text such as "120G>A, 7C>T"


def _split_items(text: str) -> list[str]:
    """Split on commas, semicolons and whitespace, keeping ``33 A > G`` as one item."""
    text = re.sub(r"\s*>\s*", ">", text.strip())
    text = re.sub(r"([0-9])\s+(?=[A-Za-z*\-.])", r"\1", text)
    return [item for item in _SEPARATORS.split(text) if item]


def _malformed(item: str, k: int, n: int, reason: str) -> SequenceError:
    which = f"item {k} of {n}" if n > 1 else "the variant"
    return SequenceError(f"{which} ('{item}') {reason}; expected POSITION REF>ALT such as "
                         f"{_EXAMPLE} (1-based position)")


def _refuse_indel_text(item: str, length: int, alphabet) -> SequenceError:
    return SequenceError(
        f"variant '{item}' is an insertion or deletion: indels are refused because "
        f"{_fixed_length_reason(length, alphabet)}; write substitutions such as {_EXAMPLE} "
        "(or 10AC>GT for neighbouring letters)"
    )


def _syntax_error(item: str, k: int, n: int, length: int, alphabet) -> SequenceError:
    """The most specific message for an item that is not ``POSITION REF>ALT``."""
    if _HGVS_INDEL.match(item):
        return _refuse_indel_text(item, length, alphabet)
    odd = next((ch for ch in item if not ch.isascii()), None)
    if odd is not None:
        return _malformed(item, k, n, f"contains {_show_char(odd)}, which is not a plain digit, letter or '>'")
    if ">" not in item:
        return _malformed(item, k, n, "has no '>' between the reference and alternative letters")
    if item[0] not in "0123456789":
        return _malformed(item, k, n, "does not start with a position")
    return _malformed(item, k, n, "is not a variant")


def _parse_item(item: str, k: int, n: int, length: int, alphabet) -> Variant:
    """Turn one text item into a Variant (syntax and indel checks only)."""
    match = _ITEM.match(item)
    if match is None:
        raise _syntax_error(item, k, n, length, alphabet)
    position, ref, alt = int(match.group(1)), match.group(2), match.group(3)
    if position < 1:
        raise _malformed(item, k, n, "has position 0, but positions start at 1")
    ref = _convert_ut(_upper(ref), alphabet)
    alt = _convert_ut(_upper(alt), alphabet)
    empty = {"", "-", "."}
    if ref in empty and alt in empty:
        raise _malformed(item, k, n, "has no reference or alternative letters")
    if ref in empty or alt in empty or len(ref) != len(alt):
        raise _refuse_indel_text(item, length, alphabet)
    if re.search(r"[*\-.]", ref + alt):
        raise _malformed(item, k, n, f"contains a symbol; only the letters {', '.join(alphabet.letters)} "
                                     "are allowed")
    return Variant(position, ref, alt)


def parse_variants(text, sequence, alphabet="dna") -> list[Variant]:
    """Read variants written as ``120G>A`` and check them against the reference.

    Parameters
    ----------
    text : str
        One or more variants ``POSITION REF>ALT``, 1-based, separated by
        commas, semicolons or whitespace, case-insensitive, e.g.
        ``"120G>A, 7c>t; 33 A>G"``. Neighbouring letters may be changed
        together when REF and ALT have the same length (``"10AC>GT"``). For
        DNA ``U`` is read as ``T``; for RNA ``T`` as ``U``.
    sequence : str
        The reference sequence, length ``L`` (cleaned and validated as by
        :func:`~scrambler_core.sequences.validate_sequence`).
    alphabet : Alphabet or str, optional
        Default ``"dna"``.

    Returns
    -------
    list of Variant
        In the order written.

    Raises
    ------
    SequenceError
        For an empty text, a malformed item (named, with the expected form),
        an insertion or deletion, a position outside ``1..L``, a letter not in
        the alphabet, a reference letter that does not match the sequence
        (``"variant 120G>A: the reference has C at position 120, not G"``),
        an alternative equal to the reference, or two variants changing the
        same position.
    """
    alphabet = get_alphabet(alphabet)
    sequence = validate_sequence(sequence, alphabet, name="reference")
    if text is None or not isinstance(text, str):
        raise SequenceError(f"variants must be text such as {_EXAMPLE}, got "
                            f"{type(text).__name__}")
    _check_printable(text, "the variant text")
    items = _split_items(text)
    if not items:
        raise SequenceError(f"no variant given; write one such as {_EXAMPLE}")
    if len(items) > len(sequence):   # each position changes at most once: refuse a huge paste at once
        raise SequenceError(f"{len(items)} variants given but the reference has only "
                            f"{_letters_word(len(sequence), alphabet)}; each position can change at most once")
    variants = [_parse_item(item, k, len(items), len(sequence), alphabet)
                for k, item in enumerate(items, start=1)]
    return _checked(variants, sequence, alphabet)


# ============================================================================ applying and comparing


def apply_variants(sequence, variants, alphabet="dna") -> str:
    """Return the alternative sequence: the reference with the variants applied.

    Parameters
    ----------
    sequence : str
        The reference, length ``L``.
    variants : list of Variant, or str
        Variants (checked again here), or text for :func:`parse_variants`.
    alphabet : Alphabet or str, optional
        Default ``"dna"``.

    Returns
    -------
    str
        The alternative sequence, also length ``L``.

    Raises
    ------
    SequenceError
        For every problem :func:`parse_variants` reports.
    """
    alphabet = get_alphabet(alphabet)
    if isinstance(variants, str):
        variants = parse_variants(variants, sequence, alphabet)
    if isinstance(variants, Variant):
        variants = [variants]
    sequence = validate_sequence(sequence, alphabet, name="reference")
    variants = _checked(variants, sequence, alphabet)
    letters = list(sequence)
    for v in variants:
        letters[v.start:v.end] = list(v.alt)
    return "".join(letters)


def diff_sequences(ref, alt, alphabet="dna") -> list[Variant]:
    """The substitutions that turn ``ref`` into an edited copy ``alt``.

    Parameters
    ----------
    ref : str
        The reference sequence, length ``L``.
    alt : str
        The alternative (edited) sequence; must also have ``L`` letters.
    alphabet : Alphabet or str, optional
        Default ``"dna"``.

    Returns
    -------
    list of Variant
        One single-letter variant per differing position, in position order.

    Raises
    ------
    SequenceError
        For invalid letters (naming the sequence and position), different
        lengths (naming both) or identical sequences (``"the alternative
        sequence is identical to the reference"``).
    """
    alphabet = get_alphabet(alphabet)
    ref = validate_sequence(ref, alphabet, name="reference")
    alt = validate_sequence(alt, alphabet, name="alternative")
    if len(alt) != len(ref):
        raise SequenceError(
            f"the alternative sequence has {_letters_word(len(alt), alphabet)} but the "
            f"reference has {len(ref)}; only substitutions can be compared because "
            f"{_fixed_length_reason(len(ref), alphabet)}"
        )
    if alt == ref:
        raise SequenceError("the alternative sequence is identical to the reference; "
                            "change at least one letter")
    return [Variant(i + 1, a, b) for i, (a, b) in enumerate(zip(ref, alt)) if a != b]


# ============================================================================ VCF


def _vcf_data_line(text: str) -> tuple[str, int]:
    """The one data line of ``text`` (``#`` and blank lines skipped) and its line number."""
    if text is None or not isinstance(text, str):
        raise SequenceError("the VCF line must be text")
    data = [(k, ln) for k, ln in enumerate(text.splitlines(), start=1)
            if ln.strip() and not ln.lstrip().startswith("#")]
    if not data:
        raise SequenceError("no VCF data line found (only header lines starting with '#' "
                            "or blank lines); paste a line such as "
                            "'chr1<TAB>1000120<TAB>.<TAB>G<TAB>A'")
    _check_printable(text, "the VCF line")
    if len(data) > 1:
        lines = ", ".join(str(k) for k, _ in data[:5])
        raise SequenceError(f"found {len(data)} VCF data lines (lines {lines}); "
                            "give one record at a time")
    return data[0][1], data[0][0]


def _normalise_chrom(name: str) -> str:
    name = name.strip()
    return name[3:] if name.lower().startswith("chr") else name


def _trim_alleles(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Drop the letters REF and ALT share at both ends (same-length alleles)."""
    while len(ref) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _check_vcf_allele(allele: str, k: int, n: int, ref: str, length: int, alphabet) -> None:
    which = f"ALT allele {k} of {n} ('{allele}')" if n > 1 else f"ALT allele '{allele}'"
    hint = " (remove it from the ALT column to score the others)" if n > 1 else ""
    if allele in (".", ""):
        raise SequenceError(f"{which}: the record has no alternative allele{hint}")
    if allele == "*" or allele.startswith("<") or "[" in allele or "]" in allele:
        raise SequenceError(
            f"{which} is a symbolic or structural allele; only substitutions of the same "
            f"length as REF can be scored because {_fixed_length_reason(length, alphabet)}{hint}"
        )
    if len(allele) != len(ref):
        raise SequenceError(
            f"{which} is an insertion or deletion (REF has {_count(len(ref))}, ALT has "
            f"{len(allele)}); indels are refused because "
            f"{_fixed_length_reason(length, alphabet)}{hint}"
        )
    _check_allele_letters(allele, alphabet, which)
    if allele == ref:
        raise SequenceError(f"{which} is the same as REF (nothing changes){hint}")


def _checked_window_start(window_start) -> int:
    """``window_start`` as an int, refusing non-integers and values below 1."""
    if isinstance(window_start, bool) or not isinstance(window_start, (int, np.integer)):
        raise SequenceError(f"window start must be a whole number (the genomic coordinate of "
                            f"the window's first letter), got {window_start!r}")
    window_start = int(window_start)
    if window_start < 1:
        raise SequenceError(f"window start must be at least 1 (1-based genomic coordinate), "
                            f"got {window_start}")
    return window_start


def _vcf_columns(line) -> list[str]:
    """The columns of the one data line of ``line``; refuses fewer than 5."""
    data, lineno = _vcf_data_line(line)
    columns = data.split("\t") if "\t" in data else data.split()
    columns = [c.strip() for c in columns]
    if len(columns) < len(_VCF_COLUMNS):
        raise SequenceError(
            f"the VCF line (line {lineno}) has {_count(len(columns), 'column')}; need at least 5: "
            f"{' '.join(_VCF_COLUMNS)} (found: {' | '.join(columns) or 'nothing'})"
        )
    return columns


def _window_ref(window: str, window_start: int, pos_text: str, ref_text: str, alphabet) -> tuple[int, str]:
    """(0-based window index of POS, cleaned REF) after checking POS and REF against the window."""
    length = len(window)
    if not re.fullmatch(r"[0-9]+", pos_text) or int(pos_text) < 1:
        raise SequenceError(f"VCF POS (column 2) must be a positive whole number, got '{pos_text}'")
    pos = int(pos_text)
    window_end = window_start + length - 1
    ref = _convert_ut(_upper(ref_text), alphabet)
    if not ref or ref == ".":
        raise SequenceError("VCF REF (column 4) is empty")
    _check_allele_letters(ref, alphabet, f"VCF REF '{ref_text}'")
    if pos < window_start or pos + len(ref) - 1 > window_end:
        raise SequenceError(
            f"VCF POS {pos} (REF '{ref}') is outside the window, which covers genomic "
            f"positions {window_start}-{window_end} ({_letters_word(length, alphabet)} from "
            f"window start {window_start})"
        )
    index = pos - window_start
    observed = window[index:index + len(ref)]
    if observed != ref:
        where = (f"genomic position {pos} (window position {index + 1})" if len(ref) == 1 else
                 f"genomic positions {pos}-{pos + len(ref) - 1} (window positions "
                 f"{index + 1}-{index + len(ref)})")
        raise SequenceError(f"VCF REF '{ref}' does not match the window, which has "
                            f"'{observed}' at {where}; check the window start coordinate")
    return index, ref


def parse_vcf_line(line, window, window_start, alphabet="dna", chrom=None) -> list[Variant]:
    """Map a VCF record onto a reference window.

    Parameters
    ----------
    line : str
        One VCF data line: ``CHROM POS ID REF ALT [QUAL FILTER INFO ...]``,
        tab- or whitespace-separated. Header lines starting with ``#`` and
        blank lines are skipped, so a pasted header is fine; exactly one data
        line is required.
    window : str
        The reference sequence the predictor reads, length ``L``.
    window_start : int
        1-based genomic coordinate of the window's first letter; VCF ``POS``
        maps to window position ``POS - window_start + 1``.
    alphabet : Alphabet or str, optional
        Default ``"dna"``.
    chrom : str, optional
        Chromosome of the window; when given, the record's ``CHROM`` must
        match (a ``chr`` prefix is ignored: ``chr1`` equals ``1``).

    Returns
    -------
    list of Variant
        One variant per ALT allele, in ALT order (``"A,T"`` gives two). Each
        is an alternative on its own: apply one at a time with
        :func:`apply_variants`. Positions are window positions (1-based);
        letters that REF and ALT share at either end are dropped, so
        ``POS=100 REF=ACG ALT=ATG`` becomes window variant ``101C>T`` (for
        ``window_start=1``).

    Raises
    ------
    SequenceError
        For missing columns (naming how many were found and which are
        needed), a ``POS`` that is not a positive whole number, a chromosome
        other than ``chrom``, a ``POS`` outside the window (naming the window's
        genomic range), a ``REF`` that does not match the window (naming the
        genomic and window positions), and ALT alleles that are missing
        (``.``), symbolic (``<DEL>``, ``*``, breakends) or change the length.
    """
    alphabet = get_alphabet(alphabet)
    window = validate_sequence(window, alphabet, name="window")
    length = len(window)
    window_start = _checked_window_start(window_start)
    rec_chrom, pos_text, _, ref_text, alt_text = _vcf_columns(line)[:5]
    if chrom is not None and _normalise_chrom(rec_chrom) != _normalise_chrom(str(chrom)):
        raise SequenceError(f"the VCF record is on chromosome '{rec_chrom}' but the window is "
                            f"on '{chrom}'")
    index, ref = _window_ref(window, window_start, pos_text, ref_text, alphabet)
    alleles = [_convert_ut(_upper(a), alphabet) for a in alt_text.split(",")]
    out = []
    for k, allele in enumerate(alleles, start=1):
        _check_vcf_allele(allele, k, len(alleles), ref, length, alphabet)
        position, short_ref, short_alt = _trim_alleles(index + 1, ref, allele)
        out.append(Variant(position, short_ref, short_alt))
    return out


# ============================================================================ scoring


@dataclass
class VariantResult:
    """What a predictor (and scrambler) says about a reference and an alternative sequence.

    Attributes
    ----------
    predictor_name : str
    output_kind : str — ``"sigmoid"``, ``"regression"`` or ``"softmax"``
    letters : str — alphabet letters in one-hot column order (``A``)
    ref_sequence, alt_sequence : str — length ``L``
    variants : list of Variant — single-letter substitutions, position order
    changed : np.ndarray (K,) int — 0-based indices of the changed positions
    ref_prediction, alt_prediction, delta : float — ``delta = alt - ref``
    ref_logit, alt_logit, delta_logit : float or None — sigmoid predictors only
        (log-odds; ``delta_logit = alt_logit - ref_logit``)
    importance_ref, importance_alt, importance_delta : np.ndarray (L,) float32 or None
        Scrambler scores of each sequence and ``alt - ref``; None without a scrambler
    target_bits : float or None — the bits the scrambler was asked for
    ism_changes : np.ndarray (W, A) float32
        ISM of the reference in the window: ``f(x_mut) - f(x)`` for every
        substitution (0 on the reference letter); for sigmoid predictors on
        the logit scale, as :func:`~scrambler_core.attribution.attribute` reports
    ism_start : int — 0-based index of the window's first position
    isoform_logodds : dict or None — predictors with a cleavage profile (APARENT2) only:
        ``{"narrow": (ref, alt, delta), "full": (ref, alt, delta)}``, isoform log-odds over cleavage
        positions 77:127 and 0:205, as the authors' variant tool reports them
    """

    predictor_name: str
    output_kind: str
    letters: str
    ref_sequence: str
    alt_sequence: str
    variants: list
    changed: np.ndarray
    ref_prediction: float
    alt_prediction: float
    delta: float
    ism_changes: np.ndarray
    ism_start: int
    ref_logit: float | None = None
    alt_logit: float | None = None
    delta_logit: float | None = None
    importance_ref: np.ndarray | None = None
    importance_alt: np.ndarray | None = None
    importance_delta: np.ndarray | None = None
    target_bits: float | None = None
    isoform_logodds: dict | None = None

    @property
    def length(self) -> int:
        """``L``, the sequence length."""
        return len(self.ref_sequence)

    @property
    def ism_positions(self) -> np.ndarray:
        """1-based positions of the ISM window rows, shape (W,)."""
        return np.arange(self.ism_start, self.ism_start + len(self.ism_changes)) + 1

    def to_frame(self):
        """Per-position table for a CSV download.

        Returns
        -------
        pandas.DataFrame
            ``L`` rows; columns ``position`` (1-based), ``ref``, ``alt``
            (letters), ``changed`` (bool), ``importance_ref``,
            ``importance_alt`` and ``importance_delta`` (NaN without a
            scrambler).
        """
        import pandas as pd

        nan = np.full(self.length, np.nan, np.float32)
        changed = np.zeros(self.length, bool)
        changed[self.changed] = True
        return pd.DataFrame({
            "position": np.arange(1, self.length + 1),
            "ref": list(self.ref_sequence),
            "alt": list(self.alt_sequence),
            "changed": changed,
            "importance_ref": nan if self.importance_ref is None else self.importance_ref,
            "importance_alt": nan if self.importance_alt is None else self.importance_alt,
            "importance_delta": nan if self.importance_delta is None else self.importance_delta,
        })

    def ism_frame(self):
        """The ISM window as a long table, one row per substitution.

        Returns
        -------
        pandas.DataFrame
            ``W * (A - 1)`` rows; columns ``position`` (1-based), ``ref``
            (reference letter), ``letter`` (substituted letter) and ``change``.
        """
        import pandas as pd

        rows = []
        for offset, position in enumerate(self.ism_positions):
            ref_letter = self.ref_sequence[position - 1]
            for j, letter in enumerate(self.letters):
                if letter != ref_letter:
                    rows.append((int(position), ref_letter, letter,
                                 float(self.ism_changes[offset, j])))
        return pd.DataFrame(rows, columns=["position", "ref", "letter", "change"])


def _ism_bounds(changed: np.ndarray, length: int, ism_window: int) -> tuple[int, int]:
    """0-based ``[start, stop)`` of the window around the changed positions."""
    start = max(0, int(changed.min()) - ism_window)
    stop = min(length, int(changed.max()) + ism_window + 1)
    return start, stop


def _check_scrambler(scrambler, predictor) -> None:
    scrambled = getattr(scrambler, "predictor", None)
    if scrambled is None or not hasattr(scrambler, "scores"):
        raise ValueError(f"scrambler must be a Scrambler, got {type(scrambler).__name__}")
    if (scrambled.sequence_length != predictor.sequence_length
            or scrambled.alphabet.size != predictor.alphabet.size):
        raise ValueError(
            f"the scrambler explains {scrambled.name!r} (length {scrambled.sequence_length}, "
            f"{scrambled.alphabet.name}) but the predictor is {predictor.name!r} (length "
            f"{predictor.sequence_length}, {predictor.alphabet.name})"
        )


def score_variant(predictor, ref_sequence, alt_sequence, *, scrambler=None, target_bits=None,
                  ism_window=10) -> VariantResult:
    """Predict a reference and an alternative sequence and compare their explanations.

    Parameters
    ----------
    predictor : Predictor
    ref_sequence : str
        The reference, length ``L`` = ``predictor.sequence_length``.
    alt_sequence : str
        The alternative, same length (e.g. from :func:`apply_variants`).
    scrambler : Scrambler, optional
        When given, ``scrambler.scores`` of both sequences (one call) give
        ``importance_ref``, ``importance_alt`` and ``importance_delta``.
    target_bits : float, optional
        Passed to ``scrambler.scores`` (its default when None).
    ism_window : int, optional
        The ISM map spans from ``min(changed) - ism_window`` to
        ``max(changed) + ism_window`` (clipped to the sequence). Default 10.

    Returns
    -------
    VariantResult

    Raises
    ------
    SequenceError
        For invalid sequences (named ``reference`` / ``alternative``), wrong
        or different lengths, or identical sequences.
    ValueError
        For a negative ``ism_window`` or a scrambler of another predictor.

    Notes
    -----
    Predictor calls: one batch of 2 (plus one more for the logits of a
    sigmoid model) and ``1 + L (A - 1)`` for the ISM of the reference.
    """
    from .attribution import attribute

    ism_window = int(ism_window)
    if ism_window < 0:
        raise ValueError(f"ism_window must be 0 or more, got {ism_window}")
    alphabet = predictor.alphabet
    length = predictor.sequence_length
    ref = validate_sequence(ref_sequence, alphabet, length=length, name="reference")
    alt = validate_sequence(alt_sequence, alphabet, length=length, name="alternative")
    variants = diff_sequences(ref, alt, alphabet)
    changed = np.array([v.start for v in variants], dtype=np.int64)

    prediction = predictor.predict([ref, alt])
    result = VariantResult(
        predictor_name=predictor.name, output_kind=predictor.output_kind, letters=alphabet.letters,
        ref_sequence=ref, alt_sequence=alt, variants=variants, changed=changed,
        ref_prediction=float(prediction[0]), alt_prediction=float(prediction[1]),
        delta=float(prediction[1] - prediction[0]),
        ism_changes=np.zeros((0, alphabet.size), np.float32), ism_start=0)
    if predictor.output_kind == "sigmoid":
        logit = predictor.predict_logit([ref, alt])
        result.ref_logit, result.alt_logit = float(logit[0]), float(logit[1])
        result.delta_logit = float(logit[1] - logit[0])
    if hasattr(predictor, "isoform_logodds"):
        result.isoform_logodds = {}
        for window in ("narrow", "full"):
            values = predictor.isoform_logodds([ref, alt], window)
            result.isoform_logodds[window] = (float(values[0]), float(values[1]), float(values[1] - values[0]))

    if scrambler is not None:
        _check_scrambler(scrambler, predictor)
        scores = scrambler.scores([ref, alt], target_bits=target_bits)
        result.importance_ref = scores[0].astype(np.float32)
        result.importance_alt = scores[1].astype(np.float32)
        result.importance_delta = (scores[1] - scores[0]).astype(np.float32)
        result.target_bits = scrambler._check_bits(target_bits)

    _, info = attribute(predictor, [ref], "ism", return_info=True)
    start, stop = _ism_bounds(changed, len(ref), ism_window)
    result.ism_changes = np.asarray(info["changes"][0, start:stop], np.float32)
    result.ism_start = start
    return result
