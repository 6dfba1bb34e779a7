"""The installable wheel: its file list, and the ``scrambler`` console script run from an installed copy.

The wheel is built offline from a copy of the sources (no build/ or egg-info left in the checkout) and
installed, without dependencies, into a fresh virtual environment that sees this environment's packages
through a ``.pth`` file (no second TensorFlow install). The commands run outside the repository, so
they import the installed package and read the weights shipped inside it.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "scrambler_core", "pretrained")


def _run(args, cwd, timeout=600):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    out = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, f"{args}\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """Build the wheel from a copy of the sources; its path."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", work / "dist", src],
         cwd=work)
    (path,) = (work / "dist").glob("scrambler_explorer-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A fresh venv holding the wheel (and seeing this environment's packages); its bin folder."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=env_dir)
    Path(purelib.stdout.strip(), "project_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", wheel], cwd=env_dir)
    return env_dir / "bin"


def test_the_wheel_ships_the_package_weights_and_cards_but_not_the_repository(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "scrambler_core/__init__.py" in names and "scrambler_core/cli.py" in names
    for stem in ("utr5", "polya", "binder", "utr5_inclusion", "polya_occlusion"):
        assert f"scrambler_core/pretrained/{stem}.keras" in names
        assert f"scrambler_core/pretrained/{stem}.json" in names
    shipped = {n.rsplit("/", 1)[1] for n in names if n.startswith("scrambler_core/pretrained/")}
    assert shipped == {p.name for p in (ROOT / "pretrained").iterdir() if p.suffix in (".keras", ".json", ".npz")}
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"scrambler_core"}
    assert not [n for n in names if n.startswith(("tests/", "pages/", "bench/", "runs/", "app.py"))]
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "scrambler = scrambler_core.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_console_script_explains_with_the_shipped_weights(installed, tmp_path):
    help_text = _run([installed / "scrambler", "--help"], cwd=tmp_path).stdout
    assert help_text.startswith("usage: scrambler ")
    for command in ("explain", "batch", "attribute", "benchmark", "predict", "train-predictor",
                    "train-scrambler", "calibrate-scrambler"):
        assert command in help_text
    where = _run([installed / "python", "-c", "import scrambler_core.paths as p, scrambler_core as sc; "
                  "print(sc.__file__); print(p.PRETRAINED_DIR)"], cwd=tmp_path).stdout.split()
    assert not where[0].startswith(str(ROOT)) and where[1] == str(Path(where[0]).parent / "pretrained")

    sequence = "GCTAGCATGACCGGTAAGCTTCAGTCAGGAACCTTGACGTCAAGCTGACC"    # 50 nt
    (tmp_path / "seqs.txt").write_text(sequence + "\n")
    out = _run([installed / "scrambler", "explain", "--predictor", "utr5", "--input", "seqs.txt",
                "--output", "out.csv", "--n-samples", "8"], cwd=tmp_path)
    assert "explained 1 sequences with utr5" in out.stderr
    with open(tmp_path / "out.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1 and rows[0]["sequence"] == sequence
    names = ("scrambler_0.5_importance_1", "scrambler_0.5_importance_50")
    assert list(names) == [c for c in rows[0] if c in names]
    assert float(rows[0]["scrambler_0.5_bits"]) >= 0
