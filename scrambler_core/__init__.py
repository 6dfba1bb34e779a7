"""Scrambler Explorer core: sequences, predictors, scramblers, synthetic grammars, CLI.

>>> import scrambler_core as sc
>>> pred = sc.load_predictor("utr5")
>>> scr = sc.load_scrambler("utr5", mode="inclusion")
>>> ex = scr.explain(["ACGT..."], target_bits=0.5)
>>> ism = sc.attribute(pred, ["ACGT..."], "ism")          # (N, L, A), any of sc.METHODS

Names are imported on first use (PEP 562), so ``import scrambler_core`` and the sequence helpers
(``sc.one_hot``, ``sc.parse_text``, ``sc.read_sequences``) never load TensorFlow; the first name
that needs a model (``sc.load_predictor``, ``sc.Scrambler``, ``sc.attribute``...) loads it through
:mod:`scrambler_core.runtime`.
"""
from __future__ import annotations

import importlib
import importlib.util

__version__ = "0.1.0"

# public name -> the module that provides it (packages re-export their public API)
_NAMES = {
    "scrambler_core.attribution": ("METHODS", "attribute", "dinucleotide_shuffle", "method_options"),
    "scrambler_core.predictors.base": ("ModelFileError", "Predictor", "PairPredictor"),
    "scrambler_core.predictors.registry": ("as_predictor", "list_predictors", "load_predictor"),
    "scrambler_core.predictors.pairs": ("ConcatenatedPair",),
    "scrambler_core.scrambler": ("BitsSweep", "Explanation", "Scrambler", "ScramblerModel", "background_from_sequences",
                                 "conservation", "drop_mask_from_ranges", "load_scrambler", "pwm_from_scores",
                                 "sample_pwm", "train_scrambler"),
    "scrambler_core.cache": ("ResultCache", "cache_key", "fingerprint"),
    "scrambler_core.variants": ("Variant", "VariantResult", "apply_variants", "diff_sequences", "parse_variants",
                                "parse_vcf_line", "score_variant"),
    "scrambler_core.variant_scoring": ("score_variants",),
    "scrambler_core.sequences": ("DNA", "PROTEIN", "RNA", "Alphabet", "SequenceError", "decode", "get_alphabet",
                                 "one_hot", "parse_text", "read_sequences", "validate_sequence"),
}
_LAZY = {name: module for module, names in _NAMES.items() for name in names}
# submodules offered as attributes (``sc.benchmarks.run_benchmarks``); any other submodule loads on use too
_SUBMODULES = {
    "benchmarks": "scrambler_core.benchmarks", "cache": "scrambler_core.cache",
    "comparison": "scrambler_core.comparison", "examples": "scrambler_core.examples",
    "logo_figures": "scrambler_core.logo_figures", "predictors": "scrambler_core.predictors",
    "user_models": "scrambler_core.user_models",
    "variants": "scrambler_core.variants",
}

__all__ = [
    "Alphabet", "DNA", "RNA", "PROTEIN", "SequenceError", "ModelFileError", "get_alphabet", "one_hot", "decode",
    "parse_text", "read_sequences", "validate_sequence", "Predictor", "as_predictor", "load_predictor", "list_predictors",
    "Scrambler", "ScramblerModel", "Explanation", "BitsSweep", "load_scrambler", "train_scrambler", "pwm_from_scores",
    "conservation", "sample_pwm", "background_from_sequences", "drop_mask_from_ranges", "PairPredictor",
    "ConcatenatedPair", "attribute", "METHODS", "method_options",
    "dinucleotide_shuffle", "ResultCache", "cache_key", "fingerprint", "Variant", "VariantResult", "apply_variants",
    "diff_sequences", "parse_variants", "parse_vcf_line", "score_variant", "score_variants",
]


def __getattr__(name: str):
    """Import a public name or a submodule on first use and keep it in the package namespace."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(_SUBMODULES[name])
    elif not name.startswith("_") and "." not in name and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The package's names, the lazy ones included (for ``dir(sc)`` and tab completion)."""
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))
