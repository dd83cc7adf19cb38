"""Training under any Keras 3 backend: the layer and model tests marked ``backends`` pass
under every other backend installed, mml7's model modules import no TensorFlow under JAX,
and weights trained under one backend load under another with the same predictions."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from tests.helpers import ROOT
from tests.helpers.backends import fresh_models, sample_inputs

BACKENDS = ("tensorflow", "jax")
# The files whose tests marked ``backends`` run again under each other backend.
BACKEND_TEST_FILES = [
    "tests/library/test_layers.py",
    "tests/library/test_segmentation.py",
    "tests/library/test_autoencoders.py",
]


def run_under(backend: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python *args`` in the repository root with ``KERAS_BACKEND=backend``."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def other_backend(backend: str) -> str:
    """``backend`` when it is installed and not this process's backend; skips otherwise."""
    if backend == keras.backend.backend():
        pytest.skip(f"{backend} is this process's backend: the tests ran here")
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    return backend


@pytest.mark.parametrize("backend", BACKENDS)
def test_layer_and_model_tests_pass_under_the_other_backends(backend):
    completed = run_under(
        other_backend(backend),
        *("-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "backends"),
        *BACKEND_TEST_FILES,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    assert " passed" in completed.stdout and " skipped" not in completed.stdout


def test_model_modules_import_no_tensorflow_under_jax():
    """Only importing: Keras itself imports TensorFlow when it is installed, e.g. in
    ``keras.utils.set_random_seed``, which training calls."""
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed")
    modules = "mml7.layers, mml7.segmentation, mml7.autoencoders, mml7.shipped"
    completed = run_under("jax", "-c", f"import sys, {modules}; print('tensorflow' in sys.modules)")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip() == "False"


@pytest.mark.parametrize("backend", BACKENDS)
def test_weights_trained_under_another_backend_give_the_same_predictions(backend, tmp_path):
    completed = run_under(other_backend(backend), "-m", "tests.helpers.backends", str(tmp_path))
    assert completed.returncode == 0, completed.stderr[-4000:]
    inputs = sample_inputs()
    for name, model in fresh_models().items():
        model.load_weights(tmp_path / f"{name}.weights.h5")
        expected = np.load(tmp_path / f"{name}.npy")
        np.testing.assert_allclose(model.predict(inputs[name], verbose=0), expected, atol=1e-5)
