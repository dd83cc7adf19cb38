"""The autoencoders mml7 ships pre-trained, and loading them.

Ten Fashion-MNIST models (28x28x1: linear, conv and denoising at the code sizes below) and
one conv model of scikit-image's 200 LFW crops for morphing faces. Their weights and
training record live in the shipped-model folder (``mml7.shipped.weights_dir``);
``python -m mml7 train autoencoders`` remakes them (``train_shipped``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mml7 import shipped
from mml7.autoencoders.models import (
    KINDS,
    Autoencoder,
    build_autoencoder,
    build_conv_autoencoder,
)
from mml7.errors import InputError, check_choice

FAMILY = "autoencoders"
# The code sizes shipped for each kind (the lecture's k plus the similar-image gallery's).
SHIPPED_CODE_SIZES = {"linear": (2, 10, 32, 50), "conv": (2, 16, 32, 64), "denoising": (64,)}
# Gaussian noise levels the shipped denoising autoencoders were trained at.
SHIPPED_NOISE_STDDEVS = (0.2, 0.5)
FACES_CODE_SIZE = 16
FACES_FILE = "ae_faces_16.weights.h5"
IMAGE_SHAPE = (28, 28, 1)


def weights_path(kind: str, code_size: int, noise_stddev: float = 0.2, folder=None) -> Path:
    """File of a shipped model, e.g. ``weights/ae_conv_32.weights.h5``.

    ``folder`` defaults to ``mml7.shipped.weights_dir()`` (``$MML7_WEIGHTS`` when set).
    """
    folder = shipped.weights_dir(folder)
    if kind == "denoising":
        return folder / f"ae_denoising_{code_size}_s{round(noise_stddev * 100):02d}.weights.h5"
    return folder / f"ae_{kind}_{code_size}.weights.h5"


def pretrained(
    kind: str, code_size: int, noise_stddev: float = 0.2, folder: str | Path | None = None
) -> Autoencoder:
    """A shipped autoencoder (made by ``python -m mml7 train autoencoders``).

    Args:
        kind: "linear" (code sizes 2, 10, 32, 50), "conv" (2, 16, 32, 64) or
            "denoising" (64; trained at noise_stddev 0.2 or 0.5).
        code_size: one of the shipped sizes of ``kind``.
        noise_stddev: which denoising model (ignored for the others).
        folder: where the weights are (default: ``mml7.shipped.weights_dir()``).

    Returns:
        Autoencoder with ``.encoder``, ``.decoder`` and ``.autoencoder`` Keras models for
        28x28x1 images in [0, 1] (Fashion-MNIST).

    Raises:
        InputError: no such shipped model, or its weights file is missing or stale.
    """
    kind = check_choice(kind, KINDS, "kind")
    if int(code_size) not in SHIPPED_CODE_SIZES[kind]:
        sizes = ", ".join(map(str, SHIPPED_CODE_SIZES[kind]))
        raise InputError(f"no shipped {kind} autoencoder with code size {code_size}; try {sizes}")
    if kind == "denoising" and noise_stddev not in SHIPPED_NOISE_STDDEVS:
        levels = ", ".join(map(str, SHIPPED_NOISE_STDDEVS))
        raise InputError(f"denoising models were trained at noise_stddev {levels}")
    model = build_autoencoder(kind, code_size, IMAGE_SHAPE, noise_stddev=noise_stddev)
    filename = weights_path(kind, code_size, noise_stddev, folder).name
    shipped.load_weights(model.autoencoder, FAMILY, filename, folder)
    return model


def lfw_faces_28() -> np.ndarray:
    """scikit-image's 200 LFW crops (100 faces, then 100 non-faces), 25x25 resized
    (bilinear) to float32 (200, 28, 28, 1) in [0, 1]."""
    from mml7 import data, images

    return images.resize_batch(data.lfw_faces().images, IMAGE_SHAPE[:2], "bilinear")


def pretrained_faces(folder: str | Path | None = None) -> Autoencoder:
    """The shipped conv autoencoder (code 16) of the 200 LFW crops, for morphing faces."""
    model = build_conv_autoencoder(IMAGE_SHAPE, FACES_CODE_SIZE)
    shipped.load_weights(model.autoencoder, FAMILY, FACES_FILE, folder)
    return model


def shipped_summary(folder: str | Path | None = None) -> dict:
    """The training record written next to the weights (epochs, losses, test MSEs), or {}."""
    return shipped.summary(FAMILY, folder)


def shipped_scores(kind: str, summary: dict) -> dict[str, list]:
    """The test MSEs of the shipped models of ``kind`` beside PCA's, from a training record.

    Returns:
        Columns, one row per code size (ascending): "code size", ``kind`` (its test MSE),
        "PCA" (PCA's at the same k), "<kind> / PCA" and "epochs"; empty lists when the
        record has no such model.
    """
    kind = check_choice(kind, KINDS, "kind")
    rows = [m for m in summary.get("models", {}).values() if m["kind"] == kind]
    rows.sort(key=lambda m: m["code_size"])
    return {
        "code size": [m["code_size"] for m in rows],
        kind: [m["test_mse"] for m in rows],
        "PCA": [m["pca_test_mse"] for m in rows],
        f"{kind} / PCA": [m["test_mse"] / m["pca_test_mse"] for m in rows],
        "epochs": [m["epochs"] for m in rows],
    }
