"""The test tiers of tests/conftest.py: markers by file and fixture, and SCRAMBLER_REQUIRE_EXTERNAL.

Each case runs pytest in a subprocess on a scratch folder holding a copy of the real conftest.py and
pytest.ini, so the fixtures and the marking are the ones the suite uses.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SAMPLE = {
    "unit/test_unit_sample.py": "def test_unit():\n    pass\n\ndef test_app_row():\n    pass\n",
    "app/test_page_sample.py": "def test_page():\n    pass\n",
    "browser/test_browser_sample.py": "def test_browser():\n    pass\n",
    "unit/test_ext_sample.py": "def test_uses_external(external_dir):\n    assert external_dir.is_dir()\n",
}


@pytest.fixture
def scratch(tmp_path):
    tests = tmp_path / "tests"
    tests.mkdir()
    shutil.copy2(ROOT / "pytest.ini", tmp_path / "pytest.ini")
    shutil.copy2(ROOT / "tests" / "conftest.py", tests / "conftest.py")
    for name, text in SAMPLE.items():
        (tests / name).parent.mkdir(exist_ok=True)
        (tests / name).write_text(text)
    return tmp_path


def _pytest(folder, *args, **env):
    environ = {k: v for k, v in os.environ.items() if k not in ("SCRAMBLER_REQUIRE_EXTERNAL", "PYTEST_ADDOPTS")}
    environ.update(env, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")    # the sample tests need no plugin: fast start
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args], cwd=folder,
                          env=environ, capture_output=True, text=True, timeout=120)


def test_the_unit_tier_leaves_out_app_and_browser_tests(scratch):
    out = _pytest(scratch, "-m", "not slow and not app and not browser", "--strict-markers",
                  SCRAMBLER_TEST_EXTERNAL=str(scratch / "absent"))
    assert out.returncode == 0, out.stdout[-3000:]
    assert "PASSED tests/unit/test_unit_sample.py::test_unit" in out.stdout
    assert "SKIPPED" in out.stdout and "test_page_sample" not in out.stdout and "test_browser" not in out.stdout
    assert "test_app_row" not in out.stdout
    for marker, expected in (("app", "app/test_page_sample.py::test_page"),
                             ("app", "unit/test_unit_sample.py::test_app_row"),
                             ("browser and slow", "browser/test_browser_sample.py::test_browser"),
                             ("external", "unit/test_ext_sample.py::test_uses_external")):
        listed = _pytest(scratch, "-m", marker, "--collect-only", "-q").stdout
        assert expected in listed and "test_unit_sample.py::test_unit\n" not in listed, (marker, listed)


def test_external_tests_skip_without_the_folder_and_fail_when_it_is_required(scratch):
    absent = str(scratch / "absent")
    skipped = _pytest(scratch, "tests/unit/test_ext_sample.py", SCRAMBLER_TEST_EXTERNAL=absent)
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout, skipped.stdout[-3000:]

    failed = _pytest(scratch, "tests/unit/test_ext_sample.py", SCRAMBLER_TEST_EXTERNAL=absent,
                     SCRAMBLER_REQUIRE_EXTERNAL="1")
    assert failed.returncode == 1, failed.stdout[-3000:]
    assert "1 error" in failed.stdout
    assert "SCRAMBLER_REQUIRE_EXTERNAL is set" in failed.stdout and "../shared/external" in failed.stdout

    (scratch / "present").mkdir()
    found = _pytest(scratch, "tests/unit/test_ext_sample.py", SCRAMBLER_TEST_EXTERNAL=str(scratch / "present"),
                    SCRAMBLER_REQUIRE_EXTERNAL="1")
    assert found.returncode == 0 and "1 passed" in found.stdout, found.stdout[-3000:]
