"""Peak memory of reading a VCF of N SNVs: the whole-file reader before issue 20 against the streamed one.

Writes a synthetic reference FASTA and a VCF of ``--rows`` SNVs (one every 5 positions) under
``--folder``, then reads every row in a fresh subprocess per reader and reports the tracemalloc peak
and the process's maximum resident size (ru_maxrss). The baseline is ``scrambler_core/records.py`` as
it was at ``--baseline-rev`` (the last commit with the whole-file reader), loaded from git.

    python bench/vcf_memory.py --rows 1000000
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LENGTH = 50        # window length L
SPACING = 5        # one SNV every SPACING positions
BASELINE_REV = "b03d9c3"


def write_inputs(folder: Path, rows: int, seed: int = 0) -> tuple[Path, Path]:
    """A one-chromosome reference (60-letter lines) and a VCF of ``rows`` SNVs on it; reused when present."""
    folder.mkdir(parents=True, exist_ok=True)
    fasta, vcf = folder / "ref.fa", folder / f"snv_{rows}.vcf"
    size = rows * SPACING + 2 * LENGTH
    if not fasta.exists() or fasta.stat().st_size < size:
        letters = np.array(list("ACGT"))[np.random.default_rng(seed).integers(0, 4, size)].tobytes().decode()
        with open(fasta, "w") as out:
            out.write(">chr1\n")
            for start in range(0, size, 60):
                out.write(letters[start:start + 60] + "\n")
        Path(str(fasta) + ".fai").unlink(missing_ok=True)
    if not vcf.exists():
        contig = "".join(fasta.read_text().splitlines()[1:])
        with open(vcf, "w") as out:
            out.write("##fileformat=VCFv4.2\n##contig=<ID=chr1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
            for k in range(rows):
                pos = LENGTH + k * SPACING
                ref = contig[pos - 1]
                alt = "C" if ref != "C" else "G"
                out.write(f"chr1\t{pos}\tv{k}\t{ref}\t{alt}\t.\tPASS\t.\n")
    return fasta, vcf


def _baseline_reader(rev: str):
    """``read_records`` of ``scrambler_core/records.py`` at git revision ``rev``."""
    source = subprocess.run(["git", "show", f"{rev}:scrambler_core/records.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path("/tmp") / f"_records_{rev}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"scrambler_core._records_{rev}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.read_records


def measure(which: str, vcf: Path, fasta: Path, rev: str) -> dict:
    """Read every row with the ``old`` or ``new`` reader; rows, seconds, tracemalloc peak, ru_maxrss."""
    started = time.perf_counter()
    tracemalloc.start()
    if which == "old":
        rows = len(_baseline_reader(rev)(vcf, "dna", fasta=fasta, length=LENGTH).rows)
    else:
        from scrambler_core.records import read_records
        rows = sum(1 for _ in read_records(vcf, "dna", fasta=fasta, length=LENGTH, stream=True).rows)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"reader": which, "rows": rows, "seconds": round(time.perf_counter() - started, 1),
            "tracemalloc_peak_mb": round(peak / 2 ** 20, 1),
            "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def _run_child(which: str, vcf: Path, fasta: Path, rev: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", which, "--vcf", str(vcf), "--fasta", str(fasta),
                          "--baseline-rev", rev], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--folder", default="/tmp/vcf_memory")
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    parser.add_argument("--measure", choices=("old", "new"), help=argparse.SUPPRESS)
    parser.add_argument("--vcf", help=argparse.SUPPRESS)
    parser.add_argument("--fasta", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, Path(args.vcf), Path(args.fasta), args.baseline_rev)))
        return
    fasta, vcf = write_inputs(Path(args.folder), args.rows)
    print(f"{vcf} ({vcf.stat().st_size / 2 ** 20:.0f} MB), window {LENGTH}", flush=True)
    results = [_run_child(which, vcf, fasta, args.baseline_rev) for which in ("old", "new")]
    for r in results:
        print(f"{r['reader']:>4}: {r['rows']:,} rows in {r['seconds']} s, tracemalloc peak "
              f"{r['tracemalloc_peak_mb']} MB, ru_maxrss {r['ru_maxrss_mb']} MB", flush=True)
    old, new = results
    print(f"ratio old/new: tracemalloc peak {old['tracemalloc_peak_mb'] / max(new['tracemalloc_peak_mb'], 1e-9):.1f}x, "
          f"ru_maxrss {old['ru_maxrss_mb'] / max(new['ru_maxrss_mb'], 1e-9):.1f}x")


if __name__ == "__main__":
    main()
