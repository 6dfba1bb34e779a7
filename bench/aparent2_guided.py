"""Would a predictor-informed input make the APARENT2 scrambler keep the prediction? (issue 17; a screen)

Three phases on APARENT2's held-out windows (seed 4242, never trained on):

* ``profile``: no network at all. Each window's per-position guide (``guide_kinds``: ``g = max_a |df/dx_a|``,
  the shipped guide, and four others from the same gradient or a few more), divided by its mean over the
  window, taken to a power ``p`` and scaled so that the PSSM of scores ``alpha g^p`` realises the budget
  (bisection on ``alpha`` over the PSSM's conservation, per budget, one ``alpha`` for all windows of a 64-window
  batch), scored like the network (the committed network's background, PSSM and samples, 32 samples, seed 1),
  beside the committed network on the same windows; R² pooled over all ``--n`` windows.
* ``train``: the recipe's stage 1 as screened (``aparent2_diffuse.py train --start instance --fresh``: new windows
  every epoch) with the guide as one more input channel, ``ScramblerModel(guide="gradient")``:
  ``GUIDE_GAIN * log(g + 0.01)``, gain 50 (Adam moves every weight by about the same step, so the gain lets the
  channel act within an epoch; the screen's gain 5 barely moved in one). Its input weights start at zero, so the
  start is the ``--init`` network; the monitoring windows (seed 5353) report R² after every epoch.
* ``figure``: PSSM logos of one report window under each of several networks (docs/aparent2_guided_logos.png).

A screen network's R² on 512 report windows, calibrated as the recipe does:
``python bench/aparent2_fidelity.py --n-report 512 --network FILE --calibrate``.

    python bench/aparent2_guided.py profile --n 512 --kinds max,spread,smoothgrad
    python bench/aparent2_guided.py profile --n 64 --powers 0.5,1
    nohup python bench/aparent2_guided.py train --epochs 3 --name guided50 --init runs/aparent2_diffuse/stage0.keras \\
        > runs/aparent2_diffuse/guided50.log 2>&1 &
    python bench/aparent2_guided.py train --epochs 3 --first-epoch 3 --name guided50 \\
        --init runs/aparent2_diffuse/guided50_epoch3.keras                     # epochs 4-6 on new windows
    python bench/aparent2_fidelity.py --n-report 512 --network runs/aparent2_diffuse/guided50_epoch3.keras --calibrate
    python bench/aparent2_guided.py train --epochs 4 --name signed --guide gradient_signed   # from the shipped stage 1
    python bench/aparent2_guided.py figure --figure-networks "stage 0=runs/aparent2_diffuse/stage0.keras,..."

(The screen's runs in docs/attribution_quality.md patched the guide channel into ``ScramblerModel.network_input``
in their own process, same formula: the gain-5 run at commit 29a7919, the gain-50 runs with a ``--guide-scale 50``
option that the core's ``GUIDE_GAIN`` replaced; their networks' files do not name the guide, so only the
stage-2 screen, ``--init`` the recipe's network, ran on the core option.)
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
from scrambler_core.scrambler import Scrambler  # noqa: E402
from scrambler_core.scrambler.guide import guide_reference, output_gradient, signed_gradient_guide  # noqa: E402
from scrambler_core.scrambler.maths import conservation  # noqa: E402
from scrambler_core.scrambler.recipes import generate_pas_windows  # noqa: E402
from scrambler_core.predictors.base import load_keras_model  # noqa: E402


GUIDE_KINDS = ("max", "spread", "corrected", "smoothgrad", "signed_mix")


def guide_kinds(predictor, network, x, reference, rng):
    """Per-position guides (N, L) of one-hot windows ``x``, each over its mean in the window.

    ``max``: ``max_a |df/dx_a|`` (the shipped guide); ``spread``: the norm of the gradient minus its letter mean;
    ``corrected``: ``|df/dx_obs - sum_a bg_a df/dx_a|``; ``smoothgrad``: ``max`` averaged with its mean over 8
    samples of the ``max^0.5`` PSSM at 1 bit (9 gradients); ``signed_mix``: ``max`` averaged with
    ``relu(sign(f(x) - reference) (df/dx_obs - sum_a bg_a df/dx_a))`` (the signed guide's information); ``max``,
    ``corrected`` and ``signed_mix`` from ``guide.signed_gradient_guide``.
    """
    grads = output_gradient(predictor, x)[0].numpy()
    signed = signed_gradient_guide(predictor, x, network.background, reference).numpy()    # g, d, |f - reference|
    norm = lambda h: h / (h.mean(1, keepdims=True) + 1e-12)     # noqa: E731
    out = {"max": signed[..., 0], "corrected": norm(np.abs(signed[..., 1])),
           "spread": norm(np.sqrt(((grads - grads.mean(-1, keepdims=True)) ** 2).sum(-1)))}
    pwm = network.pwm(x, (fit_scale(network, x, out["max"] ** 0.5, 1.0) * out["max"] ** 0.5).astype(np.float32))
    pwm, sampled = pwm.numpy(), 0.0
    for _ in range(8):
        letters = (pwm.cumsum(-1) < rng.random(pwm.shape[:2] + (1,))).sum(-1).clip(0, pwm.shape[-1] - 1)
        g = np.abs(output_gradient(predictor, np.eye(pwm.shape[-1], dtype=np.float32)[letters])[0].numpy()).max(-1)
        sampled = sampled + norm(g) / 8
    out["smoothgrad"] = (sampled + out["max"]) / 2
    out["signed_mix"] = (norm(np.maximum(signed[..., 1], 0)) + out["max"]) / 2
    return out


def fit_scale(network, x, profile, bits, rounds=30):
    """The one scale ``alpha`` for which the PSSM of scores ``alpha * profile`` realises ``bits`` on average
    (bisection on the conservation alone: no predictor call)."""
    low, high = 1e-3, 300.0
    for _ in range(rounds):
        alpha = float(np.sqrt(low * high))
        pwm = network.pwm(x, (alpha * profile).astype(np.float32))
        realised = float(conservation(pwm, network.background, network.free)[1].numpy().mean())
        low, high = (low, alpha) if realised > bits else (alpha, high)
    return alpha


def profile(predictor, committed, n, budgets=(0.25, 0.5), powers=(0.5,), kinds=GUIDE_KINDS):
    """R² over all ``n`` report windows (pooled) of budget-scaled guide profiles ``alpha g^p``, no network,
    scored through the committed network's PSSM and samples (32, seed 1), beside the committed network."""
    windows = generate_pas_windows(n, seed=diffuse.REPORT_SEED)
    x_all = predictor.to_onehot(windows, background=committed.background)
    reference = guide_reference(predictor, x_all)       # the windows' mean logit
    rng, pooled = np.random.default_rng(7), {}
    for start in range(0, n, 64):
        chunk, x = windows[start:start + 64], np.asarray(x_all[start:start + 64], np.float32)
        guides = guide_kinds(predictor, committed.network, x, reference, rng)
        for b in budgets:
            rows = {"network": committed.explain(chunk, target_bits=b, n_samples=32, seed=1)}
            for kind, p in ((k, p) for k in kinds for p in powers):
                h = guides[kind] ** p
                scores = np.zeros((64, h.shape[1]), np.float32)
                scores[:len(h)] = fit_scale(committed.network, x, h, b) * h
                fixed = Scrambler(fidelity._FixedScores(committed.network, scores), predictor)
                rows[f"{kind}^{p}"] = fixed.explain(chunk, target_bits=b, n_samples=32, seed=1)
            for name, ex in rows.items():
                pooled.setdefault((name, b), []).append((ex.prediction, ex.mean_sample_prediction, ex.conservation))
    for (name, b), parts in sorted(pooled.items()):
        y, m, bits = (np.concatenate([np.atleast_1d(part[i]) for part in parts]).astype(float) for i in range(3))
        r2 = 1 - np.sum((y - m) ** 2) / np.sum((y - y.mean()) ** 2)
        print(json.dumps({"scores": name, "bits": b, "windows": n, "r2": round(float(r2), 3),
                          "realised_bits": round(float(bits.mean()), 3)}), flush=True)


def figure(predictor, networks, output, window=0, bits=0.25):
    """PSSM logos of one report window at ``bits`` under each network (label=path), one row each, to a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scrambler_core.plot import pwm_logo

    sequence = generate_pas_windows(window + 1, seed=diffuse.REPORT_SEED)[window]
    fig, axes = plt.subplots(len(networks), 1, figsize=(22, 2.2 * len(networks)), squeeze=False)
    for ax, (label, path) in zip(axes[:, 0], networks):
        scrambler = Scrambler(load_keras_model(path), predictor)
        ex = scrambler.explain([sequence], target_bits=bits, n_samples=32, seed=1)
        pwm_logo(ex.pwm[0], "dna", ax=ax, title=f"{label}: {float(ex.conservation.mean()):.2f} bits, prediction "
                 f"{float(ex.prediction[0]):.3f}, mean of 32 samples {float(ex.mean_sample_prediction[0]):.3f}")
        ax.axvspan(49.5, 129.5, color="0.9", zorder=-1)        # USE, PAS (70-75), cleavage site, DSE
    fig.tight_layout()
    fig.savefig(output, dpi=80)
    print(json.dumps({"figure": str(output)}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=("profile", "train", "figure"))
    parser.add_argument("--n", type=int, default=128, help="profile: held-out windows")
    parser.add_argument("--powers", default="0.5", help="profile: exponents p of alpha g^p, comma-separated")
    parser.add_argument("--kinds", default=",".join(GUIDE_KINDS), help="profile: guides, comma-separated")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--name", default="guided")
    parser.add_argument("--init", default=str(diffuse.COMMITTED))
    parser.add_argument("--guide", default="gradient", choices=("gradient", "gradient_signed"),
                        help="train: the network's guide (ScramblerModel(guide=...))")
    parser.add_argument("--network", help="profile: the network whose PSSM path scores the profiles and whose own "
                        "row is reported (default: the shipped one)")
    parser.add_argument("--first-epoch", type=int, default=0, help="train: continue --init from this epoch")
    parser.add_argument("--figure-networks", default="", help="figure: label=path pairs, comma-separated")
    parser.add_argument("--window", type=int, default=0, help="figure: which report window (seed 4242)")
    parser.add_argument("--output", default="docs/aparent2_guided_logos.png", help="figure: the PNG")
    args = parser.parse_args(argv)
    predictor, committed = distill.load()
    if args.network:
        committed = Scrambler(load_keras_model(args.network), predictor)
    if args.phase == "profile":
        profile(predictor, committed, args.n, powers=tuple(float(p) for p in args.powers.split(",")),
                kinds=tuple(args.kinds.split(",")))
        return
    if args.phase == "figure":
        pairs = [item.split("=", 1) for item in args.figure_networks.split(",") if item]
        figure(predictor, pairs or [("shipped", str(diffuse.COMMITTED))], args.output, args.window)
        return
    diffuse.train(predictor, "instance", args.epochs, 3200, args.learning_rate, 0.5, 0.05, "straight_through",
                  8, args.name, source=Path(args.init), fresh=True, first_epoch=args.first_epoch, guide=args.guide)


if __name__ == "__main__":
    main()
