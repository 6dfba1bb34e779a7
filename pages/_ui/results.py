"""Expensive results of the pages (explanations, predictions, pair ISM, cleavage), computed by
``scrambler_core`` and kept on disk by ``cached_call``."""
from __future__ import annotations

import numpy as np
import streamlit as st

from pages._ui.models import get_predictor, get_scrambler
from scrambler_core.cache import ResultCache, cached_call

SEED = 0


@st.cache_resource
def result_cache() -> ResultCache:
    """The process's on-disk result cache (``SCRAMBLER_CACHE_DIR`` or ``~/.cache/scrambler-explorer``)."""
    return ResultCache()


def cached(kind: str, compute, model=None, /, **params):
    """``compute()`` once per distinct ``(kind, model, params)``, kept on disk across sessions and restarts.

    ``params`` must name every input of ``compute`` besides ``model`` (keyed by its fingerprint);
    see ``scrambler_core.cache.cached_call``. A corrupted entry is recomputed.
    """
    return cached_call(result_cache(), kind, compute, model, **params)


def explain(name: str, mode: str, sequence, bits: float, n_samples: int, seed: int = SEED, *,
            objective: str = "reconstruct", drop=None, architecture: str | None = None):
    """Scrambler explanation of one sequence, or of one pair ``(chain_a, chain_b)`` (cached).

    ``drop`` (L,) 1 = usable, 0 = excluded: explained by the mask-dropout scrambler (an alternative
    explanation that cannot use the excluded positions); ``objective`` chooses the positive /
    negative feature scramblers; ``architecture`` a pair scrambler.
    """
    dropout = drop is not None
    scrambler = get_scrambler(name, mode, objective=objective, dropout=dropout, architecture=architecture)
    drop_key = "" if drop is None else "".join("1" if v else "0" for v in np.asarray(drop).reshape(-1))
    item = tuple(sequence) if isinstance(sequence, (tuple, list)) else sequence
    return cached("explain", lambda: scrambler.explain([item], target_bits=bits, n_samples=n_samples, seed=seed,
                                                     drop=None if drop is None else np.asarray(drop, np.float32)),
                  scrambler, sequence=item, bits=float(bits), n_samples=int(n_samples), seed=int(seed),
                  drop=drop_key)


def explain_bits_grid(name: str, mode: str, sequence: str, n_samples: int, seed: int = SEED, *, drop=None):
    """One sequence at every budget of the live slider's grid (``Scrambler.explain_bits_grid``, cached).

    ``drop`` as in :func:`explain`: the mask-dropout scrambler then explains it.
    """
    scrambler = get_scrambler(name, mode, dropout=drop is not None)
    drop_key = "" if drop is None else "".join("1" if v else "0" for v in np.asarray(drop).reshape(-1))
    return cached("explain_bits_grid", lambda: scrambler.explain_bits_grid(
        sequence, n_samples=n_samples, seed=seed, drop=None if drop is None else np.asarray(drop, np.float32)),
        scrambler, sequence=sequence, n_samples=int(n_samples), seed=int(seed), drop=drop_key)


def predict(name: str, sequences: list[str]) -> np.ndarray:
    """Predictions, shape (N,) (cached)."""
    predictor = get_predictor(name)
    return cached("predict", lambda: predictor.predict(sequences), predictor, sequences=tuple(sequences))


def predict_pairs(name: str, pairs: list[tuple[str, str]]) -> np.ndarray:
    """Predictions of a pair predictor, shape (N,) (cached)."""
    predictor = get_predictor(name)
    return cached("predict_pairs", lambda: predictor.predict(list(pairs)), predictor,
                  pairs=tuple(tuple(p) for p in pairs))


def pair_ism(name: str, chain_a: str, chain_b: str):
    """``scrambler_core.pair_ism.pair_ism`` for a pair predictor (cached): (ism_a (La, A), ism_b (Lb, A))."""
    from scrambler_core.pair_ism import pair_ism as compute

    predictor = get_predictor(name)
    return cached("pair_ism", lambda: compute(predictor, chain_a, chain_b), predictor, chain_a=chain_a,
                  chain_b=chain_b)


def cleavage_profile(name: str, sequence: str) -> np.ndarray | None:
    """APARENT2's cleavage distribution over positions 0-204 plus the distal slot, (206,) (cached);
    None for a predictor without one."""
    predictor = get_predictor(name)
    if not hasattr(predictor, "cleavage_profile"):
        return None
    return cached("cleavage", lambda: predictor.cleavage_profile([sequence])[0], predictor, sequence=sequence)


def optimised(name: str, mode: str, sequence: str, bits: float, steps: int, seed: int = SEED):
    """The explanation of one sequence by per-example optimisation (``scrambler_core.refine``, cached)."""
    from scrambler_core.refine import optimise_explanation

    scrambler = get_scrambler(name, mode)
    return cached("optimise_explanation", lambda: optimise_explanation(scrambler, [sequence], bits, steps=steps,
                                                                       seed=seed),
                  scrambler, sequence=sequence, bits=float(bits), steps=int(steps), seed=int(seed))
