"""PCA of images, the reconstruction scores (MSE, PSNR), and how close a linear
autoencoder comes to PCA's subspace."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mml7.autoencoders.models import Autoencoder
from mml7.errors import InputError


@dataclass(frozen=True)
class PCA:
    """Principal components of flattened images (exact, from the covariance matrix).

    Attributes:
        mean: float64 (d,) mean image, flattened.
        components: float64 (max_k, d), orthonormal rows, by decreasing variance.
        explained_variance: float64 (max_k,).
        shape: (h, w, c) of the images.
    """

    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    shape: tuple[int, ...]

    def encode(self, images: np.ndarray, k: int) -> np.ndarray:
        flat = np.reshape(images, (len(images), -1)).astype(np.float64)
        return (flat - self.mean) @ self.components[:k].T

    def decode(self, codes: np.ndarray) -> np.ndarray:
        k = codes.shape[1]
        flat = codes @ self.components[:k] + self.mean
        return flat.reshape((len(codes), *self.shape)).astype(np.float32)

    def reconstruct(self, images: np.ndarray, k: int) -> np.ndarray:
        return self.decode(self.encode(images, k))


def fit_pca(images: np.ndarray, max_k: int = 64, chunk: int = 4096) -> PCA:
    """PCA of images (n, h, w, c) keeping ``max_k`` components (eigh of the covariance).

    The mean and covariance are accumulated in float64 over ``chunk`` images at a time, so
    no float64 copy of the whole set is made (60,000 Fashion-MNIST images would take
    two of 376 MB each).
    """
    images = np.asarray(images)
    flat = images.reshape((len(images), -1))
    if len(flat) < 2:
        raise InputError("PCA needs at least 2 images.")
    max_k = min(int(max_k), flat.shape[1])
    blocks = range(0, len(flat), chunk)
    mean = sum(flat[s : s + chunk].sum(axis=0, dtype=np.float64) for s in blocks) / len(flat)
    covariance = np.zeros((flat.shape[1],) * 2)
    for start in blocks:
        centred = flat[start : start + chunk].astype(np.float64) - mean
        covariance += centred.T @ centred
    covariance /= len(flat) - 1
    values, vectors = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1][:max_k]
    return PCA(mean, vectors[:, order].T.copy(), values[order], tuple(images.shape[1:]))


@dataclass(frozen=True)
class PCACodes:
    """PCA at a fixed k behind an autoencoder's ``encode`` / ``decode`` / ``reconstruct``:
    the codes of the best linear autoencoder with ``code_size`` units, so tools written for
    codes (``morph``) work on them too. Where too few images train a deep model (the 160
    face crops), these are the codes that can be learned.

    >>> pca = fit_pca(np.eye(4).reshape(4, 2, 2, 1), max_k=2)
    >>> PCACodes(pca, 2).encode(np.zeros((3, 2, 2, 1))).shape
    (3, 2)
    """

    pca: PCA
    code_size: int
    kind: str = "pca"

    def encode(self, images: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        return self.pca.encode(images, self.code_size).astype(np.float32)

    def decode(self, codes: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        return self.pca.decode(np.asarray(codes, np.float64))

    def reconstruct(self, images: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        return self.decode(self.encode(images))


def mse(images: np.ndarray, reconstructions: np.ndarray, chunk: int = 1024) -> float:
    """Mean squared error over all pixels of all images, in float64, ``chunk`` images at
    a time (whole, the float64 copies of 10,000 Fashion-MNIST images took 0.19 GB)."""
    images, reconstructions = np.broadcast_arrays(images, reconstructions)
    if images.ndim == 0:
        return float((np.float64(images) - np.float64(reconstructions)) ** 2)
    total = 0.0
    for start in range(0, len(images), chunk):
        a = images[start : start + chunk].astype(np.float64)
        a -= reconstructions[start : start + chunk]
        total += float(np.vdot(a, a))
    return total / images.size if images.size else float("nan")


def mse_of(reconstruct, images: np.ndarray, chunk: int = 1024) -> float:
    """``mse(images, reconstruct(images))``, calling ``reconstruct`` on ``chunk`` images at
    a time, so no reconstruction of the whole set is held."""
    images = np.asarray(images)
    total = sum(
        mse(batch, reconstruct(batch), chunk) * batch.size
        for batch in (images[s : s + chunk] for s in range(0, len(images), chunk))
    )
    return total / images.size if images.size else float("nan")


def psnr(images: np.ndarray, estimates: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio per image, in dB: 10 log10(range^2 / MSE).

    Returns float64 (n,); an exact copy is capped at 100 dB instead of infinity.
    """
    difference = np.asarray(images, np.float64) - np.asarray(estimates, np.float64)
    per_image = np.mean(difference.reshape(len(difference), -1) ** 2, axis=1)
    return np.minimum(10 * np.log10(data_range**2 / np.maximum(per_image, 1e-10)), 100.0)


def principal_angles_to_pca(model: Autoencoder, pca: PCA) -> np.ndarray:
    """Principal angles (degrees, ascending) between a linear decoder's column space and
    PCA's top-k subspace. All near 0 means the autoencoder found PCA's subspace, though
    its basis vectors are generally not the principal components themselves."""
    if model.kind != "linear":
        raise ValueError(f"principal angles need a linear autoencoder, got kind {model.kind!r}")
    from scipy.linalg import subspace_angles

    kernel = np.asarray(model.decoder.get_layer("pixels").kernel)  # (k, d)
    angles = subspace_angles(kernel.T, pca.components[: model.code_size].T)
    return np.sort(np.degrees(angles))
