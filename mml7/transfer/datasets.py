"""The advisor's data: built-in cases, a folder or zip of class folders, and the splits.

Every built-in case works offline. ``split`` gives the stratified train/validation split
every experiment shares; ``sample_indices`` a stratified subsample (a cap on the training
images, a probe's subset, a learning curve's fractions).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from mml7.data import ImageDataset
from mml7.errors import InputError, check_choice


def _fashion(per_class: int) -> ImageDataset:
    from mml7 import data

    full = data.fashion_mnist("train")
    picked = full.per_class(per_class, seed=0)
    picked.name = f"Fashion-MNIST, {per_class:,} per class"
    return picked


def _lfw() -> ImageDataset:
    from mml7 import data

    return data.lfw_faces()


def _digits() -> ImageDataset:
    from mml7 import data

    return data.digits()


# The built-in cases, name -> loader.
BUILTIN_DATASETS: dict[str, Callable[[], ImageDataset]] = {
    "LFW faces vs non-faces": _lfw,
    "Fashion-MNIST, 20 per class": functools.partial(_fashion, 20),
    "Fashion-MNIST, 1,000 per class": functools.partial(_fashion, 1000),
    "Digits (8x8)": _digits,
}


def load_dataset(name: str) -> ImageDataset:
    """The built-in case ``name`` (a key of ``BUILTIN_DATASETS``)."""
    return BUILTIN_DATASETS[check_choice(name, BUILTIN_DATASETS, "data set", lower=False)]()


def read_path(path, image_size: int = 96) -> ImageDataset:
    """A zip of class folders, or a folder of class folders, as an ImageDataset of RGB
    images ``image_size`` pixels square."""
    import io
    import zipfile
    from pathlib import Path

    from mml7 import data

    path = Path(path)
    if path.is_dir():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for file in sorted(path.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(path).as_posix())
        raw, name = buffer.getvalue(), f"{path.name}.zip"
    elif path.is_file():
        raw, name = path.read_bytes(), path.name
    else:
        raise InputError(f"{path} is neither a zip file nor a folder")
    return data.read_upload(name, raw, image_size=image_size, channels=3, min_classes=2)


def sample_indices(labels: np.ndarray, max_images: int | None, seed: int = 0) -> np.ndarray:
    """At most ``max_images`` indices, stratified by label, sorted (all when it fits)."""
    labels = np.asarray(labels)
    if max_images is None or len(labels) <= max_images:
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split

    counts = np.bincount(labels)
    stratify = labels if counts[counts > 0].min() >= 2 and max_images >= len(counts) else None
    picked, _ = train_test_split(
        np.arange(len(labels)), train_size=max_images, stratify=stratify, random_state=seed
    )
    return np.sort(picked)


def split(
    labels: np.ndarray, validation_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, validation) indices, each sorted; the same seed gives the same
    split. Every class needs 2 images, so that each side gets one."""
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    present = np.unique(labels)
    counts = np.bincount(labels)[present]
    if len(present) < 2:
        raise InputError("the data set needs at least 2 classes")
    if counts.min() < 2:
        raise InputError(
            f"every class needs at least 2 images for a train/validation split "
            f"(the smallest has {counts.min()})"
        )
    validation_size = max(int(round(validation_fraction * len(labels))), len(present))
    train, validation = train_test_split(
        np.arange(len(labels)), test_size=validation_size, stratify=labels, random_state=seed
    )
    return np.sort(train), np.sort(validation)
