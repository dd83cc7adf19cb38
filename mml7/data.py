"""Data sets: one image-data-set type, its loaders, uploads and generated segmentation sets.

Every loader returns images as float32 arrays of shape (n, h, w, c) in [0, 1], so models
and plots never guess a range. Nothing here downloads unless Keras itself does (for
Fashion-MNIST, on a connected machine without the Debian package).
"""

from __future__ import annotations

import functools
import gzip
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageOps

from mml7.errors import DatasetUnavailable, InputError

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

# Upload limits. They guard memory against zip bombs and decompression bombs; a class
# folder set for this course is a few thousand small images at most.
MAX_MEMBERS = 20_000  # files in one zip
MAX_UNCOMPRESSED_BYTES = 1 << 30  # 1 GiB of declared member sizes
MAX_IMAGE_PIXELS = 40_000_000  # one image (e.g. 8000 x 5000); larger is skipped
MAX_TOTAL_PIXELS = 400_000_000  # all decoded images of one upload together
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


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
        DatasetUnavailable: neither the Debian package nor Keras (cache or download) has it.
    """
    split = split.lower()
    if split not in _FASHION_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    images, labels, source = _fashion_mnist_uint8(split)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return ImageDataset(
        (images[..., None] / np.float32(255)).astype(np.float32),
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


def _as_rgb_float(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    return (image / np.float32(255)).astype(np.float32)


# --------------------------------------------------------------------------- uploads


def _normalise(image: Image.Image, channels: int) -> Image.Image:
    """Any PIL mode (1, L, P, RGBA, LA, CMYK, I;16, I, F) -> "L" or "RGB" (8 bit)."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        # 16-bit PNGs open as "I;16" or "I": scale by the 16-bit range unless the values
        # fit in 8 bits already.
        scale = 65535.0 if values.max(initial=0) > 255 else 255.0
        image = Image.fromarray(np.clip(values / scale * 255.0, 0, 255).astype(np.uint8))
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA"):
        # Transparent pixels become white, as an image viewer shows them on a page.
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert("L" if channels == 1 else "RGB")


def _size_pair(image_size) -> tuple[int, int] | None:
    if image_size is None:
        return None
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    height, width = (int(side) for side in image_size)
    if not (1 <= height <= 4096 and 1 <= width <= 4096):
        raise ValueError(f"image_size must be between 1 and 4096 pixels, got {image_size}")
    return height, width


def _decode(data: bytes, channels: int, size: tuple[int, int] | None) -> np.ndarray:
    """Bytes -> float32 (h, w, channels) in [0, 1]. Raises ``_Unreadable`` with a reason."""
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
    except Image.DecompressionBombError as error:
        raise _Unreadable("image too large to open safely") from error
    except Exception as error:
        raise _Unreadable("not an image Pillow can read") from error
    if width * height > MAX_IMAGE_PIXELS:
        raise _Unreadable(
            f"image is {width} x {height} pixels; at most {MAX_IMAGE_PIXELS:,} pixels are accepted"
        )
    try:
        image.load()
        image = _normalise(image, channels)
        if size is not None and image.size != (size[1], size[0]):
            image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        array = np.asarray(image, dtype=np.float32) / np.float32(255)
    except Exception as error:  # truncated files and broken codecs raise many types
        raise _Unreadable(f"damaged or truncated image ({type(error).__name__})") from error
    return array[..., None] if array.ndim == 2 else array


class _Unreadable(Exception):
    """One upload member could not be decoded; the message is the reason."""


def _member_path(name: str) -> PurePosixPath | None:
    """A zip member name as a relative path, or None when it is unsafe or not a file."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    path = PurePosixPath(name)
    if any(part in ("..", "") for part in path.parts):
        return None
    return path


def read_upload(
    filename: str,
    data: bytes,
    image_size: int | tuple[int, int] | None = 64,
    channels: int = 3,
    min_classes: int = 0,
    max_members: int = MAX_MEMBERS,
    max_total_pixels: int = MAX_TOTAL_PIXELS,
) -> ImageDataset:
    """Read an uploaded zip of class folders, or a single image, into an ImageDataset.

    A zip's top-level folders are the class names (``cats/1.jpg``, ``dogs/7.png``); one
    wrapping folder around them (``pets/cats/1.jpg``) is accepted too. Nothing is written
    to disk: members are decoded in memory. Damaged, truncated, oversized and non-image
    members are skipped and listed in ``skipped`` as (member, reason).

    Args:
        filename: the upload's name, used for messages and the data set's name.
        data: the file's bytes.
        image_size: every image is resized to this (h, w) (an int means square). None
            keeps a single image's own size; a zip then takes its first image's size.
        channels: 1 (grey) or 3 (RGB); grey, RGBA, palette and 16-bit images are converted.
        min_classes: raise unless the zip has at least this many classes (a classifier
            needs 2).
        max_members: more files than this in a zip is refused.
        max_total_pixels: more decoded pixels than this in all is refused.

    Returns:
        ImageDataset with images float32 (n, h, w, channels) in [0, 1].

    Raises:
        InputError: not a zip or an image; too many members or pixels; no readable
            image; fewer than ``min_classes`` classes.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    size = _size_pair(image_size)
    if not data:
        raise InputError(f"'{filename}' is empty.")
    if zipfile.is_zipfile(io.BytesIO(data)):
        return _read_zip(filename, data, size, channels, min_classes, max_members, max_total_pixels)
    try:
        image = _decode(data, channels, size)
    except _Unreadable as error:
        if filename.lower().endswith(".zip"):
            raise InputError(
                f"'{filename}' is not a readable zip archive (damaged, cut short, or not a "
                "zip file). Upload a .zip whose top-level folders are class names."
            ) from None
        raise InputError(
            f"'{filename}' is neither a zip of class folders nor a readable image: {error}. "
            "Upload a PNG/JPEG image, or a .zip whose top-level folders are class names."
        ) from None
    if min_classes > 1:
        raise InputError(
            f"'{filename}' is a single image, but this needs at least {min_classes} classes: "
            "upload a .zip with one folder of images per class."
        )
    stem = Path(filename).stem or "image"
    return ImageDataset(
        image[None], np.zeros(1, dtype=np.int64), [stem], stem, f"upload: {filename}"
    )


def _human_bytes(count: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def _read_zip(filename, data, size, channels, min_classes, max_members, max_total_pixels):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise InputError(f"'{filename}' is a damaged zip archive: {error}") from None
    if len(members) > max_members:
        raise InputError(
            f"'{filename}' has {len(members):,} files; at most {max_members:,} are accepted."
        )
    declared = sum(info.file_size for info in members)
    if declared > MAX_UNCOMPRESSED_BYTES:
        raise InputError(
            f"'{filename}' unpacks to {_human_bytes(declared)}; at most "
            f"{_human_bytes(MAX_UNCOMPRESSED_BYTES)} is accepted."
        )

    skipped: list[tuple[str, str]] = []
    labelled: list[tuple[str, zipfile.ZipInfo]] = []
    paths = {}
    for info in members:
        path = _member_path(info.filename)
        if path is None:
            skipped.append((info.filename, "unsafe path (absolute or with '..'), ignored"))
            continue
        if path.name.startswith(".") or path.parts[0] == "__MACOSX":
            continue  # Finder and editor metadata, not data
        paths[info.filename] = path
    # "pets/cats/1.jpg" and "pets/dogs/2.jpg": strip the one wrapping folder.
    tops = {path.parts[0] for path in paths.values()}
    strip = len(tops) == 1 and all(len(path.parts) >= 3 for path in paths.values())
    for info in members:
        path = paths.get(info.filename)
        if path is None:
            continue
        parts = path.parts[1:] if strip else path.parts
        if len(parts) < 2:
            skipped.append((info.filename, "not inside a class folder"))
        elif path.suffix.lower() == ".zip":
            skipped.append((info.filename, "nested zip archives are not read"))
        elif path.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append((info.filename, f"not an image file ({path.suffix or 'no extension'})"))
        else:
            labelled.append((parts[0], info))

    images, class_of = [], []
    total_pixels = 0
    for class_name, info in labelled:
        try:
            raw = archive.read(info)
            image = _decode(raw, channels, size)
        except _Unreadable as error:
            skipped.append((info.filename, str(error)))
            continue
        except Exception as error:  # CRC errors, unsupported compression, ...
            skipped.append((info.filename, f"cannot be unpacked ({type(error).__name__})"))
            continue
        if size is None:
            size = image.shape[:2]
        total_pixels += image.shape[0] * image.shape[1]
        if total_pixels > max_total_pixels:
            raise InputError(
                f"'{filename}' decodes to more than {max_total_pixels:,} pixels; "
                "upload fewer or smaller images."
            )
        images.append(image)
        class_of.append(class_name)

    if not images:
        reasons = "; ".join(f"{name}: {why}" for name, why in skipped[:3])
        raise InputError(
            f"'{filename}' contains no readable image in a class folder"
            + (f" ({reasons})." if reasons else ".")
            + " Expected layout: class_a/img1.png, class_b/img2.jpg, ..."
        )
    class_names = sorted(set(class_of))
    if len(class_names) < min_classes:
        raise InputError(
            f"'{filename}' has {len(class_names)} class folder(s) with images "
            f"({', '.join(class_names)}); at least {min_classes} are needed."
        )
    index = {name: i for i, name in enumerate(class_names)}
    return ImageDataset(
        np.stack(images).astype(np.float32),
        np.array([index[name] for name in class_of], dtype=np.int64),
        class_names,
        Path(filename).stem,
        f"upload: {filename} ({len(images)} images)",
        skipped,
    )


# --------------------------------------------------------------------------- segmentation

SHAPE_CLASSES = ("background", "disc", "square", "triangle")


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth random background, float32 (size, size, 3): blurred noise plus stripes."""
    coarse = rng.random((size // 8 + 2, size // 8 + 2, 3))
    image = np.asarray(
        Image.fromarray((coarse * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC),
        dtype=np.float32,
    ) / np.float32(255)
    yy, xx = np.mgrid[0:size, 0:size]
    angle, period = rng.uniform(0, np.pi), rng.uniform(6, 16)
    stripes = 0.5 + 0.5 * np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    image = 0.35 + 0.3 * image + 0.12 * stripes[..., None]
    return image.astype(np.float32)


def _shape_mask(kind: str, rng: np.random.Generator, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    radius = rng.uniform(0.12, 0.24) * size
    cy, cx = rng.uniform(radius * 0.6, size - radius * 0.6, size=2)
    if kind == "disc":
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    if kind == "square":
        angle = rng.uniform(0, np.pi / 2)
        u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
        v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
        half = radius * 0.85
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    # Equilateral triangle: inside all three half-planes.
    angle = rng.uniform(0, 2 * np.pi)
    corners = [
        (
            cx + radius * np.cos(angle + k * 2 * np.pi / 3),
            cy + radius * np.sin(angle + k * 2 * np.pi / 3),
        )
        for k in range(3)
    ]
    inside = np.ones((size, size), dtype=bool)
    for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1], strict=True):
        cross = (x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0)
        inside &= cross >= 0
    return inside


def make_shapes_segmentation(n: int, image_size: int = 64, seed: int = 0) -> SegmentationDataset:
    """Procedural scenes: discs, squares and triangles on a textured background.

    Each image has 1-4 shapes of random colour, size, position and rotation; later shapes
    cover earlier ones, and the mask says which shape owns each pixel (exact, no
    anti-aliasing). Deterministic for a ``seed``.

    Returns:
        SegmentationDataset: images float32 (n, s, s, 3) in [0, 1], masks uint8 (n, s, s)
        with 0 = background, 1 = disc, 2 = square, 3 = triangle.
    """
    if n < 1 or image_size < 16:
        raise ValueError(f"need n >= 1 and image_size >= 16, got n={n}, image_size={image_size}")
    rng = np.random.default_rng(seed)
    images = np.empty((n, image_size, image_size, 3), dtype=np.float32)
    masks = np.zeros((n, image_size, image_size), dtype=np.uint8)
    for i in range(n):
        image = _texture(rng, image_size)
        for _ in range(rng.integers(1, 5)):
            label = int(rng.integers(1, len(SHAPE_CLASSES)))
            inside = _shape_mask(SHAPE_CLASSES[label], rng, image_size)
            colour = rng.uniform(0, 1, size=3).astype(np.float32)
            shade = 1 + 0.15 * (rng.random((image_size, image_size, 1)) - 0.5)
            image = np.where(inside[..., None], np.clip(colour * shade, 0, 1), image)
            masks[i][inside] = label
        images[i] = image
    return SegmentationDataset(
        images,
        masks,
        list(SHAPE_CLASSES),
        "Shapes",
        f"generated: {n} scenes, {image_size} px, seed {seed}",
    )


def make_fashion_composites(
    n: int, image_size: int = 64, seed: int = 0, split: str = "train"
) -> SegmentationDataset:
    """Fashion-MNIST items pasted on a black canvas (M2NIST-style).

    2-4 items per canvas at random positions, overlaps allowed (a later item covers an
    earlier one where its pixels are on, i.e. above 0.1). Mask = 1 + the item's class.

    Raises:
        DatasetUnavailable: Fashion-MNIST is not available (see ``fashion_mnist``).
    """
    if n < 1 or image_size < 28:
        raise ValueError(f"need n >= 1 and image_size >= 28, got n={n}, image_size={image_size}")
    source = fashion_mnist(split)
    rng = np.random.default_rng(seed)
    images = np.zeros((n, image_size, image_size, 1), dtype=np.float32)
    masks = np.zeros((n, image_size, image_size), dtype=np.uint8)
    for i in range(n):
        for _ in range(rng.integers(2, 5)):
            item = int(rng.integers(len(source)))
            top, left = rng.integers(0, image_size - 28 + 1, size=2)
            pixels = source.images[item, :, :, 0]
            on = pixels > 0.1
            window = (slice(top, top + 28), slice(left, left + 28))
            images[i][window][on, 0] = pixels[on]
            masks[i][window][on] = source.labels[item] + 1
    return SegmentationDataset(
        images,
        masks,
        ["background", *FASHION_MNIST_CLASSES],
        "Fashion composites",
        f"generated from Fashion-MNIST ({split}): {n} canvases, {image_size} px, seed {seed}",
    )
