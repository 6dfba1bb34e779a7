"""The one record reader (issue 18): scrambler_core.records.read_records with on_error="row" and "raise"."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from scrambler_core.records import Records, input_kind, read_records
from scrambler_core.sequences import SequenceError, get_alphabet

L = 8
GOOD = "ACGTACGT"
PREDICTOR = SimpleNamespace(alphabet=get_alphabet("dna"), sequence_length=L)
CONTIG = "ACGTTGCAAGCTTAGCCGATAGGCTAACGTAGCTAGGCATCGATCGGATCCA"   # 52 letters
REFERENCE = ">chr1\n" + CONTIG + "\n"
POS = 20                                                     # CONTIG[19] == "T"


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


# name, content, (fragment, record) of the first bad record in row mode, and what "raise" names
BAD_RECORDS = [
    ("bad_letter_fasta", "x.fa", f">a\n{GOOD}\n>b\nACGXACGT\n", "'X' at position 4", "sequence 'b'"),
    ("wrong_length_fasta", "x.fa", f">a\n{GOOD}\n>b\nACG\n", "sequence has length 3", "sequence 'b'"),
    ("bad_letter_csv", "x.csv", f"sequence\n{GOOD}\nACGTACGZ\n", "'Z' at position 8", "row 3"),
    ("wrong_length_csv", "x.tsv", f"id\tsequence\nr1\t{GOOD}\nr2\t{GOOD}A\n", "sequence has length 9", "row 3"),
    ("bad_vcf_line", "v.vcf", f"##fileformat=VCFv4.2\nchr1\t{POS}\t.\tT\tA\nchr1\t{POS}\t.\n",
     "a VCF record needs at least 5", "line 3"),
    ("bad_vcf_position", "v.vcf", f"chr1\t{POS}\t.\tT\tA\nchr1\tten\t.\tT\tA\n", "POS must be a positive whole",
     "line 2"),
    ("vcf_reference_mismatch", "v.vcf", f"chr1\t{POS}\t.\tT\tA\nchr1\t{POS}\t.\tG\tA\n",
     "does not match the reference", "line 2"),
]

# in "raise" mode CSV rows are numbered as data rows (header not counted), as read_csv_column does
RAISE_RECORD = {"row 3": "row 2"}


@pytest.fixture
def reference(tmp_path):
    return _write(tmp_path, "ref.fa", REFERENCE)


def _read(tmp_path, reference, name, text, on_error):
    fasta = reference if input_kind(name) == "variant" else None
    return read_records(_write(tmp_path, name, text), PREDICTOR, fasta=fasta, anchor=L // 2, on_error=on_error)


@pytest.mark.parametrize("case, name, text, fragment, record", BAD_RECORDS, ids=[c[0] for c in BAD_RECORDS])
def test_a_bad_record_is_a_row_with_its_reason(tmp_path, reference, case, name, text, fragment, record):
    kind, rows = _read(tmp_path, reference, name, text, "row")
    assert kind == input_kind(name)
    assert [r["status"] for r in rows] == ["ok", "error"]
    assert [r["index"] for r in rows] == [0, 1]
    assert fragment in rows[1]["message"] and record in rows[1]["message"], rows[1]["message"]
    assert rows[0]["message"] == ""


@pytest.mark.parametrize("case, name, text, fragment, record", BAD_RECORDS, ids=[c[0] for c in BAD_RECORDS])
def test_a_bad_record_raises_naming_the_file_and_the_record(tmp_path, reference, case, name, text, fragment,
                                                            record):
    with pytest.raises(SequenceError) as info:
        _read(tmp_path, reference, name, text, "raise")
    message = str(info.value)
    assert name in message and fragment in message and RAISE_RECORD.get(record, record) in message, message


# whole-file problems raise in both modes, naming the file
BAD_FILES = [
    ("empty_fasta", "x.fa", "", "x.fa"),
    ("empty_csv", "x.csv", "", "x.csv"),
    ("missing_column", "x.csv", f"seq\n{GOOD}\n", "'sequence'"),
    ("vcf_headers_only", "v.vcf", "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n", "v.vcf has no VCF data lines"),
    ("not_fasta", "x.fa", f"{GOOD}\n", "x.fa"),
]


@pytest.mark.parametrize("on_error", ["row", "raise"])
@pytest.mark.parametrize("case, name, text, fragment", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_whole_file_problems_raise_in_both_modes(tmp_path, reference, case, name, text, fragment, on_error):
    with pytest.raises(SequenceError) as info:
        _read(tmp_path, reference, name, text, on_error)
    assert fragment in str(info.value) and name in str(info.value), str(info.value)


def test_good_files_read_the_same_in_both_modes(tmp_path, reference):
    for name, text in [("x.fa", f">a\n{GOOD.lower()}\n>b\n{GOOD.replace('T', 'U')}\n"),
                       ("x.csv", f"id,sequence\na,{GOOD}\nb,{GOOD}\n")]:
        row = _read(tmp_path, reference, name, text, "row")
        strict = _read(tmp_path, reference, name, text, "raise")
        assert isinstance(row, Records) and row.kind == strict.kind == "sequence"
        assert [(r["sequence"], r["status"]) for r in row.rows] == \
               [(r["sequence"], r["status"]) for r in strict.rows] == [(GOOD, "ok"), (GOOD, "ok")]
        assert [r["id"] for r in row.rows] == ["a", "b"]
    kind, rows = _read(tmp_path, reference, "v.vcf", f"chr1\t{POS}\t.\tT\tA,G\n", "raise")
    assert kind == "variant" and [r["alt_sequence"][L // 2 - 1] for r in rows] == ["A", "G"]
    assert rows[0]["ref_sequence"] == CONTIG[POS - L // 2:POS - L // 2 + L]


def test_in_memory_uploads_and_text_lines(tmp_path):
    data = f"{GOOD}\n\n{GOOD[:-1]}\n".encode()
    with pytest.raises(SequenceError, match="sequence 'line 3 of up.txt': sequence has length 7"):
        read_records(data, PREDICTOR, name="up.txt", on_error="raise")
    rows = read_records(f">a\n{GOOD}\n".encode(), "dna", name="up.fa", on_error="raise").rows
    assert rows[0]["sequence"] == GOOD and rows[0]["record"] == 1
    with pytest.raises(SequenceError, match="up.fa is not a text file"):
        read_records(b"\xff\xfe\x00", PREDICTOR, name="up.fa")
    with pytest.raises(ValueError, match="on_error must be"):
        read_records(data, PREDICTOR, name="up.txt", on_error="skip")


def test_duplicate_ids_are_rows_but_refused_when_raising(tmp_path, reference):
    text = f">a\n{GOOD}\n>a\n{GOOD}\n"
    assert [r["id"] for r in _read(tmp_path, reference, "d.fa", text, "row").rows] == ["a", "a"]
    with pytest.raises(SequenceError, match="duplicate record id 'a'"):
        _read(tmp_path, reference, "d.fa", text, "raise")
