"""The lecture's 2x2 table: data size x ImageNet similarity -> a transfer-learning strategy.

Small data similar to ImageNet -> train the last (MLP) layers on frozen features; big and
similar -> fine-tune deeper layers; big and not similar -> train from scratch; small and not
similar -> collect more data. ``recommend`` reads the table from the two inputs; ``advise``
measures them on a data set first.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mml7.data import ImageDataset
from mml7.errors import InputError
from mml7.progress import Progress
from mml7.transfer.imagenet import imagenet_similarity

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
    """

    strategy: Strategy
    reason: str
    images_per_class: int | None = None
    similarity: float | None = None
    similar: bool | None = None
    big: bool | None = None


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


def advise(
    dataset: ImageDataset,
    similarity: float | None = None,
    big_threshold: int = BIG_THRESHOLD,
    similarity_threshold: float = SIMILARITY_THRESHOLD,
    max_images: int = 64,
    progress: Progress | None = None,
) -> Advice:
    """The table's advice for ``dataset`` from its measured size and ImageNet similarity.

    Args:
        similarity: the measured score if already known (else measured on ``max_images``).
    """
    if similarity is None:
        similarity = imagenet_similarity(dataset.images, max_images, progress=progress)
    per_class = images_per_class(dataset)
    similar = similarity >= similarity_threshold
    cell = recommend(per_class, similar, big_threshold)
    reason = (
        f"Smallest class: {per_class:,} images ({'>=' if cell.big else '<'} "
        f"{big_threshold:,}, so {'big' if cell.big else 'small'}); ImageNet similarity "
        f"{similarity:.2f} ({'>=' if similar else '<'} {similarity_threshold:.2f}, so "
        f"{'similar' if similar else 'not similar'}). Advice: {cell.strategy.value}."
    )
    return Advice(cell.strategy, reason, per_class, float(similarity), similar, cell.big)
