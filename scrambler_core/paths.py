"""Where the built-in weights live: ``pretrained/`` beside the package in a checkout, or inside it in a wheel."""
from __future__ import annotations

from pathlib import Path

__all__ = ["PRETRAINED_DIR", "pretrained_directory"]


def pretrained_directory() -> Path:
    """The folder of the built-in predictors and scramblers (``.keras`` plus ``.json`` model cards).

    A source checkout keeps them in ``<repo>/pretrained``; an installed wheel ships them as the
    package data folder ``scrambler_core/pretrained``.
    """
    package = Path(__file__).resolve().parent
    installed = package / "pretrained"
    return installed if installed.is_dir() else package.parent / "pretrained"


PRETRAINED_DIR = pretrained_directory()
