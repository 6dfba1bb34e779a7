"""Pairs of chains: cut a joined pair's per-position results back into each chain's part."""
from __future__ import annotations

import dataclasses

import numpy as np


def chain_result(result, start: int, length: int):
    """A method's result on a joined pair cut to one chain's residues.

    Parameters
    ----------
    result : dataclass with ``importance`` (L, ...) and ``extras`` (dict)
        E.g. ``comparison.MethodResult`` of a pair (chain a then chain b, each padded).
    start : int
        0-based index of the chain's first residue in the joined pair.
    length : int
        The chain's number of residues.

    Returns
    -------
    The same type, ``importance`` (length, ...) and an ``extras["changes"]`` (if any) cut alike.
    """
    extras = dict(result.extras)
    if "changes" in extras:
        extras["changes"] = np.asarray(extras["changes"])[start:start + length]
    return dataclasses.replace(result, importance=np.asarray(result.importance)[start:start + length],
                               extras=extras)
