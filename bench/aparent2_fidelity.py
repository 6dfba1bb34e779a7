"""How faithful is the APARENT2 inclusion scrambler, and what would raise it? (issue 17)

R² between APARENT2's prediction on held-out PAS windows (a PAS hexamer at 70, seed 4242, never
trained on) and the mean prediction of 32 samples, at 0.25 and 0.5 bits, for the committed scrambler
or an experiment trained here (``--train NAME``) with a checkpoint per epoch.

    python bench/aparent2_fidelity.py                       # the committed scrambler
    python bench/aparent2_fidelity.py --diagnose            # what the prediction depends on
    nohup python bench/aparent2_fidelity.py --train fixed025_gumbel --out runs/aparent2 > runs/aparent2.log &
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scrambler_core as sc  # noqa: E402
from scrambler_core import benchmarks, evaluation  # noqa: E402
from scrambler_core.scrambler.recipes import generate_pas_windows  # noqa: E402
from scrambler_core.scrambler import train_scrambler  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = {
    # a fixed 0.25-bit network started from the committed bits-conditioned one (its bits channel folded in),
    # relaxed Gumbel samples (lower-variance gradients than straight-through) and a larger step
    "fixed025_gumbel": dict(bits_conditioned=False, target_bits=0.25, sampler="gumbel", learning_rate=3e-4,
                            penalty_weight=10.0, n_samples=8, batch_size=16, bits_schedule=()),
}


def r2(y, m):
    y, m = np.asarray(y, float), np.asarray(m, float)
    return float(1 - np.sum((y - m) ** 2) / np.sum((y - y.mean()) ** 2))


def fidelity(scrambler, windows, budgets=(0.25, 0.5)):
    bits = budgets if scrambler.network.bits_conditioned else (None,)
    return {str(b if b is not None else scrambler.network.target_bits):
            round(evaluation.sample_agreement(scrambler, windows, b, n_samples=32, seed=1)["r2"], 3) for b in bits}


def diagnose(predictor, scrambler, windows, samples=16, seed=0):
    """R² of samples that keep given positions exactly and draw the rest from the scrambler's background."""
    x = predictor.to_onehot(windows)
    y = predictor.predict(x)
    rng = np.random.default_rng(seed)
    bg = scrambler.background
    out = {"prediction_quantiles_0_25_50_75_100": np.quantile(y, [0, .25, .5, .75, 1]).round(3).tolist()}
    for label, positions in (("PAS 70-75", range(70, 76)), ("50-129", range(50, 130)), ("30-159", range(30, 160))):
        means = []
        for _ in range(samples):
            letters = np.stack([rng.choice(4, size=len(x), p=row / row.sum()) for row in bg], 1)
            xs = np.eye(4, dtype=np.float32)[letters]
            xs[:, list(positions)] = x[:, list(positions)]
            means.append(predictor.predict(xs))
        out[f"keep {label}"] = round(r2(y, np.mean(means, 0)), 3)
    # the best a ranking can do with hard top-k: keep each method's top fraction exactly, resample the rest
    for method, options in (("scrambler", {"target_bits": 0.25}), ("gradient_x_input", {}), ("ism", {})):
        ranking = benchmarks.position_scores(sc.attribute(predictor, x[:64], method, **options))
        for fraction in (0.125, 0.25):
            sampled = benchmarks.resample_positions(predictor, x[:64], benchmarks.top_positions(ranking, fraction),
                                                    n_samples=32, seed=seed, background=bg)
            out[f"keep {method} top {fraction:.1%} (64 windows)"] = round(r2(y[:64], sampled.mean(1)), 3)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", choices=sorted(EXPERIMENTS))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--n-train", type=int, default=4800)
    parser.add_argument("--out", default="runs/aparent2")
    parser.add_argument("--diagnose", action="store_true")
    parser.add_argument("--models", default=os.environ.get("SCRAMBLER_MODELS_DIR",
                                                           str(ROOT.parent / "shared" / "external")))
    args = parser.parse_args(argv)
    os.environ["SCRAMBLER_MODELS_DIR"] = args.models
    predictor = sc.load_predictor("aparent2")
    committed = sc.load_scrambler("aparent2", mode="inclusion", predictor=predictor)
    windows = generate_pas_windows(128, seed=4242)
    if args.diagnose:
        print(json.dumps(diagnose(predictor, committed, windows)))
        return
    if not args.train:
        print(json.dumps({"committed": fidelity(committed, windows)}))
        return
    folder = Path(args.out) / args.train
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "fidelity.jsonl"
    scrambler, history = train_scrambler(
        predictor, generate_pas_windows(args.n_train, seed=1234), epochs=args.epochs, seed=5,
        init_from=committed.path, checkpoint=folder / "ckpt", background=committed.background,
        validation_fn=lambda scr: {"fidelity_r2": fidelity(scr, windows[:64])}, **EXPERIMENTS[args.train])
    result = {"name": args.train, "examples": args.n_train * len(history), "seconds": history[-1]["seconds"],
              "per_epoch": [h["fidelity_r2"] for h in history], "held_out_128": fidelity(scrambler, windows)}
    log.write_text(json.dumps(result) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
