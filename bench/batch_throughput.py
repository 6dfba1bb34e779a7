"""Throughput of `batch` scoring against the bare forward pass of the scrambler and predictor, same process.

For each predictor (sequence length) and sample count S it times, warm:

* bare: one compiled call of the scrambler network on (B, L, A) and of the predictor on (B*S, L, A) -- the
  arithmetic an explanation cannot avoid, with no sampling, no I/O and no Python per sequence;
* explain: ``Scrambler.explain`` on one-hot arrays, in batches of B;
* batch: ``run_batch`` end to end on a FASTA file (reading, checking, scoring, Parquet shards, manifest),
  one target bits value, the scrambler only.

and prints sequences/s and the ratio to bare. ``--methods`` adds one batch run per attribution method (the
cost model: predictor calls per sequence and sequences/s).

    python bench/batch_throughput.py                       # utr5 (L=50) and polya (L=205), S = 8, 32, 128
    python bench/batch_throughput.py --n 2048 --methods ism,saliency,integrated_gradients
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scrambler_core as sc  # noqa: E402
from scrambler_core.batch import run_batch  # noqa: E402
from scrambler_core.runtime import tf  # noqa: E402


def random_sequences(n, length, seed=0):
    rng = np.random.default_rng(seed)
    return ["".join(row) for row in rng.choice(list("ACGT"), (n, length))]


def bare_rate(scrambler, x, n_samples, batch_size, repeats=3):
    """Sequences/s of scrambler network + predictor on B*S inputs, compiled, fixed shapes."""
    net, predictor = scrambler.network, scrambler.predictor

    @tf.function(reduce_retracing=False)
    def forward(xb, channel, drop):
        scores = net(net.network_input(xb, channel, drop), training=False)
        tiled = tf.reshape(tf.repeat(xb[:, None], n_samples, axis=1), [-1, xb.shape[1], xb.shape[2]])
        return tf.reduce_sum(scores) + tf.reduce_sum(predictor.output_tensor(tiled))

    batches = [tf.constant(x[s:s + batch_size]) for s in range(0, len(x) - batch_size + 1, batch_size)]
    channel = tf.constant(np.repeat(net.bits_condition(0.5), batch_size))
    drop = tf.ones((batch_size, x.shape[1]))
    forward(batches[0], channel, drop).numpy()
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        for xb in batches:
            forward(xb, channel, drop).numpy()
        best = min(best, time.perf_counter() - started)
    return len(batches) * batch_size / best


def explain_rate(scrambler, x, n_samples, batch_size, repeats=2):
    scrambler.explain(x[:batch_size], target_bits=0.5, n_samples=n_samples, batch_size=batch_size)
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        for s in range(0, len(x), batch_size):
            scrambler.explain(x[s:s + batch_size], target_bits=0.5, n_samples=n_samples, batch_size=batch_size)
        best = min(best, time.perf_counter() - started)
    return len(x) / best


def batch_rate(predictor, seqs, folder, methods=("scrambler",), n_samples=32, batch_size=64, tag=""):
    fasta = Path(folder) / f"in{tag}.fa"
    fasta.write_text("".join(f">s{k}\n{s}\n" for k, s in enumerate(seqs)))
    manifest = run_batch(fasta, Path(folder) / f"out{tag}.parquet", predictor, methods=methods, target_bits=(0.5,),
                         n_samples=n_samples, batch_size=batch_size, shard_size=1024, progress=False,
                         overwrite=True)
    return len(seqs) / manifest["scoring_seconds"], manifest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--predictors", default="utr5,polya")
    parser.add_argument("--samples", default="8,32,128")
    parser.add_argument("--n", type=int, default=1024, help="sequences per measurement")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best of each is reported")
    parser.add_argument("--methods", default="", help="also time batch runs of these attribution methods")
    parser.add_argument("--ray", type=int, default=0, metavar="WORKERS",
                        help="also run the scrambler batch on the Ray engine with this many actors (same input)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    print(f"device: {sc.runtime.device_name()}; {args.n} sequences; batch size {args.batch_size}")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.predictors.split(","):
            scrambler = sc.load_scrambler(name)
            length = scrambler.predictor.sequence_length
            seqs = random_sequences(args.n, length)
            x = sc.one_hot(seqs)
            # warm the batch path once (graph tracing) so every figure is warm
            batch_rate(name, seqs[:args.batch_size], folder, batch_size=args.batch_size, tag="warm")
            for n_samples in (int(s) for s in args.samples.split(",")):
                batch_rate(name, seqs[:args.batch_size], folder, n_samples=n_samples, batch_size=args.batch_size,
                           tag="warm")
                bare = explain = batch = 0.0
                for _ in range(args.rounds):      # interleaved, best of each: load from other processes hits all three
                    bare = max(bare, bare_rate(scrambler, x, n_samples, args.batch_size, repeats=1))
                    explain = max(explain, explain_rate(scrambler, x, n_samples, args.batch_size, repeats=1))
                    batch = max(batch, batch_rate(name, seqs, folder, n_samples=n_samples,
                                                  batch_size=args.batch_size)[0])
                rows.append({"predictor": name, "length": length, "samples": n_samples, "bare_per_s": bare,
                             "explain_per_s": explain, "batch_per_s": batch, "explain_ratio": explain / bare,
                             "batch_ratio": batch / bare})
                print(f"{name:6s} L={length:3d} S={n_samples:3d}: bare {bare:8.0f}/s  explain {explain:7.0f}/s "
                      f"({explain / bare:4.2f})  batch {batch:7.0f}/s ({batch / bare:4.2f} of bare)", flush=True)
            if args.ray:
                fasta = Path(folder) / "ray_in.fa"
                fasta.write_text("".join(f">s{k}\n{s}\n" for k, s in enumerate(seqs)))
                common = dict(methods=("scrambler",), target_bits=(0.5,), shard_size=max(64, args.n // (4 * args.ray)),
                              batch_size=args.batch_size, progress=False, overwrite=True)
                started = time.perf_counter()
                run_batch(fasta, Path(folder) / "local.parquet", name, **common)
                local = args.n / (time.perf_counter() - started)
                started = time.perf_counter()
                run_batch(fasta, Path(folder) / "ray.parquet", name, engine="ray", workers=args.ray, **common)
                ray = args.n / (time.perf_counter() - started)
                rows.append({"predictor": name, "length": length, "engine": "ray", "workers": args.ray,
                             "local_wall_per_s": local, "ray_wall_per_s": ray})
                print(f"{name:6s} L={length:3d} S= 32 wall clock incl. start-up: local {local:7.0f}/s, "
                      f"ray with {args.ray} actors {ray:7.0f}/s", flush=True)
            for method in [m for m in args.methods.split(",") if m]:
                n = min(args.n, 256) if method not in ("saliency", "gradient_x_input") else args.n
                rate, _ = batch_rate(name, seqs[:n], folder, methods=(method,), batch_size=args.batch_size,
                                     tag=method)
                _, info = sc.attribute(scrambler.predictor, seqs[:8], method, return_info=True)
                rows.append({"predictor": name, "length": length, "method": method, "batch_per_s": rate,
                             "calls_per_sequence": info["calls_per_sequence"]})
                print(f"{name:6s} L={length:3d} {method:22s}: {info['calls_per_sequence']:7.0f} predictor calls "
                      f"per sequence, batch {rate:8.1f}/s", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
