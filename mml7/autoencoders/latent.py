"""The latent space: codes projected to 2-D or 3-D for plotting, and morphs that walk
from one image's code to another's."""

from __future__ import annotations

import numpy as np

from mml7.autoencoders.models import Autoencoder
from mml7.errors import InputError, check_choice
from mml7.progress import Progress, report

PROJECTIONS = ("pca", "tsne")


def project_codes(
    codes: np.ndarray,
    method: str = "pca",
    dims: int = 2,
    seed: int = 0,
    progress: Progress | None = None,
):
    """Codes (n, code_size) -> (n, dims) points to plot.

    Args:
        method: "pca", or "tsne": openTSNE's t-SNE (exact perplexity-30 neighbours, PCA
            initialisation), with FFT-interpolated repulsion in 2-D and Barnes-Hut in 3-D;
            codes with ``dims`` or fewer columns are returned as they are (padded with
            zeros up to ``dims``).
        dims: 2 or 3.
        progress: reports the t-SNE optimisation's iterations.
    """
    codes = np.asarray(codes, dtype=np.float64)
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims}")
    method = check_choice(method, PROJECTIONS, "projection method")
    if codes.shape[1] <= dims:
        return np.pad(codes, ((0, 0), (0, dims - codes.shape[1])))
    if method == "pca":
        centred = codes - codes.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        return centred @ vt[:dims].T
    return _tsne(codes, dims, seed, progress)


# t-SNE's two phases, in iterations: early exaggeration, then the plain objective.
TSNE_ITERATIONS = (250, 250)


def _tsne(codes: np.ndarray, dims: int, seed: int, progress: Progress | None) -> np.ndarray:
    from openTSNE import TSNE

    every = 25
    calls = sum(TSNE_ITERATIONS) // every
    seen = []

    def callback(iteration, error, embedding):
        seen.append(iteration)
        report(progress, 0.1 + 0.9 * len(seen) / calls, f"t-SNE iteration {len(seen) * every}")

    report(progress, 0.0, f"t-SNE: nearest neighbours of {len(codes):,} codes")
    perplexity = float(min(30, max(2, (len(codes) - 1) // 3)))
    tsne = TSNE(
        dims,
        perplexity=perplexity,
        early_exaggeration_iter=TSNE_ITERATIONS[0],
        n_iter=TSNE_ITERATIONS[1],
        # FFT interpolation is 2-D only; four units of map per interval keep its grid
        # small as the map spreads out.
        negative_gradient_method="fft" if dims == 2 else "bh",
        ints_in_interval=4,
        neighbors="exact",
        n_jobs=2,
        random_state=seed,
        callbacks=callback,
        callbacks_every_iters=every,
    )
    return np.asarray(tsne.fit(codes))


def interpolate_codes(code_a: np.ndarray, code_b: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` codes on the segment from ``code_a`` to ``code_b``, both included."""
    if steps < 2:
        raise InputError(f"a morph needs at least 2 steps, got {steps}")
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return (1 - t) * np.ravel(code_a)[None, :] + t * np.ravel(code_b)[None, :]


def morph(model: Autoencoder, image_a: np.ndarray, image_b: np.ndarray, steps: int = 9):
    """Decode codes interpolated linearly between two images' codes.

    Args:
        image_a, image_b: float32 (h, w, c) in [0, 1].

    Returns:
        float32 (steps, h, w, c); the first and last are the two reconstructions.
    """
    codes = model.encode(np.stack([image_a, image_b]).astype(np.float32))
    return model.decode(interpolate_codes(codes[0], codes[1], steps).astype(np.float32))


def cross_fade(image_a: np.ndarray, image_b: np.ndarray, steps: int = 9) -> np.ndarray:
    """The plain pixel blend (1 - t) a + t b for ``steps`` values of t in [0, 1]."""
    if steps < 2:
        raise InputError(f"a cross-fade needs at least 2 steps, got {steps}")
    t = np.linspace(0.0, 1.0, steps).reshape(-1, *([1] * np.ndim(image_a)))
    return ((1 - t) * image_a[None] + t * image_b[None]).astype(np.float32)


def neighbour_agreement(codes: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of codes whose nearest other code (Euclidean) has the same label: how
    much class meaning the codes carry, though no label was used to learn them."""
    from sklearn.neighbors import NearestNeighbors

    codes = np.asarray(codes, dtype=np.float32)
    if len(codes) < 2:
        raise InputError(f"need at least 2 codes, got {len(codes)}")
    _, indices = NearestNeighbors(n_neighbors=2).fit(codes).kneighbors(codes)
    return float(np.mean(np.asarray(labels)[indices[:, 1]] == np.asarray(labels)))


def frame_changes(frames: np.ndarray) -> np.ndarray:
    """Mean absolute pixel change between neighbouring frames (steps - 1,): even values
    mean a smooth walk, one large value a jump."""
    frames = np.asarray(frames, dtype=np.float32)
    return np.abs(np.diff(frames, axis=0)).reshape(len(frames) - 1, -1).mean(axis=1)


def side_by_side(frames: np.ndarray) -> np.ndarray:
    """Frames (n, h, w, c) as one image (h, n * w, c), left to right."""
    return np.concatenate(list(np.asarray(frames)), axis=1)
