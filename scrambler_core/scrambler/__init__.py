"""Scrambler networks (Linder et al.): learned stochastic masks that explain a predictor.

A scrambler maps a one-hot sequence ``x`` (L, A) to importance scores ``s`` (L,) that turn ``x`` into a
PSSM (method §2). Sequences sampled from that PSSM keep (inclusion) or lose (occlusion) the predictor's
output at a chosen information budget, the target bits (§4). A *bits-conditioned* scrambler (§6) takes
the target as an extra input channel, so one network serves every slider position.

Submodules: :mod:`.maths` (PSSMs, conservation, sampling, losses, drop masks), :mod:`.network`
(:class:`ScramblerModel`, the Keras network saved as ``.keras``), :mod:`.explain` (:class:`Scrambler`,
:class:`Explanation`, loading, calibration), :mod:`.train` (:func:`train_scrambler`), :mod:`.checkpoint`
and :mod:`.recipes` (the pretrained scramblers' training recipes and the ``train-scrambler`` command).
This package re-exports the public names for users; code inside ``scrambler_core`` imports the submodules.
"""
import importlib

# public name -> submodule (loaded on first use, PEP 562: importing the package or its numpy-only
# submodules sweep and faithfulness does not import TensorFlow)
_NAMES = {
    "checkpoint": ("checkpoint_epoch",),
    "explain": ("BATCH_BUCKETS", "Explanation", "Scrambler", "bits_tracking", "calibrate_bits",
                "external_scrambler_path", "load_scrambler", "pretrained_scrambler_name"),
    "maths": ("DROPOUT_KINDS", "DROPOUT_SCALES", "EPSILON", "MODES", "OBJECTIVES", "SAMPLERS",
              "background_from_sequences", "biased_drop_masks", "conservation", "conservation_penalty",
              "drop_mask_from_ranges", "gaussian_kernel", "prediction_loss", "pwm_from_scores",
              "random_drop_masks", "sample_pwm", "template_arrays", "uniform_background"),
    "network": ("ScramblerModel",),
    "sweep": ("BITS_GRID", "BitsSweep", "bits_grid"),
    "faithfulness": ("Faithfulness", "calibration_warning", "check_faithfulness", "output_reference"),
    "train": ("train_scrambler",),
}
_LAZY = {name: module for module, names in _NAMES.items() for name in names}


def __getattr__(name: str):
    """Import a public name on first use and keep it in the package namespace."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    if name in _NAMES or name == "recipes":           # a submodule: S.maths, S.recipes
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BATCH_BUCKETS", "BITS_GRID", "BitsSweep", "bits_grid", "Faithfulness", "calibration_warning", "check_faithfulness", "output_reference", "DROPOUT_KINDS", "DROPOUT_SCALES", "EPSILON", "MODES", "OBJECTIVES", "SAMPLERS",
    "Explanation", "Scrambler", "ScramblerModel", "background_from_sequences", "biased_drop_masks",
    "bits_tracking", "calibrate_bits", "checkpoint_epoch", "conservation", "conservation_penalty",
    "drop_mask_from_ranges", "external_scrambler_path", "gaussian_kernel", "load_scrambler",
    "prediction_loss", "pretrained_scrambler_name", "pwm_from_scores", "random_drop_masks", "sample_pwm",
    "template_arrays", "train_scrambler", "uniform_background",
]
