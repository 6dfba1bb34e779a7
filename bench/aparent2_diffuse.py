"""Does the APARENT2 inclusion scrambler fall short because its start is concentrated? (issue 17)

The committed network (transferred from the polya scrambler) puts scores of up to 57 on a few letters and
about 0 (the dead end of the softplus, median 3e-7) everywhere else; the per-example optimum at 0.25 bits is
diffuse (median score about 0.4 at every position, higher around the PAS). This screen trains networks whose
score head starts diffuse, against APARENT2 with the committed objective (straight-through, 8 samples, weight
10, batch 16), and monitors after every epoch the R² of the mean of 32 samples and the per-sample symmetric KL
(the training loss) at 0.25 and 0.5 bits.

Starts (``--start``):

* ``head``: the ``--init`` network's trunk (default: the committed network), its score convolution reset
  (kernel scaled by ``--head-scale``, bias so that every score starts at ``--start-score``);
* ``fresh``: a new network of the same shape (seeded), with the same score-head start;
* ``instance``: the ``--init`` network with standardised score logits (``score_norm="instance"``, the
  per-example optimiser's parameterisation in a network; its ranking kept at the start). One epoch of it
  from stage 0 is the shipped network's stage 1 (docs/attribution_quality.md).

    python bench/aparent2_diffuse.py probe                  # the teacher's mean profile against the network
    nohup python bench/aparent2_diffuse.py train --start head --epochs 8 > runs/aparent2_diffuse/head.log 2>&1 &
    git show 3da2f8e:pretrained/aparent2-540147b1f239c27c_inclusion.keras > runs/aparent2_diffuse/stage0.keras
    python bench/aparent2_diffuse.py train --start instance --name instance_gain --epochs 8 \
        --init runs/aparent2_diffuse/stage0.keras     # the screen's standardised-logit run
    python bench/aparent2_diffuse.py evaluate --networks runs/aparent2_diffuse/head.keras

Data: training windows of seed 300 (``generate_pas_windows(n, 307)``), monitoring windows of seed 5353 (epoch
selection), reporting windows of seed 4242 (the first 128, as bench/aparent2_fidelity.py); none used elsewhere
for training.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import aparent2_distill as distill  # noqa: E402
import aparent2_fidelity as fidelity  # noqa: E402
from scrambler_core.predictors.base import load_keras_model  # noqa: E402
from scrambler_core.scrambler import Scrambler, train_scrambler  # noqa: E402
from scrambler_core.scrambler.recipes import generate_pas_windows  # noqa: E402
import keras  # noqa: E402  (after scrambler_core, whose runtime settings apply first)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "runs" / "aparent2_diffuse"
# the committed network is itself stage 1 (standardised score logits) since issue 17; the screen in
# docs/attribution_quality.md started from stage 0: ``git show 3da2f8e:pretrained/<this file> > stage0.keras``
# and pass ``--init stage0.keras``
COMMITTED = ROOT / "pretrained" / "aparent2-540147b1f239c27c_inclusion.keras"
TRAIN_SEED, MONITOR_SEED, REPORT_SEED = 300, 5353, 4242
BUDGETS = (0.25, 0.5)


def diffuse_start(start="head", start_score=0.5, head_scale=0.05, seed=0, source=COMMITTED):
    """A scrambler network shaped as ``source`` (default: the committed one) whose scores all start near
    ``start_score``.

    Returns
    -------
    ScramblerModel — saved by the caller; ``start`` ``head`` keeps the source's trunk, ``fresh`` draws a new one
    """
    network = load_keras_model(source)
    if start == "fresh":
        keras.utils.set_random_seed(seed)
        clone = type(network).from_config(network.get_config())
        clone.build((None, network.sequence_length, 4 + network.n_condition_channels))
        network.set_weights(clone.get_weights())
    kernel = network.score_conv.kernel.numpy()
    inverse_softplus = float(np.log(np.expm1(start_score)))
    network.score_conv.kernel.assign(kernel * head_scale)
    network.score_conv.bias.assign(np.full(network.score_conv.bias.shape, inverse_softplus, np.float32))
    network.bits_calibration = None
    return network


def _symmetric_kl(p, q):
    p, q = np.clip(p, 1e-6, 1 - 1e-6), np.clip(q, 1e-6, 1 - 1e-6)
    return (p - q) * np.log(p / q) + (q - p) * np.log((1 - p) / (1 - q))


def r2_at(scrambler, windows, bits):
    """R², per-sample symmetric KL (the training loss) and realised bits at each of ``bits`` (32 samples, seed 1).

    A fixed-budget network is scored at its own budget only; budgets are the bits-channel value (uncalibrated).
    """
    network = scrambler.network
    out = {}
    for b in (bits if network.bits_conditioned else (network.target_bits,)):
        ex = scrambler.explain(windows, target_bits=b, n_samples=32, seed=1)
        y = ex.prediction.reshape(-1).astype(float)
        q = ex.sample_predictions.reshape(len(y), -1).astype(float)
        m = q.mean(1)
        out[str(b)] = {"r2": round(float(1 - np.sum((y - m) ** 2) / np.sum((y - y.mean()) ** 2)), 3),
                       "kl": round(float(_symmetric_kl(y[:, None], q).mean()), 4),
                       "bits": round(float(np.mean(ex.conservation)), 3)}
    return out


def train(predictor, start, epochs, n_train, learning_rate, start_score, head_scale, sampler, n_samples, name,
          fixed_bits=None, focused=False, source=COMMITTED, fresh=False, first_epoch=0, guide="none"):
    OUT.mkdir(parents=True, exist_ok=True)
    init = OUT / f"{name}_init.keras"
    if start == "instance":     # the --init network; train_scrambler adds the (gamma, beta) layer at (1, 0)
        init = source
    else:
        diffuse_start(start, start_score, head_scale, source=source).save(init)
    monitor = generate_pas_windows(64, seed=MONITOR_SEED)

    def validation_fn(scrambler):
        checks = r2_at(scrambler, monitor, BUDGETS)
        print(json.dumps({"monitor": checks}), flush=True)
        return {"monitor": checks, "selection_score": sum(c["r2"] for c in checks.values())}

    print(json.dumps({"monitor_at_start": r2_at(Scrambler(load_keras_model(init), predictor), monitor, BUDGETS)}),
          flush=True)
    if focused:     # 3/4 of the training budgets in 0.15-0.7 bits, where the targets are (as bench/polya_kl_screen.py)
        from polya_kl_screen import _focused_draw
        from scrambler_core.scrambler import train as T
        T._draw_bits = _focused_draw(T._draw_bits)
    settings = _settings(start, guide, fixed_bits, n_samples, learning_rate, sampler)
    if fresh:
        return _train_fresh(predictor, init, epochs, n_train, name, validation_fn, first_epoch, settings)
    windows = generate_pas_windows(n_train, seed=TRAIN_SEED + 7)
    scrambler, history = train_scrambler(
        predictor, windows, epochs=epochs, seed=TRAIN_SEED, init_from=str(init), validation_fn=validation_fn,
        checkpoint=str(OUT / f"{name}.ckpt.keras"), **settings)
    scrambler.network.save(OUT / f"{name}.keras")
    print(json.dumps({"saved": name, "epochs": len(history)}), flush=True)


def _settings(start, guide, fixed_bits, n_samples, learning_rate, sampler):
    """The screen's training settings, the same for every run (weight 10, batch 16, budgets 0.05-2 bits).

    ``instance``: standardised score logits; ``guide``: ScramblerModel's guide (its input weights start at 0).
    """
    options = {"score_norm": "instance"} if start == "instance" else {}
    options = {**options, "guide": guide} if guide != "none" else options
    return dict(mode="inclusion", bits_conditioned=fixed_bits is None, target_bits=fixed_bits or 0.5,
                bits_range=(0.05, 2.0), bits_schedule=(), batch_size=16, n_samples=n_samples,
                learning_rate=learning_rate, sampler=sampler, penalty_weight=10.0, network_options=options or None,
                log=lambda m: print(m, flush=True))


def _train_fresh(predictor, init, epochs, n_train, name, validation_fn, first_epoch, settings):
    """``train`` with new windows every epoch (seeds 307, 1307, 2307, ...): one single-epoch training per epoch,
    each started from the last (Adam's state restarts; with beta 0.5 / 0.9 it forgets within ~10 steps)."""
    previous, history = init, []
    for epoch in range(first_epoch, first_epoch + epochs):
        windows = generate_pas_windows(n_train, seed=TRAIN_SEED + 7 + 1000 * epoch)
        scrambler, _ = train_scrambler(predictor, windows, epochs=1, seed=TRAIN_SEED + epoch,
                                       init_from=str(previous), **settings)
        checks = validation_fn(scrambler)
        history.append(checks["selection_score"])
        previous = OUT / f"{name}_epoch{epoch + 1}.keras"
        scrambler.network.save(previous)
        print(json.dumps({"epoch": epoch + 1, "saved": previous.name}), flush=True)
    best = int(np.argmax(history)) + 1 + first_epoch
    print(json.dumps({"best_epoch": best, "selection_scores": [round(h, 3) for h in history]}), flush=True)


def probe(predictor, committed):
    """R² of a fixed score profile (the distillation teacher's mean per position) against the network's own."""
    windows = generate_pas_windows(128, seed=REPORT_SEED)[:64]
    _, teacher = distill.load_teacher(predictor)
    for b in BUDGETS:
        profile = teacher[b].mean(0)
        print(json.dumps({"bits": b, "network": fidelity.pssm_fidelity(committed, windows, b),
                          "teacher_profile": fidelity.pssm_fidelity(committed, windows, b,
                                                                    np.tile(profile, (64, 1)))}), flush=True)


def evaluate(predictor, committed, paths):
    windows = generate_pas_windows(128, seed=REPORT_SEED)
    print(json.dumps({"network": "committed", **r2_at(committed, windows, BUDGETS)}), flush=True)
    for path in paths:
        t0 = time.perf_counter()
        scrambler = Scrambler(load_keras_model(path), predictor)
        print(json.dumps({"network": str(path), **r2_at(scrambler, windows, BUDGETS),
                          "seconds": round(time.perf_counter() - t0, 1)}), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=("probe", "train", "evaluate"))
    parser.add_argument("--start", choices=("head", "fresh", "instance"), default="head")
    parser.add_argument("--name", default=None)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--n-train", type=int, default=3200)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--start-score", type=float, default=0.5)
    parser.add_argument("--head-scale", type=float, default=0.05)
    parser.add_argument("--sampler", choices=("straight_through", "gumbel"), default="straight_through")
    parser.add_argument("--n-samples", type=int, default=8)
    parser.add_argument("--fixed-bits", type=float, default=None, help="train: a fixed-budget network")
    parser.add_argument("--focused", action="store_true", help="train: 3/4 of the budgets in 0.15-0.7 bits")
    parser.add_argument("--fresh", action="store_true", help="train: new windows every epoch (seeds 307 + 1000 e)")
    parser.add_argument("--first-epoch", type=int, default=0, help="train --fresh: continue an --init network "
                        "from this epoch (its windows and file names)")
    parser.add_argument("--init", default=str(COMMITTED), help="train: the network every start is made from")
    parser.add_argument("--networks", default="", help="evaluate: comma-separated .keras paths")
    args = parser.parse_args(argv)
    predictor, committed = distill.load()
    if args.phase == "probe":
        probe(predictor, committed)
    elif args.phase == "train":
        train(predictor, args.start, args.epochs, args.n_train, args.learning_rate, args.start_score,
              args.head_scale, args.sampler, args.n_samples, args.name or args.start, args.fixed_bits,
              args.focused, Path(args.init), args.fresh, args.first_epoch)
    else:
        evaluate(predictor, committed, [p for p in args.networks.split(",") if p])


if __name__ == "__main__":
    main()
