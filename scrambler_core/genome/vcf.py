"""VCF/BCF variants streamed into scoring windows, one row per ALT allele (and per region).

Plain ``.vcf``, gzip or bgzip ``.vcf.gz`` (a tabix index beside it is allowed, not needed: every record
is read) are streamed line by line, so a file of millions of variants is read with bounded memory; a
line that cannot be used becomes an error row naming it (``"line 9: REF 'C' does not match ..."``). BCF
(``.bcf``, binary) is decoded by htslib through cyvcf2; its rows name records (``"record 9: ..."``).

Windows are cut from the reference either around the variant (``anchor``) or, with BED regions, from
the region that holds the variant, read 5'→3' on the region's strand. On a ``-`` region the window is
the reverse complement of the reference, with the complemented ALT in its mirrored place; an indel
keeps the window's 5' end (the region's genomic end) and refills or cuts at its 3' end (the genomic
start), exactly as a ``+`` region keeps its genomic start and refills or cuts past its end.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..sequences import SequenceError, _convert_ut
from ..sources import Source, new_row
from .reference import Reference
from .regions import Regions, reverse_complement

__all__ = ["VariantRows", "variant_type", "is_bcf"]

_BCF_MAGIC = b"BCF"


@dataclass
class _Context:
    reference: Reference
    regions: Regions | None
    alphabet: object
    length: int
    anchor: int


def variant_type(ref: str, alt: str) -> str:
    """``snv``, ``mnv``, ``insertion``, ``deletion``, ``complex``, ``symbolic`` or ``none`` (no ALT)."""
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


def is_bcf(src: Source) -> bool:
    """True for a BCF file: a ``.bcf`` name, or content that starts (after BGZF) with ``BCF``."""
    if src.name.lower().endswith(".bcf"):
        return True
    if src.path is None or not src.is_gzip():
        return False
    import gzip
    import zlib
    try:
        with gzip.open(src.path, "rb") as handle:
            return handle.read(3) == _BCF_MAGIC
    except (OSError, EOFError, zlib.error):   # damaged: the text reader says so, naming the file
        return False


_CONTIG = re.compile(r"^##contig=<(?=.*\bID=([^,>]+))(?=.*\blength=(\d+))", re.IGNORECASE)


def check_contig(name: str, length: int, where: str, ctx: _Context, source: str) -> None:
    """Refuse a VCF whose header declares a contig of another length than the reference genome's
    (a VCF of another genome build: every window would be cut from the wrong place)."""
    found = ctx.reference.lookup(name)
    if found is None:
        return                      # rows on a contig the genome lacks are error rows, each naming it
    actual = ctx.reference.length(found)
    if actual != int(length):
        raise SequenceError(f"{source}: {where}: the header declares {name} with length {int(length):,} but "
                            f"{ctx.reference.path.name} has {found} with {actual:,} letters: the VCF and the "
                            "reference genome are from different builds")


def _text_records(src: Source, ctx: _Context):
    """``(line, "line N", columns)`` of each data line of a text VCF, streamed; ``##contig`` header lines
    are checked against the reference (:func:`check_contig`)."""
    for lineno, line in src.lines():
        if line.startswith("##contig"):
            match = _CONTIG.match(line)
            if match:
                check_contig(match.group(1), int(match.group(2)), f"line {lineno}", ctx, src.name)
            continue
        if not line.strip() or line.startswith("#"):
            continue
        yield lineno, f"line {lineno}", [c.strip() for c in (line.split("\t") if "\t" in line else line.split())]


def _bcf_records(src: Source, ctx: _Context):
    """``(record, "record N", columns)`` of each record of a BCF, decoded by htslib (cyvcf2); the header's
    contigs are checked against the reference (:func:`check_contig`)."""
    if src.path is None:
        raise SequenceError(f"{src.name}: a BCF input must be a file on disk")
    import cyvcf2
    try:
        reader = cyvcf2.VCF(str(src.path))
    except Exception as err:  # noqa: BLE001 -- cyvcf2 raises OSError or a bare Exception ("cannot parse VCF header")
        detail = str(err).replace(str(src.path), src.name).splitlines()[0] if str(err) else type(err).__name__
        raise SequenceError(f"{src.name} is not a readable BCF ({detail})") from None
    try:
        contigs = list(zip(reader.seqnames, reader.seqlens))
    except (AttributeError, ValueError):    # a header without contig lengths: nothing to compare
        contigs = []
    try:
        for name, length in contigs:
            check_contig(name, length, "header", ctx, src.name)
    except SequenceError:
        reader.close()
        raise
    number = 0
    try:
        for number, variant in enumerate(reader, start=1):
            filters = variant.FILTERS
            columns = [variant.CHROM, str(variant.POS), variant.ID or ".", variant.REF,
                       ",".join(variant.ALT) or ".", ".", ";".join(filters) if filters else "."]
            yield number, f"record {number}", columns
    except Exception as err:  # noqa: BLE001 -- htslib reports any damage as a bare Exception
        raise SequenceError(f"{src.name}: record {number + 1} cannot be read ({str(err).splitlines()[0]})") \
            from None
    finally:
        reader.close()


def _empty_row(record, identifier, **fields) -> dict:
    base = dict(chrom="", pos=0, ref="", alt="", allele_index=0, n_alleles=0, variant_type="none", filter="",
                window_start=0, window_end=0, strand="", region="", ref_sequence="", alt_sequence="")
    base.update(fields)
    return new_row(0, record, identifier, **base)


def _line_rows(record: int, where: str, columns: list, ctx: _Context) -> list:
    """The rows of one VCF record: one per ALT allele, times one per region holding it."""
    if len(columns) < 5:
        row = _empty_row(record, f"line_{record}", status="error",
                         message=f"{where}: {len(columns)} columns; a VCF record needs at least 5 "
                                 "(CHROM POS ID REF ALT)")
        return [row]
    chrom, pos_text, vid, ref_text, alt_text = columns[:5]
    filters = columns[6] if len(columns) > 6 and columns[6] else "."
    alts = alt_text.split(",")
    regions = [None]
    if ctx.regions is not None and re.fullmatch(r"[0-9]+", pos_text):
        regions = ctx.regions.containing(chrom, int(pos_text)) or ["none"]
    rows = []
    for k, alt_raw in enumerate(alts, start=1):
        ref = _convert_ut(ref_text.upper(), ctx.alphabet)
        alt = _convert_ut(alt_raw.upper(), ctx.alphabet)
        identifier = vid if vid not in (".", "") else f"{chrom}:{pos_text}:{ref_text}>{alt_raw}"
        if len(alts) > 1:
            identifier = f"{identifier}/{k}"
        for region in regions:
            row = _empty_row(record, identifier, chrom=chrom, ref=ref, alt=alt, allele_index=k, n_alleles=len(alts),
                             variant_type=variant_type(ref, alt), filter=filters)
            if region == "none":
                reason = f"no region of {ctx.regions.name} contains {chrom}:{pos_text}"
                row["pos"] = int(pos_text)
            else:
                reason = _place_variant(row, pos_text, ctx, region)
            if reason:
                row["status"], row["message"] = "error", f"{where}: {reason}"
            rows.append(row)
    return rows


def _check_alleles(row, ctx: _Context) -> str:
    """'' or why the REF/ALT letters cannot be placed."""
    ref, alt, kind, letters = row["ref"], row["alt"], row["variant_type"], ctx.alphabet.letters
    if not ref or ref == "." or any(c not in letters for c in ref):
        return f"REF '{ref}' must be letters of {letters}" if ref else "the REF column is empty"
    if kind == "none":
        return "the record has no alternative allele ('.')"
    if kind == "symbolic":
        return f"ALT '{alt}' is a symbolic or breakend allele; only sequence alleles can be scored"
    bad = [c for c in alt if c not in letters]
    if bad:
        return f"ALT '{alt}' has '{bad[0]}', which is not one of {', '.join(letters)}"
    return ""


def _place_variant(row, pos_text, ctx: _Context, region) -> str:
    """Fill the windows of one VCF allele (on ``region`` when given); returns '' or why it cannot be scored."""
    if not re.fullmatch(r"[0-9]+", pos_text) or int(pos_text) < 1:
        return f"POS must be a positive whole number, got '{pos_text}'"
    pos = row["pos"] = int(pos_text)
    ref, length = row["ref"], ctx.length
    name = ctx.reference.lookup(row["chrom"])
    if name is None:
        known = ", ".join(ctx.reference.keys()[:5])
        return f"chromosome '{row['chrom']}' is not in {ctx.reference.path.name} (it has {known})"
    reason = _check_alleles(row, ctx)
    if reason:
        return reason
    chrom_length = ctx.reference.length(name)
    start = pos - ctx.anchor + 1 if region is None else region.start + 1
    end = start + length - 1
    row["window_start"], row["window_end"] = start, end
    row["strand"], row["region"] = ("+", "") if region is None else (region.strand, region.name)
    if pos + len(ref) - 1 > chrom_length:
        return f"POS {pos} (REF '{ref}') is past the end of {name} ({chrom_length:,} letters)"
    observed = ctx.reference.fetch(name, pos, pos + len(ref) - 1)
    if observed != ref:
        return f"REF '{ref}' does not match the reference, which has '{observed}' at {name}:{pos}"
    where = "window" if region is None else f"region {region.name or region.chrom} (BED line {region.line})"
    if start < 1 or end > chrom_length:
        placed = f" (variant at window position {ctx.anchor})" if region is None else f" ({where})"
        return (f"the {length}-letter window {name}:{start}-{end}{placed} runs past the "
                f"{'start' if start < 1 else 'end'} of {name} ({chrom_length:,} letters)")
    if pos + len(ref) - 1 > end:
        return f"REF '{ref}' runs past the end of the {length}-letter {where} (ends at {end})"
    return _cut_windows(row, name, start, end, chrom_length, ctx)


def _cut_windows(row, name, start, end, chrom_length, ctx: _Context) -> str:
    """Reference and alternative windows (refilled or cut at the 3' end of an indel), on the row's strand."""
    pos, ref, alt, length = row["pos"], row["ref"], row["alt"], ctx.length
    minus = row["strand"] == "-"
    if minus and ctx.alphabet.name not in ("dna", "rna"):
        return f"a '-' strand region needs a DNA or RNA predictor, not {ctx.alphabet.name}"
    extra = max(0, len(ref) - len(alt))
    lo, hi = (start - extra, end) if minus else (start, end + extra)
    if lo < 1 or hi > chrom_length:
        return (f"the deletion needs letters {'before the start' if minus else 'past the end'} of {name} to "
                "refill the window")
    window = ctx.reference.fetch(name, lo, hi)
    offset = pos - lo
    changed = window[:offset] + alt + window[offset + len(ref):]
    ref_window, alt_window = (window[extra:], changed[-length:]) if minus else (window[:length], changed[:length])
    for which, seq in (("reference", ref_window), ("alternative", alt_window)):
        wrong = next((j for j, c in enumerate(seq) if c not in ctx.alphabet.letters), None)
        if wrong is not None:
            return (f"the {which} window has '{seq[wrong]}' at {name}:{start + wrong} (window position "
                    f"{length - wrong if minus else wrong + 1}); windows must be {ctx.alphabet.letters} only")
    if minus:
        ref_window, alt_window = (reverse_complement(ref_window, ctx.alphabet),
                                  reverse_complement(alt_window, ctx.alphabet))
    row["ref_sequence"], row["alt_sequence"] = ref_window, alt_window
    return ""


class VariantRows:
    """The rows of a VCF/BCF, produced afresh on every iteration (never all in memory at once).

    Parameters
    ----------
    source : Source — the VCF or BCF
    fasta : str or Path — the reference genome
    alphabet : Alphabet
    length : int — L, the window length
    anchor : int or None — window position (1-based) of the variant (default ``L // 2 + 1``)
    regions : Regions, optional — windows from strand-aware BED regions instead of ``anchor``
    on_error : {"row", "raise"} — ``"raise"``: the first bad row raises ``"<file>: line N: <reason>"``

    Iterating yields dicts (see :func:`scrambler_core.records.read_records`), ``index`` 0..N-1.
    """

    def __init__(self, source: Source, fasta, alphabet, length: int, anchor=None, regions=None, on_error="row"):
        anchor = length // 2 + 1 if anchor is None else int(anchor)
        if not 1 <= anchor <= length:
            raise SequenceError(f"anchor must be a window position between 1 and {length}, got {anchor}")
        self.source, self.on_error = source, on_error
        self.context = _Context(Reference(fasta), regions, alphabet, int(length), anchor)
        self.bcf = is_bcf(source)

    def __iter__(self):
        index = 0
        records = (_bcf_records if self.bcf else _text_records)(self.source, self.context)
        for record, where, columns in records:
            for row in _line_rows(record, where, columns, self.context):
                if row["status"] != "ok" and self.on_error == "raise":
                    raise SequenceError(f"{self.source.name}: {row['message']}")
                row["index"] = index
                index += 1
                yield row
        if index == 0:
            raise SequenceError(f"{self.source.name} has no VCF data lines (only '#' header or blank lines)")
