"""Shared fixtures for the app tests (AppTest and Playwright)."""
import os
import tempfile
from pathlib import Path

import pytest

# the app's on-disk result cache goes to a fresh directory for each test run (the browser
# tests' server inherits it), never to the user's ~/.cache
os.environ["SCRAMBLER_CACHE_DIR"] = tempfile.mkdtemp(prefix="scrambler_test_cache_")

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


EXTERNAL = Path(os.environ.get("SCRAMBLER_TEST_EXTERNAL", ROOT.parent / "shared" / "external")).resolve()


@pytest.fixture(scope="session")
def external_dir():
    """The read-only folder of published models and data (../shared/external); skip when absent."""
    if not EXTERNAL.is_dir():
        pytest.skip(f"published models folder {EXTERNAL} is absent (set SCRAMBLER_TEST_EXTERNAL to it)")
    return EXTERNAL


@pytest.fixture
def models_dir(external_dir, monkeypatch):
    """SCRAMBLER_MODELS_DIR pointed at the published models for one test."""
    monkeypatch.setenv("SCRAMBLER_MODELS_DIR", str(external_dir))
    return external_dir
