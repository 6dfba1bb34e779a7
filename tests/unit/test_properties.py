"""Property-based tests (hypothesis) of the sequence and variant parsers and the one-hot encoder.

Whatever the input, the readers either return something valid or raise ``SequenceError`` -- never
another exception -- and the encoders and writers round-trip. Example counts are kept small so
the file runs in well under a minute on two CPU cores; for a longer hunt multiply them with
``SCRAMBLER_HYPOTHESIS_SCALE=20 python -m pytest tests/unit/test_properties.py``.
"""
from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from scrambler_core import batch
from scrambler_core.sequences import (DNA, PROTEIN, RNA, SequenceError, clean_sequence, decode, one_hot,
                                      parse_text, read_fasta, validate_sequence)
from scrambler_core.variants import Variant, apply_variants, diff_sequences, parse_variants, parse_vcf_line

SCALE = float(os.environ.get("SCRAMBLER_HYPOTHESIS_SCALE", "1"))
FAST = settings(max_examples=int(300 * SCALE), deadline=None)
SLOW = settings(max_examples=int(120 * SCALE), deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALPHABETS = st.sampled_from([DNA, RNA, PROTEIN])

# text a user may paste: letters, digits, whitespace, FASTA marks, look-alikes, control characters, anything
HOSTILE_CHARACTERS = st.one_of(
    st.sampled_from(list("ACGTUNacgtunXZ>;#.,*-0123456789 \t\r\n")),
    st.sampled_from(["\u0410", "\uff21", "\u200b", "\ufeff", "\u00a0", "\u0131", "\u017f", "\ufb01", "\u00df",
                     "\x00", "\x07", "\x1c", "\x85", "\u2028", "\ufffd", "\u0661"]),
    st.characters(),
)
HOSTILE_TEXT = st.text(HOSTILE_CHARACTERS, max_size=200)


def sequences_of(alphabet, length, n, extra=""):
    """``n`` sequences of ``length`` letters of the alphabet (plus ``extra`` letters)."""
    letter = st.sampled_from(list(alphabet.letters + extra))
    return st.lists(st.text(letter, min_size=length, max_size=length), min_size=n, max_size=n)


@st.composite
def encodable(draw):
    alphabet = draw(ALPHABETS)
    length = draw(st.integers(1, 40))
    n = draw(st.integers(1, 5))
    return alphabet, draw(sequences_of(alphabet, length, n, extra=alphabet.ambiguous))


# ============================================================================ encoders

@FAST
@given(encodable(), st.booleans())
def test_one_hot_decode_round_trip(case, lower):
    alphabet, seqs = case
    x = one_hot([s.lower() if lower else s for s in seqs], alphabet)
    assert x.shape == (len(seqs), len(seqs[0]), alphabet.size) and x.dtype == np.float32
    assert np.allclose(x.sum(-1), 1.0)
    assert decode(x, alphabet) == seqs


@FAST
@given(ALPHABETS, HOSTILE_TEXT)
def test_clean_sequence_is_idempotent(alphabet, text):
    try:
        once = clean_sequence(text, alphabet)
    except SequenceError:
        return
    assert once and clean_sequence(once, alphabet) == once
    assert not any(c.isspace() or c in "0123456789" for c in once)


@FAST
@given(ALPHABETS, HOSTILE_TEXT, st.one_of(st.none(), st.integers(1, 60)), st.booleans())
def test_validate_sequence_returns_valid_letters_or_raises_sequence_error(alphabet, text, length, allow_n):
    try:
        seq = validate_sequence(text, alphabet, length=length, allow_n=allow_n)
    except SequenceError:
        return
    allowed = set(alphabet.letters) | ({alphabet.ambiguous} if allow_n else set())
    assert seq and set(seq) <= allowed
    assert length is None or len(seq) == length
    assert seq == clean_sequence(text, alphabet)          # nothing but cleaning happened


@FAST
@given(st.sampled_from(["ACGT", "acgt", "ACGTN", "XZ"]), st.integers(1, 30))
def test_validate_sequence_keeps_valid_sequences(letters, length):
    rng = np.random.default_rng(length)
    text = "".join(rng.choice(list(letters), length))
    try:
        seq = validate_sequence(text, "dna", length=length)
    except SequenceError as err:
        assert set(letters) - set("ACGTacgt"), err       # refused only for letters outside the alphabet
        return
    assert seq == text.upper()


# ============================================================================ text and FASTA

FASTA_LIKE = st.lists(st.one_of(
    st.builds(lambda ident: ">" + ident, st.text(HOSTILE_CHARACTERS, max_size=12)),
    st.text(st.sampled_from(list("ACGTacgtN \t")), max_size=30),
    HOSTILE_TEXT,
), max_size=8).map("\n".join)


@FAST
@given(st.one_of(HOSTILE_TEXT, FASTA_LIKE, st.binary(max_size=100)), ALPHABETS,
       st.one_of(st.none(), st.integers(1, 30)))
def test_parse_text_raises_only_sequence_error(text, alphabet, length):
    try:
        records = parse_text(text, alphabet, length=length)
    except SequenceError:
        return
    assert records
    ids = [rid for rid, _ in records]
    assert len(set(ids)) == len(ids) and all(ids)
    for _, seq in records:
        assert set(seq) <= set(alphabet.letters)
        assert length is None or len(seq) == length


RECORD_ID = st.text(st.sampled_from(list("abcXYZ019_.-|:")), min_size=1, max_size=12)


@st.composite
def fasta_records(draw):
    alphabet = draw(ALPHABETS)
    ids = draw(st.lists(RECORD_ID, min_size=1, max_size=6, unique=True))
    length = draw(st.integers(1, 80))
    seqs = draw(sequences_of(alphabet, length, len(ids)))
    return alphabet, list(zip(ids, seqs))


@FAST
@given(fasta_records(), st.integers(1, 90), st.booleans(), st.booleans(), st.sampled_from(["\n", "\r\n"]))
def test_fasta_written_from_records_parses_back(case, width, lower, descriptions, newline):
    alphabet, records = case
    text = ""
    for rid, seq in records:
        text += f">{rid}{' some description' if descriptions else ''}{newline}"
        body = seq.lower() if lower else seq
        text += "".join(body[i:i + width] + newline for i in range(0, len(body), width))
    length = len(records[0][1])
    assert parse_text(text, alphabet, length=length) == records
    assert read_fasta(io.StringIO(text), alphabet, length=length) == records
    assert read_fasta(io.BytesIO(text.encode()), alphabet) == records


# ============================================================================ variants

@st.composite
def substitutions(draw):
    alphabet = draw(st.sampled_from([DNA, RNA]))
    length = draw(st.integers(1, 60))
    ref = draw(sequences_of(alphabet, length, 1))[0]
    positions = draw(st.lists(st.integers(1, length), min_size=1, max_size=min(length, 6), unique=True))
    changes = {}
    for p in positions:
        changes[p] = draw(st.sampled_from([c for c in alphabet.letters if c != ref[p - 1]]))
    return alphabet, ref, changes


@FAST
@given(substitutions(), st.sampled_from([", ", ";", " ", ",\n"]), st.booleans(), st.booleans())
def test_parse_and_apply_agree_with_diff(case, separator, lower, spaced):
    alphabet, ref, changes = case
    items = [f"{p}{' ' if spaced else ''}{ref[p - 1]}{' > ' if spaced else '>'}{alt}" for p, alt in changes.items()]
    text = separator.join(item.lower() if lower else item for item in items)
    variants = parse_variants(text, ref, alphabet)
    assert [(v.position, v.ref, v.alt) for v in variants] == [(p, ref[p - 1], a) for p, a in changes.items()]
    alt = apply_variants(ref, variants, alphabet)
    expected = list(ref)
    for p, a in changes.items():
        expected[p - 1] = a
    assert alt == "".join(expected)
    assert diff_sequences(ref, alt, alphabet) == sorted(variants, key=lambda v: v.position)
    assert apply_variants(ref, diff_sequences(ref, alt, alphabet), alphabet) == alt


@FAST
@given(HOSTILE_TEXT, st.text(st.sampled_from(list("ACGT")), min_size=1, max_size=30))
def test_parse_variants_on_any_text_raises_only_sequence_error(text, ref):
    try:
        variants = parse_variants(text, ref)
    except SequenceError:
        return
    for v in variants:
        assert isinstance(v, Variant) and ref[v.start:v.end] == v.ref != v.alt


VCF_TOKEN = st.one_of(
    st.sampled_from(["chr1", "1", "chr2", "chrUn", ".", "<DEL>", "*", "N]chr1:5]", "A,T", "A,", ",", "PASS"]),
    st.integers(-5, 400).map(str),
    st.text(st.sampled_from(list("ACGTNacgt")), min_size=1, max_size=4),
    st.lists(st.text(st.sampled_from(list("ACGT")), min_size=1, max_size=3), min_size=1, max_size=3).map(",".join),
    st.text(HOSTILE_CHARACTERS, max_size=6),
)
VCF_LINE = st.lists(VCF_TOKEN, max_size=9).flatmap(
    lambda tokens: st.sampled_from(["\t", " ", "  "]).map(lambda sep: sep.join(tokens)))


WINDOW = st.text(st.sampled_from(list("ACGT")), min_size=1, max_size=40)


@st.composite
def vcf_line_in_window(draw):
    """A record near the window: POS inside or just outside it, REF from the window or random."""
    window, start = draw(WINDOW), draw(st.integers(1, 200))
    index = draw(st.integers(-2, len(window) + 1))
    size = draw(st.integers(1, 3))
    ref = window[max(index, 0):max(index, 0) + size] or "A"
    if draw(st.booleans()):
        ref = draw(st.text(st.sampled_from(list("ACGTacgtN")), min_size=1, max_size=3))
    allele = st.text(st.sampled_from(list("ACGT")), min_size=len(ref), max_size=len(ref))   # a substitution
    odd = st.text(st.sampled_from(list("ACGTN.*<>")), min_size=1, max_size=3)                 # often refused
    alts = draw(st.lists(st.one_of(allele, allele, odd), min_size=1, max_size=2))
    chrom = draw(st.sampled_from(["chr1", "1", "chr2"]))
    sep = draw(st.sampled_from(["\t", " "]))
    line = sep.join([chrom, str(start + index), ".", ref, ",".join(alts), ".", "PASS", "."])
    return line, window, start


@FAST
@given(st.one_of(st.tuples(st.one_of(HOSTILE_TEXT, VCF_LINE, st.lists(VCF_LINE, max_size=3).map("\n".join)),
                           WINDOW, st.integers(1, 200)),
                 vcf_line_in_window()),
       st.sampled_from([None, "chr1", "1"]))
def test_parse_vcf_line_raises_only_sequence_error(case, chrom):
    line, window, start = case
    try:
        variants = parse_vcf_line(line, window, start, chrom=chrom)
    except SequenceError:
        event("refused")
        return
    event("read")
    assert variants
    for v in variants:
        assert 1 <= v.position <= v.end <= len(window)
        assert window[v.start:v.end] == v.ref != v.alt and len(v.ref) == len(v.alt)


# ============================================================================ batch VCF input

CONTIG = "".join(np.random.default_rng(5).choice(list("ACGT"), 200))
LENGTH = 20                                              # the stand-in predictor's window


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("reference") / "ref.fa"
    path.write_text(">chr1\n" + "".join(CONTIG[i:i + 60] + "\n" for i in range(0, len(CONTIG), 60)))
    return path


# batch.read_records reads only the predictor's length and alphabet: no model is needed
PREDICTOR = SimpleNamespace(sequence_length=LENGTH, alphabet=DNA, name="stand-in")

# no characters that end a line when the file is read back in text mode (\r, \x1c, \x85, \u2028, ...)
LINE_BREAKING = set("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
ONE_LINE_TOKEN = st.one_of(
    st.sampled_from(["chr1", "1", "chr2", "chrUn", ".", "<DEL>", "*", "N]chr1:5]", "A,T", "A,", ",", "PASS"]),
    st.integers(-5, 400).map(str),
    st.text(st.sampled_from(list("ACGTNacgt")), min_size=1, max_size=4),
    st.text(HOSTILE_CHARACTERS.filter(lambda c: c not in LINE_BREAKING), max_size=6),
)
ONE_LINE = st.lists(ONE_LINE_TOKEN, max_size=9).flatmap(
    lambda tokens: st.sampled_from(["\t", " ", "  "]).map(lambda sep: sep.join(tokens)))
@st.composite
def matching_record(draw):
    """A record whose REF is the contig's letters at POS (often scorable), with random ALT alleles."""
    pos = draw(st.integers(1, len(CONTIG)))
    ref = CONTIG[pos - 1:pos - 1 + draw(st.integers(1, 3))]
    alts = draw(st.lists(st.text(st.sampled_from(list("ACGTN")), min_size=1, max_size=4), min_size=1, max_size=3))
    return f"{draw(st.sampled_from(['chr1', '1']))}\t{pos}\trs{pos}\t{ref}\t{','.join(alts)}\t.\tPASS\t."


VCF_RECORD = st.one_of(
    matching_record(),
    st.builds(lambda pos, ref, alts, chrom: f"{chrom}\t{pos}\t.\t{ref}\t{alts}",
              st.integers(1, 220), st.text(st.sampled_from(list("ACGT")), min_size=1, max_size=3),
              st.lists(st.text(st.sampled_from(list("ACGT")), min_size=1, max_size=3), min_size=1,
                       max_size=3).map(",".join),
              st.sampled_from(["chr1", "1", "chr2"])),
    ONE_LINE,
    st.sampled_from(["", "#CHROM\tPOS\tID\tREF\tALT", "##fileformat=VCFv4.2", " #not a header"]),
)


def data_lines(text: str):
    """(line number, columns) of the data lines, split as scrambler_core.batch splits them."""
    for lineno, line in enumerate(text.split("\n"), start=1):
        if line.strip() and not line.startswith("#"):
            yield lineno, [c.strip() for c in (line.split("\t") if "\t" in line else line.split())]


def expected_rows(text: str) -> list[int]:
    """Line numbers of the rows read_records gives: one per ALT allele of a data line with at least
    5 columns, one (refused) for a shorter data line."""
    out = []
    for lineno, columns in data_lines(text):
        out += [lineno] * (len(columns[4].split(",")) if len(columns) >= 5 else 1)
    return out


@SLOW
@given(st.lists(VCF_RECORD, max_size=8), st.sampled_from([None, 1, 10, LENGTH]))
def test_read_records_gives_one_row_per_allele_or_refuses_the_file(reference, lines, anchor):
    text = "\n".join(lines) + "\n"
    with tempfile.TemporaryDirectory() as folder:
        vcf = Path(folder) / "v.vcf"
        vcf.write_text(text, encoding="utf-8")
        try:
            kind, rows = batch.read_records(vcf, PREDICTOR, fasta=reference, anchor=anchor)
        except SequenceError as err:
            assert not expected_rows(text), err           # only a file without data lines is refused
            return
    assert kind == "variant"
    assert [r["record"] for r in rows] == expected_rows(text)
    event(f"{sum(r['status'] == 'ok' for r in rows) > 0} some row scorable")
    for r in rows:
        assert r["status"] in ("ok", "error")
        if r["status"] == "ok":
            assert len(r["ref_sequence"]) == len(r["alt_sequence"]) == LENGTH
            assert r["message"] == ""
        else:
            assert r["message"].startswith(f"line {r['record']}: ")
