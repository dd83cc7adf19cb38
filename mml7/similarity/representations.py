"""Representations: images -> vectors, each learned without labels, found by name.

Every representation has one shape, ``fit(images)`` on the gallery then
``transform(images)`` for the gallery and any query: raw pixels, PCA codes, the shipped
autoencoders' codes and ImageNet MobileNet features. ``REPRESENTATIONS`` is the menu (one
line per entry); ``representation_status`` says whether an entry can be computed on this
machine and ``fit_representation`` fits one by name.

>>> images = np.zeros((4, 3, 3, 1), np.float32)
>>> fit_representation("Raw pixels", images).transform(images).shape
(4, 9)
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mml7.errors import InputError
from mml7.images import resize_batch
from mml7.inference import BATCH_SIZE
from mml7.progress import Progress, batches, scaled


def to_grey(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float32 (n, h, w, c) in [0, 1] -> grey float32 (n, *size, 1) in [0, 1]: the mean of
    the channels, resized bilinearly (antialiased when shrinking)."""
    images = np.asarray(images, dtype=np.float32)
    grey = images.mean(axis=-1, keepdims=True) if images.shape[-1] != 1 else images
    return np.clip(resize_batch(grey, tuple(size), "bilinear"), 0.0, 1.0).astype(np.float32)


class Representation:
    """Images -> vectors, learned without labels. Subclasses set ``name`` and override
    ``transform`` (and ``fit`` when they learn from the gallery's images).

    ``slow`` marks representations that take minutes on a CPU for 10,000 images.
    """

    name = "representation"
    slow = False

    def fit(self, images: np.ndarray, progress: Progress | None = None) -> Representation:
        """Learn from unlabelled images float32 (n, h, w, c) in [0, 1]. Returns self."""
        return self

    def transform(self, images: np.ndarray, progress: Progress | None = None) -> np.ndarray:
        """float32 (n, d) vectors of images float32 (n, h, w, c) in [0, 1]."""
        raise NotImplementedError

    def fit_transform(self, images: np.ndarray, progress: Progress | None = None) -> np.ndarray:
        return self.fit(images, progress).transform(images, progress)


class Pixels(Representation):
    """The raw pixels, one long vector per image (the baseline)."""

    name = "Raw pixels"

    def transform(self, images, progress=None):
        images = np.asarray(images, dtype=np.float32)
        return images.reshape(len(images), -1)


class PCACodes(Representation):
    """The first ``n_components`` principal components of the pixels (fitted on the
    gallery; k is capped by the gallery's size and pixel count)."""

    def __init__(self, n_components: int = 32, random_state: int = 0):
        self.n_components = n_components
        self.random_state = random_state
        self.name = f"PCA (k={n_components})"

    def fit(self, images, progress=None):
        from sklearn.decomposition import PCA

        pixels = Pixels().transform(images)
        k = max(1, min(int(self.n_components), pixels.shape[0], pixels.shape[1]))
        self.pca_ = PCA(n_components=k, random_state=self.random_state).fit(pixels)
        return self

    def transform(self, images, progress=None):
        if not hasattr(self, "pca_"):
            raise ValueError("fit the PCA on gallery images first")
        return self.pca_.transform(Pixels().transform(images)).astype(np.float32)


class AutoencoderCodes(Representation):
    """Codes of a shipped autoencoder (trained on Fashion-MNIST, 28x28 grey): other images
    are converted to grey and resized to 28x28 first."""

    def __init__(self, kind: str = "conv", code_size: int = 32, batch_size: int = BATCH_SIZE):
        self.kind = kind
        self.code_size = code_size
        self.batch_size = batch_size
        self.name = f"{kind.capitalize()} AE codes ({code_size})"

    def fit(self, images, progress=None):
        from mml7 import autoencoders

        self.encoder_ = autoencoders.pretrained(self.kind, self.code_size).encoder
        return self

    def transform(self, images, progress=None):
        if not hasattr(self, "encoder_"):
            self.fit(images)
        grey = to_grey(images, (28, 28))
        parts = [
            np.asarray(self.encoder_(batch, training=False))
            for batch in batches(
                grey, self.batch_size, scaled(progress, 0.0, 1.0, f"{self.name}: ")
            )
        ]
        return np.concatenate(parts).reshape(len(grey), -1).astype(np.float32)


# Input side for ImageNet features: Fashion-MNIST's 28 px upsampled to 96 keeps MobileNet
# (alpha 0.25) fast enough for a page (bench/RESULTS.md: transfer extraction speed).
IMAGENET_SIZE = 96


class ImageNetFeatures(Representation):
    """Features of an ImageNet-trained MobileNet cut at ``cut`` (``mml7.backbones``)."""

    slow = True

    def __init__(
        self,
        backbone: str = "MobileNet (alpha 0.25)",
        cut: str = "last",
        image_size: int = IMAGENET_SIZE,
        batch_size: int = 64,
    ):
        self.backbone = backbone
        self.cut = cut
        self.image_size = image_size
        self.batch_size = batch_size
        self.name = f"ImageNet {backbone}, {cut} ({image_size} px)"

    def transform(self, images, progress=None):
        from mml7 import backbones

        features = backbones.extract_features(
            np.asarray(images, dtype=np.float32),
            backbone=self.backbone,
            cut=self.cut,
            image_size=self.image_size,
            batch_size=self.batch_size,
            progress=progress,
        )
        return np.asarray(features, dtype=np.float32).reshape(len(images), -1)


@dataclass(frozen=True)
class RepresentationSpec:
    """One entry of the menu of representations.

    Attributes:
        name: the menu label.
        make: builds a fresh, unfitted ``Representation``.
        module: the mml7 module it needs (None = always there).
        slow: minutes for 10,000 images on a CPU (the page computes it on request).
    """

    name: str
    make: Callable[[], Representation]
    module: str | None = None
    slow: bool = False


# The menu, in display order. Adding a representation is one line here.
PCA_COMPONENTS = 32
REPRESENTATIONS: dict[str, RepresentationSpec] = {
    spec.name: spec
    for spec in (
        RepresentationSpec("Raw pixels", Pixels),
        RepresentationSpec(f"PCA (k={PCA_COMPONENTS})", lambda: PCACodes(PCA_COMPONENTS)),
        RepresentationSpec(
            "Conv AE codes (32)", lambda: AutoencoderCodes("conv", 32), "mml7.autoencoders"
        ),
        RepresentationSpec(
            "Denoising AE codes (64)",
            lambda: AutoencoderCodes("denoising", 64),
            "mml7.autoencoders",
        ),
        RepresentationSpec(
            "ImageNet MobileNet features",
            lambda: ImageNetFeatures(),
            "mml7.backbones",
            slow=True,
        ),
    )
}


def representation_status(name: str) -> str | None:
    """None when ``name`` can be computed here, else why not (a sentence for the UI)."""
    spec = REPRESENTATIONS.get(name)
    if spec is None:
        return f"unknown representation {name!r}; choose one of {', '.join(REPRESENTATIONS)}"
    if spec.module is None:
        return None
    if importlib.util.find_spec(spec.module) is None:
        return f"not available yet: this version of mml7 has no {spec.module}"
    if spec.module == "mml7.autoencoders":
        from mml7 import autoencoders

        representation = spec.make()
        path = autoencoders.weights_path(representation.kind, representation.code_size)
        if not path.exists():
            return (
                f"not available yet: the shipped weights {path.name} are missing "
                "(`python -m mml7 train autoencoders` makes them)"
            )
    if spec.module == "mml7.backbones":
        from mml7 import backbones

        reason = backbones.available_backbones().get(spec.make().backbone, "unknown backbone")
        if reason is not None:
            return f"ImageNet weights unavailable: {reason}"
    return None


def fit_representation(
    name: str, images: np.ndarray, progress: Progress | None = None
) -> Representation:
    """The representation ``name`` fitted on the gallery ``images`` (no labels used); its
    ``transform`` then maps the gallery and any query the same way.

    Raises:
        InputError: the representation cannot be computed here (see
            ``representation_status``).
    """
    reason = representation_status(name)
    if reason is not None:
        raise InputError(f"{name}: {reason}")
    return REPRESENTATIONS[name].make().fit(images, progress)
