"""Shared fixtures (pretrained weights, the published models folder) and the test tiers.

Tiers (markers registered in pytest.ini), by folder: ``tests/unit`` (the core, fast unless listed slow),
``tests/cli`` (the command line), ``tests/app`` (``app``: Streamlit AppTest page tests), ``tests/browser``
(``browser`` + ``slow``: Chromium with Playwright); anywhere, ``app`` for tests named ``test_app_*``,
``external`` for tests that use the published models (``external_dir`` / ``models_dir``), and ``slow`` for the tests listed in SLOW_TESTS (more than about 5 s on 2 cores).
``make test-fast`` runs ``-m "not slow and not app and not browser"``.
"""
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
# set by .ci/run: a missing published models folder fails the external tests instead of skipping them
REQUIRE_EXTERNAL = "SCRAMBLER_REQUIRE_EXTERNAL"


@pytest.fixture(scope="session")
def external_dir():
    """The read-only folder of published models and data (../shared/external); skip when absent.

    With ``SCRAMBLER_REQUIRE_EXTERNAL=1`` (CI) a missing folder is a failure, not a skip.
    """
    if not EXTERNAL.is_dir():
        if os.environ.get(REQUIRE_EXTERNAL, "") not in ("", "0"):
            pytest.fail(f"published models folder {EXTERNAL} is absent and {REQUIRE_EXTERNAL} is set: put the "
                        "published models (optimus5, aparent2, ppi) in ../shared/external beside the checkout, or "
                        f"point SCRAMBLER_TEST_EXTERNAL at them, or unset {REQUIRE_EXTERNAL} to skip these tests",
                        pytrace=False)
        pytest.skip(f"published models folder {EXTERNAL} is absent (set SCRAMBLER_TEST_EXTERNAL to it)")
    return EXTERNAL


@pytest.fixture
def models_dir(external_dir, monkeypatch):
    """SCRAMBLER_MODELS_DIR pointed at the published models for one test."""
    monkeypatch.setenv("SCRAMBLER_MODELS_DIR", str(external_dir))
    return external_dir


# ---------------------------------------------------------------------------------------------- test tiers

# "file::test function" of the tests that take more than about 5 s on 2 cores (pytest --durations)
SLOW_TESTS = frozenset({
    "test_attribution.py::test_every_method_reports_cost_on_a_builtin",
    "test_attribution.py::test_optimised_scrambler_finds_the_one_position_that_matters",
    "test_attribution.py::test_scrambler_methods_on_utr5",
    "test_batch.py::test_cli_batch_bad_input_is_one_line",
    "test_batch.py::test_csv_and_single_parquet_exports",
    "test_batch.py::test_interrupted_run_resumes_exactly_once",
    "test_batch.py::test_killed_cli_run_resumes",
    "test_batch.py::test_ray_engine_equals_local",
    "test_batch.py::test_sequence_batch_matches_the_api",
    "test_batch.py::test_variant_batch_deltas",
    "test_benchmarks.py::test_every_method_on_a_tiny_utr5_benchmark",
    "test_cli.py::test_explain_writes_csv",
    "test_cli.py::test_train_scrambler_runs_a_staged_recipe_and_resumes_from_a_stage",
    "test_cli.py::test_polya_distillation_stage_from_a_relative_output",
    "test_cli_drop_objective_pairs.py::test_benchmark_interface_on_binder",
    "test_cli_drop_objective_pairs.py::test_explain_drop_uses_the_dropout_scrambler",
    "test_cli_drop_objective_pairs.py::test_explain_objective_writes_its_name",
    "test_cli_drop_objective_pairs.py::test_explain_pairs_writes_both_chains",
    "test_cli_drop_objective_pairs.py::test_train_scrambler_with_a_template",
    "test_external.py::test_aparent2_clinvar_correlation",
    "test_external.py::test_pretrained_scrambler_on_held_out",
    "test_faults.py::test_killed_training_resumes_from_its_last_checkpoint",
    "test_pretrained.py::test_utr5_inclusion_scrambler_finds_stops_at_least_as_often_as_ism",
    "test_pretrained.py::test_polya_inclusion_scrambler_keeps_the_lowest_kl_of_the_one_pass_methods",
    "test_pretrained_variants.py::test_binder_pair_scramblers_find_the_interface",
    "test_security_defaults.py::test_no_network_at_run_time",
})
EXTERNAL_FIXTURES = {"external_dir", "models_dir"}


def pytest_collection_modifyitems(config, items):
    """Mark each test with its tier: browser, app, external, slow."""
    for item in items:
        name, folder = item.path.name, item.path.parent.name
        if folder == "browser":
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
        elif folder == "app" or getattr(item, "originalname", item.name).startswith("test_app_"):
            item.add_marker(pytest.mark.app)        # the page rows of tests/unit/test_hostile_inputs.py too
        if EXTERNAL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.external)
        if f"{name}::{getattr(item, 'originalname', item.name)}" in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
