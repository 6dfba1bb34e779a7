"""Scrambler Explorer core: sequences, predictors, scramblers, synthetic grammars, CLI.

>>> import scrambler_core as sc
>>> pred = sc.load_predictor("utr5")
>>> scr = sc.load_scrambler("utr5", mode="inclusion")
>>> ex = scr.explain(["ACGT..."], target_bits=0.5)
>>> ism = sc.attribute(pred, ["ACGT..."], "ism")          # (N, L, A), any of sc.METHODS
"""
from . import runtime  # noqa: F401  (TensorFlow settings first)
from .attribution import METHODS, attribute, dinucleotide_shuffle, method_options
from .predictors import ModelFileError, Predictor, list_predictors, load_predictor
from .scrambler import (Explanation, Scrambler, ScramblerModel, background_from_sequences, conservation,
                        drop_mask_from_ranges, load_scrambler, pwm_from_scores, sample_pwm, train_scrambler)
from .external import PairPredictor
from .pairs import ConcatenatedPair
from . import benchmarks, cache, comparison, examples, external, logo_figures, pairs, user_models, variants  # noqa: F401
from .cache import ResultCache, cache_key, fingerprint
from .variants import (Variant, VariantResult, apply_variants, diff_sequences, parse_variants, parse_vcf_line,
                       score_variant)
from .sequences import (DNA, PROTEIN, RNA, Alphabet, SequenceError, decode, get_alphabet, one_hot,
                        parse_text, read_sequences, validate_sequence)

__all__ = [
    "Alphabet", "DNA", "RNA", "PROTEIN", "SequenceError", "ModelFileError", "get_alphabet", "one_hot", "decode",
    "parse_text", "read_sequences", "validate_sequence", "Predictor", "load_predictor", "list_predictors",
    "Scrambler", "ScramblerModel", "Explanation", "load_scrambler", "train_scrambler", "pwm_from_scores",
    "conservation", "sample_pwm", "background_from_sequences", "drop_mask_from_ranges", "PairPredictor",
    "ConcatenatedPair", "attribute", "METHODS", "method_options",
    "dinucleotide_shuffle", "ResultCache", "cache_key", "fingerprint", "Variant", "VariantResult", "apply_variants",
    "diff_sequences", "parse_variants", "parse_vcf_line", "score_variant",
]
__version__ = "0.1.0"
