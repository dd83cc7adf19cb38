"""Shared fixtures (helpers that are not fixtures live in tests/helpers/)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.helpers import png_bytes

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests train in their own process: importing ``app`` before Keras must not switch it to
# the served app's inference-only backend (app.router.choose_keras_backend).
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# app.cache.shared_resource records every shared object with a fingerprint (see below).
os.environ["MML7_CHECK_SHARED"] = "1"


@pytest.fixture(autouse=True, scope="session")
def shared_resources_never_mutated():
    """After every test has run (pages retrained, uploaded, clicked), each object that
    st.cache_resource handed out must hold exactly what it held when it was made."""
    yield
    import sys

    cache = sys.modules.get("app.cache")
    if cache is not None:
        assert cache.mutated_shared_resources() == [], "a page mutated a shared object"


@pytest.fixture
def rgb_png() -> bytes:
    rng = np.random.default_rng(0)
    return png_bytes(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8))


@pytest.fixture(scope="session")
def fashion_available() -> bool:
    from mml7 import data

    if data.fashion_mnist_location() is None:
        pytest.skip("Fashion-MNIST not on this machine (apt-get install dataset-fashion-mnist)")
    return True
