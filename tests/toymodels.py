"""Toy predictors shared by the scrambler unit tests (importable: tests/ is on sys.path, as for conftest)."""
import numpy as np

import keras

import scrambler_core as sc


def onehot(n, length, seed=0, size=4):
    rng = np.random.default_rng(seed)
    return np.eye(size, dtype=np.float32)[rng.integers(0, size, size=(n, length))]


def linear_predictor(length=12, weights=((3, 0, 2.0), (8, 2, 2.0))):
    """Regression that reads only the given (position, letter, weight) terms."""
    inputs = keras.Input((length, 4))
    out = keras.layers.Dense(1)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, out)
    kernel = np.zeros((length * 4, 1), np.float32)
    for position, letter, weight in weights:
        kernel[position * 4 + letter] = weight
    model.layers[-1].set_weights([kernel, np.zeros(1, np.float32)])
    return sc.Predictor(model, name="toy", alphabet="dna", output_kind="regression")


SMALL = dict(groups=1, blocks=1, dilations=(1,), channels=8)
