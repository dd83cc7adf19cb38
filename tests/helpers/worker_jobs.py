"""Jobs for tests/library/test_worker.py, importable by name in mml7.worker's child."""

from __future__ import annotations

import os

import numpy as np


def fit_tiny_model(count: int, epochs: int, progress=None):
    """A one-layer Keras model fitted on ``count`` random rows, with a progress call per
    epoch; returns (the model, the inputs, its outputs there, the child's backend)."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = np.random.default_rng(0).random((count, 3)).astype(np.float32)
    targets = inputs @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    for epoch in range(epochs):
        model.fit(inputs, targets, epochs=1, verbose=0)
        if progress is not None:
            progress((epoch + 1) / epochs, f"epoch {epoch + 1}/{epochs}")
    return model, inputs, np.asarray(model(inputs)), keras.backend.backend()


def refuse(message: str):
    """Raise the error a bad user input raises."""
    from mml7.errors import InputError

    raise InputError(message)


def die(code: int):
    """Stop the process at once, as the kernel's out-of-memory killer would."""
    os._exit(code)


def imported(names: tuple[str, ...], then_import: str):
    """({name: imported?} in this process as the job starts, whether Keras is, and the
    version of ``then_import`` once the job has imported it)."""
    import importlib
    import sys

    found = {name: name in sys.modules for name in names}
    return found, "keras" in sys.modules, importlib.import_module(then_import).__version__
