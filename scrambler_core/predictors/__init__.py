"""Predictors: one interface over frozen Keras models of one sequence or of a pair of sequences.

>>> import scrambler_core as sc
>>> pred = sc.load_predictor("utr5")
>>> pred.predict(["ACGT" * 12 + "AC"]).shape
(1,)

Modules: :mod:`.base` (the predictor kinds and model-file checks), :mod:`.registry` (names, published
files, ``load_predictor``), :mod:`.builtin` (utr5, polya, binder), :mod:`.published` (Optimus 5-Prime,
APARENT2, the coiled-coil binder) and :mod:`.pairs` (a pair predictor seen as one sequence).
This package re-exports their public names for users; code inside ``scrambler_core`` imports each
name from the module that defines it.
"""
from .base import (OUTPUT_KINDS, BasePredictor, ModelFileError, PairPredictor, Predictor, infer_output_kind,
                   load_keras_model)
from .builtin import BUILTIN_DESCRIPTIONS, BUILTIN_SPECS, BuiltinSpec, load_builtin
from .pairs import ARCHITECTURES, ConcatenatedPair, as_single_input
from .published import (APARENT2_BLOCKS, APARENT2_DILATIONS, APARENT2_FULL_WINDOW, APARENT2_ISOFORM_WINDOW,
                        APARENT2_LENGTH, APARENT2_LIBRARY_INDEX, APARENT2_N_LIBRARIES, APARENT2_NARROW_WINDOW,
                        APARENT2_PAS_POSITION, APARENT2_SOURCE, OPTIMUS_LAYERS, OPTIMUS_MRL_MAP, OPTIMUS_SOURCE,
                        OPTIMUS_SUFFIX, OPTIMUS_UTR_LENGTH, PPI_ALPHABET, PPI_LENGTH, PPI_LETTERS, PPI_SOURCE,
                        AppendConstant, Aparent2Predictor, WindowLogit, aparent2_window, build_aparent2_core,
                        build_optimus_core, build_ppi_core, load_aparent2, load_optimus5, load_ppi)
from .registry import (BUILTIN_PREDICTORS, EXTERNAL_MODELS, EXTERNAL_PREDICTORS, LOADERS, MODELS_DIR_VARIABLE,
                       PAIR_BUILTINS, ExternalModel, available_external, find_model_file, how_to_get,
                       list_external, list_predictors, load_external, load_predictor, models_directory,
                       resolve_model_path)

__all__ = [
    # base
    "OUTPUT_KINDS", "BasePredictor", "ModelFileError", "PairPredictor", "Predictor", "infer_output_kind",
    "load_keras_model",
    # registry
    "BUILTIN_PREDICTORS", "PAIR_BUILTINS", "EXTERNAL_PREDICTORS", "EXTERNAL_MODELS", "ExternalModel", "LOADERS",
    "MODELS_DIR_VARIABLE", "available_external", "find_model_file", "how_to_get", "list_external",
    "list_predictors", "load_external", "load_predictor", "models_directory", "resolve_model_path",
    # builtin
    "BUILTIN_DESCRIPTIONS", "BUILTIN_SPECS", "BuiltinSpec", "load_builtin",
    # published
    "APARENT2_BLOCKS", "APARENT2_DILATIONS", "APARENT2_FULL_WINDOW", "APARENT2_ISOFORM_WINDOW", "APARENT2_LENGTH",
    "APARENT2_LIBRARY_INDEX", "APARENT2_N_LIBRARIES", "APARENT2_NARROW_WINDOW", "APARENT2_PAS_POSITION",
    "APARENT2_SOURCE", "OPTIMUS_LAYERS", "OPTIMUS_MRL_MAP", "OPTIMUS_SOURCE", "OPTIMUS_SUFFIX",
    "OPTIMUS_UTR_LENGTH", "PPI_ALPHABET", "PPI_LENGTH", "PPI_LETTERS", "PPI_SOURCE", "AppendConstant",
    "Aparent2Predictor", "WindowLogit", "aparent2_window", "build_aparent2_core", "build_optimus_core",
    "build_ppi_core", "load_aparent2", "load_optimus5", "load_ppi",
    # pairs
    "ARCHITECTURES", "ConcatenatedPair", "as_single_input",
]
