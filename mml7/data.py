"""Data sets: the labelled-image and segmentation types and the built-in data sets.

Every loader returns images as float32 arrays of shape (n, h, w, c) in [0, 1], so models
and plots never guess a range. Nothing here downloads unless Keras itself does (for
Fashion-MNIST, on a connected machine without the Debian package).

Uploads (``read_upload``) are read by ``mml7.uploads`` and the generated segmentation
scenes (``make_shapes_segmentation``, ``make_thin_segmentation``, ``make_fashion_composites``,
``SHAPE_CLASSES``, ``THIN_CLASSES``) made by ``mml7.scenes``; both are re-exported here, where callers know them.
"""

from __future__ import annotations

import functools
import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mml7.errors import DatasetUnavailable, check_choice
from mml7.scenes import (
    SHAPE_CLASSES,
    THIN_CLASSES,
    make_fashion_composites,
    make_shapes_segmentation,
    make_thin_segmentation,
)
from mml7.uploads import read_upload

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR",
    "FASHION_MNIST_HOWTO",
    "SHAPE_CLASSES",
    "THIN_CLASSES",
    "ImageDataset",
    "SegmentationDataset",
    "digits",
    "fashion_mnist",
    "fashion_mnist_dir",
    "fashion_mnist_location",
    "keras_home",
    "lfw_faces",
    "make_fashion_composites",
    "make_shapes_segmentation",
    "make_thin_segmentation",
    "read_upload",
    "sample_photos",
]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


@dataclass
class ImageDataset:
    """Labelled images.

    Attributes:
        images: float32 array (n, h, w, c) in [0, 1], c = 1 (grey) or 3 (RGB).
        labels: int64 array (n,) of indices into ``class_names``.
        class_names: one name per class.
        name: short name for menus, e.g. "Fashion-MNIST (test)".
        source: one line for the UI saying where the data came from.
        skipped: (member, reason) for each upload member that was not used.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    name: str
    source: str
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self):
        if self.images.ndim != 4:
            raise ValueError(f"images must be (n, h, w, c), got shape {self.images.shape}")
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def images_per_class(self) -> np.ndarray:
        """Count of images of each class, int array (num_classes,)."""
        return np.bincount(self.labels, minlength=self.num_classes)

    def subset(self, indices, name: str | None = None) -> ImageDataset:
        """The images at ``indices`` (same classes)."""
        indices = np.asarray(indices)
        return ImageDataset(
            self.images[indices],
            self.labels[indices],
            list(self.class_names),
            name or self.name,
            self.source,
        )

    def per_class(self, count: int, seed: int = 0) -> ImageDataset:
        """At most ``count`` images of each class, drawn at random with ``seed``."""
        rng = np.random.default_rng(seed)
        picked = [
            rng.permutation(np.flatnonzero(self.labels == label))[:count]
            for label in range(self.num_classes)
        ]
        indices = np.sort(np.concatenate(picked))
        return self.subset(indices, f"{self.name}, {count} per class")


@dataclass
class SegmentationDataset:
    """Images with a class index per pixel.

    Attributes:
        images: float32 array (n, h, w, c) in [0, 1].
        masks: uint8 array (n, h, w) of indices into ``class_names``; 0 is background.
        class_names: one name per class, "background" first.
        name: short name for menus.
        source: one line for the UI.
        skipped: (member, reason) for each upload member that was not used.
    """

    images: np.ndarray
    masks: np.ndarray
    class_names: list[str]
    name: str = "segmentation"
    source: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


# --------------------------------------------------------------------------- loaders


def _read_idx_gz(path: Path) -> np.ndarray:
    """Read a gzipped IDX file (the MNIST format) into a uint8 array."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def keras_home() -> Path:
    """Where Keras keeps downloaded weights and data sets (``$KERAS_HOME`` or ~/.keras)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))


def fashion_mnist_dir() -> Path:
    """The Debian package's folder, or ``$MML7_FASHION_MNIST_DIR`` when set."""
    return Path(os.environ.get("MML7_FASHION_MNIST_DIR", FASHION_MNIST_DIR))


def fashion_mnist_location() -> str | None:
    """Where Fashion-MNIST is on this machine ("debian", "keras-cache"), or None."""
    names = [name for pair in _FASHION_FILES.values() for name in pair]
    if all((fashion_mnist_dir() / name).exists() for name in names):
        return "debian"
    if all((keras_home() / "datasets" / "fashion-mnist" / name).exists() for name in names):
        return "keras-cache"
    return None


FASHION_MNIST_HOWTO = (
    "Fashion-MNIST is not on this machine. Install it with "
    "`sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or run once with "
    "internet access so Keras downloads it to ~/.keras/datasets/."
)


@functools.lru_cache(maxsize=2)
def _fashion_mnist_uint8(split: str) -> tuple[np.ndarray, np.ndarray, str]:
    images_name, labels_name = _FASHION_FILES[split]
    folder = fashion_mnist_dir()
    if (folder / images_name).exists() and (folder / labels_name).exists():
        return (
            _read_idx_gz(folder / images_name),
            _read_idx_gz(folder / labels_name),
            f"Debian package dataset-fashion-mnist ({folder})",
        )
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    except Exception as error:  # Keras raises several types for "could not download".
        raise DatasetUnavailable(f"{FASHION_MNIST_HOWTO} (Keras said: {error})") from error
    images, labels = (x_train, y_train) if split == "train" else (x_test, y_test)
    return images, labels, "Keras cache (~/.keras/datasets/fashion-mnist)"


def fashion_mnist(split: str = "train", limit: int | None = None) -> ImageDataset:
    """Fashion-MNIST: 28x28 grey clothing images in 10 classes (60,000 train, 10,000 test).

    Args:
        split: "train" or "test".
        limit: keep only the first ``limit`` images (the files' order), or all.

    Raises:
        InputError: ``split`` is neither "train" nor "test".
        DatasetUnavailable: neither the Debian package nor Keras (cache or download) has it.
    """
    split = check_choice(split, _FASHION_FILES, "split")
    images, labels, source = _fashion_mnist_uint8(split)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    scaled = images[..., None].astype(np.float32)
    scaled /= np.float32(255)  # in place: one float copy (188 MB for train), not two
    return ImageDataset(
        scaled,
        labels.astype(np.int64),
        list(FASHION_MNIST_CLASSES),
        f"Fashion-MNIST ({split})",
        source,
    )


def digits() -> ImageDataset:
    """scikit-learn's handwritten digits: 1,797 grey 8x8 images, 10 classes."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return ImageDataset(
        (bunch.images[..., None] / 16.0).astype(np.float32),
        bunch.target.astype(np.int64),
        [str(digit) for digit in range(10)],
        "Digits (8x8)",
        "scikit-learn load_digits (bundled)",
    )


def lfw_faces() -> ImageDataset:
    """scikit-image's LFW subset: 100 face crops and 100 non-face crops, grey 25x25.

    The lecture's "ImageNet has no faces" case, small enough for any laptop.
    """
    from skimage import data as skdata

    images = skdata.lfw_subset().astype(np.float32)
    labels = np.repeat([1, 0], [100, 100]).astype(np.int64)  # first 100 are faces
    return ImageDataset(
        images[..., None],
        labels,
        ["non-face", "face"],
        "LFW faces vs non-faces",
        "scikit-image data.lfw_subset (bundled)",
    )


def sample_photos() -> dict[str, np.ndarray]:
    """The photos bundled with scikit-learn and scikit-image, name -> float32 (h, w, 3) RGB."""
    from skimage import data as skdata
    from sklearn.datasets import load_sample_images

    photos: dict[str, np.ndarray] = {}
    bunch = load_sample_images()
    for filename, image in zip(bunch.filenames, bunch.images, strict=True):
        photos[Path(filename).stem] = image
    for name in ("chelsea", "astronaut", "coffee", "camera"):
        photos[name] = getattr(skdata, name)()
    return {name: _as_rgb_float(image) for name, image in photos.items()}


def photo_crops(count: int, size: int = 96, seed: int = 0) -> np.ndarray:
    """``count`` square crops (30-80% of the short side, resized to ``size``) of the bundled
    photos (``sample_photos``, in turn): float32 (count, size, size, 3) in [0, 1]. Everyday
    photos for the ImageNet-similarity scale; crops of one photo are alike, so they are no
    data set to split into training and validation."""
    from mml7.images import resize_batch

    rng = np.random.default_rng(seed)
    photos = list(sample_photos().values())
    crops = []
    for index in range(count):
        photo = photos[index % len(photos)]
        side = int(min(photo.shape[:2]) * rng.uniform(0.3, 0.8))
        top = rng.integers(0, photo.shape[0] - side + 1)
        left = rng.integers(0, photo.shape[1] - side + 1)
        crop = photo[top : top + side, left : left + side]
        crops.append(resize_batch(crop[None], (size, size))[0])
    return np.stack(crops).astype(np.float32)


def _as_rgb_float(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    return (image / np.float32(255)).astype(np.float32)
