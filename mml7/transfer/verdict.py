"""The verdict: did the table's advice hold on the measurements?"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mml7.errors import InputError
from mml7.transfer.advice import Advice, Strategy
from mml7.transfer.experiments import ROW_STRATEGY


@dataclass(frozen=True)
class Verdict:
    """The advice against the measured best.

    Attributes:
        advised: the advised strategy.
        best_row: the row name (e.g. "(b) fine-tune top blocks") that scored best.
        best_accuracy: its validation accuracy in [0, 1].
        advised_accuracy: the advised strategy's best row's accuracy (None for
            ``COLLECT_MORE_DATA``, which no row measures).
        agree: whether the advice held.
        sentence: the verdict, for a person.
        regret: the best accuracy minus the advised strategy's (0 when the advice scored
            best; None for ``COLLECT_MORE_DATA``).
    """

    advised: Strategy
    best_row: str
    best_accuracy: float
    advised_accuracy: float | None
    agree: bool
    sentence: str
    regret: float | None = None


def accuracy_interval(accuracy: float, count: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% at ``z`` = 1.96) of an accuracy measured on ``count``
    images: on 20 validation images 0.9 means anywhere from 0.70 to 0.97.

    >>> [round(bound, 2) for bound in accuracy_interval(0.9, 20)]
    [0.7, 0.97]
    """
    n = int(count)
    if n < 1:
        raise InputError(f"an accuracy needs at least 1 image, got {count}")
    centre = (accuracy + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def verdict(
    advice: Advice,
    rows: list[dict],
    learning: list[dict] | None = None,
    num_validation: int | None = None,
) -> Verdict:
    """Whether the advice held on the measurements.

    A strategy's accuracy is its best row's ((a) or (d) for the head). The advice holds
    when the advised strategy is within the margin of the best: two validation images'
    worth when ``num_validation`` is given, at least 1 point. ``COLLECT_MORE_DATA`` holds
    when the learning curve still rises from half to all of the training data by more
    than the margin (more data still helps).
    """
    best = max(rows, key=lambda r: r["validation_accuracy"])
    # Two validation images' worth (at least 1 point): smaller gaps are split noise.
    margin = 0.01 if not num_validation else max(0.01, 2 / int(num_validation))
    advised = advice.strategy
    if advised is Strategy.COLLECT_MORE_DATA:
        return _collect_more_data(advised, best, learning, margin)
    advised_scores = [
        r["validation_accuracy"] for r in rows if ROW_STRATEGY.get(r["strategy"]) is advised
    ]
    advised_accuracy = max(advised_scores)
    regret = best["validation_accuracy"] - advised_accuracy
    agree = advised_accuracy >= best["validation_accuracy"] - margin
    sentence = (
        f"Advice: {advised.value} ({advised_accuracy:.1%}). Measured best: {best['strategy']} "
        f"({best['validation_accuracy']:.1%}). The advice "
        f"{'held' if agree else 'did not hold'}"
        + (f" (within {margin:.0%} of the best)" if agree and regret > 0 else "")
        + (f"; regret {regret:.1%} (best minus advised)." if regret > 0 else ".")
    )
    return Verdict(
        advised,
        best["strategy"],
        best["validation_accuracy"],
        advised_accuracy,
        agree,
        sentence,
        regret,
    )


def _collect_more_data(
    advised: Strategy, best: dict, learning: list[dict] | None, margin: float
) -> Verdict:
    """The collect-more-data advice holds when the learning curve's last step (half to
    all of the training data) still gains more than ``margin``."""
    if not learning or len(learning) < 2:
        raise InputError("the collect-more-data advice is checked on a learning curve")
    gain = learning[-1]["accuracy"] - learning[-2]["accuracy"]
    agree = gain > margin
    sentence = (
        f"Advice: {advised.value}. With all the training data the head scores "
        f"{learning[-1]['accuracy']:.1%} vs {learning[-2]['accuracy']:.1%} with half: "
        f"more data {'still helps' if agree else 'no longer helps much'}, so the advice "
        f"{'held' if agree else 'did not hold'} (best measured: {best['strategy']}, "
        f"{best['validation_accuracy']:.1%})."
    )
    return Verdict(advised, best["strategy"], best["validation_accuracy"], None, agree, sentence)


def scratch_note(
    rows: list[dict], num_classes: int, num_train: int, num_validation: int
) -> str | None:
    """Why (c) from scratch failed, when it scored near chance (within two standard errors
    of a classifier that guesses, on ``num_validation`` images); None when it did not."""
    row = next(r for r in rows if ROW_STRATEGY.get(r["strategy"]) is Strategy.FROM_SCRATCH)
    chance = 1 / max(int(num_classes), 1)
    noise = 2 * math.sqrt(chance * (1 - chance) / max(int(num_validation), 1))
    if row["validation_accuracy"] > chance + noise:
        return None
    best = max(rows, key=lambda r: r["validation_accuracy"])
    return (
        f"{row['strategy']} scored {row['validation_accuracy']:.1%}, about chance "
        f"({chance:.1%} for {num_classes} classes, +- {noise:.1%} on {num_validation} "
        f"validation images): {num_train:,} training images "
        f"({num_train / max(num_classes, 1):,.0f} per class) cannot teach "
        f"{row['trainable_params']:,} weights that start at random values which edges, "
        f"textures and parts to look for. The other strategies start from features learnt "
        f"on 1.3 million ImageNet images ({best['strategy']}: "
        f"{best['validation_accuracy']:.1%}). This is why the lecture's table sends small "
        "data sets to the head or to collecting more data, and keeps training from scratch "
        "for big ones."
    )
