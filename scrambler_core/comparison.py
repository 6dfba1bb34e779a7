"""Glue for comparing attribution methods side by side and for running the benchmarks in a browser.

UI-free: the Compare and Benchmarks pages of the app call these functions; they only
use :func:`scrambler_core.attribution.attribute` and :mod:`scrambler_core.benchmarks`.

>>> from scrambler_core import comparison, load_predictor
>>> pred = load_predictor("utr5")
>>> results = comparison.compare_methods(pred, "ACGT" * 12 + "AC", ["ism", "saliency"])
>>> comparison.cost_table(results)[["method", "predictor_calls"]].values.tolist()
[['ism', 151], ['saliency', 1]]
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .attribution import DEFAULT_SCRAMBLER_BITS, METHODS, PER_EXAMPLE_METHODS, attribute, method_options

# The methods whose cost does not grow with an optimisation loop: shown by default.
FAST_METHODS = ("scrambler", "saliency", "gradient_x_input", "integrated_gradients", "deeplift", "deepshap",
                "ism")
# Per-example optimisation: 1 + S x steps predictor calls per sequence (seconds per sequence).
SCRAMBLER_METHODS = ("scrambler",) + PER_EXAMPLE_METHODS
# Methods that score a position: the score sits on the observed letter, zero elsewhere.
OBSERVED_LETTER_METHODS = ("ism",) + SCRAMBLER_METHODS
# Methods whose map gives every letter a value (drawn in the "all letters" view).
ALL_LETTER_METHODS = ("saliency", "integrated_gradients", "deeplift", "deepshap")
# What a logo row draws: the observed letter's score (the paper's and tangermeme's logos: x · attribution),
# or the method's whole (L, A) map (every letter: the hypothetical contributions; ISM: every substitution).
VIEWS = ("observed", "all")

# Human names of the methods (row titles, pickers, the CLI); the identifiers stay in links and CSVs.
METHOD_NAMES = {
    "ism": "In-silico mutagenesis (ISM)",
    "saliency": "Saliency",
    "gradient_x_input": "Gradient × input",
    "integrated_gradients": "Integrated gradients",
    "deeplift": "DeepLIFT",
    "deepshap": "DeepSHAP",
    "scrambler": "Scrambler (pretrained)",
    "scrambler_optimized": "Scrambler (per-example optimised)",
    "scrambler_finetuned": "Scrambler (per-example fine-tuned)",
    "continuous_mean": "Continuous mask, mean background (ablation)",
    "continuous_zero": "Continuous mask, no background (ablation)",
    "continuous_random": "Continuous mask, random background (ablation)",
    "zero_mask": "Sigmoid mask, zeroed letters (L2X / INVASE style)",
    "random_mask": "Sigmoid mask, random letters",
}

# One line per method: what it measures, and its cost in predictor calls per sequence.
METHOD_NOTES = {
    "scrambler": ("the pretrained scrambler's importance: how much of each letter must be kept (inclusion) or "
                  "scrambled (occlusion) at the bits budget",
                  "0 predictor calls: one pass of the scrambler network (a gradient-guided network, e.g. "
                  "APARENT2's inclusion scrambler: 1 forward + backward pass more)"),
    "saliency": ("the gradient df/dx of the output for every letter: how the output moves if that letter's "
                 "channel grew a little",
                 "1 forward + backward pass"),
    "gradient_x_input": ("the gradient on your letter only (x · df/dx)", "1 forward + backward pass"),
    "integrated_gradients": ("(x − b) times the gradient averaged on the straight path from the background "
                             "PWM b to your sequence; the scores add up to f(x) − f(b)",
                             "steps + 2 (50 gradient steps by default)"),
    "deeplift": ("DeepLIFT rescale rule: each letter's contribution to f(x) − f(b) relative to the "
                 "background PWM b, propagated layer by layer",
                 "2 (the sequence and the baseline)"),
    "deepshap": ("DeepLIFT averaged over dinucleotide-shuffled references", "2R (R = 20 references)"),
    "ism": ("in-silico mutagenesis: how much the observed letter raises the output over the mean of the A − 1 "
            "substitutions, f(x) − mean f(mutant) (or every substitution's raw change f(mutant) − f(x))",
            "1 + L(A − 1): every single-letter mutant"),
    "scrambler_optimized": ("per-example optimisation from scratch of the scrambler's objective for this "
                            "sequence alone",
                            "1 + S × steps (32 samples × 300 steps = 9,601): seconds per sequence"),
    "scrambler_finetuned": ("the pretrained scrambler's scores fine-tuned for this sequence (they can only "
                            "go down)",
                            "1 + S × steps (32 samples × 300 steps = 9,601): seconds per sequence"),
    "continuous_mean": ("ablation: per-example scores, but the predictor sees one continuous blend m·x + (1 − m)·"
                        "background instead of samples (Fig S5C 'Cont. Mean Bg')",
                        "1 + steps (301)"),
    "continuous_zero": ("ablation: a continuous mask m·x with zeros elsewhere, no background (Fig S5C 'Cont. No Bg')",
                        "1 + steps (301)"),
    "continuous_random": ("ablation: m·x + (1 − m)·random letters (Fig S5C 'Cont. Rand Bg')",
                          "1 + S × steps (9,601)"),
    "zero_mask": ("scrambler-like baseline 'Zero' (L2X/INVASE style): a sigmoid mask with an L1 budget, masked "
                  "letters set to zero", "1 + steps (301)"),
    "random_mask": ("scrambler-like baseline 'Rand': a sigmoid mask, masked letters replaced by random letters",
                    "1 + S × steps (9,601)"),
}


# ============================================================================ one method on one sequence

@dataclass
class MethodResult:
    """One attribution method's answer for one sequence.

    Attributes
    ----------
    method : str
    options : dict — the options passed to :func:`~scrambler_core.attribution.attribute` (without
        a ``scrambler`` object, so the result pickles small)
    importance : np.ndarray (L, A) — the method's map (score on the observed letter for
        position methods, a value per letter for gradient methods)
    predictor_calls : int — sequences passed through the predictor, as the method reports
    seconds : float — wall time of the attribution
    extras : dict — ``changes`` (L, A) for ISM, ``completeness_error`` for integrated
        gradients, ``delta`` (f(x) − f(baseline)) for DeepLIFT / DeepSHAP, ``mean_bits`` for
        the per-example methods
    """

    method: str
    options: dict
    importance: np.ndarray
    predictor_calls: int
    seconds: float
    extras: dict = field(default_factory=dict)


def scrambler_options(method, *, mode="inclusion", target_bits=None, steps=None) -> dict:
    """Options for ``method`` from the Compare page's scrambler settings.

    Parameters
    ----------
    method : str — one of :data:`~scrambler_core.attribution.METHODS`
    mode : {"inclusion", "occlusion"} — the scrambler used by the three scrambler methods
    target_bits : float, optional — the scrambler's bits budget (``scrambler`` only; default
        0.1 for inclusion, 1.8 for occlusion)
    steps : int, optional — optimisation steps of the per-example methods (default 300)

    Returns
    -------
    dict — options for :func:`~scrambler_core.attribution.attribute` (empty for the baselines)
    """
    if method not in METHODS:
        raise ValueError(f"unknown attribution method {method!r}; choose one of {', '.join(METHODS)}")
    if method not in SCRAMBLER_METHODS:
        return {}
    options = {"mode": mode} if "mode" in method_options(method) else {}
    if method == "scrambler":
        options["target_bits"] = round(float(DEFAULT_SCRAMBLER_BITS[mode] if target_bits is None else target_bits),
                                       4)
    elif steps is not None:
        options["steps"] = int(steps)
    return options


def run_method(predictor, sequence, method, options=None) -> MethodResult:
    """Attribute one sequence with one method.

    Parameters
    ----------
    predictor : Predictor
    sequence : str or np.ndarray (L, A)
    method : str
    options : dict, optional — method options (see :func:`~scrambler_core.attribution.method_options`)

    Returns
    -------
    MethodResult

    Raises
    ------
    SequenceError
        When the sequence does not fit the predictor.
    """
    options = dict(options or {})
    importance, info = attribute(predictor, [sequence] if isinstance(sequence, str) else sequence, method,
                                 return_info=True, **options)
    extras = {}
    if "changes" in info:
        extras["changes"] = np.asarray(info["changes"][0], np.float32)
    for key in ("completeness_error", "delta", "mean_bits"):
        if key in info:
            extras[key] = float(np.asarray(info[key]).reshape(-1)[0])
    kept = {k: v for k, v in options.items() if k != "scrambler"}   # not the scrambler object itself
    return MethodResult(method=method, options=kept, importance=np.asarray(importance[0], np.float32),
                        predictor_calls=int(info["predictor_calls"]), seconds=float(info["seconds"]),
                        extras=extras)


def compare_methods(predictor, sequence, methods, options=None, *, run=None) -> dict:
    """Attribute one sequence with several methods.

    Parameters
    ----------
    predictor : Predictor
    sequence : str
    methods : sequence of str
    options : dict, optional — ``{method: options}``
    run : callable(method, options) -> MethodResult, optional — how to run one method (the
        app passes a cached version); default :func:`run_method` on ``predictor`` and ``sequence``

    Returns
    -------
    dict — ``{method: MethodResult}`` in the order of ``methods``
    """
    options = options or {}
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown attribution method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    if run is None:
        def run(method, opts):
            return run_method(predictor, sequence, method, opts)
    return {method: run(method, dict(options.get(method, {}))) for method in methods}


# ============================================================================ what to draw

def expected_predictor_calls(method, length, size, options=None) -> int:
    """Predictor calls per sequence a method makes, from its options (the formula in the README).

    Parameters
    ----------
    method : str
    length, size : int — L and A
    options : dict, optional

    Returns
    -------
    int
    """
    opts = {**method_options(method), **(options or {})}
    if method == "ism":
        return 1 + length * (size - 1)
    if method in ("saliency", "gradient_x_input"):
        return 1
    if method == "integrated_gradients":
        refs = int(opts["n_references"]) if opts["baseline"] == "shuffle" else 1
        return refs * int(opts["steps"]) + 1 + refs
    if method == "deeplift":
        return 2
    if method == "deepshap":
        return 2 * int(opts["n_references"])
    if method == "scrambler":
        return 0 if int(opts["n_samples"]) <= 0 else 1 + int(opts["n_samples"])
    return 1 + int(opts["n_samples"]) * int(opts["steps"])


def method_name(method: str) -> str:
    """The human name of a method identifier, e.g. ``"integrated_gradients"`` -> ``"Integrated gradients"``.

    Parameters
    ----------
    method : str — an identifier of :data:`~scrambler_core.attribution.METHODS`

    Returns
    -------
    str — its name from :data:`METHOD_NAMES` (an unknown identifier is returned unchanged)
    """
    return METHOD_NAMES.get(method, method)


def methods_help(methods) -> str:
    """Markdown list "Human name — ``identifier``", one line per method (a picker's help text)."""
    return "\n".join(f"* {method_name(m)} — `{m}`" for m in methods)


def onehot(sequence: str, letters: str) -> np.ndarray:
    """One-hot (L, A) float32 of ``sequence`` in the column order ``letters`` (other letters: a zero row)."""
    index = np.array([letters.find(c) for c in str(sequence).upper()], int)
    matrix = np.zeros((len(index), len(letters)), np.float32)
    known = index >= 0
    matrix[np.flatnonzero(known), index[known]] = 1.0
    return matrix


def display_map(result: MethodResult, sequence: str, letters: str, view="observed") -> np.ndarray:
    """The (L, A) map to draw for a method; positive means the letter raises the output.

    Parameters
    ----------
    result : MethodResult
    sequence : str — the explained sequence (length L)
    letters : str — the alphabet in column order
    view : {"observed", "all"} — ``"observed"``: the observed letter's score, ``x · attribution``
        (what the paper and tangermeme draw; ISM: ``f(x) − mean f(mutant)``); ``"all"``: every
        letter's value (the hypothetical contributions; ISM: each substitution's change
        ``f(mutant) − f(x)`` on the substituted letter). The scrambler rows are importances on the
        observed letter in both views.

    Returns
    -------
    np.ndarray (L, A) float32
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    importance = np.asarray(result.importance, np.float32)
    if importance.shape[0] != len(sequence):
        raise ValueError(f"{result.method} has {importance.shape[0]} positions but the sequence has "
                         f"{len(sequence)}")
    if view == "all":
        if result.method == "ism" and "changes" in result.extras:
            return np.asarray(result.extras["changes"], np.float32)
        return importance
    return importance * onehot(sequence, letters)


def view_suffix(method: str, view="observed") -> str:
    """What a row title adds in the all-letters view: ``" · substitutions"`` (ISM), ``" · all letters"``
    (:data:`ALL_LETTER_METHODS`), else nothing (their map is on the observed letter in both views)."""
    if view != "all":
        return ""
    if method == "ism":
        return " · substitutions"
    return " · all letters" if method in ALL_LETTER_METHODS else ""


def stack_peak(matrix) -> float:
    """The tallest letter stack of a logo: max over positions of the positive sum and of −(negative sum)."""
    matrix = np.asarray(matrix, np.float64)
    if not matrix.size:
        return 0.0
    up = np.clip(matrix, 0, None).sum(-1).max()
    down = -np.clip(matrix, None, 0).sum(-1).min()
    return float(max(up, down))


def normalise(matrix, peak=None) -> np.ndarray:
    """``matrix / peak`` so that the tallest letter stack reaches 1 (unchanged when the peak is 0).

    Parameters
    ----------
    matrix : array_like (L, A) — what a logo row draws
    peak : float, optional — default :func:`stack_peak` of ``matrix`` (in the observed-letter view:
        the largest ``|score|``); pass a shared peak to scale several maps alike (both chains of a pair)

    Returns
    -------
    np.ndarray (L, A) float32
    """
    matrix = np.asarray(matrix, np.float32)
    peak = stack_peak(matrix) if peak is None else float(peak)
    return matrix / peak if peak > 0 and np.isfinite(peak) else matrix


def display_rows(results: dict, sequence: str, letters: str, view="observed", normalised=False) -> tuple:
    """What Compare draws: one (L, A) map per method in ``view``, each normalised when asked.

    Parameters
    ----------
    results : dict ``{method: MethodResult}``
    sequence, letters : str — the explained sequence and the alphabet's column order
    view : {"observed", "all"} — see :func:`display_map`
    normalised : bool — divide each map by its tallest letter stack (:func:`normalise`)

    Returns
    -------
    rows : list of np.ndarray (L, A) — drawn, in the order of ``results``
    raw : list of np.ndarray (L, A) — the same maps before normalising (the hover values)
    titles : list of str — :func:`row_title` plus the view's suffix
    """
    raw = [display_map(r, sequence, letters, view) for r in results.values()]
    rows = [normalise(v) for v in raw] if normalised else raw
    titles = [row_title(r) + view_suffix(m, view) for m, r in results.items()]
    return rows, raw, titles


def pair_display_rows(results: dict, chains, letters: str, view="observed", normalised=False) -> list:
    """:func:`display_rows` for a pair: per chain, each method's map cut to the chain's residues.

    Parameters
    ----------
    results : dict ``{method: MethodResult}`` — maps of the joined pair (chain a then chain b)
    chains : list of (start, chain) — each chain's first index in the joined pair and its letters
    letters : str
    view : {"observed", "all"}
    normalised : bool — divide a method's maps of every chain by one peak (its tallest stack over all chains)

    Returns
    -------
    list, per chain, of (per_chain, rows, raw): ``{method: MethodResult}`` cut to the chain, the
    drawn maps and the maps before normalising
    """
    from .chains import chain_result

    cut = [{m: chain_result(r, start, len(chain)) for m, r in results.items()} for start, chain in chains]
    raw = [[display_map(r, chain, letters, view) for r in per_chain.values()]
           for per_chain, (_, chain) in zip(cut, chains)]
    peaks = [max(stack_peak(maps[k]) for maps in raw) for k in range(len(results))]
    out = []
    for per_chain, maps in zip(cut, raw):
        rows = [normalise(v, peak) for v, peak in zip(maps, peaks)] if normalised else maps
        out.append((per_chain, rows, maps))
    return out


def row_title(result: MethodResult) -> str:
    """A logo row's title: method name, predictor calls and time, e.g.
    ``"In-silico mutagenesis (ISM) · 151 calls · 12 ms"``."""
    calls = f"{result.predictor_calls:,} call{'s' if result.predictor_calls != 1 else ''}"
    return f"{method_name(result.method)} · {calls} · {format_seconds(result.seconds)}"


def format_seconds(seconds: float) -> str:
    """``"12 ms"`` below a second, else ``"1.25 s"``."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def cost_table(results: dict, length=None, size=None) -> pd.DataFrame:
    """One row per method: its name, predictor calls (as reported), the formula, seconds and a check value.

    Parameters
    ----------
    results : dict ``{method: MethodResult}``
    length, size : int, optional — L and A for the ``calls_formula`` column (default: the map's shape)

    Returns
    -------
    pd.DataFrame — ``method`` (the identifier), ``name`` (:func:`method_name`), ``predictor_calls``,
    ``calls_formula``, ``seconds``, ``check``
    """
    rows = []
    for method, result in results.items():
        shape_l, shape_a = np.asarray(result.importance).shape
        n_l, n_a = length or shape_l, size or shape_a
        rows.append({"method": method, "name": method_name(method), "predictor_calls": int(result.predictor_calls),
                     "calls_formula": _formula(method, n_l, n_a, result.options),
                     "seconds": float(result.seconds), "check": _check(result)})
    return pd.DataFrame(rows, columns=["method", "name", "predictor_calls", "calls_formula", "seconds", "check"])


def _formula(method, length, size, options) -> str:
    opts = {**method_options(method), **(options or {})}
    value = f"{expected_predictor_calls(method, length, size, options):,}"
    if method == "ism":
        return f"1 + L(A−1) = 1 + {length}×{size - 1} = {value}"
    if method in ("saliency", "gradient_x_input"):
        return "1 (forward + backward)"
    if method == "integrated_gradients":
        if opts["baseline"] == "shuffle":
            return f"R(steps + 1) + 1 = {opts['n_references']}×({opts['steps']} + 1) + 1 = {value}"
        return f"steps + 2 = {opts['steps']} + 2 = {value}"
    if method == "deeplift":
        return "2 (sequence + baseline)"
    if method == "deepshap":
        return f"2R = 2×{opts['n_references']} = {value}"
    if method == "scrambler":
        return "0 (scrambler network only)" if int(opts["n_samples"]) <= 0 else f"1 + S = {value}"
    return f"1 + S×steps = 1 + {opts['n_samples']}×{opts['steps']} = {value}"


def _check(result: MethodResult) -> str:
    extras = result.extras
    if "completeness_error" in extras:
        return f"sum − (f(x) − f(b)) = {extras['completeness_error']:+.2g}"
    if "delta" in extras:
        total = float(np.asarray(result.importance).sum())
        return f"sum {total:.3g} vs f(x) − f(b) {extras['delta']:.3g}"
    if "mean_bits" in extras:
        return f"final {extras['mean_bits']:.2f} bits"
    if result.method == "scrambler" and "target_bits" in result.options:
        return f"{result.options.get('mode', 'inclusion')} at {result.options['target_bits']:g} bits"
    return ""


def scores_table(results: dict, sequence: str, letters: str) -> pd.DataFrame:
    """Per-position scores of every method, for a CSV download.

    Parameters
    ----------
    results : dict ``{method: MethodResult}``
    sequence : str — the explained sequence (length L)
    letters : str — the alphabet in column order (``predictor.alphabet.letters``)

    Returns
    -------
    pd.DataFrame — ``position`` (1-based), ``letter``, then per method ``METHOD`` (the signed
    score on the observed letter) and ``METHOD_abs_sum`` (|score| summed over the letters:
    what the benchmarks rank positions by)
    """
    sequence = str(sequence).upper()
    frame = pd.DataFrame({"position": np.arange(1, len(sequence) + 1), "letter": list(sequence)})
    for method, result in results.items():
        importance = np.asarray(result.importance, np.float64)
        if importance.shape[0] != len(sequence):
            raise ValueError(f"{method} has {importance.shape[0]} positions but the sequence has {len(sequence)}")
        frame[method] = observed_letter_scores(importance, sequence, letters)
        frame[f"{method}_abs_sum"] = np.abs(importance).sum(-1)
    return frame


def observed_letter_scores(importance, sequence, letters) -> np.ndarray:
    """Each position's value on the letter of ``sequence`` there, (L,) (0 for a letter not in ``letters``).

    Parameters
    ----------
    importance : np.ndarray (L, A)
    sequence : str
    letters : str — the alphabet in column order
    """
    importance = np.asarray(importance, np.float64)
    index = [letters.find(c) for c in str(sequence).upper()]
    return np.array([importance[j, k] if k >= 0 else 0.0 for j, k in enumerate(index)])


# ============================================================================ benchmarks in the browser

KL_BENCHMARKS = ("inclusion", "occlusion")


def benchmark_steps(methods, which=("kl", "recall"), n_settings=None) -> int:
    """How many progress messages :func:`~scrambler_core.benchmarks.run_benchmarks` sends.

    One per method and KL benchmark (inclusion, occlusion), and one per method and uORF
    setting of the recall benchmark.

    Parameters
    ----------
    methods : sequence of str
    which : subset of {"kl", "recall"}
    n_settings : int, optional — recall settings (default: the four of Table D)

    Returns
    -------
    int
    """
    from .benchmarks import UORF_SETTINGS

    n_settings = len(UORF_SETTINGS) if n_settings is None else int(n_settings)
    total = 0
    if "kl" in which:
        total += len(methods) * len(KL_BENCHMARKS)
    if "recall" in which:
        total += len(methods) * n_settings
    return total


def recall_unavailable_reason(predictor) -> str | None:
    """Why the Table D recall benchmark cannot run on ``predictor``, or None when it can."""
    from . import synthetic

    if predictor.sequence_length != synthetic.UTR5_LENGTH or predictor.alphabet.name != "dna":
        return (f"the recall benchmark (Table D) plants upstream ATGs and in-frame stop codons in synthetic "
                f"{synthetic.UTR5_LENGTH}-nt 5'UTRs, so it needs a {synthetic.UTR5_LENGTH}-nt DNA 5'UTR predictor "
                f"such as utr5; {predictor.name} reads {predictor.sequence_length} "
                f"{predictor.alphabet.unit} of {predictor.alphabet.letters}")
    return None


def run_benchmarks_in_memory(predictor, *, which=("kl", "recall"), methods=FAST_METHODS, n=32, n_recall=64,
                             n_samples=32, n_per_example=8, steps=None, test_sequences=None, scramblers=None,
                             seed=0, progress=None) -> dict:
    """:func:`~scrambler_core.benchmarks.run_benchmarks` with a fraction-of-work progress callback.

    The files it writes go to a temporary directory that is removed afterwards.

    Parameters
    ----------
    predictor : Predictor
    which : subset of {"kl", "recall"}
    methods : sequence of str
    n, n_recall, n_samples, n_per_example : int — see :func:`~scrambler_core.benchmarks.run_benchmarks`
    steps : int, optional — optimisation steps of the per-example methods (default 300)
    test_sequences : list of str, optional — the KL test set (default: the built-in generator's)
    scramblers : dict, optional — ``{mode: Scrambler}`` for the ``scrambler`` and
        ``scrambler_finetuned`` methods (default: the predictor's pretrained ones, loaded by name);
        pass the ones already loaded, or a user model's own
    progress : callable(fraction, text), optional — fraction in [0, 1] of the steps started

    Returns
    -------
    dict — ``kl``, ``recall``, ``table_d``, ``cost`` DataFrames (those run), ``seconds``, ``settings``
    """
    from . import benchmarks

    which = tuple(w for w in ("kl", "recall") if w in which)
    if not which:
        raise ValueError("choose at least one benchmark: kl, recall")
    methods = tuple(methods)
    if not methods:
        raise ValueError("choose at least one attribution method")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown attribution method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    if "recall" in which:
        reason = recall_unavailable_reason(predictor)
        if reason:
            raise ValueError(reason)
    total = max(1, benchmark_steps(methods, which))
    done = [0]

    def told(text):
        if progress:
            progress(min(done[0] / total, 1.0), text)
        done[0] += 1

    options = {}
    if steps is not None:
        options.update({m: {"steps": int(steps)} for m in PER_EXAMPLE_METHODS})
    for mode, scrambler in (scramblers or {}).items():
        for method in ("scrambler", "scrambler_finetuned"):
            options[f"{method}@{mode}"] = {"scrambler": scrambler}
    with tempfile.TemporaryDirectory(prefix="scrambler_bench_") as directory:
        results = benchmarks.run_benchmarks(predictor, directory, which=which, methods=methods, n=int(n),
                                            n_recall=int(n_recall), n_samples=int(n_samples),
                                            n_per_example=int(n_per_example), seed=seed,
                                            method_options=options or None,
                                            test_sequences=test_sequences,
                                            progress=told)
    if progress:
        progress(1.0, "done")
    results["settings"] = {"which": which, "methods": methods, "n": int(n), "n_recall": int(n_recall),
                           "n_samples": int(n_samples), "n_per_example": int(n_per_example),
                           "steps": None if steps is None else int(steps)}
    return results


def explanation_scores_table(explanation, sequence: str, letters: str, index: int = 0) -> pd.DataFrame:
    """Per-position scores of one explained sequence (the Explore page's CSV).

    Parameters
    ----------
    explanation : Explanation
        From ``Scrambler.explain``; ``importance`` (N, L), ``per_position_bits`` (N, L), ``pwm`` (N, L, A).
    sequence : str
        The explained sequence, length L.
    letters : str
        The alphabet's letters (A), the PWM's column order.
    index : int
        Which explained sequence.

    Returns
    -------
    pandas.DataFrame
        L rows: ``position`` (1-based), ``letter``, ``importance``, ``bits``, then ``p_<letter>`` per letter.
    """
    frame = pd.DataFrame({"position": np.arange(1, len(sequence) + 1), "letter": list(sequence),
                          "importance": explanation.importance[index],
                          "bits": explanation.per_position_bits[index]})
    for j, letter in enumerate(letters):
        frame[f"p_{letter}"] = explanation.pwm[index][:, j]
    return frame


def pair_ism_table(ism_a, ism_b, chain_a: str, chain_b: str, letters: str) -> pd.DataFrame:
    """Every substitution of both chains of a pair with its Δ log-odds (the pair ISM CSV).

    Parameters
    ----------
    ism_a, ism_b : array_like, shapes (La, A) and (Lb, A)
        Δ log-odds of each substitution (``scrambler_core.pair_ism.pair_ism``).
    chain_a, chain_b : str
        The chains, lengths La and Lb.
    letters : str
        The alphabet's letters (A), the ISM's column order.

    Returns
    -------
    pandas.DataFrame
        Columns ``chain`` ("a"/"b"), ``position`` (1-based), ``residue``, ``substitution``,
        ``delta_logodds``; one row per letter differing from the residue.
    """
    rows = []
    for chain_name, ism, chain in (("a", ism_a, chain_a), ("b", ism_b, chain_b)):
        for i, residue in enumerate(chain):
            for j, letter in enumerate(letters):
                if letter != residue:
                    rows.append((chain_name, i + 1, residue, letter, float(ism[i, j])))
    return pd.DataFrame(rows, columns=["chain", "position", "residue", "substitution", "delta_logodds"])
