"""The lecture's 2x2 table: data size x ImageNet similarity -> a transfer-learning strategy.

Small data similar to ImageNet -> train the last (MLP) layers on frozen features; big and
similar -> fine-tune deeper layers; big and not similar -> train from scratch; small and not
similar -> collect more data. ``recommend`` reads the table from the two inputs; ``advise``
measures them on a data set first.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mml7.data import ImageDataset
from mml7.errors import InputError
from mml7.progress import Progress
from mml7.transfer.imagenet import imagenet_similarity

if TYPE_CHECKING:
    from mml7.transfer.experiments import ExperimentConfig

# "Big" data set: at least this many images per class. Below it a network with millions of
# weights overfits when all of them are trained (fine-tuning or from scratch), so the
# lecture's small row applies. 500 puts the course's cases on either side: LFW (100 per
# class), digits (~180) and Fashion-MNIST at 20 per class are small; Fashion-MNIST at 1,000
# per class is big. The page lets the user move it.
BIG_THRESHOLD = 500

# ``imagenet_similarity`` at or above this counts as "similar to ImageNet": crops of
# everyday photos score above it; Fashion-MNIST, LFW crops, digits and noise below it.
SIMILARITY_THRESHOLD = 0.5


class Strategy(enum.Enum):
    """The four cells of the lecture's table (value = how the advice says it)."""

    TRAIN_HEAD = "train the head (last MLP layers) on frozen features"
    FINE_TUNE = "fine-tune deeper layers"
    FROM_SCRATCH = "train from scratch"
    COLLECT_MORE_DATA = "collect more data"

    @property
    def short(self) -> str:
        """A few words, for a table cell or a chart title."""
        return _SHORT[self]


_SHORT = {
    Strategy.TRAIN_HEAD: "train the head (last MLP layers)",
    Strategy.FINE_TUNE: "fine-tune deeper layers",
    Strategy.FROM_SCRATCH: "train from scratch",
    Strategy.COLLECT_MORE_DATA: "collect more data",
}


@dataclass(frozen=True)
class Advice:
    """A cell of the table and why.

    Attributes:
        strategy: the advised ``Strategy``.
        reason: a sentence naming the numbers that decided it.
        images_per_class: the size input (None when not measured).
        similarity: measured ImageNet similarity in [0, 1] (None when given as a flag).
        similar: whether the data counted as similar to ImageNet.
        big: whether the data counted as big.
        training_images: how many images the strategies train on (None: not given; the
            size was then judged on the whole data set).
    """

    strategy: Strategy
    reason: str
    images_per_class: int | None = None
    similarity: float | None = None
    similar: bool | None = None
    big: bool | None = None
    training_images: int | None = None


# (big, similar) -> the table's cell.
_TABLE = {
    (False, True): Strategy.TRAIN_HEAD,
    (True, True): Strategy.FINE_TUNE,
    (True, False): Strategy.FROM_SCRATCH,
    (False, False): Strategy.COLLECT_MORE_DATA,
}


def recommend(images_per_class: int, similar: bool, big_threshold: int = BIG_THRESHOLD) -> Advice:
    """The lecture's 2x2 table. ``images_per_class >= big_threshold`` is big.

    >>> recommend(20, similar=True).strategy
    <Strategy.TRAIN_HEAD: 'train the head (last MLP layers) on frozen features'>
    """
    if int(images_per_class) < 0:
        raise InputError(f"images_per_class must be >= 0, got {images_per_class}")
    if int(big_threshold) < 1:
        raise InputError(f"big_threshold must be >= 1, got {big_threshold}")
    big = int(images_per_class) >= int(big_threshold)
    strategy = _TABLE[(big, bool(similar))]
    size = "big" if big else "small"
    comparison = ">=" if big else "<"
    likeness = "similar to ImageNet" if similar else "not similar to ImageNet"
    reason = (
        f"{images_per_class:,} images per class {comparison} {big_threshold:,} is {size}, "
        f"and the data is {likeness}: {strategy.value}."
    )
    return Advice(strategy, reason, int(images_per_class), None, bool(similar), big)


def images_per_class(dataset: ImageDataset) -> int:
    """The size input of the table: the smallest class's count (the bottleneck)."""
    counts = dataset.images_per_class()
    return int(counts[counts > 0].min()) if counts.any() else 0


def _smallest_class(labels: np.ndarray, num_classes: int) -> int:
    return int(np.bincount(labels, minlength=num_classes).min())


def _size_words(dataset: ImageDataset, config: ExperimentConfig | None, threshold: int):
    """(images per class the size is judged on, how many training images that is, the
    words on size). With ``config`` the size is the smallest class of the training split after the
    cap, as the strategies see it, and the sentence says when the cap made big data small."""
    if config is None:
        per_class = images_per_class(dataset)
        big = per_class >= threshold
        return (
            per_class,
            None,
            (
                f"Smallest class: {per_class:,} images ({'>=' if big else '<'} {threshold:,}, so "
                f"{'big' if big else 'small'})"
            ),
        )
    from mml7.transfer.experiments import training_split  # it imports this module

    train, _ = training_split(dataset, config)
    uncapped, _ = training_split(dataset, dataclasses.replace(config, max_train_images=None))
    per_class = _smallest_class(dataset.labels[train], dataset.num_classes)
    without_cap = _smallest_class(dataset.labels[uncapped], dataset.num_classes)
    big = per_class >= threshold
    words = (
        f"Smallest class among the {len(train):,} training images: {per_class:,} "
        f"({'>=' if big else '<'} {threshold:,}, so {'big' if big else 'small'})"
    )
    if without_cap >= threshold > per_class:
        needed = math.ceil(threshold * len(uncapped) / without_cap)
        words += (
            f" - the cap of {config.max_train_images:,} training images made it small: "
            f"without the cap its smallest class has {without_cap:,} training images, big "
            f"(a cap of at least {needed:,} trains on it as big)"
        )
    return per_class, len(train), words


def advise(
    dataset: ImageDataset,
    similarity: float | None = None,
    big_threshold: int = BIG_THRESHOLD,
    similarity_threshold: float = SIMILARITY_THRESHOLD,
    max_images: int = 64,
    progress: Progress | None = None,
    config: ExperimentConfig | None = None,
) -> Advice:
    """The table's advice for ``dataset`` from its measured size and ImageNet similarity.

    Args:
        similarity: the measured score if already known (else measured on ``max_images``).
        config: the experiments' settings: size is then judged on the images they train
            on (``training_split``: the training side, after ``max_train_images``), and
            the reason says when that cap turned a big data set small. None: on every image.
    """
    if similarity is None:
        similarity = imagenet_similarity(dataset.images, max_images, progress=progress)
    per_class, training_images, size = _size_words(dataset, config, int(big_threshold))
    similar = similarity >= similarity_threshold
    cell = recommend(per_class, similar, big_threshold)
    reason = (
        f"{size}; ImageNet similarity {similarity:.2f} ({'>=' if similar else '<'} "
        f"{similarity_threshold:.2f}, so {'similar' if similar else 'not similar'}). "
        f"Advice: {cell.strategy.value}."
    )
    return Advice(
        cell.strategy, reason, per_class, float(similarity), similar, cell.big, training_images
    )
