"""The measured recommendation: each strategy's validation accuracy predicted from cheap
signals, beside the lecture's textbook table, and both judged on the experiments.

The signals (``measure_signals``) are all taken on the experiments' own split, so a
prediction and the accuracy it predicts are scored on the same validation images:

- ``probe``: a logistic regression on the frozen features of the chosen cut and of the
  ensemble's cut, fitted on the training images and scored on the validation images: what
  a new head can reach; ``ensemble_probe``: the two probes' probabilities averaged;
- ``knn``: a k-nearest-neighbour classifier on the chosen cut's features, a second opinion;
- ``pixels``: the same logistic regression on 16x16 grey pixels of at most
  ``SIGNAL_IMAGES`` training images: what a model without ImageNet's features learns (the
  from-scratch proxy, discounted by the from-scratch run's ``scratch_steps``);
- ``learning``: the chosen cut's probe on 1/8, 1/4, 1/2 and all of the training images; a
  power law on its error rate predicts the gain from twice the data;
- ``fine_tune_gain``: the validation gain of a one-epoch fine-tune (on at most
  ``SIGNAL_IMAGES`` training images) over the head it starts from (None when not measured).

``predict`` turns them into predicted accuracies with intervals and a recommended
strategy; ``judge`` scores the textbook and the measured recommendation on the results.
The strategy keys are those of ``STRATEGY_KEYS`` (the command line's JSON contract).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mml7.errors import InputError
from mml7.transfer.advice import Strategy
from mml7.transfer.verdict import accuracy_interval

# The experiment rows' keys, then the advice that no row measures.
ROW_KEYS = {
    "(a) frozen extractor + new head": "train_head",
    "(b) fine-tune top blocks": "fine_tune",
    "(c) from scratch": "from_scratch",
    "(d) ensemble of heads": "ensemble",
}
STRATEGY_KEYS = (*ROW_KEYS.values(), "collect_more_data")
TEXTBOOK_KEYS = {
    Strategy.TRAIN_HEAD: "train_head",
    Strategy.FINE_TUNE: "fine_tune",
    Strategy.FROM_SCRATCH: "from_scratch",
    Strategy.COLLECT_MORE_DATA: "collect_more_data",
}
# A near-tie goes to the first of these. Two heads on cached features cost about what one
# does, and averaging them lowers the variance of small sets: on the design cases (digits,
# LFW) the ensemble never lost more than 1 point to the single head and won up to 2.6.
# Then the cheaper strategies first.
PREFERENCE = ("ensemble", "train_head", "fine_tune", "from_scratch")
LEARNING_FRACTIONS = (0.125, 0.25, 0.5, 1.0)
SIGNAL_IMAGES = 2000  # training images of the pixel and fine-tune probes, at most
WORTH_COLLECTING = 0.05  # predicted gain from twice the data that is worth collecting for


@dataclass(frozen=True)
class Signals:
    """The cheap measurements (see the module's docstring); accuracies in [0, 1]."""

    num_classes: int
    validation_images: int
    cut: str
    probe: dict[str, float]
    knn: float
    pixels: float
    learning: list[tuple[int, float]]
    fine_tune_gain: float | None = None
    scratch_steps: int | None = None  # the from-scratch run's optimiser steps
    ensemble_probe: float | None = None  # the mean of two probes' probabilities (two cuts)

    @classmethod
    def from_dict(cls, found: dict) -> Signals:
        """The inverse of ``dataclasses.asdict`` through JSON (pairs come back as lists)."""
        found = dict(found)
        found["learning"] = [tuple(point) for point in found["learning"]]
        return cls(**found)


@dataclass(frozen=True)
class Measured:
    """The measured recommendation.

    Attributes:
        strategy: a key of ``STRATEGY_KEYS``.
        predicted: strategy key -> predicted validation accuracy (the four experiments).
        intervals: strategy key -> (low, high), 95%.
        twice_the_data: predicted head accuracy with twice the training images.
        reason: one sentence why.
        meanwhile: the experiment strategy predicted best; it is ``strategy`` unless that
            is "collect_more_data" (then: what to train while collecting).
    """

    strategy: str
    predicted: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    twice_the_data: float
    reason: str
    notes: list[str] = field(default_factory=list)
    meanwhile: str = ""  # the experiment predicted best (what to train while collecting)


def margin(validation_images: int) -> float:
    """Two validation images' worth, at least 1 point: smaller gaps are split noise."""
    return max(0.01, 2 / max(int(validation_images), 1))


def power_law_gain(learning: list[tuple[int, float]], factor: float = 2.0) -> float:
    """Predicted accuracy at ``factor`` times the last point's images, from a power law
    ``error = b * n ** -c`` fitted to the error rates in log-log (least squares); the last
    accuracy when the curve is flat, falls, or has no error left to lose."""
    counts = np.array([n for n, _ in learning], dtype=np.float64)
    errors = np.array([1 - a for _, a in learning], dtype=np.float64)
    last = float(1 - errors[-1])
    if len(learning) < 2 or np.any(errors <= 0) or np.any(counts <= 0):
        return last
    slope, intercept = np.polyfit(np.log(counts), np.log(errors), 1)
    if slope >= 0:
        return last
    predicted = 1 - math.exp(intercept + slope * math.log(counts[-1] * factor))
    # The fitted line passes near, not through, the last point: add its gain to that point.
    fitted_last = 1 - math.exp(intercept + slope * math.log(counts[-1]))
    return float(min(1.0, last + max(0.0, predicted - fitted_last)))


def scratch_prediction(signals: Signals, scale: float | None = None) -> float:
    """From scratch's predicted accuracy: what a model without ImageNet's features can learn
    from these images (the pixel probe), discounted by how far the from-scratch run's
    optimiser steps S get: ``chance + (pixels - chance) * (1 - exp(-S / scale))``.

    A network from random weights needs many steps before it beats chance: on the design
    cases (digits, LFW; ``mml7.transfer.suite``) it scored chance after 6-18 steps and a
    third of the pixel probe's lead over chance after 72, whatever the pixels allowed."""
    scale = SCRATCH_STEPS_SCALE if scale is None else scale
    chance = 1 / signals.num_classes
    if signals.scratch_steps is None:
        return signals.pixels
    reached = 1 - math.exp(-signals.scratch_steps / scale)
    return float(chance + max(signals.pixels - chance, 0.0) * reached)


# Steps for from scratch to reach 63% of the pixel probe's lead over chance; fitted on the
# design cases' test accuracies (bench/RESULTS.md, "Advisor suite").
SCRATCH_STEPS_SCALE = 175.0


def predict(signals: Signals, worth_collecting: float = WORTH_COLLECTING) -> Measured:
    """Predicted accuracy per strategy and the recommendation.

    head: the chosen cut's probe (the probes were fitted on the same training images);
    ensemble: the mean of the two cuts' probes' probabilities (the head's when not
    measured); fine-tune: the head plus the short fine-tune's gain when measured; from
    scratch: ``scratch_prediction``. The best prediction wins; within ``margin`` the first
    in ``PREFERENCE`` does. "Collect more data" when twice the data is predicted to gain at least
    ``worth_collecting`` over the best prediction's.
    """
    n = signals.validation_images
    if n < 1:
        raise InputError("predictions need at least 1 validation image")
    head = signals.probe[signals.cut]
    fine_tune = head + (signals.fine_tune_gain or 0.0)
    predicted = {
        "train_head": head,
        "fine_tune": float(np.clip(fine_tune, 0.0, 1.0)),
        "from_scratch": scratch_prediction(signals),
        "ensemble": head if signals.ensemble_probe is None else signals.ensemble_probe,
    }
    intervals = {key: accuracy_interval(value, n) for key, value in predicted.items()}
    best = max(predicted.values())
    near = [key for key in PREFERENCE if predicted[key] >= best - margin(n)]
    choice = near[0]
    twice = power_law_gain(signals.learning)
    gain = twice - head
    notes = []
    if signals.fine_tune_gain is None:
        notes.append("fine-tuning was not probed: predicted as the head")
    if gain >= worth_collecting:
        reason = (
            f"the probe's learning curve predicts {head:.1%} -> {twice:.1%} with twice the "
            f"training images (+{gain:.1%}, at least {worth_collecting:.0%} is worth "
            f"collecting for); meanwhile {choice.replace('_', ' ')} is predicted best "
            f"({predicted[choice]:.1%})"
        )
        return Measured("collect_more_data", predicted, intervals, twice, reason, notes, choice)
    others = ", ".join(
        f"{key.replace('_', ' ')} {value:.1%}" for key, value in predicted.items() if key != choice
    )
    tie = f"; within {margin(n):.0%} of the best, {choice.replace('_', ' ')} goes first"
    reason = (
        f"{choice.replace('_', ' ')} is predicted at {predicted[choice]:.1%} ({others}"
        + (tie if len(near) > 1 else "")
        + f"); twice the data would add {max(gain, 0.0):.1%}"
    )
    return Measured(choice, predicted, intervals, twice, reason, notes, choice)


def winners(results: dict[str, float], validation_images: int) -> list[str]:
    """The strategies within ``margin`` of the best result."""
    best = max(results.values())
    return [key for key, value in results.items() if value >= best - margin(validation_images)]


def judge(
    choice: str,
    results: dict[str, float],
    learning: list[tuple[int, float]],
    validation_images: int,
) -> bool:
    """Whether a recommendation held: among the winners, or for "collect more data", the
    measured learning curve's last doubling (half to all of the images) gained more than
    the margin."""
    if choice != "collect_more_data":
        return choice in winners(results, validation_images)
    if len(learning) < 2:
        raise InputError("the collect-more-data advice is judged on a learning curve")
    return learning[-1][1] - learning[-2][1] > margin(validation_images)


def row_results(rows: list[dict]) -> dict[str, float]:
    """Strategy key -> validation accuracy, from ``run_experiments``'s rows."""
    return {ROW_KEYS[row["strategy"]]: float(row["validation_accuracy"]) for row in rows}


def contract(textbook, measured: Measured, rows: list[dict], learning, validation_images):
    """The ``advise --run --json`` object (see the README): textbook and measured advice,
    the results per strategy, the winners and whether each recommendation held."""
    results = row_results(rows)
    book = TEXTBOOK_KEYS[textbook.strategy]
    return {
        "textbook": {
            "strategy": book,
            "reason": textbook.reason,
            "images_per_class": textbook.images_per_class,
            "similarity": textbook.similarity,
        },
        "measured": {
            "strategy": measured.strategy,
            "predicted": measured.predicted,
            "intervals": {key: list(bounds) for key, bounds in measured.intervals.items()},
            "twice_the_data": measured.twice_the_data,
            "meanwhile": measured.meanwhile,
            "reason": measured.reason,
        },
        "results": results,
        "validation_images": int(validation_images),
        "winners": winners(results, validation_images),
        "held": {
            "textbook": judge(book, results, learning, validation_images),
            "measured": judge(measured.strategy, results, learning, validation_images),
        },
    }


def _probe(x_train, y_train, x_test, y_test) -> float:
    """``probe_model`` fitted on one side, scored on the other (``linear_probe``'s model,
    on the experiments' split instead of folds)."""
    from mml7.transfer.transferability import probe_model

    return float(probe_model().fit(x_train, y_train).score(x_test, y_test))


def _knn(x_train, y_train, x_test, y_test) -> float:
    from sklearn.neighbors import KNeighborsClassifier

    k = int(min(5, len(x_train)))
    return float(KNeighborsClassifier(k).fit(x_train, y_train).score(x_test, y_test))


def pixel_vectors(images: np.ndarray, side: int = 16) -> np.ndarray:
    """Grey ``side`` x ``side`` pixels of each image, flattened (the from-scratch proxy's
    input)."""
    from mml7.images import resize_batch

    grey = np.asarray(images, dtype=np.float32).mean(axis=-1, keepdims=True)
    return resize_batch(grey, (side, side)).reshape(len(grey), -1)


def measure_signals(dataset, config, features: dict | None, fine_tune: bool = False, progress=None):
    """The ``Signals`` of ``dataset`` on the experiments' split (``training_split``).

    Args:
        config: the ``ExperimentConfig`` of the experiments (split, seed, cut).
        features: cut -> frozen features of every image (``dataset_features``);
            ``config.cut`` must be among them, and ``config.ensemble_cut`` is probed too
            when given (other cuts are not: they predict nothing). None: extracted here
            at both cuts (what a training process does: the server then never runs the
            backbone for a training job).
        fine_tune: also run the one-epoch fine-tune probe (the costly signal).

    The pixel probe and the fine-tune probe train on at most ``SIGNAL_IMAGES`` of the
    training images (stratified): what they predict is a trend, and on 7,500 images they
    would cost a third of running every strategy.
    """
    from mml7.progress import report, scaled
    from mml7.transfer.datasets import sample_indices
    from mml7.transfer.experiments import experiment_cuts, training_split
    from mml7.transfer.transferability import dataset_features, probe_model

    if features is None:
        cuts = experiment_cuts(config)
        features = dataset_features(dataset, config, cuts, scaled(progress, 0.0, 0.3))
        progress = scaled(progress, 0.3, 1.0)
    if config.cut not in features:
        raise InputError(f"no features at the cut {config.cut!r}")
    train, validation = training_split(dataset, config)
    labels = dataset.labels
    y_train, y_val = labels[train], labels[validation]
    probe, probabilities = {}, {}
    probed = {cut: features[cut] for cut in (config.cut, config.ensemble_cut) if cut in features}
    for index, (cut, f) in enumerate(probed.items()):
        model = probe_model().fit(f[train], y_train)
        probabilities[cut] = model.predict_proba(f[validation])
        probe[cut] = float(np.mean(model.classes_[probabilities[cut].argmax(axis=1)] == y_val))
        report(progress, 0.5 * (index + 1) / len(probed), f"probe at {cut}")
    ensemble = None
    if config.ensemble_cut in probabilities and config.ensemble_cut != config.cut:
        mean = (probabilities[config.cut] + probabilities[config.ensemble_cut]) / 2
        ensemble = float(np.mean(model.classes_[mean.argmax(axis=1)] == y_val))
    chosen = features[config.cut]
    knn = _knn(chosen[train], y_train, chosen[validation], y_val)
    few = train[sample_indices(y_train, SIGNAL_IMAGES, config.seed)]
    pixels = pixel_vectors(dataset.images[np.concatenate([few, validation])])
    pixel_score = _probe(pixels[: len(few)], labels[few], pixels[len(few) :], y_val)
    learning = []
    for fraction in LEARNING_FRACTIONS:
        count = max(int(round(fraction * len(train))), 2 * dataset.num_classes)
        subset = train[sample_indices(y_train, count, config.seed)]
        if len(subset) == len(train):  # all of them: the probe above
            learning.append((len(train), probe[config.cut]))
            continue
        score = _probe(chosen[subset], labels[subset], chosen[validation], y_val)
        learning.append((len(subset), score))
    report(progress, 0.6, "learning curve of the probe")
    gain = short_fine_tune_gain(dataset, config, chosen, few, validation) if fine_tune else None
    report(progress, 1.0, "signals measured")
    steps = config.scratch_epochs * math.ceil(len(train) / config.batch_size)
    return Signals(
        dataset.num_classes,
        len(validation),
        config.cut,
        probe,
        knn,
        pixel_score,
        learning,
        gain,
        steps,
        ensemble,
    )


def short_fine_tune_gain(dataset, config, chosen, train, validation) -> float:
    """Validation accuracy of a one-epoch fine-tune (top blocks at a tenth of the head's
    learning rate) minus that of the head it starts from (trained on ``chosen``, the
    frozen features at ``config.cut``)."""
    import dataclasses

    import keras

    from mml7 import backbones
    from mml7.inference import predict
    from mml7.transfer.experiments import _fit_whole
    from mml7.transfer.heads import accuracy, fit_head

    labels = dataset.labels
    head = fit_head(chosen[train], labels[train], dataset.num_classes, config)
    before = accuracy(predict(head, chosen[validation]), labels[validation])
    start = keras.models.clone_model(head)
    start.set_weights(head.get_weights())
    x_train, x_val = (
        backbones.preprocess(dataset.images[part], config.backbone, config.image_size)
        for part in (train, validation)
    )
    short = dataclasses.replace(config, fine_tune_epochs=1)
    model = _fit_whole(short, start, x_train, labels[train], False)
    return accuracy(predict(model, x_val, 64), labels[validation]) - before


def verdict_sentence(choice: str, results: dict[str, float], learning, validation_images) -> str:
    """How the measured recommendation fared, for a person (``judge`` decides)."""
    held = judge(choice, results, learning, validation_images)
    best = max(results, key=results.get)
    name = choice.replace("_", " ")
    if choice == "collect_more_data":
        gain = learning[-1][1] - learning[-2][1] if len(learning) >= 2 else 0.0
        return (
            f"Measured recommendation {'held' if held else 'refuted'}: collect more data; the "
            f"learning curve's last doubling gained {gain:+.1%} (more than "
            f"{margin(validation_images):.0%} counts as still rising)."
        )
    regret = results[best] - results[choice]
    return (
        f"Measured recommendation {'held' if held else 'refuted'}: {name} scored "
        f"{results[choice]:.1%}, the best ({best.replace('_', ' ')}) {results[best]:.1%}; "
        f"regret {regret:.1%} (held within {margin(validation_images):.0%})."
    )


# --------------------------------------------------------------------------- precomputed

# The page's default experiment settings (the widgets start at them); the built-in data
# sets' signals are precomputed for them (``precompute``) so the page opens at once.
APP_CONFIG_FIELDS = {
    "image_size": 64,
    "head_epochs": 30,
    "scratch_epochs": 8,
    "max_train_images": 2000,
}
# The page's input sizes; ``precompute`` measures a built-in data set at each of them, so
# changing the size on the page reads a file instead of extracting features (seconds, and
# a quarter of a gigabyte of activations at 96 px).
PAGE_IMAGE_SIZES = (32, 48, 64, 96, 128, 160)
PRECOMPUTED_FILE = Path(__file__).with_name("builtin_signals.json")
# What the signals depend on (the rest of a config changes only the experiments).
_KEY_FIELDS = (
    "backbone",
    "scratch_epochs",
    "cut",
    "image_size",
    "max_train_images",
    "validation_fraction",
    "seed",
    "head_epochs",
    "head_min_steps",
    "head_learning_rate",
    "head_batch_size",
    "hidden_units",
    "dropout",
    "fine_tune_blocks",
    "batch_size",
)


def signals_key(name: str, config) -> str:
    """The precomputed file's key of a built-in data set's signals under ``config``."""
    return json.dumps([name, *(getattr(config, key) for key in _KEY_FIELDS)])


def precomputed(name: str, config, path: Path | None = None) -> Signals | None:
    """The built-in data set's signals under ``config``, if ``precompute`` made them."""
    path = Path(path or PRECOMPUTED_FILE)
    if not path.exists():
        return None
    found = json.loads(path.read_text()).get("signals", {}).get(signals_key(name, config))
    return None if found is None else Signals.from_dict(found)


def depth_key(name: str, backbone: str, image_size: int, max_images: int) -> str:
    """The precomputed file's key of a built-in data set's per-depth scores."""
    return json.dumps([name, backbone, int(image_size), int(max_images)])


def precomputed_page(name: str, path: Path | None = None) -> dict:
    """What the page shows first for the built-in data set ``name``, if ``precompute``
    made it: {"similarity": float, "depth_scores": {depth_key: [DepthScore, ...]}}."""
    from mml7.transfer.transferability import DepthScore

    path = Path(path or PRECOMPUTED_FILE)
    record = json.loads(path.read_text()) if path.exists() else {}
    found = {}
    if name in record.get("similarity", {}):
        found["similarity"] = float(record["similarity"][name])
    found["depth_scores"] = {
        key: [DepthScore(**score) for score in scores]
        for key, scores in record.get("depth_scores", {}).items()
        if json.loads(key)[0] == name
    }
    return found


def precompute(names, path: Path | None = None, progress=None, sizes=PAGE_IMAGE_SIZES) -> dict:
    """Measure every built-in data set in ``names`` as the page does at its defaults
    (``APP_CONFIG_FIELDS``; cut from ``recommended_cut`` on 500 images; no fine-tune
    probe), at each input size in ``sizes``, and write them to ``path`` (the page's file
    by default), with what the page shows first: the ImageNet similarity (64 images,
    seed 0) and the per-depth scores (``PAGE_PROBE_IMAGES``)."""
    import time

    from mml7.progress import scaled
    from mml7.transfer.datasets import load_dataset
    from mml7.transfer.imagenet import imagenet_similarity

    path = Path(path or PRECOMPUTED_FILE)
    record = {"signals": {}, "similarity": {}, "depth_scores": {}, "seconds": {}}
    names, sizes = list(names), list(sizes)
    steps = len(names) * len(sizes)
    for number, name in enumerate(names):
        dataset = load_dataset(name)  # once per data set, then measured at every size
        record["similarity"][name] = imagenet_similarity(dataset.images, max_images=64, seed=0)
        for offset, size in enumerate(sizes):
            began, index = time.perf_counter(), number * len(sizes) + offset
            label = f"{name}, {size} px: "
            part = scaled(progress, index / steps, (index + 1) / steps, label)
            _precompute_size(record, name, dataset, size, part)
            record["seconds"][f"{name}, {size} px"] = round(time.perf_counter() - began, 1)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return record


def _precompute_size(record: dict, name: str, dataset, image_size: int, progress) -> None:
    """Add the per-depth scores and the signals of one data set at one input size."""
    from mml7.progress import scaled
    from mml7.transfer.experiments import ExperimentConfig, experiment_cuts
    from mml7.transfer.transferability import (
        dataset_features,
        depth_scores,
        ensemble_cut,
        recommended_cut,
    )

    config = ExperimentConfig(**{**APP_CONFIG_FIELDS, "image_size": image_size})
    scores = depth_scores(
        dataset, config.backbone, image_size, PAGE_PROBE_IMAGES, scaled(progress, 0.0, 0.2)
    )
    key = depth_key(name, config.backbone, image_size, PAGE_PROBE_IMAGES)
    record["depth_scores"][key] = [dataclasses.asdict(score) for score in scores]
    cut = recommended_cut(scores)
    config = dataclasses.replace(config, cut=cut, ensemble_cut=ensemble_cut(scores, cut))
    wanted = experiment_cuts(config)
    features = dataset_features(dataset, config, wanted, scaled(progress, 0.2, 0.5))
    signals = measure_signals(dataset, config, features, False, scaled(progress, 0.5, 1.0))
    record["signals"][signals_key(name, config)] = dataclasses.asdict(signals)


PAGE_PROBE_IMAGES = 500  # the page's per-depth probe subsample
