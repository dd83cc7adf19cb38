"""Galleries and queries: the images a page searches among, and what it shows of them.

A gallery is an ``ImageDataset``: one of the built-in ``GALLERIES`` or an uploaded zip of
class folders. An uploaded query image is made like the gallery (size, channels) before it
is searched for. ``thumbnail`` enlarges small images sharply for display; ``page_count``
and ``gallery_page`` split a gallery into pages of thumbnail rows.

>>> thumbnail(np.ones((8, 8, 1), np.float32), 84).shape
(80, 80)
"""

from __future__ import annotations

import numpy as np

from mml7 import data
from mml7.errors import InputError, check_choice
from mml7.uploads import read_image


def thumbnail(image: np.ndarray, size: int = 84) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) of a float32 (h, w, c) image in [0, 1], enlarged by an
    integer factor (nearest neighbour, so pixels stay sharp) to about ``size`` pixels."""
    image = np.asarray(image, dtype=np.float32)
    scale = max(1, size // max(image.shape[:2]))
    image = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
    image = np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)
    return image[..., 0] if image.shape[-1] == 1 else image


GALLERIES = ("Fashion-MNIST (test)", "LFW faces vs non-faces", "Digits (8x8)")
# Uploaded galleries are resized to this (h, w), in colour.
UPLOAD_IMAGE_SIZE = 48


def load_gallery(name: str) -> data.ImageDataset:
    """One of ``GALLERIES`` as an ImageDataset.

    Raises:
        InputError: ``name`` is none of ``GALLERIES``.
        DatasetUnavailable: Fashion-MNIST is not on this machine.
    """
    loaders = {
        "Fashion-MNIST (test)": lambda: data.fashion_mnist("test"),
        "LFW faces vs non-faces": data.lfw_faces,
        "Digits (8x8)": data.digits,
    }
    return loaders[check_choice(name, GALLERIES, "gallery", lower=False)]()


def read_gallery_upload(filename: str, payload: bytes) -> data.ImageDataset:
    """An uploaded zip of class folders as a gallery (colour, 48x48), read under the
    upload policy of ``mml7.uploads`` (each image decoded at reduced size).

    Raises:
        InputError: unreadable upload, over a limit of the policy, or fewer than 2 images.
    """
    gallery = data.read_upload(filename, payload, image_size=UPLOAD_IMAGE_SIZE, channels=3)
    if len(gallery) < 2:
        raise InputError(
            f"'{filename}' gives {len(gallery)} image; a gallery needs at least 2: upload "
            "a .zip of class folders (cats/1.png, dogs/2.jpg, ...)"
        )
    return gallery


def prepare_query(filename: str, payload: bytes, gallery_images: np.ndarray) -> np.ndarray:
    """An uploaded image as a query, preprocessed like the gallery: resized to the gallery's
    (h, w) (decoded at reduced size when large) and converted to its channels.

    Returns:
        float32 (1, h, w, c) in [0, 1].

    Raises:
        InputError: not a readable image (a zip included), or over a limit of the policy.
    """
    height, width, channels = np.asarray(gallery_images).shape[1:]
    if channels not in (1, 3):
        raise InputError(f"galleries of {channels}-channel images cannot take an uploaded query")
    return read_image(filename, payload, channels, size=(height, width))[None]


def page_count(num_items: int, per_page: int) -> int:
    """How many pages of ``per_page`` items show ``num_items`` (at least 1)."""
    return max(1, -(-int(num_items) // int(per_page)))


def gallery_page(num_items: int, page: int, per_page: int, columns: int) -> list[range]:
    """The rows of item indices on ``page`` (1-based) of a gallery of ``num_items`` shown
    ``per_page`` at a time in rows of ``columns``; the last row may be shorter.

    >>> gallery_page(10, 2, per_page=6, columns=4)
    [range(6, 10)]
    """
    first = (int(page) - 1) * per_page
    last = min(first + per_page, num_items)
    return [range(start, min(start + columns, last)) for start in range(first, last, columns)]
