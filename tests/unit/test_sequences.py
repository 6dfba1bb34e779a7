"""Tests for scrambler_core.sequences."""

import gzip
import io

import numpy as np
import pytest

from scrambler_core.sequences import (
    DNA,
    PROTEIN,
    RNA,
    Alphabet,
    SequenceError,
    clean_sequence,
    decode,
    fit_length,
    get_alphabet,
    one_hot,
    parse_text,
    read_csv_column,
    read_fasta,
    read_sequences,
    validate_sequence,
)


# ---------------------------------------------------------------- alphabets


def test_alphabets():
    assert DNA == Alphabet("dna", "ACGT") and DNA.size == 4
    assert RNA.letters == "ACGU" and RNA.size == 4
    assert PROTEIN.letters == "ACDEFGHIKLMNPQRSTVWY" and PROTEIN.size == 20
    assert SequenceError.__mro__[1] is ValueError


def test_get_alphabet():
    assert get_alphabet("DNA") is DNA
    assert get_alphabet("rna") is RNA
    assert get_alphabet(" Protein ") is PROTEIN
    assert get_alphabet(PROTEIN) is PROTEIN
    with pytest.raises(ValueError, match="dna, rna, protein"):
        get_alphabet("codon")


# ---------------------------------------------------------------- cleaning


def test_clean_genbank_paste():
    text = """
        1 acgtacgtac gtacgtacgt
       21 ttttaaaacc
    """
    assert clean_sequence(text) == "ACGTACGTACGTACGTACGTTTTTAAAACC"


def test_clean_u_t():
    assert clean_sequence("acgu") == "ACGT"
    assert clean_sequence("ACGT", "rna") == "ACGU"
    # protein: U and T are left as they are
    assert clean_sequence("mtu", "protein") == "MTU"


def test_clean_does_not_validate_and_refuses_empty():
    assert clean_sequence("ac-gz") == "AC-GZ"
    for text in ["", "   \n\t", "1 61 121", None]:
        with pytest.raises(SequenceError, match="^empty sequence$"):
            clean_sequence(text)
    with pytest.raises(SequenceError, match="^sequence 'r1': empty sequence$"):
        clean_sequence("  ", name="r1")


# ---------------------------------------------------------------- validation


def _msg(excinfo):
    return str(excinfo.value)


def test_invalid_letter_position_17():
    seq = "ACGTACGTACGTACGT" + "X" + "ACG"
    with pytest.raises(SequenceError) as e:
        validate_sequence(seq)
    assert _msg(e) == "'X' at position 17 is not one of A, C, G, T"
    with pytest.raises(SequenceError) as e:
        validate_sequence(seq, name="rec2")
    assert _msg(e) == "sequence 'rec2': 'X' at position 17 is not one of A, C, G, T"


def test_invalid_letter_position_counts_cleaned_letters():
    # GenBank paste: position is the nucleotide number, not the text offset
    with pytest.raises(SequenceError) as e:
        validate_sequence("1 acgtacgtac\n11 acgtacZ")
    assert _msg(e) == "'Z' at position 17 is not one of A, C, G, T"


def test_invalid_letter_rna_and_protein():
    with pytest.raises(SequenceError) as e:
        validate_sequence("ACGUB", "rna")
    assert _msg(e) == "'B' at position 5 is not one of A, C, G, U"
    with pytest.raises(SequenceError) as e:
        validate_sequence("MKB", "protein")
    assert _msg(e) == (
        "'B' at position 3 is not one of "
        "A, C, D, E, F, G, H, I, K, L, M, N, P, Q, R, S, T, V, W, Y"
    )


def test_wrong_length():
    with pytest.raises(SequenceError) as e:
        validate_sequence("A" * 48, length=50)
    assert _msg(e) == (
        "sequence has length 48 but this predictor expects 50 nucleotides "
        "(add 2)"
    )
    with pytest.raises(SequenceError) as e:
        validate_sequence("M" * 12, "protein", length=10, name="p1")
    assert _msg(e) == (
        "sequence 'p1': sequence has length 12 but this predictor expects 10 "
        "residues (remove 2)"
    )
    assert validate_sequence("a" * 50, length=50) == "A" * 50


def test_empty():
    with pytest.raises(SequenceError) as e:
        validate_sequence(" \n ")
    assert _msg(e) == "empty sequence"


def test_n_refused_and_allowed():
    with pytest.raises(SequenceError) as e:
        validate_sequence("ACGTNACGT")
    assert _msg(e) == (
        "'N' at position 5: ambiguous bases are refused; "
        "replace it with one of A, C, G, T"
    )
    assert validate_sequence("acgtnacgt", allow_n=True) == "ACGTNACGT"
    # protein: X is the ambiguous letter, N is asparagine
    assert validate_sequence("MNX", "protein", allow_n=True) == "MNX"
    with pytest.raises(SequenceError, match="'X' at position 3: ambiguous residues"):
        validate_sequence("MNX", "protein")


def test_validate_u_t():
    assert validate_sequence("acgu") == "ACGT"
    assert validate_sequence("acgt", "rna") == "ACGU"


# ---------------------------------------------------------------- fit_length


def test_fit_length_modes():
    assert fit_length("ACG", 5) == "ACGNN"
    assert fit_length("ACG", 5, mode="pad_left") == "NNACG"
    assert fit_length("ACG", 5, mode="pad_right", fill="A") == "ACGAA"
    assert fit_length("ACGTAC", 4, mode="trim_right") == "ACGT"
    assert fit_length("ACGTAC", 4, mode="trim_left") == "GTAC"
    assert fit_length("ACG", 6, mode="center") == "NACGNN"
    assert fit_length("ACGTACG", 4, mode="center") == "CGTA"
    assert fit_length("ACGT", 4, mode="trim_left") == "ACGT"


def test_fit_length_refuses_wrong_direction():
    with pytest.raises(SequenceError, match="longer than 4; pad_right only pads"):
        fit_length("ACGTAC", 4)
    with pytest.raises(SequenceError, match="shorter than 5; trim_left only trims"):
        fit_length("ACG", 5, mode="trim_left")
    with pytest.raises(ValueError, match="unknown mode"):
        fit_length("ACG", 5, mode="stretch")
    with pytest.raises(ValueError, match="single letter"):
        fit_length("ACG", 5, fill="NN")


def test_fit_then_validate_needs_allow_n():
    padded = fit_length("ACG", 5)
    with pytest.raises(SequenceError, match="ambiguous bases are refused"):
        validate_sequence(padded, length=5)
    assert validate_sequence(padded, length=5, allow_n=True) == "ACGNN"


# ---------------------------------------------------------------- one-hot


@pytest.mark.parametrize(
    "alphabet, seqs",
    [
        ("dna", ["ACGTTGCA", "AAAACCCC"]),
        ("rna", ["ACGUUGCA", "GGGGUUUU"]),
        ("protein", ["ACDEFGHIKLMNPQRSTVWY", "WYVTSRQPNMLKIHGFEDCA"]),
    ],
)
def test_one_hot_decode_round_trip(alphabet, seqs):
    x = one_hot(seqs, alphabet)
    a = get_alphabet(alphabet)
    assert x.shape == (2, len(seqs[0]), a.size)
    assert x.dtype == np.float32
    assert x.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(x.sum(-1), 1.0)
    assert decode(x, alphabet) == seqs
    assert decode(x[0], alphabet) == [seqs[0]]


def test_one_hot_columns():
    x = one_hot("ACGT")
    np.testing.assert_array_equal(x[0], np.eye(4, dtype=np.float32))
    assert x.shape == (1, 4, 4)


def test_one_hot_u_t():
    np.testing.assert_array_equal(one_hot("acgu"), one_hot("ACGT"))
    np.testing.assert_array_equal(one_hot("ACGT", "rna"), one_hot("ACGU", "rna"))
    assert decode(one_hot("acgu")) == ["ACGT"]
    assert decode(one_hot("acgt", "rna"), "rna") == ["ACGU"]


def test_one_hot_n_uniform_and_background():
    x = one_hot("ANGT")
    np.testing.assert_allclose(x[0, 1], [0.25, 0.25, 0.25, 0.25])
    np.testing.assert_array_equal(x[0, 0], [1, 0, 0, 0])
    assert decode(x) == ["ANGT"]

    bg = np.tile(np.array([0.1, 0.4, 0.4, 0.1], dtype=np.float32), (4, 1))
    bg[1] = [0.3, 0.2, 0.2, 0.3]
    x = one_hot(["ANGT", "NCGN"], background=bg)
    np.testing.assert_allclose(x[0, 1], bg[1])
    np.testing.assert_allclose(x[1, 0], bg[0])
    np.testing.assert_allclose(x[1, 3], bg[3])
    np.testing.assert_array_equal(x[1, 1], [0, 1, 0, 0])

    x = one_hot("MX", "protein")
    np.testing.assert_allclose(x[0, 1], np.full(20, 0.05))


def test_one_hot_background_shape_checked():
    with pytest.raises(ValueError, match="background has shape"):
        one_hot("ANGT", background=np.ones((3, 4)))


def test_one_hot_errors():
    with pytest.raises(SequenceError) as e:
        one_hot(["ACGT", "ACZT"])
    assert _msg(e) == "sequence 2 of 2: 'Z' at position 3 is not one of A, C, G, T"
    with pytest.raises(SequenceError) as e:
        one_hot("ACZT")
    assert _msg(e) == "'Z' at position 3 is not one of A, C, G, T"
    with pytest.raises(SequenceError, match="different lengths.*sequence 3 has length 3"):
        one_hot(["ACGT", "ACGT", "ACG"])
    with pytest.raises(SequenceError, match="no sequences"):
        one_hot([])
    with pytest.raises(SequenceError, match="empty sequence"):
        one_hot([""])


def test_decode_zero_rows_and_shape():
    x = np.zeros((1, 3, 4), dtype=np.float32)
    x[0, 0, 2] = 1
    assert decode(x) == ["GNN"]
    p = np.zeros((2, 20))
    p[0, 4] = 0.9
    assert decode(p, "protein") == ["FX"]
    with pytest.raises(ValueError, match="expected shape"):
        decode(np.zeros((2, 3, 5)))


# ---------------------------------------------------------------- parse_text


def test_parse_text_bare():
    assert parse_text("  acgt\nacgt \n") == [("seq1", "ACGTACGT")]
    assert parse_text("1 acgu", "dna") == [("seq1", "ACGT")]


def test_parse_text_fasta_one_and_many():
    assert parse_text("\n >r1 some description\nacgt\nAC GT\n") == [("r1", "ACGTACGT")]
    recs = parse_text(">a\nACGT\n>b desc\nTTTT\n\n>c\nGG\nCC\n", length=4)
    assert recs == [("a", "ACGT"), ("b", "TTTT"), ("c", "GGCC")]


def test_parse_text_fasta_errors_name_record():
    with pytest.raises(SequenceError) as e:
        parse_text(">a\nACGT\n>rec2\nACGTACGTACGTACGTXACG\n")
    assert _msg(e) == "sequence 'rec2': 'X' at position 17 is not one of A, C, G, T"
    with pytest.raises(SequenceError) as e:
        parse_text(">a\nACGT\n>b\nACG\n", length=4)
    assert _msg(e).startswith("sequence 'b': sequence has length 3 but this predictor expects 4")


def test_parse_text_fasta_empty_record():
    with pytest.raises(SequenceError) as e:
        parse_text(">a\nACGT\n>b\n>c\nACGT\n")
    assert _msg(e) == "sequence 'b': empty sequence"


def test_parse_text_fasta_duplicate_ids():
    with pytest.raises(SequenceError) as e:
        parse_text(">a\nACGT\n>b\nACGT\n>a x\nACGT\n")
    assert "duplicate record id 'a'" in _msg(e)
    assert "records 1 and 3" in _msg(e)


def test_parse_text_fasta_junk():
    with pytest.raises(SequenceError, match="non-printable character '\\\\x00' at line 2"):
        parse_text(">a\nAC\x00\x01GT\n")
    with pytest.raises(SequenceError, match="non-printable"):
        parse_text(">\x89PNG\r\n\x1a\n")
    with pytest.raises(SequenceError, match="line 1 comes before the first '>' header"):
        parse_text("junk\n>a\nACGT\n")
    with pytest.raises(SequenceError, match="empty '>' header"):
        parse_text(">\nACGT\n")


def test_parse_text_empty():
    with pytest.raises(SequenceError, match="^empty sequence$"):
        parse_text("   ")


# ---------------------------------------------------------------- files


def test_read_fasta_path_handle_gz(tmp_path):
    text = ">s1\nACGT\n>s2\nNNGT\n"
    p = tmp_path / "x.fa"
    p.write_text(text)
    with pytest.raises(SequenceError, match="sequence 's2': 'N' at position 1"):
        read_fasta(p)
    assert read_fasta(p, allow_n=True) == [("s1", "ACGT"), ("s2", "NNGT")]
    assert read_fasta(io.StringIO(text), allow_n=True)[0] == ("s1", "ACGT")
    g = tmp_path / "x.fasta.gz"
    g.write_bytes(gzip.compress(text.encode()))
    assert read_sequences(g, allow_n=True) == [("s1", "ACGT"), ("s2", "NNGT")]


def test_read_fasta_no_records_and_binary(tmp_path):
    p = tmp_path / "empty.fa"
    p.write_text("")
    with pytest.raises(SequenceError, match="no FASTA records found"):
        read_fasta(p)
    b = tmp_path / "bin.fa"
    b.write_bytes(b">a\n\xff\xfe\x00\x01")
    with pytest.raises(SequenceError, match="not a UTF-8 text file"):
        read_fasta(b)


def test_read_csv_column(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("name,sequence\nx,acgt\ny,TTTT\n")
    assert read_csv_column(p) == [("row1", "ACGT"), ("row2", "TTTT")]
    assert read_csv_column(p, id_column="name") == [("x", "ACGT"), ("y", "TTTT")]


def test_read_csv_missing_column(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(SequenceError) as e:
        read_csv_column(p)
    assert _msg(e) == "column 'sequence' not found; columns are: a, b"


def test_read_csv_errors_name_row(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("name,sequence\nx,ACGT\ny,ACZT\nz,\n")
    with pytest.raises(SequenceError) as e:
        read_csv_column(p)
    assert _msg(e) == "row 2: 'Z' at position 3 is not one of A, C, G, T"
    with pytest.raises(SequenceError) as e:
        read_csv_column(p, id_column="name")
    assert _msg(e) == "row 2 (sequence 'y'): 'Z' at position 3 is not one of A, C, G, T"
    p.write_text("name,sequence\nx,ACGT\ny,\n")
    with pytest.raises(SequenceError, match="^row 2: empty sequence$"):
        read_csv_column(p)
    p.write_text("name,sequence\nx,ACGT\nx,ACGT\n")
    with pytest.raises(SequenceError, match="duplicate id 'x'.*rows 1 and 2"):
        read_csv_column(p, id_column="name")


def test_read_sequences_by_extension(tmp_path):
    tsv = tmp_path / "t.tsv"
    tsv.write_text("seq\tid\nACGU\tq\n")
    assert read_sequences(tsv, column="seq") == [("row1", "ACGT")]

    txt = tmp_path / "t.txt"
    txt.write_text("ACGT\n\nttgg\n")
    assert read_sequences(txt) == [("line1", "ACGT"), ("line3", "TTGG")]
    txt.write_text("ACGT\nACG\n")
    with pytest.raises(SequenceError) as e:
        read_sequences(txt, length=4)
    assert _msg(e).startswith("line 2: sequence has length 3 but this predictor expects 4")

    fa = tmp_path / "p.faa"
    fa.write_text(">p\nMKV\n")
    assert read_sequences(fa, "protein") == [("p", "MKV")]

    with pytest.raises(SequenceError, match="unknown file type '.xlsx'"):
        read_sequences(tmp_path / "t.xlsx")
