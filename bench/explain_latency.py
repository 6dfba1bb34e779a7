"""Live-slider latency: ``explain`` on one sequence at a new ``target_bits``, warm.

Baselines run in the same process, on the same sequence:
* bare forward pass = the compiled scrambler network on 1 sequence (with the predictor's gradient as its
  input for a guided scrambler) + the compiled predictor on the S = 32 samples (the least work any
  explanation needs);
* predictor alone on 32 sequences.
Prints medians in milliseconds and the ratio explain / bare forward pass.

    python bench/explain_latency.py [--predictor utr5|polya|optimus5|aparent2|binder] [--repeats 50]
        [--objective maximize|minimize] [--drop 60-66] [--architecture siamese|joint]
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import scrambler_core as sc  # noqa: E402
from scrambler_core import synthetic  # noqa: E402
from scrambler_core.scrambler.guide import network_inputs  # noqa: E402
from scrambler_core.scrambler.recipes import training_sequences  # noqa: E402
from scrambler_core.runtime import device_name, tf  # noqa: E402


def median_ms(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), sorted(times)[int(0.95 * (len(times) - 1))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictor", default="utr5")
    parser.add_argument("--mode", default="inclusion")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--scrambler", help="a .keras scrambler file (default: the pretrained one)")
    parser.add_argument("--objective", default="reconstruct")
    parser.add_argument("--drop", help="1-based ranges to exclude (uses the mask-dropout scrambler)")
    parser.add_argument("--architecture", help="pair predictors: siamese (default) or joint")
    args = parser.parse_args()
    pair = args.predictor in sc.predictors.PAIR_BUILTINS
    scr = sc.load_scrambler(args.scrambler or args.predictor, mode=args.mode, objective=args.objective,
                            dropout=bool(args.drop), architecture=(args.architecture or "siamese") if pair else None)
    pred = scr.predictor
    drop = None
    if args.drop:
        from scrambler_core.scrambler import drop_mask_from_ranges
        drop = drop_mask_from_ranges(args.drop, pred.sequence_length)
    if pair:
        seq = synthetic.generate_binder_pairs(1, seed=11)[0]
    elif args.predictor in synthetic.GRAMMARS:
        seq = synthetic.GRAMMARS[args.predictor]["generate"](1, seed=11)[0]
    else:                               # published models (optimus5, aparent2): $SCRAMBLER_MODELS_DIR
        seq = training_sequences(args.predictor, 1, seed=11)[0]
    x = pred.to_onehot([seq])
    samples = np.repeat(x, 32, axis=0)
    drop_rows = None if drop is None else tf.constant(drop[None])
    forward_net = tf.function(lambda t: scr.network(t, training=False))
    forward_pred = tf.function(lambda t: pred.model(t, training=False))

    def bare():             # a guided scrambler's input needs the predictor's gradient: part of the least work
        forward_net(network_inputs(scr.network, pred, x, tf.constant([0.5]), drop_rows)).numpy()
        forward_pred(tf.constant(samples)).numpy()

    bits = iter(np.tile(np.linspace(0.05, 2.0, 40), 1000))

    def slider():
        scr.explain([seq], target_bits=float(next(bits)), n_samples=32, seed=0, drop=drop)

    for fn in (bare, slider):           # warm up / trace
        for _ in range(3):
            fn()
    bare_ms, bare_p95 = median_ms(bare, args.repeats)
    pred_ms, _ = median_ms(lambda: forward_pred(tf.constant(samples)).numpy(), args.repeats)
    explain_ms, explain_p95 = median_ms(slider, args.repeats)
    print(f"device: {device_name()}  predictor: {args.predictor}  mode: {args.mode}  objective: {args.objective}  "
          f"drop: {args.drop}  architecture: {scr.network.architecture}  repeats: {args.repeats}")
    print(f"predictor on 32 samples      median {pred_ms:7.2f} ms")
    print(f"bare forward pass            median {bare_ms:7.2f} ms  p95 {bare_p95:7.2f} ms")
    print(f"explain, new target_bits     median {explain_ms:7.2f} ms  p95 {explain_p95:7.2f} ms")
    print(f"ratio explain / bare forward {explain_ms / bare_ms:7.2f}")


if __name__ == "__main__":
    main()
