"""The built-in predictors trained by this project (utr5, polya, binder), read from ``PRETRAINED_DIR``.

Each is ``NAME.keras`` plus its model card ``NAME.json``; ``binder`` reads pairs of peptides.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..cards import ModelCard
from ..paths import PRETRAINED_DIR
from ..sequences import get_alphabet
from ..synthetic import BINDER_MAX_LENGTH, BINDER_MIN_LENGTH
from .base import ModelFileError, PairPredictor, Predictor, load_keras_model


@dataclass(frozen=True)
class BuiltinSpec:
    """How one built-in predictor is read.

    Attributes
    ----------
    description : str — one line shown to users (what the output means)
    output_kind : {"sigmoid", "regression"}
    pair : bool — reads two peptides (a :class:`PairPredictor`)
    """

    description: str
    output_kind: str = "regression"
    pair: bool = False


BUILTIN_SPECS = {
    "utr5": BuiltinSpec("mean ribosome load of a 50-nt 5'UTR (synthetic leaky-scanning grammar, mirrors "
                        "Optimus 5-Prime)"),
    "polya": BuiltinSpec("proximal isoform proportion of a 205-nt PAS window (synthetic grammar, mirrors APARENT)",
                         output_kind="sigmoid"),
    "binder": BuiltinSpec("probability that two 24-48-residue peptides form a coiled-coil heterodimer (synthetic "
                          "heptad grammar with an Asn-Asn switch, mirrors the published binder)",
                          output_kind="sigmoid", pair=True),
}
BUILTIN_DESCRIPTIONS = {name: spec.description for name, spec in BUILTIN_SPECS.items()}

_BUILTIN_CACHE: dict = {}


def weights_path(name) -> Path:
    """``PRETRAINED_DIR / NAME.keras``, the weights of a built-in predictor (it may be absent)."""
    return PRETRAINED_DIR / f"{name}.keras"


def load_builtin(name):
    """A built-in predictor from ``pretrained/NAME.keras`` (cached).

    Parameters
    ----------
    name : {"utr5", "polya", "binder"}

    Returns
    -------
    Predictor, or PairPredictor for ``binder``

    Raises
    ------
    ModelFileError
        When the weights have not been trained yet (with the command that trains them).
    """
    if name in _BUILTIN_CACHE:
        return _BUILTIN_CACHE[name]
    spec = BUILTIN_SPECS[name]
    model_path = weights_path(name)
    if not model_path.exists():
        raise ModelFileError(f"built-in predictor {name!r} has no weights at {model_path}; "
                             f"train it with: python -m scrambler_core train-predictor {name}")
    model = load_keras_model(model_path)
    card = ModelCard.read_if_exists(PRETRAINED_DIR / f"{name}.json")
    if spec.pair:
        pred = PairPredictor(model, name=name, alphabet=get_alphabet("protein"), max_length=BINDER_MAX_LENGTH,
                             min_length=BINDER_MIN_LENGTH, card=card, description=spec.description,
                             path=model_path)
    else:
        pred = Predictor(model, name=name, alphabet="dna", output_kind=spec.output_kind, card=card,
                         description=spec.description, path=model_path)
    _BUILTIN_CACHE[name] = pred
    return pred
