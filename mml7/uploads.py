"""Uploads: the one policy every upload reader follows, and the class-folder reader.

The policy guards memory against zip bombs and decompression bombs, and the disk against
members that name paths outside a folder: a zip is refused when it has more than
``MAX_MEMBERS`` files or declares more than ``MAX_UNCOMPRESSED_BYTES`` unpacked; an image
of more than ``MAX_IMAGE_PIXELS`` pixels is refused before it is decoded; an upload whose
decoded images add up to more than ``MAX_TOTAL_PIXELS`` is refused. Nothing is written to
disk: members are decoded in memory. Readers of a zip go through ``open_zip``,
``member_path``, ``decode_image`` and ``PixelBudget``; ``read_upload`` (class folders or
one image) is here, ``mml7.segmentation.read_segmentation_upload`` (images/ and masks/)
with the segmentation code.

The limits are read when a reader runs, so a test can lower one with ``monkeypatch``.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageOps

# A module reference, not names: mml7.data imports this module to re-export read_upload.
from mml7 import data as datasets
from mml7.errors import InputError

# A class-folder set for this course is a few thousand small images at most.
MAX_MEMBERS = 20_000  # files in one zip
MAX_UNCOMPRESSED_BYTES = 1 << 30  # 1 GiB of declared member sizes
MAX_IMAGE_PIXELS = 40_000_000  # one image (e.g. 8000 x 5000); larger is refused
MAX_TOTAL_PIXELS = 400_000_000  # all decoded images of one upload together
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class Unreadable(Exception):
    """One upload member could not be decoded; the message is the reason."""


# --------------------------------------------------------------------------- the policy


def is_zip(data: bytes) -> bool:
    return zipfile.is_zipfile(io.BytesIO(data))


def open_zip(
    filename: str, data: bytes, max_members: int | None = None
) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The archive and its file members (folders left out), once the limits hold.

    Raises:
        InputError: a damaged archive; more than ``max_members`` (default
            ``MAX_MEMBERS``) files; more than ``MAX_UNCOMPRESSED_BYTES`` declared unpacked.
    """
    max_members = MAX_MEMBERS if max_members is None else max_members
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
    return archive, members


def member_path(name: str) -> PurePosixPath | None:
    """A zip member name as a relative path, or None when it is unsafe (absolute, with a
    drive letter, '..' or an empty part)."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    path = PurePosixPath(name)
    if any(part in ("..", "") for part in path.parts):
        return None
    return path


def is_metadata(path: PurePosixPath) -> bool:
    """Finder and editor files (``.DS_Store``, ``__MACOSX/``), not data."""
    return path.name.startswith(".") or "__MACOSX" in path.parts


def decode_image(data: bytes, channels: int, size: tuple[int, int] | None = None) -> np.ndarray:
    """Bytes -> float32 (h, w, channels) in [0, 1], resized bilinearly to ``size`` (h, w).

    The image's size is read from its header and checked against ``MAX_IMAGE_PIXELS``
    before any pixel is decoded.

    Raises:
        Unreadable: not an image, too large, damaged or truncated; the message says which.
    """
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
    except Image.DecompressionBombError as error:
        raise Unreadable("image too large to open safely") from error
    except Exception as error:
        raise Unreadable("not an image Pillow can read") from error
    if width * height > MAX_IMAGE_PIXELS:
        raise Unreadable(
            f"image is {width} x {height} pixels; at most {MAX_IMAGE_PIXELS:,} pixels are accepted"
        )
    try:
        image.load()
        image = _normalise(image, channels)
        if size is not None and image.size != (size[1], size[0]):
            image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        array = np.asarray(image, dtype=np.float32) / np.float32(255)
    except Exception as error:  # truncated files and broken codecs raise many types
        raise Unreadable(f"damaged or truncated image ({type(error).__name__})") from error
    return array[..., None] if array.ndim == 2 else array


class PixelBudget:
    """Counts the decoded pixels of one upload; ``add`` refuses the upload past the limit."""

    def __init__(self, filename: str, limit: int | None = None):
        self.filename = filename
        self.limit = MAX_TOTAL_PIXELS if limit is None else limit
        self.used = 0

    def add(self, image: np.ndarray) -> None:
        """Count ``image`` (h, w, ...). Raises InputError once the total is over the limit."""
        self.used += int(image.shape[0]) * int(image.shape[1])
        if self.used > self.limit:
            raise InputError(
                f"'{self.filename}' decodes to more than {self.limit:,} pixels; "
                "upload fewer or smaller images."
            )


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


def _human_bytes(count: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def _size_pair(image_size) -> tuple[int, int] | None:
    if image_size is None:
        return None
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    height, width = (int(side) for side in image_size)
    if not (1 <= height <= 4096 and 1 <= width <= 4096):
        raise ValueError(f"image_size must be between 1 and 4096 pixels, got {image_size}")
    return height, width


# --------------------------------------------------------------------------- class folders


def read_upload(
    filename: str,
    data: bytes,
    image_size: int | tuple[int, int] | None = 64,
    channels: int = 3,
    min_classes: int = 0,
    max_members: int | None = None,
    max_total_pixels: int | None = None,
) -> datasets.ImageDataset:
    """Read an uploaded zip of class folders, or a single image, into an ImageDataset.

    A zip's top-level folders are the class names (``cats/1.jpg``, ``dogs/7.png``); one
    wrapping folder around them (``pets/cats/1.jpg``) is accepted too. Damaged,
    truncated, oversized and non-image members are skipped and listed in ``skipped`` as
    (member, reason).

    Args:
        filename: the upload's name, used for messages and the data set's name.
        data: the file's bytes.
        image_size: every image is resized to this (h, w) (an int means square). None
            keeps a single image's own size; a zip then takes its first image's size.
        channels: 1 (grey) or 3 (RGB); grey, RGBA, palette and 16-bit images are converted.
        min_classes: raise unless the zip has at least this many classes (a classifier
            needs 2).
        max_members: more files than this in a zip is refused (default ``MAX_MEMBERS``).
        max_total_pixels: more decoded pixels than this in all is refused (default
            ``MAX_TOTAL_PIXELS``).

    Returns:
        ImageDataset with images float32 (n, h, w, channels) in [0, 1].

    Raises:
        InputError: not a zip or an image; too many members, bytes or pixels; no readable
            image; fewer than ``min_classes`` classes.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    size = _size_pair(image_size)
    if not data:
        raise InputError(f"'{filename}' is empty.")
    if is_zip(data):
        archive, members = open_zip(filename, data, max_members)
        return _read_class_folders(
            filename, archive, members, size, channels, min_classes, max_total_pixels
        )
    try:
        image = decode_image(data, channels, size)
    except Unreadable as error:
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
    return datasets.ImageDataset(
        image[None], np.zeros(1, dtype=np.int64), [stem], stem, f"upload: {filename}"
    )


def read_image(
    filename: str, data: bytes, channels: int = 3, max_side: int | None = None
) -> np.ndarray:
    """Read one uploaded image, for an uploader that takes a single image (not a zip).

    Args:
        filename: the upload's name, for messages.
        data: the file's bytes.
        channels: 1 (grey) or 3 (RGB).
        max_side: when set, an image whose longer side is larger is scaled down to it
            (aspect kept).

    Returns:
        float32 (h, w, channels) in [0, 1].

    Raises:
        InputError: empty, a zip archive, or not a readable image; the message speaks
            of images.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if not data:
        raise InputError(f"'{filename}' is empty; upload an image (PNG, JPEG, ...).")
    if is_zip(data) or filename.lower().endswith(".zip"):
        raise InputError(f"'{filename}' is a zip archive; this takes one image (PNG, JPEG, ...).")
    try:
        image = decode_image(data, channels, None)
    except Unreadable as error:
        raise InputError(
            f"'{filename}' is not a readable image ({error}); upload a PNG, JPEG, BMP, GIF, "
            "TIFF or WebP image."
        ) from None
    if max_side is not None and max(image.shape[:2]) > max_side:
        from mml7.images import resize

        scale = max_side / max(image.shape[:2])
        size = tuple(max(int(round(side * scale)), 1) for side in image.shape[:2])
        image = resize(image, size, "box")
    return image


def _class_members(members: list[zipfile.ZipInfo]):
    """(labelled, skipped): (class name, member) of each image in a class folder, and
    (member name, reason) of each member that is not one."""
    skipped: list[tuple[str, str]] = []
    paths = {}
    for info in members:
        path = member_path(info.filename)
        if path is None:
            skipped.append((info.filename, "unsafe path (absolute or with '..'), ignored"))
        elif not is_metadata(path):
            paths[info.filename] = path
    # "pets/cats/1.jpg" and "pets/dogs/2.jpg": strip the one wrapping folder.
    tops = {path.parts[0] for path in paths.values()}
    strip = len(tops) == 1 and all(len(path.parts) >= 3 for path in paths.values())
    labelled: list[tuple[str, zipfile.ZipInfo]] = []
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
    return labelled, skipped


def _read_class_folders(filename, archive, members, size, channels, min_classes, max_total_pixels):
    labelled, skipped = _class_members(members)
    budget = PixelBudget(filename, max_total_pixels)
    images, class_of = [], []
    for class_name, info in labelled:
        try:
            image = decode_image(archive.read(info), channels, size)
        except Unreadable as error:
            skipped.append((info.filename, str(error)))
            continue
        except Exception as error:  # CRC errors, unsupported compression, ...
            skipped.append((info.filename, f"cannot be unpacked ({type(error).__name__})"))
            continue
        if size is None:
            size = image.shape[:2]
        budget.add(image)
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
    return datasets.ImageDataset(
        np.stack(images).astype(np.float32),
        np.array([index[name] for name in class_of], dtype=np.int64),
        class_names,
        Path(filename).stem,
        f"upload: {filename} ({len(images)} images)",
        skipped,
    )
