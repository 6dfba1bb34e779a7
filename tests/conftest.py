"""Shared fixtures for the app tests (AppTest and Playwright)."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRETRAINED = ROOT / "pretrained"


@pytest.fixture(scope="session")
def utr5_predictor_file():
    """Skip when the built-in utr5 predictor has not been trained yet."""
    path = PRETRAINED / "utr5.keras"
    if not path.exists():
        pytest.skip(f"pretrained predictor {path.relative_to(ROOT)} is absent "
                    "(python -m scrambler_core train-predictor utr5)")
    return path


@pytest.fixture(scope="session")
def utr5_scrambler_file(utr5_predictor_file):
    """Skip when the pretrained utr5 inclusion scrambler has not been trained yet."""
    path = PRETRAINED / "utr5_inclusion.keras"
    if not path.exists():
        pytest.skip(f"pretrained scrambler {path.relative_to(ROOT)} is absent "
                    "(python -m scrambler_core train-scrambler --predictor utr5 --mode inclusion)")
    return path
