"""Corrupting images (Gaussian, salt-and-pepper, random masks) and measuring how well
denoising autoencoders undo it."""

from __future__ import annotations

import numpy as np

from mml7.autoencoders.models import Autoencoder
from mml7.autoencoders.pca import psnr
from mml7.errors import InputError, check_choice
from mml7.progress import Progress, report

NOISE_KINDS = ("gaussian", "salt-and-pepper", "random-mask")


def add_noise(images: np.ndarray, kind: str, amount: float, seed: int = 0) -> np.ndarray:
    """Corrupt images float32 (n, h, w, c) in [0, 1]; result clipped to [0, 1].

    Args:
        kind: "gaussian" (``amount`` = standard deviation), "salt-and-pepper" (``amount``
            = fraction of pixels set to 0 or 1, half each) or "random-mask" (``amount`` =
            fraction of pixels set to 0).
        amount: >= 0; fractions must be <= 1.
    """
    kind = check_choice(kind, NOISE_KINDS, "noise kind")
    if amount < 0 or (kind != "gaussian" and amount > 1):
        raise InputError(f"noise amount {amount} is out of range for {kind} noise")
    rng = np.random.default_rng(seed)
    images = np.asarray(images, dtype=np.float32)
    if kind == "gaussian":
        noisy = images + rng.normal(0.0, amount, images.shape).astype(np.float32)
    elif kind == "salt-and-pepper":
        draw = rng.random(images.shape)
        noisy = np.where(draw < amount / 2, 0.0, np.where(draw < amount, 1.0, images))
    else:
        noisy = np.where(rng.random(images.shape) < amount, 0.0, images)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def denoising_robustness(
    models: dict[str, Autoencoder],
    images: np.ndarray,
    stddevs,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, list[float]]:
    """Mean PSNR (dB) of each model's output, and of the noisy input, per Gaussian stddev.

    Args:
        models: name -> autoencoder (e.g. denoisers trained at different noise levels).
        images: clean float32 (n, h, w, c) in [0, 1].
        stddevs: Gaussian noise levels to add at test time.
        progress: ``progress(fraction, message)`` after each noise level.

    Returns:
        {"noise stddev": [...], "noisy input": [...], name: [...] for each model}, one
        value per stddev.
    """
    table: dict[str, list[float]] = {"noise stddev": [float(s) for s in stddevs], "noisy input": []}
    for name in models:
        table[name] = []
    for index, stddev in enumerate(stddevs):
        noisy = add_noise(images, "gaussian", float(stddev), seed=seed)
        table["noisy input"].append(float(psnr(images, noisy).mean()))
        for name, model in models.items():
            table[name].append(float(psnr(images, model.reconstruct(noisy)).mean()))
        report(progress, (index + 1) / len(stddevs), f"noise level {index + 1}/{len(stddevs)}")
    return table
