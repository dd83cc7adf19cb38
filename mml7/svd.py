"""Rank-k approximation of an image by its singular value decomposition.

X = U S V^T; keeping the k largest singular values gives X_k = U_k S_k V_k^T, the best
rank-k approximation in the Frobenius norm (Eckart-Young), stored in k(h + w + 1) numbers
instead of h w. That is a linear autoencoder with code size k: the code of a row is its
k coordinates in V_k.

>>> image = np.arange(12, dtype=np.float32).reshape(3, 4)
>>> low_rank_approximation(image, 2).shape
(3, 4)
"""

from __future__ import annotations

import numpy as np

from mml7.errors import InputError, check_choice
from mml7.images import fit_size, resize

METHODS = ("auto", "full", "randomized")
# "auto" switches to the randomised SVD when the image is at least this large (shorter
# side) and k is at most this fraction of it: there only the top k factors are needed,
# and finding them costs O(h w k) instead of the full SVD's O(h w min(h, w)).
RANDOMIZED_MIN_SIDE = 512
RANDOMIZED_MAX_FRACTION = 0.125
# Longer side images are shrunk to for interactive use: the full SVD's cost grows with
# h w min(h, w) (bench/svd.py times it at this size).
MAX_SIDE = 2000


def _channels(image) -> np.ndarray:
    """(h, w) or (h, w, c) -> float64 (c, h, w); InputError for anything else."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or min(image.shape[:2]) < 1 or image.shape[2] < 1:
        raise InputError(f"expected an image shaped (h, w) or (h, w, c), got {image.shape}")
    if not np.issubdtype(image.dtype, np.number) or not np.all(np.isfinite(image)):
        raise InputError("the image must contain finite numbers")
    return np.moveaxis(image.astype(np.float64), -1, 0)


def _check_k(k, height: int, width: int) -> int:
    limit = min(height, width)
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= limit:
        raise InputError(f"k must be a whole number from 1 to min(h, w) = {limit}, got {k!r}")
    return int(k)


def choose_method(height: int, width: int, k: int, method: str = "auto") -> str:
    """ "full" or "randomized" for a rank-k approximation of an h x w matrix."""
    method = check_choice(method, METHODS, "SVD method")
    if method != "auto":
        return method
    side = min(height, width)
    small_k = k <= RANDOMIZED_MAX_FRACTION * side
    return "randomized" if side >= RANDOMIZED_MIN_SIDE and small_k else "full"


def top_factors(matrix: np.ndarray, k: int, method: str = "auto", seed: int = 0):
    """The k leading singular triplets of a 2-D matrix: (U (h, k), s (k,), Vt (k, w)).

    Args:
        method: "full" (LAPACK via NumPy, exact), "randomized" (Halko et al.'s range
            finder with power iterations, scikit-learn's ``randomized_svd``; close to exact
            on images, whose spectra decay fast, and approximate where a spectrum is
            flat) or "auto".
    """
    height, width = matrix.shape
    k = _check_k(k, height, width)
    if choose_method(height, width, k, method) == "full":
        u, s, vt = np.linalg.svd(matrix, full_matrices=False)
        return u[:, :k], s[:k], vt[:k]
    from sklearn.utils.extmath import randomized_svd

    return randomized_svd(matrix, k, n_oversamples=10, n_iter=4, random_state=seed)


def low_rank_approximation(image, k: int, method: str = "auto", seed: int = 0) -> np.ndarray:
    """The best rank-k approximation of each channel of an image.

    Args:
        image: float array (h, w) or (h, w, c); each channel is approximated on its own.
        k: rank, 1 <= k <= min(h, w).
        method: "auto", "full" or "randomized" (see ``top_factors``).

    Returns:
        float32 array of the same shape as ``image`` (not clipped to the input range).

    Raises:
        InputError: k out of range or not an image.
    """
    shape = np.shape(image)
    channels = _channels(image)
    _check_k(k, *channels.shape[1:])
    approximations = []
    for channel in channels:
        u, s, vt = top_factors(channel, k, method, seed)
        approximations.append((u * s) @ vt)
    return np.moveaxis(np.stack(approximations), 0, -1).reshape(shape).astype(np.float32)


def decompose(image, k: int, method: str = "auto", seed: int = 0) -> list[tuple]:
    """The k leading singular triplets of each channel, float32: [(U (h, k), s (k,),
    Vt (k, w)), ...]. Any rank up to k is then ``reconstruct``ed with one product per
    channel, so a slider over k needs one decomposition, not one per position.

    Args:
        image: float array (h, w) or (h, w, c).
        k: the largest rank wanted, 1 <= k <= min(h, w).
        method: "auto", "full" or "randomized" (see ``top_factors``).
    """
    channels = _channels(image)
    k = _check_k(k, *channels.shape[1:])
    return [
        tuple(np.asarray(part, np.float32) for part in top_factors(channel, k, method, seed))
        for channel in channels
    ]


def reconstruct(factors: list[tuple], k: int, shape: tuple) -> np.ndarray:
    """The rank-k approximation (float32, ``shape`` = the image's shape) from the
    ``decompose`` factors; k at most the rank they were computed for."""
    rank = factors[0][1].shape[0]
    if not 1 <= k <= rank:
        raise InputError(f"k must be from 1 to {rank} for these factors, got {k!r}")
    height, width = shape[:2]
    out = np.empty((height, width, len(factors)), np.float32)
    for index, (u, s, vt) in enumerate(factors):
        np.matmul(u[:, :k] * s[:k], vt[:k], out=out[..., index])
    return out.reshape(shape)


def low_rank_approximations(image, ks, method: str = "auto", seed: int = 0) -> dict:
    """Rank-k approximations for several k from one decomposition per channel.

    Args:
        image: float array (h, w) or (h, w, c).
        ks: ranks, each 1 <= k <= min(h, w).

    Returns:
        {k: float32 array shaped like ``image``} for each distinct k.
    """
    shape = np.shape(image)
    if len(shape) not in (2, 3) or min(shape[:2]) < 1:
        raise InputError(f"expected an image shaped (h, w) or (h, w, c), got {shape}")
    ks = sorted({_check_k(k, *shape[:2]) for k in ks})
    if not ks:
        raise InputError("give at least one rank k")
    factors = decompose(image, ks[-1], method, seed)
    return {k: reconstruct(factors, k, shape) for k in ks}


def relative_error(image, approximation) -> float:
    """||X - X_k||_F / ||X||_F over all channels (0 for a perfect copy)."""
    image = np.asarray(image, dtype=np.float64)
    norm = np.linalg.norm(image)
    if norm == 0:
        return 0.0 if np.all(np.asarray(approximation) == 0) else float("inf")
    return float(np.linalg.norm(image - np.asarray(approximation, np.float64)) / norm)


def energy_kept(image, approximation) -> float:
    """||X_k||_F^2 / ||X||_F^2 for a truncated SVD X_k: 1 - relative_error^2, since the
    dropped part is orthogonal to the kept one (the cumulative energy at k)."""
    return 1.0 - relative_error(image, approximation) ** 2


def storage_ratio(height: int, width: int, k: int) -> float:
    """Numbers stored for rank k over numbers in the image: k (h + w + 1) / (h w).

    Per channel; the ratio is the same for every channel count.
    """
    if height < 1 or width < 1 or k < 0:
        raise ValueError(f"need height, width >= 1 and k >= 0, got {height}, {width}, {k}")
    return k * (height + width + 1) / (height * width)


def singular_values(image, max_values: int | None = None, seed: int = 0) -> np.ndarray:
    """Singular values per channel, float64 (c, r), descending.

    Args:
        max_values: keep the r = max_values largest (computed by the randomised SVD
            when that is much fewer than min(h, w)); None keeps all min(h, w).
    """
    channels = _channels(image)
    side = min(channels.shape[1:])
    count = side if max_values is None else max(1, min(int(max_values), side))
    values = []
    for channel in channels:
        if choose_method(*channel.shape, count) == "full":
            values.append(np.linalg.svd(channel, compute_uv=False)[:count])
        else:
            values.append(top_factors(channel, count, "randomized", seed)[1])
    return np.stack(values)


def cumulative_energy(values: np.ndarray, image=None) -> np.ndarray:
    """Fraction of ||X||_F^2 in the top 1, 2, ... singular values, summed over channels.

    Args:
        values: (c, r) singular values from ``singular_values``.
        image: when the values are only the top r, the image gives the true total
            ||X||_F^2 (the sum of all squared singular values) without computing them.

    Returns:
        float64 (r,), non-decreasing, ending at 1 when all values are given.
    """
    squared = np.sum(np.asarray(values, np.float64) ** 2, axis=0)
    total = squared.sum() if image is None else float(np.sum(np.asarray(image, np.float64) ** 2))
    if total == 0:
        return np.ones_like(squared)
    return np.cumsum(squared) / total


def fit_within(image: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """The image (h, w, c) in [0, 1], shrunk (area-averaged) so its longer side is at
    most ``max_side``; returned as it is when it already fits."""
    image = np.asarray(image, dtype=np.float32)
    size = fit_size(image.shape[:2], max_side)
    return image if size == image.shape[:2] else resize(image, size, "box")
