"""Would a predictor-informed input make the APARENT2 scrambler keep the prediction? (issue 17; a screen)

Two phases on APARENT2's held-out windows (seed 4242, never trained on):

* ``profile``: no network at all. Each window's per-position guide ``g = max_a |df/dx_a|`` (one gradient of the
  predictor), divided by its mean over the window, taken to a power ``p`` and scaled so that the PSSM of scores
  ``alpha g^p`` realises the budget (bisection on ``alpha``, per budget, one ``alpha`` for all windows), scored
  like the network (``aparent2_fidelity.pssm_fidelity``: the committed network's background, PSSM and
  samples, 32 samples, seed 1), beside the committed network on the same windows.
* ``train``: the shipped recipe's stage 1 (``aparent2_diffuse.py train --start instance --fresh``) with one more
  input channel, ``scale * log(g / mean(g) + 0.01)``, computed inside the network's input
  (``ScramblerModel.network_input`` patched in this process only: nothing in scrambler_core changes). Its input
  weights start at zero, so the start is the ``--init`` network; the monitoring windows (seed 5353) report R²
  after every epoch and the last 512-window report (seed 4242) carries a bootstrap interval.

    python bench/aparent2_guided.py profile --n 128
    nohup python bench/aparent2_guided.py train --epochs 3 --init runs/aparent2_diffuse/stage0.keras \\
        > runs/aparent2_diffuse/guided.log 2>&1 &
    python bench/aparent2_guided.py report --network runs/aparent2_diffuse/guided_epoch1.keras --calibrate
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import aparent2_diffuse as diffuse  # noqa: E402
import aparent2_distill as distill  # noqa: E402
import aparent2_fidelity as fidelity  # noqa: E402
from scrambler_core.attribution import _gradient_fn  # noqa: E402
from scrambler_core.runtime import tf  # noqa: E402
from scrambler_core.scrambler import Scrambler  # noqa: E402
from scrambler_core.scrambler import network as network_module  # noqa: E402
from scrambler_core.scrambler.explain import calibrate_bits  # noqa: E402
from scrambler_core.scrambler.recipes import (CALIBRATION_SEED_OFFSET, generate_pas_windows,  # noqa: E402
                                              training_sequences)
from scrambler_core.predictors.base import load_keras_model  # noqa: E402

GUIDE_SCALE = 5.0


def guide(predictor, x):
    """Per-position guide (N, L): ``max_a |df/dx_a|`` over the window's mean (one predictor gradient)."""
    grads, _ = _gradient_fn(predictor)(tf.convert_to_tensor(x, tf.float32))
    g = tf.reduce_max(tf.abs(grads), axis=-1)
    return g / (tf.reduce_mean(g, axis=1, keepdims=True) + 1e-12)


def install_guide(predictor, scale=GUIDE_SCALE):
    """Every ScramblerModel of this process takes the guide as its last input channel."""
    model = network_module.ScramblerModel
    plain_input = model.network_input
    plain_count = model.n_condition_channels.fget

    def guided(self):     # a new network takes the guide; a loaded one only if it was built with it
        return not self.built or self.input_conv.kernel.shape[1] == self.alphabet.size + plain_count(self) + 1

    def network_input(self, x, bits_channel, drop=None):
        base = plain_input(self, x, bits_channel, drop)
        if not guided(self):
            return base
        channel = scale * tf.math.log(tf.stop_gradient(guide(predictor, x)) + 0.01)
        return tf.concat([base, channel[..., None]], axis=-1)

    model.network_input = network_input
    model.n_condition_channels = property(lambda self: plain_count(self) + int(guided(self)))


def profile(predictor, committed, n, budgets=(0.25, 0.5), powers=(0.5, 1.0)):
    """R² of budget-scaled guide profiles against the committed network, 64 windows at a time."""
    windows = generate_pas_windows(n, seed=diffuse.REPORT_SEED)
    for start in range(0, n, 64):
        chunk = windows[start:start + 64]
        g = guide(predictor, predictor.to_onehot(chunk, background=committed.background)).numpy()
        for b in budgets:
            print(json.dumps({"windows": f"{start}-{start + len(chunk)}", "bits": b, "network":
                              fidelity.pssm_fidelity(committed, chunk, b)}), flush=True)
            for p in powers:
                low, high = 1e-3, 100.0
                for _ in range(14):     # bisection on the scale: realised bits within ~0.005 of b
                    alpha = float(np.sqrt(low * high))
                    row = fidelity.pssm_fidelity(committed, chunk, b, (alpha * g ** p).astype(np.float32))
                    low, high = (low, alpha) if row["realised_bits"] > b else (alpha, high)
                print(json.dumps({"windows": f"{start}-{start + len(chunk)}", "bits": b, "power": p,
                                  "guide_profile": row}), flush=True)


def report(predictor, path, calibrate, n=512):
    scrambler = Scrambler(load_keras_model(path), predictor)
    if calibrate:
        calibrate_bits(scrambler, predictor.to_onehot(
            training_sequences("aparent2", 256, CALIBRATION_SEED_OFFSET), background=scrambler.background))
    windows = generate_pas_windows(n, seed=diffuse.REPORT_SEED)
    print(json.dumps({str(path): fidelity.fidelity_interval(scrambler, windows)}), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=("profile", "train", "report"))
    parser.add_argument("--n", type=int, default=128, help="profile: held-out windows")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--name", default="guided")
    parser.add_argument("--guide-scale", type=float, default=GUIDE_SCALE, help="the guide channel's factor (Adam "
                        "moves every weight by about the same step, so a larger factor lets its weights act sooner)")
    parser.add_argument("--init", default=str(diffuse.COMMITTED))
    parser.add_argument("--network", default=None, help="report: a guided network's .keras")
    parser.add_argument("--calibrate", action="store_true", help="report: calibrate its bits first (as the recipe)")
    args = parser.parse_args(argv)
    predictor, committed = distill.load()
    if args.phase == "profile":
        profile(predictor, committed, args.n)
        return
    install_guide(predictor, args.guide_scale)
    if args.phase == "train":
        diffuse.train(predictor, "instance", args.epochs, 3200, args.learning_rate, 0.5, 0.05, "straight_through",
                      8, args.name, source=Path(args.init), fresh=True)
    else:
        report(predictor, args.network, args.calibrate)


if __name__ == "__main__":
    main()
