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
    counts = np.bincount(labels)  # too few images of a class to stratify: a plain subset
    stratify = labels if counts[counts > 0].min() >= 2 and max_images >= len(counts) else None
    picked, _ = shuffle_split(stratify, max_images, len(labels) - max_images, seed, len(labels))
    return picked


def split(
    labels: np.ndarray, validation_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, validation) indices, each sorted; the same seed gives the same
    split. Every class needs 2 images, so that each side gets one."""
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
    return shuffle_split(labels, len(labels) - validation_size, validation_size, seed)


def shuffle_split(
    labels: np.ndarray | None, n_train: int, n_test: int, seed: int, n: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The index sets (train, test), each sorted, that scikit-learn's
    ``train_test_split(np.arange(n), train_size=n_train, test_size=n_test,
    stratify=labels, random_state=seed)`` draws (its ``StratifiedShuffleSplit``, or
    ``ShuffleSplit`` when ``labels`` is None and ``n`` gives the count), the same
    ``RandomState`` draws in the same order.

    Why not call scikit-learn: a training process would import it (with SciPy and pandas)
    for this alone, 0.13 GB of the advisor's training job; the sets are checked equal to
    scikit-learn's in tests/library/test_transfer.py.
    """
    rng = np.random.RandomState(seed)
    if labels is None:
        order = rng.permutation(n)
        return np.sort(order[n_test : n_test + n_train]), np.sort(order[:n_test])
    _, y_indices = np.unique(labels, return_inverse=True)
    class_counts = np.bincount(y_indices)
    by_class = np.split(np.argsort(y_indices, kind="mergesort"), np.cumsum(class_counts)[:-1])
    train_counts = _approximate_mode(class_counts, n_train, rng)
    test_counts = _approximate_mode(class_counts - train_counts, n_test, rng)
    train, test = [], []
    for members, count, n_i, t_i in zip(
        by_class, class_counts, train_counts, test_counts, strict=True
    ):
        shuffled = members.take(rng.permutation(count), mode="clip")
        train.append(shuffled[:n_i])
        test.append(shuffled[n_i : n_i + t_i])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng) -> np.ndarray:
    """Per-class draws of ``n_draws`` in proportion to ``class_counts``: the floors, then
    one more for the largest remainders, ties broken at random (scikit-learn's
    ``_approximate_mode``, the same draws)."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            add_now = min(len(tied), need_to_add)
            floored[rng.choice(tied, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)
