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
