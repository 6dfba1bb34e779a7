"""scrambler_core.chains: a joined pair's results cut back to one chain."""
from dataclasses import dataclass, field

import numpy as np

from scrambler_core.chains import chain_result


@dataclass
class _Result:
    method: str
    importance: np.ndarray
    extras: dict = field(default_factory=dict)


def test_chain_result_cuts_importance_and_changes_and_keeps_the_rest():
    joined = _Result("ism", np.arange(20.0).reshape(10, 2), {"changes": np.arange(10), "calls": 7})
    b = chain_result(joined, 5, 3)
    assert b.method == "ism" and b.extras["calls"] == 7
    np.testing.assert_array_equal(b.importance, joined.importance[5:8])
    np.testing.assert_array_equal(b.extras["changes"], [5, 6, 7])
    assert joined.extras["changes"].shape == (10,)                      # the original is untouched


def test_chain_result_without_changes():
    a = chain_result(_Result("saliency", np.ones(6)), 0, 4)
    assert a.importance.shape == (4,) and "changes" not in a.extras
