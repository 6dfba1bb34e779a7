"""The ``tracks`` and ``motifs`` subcommands (registered by :func:`add_parsers` in :mod:`scrambler_core.cli`).

Nothing heavy is imported here: pyBigWig, modisco-lite and TensorFlow load inside the commands.
"""
from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["add_parsers", "cmd_tracks", "cmd_motifs"]


def add_parsers(sub) -> None:
    """Register the ``tracks`` and ``motifs`` subparsers on an argparse subparsers object."""
    p = sub.add_parser("tracks", help="genome-browser tracks (bigWig/bedGraph) of a VCF batch result",
                       description="Write one track per score column of a VCF batch result (batch --input "
                                   "variants.vcf --fasta genome.fa) at genomic coordinates: per-position scores over "
                                   "each variant's window (where windows overlap, the value of the nearest "
                                   "variant's window), scalar scores such as delta_prediction over each variant's "
                                   "REF letters. Load the files in IGV with File > Load from File.")
    p.add_argument("results", help="output folder of python -m scrambler_core batch (a VCF input)")
    p.add_argument("--output", required=True, help="folder for the tracks: COLUMN.bw or COLUMN.bedgraph")
    p.add_argument("--format", choices=("bigwig", "bedgraph"), default="bigwig")
    p.add_argument("--columns", help="comma-separated score columns (default: every score column)")
    p.add_argument("--fasta", help="the reference genome, for the chromosome sizes (default: the largest end seen "
                                   "per chromosome)")

    p = sub.add_parser("motifs", help="TF-MoDISco motifs of batch importance scores (modisco-lite)",
                       description="Export one-hot sequences and hypothetical contributions in the layout modisco-lite "
                                   "reads (ohe.npz, contrib.npz: (N, 4, L)), run TF-MoDISco on them and write "
                                   "modisco_results.h5 and report/report.html into --output; prints each "
                                   "pattern's seqlets and consensus.")
    p.add_argument("results", help="output folder of python -m scrambler_core batch (FASTA/CSV or VCF input)")
    p.add_argument("--output", required=True, help="folder for ohe.npz, contrib.npz, modisco_results.h5, report/")
    p.add_argument("--column", metavar="LABEL", help="stored scores to use: a method label of the batch, e.g. ism "
                                                     "or scrambler_0.5 (default: the first)")
    p.add_argument("--predictor", help="compute full ISM hypothetical contributions with this predictor instead of "
                                       "using stored scores (built-in, published or a .keras path)")
    p.add_argument("--model-path", help="weights file of a published --predictor")
    p.add_argument("--max-seqlets", type=int, default=2000, help="seqlets per metacluster (modisco -n, default 2000)")
    p.add_argument("--window", type=int, help="positions around the centre modisco reads (modisco -w; default: "
                                              "the sequence length, rounded down to even)")
    p.add_argument("--no-report", action="store_true", help="skip the HTML report")


def cmd_tracks(args) -> None:
    """Write the tracks of ``args.results`` into ``args.output`` and list them on stderr."""
    from .tracks import write_tracks
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    paths = write_tracks(args.results, args.output, format=args.format, columns=columns, fasta=args.fasta)
    for path in paths:
        print(path)
    sizes = "the chromosome sizes of " + Path(args.fasta).name if args.fasta else "chromosome sizes from the results"
    print(f"wrote {len(paths)} {args.format} tracks to {args.output} ({sizes}); in IGV: File > Load from File",
          file=sys.stderr)


def _predictor(args):
    if not args.predictor:
        return None
    if args.column:
        raise ValueError("give --column (stored scores) or --predictor (ISM from the predictor), not both")
    from ..predictors.registry import load_predictor
    predictor = load_predictor(args.predictor, path=args.model_path)
    if predictor.is_pair or predictor.alphabet.size != 4:
        raise ValueError(f"modisco reads DNA; {predictor.name} is not a single-sequence DNA predictor")
    return predictor


def cmd_motifs(args) -> None:
    """Export contributions of ``args.results``, run modisco-lite and print its patterns."""
    from ..batch.run import read_results
    from .modisco import check_window, contributions_from_results, run_modisco
    results = Path(args.results)
    if not results.is_dir():
        raise ValueError(f"{results} is not a batch output folder (python -m scrambler_core batch ... --output DIR)")
    if args.max_seqlets < 1:
        raise ValueError(f"--max-seqlets must be at least 1, got {args.max_seqlets}")
    frame = read_results(results)
    column = next((c for c in ("ref_sequence", "sequence") if c in frame.columns), None)
    lengths = frame[column].dropna().str.len() if column else []
    if len(lengths) and lengths.max() > 0:       # a window that does not fit fails before ISM is computed
        check_window(int(lengths.max()), args.window)
    predictor = _predictor(args)
    x, hypothetical, what = contributions_from_results(frame, column=args.column, predictor=predictor,
                                                       source=results.name)
    print(f"modisco on {len(x)} sequences of {x.shape[1]} letters, scores: {what}", file=sys.stderr)
    out = run_modisco(x, hypothetical, args.output, max_seqlets=args.max_seqlets, window=args.window,
                      report=not args.no_report)
    patterns = out["patterns"]
    print(f"{len(patterns)} patterns in {out['h5']}" + ("" if patterns else " (no motif passed modisco's filters)"))
    for p in patterns:
        print(f"{p['pattern']}\t{p['n_seqlets']} seqlets\t{p['consensus']}")
    if out["report"]:
        print(f"report: {out['report']}")
    print(f"inputs: modisco motifs -s {out['ohe']} -a {out['contrib']} -n {args.max_seqlets} -w {out['window']}",
          file=sys.stderr)
