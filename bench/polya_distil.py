"""Can the polya inclusion scrambler learn what per-example optimisation finds? (issue 17, polya 20 %)

Two phases:

* ``targets``: per-example optimisation of the KL benchmark's own objective (keep each window's top k
  positions exactly, draw the rest from the background, symmetric KL to the original prediction) through
  the straight-through top-k mask of training (``maths.keep_set_mask``), one free log score per position,
  started from the committed scrambler's scores at 0.1 bits; k is drawn per step from the benchmark's
  fractions. Run on training windows (seed 7171, never a test seed) in chunks saved as they finish
  (``{out}/targets_{start}.npz``; a rerun skips finished chunks). ``--check N`` runs it on the first N
  windows of the benchmark's test set instead and prints their KL rows (how far optimisation gets).
* ``train``: the committed network (``--channels``: a widened copy) continued with the paper's loss plus
  ``--weight`` times the mean squared difference between its standardised log scores and the standardised
  targets (a ranking, not a scale: the PSSM's scale stays the bits penalty's; targets ``-log(1 + rank)``),
  screened on the benchmark's test set after every epoch. ``--teacher deeplift`` distils DeepLIFT's ranking
  of the same windows instead (a ranking that one pass of the predictor computes: what can the network fit?).

    nohup python bench/polya_distil.py targets --n 3072 > runs/polya20/distil/LOG_targets 2>&1 &
    python bench/polya_distil.py targets --check 64
    python bench/polya_distil.py teachers              # teacher rankings' kept sets on windows of seed 5151
    nohup python bench/polya_distil.py train --teacher ism+deeplift+self --guide gradient_signed --n 6000 \
        --weight 5 --learning-rate 3e-4 --epochs 8 > LOG 2>&1 &   # the screen behind polya inclusion's stage 2
    nohup python bench/polya_distil.py train --weight 1 --epochs 6 > runs/polya20/distil/LOG_train 2>&1 &
    nohup python bench/polya_distil.py train --weight 5 --learning-rate 3e-4 --epochs 5 --channels 64 > LOG 2>&1 &
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from polya_kl_screen import kl_row, test_set  # noqa: E402

from scrambler_core.attribution import _pretrained_scrambler  # noqa: E402
from scrambler_core.predictors import load_predictor  # noqa: E402
from scrambler_core.scrambler.recipes import training_sequences  # noqa: E402

TRAIN_SEED = 7171
TEACHER_CHECK_SEED = 5151      # windows on which the teachers' rankings are compared (phase ``teachers``)


def optimise_rankings(pred, scr, x, steps=300, learning_rate=0.05, n_samples=16, seed=0):
    """Per-example log scores (N, L) that minimise the keep-set objective, from the scrambler's at 0.1 bits."""
    import tensorflow as tf

    from scrambler_core.scrambler.maths import (KEEP_FRACTIONS, draw_keep_counts, keep_set_mask, keep_set_samples,
                                                prediction_loss)

    n, length = x.shape[:2]
    logit = tf.Variable(np.log(np.maximum(scr.scores(x, 0.1), 1e-6)).astype(np.float32))
    optimizer = tf.keras.optimizers.Adam(learning_rate)
    xt, background = tf.constant(x), np.asarray(scr.network.background, np.float32)
    original = tf.constant(pred.predict(x).reshape(n, -1), tf.float32)
    rng = np.random.default_rng(seed)

    @tf.function
    def step(i, counts):
        with tf.GradientTape() as tape:
            samples = keep_set_samples(xt, keep_set_mask(tf.exp(logit), counts), background, n_samples,
                                       tf.stack([seed, i]))
            out = pred.model(tf.reshape(samples, [-1, length, x.shape[2]]), training=False)
            loss = tf.reduce_mean(prediction_loss(original, tf.reshape(out, [n, n_samples, -1]), pred.output_kind))
        optimizer.apply_gradients(zip(tape.gradient(loss, [logit]), [logit]))

    for i in range(steps):
        step(tf.constant(i), tf.constant(draw_keep_counts(rng, n, length, KEEP_FRACTIONS)))
    return logit.numpy()


def targets(pred, args):
    """Phase 1: optimised log scores for training windows, in chunks (or ``--check`` on test windows)."""
    scr = _pretrained_scrambler(pred, "inclusion")
    if args.check:
        x, original = test_set(pred)
        x, original = x[:args.check], original[:args.check]
        print("start    ", kl_row(pred, x, original, scr.scores(x, 0.1)), flush=True)
        logit = optimise_rankings(pred, scr, x, args.steps)
        print("optimised", kl_row(pred, x, original, np.exp(logit)), flush=True)
        return
    x = pred.to_onehot(training_sequences(pred.name, args.n, TRAIN_SEED))
    for start in range(0, args.n, args.chunk):
        path = Path(args.out) / f"targets_{start:06d}.npz"
        if path.exists():
            continue
        began = time.time()
        logit = optimise_rankings(pred, scr, x[start:start + args.chunk], args.steps, seed=start)
        np.savez(path, start=start, n=args.n, log_scores=logit.astype(np.float32))
        print(f"chunk {start}: {time.time() - began:.0f}s", flush=True)


def load_targets(out, n):
    """The finished chunks' targets, in order: (count, L) log scores for the first ``count`` of the ``n``
    windows the targets phase drew (a chunk drawn for another ``--n`` is refused: other windows)."""
    parts = []
    for chunk in sorted(Path(out).glob("targets_*.npz")):
        saved = np.load(chunk)
        if int(saved["n"]) != n:
            raise SystemExit(f"{chunk.name} holds targets for --n {int(saved['n'])}, not {n}")
        if int(saved["start"]) != sum(len(p) for p in parts):
            break
        parts.append(saved["log_scores"])
    return np.concatenate(parts)


TEACHERS = ("optimised", "deeplift", "ism", "self")


def teacher_rankings(pred, x, teacher, out, init=None):
    """The ranking to distil, (count, L) ``-log(1 + rank)``: one teacher's, or ``a+b+...``, their sum ranked again
    (a blend; ``optimised`` limits it to the windows with targets). ``self``: the starting network's own importance
    at 0.1 bits (the benchmark's rule); ``ism`` / ``deeplift``: ``attribute``'s. All but ``optimised`` are made by
    ``recipes.teacher_rankings``, as a recipe stage's ``ranking_teacher`` makes them (``self`` is its ``start``)."""
    from scrambler_core.paths import PRETRAINED_DIR
    from scrambler_core.scrambler.recipes import teacher_rankings as stage_rankings
    from scrambler_core.scrambler.train import rank_targets

    parts = teacher.split("+")
    if any(p not in TEACHERS for p in parts):
        raise SystemExit(f"--teacher: each part one of {', '.join(TEACHERS)}, got {teacher!r}")
    start = init or PRETRAINED_DIR / "polya_inclusion.keras"
    rankings = [rank_targets(load_targets(out, len(x))) if part == "optimised" else
                stage_rankings(pred, x, ["start" if part == "self" else part], start=start) for part in parts]
    count = min(len(r) for r in rankings)
    return rank_targets(sum(r[:count] for r in rankings))


def compare_teachers(pred, args):
    """Phase ``teachers``: each ``--teachers`` ranking's kept sets (the KL benchmark's inclusion test, ``kl_row``) on
    256 windows that are neither training nor test windows (seed ``TEACHER_CHECK_SEED``)."""
    x = pred.to_onehot(training_sequences(pred.name, 256, TEACHER_CHECK_SEED))
    original = pred.predict(x)
    for teacher in args.teachers.split(","):
        print(f"{teacher:24s}", kl_row(pred, x, original, teacher_rankings(pred, x, teacher, args.out, args.init)),
              flush=True)


def train(pred, args):
    """Phase 2: continue the committed network with the ranking targets beside the paper's loss."""
    from polya_kl_screen import _screen_fn, _widened

    from scrambler_core.paths import PRETRAINED_DIR
    from scrambler_core.predictors.base import load_keras_model
    from scrambler_core.scrambler import train as T
    from scrambler_core.scrambler.recipes import CALIBRATION_SEED_OFFSET

    # the generator is not prefix-stable: draw the same --n windows as the targets phase, keep those with targets
    x = pred.to_onehot(training_sequences(pred.name, args.n, TRAIN_SEED))
    rankings = teacher_rankings(pred, x, args.teacher, args.out, args.init)
    x = x[:len(rankings)]
    test_x, original = test_set(pred)
    name = f"distil_{args.teacher}_w{args.weight:g}_lr{args.learning_rate:g}_n{len(rankings)}" + (
        f"_wide{args.channels}" if args.channels else "") + (f"_{args.guide}" if args.guide else "")
    print(f"{name}: {len(rankings)} windows with targets", flush=True)
    init = Path(args.init) if args.init else PRETRAINED_DIR / "polya_inclusion.keras"
    if args.init:
        name += f"_from_{Path(args.init).stem}"
    if args.channels:            # the same scores from a wider network (capacity: does it fit the targets better?)
        init = _widened(init, args.channels, args.out)
    T.train_scrambler(
        pred, x, mode="inclusion", bits_range=(0.05, 2.0), bits_schedule=(), epochs=args.epochs,
        learning_rate=args.learning_rate, sampler="straight_through", penalty_weight=10.0,
        validation=pred.to_onehot(training_sequences(pred.name, 64, CALIBRATION_SEED_OFFSET)),
        validation_fn=_screen_fn(pred, test_x, original, name, args.out, time.time()),
        background=np.asarray(load_keras_model(init).background, np.float32), init_from=init,
        ranking_targets=rankings, ranking_weight=args.weight,
        network_options={**({"channels": args.channels} if args.channels else {}),
                         **({"guide": args.guide} if args.guide else {})} or None, log=lambda m: print(m, flush=True))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("phase", choices=("targets", "teachers", "train"))
    parser.add_argument("--teachers", default="self,deeplift,ism,ism+deeplift,ism+deeplift+self",
                        help="phase teachers: the rankings to compare, comma-separated (each as --teacher)")
    parser.add_argument("--n", type=int, default=3072)
    parser.add_argument("--chunk", type=int, default=128)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--check", type=int, default=0)
    parser.add_argument("--weight", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--teacher", default="optimised",
                        help="the rankings to distil: optimised (the targets phase's), deeplift, ism, self (the "
                             "starting network's), or a blend of them joined by '+' (e.g. ism+deeplift+self)")
    parser.add_argument("--init", help="continue this .keras (an earlier run's epoch) instead of the committed one")
    parser.add_argument("--channels", type=int, help="train a widened copy of the committed network")
    parser.add_argument("--guide", choices=("gradient", "gradient_signed"),
                        help="give the network the predictor's gradient as input channels (their weights start at 0)")
    parser.add_argument("--out", default="runs/polya20/distil")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    pred = load_predictor("polya")
    if args.phase == "targets":
        targets(pred, args)
    elif args.phase == "teachers":
        compare_teachers(pred, args)
    else:
        train(pred, args)


if __name__ == "__main__":
    main()
