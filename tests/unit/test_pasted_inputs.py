"""scrambler_core.pasted_inputs: pasted VCF lines counted, pasted or uploaded FASTA normalised."""
import pytest

from scrambler_core.pasted_inputs import count_vcf_data_lines, normalised_fasta
from scrambler_core.sequences import SequenceError


def test_count_vcf_data_lines_skips_headers_and_blank_lines():
    text = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\nchr1\t5\t.\tA\tG\n\n   \nchr1 9 . C T,A\n"
    assert count_vcf_data_lines(text) == 2
    assert count_vcf_data_lines("") == count_vcf_data_lines(None) == 0


def test_normalised_fasta_rewraps_records_at_60_letters():
    data = ("\ufeff>chr1 demo\r\nACGT\r\n\r\n" + "A" * 70 + "\r\n>chr2\nGG\n").encode()
    out = normalised_fasta(data, "The FASTA")
    assert out == ">chr1 demo\n" + "ACGT" + "A" * 56 + "\n" + "A" * 14 + "\n>chr2\nGG\n"


@pytest.mark.parametrize("data, reason", [(b"\xff\xfe", "not a text file"), (b"  \n", "is empty"),
                                          (b"ACGT\n", "not FASTA"), (b">\nACGT\n", "without a name")])
def test_normalised_fasta_refuses_what_pyfaidx_cannot_index(data, reason):
    with pytest.raises(SequenceError, match=reason):
        normalised_fasta(data, "The FASTA")
