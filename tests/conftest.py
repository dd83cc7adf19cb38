"""Shared fixtures: small in-memory images and zips, and data-set availability."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# app_cache.shared_resource records every shared object with a fingerprint (see below).
os.environ["MML7_CHECK_SHARED"] = "1"


@pytest.fixture(autouse=True, scope="session")
def shared_resources_never_mutated():
    """After every test has run (pages retrained, uploaded, clicked), each object that
    st.cache_resource handed out must hold exactly what it held when it was made."""
    yield
    import sys

    app_cache = sys.modules.get("app_cache")
    if app_cache is not None:
        assert app_cache.mutated_shared_resources() == [], "a page mutated a shared object"


def png_bytes(array: np.ndarray, mode: str | None = None, fmt: str = "PNG") -> bytes:
    """Encode a uint8/uint16 array (h, w) or (h, w, c) as an image file."""
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format=fmt)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


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
