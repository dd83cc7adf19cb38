"""What the autoencoder page shows before anyone retrains, measured once and shipped.

Two figures cost seconds on every fresh server and are the same for every visitor:

- PCA of the 60,000 Fashion-MNIST training images (the reference of the Linear AE and
  Deep AE tabs): about 3 s, and 188 MB of training images in memory just to make it;
- the denoisers' robustness curve (1,000 test images at 7 noise levels, 14 passes).

``python -m mml7 measure autoencoders`` (``precompute``) writes them to the weights
folder: ``fashion_pca.npz`` and ``autoencoder_figures.json``. The curve is stored with a
digest of the denoisers' weights, so retrained weights make it stale (the page measures
it again) rather than wrong.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from mml7 import data, shipped
from mml7.autoencoders.noise import denoising_robustness
from mml7.autoencoders.pca import PCA, fit_pca
from mml7.autoencoders.weights import SHIPPED_NOISE_STDDEVS, pretrained, weights_path
from mml7.progress import Progress, scaled

PCA_FILE = "fashion_pca.npz"
FIGURES_FILE = "autoencoder_figures.json"
PCA_COMPONENTS = 64  # the largest code size any tab compares with
# The page's robustness curve: the first 1,000 test images at these noise levels.
ROBUSTNESS_IMAGES = 1000
ROBUSTNESS_STDDEVS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)


def denoiser_names() -> dict[str, float]:
    """The robustness curve's model names -> the noise level each denoiser trained at."""
    return {f"trained at {s}": s for s in SHIPPED_NOISE_STDDEVS}


def denoisers_digest(folder=None) -> str | None:
    """A digest of the shipped denoisers' weights files; None when one is missing."""
    paths = [weights_path("denoising", 64, s, folder) for s in SHIPPED_NOISE_STDDEVS]
    return shipped.files_digest(*paths)


def shipped_pca(folder=None) -> PCA | None:
    """The PCA of Fashion-MNIST's training images from ``precompute``, or None."""
    path = shipped.weights_dir(folder) / PCA_FILE
    if not path.exists():
        return None
    with np.load(path) as stored:
        return PCA(
            stored["mean"],
            stored["components"],
            stored["explained_variance"],
            tuple(int(side) for side in stored["shape"]),
        )


def shipped_robustness(count: int, stddevs, folder=None) -> dict | None:
    """The stored robustness curve, if it was measured on ``count`` images at ``stddevs``
    with today's denoiser weights; else None."""
    path = shipped.weights_dir(folder) / FIGURES_FILE
    if not path.exists():
        return None
    stored = json.loads(path.read_text()).get("robustness", {})
    if (
        stored.get("images") != count
        or stored.get("stddevs") != [float(s) for s in stddevs]
        or stored.get("weights") != denoisers_digest(folder)
    ):
        return None
    return stored["table"]


def precompute(folder=None, progress: Progress | None = None) -> dict:
    """Fit and store the PCA, measure and store the robustness curve; returns the record."""
    folder = shipped.weights_dir(folder)
    began = time.perf_counter()
    pca = fit_pca(data.fashion_mnist("train").images, PCA_COMPONENTS)
    np.savez_compressed(
        folder / PCA_FILE,
        mean=pca.mean,
        components=pca.components,
        explained_variance=pca.explained_variance,
        shape=np.asarray(pca.shape),
    )
    seconds = {"pca": round(time.perf_counter() - began, 1)}
    began = time.perf_counter()
    models = {name: pretrained("denoising", 64, s, folder) for name, s in denoiser_names().items()}
    images = data.fashion_mnist("test").images[:ROBUSTNESS_IMAGES]
    table = denoising_robustness(
        models, images, ROBUSTNESS_STDDEVS, progress=scaled(progress, 0.0, 1.0, "robustness: ")
    )
    seconds["robustness"] = round(time.perf_counter() - began, 1)
    record = {
        "robustness": {
            "images": ROBUSTNESS_IMAGES,
            "stddevs": [float(s) for s in ROBUSTNESS_STDDEVS],
            "weights": denoisers_digest(folder),
            "table": table,
        },
        "seconds": seconds,
    }
    (Path(folder) / FIGURES_FILE).write_text(json.dumps(record, indent=1) + "\n")
    return record
