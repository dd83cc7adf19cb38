"""What the autoencoder page shows before anyone retrains, measured once and shipped.

Two figures cost seconds on every fresh server and are the same for every visitor:

- PCA of the 60,000 Fashion-MNIST training images (the reference of the Linear AE and
  Deep AE tabs): about 3 s, and 188 MB of training images in memory just to make it;
- the denoisers' robustness curve (1,000 test images at 7 noise levels, 14 passes).

And two tabs whose views each run a model on hundreds or thousands of images (about a
second under the served app's NumPy backend, bench/RESULTS.md):

- the latent space: the codes of the first ``LATENT_MAX_COUNT`` test images, per model
  (float16: each number within 0.05 % of the one computed live);
- denoising: the PSNRs of ``DENOISING_IMAGES`` test images and the images shown, for every
  noise kind and amount the tab offers, per denoiser.

``python -m mml7 measure autoencoders`` (``precompute``) writes them to the weights
folder: ``fashion_pca.npz``, ``autoencoder_figures.json`` and ``autoencoder_views.npz``.
The curve and the views are stored with a digest of their models' weights, so retrained
weights make them stale (the page measures them again) rather than wrong.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from mml7 import data, shipped
from mml7.autoencoders.noise import NOISE_KINDS, add_noise, denoising_robustness
from mml7.autoencoders.pca import PCA, fit_pca, psnr
from mml7.autoencoders.weights import SHIPPED_NOISE_STDDEVS, pretrained, weights_path
from mml7.progress import Progress, scaled

PCA_FILE = "fashion_pca.npz"
FIGURES_FILE = "autoencoder_figures.json"
PCA_COMPONENTS = 64  # the largest code size any tab compares with
# The page's robustness curve: the first 1,000 test images at these noise levels.
ROBUSTNESS_IMAGES = 1000
ROBUSTNESS_STDDEVS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
VIEWS_FILE = "autoencoder_views.npz"
# The latent-space tab's models ("kind code_size"), the numbers of test images it offers
# and its default; the codes of the most it offers ship (float16: 3 MB for the six models).
LATENT_MODELS = ("conv 2", "conv 16", "conv 32", "conv 64", "linear 2", "linear 32")
LATENT_COUNTS = (1000, 2000, 5000, 10000)
LATENT_COUNT = 2000
LATENT_MAX_COUNT = max(LATENT_COUNTS)
# The denoising tab's default noise (kind, amount; seed 0), the amounts its slider offers
# (every kind's view at each ships), the test images its PSNRs are the mean of, and the
# images it shows.
DENOISING_DEFAULT = ("gaussian", 0.2)
DENOISING_AMOUNTS = tuple(round(0.05 * step, 2) for step in range(13))
DENOISING_IMAGES = 500
DENOISING_SHOWN = 10
VIEW_KEYS = ("noisy_db", "denoised_db", "noisy", "denoised")  # stored per noise and amount


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
    """Fit and store the PCA, measure and store the robustness curve (returns its record)
    and the latent and denoising tabs' views (``precompute_views``)."""
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
    precompute_views(folder)
    return record


def denoising_view(model, noise: str, amount: float, count: int = DENOISING_IMAGES) -> dict:
    """What the denoising tab shows for ``model`` and a noise: mean PSNR (dB) of the noisy
    and the denoised first ``count`` test images, and the first ``DENOISING_SHOWN`` clean,
    noisy and denoised images (float32 (n, 28, 28, 1))."""
    clean = data.fashion_mnist("test").images[:count]
    noisy = add_noise(clean, noise, amount, seed=0)
    denoised = model.reconstruct(noisy)
    return {
        "noisy_db": float(psnr(clean, noisy).mean()),
        "denoised_db": float(psnr(clean, denoised).mean()),
        "clean": clean[:DENOISING_SHOWN],
        "noisy": noisy[:DENOISING_SHOWN],
        "denoised": denoised[:DENOISING_SHOWN],
    }


def _digest(kind: str, code_size: int, noise_stddev: float, folder) -> str | None:
    return shipped.files_digest(weights_path(kind, code_size, noise_stddev, folder))


def precompute_views(folder=None) -> dict[str, np.ndarray]:
    """Store the latent tab's codes and the denoising tab's views (every noise kind at
    every ``DENOISING_AMOUNTS``) of the shipped models in ``VIEWS_FILE``, each model's
    with its weights' digest; returns what was stored."""
    folder = shipped.weights_dir(folder)
    test = data.fashion_mnist("test").images
    stored = {}
    for name in LATENT_MODELS:
        kind, size = name.split()
        model = pretrained(kind, int(size), folder=folder)
        stored[f"codes/{name}/codes"] = model.encode(test[:LATENT_MAX_COUNT]).astype(np.float16)
        stored[f"codes/{name}/digest"] = np.array(_digest(kind, int(size), 0.0, folder))
    for stddev in SHIPPED_NOISE_STDDEVS:
        model, prefix = pretrained("denoising", 64, stddev, folder), f"denoising/{stddev}"
        for noise in NOISE_KINDS:
            for amount in DENOISING_AMOUNTS:
                view = denoising_view(model, noise, amount, DENOISING_IMAGES)
                for key in ("noisy_db", "denoised_db"):
                    stored[f"{prefix}/{noise}/{amount:.2f}/{key}"] = np.array(view[key])
                for key in ("noisy", "denoised"):  # shown only: 8 bits are what a screen shows
                    stored[f"{prefix}/{noise}/{amount:.2f}/{key}"] = _to_uint8(view[key])
        stored[f"{prefix}/clean"] = _to_uint8(test[:DENOISING_SHOWN])
        stored[f"{prefix}/images"] = np.array(DENOISING_IMAGES)
        stored[f"{prefix}/digest"] = np.array(_digest("denoising", 64, stddev, folder))
    np.savez_compressed(Path(folder) / VIEWS_FILE, **stored)
    return stored


def _to_uint8(images: np.ndarray) -> np.ndarray:
    return np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)


def _lookup(prefix: str, digest: str | None, names: list[str], folder) -> dict | None:
    """The arrays ``prefix/name`` of ``VIEWS_FILE`` for ``names``, if all are stored and
    the model's were stored with ``digest`` (today's weights); else None."""
    path = shipped.weights_dir(folder) / VIEWS_FILE
    if digest is None or not path.exists():
        return None
    with np.load(path) as stored:
        keys = [f"{prefix}/{name}" for name in names]
        if f"{prefix}/digest" not in stored or str(stored[f"{prefix}/digest"]) != digest:
            return None
        if any(key not in stored for key in keys):
            return None
        return {name: stored[key] for name, key in zip(names, keys, strict=True)}


def shipped_codes(kind: str, code_size: int, count: int, folder=None) -> np.ndarray | None:
    """Codes (count, code_size) of the first ``count`` test images by the shipped model,
    from ``precompute_views``; None when not stored (or for more images), or stale."""
    digest = _digest(kind, code_size, 0.0, folder)
    found = _lookup(f"codes/{kind} {code_size}", digest, ["codes"], folder)
    if found is None or len(found["codes"]) < count:
        return None
    return found["codes"][:count].astype(np.float32)


def shipped_denoising_view(noise: str, amount: float, trained_at: float, count: int, folder=None):
    """``denoising_view`` of the shipped denoiser trained at ``trained_at``, from
    ``precompute_views`` when stored for this noise, amount (to 0.01) and ``count``; else
    None. Its images are the stored 8-bit ones, as float32 in [0, 1]."""
    view = f"{noise}/{float(amount):.2f}"
    names = ["images", "clean", *(f"{view}/{key}" for key in VIEW_KEYS)]
    digest = _digest("denoising", 64, trained_at, folder)
    found = _lookup(f"denoising/{trained_at}", digest, names, folder)
    if found is None or int(found["images"]) != count:
        return None
    shown = {key: found[f"{view}/{key}"] for key in VIEW_KEYS} | {"clean": found["clean"]}
    return {
        key: float(value) if value.ndim == 0 else value.astype(np.float32) / 255
        for key, value in shown.items()
    }
