"""Genomic inputs: the reference genome (:mod:`.reference`), BED regions with strands (:mod:`.regions`)
and streamed VCF/BCF variants cut into windows (:mod:`.vcf`). No TensorFlow is imported here."""
