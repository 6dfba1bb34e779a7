"""Cost of every attribution method per sequence, as ratios to the scrambler, in one process.

Every method is warmed up first (graph tracing is not timed), then timed on the same
held-out sequences. ``scrambler`` is the attribution alone (one pass of the scrambler
network); ``scrambler explain S=32`` adds the 32 samples from the PWM and the predictor
on them (what the app shows). Per-example optimisation runs on fewer
sequences (it costs S x steps predictor calls each); all figures are per sequence.

    python bench/attribution_cost.py [--predictor utr5] [--n 256] [--n-per-example 32] [--repeats 3]
"""
import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import scrambler_core as sc  # noqa: E402
from scrambler_core.attribution import METHODS  # noqa: E402
from scrambler_core.scrambler.recipes import training_sequences  # noqa: E402
from scrambler_core.runtime import device_name  # noqa: E402

PER_EXAMPLE = ("scrambler_optimized", "scrambler_finetuned")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictor", default="utr5")
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--n-per-example", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    predictor = sc.load_predictor(args.predictor)
    seqs = training_sequences(predictor.name, args.n, 4242)
    x = predictor.to_onehot(seqs)
    rows = []
    runs = [(m, m, {}) for m in METHODS]
    runs.insert(METHODS.index("scrambler") + 1, ("scrambler explain S=32", "scrambler", {"n_samples": 32}))
    for label, method, options in runs:
        n = args.n_per_example if method in PER_EXAMPLE else args.n
        xs = x[:n]
        warm = {"steps": 1} if method in PER_EXAMPLE else {}
        sc.attribute(predictor, xs[:64], method, **options, **warm)
        repeats = 1 if method in PER_EXAMPLE else args.repeats
        seconds, calls = [], 0
        for _ in range(repeats):
            _, info = sc.attribute(predictor, xs, method, return_info=True, **options)
            seconds.append(info["seconds_per_sequence"])
            calls = info["calls_per_sequence"]
        rows.append((label, n, calls, statistics.median(seconds)))
    reference = next(r for r in rows if r[0] == "scrambler")
    print(f"{predictor.name} on {device_name()}: per sequence, median of {args.repeats} runs "
          f"({args.n} sequences; per-example methods {args.n_per_example}, 1 run)")
    explain = next(r for r in rows if r[0].startswith("scrambler explain"))
    print(f"{'method':<24}{'n':>5}{'calls':>8}{'ms/seq':>11}{'x scrambler':>13}{'x explain S=32':>16}")
    for method, n, calls, sec in rows:
        print(f"{method:<24}{n:>5}{calls:>8.0f}{1000 * sec:>11.3f}{sec / reference[3]:>13.1f}{sec / explain[3]:>16.1f}")


if __name__ == "__main__":
    main()
