"""How ImageNet-like a set of images is, asked of the ImageNet classifier itself.

The score is a logistic of the classifier's mean energy ``E = logsumexp(logits)`` over the
set's images (Liu et al., "Energy-based out-of-distribution detection", NeurIPS 2020):
large when some ImageNet class's logit is large in absolute terms. One image's energy
varies a lot (crops of everyday photos span about 12-17, Fashion-MNIST 11-14), so the
set's mean is scored, not each image: that separates the sets by a wide margin. It is
*context* for the lecture's table, not a measure of how well features transfer: LFW faces
score lowest of all, yet frozen ImageNet features separate them almost perfectly. Softmax-based scores are reported too, but not
used: the classifier is confidently wrong on noise (MobileNet calls uniform noise
"velvet" about as confidently as it names the object in a photo), while its energy stays
low there.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from mml7 import backbones
from mml7.errors import InputError
from mml7.progress import Progress, batches, scaled

SIMILARITY_BACKBONE = "MobileNet with ImageNet head"
SIMILARITY_IMAGE_SIZE = 224  # the ImageNet head needs the training resolution

# The similarity is 0.5 at this mean energy (logit units) and changes by a factor e of its
# odds per ENERGY_SCALE. Measured on 64 images per set (bench/imagenet_similarity.py):
# mean energy of crops of everyday photos 14.3 (similarity 0.84), Fashion-MNIST 12.6-12.8
# (0.13-0.20), uniform noise 12.2 (0.07), digits 11.3 (0.01), LFW crops 10.5 (0.00).
ENERGY_MIDPOINT = 13.5
ENERGY_SCALE = 0.5


@functools.lru_cache(maxsize=1)
def imagenet_classifier():
    """MobileNet (alpha 1.0) WITH its 1000-class ImageNet head, returning its logits (the
    layer before the softmax) and its softmax. Shared: callers must not change it."""
    import keras

    from mml7 import resources

    filename = resources.IMAGENET_WEIGHT_FILES[SIMILARITY_BACKBONE]
    if resources.weights_state(filename) == "unavailable":
        raise InputError(
            f"the ImageNet classifier's weights are unavailable (offline and {filename} "
            "is not in the Keras cache), so similarity cannot be measured."
        )
    classifier = keras.applications.MobileNet(weights="imagenet")
    logits = classifier.get_layer("predictions").input  # (n, 1000) before the softmax
    return keras.Model(classifier.input, [logits, classifier.output], name="imagenet_classifier")


def imagenet_outputs(
    images: np.ndarray, batch_size: int = 8, progress: Progress | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ImageNet classifier's (logits, softmax), each float32 (n, 1000), for images
    float32 (n, h, w, 1|3) in [0, 1] (grey repeated to RGB, resized to 224 px).

    Small batches, and a compiled call (``predict_on_batch``) rather than an eager one,
    keep the peak memory low enough for Community Cloud (see bench/memory.py)."""
    model = imagenet_classifier()
    logits, probabilities = [], []
    reporter = scaled(progress, 0.0, 1.0, "ImageNet classifier: ")
    for images_batch in batches(images, batch_size, reporter):
        batch = backbones.preprocess(images_batch, "MobileNet (alpha 1.0)", SIMILARITY_IMAGE_SIZE)
        z, p = model.predict_on_batch(batch)
        logits.append(np.asarray(z).reshape(len(batch), -1))
        probabilities.append(np.asarray(p).reshape(len(batch), -1))
    return np.concatenate(logits), np.concatenate(probabilities)


def energy_from_logits(logits: np.ndarray) -> np.ndarray:
    """``logsumexp`` of each row of ``logits`` (n, classes), computed stably: (n,)."""
    logits = np.asarray(logits, dtype=np.float64)
    top = logits.max(axis=1)
    return top + np.log(np.exp(logits - top[:, None]).sum(axis=1))


def similarity_from_energy(energy) -> np.ndarray:
    """``sigmoid((energy - ENERGY_MIDPOINT) / ENERGY_SCALE)``, in [0, 1]."""
    return 1.0 / (
        1.0 + np.exp(-(np.asarray(energy, dtype=np.float64) - ENERGY_MIDPOINT) / ENERGY_SCALE)
    )


def similarity_from_logits(logits: np.ndarray) -> np.ndarray:
    """Per-image ImageNet similarity in [0, 1]: ``similarity_from_energy`` of each row's
    energy E = logsumexp(logits). Shape (n,). (A set is scored by its mean energy.)"""
    return similarity_from_energy(energy_from_logits(logits))


def imagenet_scores(
    images: np.ndarray,
    max_images: int | None = 64,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, float]:
    """The ImageNet classifier's view of ``images`` (a random subset of ``max_images``).

    Returns:
        similarity: ``sigmoid((mean E - ENERGY_MIDPOINT) / ENERGY_SCALE)`` in [0, 1], with
            E = logsumexp(logits) per image (see the module docstring).
        energy: the mean E.
        energy_std: the standard deviation of E over the images.
        max_softmax: mean top-class probability (Hendrycks & Gimpel's baseline).
        confidence: mean ``1 - H(p) / log(1000)`` (normalised entropy).
        images_scored: how many images were scored.
    """
    images = np.asarray(images, dtype=np.float32)
    if len(images) == 0:
        raise InputError("no images to measure the ImageNet similarity of")
    rng = np.random.default_rng(seed)
    if max_images is not None and len(images) > max_images:
        images = images[np.sort(rng.choice(len(images), max_images, replace=False))]
    logits, probabilities = imagenet_outputs(images, progress=progress)
    logits, probabilities = logits.astype(np.float64), probabilities.astype(np.float64)
    energy = energy_from_logits(logits)
    entropy = -(probabilities * np.log(np.clip(probabilities, 1e-12, 1.0))).sum(axis=1)
    return {
        "similarity": float(similarity_from_energy(energy.mean())),
        "energy": float(energy.mean()),
        "energy_std": float(energy.std()),
        "max_softmax": float(probabilities.max(axis=1).mean()),
        "confidence": float((1.0 - entropy / math.log(probabilities.shape[1])).mean()),
        "images_scored": len(images),
    }


def imagenet_similarity(
    images: np.ndarray,
    max_images: int | None = 64,
    seed: int = 0,
    progress: Progress | None = None,
) -> float:
    """How ImageNet-like ``images`` are, in [0, 1] (see ``imagenet_scores``): a logistic of
    the ImageNet classifier's mean energy (logsumexp of its logits) over the images.

    Args:
        images: float32 (n, h, w, 1|3) in [0, 1].
        max_images: score a random subset of this many (seeded), or all when None.
    """
    return imagenet_scores(images, max_images, seed, progress)["similarity"]
