"""Hostile inputs: one table of malformed (and a few should-pass) inputs, run through every entry point.

In the style of logomaker's should-fail tables. Each row of ``CASES`` is one input a user can get
wrong; the same row is fed to

* the API -- the function that reads that kind of input must raise ``SequenceError`` /
  ``ModelFileError`` (both ``ValueError``), never another exception type, with a message holding
  the expected fragment (VCF rows that are refused one by one come back with ``status="error"``
  and the reason instead, which is what ``scrambler_core.batch`` does);
* the command line -- ``scrambler_core.cli.main`` in this process (TensorFlow is imported once),
  exit status 2 and exactly one ``error: ...`` line on stderr; three real subprocesses at the end
  prove the real exit status;
* the app -- the page where that input is pasted or uploaded, driven by ``AppTest`` (one session
  per page, the input changed between cases): an ``st.error`` with the fragment (or a per-row
  warning for a refused VCF row) and never an exception.

Rows with ``fragment=None`` must pass everywhere (mixed case, GenBank-style numbers, ``U`` for
DNA, an indel in a batch VCF). Rows marked in ``xfail`` are known bugs in files this suite does
not own; they are strict, so fixing the bug turns them into failures that ask for the mark's removal.
"""
from __future__ import annotations

import gzip
import io
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from pagetools import assert_clean, errors, open_page, private_result_cache, texts

import scrambler_core as sc
from scrambler_core import batch, cli, synthetic
from scrambler_core import user_models as um
from scrambler_core.predictors import ModelFileError
from scrambler_core.sequences import SequenceError, parse_text, read_csv_column, read_fasta, read_sequences
from scrambler_core.variants import apply_variants, parse_variants, parse_vcf_line

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300
L = 50                                                   # utr5 reads 50 nucleotides
GOOD = "ACGT" * 12 + "AC"
REF = synthetic.generate_uorf_set(1, 1, 1, seed=3)[0][0]  # the Variant page's first utr5 example
WINDOW_START = 1_000_001                                 # the Variant page's default window start
MB10 = 10 * 1024 * 1024
DIRECTORY = object()                                     # "write a directory of this name"

_rng = np.random.default_rng(11)
CHROM = "".join(_rng.choice(list("ACGT"), 300))          # chr1 of the batch reference FASTA
REFERENCE_FASTA = ">chr1 test contig\n" + "".join(CHROM[i:i + 60] + "\n" for i in range(0, 300, 60))
POS = 100                                                # a VCF position in the middle of chr1
NOT_AT_POS = next(c for c in "ACGT" if c != CHROM[POS - 1])
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\xff\xfe"

private_cache = private_result_cache("hostile_inputs_cache")


def fasta_text(n=40, lower=False) -> str:
    """``n`` valid records of length L (40: enough for the Your model page, which needs 32)."""
    rng = np.random.default_rng(n)
    seqs = ["".join(rng.choice(list("ACGT"), L)) for _ in range(n)]
    return "".join(f">s{k}\n{s.lower() if lower else s}\n" for k, s in enumerate(seqs, start=1))


def csv_text(rows, column="sequence") -> str:
    return f"{column}\n" + "".join(f"{r}\n" for r in rows)


def gz_corrupt(content: bytes) -> bytes:
    """A gzip file whose header is fine but whose compressed data is scrambled (zlib.error on reading)."""
    good = gzip.compress(content)
    return good[:10] + bytes(b ^ 0x5A for b in good[10:-8]) + good[-8:]


def zip_without_model() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a model")
    return buffer.getvalue()


def keras_model_bytes(tmp: Path, input_shape, name: str) -> bytes:
    import keras

    inputs = keras.Input(input_shape)
    h = keras.layers.Conv1D(4, 5, padding="same", activation="relu")(inputs)
    out = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(h))
    path = tmp / name
    keras.Model(inputs, out).save(path)
    return path.read_bytes()


# ============================================================================ the table

@dataclass(frozen=True)
class Case:
    """One hostile input.

    kind       which reader: sequence (pasted text), fasta / csv / file (a sequence file), variant (variant
               text on REF), vcf_line (one VCF record on REF at WINDOW_START), vcf_file (a batch VCF on
               chr1 of REFERENCE_FASTA), batch_file (a batch sequence input), model (a Keras model file)
    bad        the input: text, bytes, DIRECTORY, or a callable(tmp_dir) giving one of them
    fragment   expected in the message; a dict {"api"/"cli"/"app": fragment} where they differ; None: must pass
    app        the app form ("explore", "variant_text", "vcf_line", "batch_vcf", "upload_sequences",
               "upload_model") or None; "" picks the kind's usual form
    cli        whether the command line takes this input (variant text and VCF lines it does not)
    name       file name of the file forms
    chrom      vcf_line: the window's chromosome (API only: the page reads no chromosome)
    per_row    vcf_file: a refused row (status "error"), not a refused file
    seconds    must be answered within this many seconds (the 10 MB pastes)
    xfail      {"api"/"cli"/"app": reason}: known bugs in files this suite does not own
    """

    id: str
    kind: str
    bad: object
    fragment: object
    app: str | None = ""
    cli: bool = True
    name: str = ""
    chrom: str | None = None
    per_row: bool = False
    seconds: float | None = None
    xfail: dict = field(default_factory=dict)

    def expect(self, where: str):
        if isinstance(self.fragment, dict):
            return self.fragment.get(where, self.fragment.get("api"))
        return self.fragment

    def data(self, tmp: Path):
        return self.bad(tmp) if callable(self.bad) else self.bad

    @property
    def app_form(self) -> str | None:
        if self.app != "":
            return self.app
        return {"sequence": "explore", "fasta": "upload_sequences", "csv": "upload_sequences",
                "file": "upload_sequences", "variant": "variant_text", "vcf_line": "vcf_line",
                "vcf_file": "batch_vcf", "model": "upload_model"}.get(self.kind)

    @property
    def has_cli(self) -> bool:
        if not self.cli or self.kind in ("variant", "vcf_line"):
            return False
        return not (self.kind == "vcf_file" and (self.per_row or self.fragment is None))


C = Case
CASES = [
    # ------------------------------------------------------------------ one pasted sequence (utr5: 50 nt)
    C("seq_wrong_letter", "sequence", GOOD[:-1] + "X", "'X' at position 50 is not one of A, C, G, T"),
    C("seq_too_short", "sequence", GOOD[:48], "sequence has length 48 but this predictor expects 50 nucleotides"),
    C("seq_too_long", "sequence", GOOD + "A", "sequence has length 51 but this predictor expects 50 nucleotides"),
    C("seq_empty", "sequence", "", "empty sequence"),
    C("seq_whitespace_only", "sequence", "  \n\t \r\n  ", "empty sequence"),
    C("seq_genbank_numbers_only", "sequence", "1\n61\n121\n", "empty sequence"),
    C("seq_mixed_case_passes", "sequence", "acgtACGT" * 6 + "aC", None),
    C("seq_genbank_paste_passes", "sequence", "1 acgtacgtac gtacgtacgt acgtacgtac\n31 gtacgtacgt acgtacgtac\n", None),
    C("seq_u_read_as_t_passes", "sequence", GOOD.replace("T", "U"), None),
    C("seq_cyrillic_a", "sequence", GOOD[:-1] + "\u0410", "'А' (U+0410) at position 50 is not one of A, C, G, T"),
    C("seq_fullwidth_a", "sequence", "\uff21" + GOOD[1:], "'Ａ' (U+FF21) at position 1 is not one of"),
    C("seq_dotless_i", "sequence", GOOD[:10] + "\u0131" + GOOD[11:], "'ı' (U+0131) at position 11"),
    C("seq_zero_width_space", "sequence", GOOD[:24] + "\u200b" + GOOD[24:], "'\\u200b' (U+200B) at position 25"),
    C("seq_bom_inside", "sequence", GOOD[:24] + "\ufeff" + GOOD[24:], "(U+FEFF) at position 25"),
    C("seq_control_character", "sequence", GOOD[:24] + "\x07" + GOOD[24:],
      "non-printable character '\\x07' at line 1, column 25"),
    C("seq_nul_bytes", "sequence", "ACGT\x00" * 10, "non-printable character '\\x00' at line 1, column 5"),
    C("seq_ambiguous_n", "sequence", GOOD[:9] + "N" + GOOD[10:], "'N' at position 10: ambiguous bases are refused"),
    C("seq_protein_letters", "sequence", "MKLVWEFHPQ" * 5, "'M' at position 1 is not one of A, C, G, T"),
    C("seq_10mb_paste", "sequence", lambda tmp: "ACGT" * (MB10 // 4),
      "sequence has length 10485760 but this predictor expects 50 nucleotides", seconds=8),
    C("seq_10mb_letter_junk", "sequence", lambda tmp: GOOD + "Q" * (MB10 - L), "'Q' at position 51", seconds=8),
    # ------------------------------------------------------------------ FASTA
    C("fasta_no_header", "fasta", GOOD + "\n" + GOOD + "\n", "no FASTA records found", name="x.fa"),
    C("fasta_text_before_header", "fasta", GOOD + "\n>s2\n" + GOOD + "\n",
      "line 1 comes before the first '>' header", name="x.fa", app="explore"),
    C("fasta_empty_record", "fasta", ">a\n>b\n" + GOOD + "\n", "sequence 'a': empty sequence", name="x.fa",
      app="explore"),
    C("fasta_only_headers", "fasta", ">a\n>b\n", "sequence 'a': empty sequence", name="x.fa"),
    C("fasta_empty_header", "fasta", ">\n" + GOOD + "\n", "has an empty '>' header (no id)", name="x.fa"),
    # duplicate ids are refused by every sequence reader (the batch keeps both rows: see batch_fasta_duplicate_ids)
    C("fasta_duplicate_ids", "fasta", ">a\n" + GOOD + "\n>a\n" + GOOD + "\n",
      "duplicate record id 'a'", name="x.fa", app="explore"),
    C("fasta_binary_junk", "fasta", PNG, "is not a UTF-8 text file", name="x.fa"),
    C("fasta_nul_inside_record", "fasta", (">a\n" + GOOD[:10] + "\x00" + GOOD[10:] + "\n").encode(),
      "non-printable character '\\x00' at line 2, column 11", name="x.fa"),
    C("fasta_wrong_length_record", "fasta", ">s1\n" + GOOD + "\n>s2\n" + GOOD[:49] + "\n",
      "sequence 's2': sequence has length 49 but this predictor expects 50", name="x.fa"),
    C("fasta_wrong_letter_record", "fasta", ">s1\n" + GOOD + "\n>s2\nACZ" + GOOD[3:] + "\n",
      "sequence 's2': 'Z' at position 3 is not one of A, C, G, T", name="x.fa", app="explore"),
    C("fasta_cyrillic_in_record", "fasta", ">s1\n" + GOOD[:-1] + "\u0410\n", "'А' (U+0410) at position 50",
      name="x.fa"),
    C("fasta_empty_file", "fasta", b"", {"api": "no FASTA records found in 'x.fa'",
                                         "app": "x.fa: the uploaded sequence file is empty (0 bytes)"}, name="x.fa"),
    C("fasta_mixed_case_passes", "fasta", fasta_text(lower=True), None, name="x.fa"),
    C("fasta_gz_corrupt", "file", gz_corrupt(fasta_text().encode()), "cannot read 'x.fa.gz'",
      name="x.fa.gz", app=None),
    # ------------------------------------------------------------------ CSV / other sequence files
    C("csv_missing_column", "csv", csv_text([GOOD], column="seq"), "column 'sequence' not found; columns are: seq",
      name="x.csv"),
    C("csv_empty_file", "csv", b"", {"api": "the table is empty (no header row)",
                                     "app": "x.csv: the uploaded sequence file is empty (0 bytes)"}, name="x.csv"),
    C("csv_header_only", "csv", "sequence\n", "the table has no data rows", name="x.csv"),
    C("csv_wrong_letter_row", "csv", csv_text([GOOD, GOOD[:-1] + "X"]), "row 2: 'X' at position 50", name="x.csv"),
    C("csv_wrong_length_row", "csv", csv_text([GOOD, GOOD[:-2]]), "row 2: sequence has length 48", name="x.csv"),
    C("csv_binary_junk", "csv", PNG, {"api": "cannot read the table", "app": "is not a UTF-8 text file"},
      name="x.csv"),
    C("csv_unclosed_quote", "csv", 'sequence\n"' + GOOD + "\n", "cannot read the table", name="x.csv"),
    C("csv_is_a_directory", "csv", DIRECTORY, "cannot read 'dir.csv': Is a directory", name="dir.csv", app=None),
    C("csv_gz_corrupt", "file", gz_corrupt(csv_text([GOOD]).encode()), "cannot read 'x.csv.gz'",
      name="x.csv.gz", app=None),
    C("file_unknown_suffix", "file", b"%PDF-1.4\n", {"api": "unknown file type '.pdf' for 'x.pdf'",
                                                    "app": "x.pdf: the suffix '.pdf' is not accepted"}, name="x.pdf",
      app=None),                      # the app's uploader itself takes no .pdf: see test_app_uploaders_filter_types
    C("file_pickle_as_sequences", "file", b"\x80\x04\x95\x00", {"api": "unknown file type '.pkl'",
                                                               "app": "the suffix '.pkl' is not accepted"},
      name="seqs.pkl", app=None),
    C("txt_line_too_short", "file", GOOD + "\n" + GOOD[:49] + "\n",
      {"api": "line 2: sequence has length 49", "app": "line 2 of x.txt': sequence has length 49"}, name="x.txt"),
    # ------------------------------------------------------------------ variant text on REF (position 6 is A)
    C("var_no_gt", "variant", "6A-G", "has no '>' between the reference and alternative letters"),
    C("var_letter_first", "variant", "A6>G", "does not start with a position"),
    C("var_position_0", "variant", "0A>G", "has position 0, but positions start at 1"),
    C("var_beyond_length", "variant", "51A>G",
      "position 51 is outside the sequence, which has 50 nucleotides (positions 1 to 50)"),
    C("var_reference_mismatch", "variant", "6C>G", "variant 6C>G: the reference has A at position 6, not C"),
    C("var_insertion", "variant", "6A>AG", "is an insertion or deletion: indels are refused"),
    C("var_hgvs_deletion", "variant", "6delA", "is an insertion or deletion: indels are refused"),
    C("var_same_as_reference", "variant", "6A>A", "the alternative is the same as the reference"),
    C("var_twice_same_position", "variant", "6A>G, 6A>T", "both change position 6"),
    C("var_whitespace_only", "variant", "  ,  ; ", "no variant given"),
    C("var_ambiguous_alt", "variant", "6A>N", "'N' is not one of A, C, G, T"),
    C("var_arabic_indic_digit", "variant", "\u0666A>G", "contains '٦' (U+0666), which is not a plain digit"),
    C("var_fullwidth_digit", "variant", "\uff16A>G", "contains '６' (U+FF16)"),
    C("var_cyrillic_letter", "variant", "6\u0410>G", "contains 'А' (U+0410)"),
    C("var_control_character", "variant", "6A>G\x07", "non-printable character '\\x07'"),
    C("var_10mb_paste", "variant", lambda tmp: "6A>G, " * (MB10 // 6),
      "variants given but the reference has only 50 nucleotides", seconds=8),
    C("var_lowercase_passes", "variant", "6a>g", None),
    # ------------------------------------------------------------------ one VCF line on REF at WINDOW_START
    C("vcf_three_columns", "vcf_line", "chr1 1000006 .", "has 3 columns; need at least 5"),
    C("vcf_wrong_chromosome", "vcf_line", "chr2 1000006 . A G",
      "the VCF record is on chromosome 'chr2' but the window is on 'chr1'", chrom="chr1", app=None),
    C("vcf_indel_refused", "vcf_line", "chr1 1000006 . A AG",
      "is an insertion or deletion (REF has 1 letter, ALT has 2); indels are refused"),
    C("vcf_position_outside_window", "vcf_line", "chr1 1000051 . A G", "is outside the window"),
    C("vcf_position_not_a_number", "vcf_line", "chr1 1e6 . A G", "VCF POS (column 2) must be a positive whole"),
    C("vcf_position_arabic_indic", "vcf_line", "chr1 \u0661\u0660\u0660\u0660\u0660\u0660\u0666 . A G",
      "VCF POS (column 2) must be a positive whole number"),
    C("vcf_reference_mismatch", "vcf_line", "chr1\t1000006\t.\tC\tG",
      "VCF REF 'C' does not match the window, which has 'A' at genomic position 1000006"),
    C("vcf_symbolic_allele", "vcf_line", "chr1 1000006 . A <DEL>", "is a symbolic or structural allele"),
    C("vcf_two_records", "vcf_line", "chr1 1000006 . A G\nchr1 1000007 . C T", "found 2 VCF data lines"),
    C("vcf_header_only", "vcf_line", "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n", "no VCF data line found"),
    C("vcf_nul_byte", "vcf_line", "chr1 1000006\x00 . A G", "non-printable character '\\x00'"),
    C("vcf_lowercase_passes", "vcf_line", "chr1 1000006 . a g", None),
    # ------------------------------------------------------------------ batch VCF files (chr1 of REFERENCE_FASTA)
    C("vcffile_three_columns", "vcf_file", "chr1\t100\t.\n",
      "line 1: 3 columns; a VCF record needs at least 5 (CHROM POS ID REF ALT)", per_row=True),
    C("vcffile_wrong_chromosome", "vcf_file", f"chr2\t{POS}\t.\t{CHROM[POS - 1]}\tA\n",
      "chromosome 'chr2' is not in reference.fa (it has chr1)", per_row=True),
    C("vcffile_position_0", "vcf_file", "chr1\t0\t.\tA\tG\n", "POS must be a positive whole number, got '0'",
      per_row=True),
    C("vcffile_past_the_end", "vcf_file", "chr1\t400\t.\tA\tG\n", "POS 400 (REF 'A') is past the end of chr1",
      per_row=True),
    C("vcffile_reference_mismatch", "vcf_file", f"chr1\t{POS}\t.\t{NOT_AT_POS}\tG\n",
      f"REF '{NOT_AT_POS}' does not match the reference, which has '{CHROM[POS - 1]}' at chr1:{POS}", per_row=True),
    C("vcffile_symbolic_allele", "vcf_file", f"chr1\t{POS}\t.\t{CHROM[POS - 1]}\t<DEL>\n",
      "is a symbolic or breakend allele", per_row=True),
    C("vcffile_position_arabic_indic", "vcf_file", f"chr1\t\u0661\u0660\u0660\t.\t{CHROM[POS - 1]}\tA\n",
      "POS must be a positive whole number", per_row=True, app=None),
    C("vcffile_empty_ref", "vcf_file", f"chr1\t{POS}\t.\t\tA\n", "the REF column is empty", per_row=True),
    C("vcffile_indel_passes", "vcf_file", f"chr1\t{POS}\t.\t{CHROM[POS - 1]}\t{CHROM[POS - 1]}AC\n", None, app=None),
    C("vcffile_binary_junk", "vcf_file", PNG, "v.vcf is not a text file", app=None),
    C("vcffile_headers_only", "vcf_file", "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n",
      {"api": "v.vcf has no VCF data lines", "app": "The VCF has no data lines"}),
    C("vcffile_gz_corrupt", "vcf_file", lambda tmp: gzip.compress(b"chr1\t100\t.\tA\tG\n")[:14],
      "v.vcf.gz cannot be read", name="v.vcf.gz", app=None),
    C("vcffile_gz_corrupt_data", "vcf_file", gz_corrupt(b"chr1\t100\t.\tA\tG\n" * 50), "v.vcf.gz cannot be read",
      name="v.vcf.gz", app=None),
    # ------------------------------------------------------------------ batch sequence inputs
    C("batch_fasta_no_header", "batch_file", GOOD + "\n", "x.fa is not FASTA: the first line should start with '>'",
      name="x.fa", app=None),
    C("batch_csv_missing_column", "batch_file", csv_text([GOOD], column="seq"), "x.csv has no column 'sequence'",
      name="x.csv", app=None),
    C("batch_csv_gz_corrupt", "batch_file", b"not gzip at all", "x.csv.gz", name="x.csv.gz", app=None),
    C("batch_fasta_duplicate_ids_pass", "batch_file", ">a\n" + GOOD + "\n>a\n" + GOOD + "\n", None, name="x.fa",
      app=None, cli=False),
    # ------------------------------------------------------------------ model files
    C("model_text_renamed_keras", "model", b"these are my notes, not a model\n",
      {"api": "notes.keras is not a Keras model file: a .keras file is a zip archive",
       "cli": "notes.keras is not a Keras model file"}, name="notes.keras"),
    C("model_zip_without_model", "model", lambda tmp: zip_without_model(),
      "archive.keras is not a readable Keras model file", name="archive.keras"),
    C("model_pickle", "model", b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94.",
      {"api": "model.pkl: the suffix '.pkl' is not accepted; upload a Keras model saved as .keras or .h5",
       "cli": "model.pkl: expected a .keras (or .h5) Keras model file"}, name="model.pkl", app=None),
    C("model_empty_file", "model", b"", {"api": "empty.keras: the uploaded model file is empty (0 bytes)",
                                         "cli": "empty.keras is not a Keras model file"}, name="empty.keras"),
    C("model_h5_junk", "model", b"GIF89a not hdf5",
      {"api": "junk.h5 is not a Keras model file: a .h5 file is an HDF5 file",
       "cli": "junk.h5 is not a Keras model file: a .h5 file is an HDF5 file"}, name="junk.h5"),
    C("model_three_channels", "model", lambda tmp: keras_model_bytes(tmp, (L, 3), "three.keras"),
      "three.keras: input has 3 channels per position", name="three.keras"),
    C("model_any_length", "model", lambda tmp: keras_model_bytes(tmp, (None, 4), "any.keras"),
      "any.keras: the model takes sequences of any length", name="any.keras", cli=False),  # predict takes it
]

BY_ID = {c.id: c for c in CASES}
assert len(BY_ID) == len(CASES), "duplicate case ids"


def cases_for(where: str) -> list:
    """The cases an entry point takes, with the strict xfail marks of known bugs."""
    if where == "api":
        chosen = list(CASES)
    elif where == "cli":
        chosen = [c for c in CASES if c.has_cli]
    else:
        chosen = [c for c in CASES if c.app_form == where]
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.xfail[key])
                                            for key in (where if where in ("api", "cli") else "app",)
                                            if key in c.xfail]) for c in chosen]


def test_the_table_is_big_enough():
    refused = [c for c in CASES if c.fragment is not None]
    assert len(refused) >= 45
    assert len(cases_for("cli")) >= 30
    assert sum(len(cases_for(form)) for form in APP_FORMS) >= 15


# ============================================================================ shared inputs

def write(tmp: Path, name: str, data) -> Path:
    path = tmp / name
    if data is DIRECTORY:
        path.mkdir()
    else:
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


@pytest.fixture(scope="module")
def utr5(utr5_predictor_file):
    return sc.load_predictor("utr5")


@pytest.fixture
def reference_fa(tmp_path) -> Path:
    return write(tmp_path, "reference.fa", REFERENCE_FASTA)


def call_api(case: Case, tmp: Path, utr5, reference_fa):
    """Feed the case to the API function of its kind."""
    data = case.data(tmp)
    if case.kind == "sequence":
        return parse_text(data, "dna", length=L)
    if case.kind == "fasta":
        return read_fasta(write(tmp, case.name, data), "dna", length=L)
    if case.kind == "csv":
        return read_csv_column(write(tmp, case.name, data), "sequence", alphabet="dna", length=L)
    if case.kind == "file":
        return read_sequences(write(tmp, case.name, data), "dna", length=L)
    if case.kind == "variant":
        return apply_variants(REF, parse_variants(data, REF))
    if case.kind == "vcf_line":
        return parse_vcf_line(data, REF, WINDOW_START, chrom=case.chrom)
    if case.kind == "vcf_file":
        return batch.read_records(write(tmp, case.name or "v.vcf", data), utr5, fasta=reference_fa)[1]
    if case.kind == "batch_file":
        return batch.read_records(write(tmp, case.name, data), utr5)[1]
    if case.kind == "model":
        return um.load_user_predictor(um.save_upload(case.name, data, tmp / "uploads"))
    raise AssertionError(f"unknown kind {case.kind}")


# ============================================================================ API

@pytest.mark.parametrize("case", cases_for("api"))
def test_api(case, tmp_path, utr5, reference_fa):
    started = time.perf_counter()
    fragment = case.expect("api")
    if fragment is None:
        result = call_api(case, tmp_path, utr5, reference_fa)
        if case.kind in ("vcf_file", "batch_file"):
            assert result and all(r["status"] == "ok" for r in result), [r["message"] for r in result]
        elif case.kind in ("sequence", "fasta"):
            assert result and all(len(s) == L and set(s) <= set("ACGT") for _, s in result)
        elif case.kind == "variant":
            assert result == REF[:5] + "G" + REF[6:]
        elif case.kind == "vcf_line":
            assert [str(v) for v in result] == ["6A>G"]
        return
    if case.per_row:
        rows = call_api(case, tmp_path, utr5, reference_fa)
        assert rows and all(r["status"] == "error" for r in rows), rows
        assert fragment in rows[0]["message"], rows[0]["message"]
        assert rows[0]["message"].startswith("line 1: ")                # says where
    else:
        with pytest.raises(Exception) as info:
            call_api(case, tmp_path, utr5, reference_fa)
        err = info.value
        assert isinstance(err, (SequenceError, ModelFileError, ValueError)), \
            f"{type(err).__name__} escaped: {err}"
        assert type(err) in (SequenceError, ModelFileError), f"plain {type(err).__name__}: {err}"
        assert fragment in str(err), str(err)
        assert "Traceback" not in str(err)
    if case.seconds is not None:
        assert time.perf_counter() - started < case.seconds


@pytest.mark.parametrize("look_alike, upper", [("\u0131", "I"), ("\u017f", "S"), ("\ufb01", "FI"), ("\ufb06", "ST")])
def test_protein_look_alikes_are_not_upper_cased_into_letters(look_alike, upper):
    """str.upper() turns these into protein letters ('ı' -> 'I', 'ſ' -> 'S', 'ﬁ' -> 'FI'); they must be refused
    by name, not read as the letters they resemble."""
    assert look_alike.upper() == upper
    text = "MKV" + look_alike + "LW"
    for read in (lambda: sc.validate_sequence(text, "protein"), lambda: sc.one_hot(text, "protein"),
                 lambda: parse_text(">p\n" + text, "protein"), lambda: um.read_user_sequences(
                     "p.fa", f">p\n{text}\n".encode(), SimpleProtein, min_sequences=1)):
        with pytest.raises(SequenceError, match=f"'{look_alike}' \\(U\\+{ord(look_alike):04X}\\) at position 4"):
            read()
    assert sc.validate_sequence("mkvilw", "protein") == "MKVILW"      # ASCII lower case still passes


class SimpleProtein:
    """What read_user_sequences needs of a predictor: alphabet and length."""
    alphabet = sc.get_alphabet("protein")
    sequence_length = None


def test_duplicate_fasta_ids_refused_by_every_reader_but_kept_by_the_batch(tmp_path, utr5):
    """The product's decision on duplicate ids: sequence readers (API, CLI, app) refuse them; the batch scores
    every record and keeps both rows (its rows have their own index)."""
    text = ">a\n" + GOOD + "\n>a\n" + GOOD + "\n"
    for read in (lambda: parse_text(text, length=L), lambda: read_fasta(io.StringIO(text), length=L)):
        with pytest.raises(SequenceError, match="duplicate record id 'a'"):
            read()
    with pytest.raises(SequenceError, match="duplicate record id 'a'"):
        um.read_user_sequences("x.fa", text.encode(), utr5, min_sequences=1)
    rows = batch.read_records(write(tmp_path, "x.fa", text), utr5)[1]
    assert [(r["id"], r["index"], r["status"]) for r in rows] == [("a", 0, "ok"), ("a", 1, "ok")]


# ============================================================================ command line (in this process)

def cli_args(case: Case, tmp: Path, reference_fa: Path, monkeypatch) -> list[str]:
    data = case.data(tmp)
    out = str(tmp / "out.csv")
    if case.kind == "sequence":
        monkeypatch.setattr(sys, "stdin", io.StringIO(data))
        return ["predict", "--predictor", "utr5", "--input", "-", "--output", out]
    if case.kind in ("fasta", "csv", "file"):
        return ["predict", "--predictor", "utr5", "--input", str(write(tmp, case.name, data)), "--output", out]
    if case.kind in ("vcf_file", "batch_file"):
        path = write(tmp, case.name or "v.vcf", data)
        fasta = ["--fasta", str(reference_fa)] if case.kind == "vcf_file" else []
        return ["batch", "--predictor", "utr5", "--input", str(path), *fasta, "--output", str(tmp / "out.parquet"),
                "--methods", "saliency", "--no-progress"]
    if case.kind == "model":
        model = write(tmp, case.name, data)
        good = write(tmp, "good.fa", ">g\n" + GOOD + "\n")
        return ["predict", "--predictor", str(model), "--input", str(good), "--output", out]
    raise AssertionError(f"no command line form for {case.kind}")


@pytest.mark.parametrize("case", cases_for("cli"))
def test_cli(case, tmp_path, reference_fa, utr5, monkeypatch, capsys):
    args = cli_args(case, tmp_path, reference_fa, monkeypatch)
    capsys.readouterr()
    status = cli.main(args)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    fragment = case.expect("cli")
    if fragment is None:
        assert status == 0, captured.err
        assert (tmp_path / "out.csv").is_file()
        return
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert status == 2, captured.err
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    assert fragment in lines[0], lines[0]


def test_cli_batch_with_an_empty_ref_column_refuses_the_row(tmp_path, reference_fa, capsys):
    vcf = write(tmp_path, "v.vcf", BY_ID["vcffile_empty_ref"].bad)
    status = cli.main(["batch", "--predictor", "utr5", "--input", str(vcf), "--fasta", str(reference_fa),
                       "--output", str(tmp_path / "out.parquet"), "--methods", "saliency", "--no-progress"])
    assert status == 0
    assert "1 rows (1 error)" in capsys.readouterr().err


SUBPROCESS_CASES = ["seq_cyrillic_a", "fasta_binary_junk", "vcffile_headers_only"]


@pytest.mark.parametrize("case_id", SUBPROCESS_CASES)
def test_cli_real_subprocess(case_id, tmp_path, monkeypatch):
    """``python -m scrambler_core`` for real: exit status 2 and one ``error:`` line on stderr."""
    case = BY_ID[case_id]
    reference_fa = write(tmp_path, "reference.fa", REFERENCE_FASTA)
    args = cli_args(case, tmp_path, reference_fa, monkeypatch)
    stdin = case.data(tmp_path) if case.kind == "sequence" else None
    done = subprocess.run([sys.executable, "-m", "scrambler_core", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=TIMEOUT)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert case.expect("cli") in lines[0]
    assert "Traceback" not in done.stderr


# ============================================================================ app

APP_FORMS = ("explore", "variant_text", "vcf_line", "batch_vcf", "upload_sequences", "upload_model")
EXPLORE_SEQUENCE = "explore.sequence.utr5"
VARIANT_INPUT = "variant.input"
VARIANT_KINDS = ("Variant (120G>A)", "Edited sequence", "VCF line")
MODEL_UPLOADER = "your_model_model_file"
SEQUENCE_UPLOADER = "your_model_sequence_file"
MODEL_STATE = "_your_model_model"


@pytest.fixture(scope="module")
def session_tmp(tmp_path_factory):
    """The pages' per-session upload folders (tempfile.mkdtemp) go under pytest's tmp folder."""
    import tempfile

    mp = pytest.MonkeyPatch()
    mp.setattr(tempfile, "tempdir", str(tmp_path_factory.mktemp("sessions")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def explore_app(utr5_predictor_file, session_tmp):
    return open_page("pages/explore.py", "utr5", timeout=TIMEOUT)


@pytest.fixture(scope="module")
def variant_app(utr5_predictor_file, session_tmp):
    at = open_page("pages/variant.py", "utr5", timeout=TIMEOUT)
    assert at.text_area(key="variant.reference.utr5").value == REF
    return at


@pytest.fixture(scope="module")
def model_app(session_tmp):
    return open_page("pages/your_model.py", "utr5", timeout=TIMEOUT)


@pytest.fixture(scope="module")
def sequences_app(session_tmp, tmp_path_factory):
    """The Your model page with a good 50-nt model loaded, ready for sequence uploads."""
    at = open_page("pages/your_model.py", "utr5", timeout=TIMEOUT)
    model = keras_model_bytes(tmp_path_factory.mktemp("model"), (L, 4), "tiny50.keras")
    at.file_uploader(key=MODEL_UPLOADER).set_value(("tiny50.keras", model, "application/octet-stream"))
    run(at)
    assert not at.error, errors(at)
    assert any("50 nucleotides" in s.value for s in at.success)
    return at


def run(at, case: Case | None = None):
    started = time.perf_counter()
    at.run(timeout=TIMEOUT)
    assert_clean(at)
    if case is not None and case.seconds is not None:
        assert time.perf_counter() - started < case.seconds
    return at


def check_refused(at, case: Case, where: str = "app"):
    fragment = case.expect(where)
    shown = errors(at)
    assert fragment in shown, shown
    assert "Traceback" not in shown and "Something went wrong" not in shown


@pytest.mark.parametrize("case", cases_for("explore"))
def test_app_explore(case, explore_app):
    at = explore_app
    data = case.data(None)
    at.session_state[EXPLORE_SEQUENCE] = data if isinstance(data, str) else data.decode("utf-8")
    run(at, case)
    if case.fragment is None:
        assert not at.error, errors(at)
        assert [m for m in at.metric if m.label == "Prediction (original)"]
    else:
        check_refused(at, case)
        assert errors(at).startswith("Sequence: ")


@pytest.mark.parametrize("case", cases_for("variant_text"))
def test_app_variant_text(case, variant_app):
    at = variant_app
    at.session_state[VARIANT_INPUT] = VARIANT_KINDS[0]
    at.session_state["variant.variants.utr5"] = case.data(None)
    run(at, case)
    if case.fragment is None:
        assert not at.error, errors(at)
        assert [m for m in at.metric if m.label == "Δ prediction (alt − ref)"]
    else:
        check_refused(at, case)
        assert "Variant: " in errors(at)


@pytest.mark.parametrize("case", cases_for("vcf_line"))
def test_app_vcf_line(case, variant_app):
    at = variant_app
    at.session_state[VARIANT_INPUT] = VARIANT_KINDS[2]
    at.session_state["variant.vcf.utr5"] = case.data(None)
    run(at, case)
    assert at.number_input(key="variant.window_start.utr5").value == WINDOW_START
    if case.fragment is None:
        assert not at.error, errors(at)
        assert [m for m in at.metric if m.label == "Δ prediction (alt − ref)"]
    else:
        check_refused(at, case)
        assert "VCF: " in errors(at)


@pytest.mark.parametrize("case", cases_for("batch_vcf"))
def test_app_batch_vcf(case, variant_app):
    """The Variant page's batch section: a pasted VCF on a pasted reference; refused rows are listed."""
    at = variant_app
    at.session_state["_variant_batch_results"] = {}
    at.session_state["variant.batch.vcf"] = case.data(None)
    at.session_state["variant.batch.reference"] = "Paste FASTA"
    at.session_state["variant.batch.fasta"] = REFERENCE_FASTA
    at.session_state["variant.batch.methods"] = ["saliency"]
    at.button(key="variant_batch_run").click()
    run(at, case)
    if case.per_row:
        warning = texts(at.warning)
        assert "1 row could not be scored" in warning, warning
        assert case.expect("app") in warning, warning
        assert "1 rows: 0 scored, 1 refused" in texts(at.caption)
    else:
        check_refused(at, case)


@pytest.mark.parametrize("case", cases_for("upload_sequences"))
def test_app_upload_sequences(case, sequences_app, tmp_path):
    at = sequences_app
    data = case.data(tmp_path)
    data = data if isinstance(data, bytes) else data.encode("utf-8")
    at.file_uploader(key=SEQUENCE_UPLOADER).set_value((case.name, data, "application/octet-stream"))
    run(at, case)
    if case.fragment is None:
        assert not at.error, errors(at)
        assert any(case.name in s.value and "40 sequences of 50 nucleotides" in s.value for s in at.success)
    else:
        check_refused(at, case)
        assert errors(at).startswith("Sequences refused: ")


def test_app_uploaders_filter_types(session_tmp):
    """A .pkl or .pdf never reaches the Your model page's code: its uploaders accept only their suffixes. The
    browser's file dialog filters them; a client that sends one anyway is stopped by Streamlit itself on the
    server (an "Invalid file extension" exception from the widget, before the page sees the file)."""
    at = open_page("pages/your_model.py", "utr5", timeout=TIMEOUT)
    assert at.file_uploader(key=MODEL_UPLOADER).allowed_type == [".keras", ".h5"]
    at.file_uploader(key=MODEL_UPLOADER).set_value(("model.pkl", b"\x80\x04K.", "application/octet-stream"))
    at.run(timeout=TIMEOUT)
    # the app is configured not to show error details: the user sees Streamlit's redacted notice, no traceback
    assert len(at.exception) == 1
    shown = at.exception[0]
    assert "Invalid file extension" in shown.message or "error message is redacted" in shown.message, shown.message
    assert not shown.stack_trace, shown.stack_trace
    assert MODEL_STATE not in at.session_state or at.session_state[MODEL_STATE] is None


@pytest.mark.parametrize("case", cases_for("upload_model"))
def test_app_upload_model(case, model_app, tmp_path):
    at = model_app
    at.file_uploader(key=MODEL_UPLOADER).set_value((case.name, case.data(tmp_path), "application/octet-stream"))
    run(at, case)
    check_refused(at, case)
    assert errors(at).startswith("Model refused: ")
    directory = Path(at.session_state["_session_directory"])
    assert not [p for p in directory.rglob("*") if p.is_file()]     # a refused file is not kept
