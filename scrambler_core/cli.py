"""Command line: ``python -m scrambler_core {explain,batch,attribute,benchmark,predict,train-predictor,train-scrambler}``.

Every command prints ``error: <reason>`` on one line and exits with status 2 on
bad input (a sequence, file or option that cannot be used).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from pathlib import Path

from .exports.cli import add_parsers, cmd_motifs, cmd_tracks

EXIT_BAD_INPUT = 2
# placeholders for the attribution method names in help texts, filled in by _MethodsHelp
_ALL_METHODS, _OTHER_METHODS = "<all methods>", "<methods but scrambler>"


class _MethodsHelp(argparse.HelpFormatter):
    """Writes the method names into a subcommand's help only when it is shown: building the parser
    (and ``--help``) must not import :mod:`scrambler_core.attribution`, which loads TensorFlow."""

    def _get_help_string(self, action):
        text = super()._get_help_string(action)
        if text and (_ALL_METHODS in text or _OTHER_METHODS in text):
            text = text.replace(_ALL_METHODS, ", ".join(_methods())).replace(
                _OTHER_METHODS, ", ".join(m for m in _methods() if m != "scrambler"))
        return text


_PREDICTOR_HELP = "built-in (utr5, polya, binder), published (optimus5, aparent2, ppi) or path to a .keras model"
_OUTPUT_HELP = "output .csv or .parquet (provenance in NAME.csv.provenance.json or the Parquet metadata), " \
               "or - for CSV on standard output"
_MODEL_PATH_HELP = ("weights file of a published predictor (optimus5, aparent2, ppi); "
                    "default: found in $SCRAMBLER_MODELS_DIR")


def _add_predictor_arguments(p, predictor_help: str = _PREDICTOR_HELP) -> None:
    """--predictor and --model-path, the same on every subcommand."""
    p.add_argument("--predictor", required=True, help=predictor_help)
    p.add_argument("--model-path", help=_MODEL_PATH_HELP)


def _parser():
    parser = argparse.ArgumentParser(
        prog="scrambler" if Path(sys.argv[0]).name == "scrambler" else "python -m scrambler_core",
        description="Scrambler networks: explain what a sequence model reads.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("explain", help="importance scores, PWMs and sample predictions for sequences",
                       description="Explain sequences with a pretrained (or given) scrambler. Writes one row "
                                   "per sequence: id, sequence, predictor, mode, objective, prediction and, for "
                                   "LABEL=scrambler_<bits>, LABEL_sample_prediction, LABEL_bits (realised), "
                                   "LABEL_faithful, LABEL_warning and the per-position LABEL_importance (CSV "
                                   "columns LABEL_importance_1..L, or a list column in Parquet).")
    _add_predictor_arguments(p)
    p.add_argument("--scrambler", help="path to a .keras scrambler (default: the pretrained one for --predictor)")
    p.add_argument("--mode", choices=("inclusion", "occlusion"), default="inclusion")
    p.add_argument("--target-bits", type=float, default=0.5, help="information budget, bits per position")
    p.add_argument("--n-samples", type=int, default=32, help="samples drawn from each PWM (default 32)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--input", required=True, help="FASTA (.fa/.fasta), CSV/TSV (column 'sequence') or .txt; - for stdin")
    p.add_argument("--column", default="sequence", help="sequence column of a CSV/TSV input")
    p.add_argument("--output", required=True, help=_OUTPUT_HELP)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--objective", choices=("reconstruct", "maximize", "minimize"), default="reconstruct",
                   help="maximize: positive features (what raises the prediction); minimize: negative features")
    p.add_argument("--drop", metavar="RANGES",
                   help="1-based positions no explanation may use, e.g. '60-66,101' (mask dropout: uses the "
                        "dropout-trained scrambler and shows the alternative explanation)")
    p.add_argument("--template", help="fixed positions: a string of length L, letters fixed, N free")
    p.add_argument("--optimise-steps", type=int, default=0, metavar="STEPS",
                   help="optimise each explanation per example for STEPS Adam steps (scrambler_core.refine; "
                        "1 + 8 x STEPS predictor calls per sequence): for predictors whose one-pass scrambler is not "
                        "faithful, e.g. aparent2. Columns are then scrambler_optimized_<bits>_...")
    p.add_argument("--architecture", choices=("siamese", "joint"), default="siamese",
                   help="pair predictors (binder; input CSV with sequence_a,sequence_b): which pair scrambler")

    p = sub.add_parser("batch", help="score thousands of sequences or VCF variants into a resumable Parquet dataset",
                       formatter_class=_MethodsHelp,
                       description="Score every sequence of a FASTA/CSV file, or every ALT allele of a VCF (windows "
                                   "cut from --fasta around each variant), with the scrambler and any attribution "
                                   "method. Writes a folder of Parquet shards plus _manifest.json; an interrupted run "
                                   "continues with --resume. Rows that cannot be scored are kept with status=error "
                                   "and the reason.")
    _add_predictor_arguments(p, _PREDICTOR_HELP + " (then also --scrambler)")
    p.add_argument("--scrambler", help="path to a .keras scrambler (default: the pretrained one)")
    p.add_argument("--input", required=True, help="FASTA (.fa/.fasta/.fna, .gz ok), CSV/TSV (column 'sequence', "
                                                  "optional 'id') or VCF/BCF (.vcf/.vcf.gz/.bcf, needs --fasta)")
    p.add_argument("--fasta", help="reference genome FASTA for a VCF input (indexed with pyfaidx)")
    p.add_argument("--anchor", type=int, help="VCF: window position (1-based) of the variant (default: the middle)")
    p.add_argument("--regions", help="VCF: BED6 regions (chrom, start, end, name, score, strand), each exactly L long: "
                                     "a variant is scored on the window of each region holding it, read 5'->3' on the "
                                     "region's strand (minus: reverse complement); a variant in no region is an "
                                     "error row")
    p.add_argument("--strict", action="store_true",
                   help="stop at the first bad row (exit status 2, 'error: FILE: line N: reason') instead of "
                        "keeping it as a row with status=error")
    p.add_argument("--column", default="sequence", help="sequence column of a CSV/TSV input")
    p.add_argument("--methods", default="scrambler", help="comma-separated: scrambler and/or " + _OTHER_METHODS)
    p.add_argument("--target-bits", default="0.5", help="comma-separated bits for the scrambler, e.g. 0.25,0.5,1.0")
    p.add_argument("--mode", choices=("inclusion", "occlusion"), default="inclusion")
    p.add_argument("--objective", choices=("reconstruct", "maximize", "minimize"), default="reconstruct")
    p.add_argument("--n-samples", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--option", action="append", default=[], metavar="METHOD.KEY=VALUE",
                   help="method option, e.g. integrated_gradients.steps=20 (repeatable)")
    p.add_argument("--batch-size", type=int, help="sequences per compiled call (default 64 on CPU, 512 on GPU)")
    p.add_argument("--shard-size", type=int, default=1024, help="rows per Parquet shard (the unit of --resume)")
    p.add_argument("--output", required=True, help="output folder, e.g. results.parquet (pandas.read_parquet reads it)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run into the same --output")
    p.add_argument("--overwrite", action="store_true", help="delete an earlier run in --output first")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: this process; ray: Ray Data actors (a local Ray instance, or --ray-address)")
    p.add_argument("--ray-address", help="an existing Ray cluster, e.g. ray://head:10001 or auto")
    p.add_argument("--workers", type=int, help="Ray actors holding the models (default: one per CPU or GPU)")
    p.add_argument("--csv", help="also write the results as one CSV file (importance spread to NAME_1..NAME_L); "
                                 "- for standard output")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("attribute", help="attribution scores by any method (ISM, IG, DeepSHAP, scrambler...)",
                       formatter_class=_MethodsHelp,
                       description="Score sequences with attribution methods. Writes one row per sequence: "
                                   "id, sequence, predictor, prediction and, per method, the per-position score "
                                   "on the observed letter, METHOD_importance (CSV columns "
                                   "METHOD_importance_1..L, or a list column in Parquet).")
    _add_predictor_arguments(p)
    p.add_argument("--methods", "--method", dest="methods", required=True,
                   help="comma-separated, any of: " + _ALL_METHODS)
    p.add_argument("--input", required=True, help="FASTA, CSV/TSV (column 'sequence') or .txt; - for stdin")
    p.add_argument("--column", default="sequence")
    p.add_argument("--output", required=True, help=_OUTPUT_HELP)
    p.add_argument("--option", action="append", default=[], metavar="METHOD.KEY=VALUE",
                   help="method option, e.g. integrated_gradients.steps=100, deepshap.references=shuffle "
                        "(repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=256, help="sequences per call (one progress step)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("benchmark", help="the paper's benchmarks: inclusion/occlusion KL, Table D recall, cost",
                       formatter_class=_MethodsHelp,
                       description="Run the inclusion/occlusion benchmark (top 20/10/5/2 %% kept or resampled, "
                                   "128 background samples, median divergence) and, for 50-nt 5'UTR "
                                   "predictors, the Table D uAUG/stop recall, for every method; writes kl.csv, "
                                   "kl.png, kl.svg, recall.csv, table_d.csv and cost.csv.")
    _add_predictor_arguments(p)
    p.add_argument("--benchmark", choices=("kl", "recall", "interface", "dropout", "features", "all"), default="all",
                   help="kl, recall (50-nt 5'UTR predictors), interface (binder: average precision of the true "
                        "interface residues), dropout / features (polya: alternative explanations, positive and "
                        "negative features); all: what applies to the predictor")
    p.add_argument("--methods", default="all", help="comma-separated methods (default: all): " + _ALL_METHODS)
    p.add_argument("--n", type=int, default=256, help="test sequences for the KL benchmark (default 256)")
    p.add_argument("--n-recall", type=int, default=512, help="sequences per uORF setting (default 512)")
    p.add_argument("--n-samples", type=int, default=128, help="background samples per sequence (default 128)")
    p.add_argument("--n-per-example", type=int, default=64,
                   help="sequences per set for scrambler_optimized / scrambler_finetuned (default 64; they "
                        "cost samples x steps predictor calls per sequence)")
    p.add_argument("--input", help="KL test sequences (FASTA/CSV/txt; default: held-out built-in sequences)")
    p.add_argument("--column", default="sequence")
    p.add_argument("--target-bits", type=float,
                   help="inclusion scrambler (and fine-tuning start): bits to rank at (default 0.1); occlusion "
                        "runs use 1.8 unless --option scrambler.target_bits=... is given")
    p.add_argument("--steps", type=int, help="per-example optimisation / fine-tuning steps (default 300)")
    p.add_argument("--penalty-weight", type=float,
                   help="per-example optimisation / fine-tuning hinge penalty weight (default 5)")
    p.add_argument("--option", action="append", default=[], metavar="METHOD.KEY=VALUE",
                   help="any method option, e.g. integrated_gradients.steps=100 (repeatable)")
    p.add_argument("--output-dir", required=True)
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("predict", help="predictions of a predictor for sequences (or pairs, for ppi and binder)")
    _add_predictor_arguments(p)
    p.add_argument("--input", required=True,
                   help="FASTA/CSV/TSV/txt; for a pair predictor (ppi, binder) a CSV/TSV with two sequence columns")
    p.add_argument("--column", default="sequence",
                   help="sequence column of a CSV/TSV; for a pair predictor two columns 'A,B' "
                        "(default sequence_a,sequence_b)")
    p.add_argument("--output", required=True, help=_OUTPUT_HELP)
    p.add_argument("--batch-size", type=int, default=4096, help="sequences per call (one progress step)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("train-predictor", help="train a built-in predictor on its synthetic grammar",
                       description="Train utr5, polya or the pair predictor binder on its grammar "
                                   "(scrambler_core.synthetic) with a fixed seed; writes NAME.keras and the model "
                                   "card NAME.json.")
    p.add_argument("name", choices=("utr5", "polya", "binder"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output-dir", default=None, help="default: the package's pretrained/ folder")
    p.add_argument("--n-train", type=int)
    p.add_argument("--n-test", type=int)
    p.add_argument("--epochs", type=int)

    p = sub.add_parser("train-scrambler", help="train a (bits-conditioned) scrambler for a predictor",
                       description="Train a scrambler. For built-in predictors the data and settings default to "
                                   "those of the committed pretrained scramblers (scrambler_core.scrambler.recipes).")
    _add_predictor_arguments(p)
    p.add_argument("--mode", choices=("inclusion", "occlusion"), default="inclusion")
    p.add_argument("--input", help="training sequences (FASTA/CSV/txt); required for a model given by path")
    p.add_argument("--output", help="output .keras (default: pretrained/PREDICTOR_MODE.keras)")
    p.add_argument("--fixed-bits", type=float, default=None,
                   help="train for one target instead of a bits-conditioned network")
    p.add_argument("--epochs", type=int)
    p.add_argument("--n-train", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--penalty-weight", type=float)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--time-limit", type=float, help="stop after this many seconds (a checkpoint is kept)")
    p.add_argument("--checkpoint", help="checkpoint path; an interrupted run resumes from it")
    p.add_argument("--stage", type=int, help="recipes trained in stages: run from stage K on, starting from the "
                                             "network already at --output (default: every stage)")
    p.add_argument("--objective", choices=("reconstruct", "maximize", "minimize"), default="reconstruct",
                   help="reconstruct the prediction (default), or find only what raises (maximize: positive "
                        "features) or lowers it (minimize: negative features)")
    p.add_argument("--dropout", choices=("uniform", "biased"),
                   help="train with mask dropout so explain(..., drop=mask) finds alternative explanations")
    p.add_argument("--architecture", choices=("siamese", "joint"),
                   help="pair predictors (binder): one network per chain (siamese, default) or one seeing both")
    p.add_argument("--template", help="fixed positions (constant regions such as a reporter's flanks): a string "
                                      "of length L, letters fixed, N free; the scrambler keeps them and leaves "
                                      "them out of the bits budget")

    p = sub.add_parser("calibrate-scrambler", help="re-calibrate a built-in scrambler's bits channel and "
                                                   "re-measure it (rewrites the file and its card)")
    p.add_argument("path", help="a scrambler .keras file for a built-in predictor")
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("first-view", help="precompute the app's first Explore view of a built-in "
                                          "(pretrained/NAME_MODE_first_view.npz)")
    p.add_argument("--predictor", default="utr5")
    p.add_argument("--mode", choices=("inclusion", "occlusion"), default="inclusion")
    p.add_argument("--output-dir", help="default: pretrained/")
    add_parsers(sub)        # tracks, motifs (scrambler_core.exports)
    return parser


def _methods():
    from .attribution import METHODS
    return METHODS


def _version() -> str:
    from . import __version__
    return __version__


def _parse_value(text):
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def _parse_options(pairs, with_method=False):
    """``KEY=VALUE`` (or ``METHOD.KEY=VALUE``) strings to a dict (of dicts)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"option {pair!r} must look like {'METHOD.' if with_method else ''}KEY=VALUE")
        if with_method:
            method, dot, key = key.partition(".")
            if not dot or method not in _methods():
                raise ValueError(f"option {pair!r} must look like METHOD.KEY=VALUE with METHOD one of "
                                 f"{', '.join(_methods())}")
            out.setdefault(method, {})[key] = _parse_value(value)
        else:
            out[key] = _parse_value(value)
    return out


def _read_input(path, predictor, column):
    from .sequences import parse_text, read_sequences
    if path == "-":
        return parse_text(sys.stdin.read(), predictor.alphabet, length=predictor.sequence_length)
    if not Path(path).exists():
        raise FileNotFoundError(f"input file not found: {path}")
    return read_sequences(path, predictor.alphabet, length=predictor.sequence_length, column=column)


def _given_by_path(name) -> bool:
    """True when --predictor names a file (has a suffix), not a built-in or published model."""
    from .predictors.registry import BUILTIN_PREDICTORS, EXTERNAL_PREDICTORS
    return name not in BUILTIN_PREDICTORS + EXTERNAL_PREDICTORS and bool(Path(name).suffix)


def _provenance(predictor, scrambler=None, **settings) -> dict:
    """The provenance record of a command's output (see scrambler_core.provenance)."""
    from .provenance import command_line, provenance
    return provenance(predictor, scrambler, settings=settings, command=command_line())


def _say(message, output) -> None:
    """A closing line on standard error (standard output may hold the CSV)."""
    print(f"{message} -> {'standard output' if str(output) == '-' else output}", file=sys.stderr)


def _single_predictor(args):
    """The predictor named by --predictor (and --model-path); pair predictors are refused with the reason."""
    from .predictors.registry import load_predictor
    predictor = load_predictor(args.predictor, path=getattr(args, "model_path", None))
    if predictor.is_pair:
        raise ValueError(f"{predictor.name} is a pair predictor; `{args.command}` takes single-sequence "
                         "predictors (pairs: use `predict` with a two-column CSV)")
    return predictor


def _read_pairs(path, columns):
    """id, chain a, chain b from a CSV/TSV with two sequence columns ('A,B'; default sequence_a,sequence_b)."""
    import pandas as pd
    names = [c.strip() for c in (columns if "," in columns else "sequence_a,sequence_b").split(",")]
    if len(names) != 2:
        raise ValueError(f"--column for a pair predictor must name two columns 'A,B', got {columns!r}")
    if not Path(path).is_file():
        raise FileNotFoundError(f"input file not found: {path}")
    sep = "\t" if Path(path).suffix == ".tsv" else None
    try:
        table = pd.read_csv(path, sep=sep, engine="python", dtype=str)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise ValueError(f"{Path(path).name} is not a readable CSV/TSV table ({str(err).splitlines()[0]})") from None
    missing = [c for c in names if c not in table.columns]
    if missing:
        raise ValueError(f"{Path(path).name} has no column {missing[0]!r}; its columns are "
                         f"{', '.join(map(str, table.columns[:8]))}")
    ids = table["id"] if "id" in table.columns else [f"pair_{k + 1}" for k in range(len(table))]
    return pd.DataFrame({"id": ids, names[0]: table[names[0]].fillna(""), names[1]: table[names[1]].fillna("")})


def cmd_explain(args):
    from .predictors.registry import load_predictor
    from .scrambler.explain import load_scrambler
    from .scrambler.maths import drop_mask_from_ranges
    from .tables import check_output

    check_output(args.output)
    if not args.scrambler and _given_by_path(args.predictor):
        raise ValueError("--scrambler is required for a predictor given by path "
                         "(train one with: python -m scrambler_core train-scrambler)")
    if args.optimise_steps < 0 or (args.optimise_steps and (args.drop or args.template)):
        raise ValueError("--optimise-steps must be >= 0 and cannot be combined with --drop or --template")
    if load_predictor(args.predictor, path=args.model_path).is_pair:
        if args.optimise_steps:
            raise ValueError("--optimise-steps explains single sequences, not pairs")
        return _explain_pairs(args)
    predictor = _single_predictor(args)
    scrambler = load_scrambler(args.scrambler or args.predictor, mode=args.mode, predictor=predictor,
                               objective=args.objective, dropout=bool(args.drop) and not args.scrambler)
    drop = drop_mask_from_ranges(args.drop, predictor.sequence_length) if args.drop else None
    records = _read_input(args.input, predictor, args.column)
    ex = _explain_in_chunks(scrambler, [r[1] for r in records], args, drop)
    _write_explanation([r[0] for r in records], ex, scrambler, args)
    _say(f"explained {len(records)} sequences with {predictor.name} ({args.mode}, {args.target_bits} bits)",
         args.output)


def _explain_in_chunks(scrambler, seqs, args, drop):
    """``scrambler.explain`` (or, with --optimise-steps, ``refine.optimise_explanation``) over chunks of
    --batch-size, with a progress bar when there are several chunks or an optimisation."""
    import numpy as np
    from tqdm.auto import tqdm

    from .refine import optimise_explanation

    def one(part, start):
        if args.optimise_steps:
            return optimise_explanation(scrambler, part, args.target_bits, steps=args.optimise_steps,
                                        explain_samples=args.n_samples, seed=args.seed + start)
        return scrambler.explain(part, target_bits=args.target_bits, n_samples=args.n_samples, seed=args.seed + start,
                                 drop=drop, template=args.template, return_samples=False)

    chunk = max(1, args.batch_size)
    parts = [one(seqs[start:start + chunk], start)
             for start in tqdm(range(0, len(seqs), chunk), desc="optimise" if args.optimise_steps else "explain",
                               unit="batch", disable=len(seqs) <= chunk and not args.optimise_steps, file=sys.stderr)]
    first = parts[0]
    joined = {name: np.concatenate([getattr(p, name) for p in parts])
              for name in ("importance", "prediction", "sample_predictions", "conservation")}
    faithful = np.concatenate([p.faithfulness.faithful for p in parts])
    warnings = [w for p in parts for w in p.faithfulness.warnings]
    return dict(joined, sequences=seqs, mean_sample_prediction=joined["sample_predictions"].mean(1),
                faithful=faithful, warnings=warnings, target_bits=first.target_bits)


def _write_explanation(ids, ex, scrambler, args) -> None:
    """The explain table in the shared column scheme (scrambler_core.tables) with its provenance."""
    import pandas as pd

    from .tables import method_label, result_column, with_positions, write_table
    label = method_label("scrambler_optimized" if args.optimise_steps else "scrambler", ex["target_bits"])
    frame = pd.DataFrame({
        "id": ids, "sequence": ex["sequences"], "predictor": scrambler.predictor.name, "mode": args.mode,
        "objective": args.objective, "prediction": ex["prediction"],
        result_column(label, "sample_prediction"): ex["mean_sample_prediction"],
        result_column(label, "bits"): ex["conservation"], result_column(label, "faithful"): ex["faithful"],
        result_column(label, "warning"): ex["warnings"]})
    frame = with_positions(frame, ex["importance"], result_column(label, "importance"), args.output)
    write_table(frame, args.output, _provenance(
        scrambler.predictor, scrambler, command="explain", mode=args.mode, objective=args.objective,
        target_bits=args.target_bits, n_samples=args.n_samples, seed=args.seed, drop=args.drop,
        template=args.template, optimise_steps=args.optimise_steps, input=args.input))


def cmd_batch(args):
    from .batch.run import read_results, results_to_csv, run_batch
    from .provenance import command_line

    def numbers(text, what):
        try:
            return tuple(float(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise ValueError(f"--{what} must be comma-separated numbers, got {text!r}") from None

    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    manifest = run_batch(args.input, args.output, args.predictor, fasta=args.fasta, methods=methods,
                         target_bits=numbers(args.target_bits, "target-bits"), n_samples=args.n_samples,
                         seed=args.seed, mode=args.mode, objective=args.objective, model_path=args.model_path,
                         scrambler=args.scrambler, column=args.column, anchor=args.anchor,
                         method_options=_parse_options(args.option, with_method=True),
                         batch_size=args.batch_size, shard_size=args.shard_size, engine=args.engine,
                         ray_address=args.ray_address, workers=args.workers, resume=args.resume,
                         overwrite=args.overwrite, progress=not args.no_progress, regions=args.regions,
                         strict=args.strict, command=command_line())
    if args.csv == "-":
        results_to_csv(read_results(args.output), sys.stdout)
    elif args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(args.csv).with_name(f".{Path(args.csv).name}.tmp")
        results_to_csv(read_results(args.output), tmp)
        tmp.replace(args.csv)
    counts = ", ".join(f"{v} {k}" for k, v in manifest["status_counts"].items())
    rate = manifest["rows_per_second"]
    print(f"batch: {manifest['rows']} rows ({counts}) in {len(manifest['shards'])} shards"
          f"{f', {rate:.1f} rows/s' if rate else ''}; {manifest['shards_scored_this_run']} shards scored this run"
          f" -> {args.output}", file=sys.stderr)


def _explain_pairs(args):
    """``explain`` for a pair predictor: CSV with two sequence columns in, per-chain importance out."""
    from .predictors.registry import load_predictor
    from .scrambler.explain import load_scrambler
    from .scrambler.maths import drop_mask_from_ranges
    from .tables import method_label, result_column, with_positions, write_table

    predictor = load_predictor(args.predictor, path=args.model_path)
    if args.template:
        raise ValueError("--template is for single-sequence predictors")
    scrambler = load_scrambler(args.scrambler or args.predictor, mode=args.mode, objective=args.objective,
                               predictor=predictor, architecture=None if args.scrambler else args.architecture,
                               dropout=bool(args.drop) and not args.scrambler)
    drop = drop_mask_from_ranges(args.drop, scrambler.network.sequence_length) if args.drop else None
    frame = _read_pairs(args.input, args.column)
    pairs = list(zip(frame.iloc[:, 1], frame.iloc[:, 2]))
    ex = scrambler.explain(pairs, target_bits=args.target_bits, n_samples=args.n_samples, seed=args.seed,
                           batch_size=args.batch_size, drop=drop)
    label = method_label("scrambler", ex.target_bits)
    frame["predictor"], frame["mode"], frame["architecture"] = predictor.name, args.mode, args.architecture
    frame["prediction"] = ex.prediction
    frame[result_column(label, "sample_prediction")] = ex.mean_sample_prediction
    frame[result_column(label, "bits")] = ex.conservation
    frame[result_column(label, "faithful")] = ex.faithfulness.faithful
    frame[result_column(label, "warning")] = ex.faithfulness.warnings
    importance_a, importance_b = ex.chains(ex.importance)
    frame = with_positions(frame, importance_a, result_column(label, "importance_a"), args.output)
    frame = with_positions(frame, importance_b, result_column(label, "importance_b"), args.output)
    write_table(frame, args.output, _provenance(predictor, scrambler, command="explain", mode=args.mode,
                                                target_bits=args.target_bits, n_samples=args.n_samples,
                                                seed=args.seed, architecture=args.architecture, input=args.input))
    _say(f"explained {len(pairs)} pairs with {predictor.name} ({args.architecture} {args.mode}, "
         f"{args.target_bits} bits)", args.output)


def cmd_attribute(args):
    import pandas as pd

    from .attribution import method_options
    from .tables import check_output, method_label, result_column, with_positions, write_table

    check_output(args.output)
    methods = _method_list(args.methods)
    options = _parse_options(args.option, with_method=True)
    for method in options:
        if method not in methods:
            raise ValueError(f"--option {method}.… is for {method}, which is not among --methods {args.methods}")
    for method in methods:
        if "seed" in method_options(method):
            options.setdefault(method, {}).setdefault("seed", args.seed)
    predictor = _single_predictor(args)
    records = _read_input(args.input, predictor, args.column)
    seqs = [r[1] for r in records]
    frame = pd.DataFrame({"id": [r[0] for r in records], "sequence": seqs, "predictor": predictor.name,
                          "prediction": _predict_in_chunks(predictor, seqs, args)})
    notes = []
    for method in methods:
        scores, info = _attribute_in_chunks(predictor, seqs, method, options.get(method, {}), args)
        frame = with_positions(frame, scores, result_column(method_label(method), "importance"), args.output)
        notes.append(f"{method}: {info['calls']:.0f} predictor calls, {1000 * info['seconds'] / len(seqs):.1f} ms "
                     "per sequence")
    write_table(frame, args.output, _provenance(predictor, command="attribute", methods=list(methods),
                                                options=options, seed=args.seed, input=args.input))
    print("; ".join(notes), file=sys.stderr)
    _say(f"attributed {len(seqs)} sequences with {predictor.name}", args.output)


def _method_list(text) -> tuple:
    """--methods 'ism,saliency' as a tuple, every name checked (the message lists the methods)."""
    methods = tuple(dict.fromkeys(m.strip() for m in str(text).split(",") if m.strip()))
    unknown = [m for m in methods if m not in _methods()]
    if not methods or unknown:
        raise ValueError(f"unknown method {unknown[0]!r}; choose from {', '.join(_methods())}" if unknown
                         else "--methods is empty")
    return methods


def _attribute_in_chunks(predictor, seqs, method, options, args):
    """Observed-letter scores (N, L) of one method over chunks of --batch-size, with a progress bar."""
    import numpy as np
    from tqdm.auto import tqdm

    from .attribution import attribute
    chunk = max(1, args.batch_size)
    parts, calls, seconds = [], 0.0, 0.0
    for start in tqdm(range(0, len(seqs), chunk), desc=method, unit="batch", file=sys.stderr,
                      disable=args.no_progress or len(seqs) <= chunk):
        importance, info = attribute(predictor, seqs[start:start + chunk], method, return_info=True, **options)
        parts.append(importance.sum(-1))
        calls, seconds = calls + info["predictor_calls"], seconds + info["seconds"]
    return np.concatenate(parts), {"calls": calls, "seconds": seconds}


def _predict_in_chunks(predictor, inputs, args):
    """``predictor.predict`` over chunks of --batch-size, with a progress bar when there are several."""
    import numpy as np
    from tqdm.auto import tqdm
    chunk = max(1, args.batch_size)
    return np.concatenate([np.asarray(predictor.predict(inputs[start:start + chunk])).reshape(-1)
                           for start in tqdm(range(0, len(inputs), chunk), desc="predict", unit="batch",
                                             file=sys.stderr,
                                             disable=args.no_progress or len(inputs) <= chunk)])


def cmd_benchmark(args):
    from tqdm.auto import tqdm

    from .attribution import METHODS
    from .benchmarks import run_benchmarks

    methods = list(METHODS) if args.methods == "all" else [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    options = _parse_options(args.option, with_method=True)
    if args.target_bits is not None:     # inclusion runs only; occlusion keeps its own default (1.8)
        options.setdefault("scrambler@inclusion", {})["target_bits"] = args.target_bits
        options.setdefault("scrambler_finetuned@inclusion", {})["start_bits"] = args.target_bits
    for m in ("scrambler_optimized", "scrambler_finetuned"):
        if args.steps is not None:
            options.setdefault(m, {}).setdefault("steps", args.steps)
        if args.penalty_weight is not None:
            options.setdefault(m, {}).setdefault("penalty_weight", args.penalty_weight)
    for m in methods:
        options.setdefault(m, {}).setdefault("seed", args.seed)
    from .predictors.registry import load_predictor
    predictor = load_predictor(args.predictor, path=args.model_path)
    pair = predictor.is_pair
    if args.benchmark in ("interface", "all") and pair:
        if predictor.name != "binder":
            raise ValueError(f"{predictor.name} is a pair predictor without a known grammar; the interface "
                             "benchmark runs on the built-in binder")
        which = ("interface",)
        if args.methods == "all":
            from .benchmarks import INTERFACE_METHODS
            methods = list(INTERFACE_METHODS)
    elif args.benchmark == "interface":
        raise ValueError("the interface benchmark is for the pair predictor binder (--predictor binder)")
    else:
        predictor = _single_predictor(args)
        which = ("kl", "recall") if args.benchmark == "all" else (args.benchmark,)
        if args.benchmark == "all" and predictor.name == "polya":
            which = ("kl", "dropout", "features")
    if set(which) & {"dropout", "features"} and predictor.name != "polya":
        raise ValueError(f"the dropout and features benchmarks use the polya grammar; {predictor.name} has none")
    test_sequences = None
    if args.input and not pair:
        test_sequences = [r[1] for r in _read_input(args.input, predictor, args.column)]
    if "recall" in which and (predictor.sequence_length != 50 or predictor.alphabet.size != 4):
        if args.benchmark == "recall":
            raise ValueError(f"the Table D recall benchmark needs a 50-nt DNA 5'UTR predictor; {predictor.name} "
                             f"reads {predictor.sequence_length} letters")
        which = ("kl",)
    bar = tqdm(desc=f"benchmark {predictor.name}", unit="run", file=sys.stderr, mininterval=1)

    def progress(text):
        bar.set_postfix_str(text)
        bar.update(1)

    results = run_benchmarks(predictor, args.output_dir, which=which, methods=methods, n=args.n,
                             n_recall=args.n_recall, n_samples=args.n_samples, seed=args.seed,
                             n_per_example=args.n_per_example,
                             method_options=options, test_sequences=test_sequences, progress=progress)
    bar.close()
    import pandas as pd
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.precision", 4):
        if "kl" in results:
            kl = results["kl"].pivot_table(index="method", columns=["benchmark", "top_fraction"], values="median",
                                           sort=False)
            print("\nInclusion / occlusion: median divergence (inclusion: lower is better; occlusion: higher)")
            print(kl.to_string())
        if "table_d" in results:
            print("\nTable D (top-6 recall of a whole uAUG / stop codon), measured beside the paper's")
            print(results["table_d"].to_string(index=False))
        for key, title in (("interface", "Interface residues: mean average precision (binder grammar)"),
                           ("dropout", "Mask dropout: top positions without / with the best PAS dropped"),
                           ("features", "Positive / negative features: top positions on raising / lowering elements")):
            if key in results:
                print(f"\n{title}")
                print(results[key].to_string(index=False))
        if "cost" in results:
            print("\nCost per sequence (ratios to the scrambler)")
            print(results["cost"].to_string(index=False))
    print(f"\nwrote {args.output_dir} in {results['seconds']:.0f} s", file=sys.stderr)


def cmd_predict(args):
    import pandas as pd

    from .predictors.registry import load_predictor
    from .tables import check_output, write_table
    check_output(args.output)
    predictor = load_predictor(args.predictor, path=args.model_path)
    if predictor.is_pair:
        frame = _read_pairs(args.input, args.column)
        frame["predictor"] = predictor.name
        frame["prediction"] = _predict_in_chunks(predictor, list(zip(frame.iloc[:, 1], frame.iloc[:, 2])), args)
    else:
        records = _read_input(args.input, predictor, args.column)
        seqs = [r[1] for r in records]
        frame = pd.DataFrame({"id": [r[0] for r in records], "sequence": seqs, "predictor": predictor.name,
                              "prediction": _predict_in_chunks(predictor, seqs, args)})
    write_table(frame, args.output, _provenance(predictor, command="predict", input=args.input))
    _say(f"predicted {len(frame)} {'pairs' if predictor.is_pair else 'sequences'} with {predictor.name}",
         args.output)


def cmd_train_predictor(args):
    from .paths import PRETRAINED_DIR
    from .predictors.training import train_predictor
    card = train_predictor(args.name, output_dir=args.output_dir or PRETRAINED_DIR, seed=args.seed,
                           n_train=args.n_train, n_test=args.n_test, epochs=args.epochs, verbose=2)
    print(json.dumps(card["metrics_held_out"], indent=2))


def cmd_train_scrambler(args):
    from .predictors.registry import load_predictor
    from .scrambler.recipes import train_scrambler_cli
    if not _given_by_path(args.predictor):
        load_predictor(args.predictor, path=args.model_path)   # an unknown name: the message lists the known ones
    elif not args.input:
        raise ValueError("--input (training sequences) is required for a predictor given by path")
    card = train_scrambler_cli(args.predictor, mode=args.mode, output=args.output, input_path=args.input,
                               model_path=args.model_path,
                               fixed_bits=args.fixed_bits, epochs=args.epochs, n_train=args.n_train,
                               learning_rate=args.learning_rate, penalty_weight=args.penalty_weight,
                               seed=args.seed, time_limit=args.time_limit, checkpoint=args.checkpoint,
                               objective=args.objective, dropout=args.dropout, architecture=args.architecture,
                               template=args.template, stage=args.stage)
    print(json.dumps(card["metrics_held_out"], indent=2))


def cmd_calibrate_scrambler(args):
    from .scrambler.recipes import calibrate_scrambler_file
    card = calibrate_scrambler_file(args.path, seed=args.seed)
    print(json.dumps(card["metrics_held_out"], indent=2))


def cmd_first_view(args):
    from .scrambler.first_view import write_first_view
    path = write_first_view(args.predictor, args.mode, args.output_dir)
    print(f"first view of {args.predictor} ({args.mode}) -> {path}", file=sys.stderr)


COMMANDS = {"explain": cmd_explain, "batch": cmd_batch, "attribute": cmd_attribute, "benchmark": cmd_benchmark,
            "predict": cmd_predict, "train-predictor": cmd_train_predictor, "train-scrambler": cmd_train_scrambler,
            "calibrate-scrambler": cmd_calibrate_scrambler, "first-view": cmd_first_view,
            "tracks": cmd_tracks, "motifs": cmd_motifs}


def main(argv=None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    started = time.time()
    try:
        COMMANDS[args.command](args)
    # SequenceError and predictors.ModelFileError are ValueErrors (importing the latter here would load TensorFlow)
    except (ValueError, OSError, EOFError, zlib.error) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        hint = "; the shards written so far are kept: rerun with --resume" if args.command == "batch" else ""
        print(f"error: interrupted{hint}", file=sys.stderr)
        return 130
    if args.command.startswith("train"):
        print(f"done in {time.time() - started:.0f} s", file=sys.stderr)
    return 0
