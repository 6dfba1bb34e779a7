"""Run the full-protocol benchmarks and ship their tables with provenance (the Benchmarks page shows them).

For each predictor: ``python -m scrambler_core benchmark --predictor NAME --benchmark all --methods
<the one-pass methods>`` (KL sets of 256 sequences x 128 samples, Table D n = 512 per setting) into
``pretrained/benchmarks/NAME/`` (its CSV tables), plus ``provenance.json``: the commit, whether the
checkout had uncommitted changes, the date, the machine, the command and its wall time.

Usage::

    .venv/bin/python bench/ship_benchmarks.py                         # utr5 polya optimus5 aparent2
    SCRAMBLER_MODELS_DIR=../shared/external .venv/bin/python bench/ship_benchmarks.py --predictors optimus5

The per-example methods (scrambler_optimized, scrambler_finetuned) are left out: they take hours on a CPU.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "pretrained" / "benchmarks"
METHODS = "scrambler,ism,saliency,gradient_x_input,integrated_gradients,deeplift,deepshap"
TABLES = ("kl.csv", "table_d.csv", "recall.csv", "cost.csv", "dropout.csv", "features.csv", "interface.csv")


def _git(*args) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def supported_methods(name: str) -> str:
    """The one-pass methods that can explain ``name`` (DeepLIFT's rules do not cover every layer)."""
    sys.path.insert(0, str(ROOT))
    from scrambler_core import benchmarks, load_predictor

    predictor = load_predictor(name)
    return ",".join(m for m in METHODS.split(",") if m not in benchmarks.PROBED_METHODS
                    or benchmarks.method_unavailable_reason(predictor, m) is None)


def ship(name: str) -> dict:
    """Run the benchmark of ``name`` and copy its tables and provenance into ``pretrained/benchmarks/NAME``."""
    methods = supported_methods(name)
    command = [sys.executable, "-m", "scrambler_core", "benchmark", "--predictor", name, "--benchmark", "all",
               "--methods", methods]
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        subprocess.run(command + ["--output-dir", scratch], cwd=ROOT, check=True)
        seconds = time.perf_counter() - started
        target = OUT / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for table in TABLES:
            if (Path(scratch) / table).exists():
                shutil.copy2(Path(scratch) / table, target / table)
    provenance = {
        "predictor": name, "commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "--", "scrambler_core")),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
        "command": "python -m scrambler_core benchmark --predictor " + name + " --benchmark all --methods " + methods,
        "seconds": round(seconds, 1), "tables": sorted(p.name for p in target.glob("*.csv")),
    }
    (target / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    return provenance


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictors", nargs="+", default=["utr5", "polya", "optimus5", "aparent2"])
    args = parser.parse_args()
    for name in args.predictors:
        provenance = ship(name)
        print(f"{name}: {provenance['seconds']:.0f} s -> pretrained/benchmarks/{name}", flush=True)


if __name__ == "__main__":
    main()
