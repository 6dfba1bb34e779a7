"""Lazy TensorFlow: the package, the sequence helpers and ``--help`` load no model code (issue 18)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TF_FREE = ("sequences", "synthetic", "cache", "hashing", "paths", "cli")


def _probe(code):
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print('TF=' + str('tensorflow' in sys.modules))"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.mark.parametrize("module", TF_FREE)
def test_light_modules_do_not_import_tensorflow(module):
    assert "TF=False" in _probe(f"import scrambler_core.{module}")


def test_help_of_the_module_entry_point_loads_no_tensorflow():
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "scrambler_core", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "explain" in out.stdout and "calibrate-scrambler" in out.stdout
    assert " tensorflow\n" not in out.stderr and " keras\n" not in out.stderr


def test_lazy_names_are_listed_and_unknown_names_fail():
    out = _probe("import scrambler_core as sc\n"
                 "assert set(sc.__all__) <= set(dir(sc)) and 'benchmarks' in dir(sc)\n"
                 "try:\n    sc.no_such_name\nexcept AttributeError as err:\n    print('missing:', err)\n"
                 "print(sc.read_sequences.__module__, sc.DNA.name)")
    assert "missing: module 'scrambler_core' has no attribute 'no_such_name'" in out
    assert "scrambler_core.sequences" in out and "TF=False" in out
