"""The experiments that check the advice: every strategy trained on the data set.

``run_experiments`` trains (a) a new head on frozen features, (b) fine-tuning of the top
blocks, (c) the same architecture from random weights and (d) an ensemble of two heads at
different depths, all on one stratified split. ``learning_curve`` trains one strategy on
growing fractions of the same training split: does more data still help?
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mml7 import backbones
from mml7.data import ImageDataset
from mml7.inference import predict
from mml7.progress import Progress, keras_callback, report, scaled
from mml7.transfer import downloadable
from mml7.transfer.advice import Strategy
from mml7.transfer.datasets import sample_indices, split
from mml7.transfer.heads import (
    accuracy,
    build_head,
    build_transfer_model,
    ensemble_probabilities,
    fit_head,
    fit_whole_model,
    set_seed,
    trainable_parameters,
    unfreeze_top_blocks,
)
from mml7.transfer.transferability import dataset_features


@dataclass(frozen=True)
class ExperimentConfig:
    """The knobs of ``run_experiments`` (one place, so a cache key is one value)."""

    backbone: str = backbones.DEFAULT_BACKBONE  # the extractor of every strategy
    cut: str = "last"  # depth the extractor is cut at
    image_size: int = 64  # square input side (small: 2 CPU cores)
    hidden_units: int = 64  # the MLP head's hidden layer
    dropout: float = 0.2  # before the head's output layer
    head_epochs: int = 40  # head on cached features (cheap)
    # A head's optimiser steps in all (more passes per epoch on small sets): with few steps
    # it stays far below a linear probe (digits, 75 images: test 0.55 after 40 epochs of 3
    # batches, 0.83 after 400 epochs; the probe 0.88).
    head_min_steps: int = 3000
    head_batch_size: int = 32  # larger batches scored lower on the small data sets
    head_learning_rate: float = 1e-3  # Adam; fine-tuning uses a tenth of it
    fine_tune_blocks: int = 2  # the top N blocks unfrozen in (b)
    fine_tune_epochs: int = 3
    scratch_epochs: int = 6  # (c) gets more epochs: it starts from nothing
    ensemble_cut: str = "block 11"  # the second member of (d): a head at another depth
    validation_fraction: float = 0.25
    max_train_images: int | None = None  # stratified cap on the training split, all if None
    batch_size: int = 32
    seed: int = 0


@dataclass
class ExperimentResult:
    """What ``run_experiments`` measured.

    Attributes:
        rows: one dict per strategy: strategy, validation_accuracy, trainable_params,
            wall_time_s, train_images, note.
        curves: strategy -> Keras history (loss, accuracy, val_loss, val_accuracy per epoch).
        num_train, num_validation: split sizes.
        extraction_s: time to extract the frozen features (zero when they came cached).
        models: row name -> the trained strategy as one Keras model of RGB images
            (n, image_size, image_size, 3) in [0, 1] with the backbone's preprocessing
            inside (``downloadable``); the ensemble averages its members' probabilities.
    """

    rows: list[dict]
    curves: dict[str, dict[str, list[float]]]
    num_train: int
    num_validation: int
    extraction_s: float = 0.0
    models: dict = dataclasses.field(default_factory=dict)


def experiment_cuts(config: ExperimentConfig) -> tuple[str, ...]:
    """The cuts the experiments need features at: ``config.cut``, then
    ``config.ensemble_cut`` when it is another."""
    return tuple(dict.fromkeys((config.cut, config.ensemble_cut)))


def training_split(dataset: ImageDataset, config: ExperimentConfig):
    """The (train, validation) indices every experiment uses: ``split``, then the
    training side capped at ``config.max_train_images`` (stratified)."""
    train, validation = split(dataset.labels, config.validation_fraction, config.seed)
    if config.max_train_images is not None:
        train = train[sample_indices(dataset.labels[train], config.max_train_images, config.seed)]
    return train, validation


def _fit_whole(
    config: ExperimentConfig, head, x, y, scratch: bool, validation=None, callbacks=None
):
    """``head`` on the ImageNet extractor with its top blocks unfrozen, trained at a tenth
    of the head's learning rate (fine-tuning); or, ``scratch``, on a randomly initialised
    extractor, everything trained. Returns the trained transfer model."""
    model, extractor = build_transfer_model(
        config.backbone, config.cut, config.image_size, head, None if scratch else "imagenet"
    )
    if not scratch:
        unfreeze_top_blocks(extractor, config.backbone, config.fine_tune_blocks)
    rate = config.head_learning_rate if scratch else config.head_learning_rate / 10
    epochs = config.scratch_epochs if scratch else config.fine_tune_epochs
    fit_whole_model(model, rate, x, y, epochs, config, validation, callbacks)
    return model


def _fresh_head(config: ExperimentConfig, input_dim: int, num_classes: int):
    """A seeded, untrained head: the from-scratch strategy's."""
    set_seed(config.seed)
    return build_head(input_dim, num_classes, config.hidden_units, config.dropout)


@dataclass
class _Trial:
    """What the strategies of one run share: the data, the split, the cached features,
    and (a)'s head, which (b) and (d) build on."""

    dataset: ImageDataset
    config: ExperimentConfig
    features: dict[str, np.ndarray]
    train: np.ndarray
    validation: np.ndarray
    head: object = None
    head_probabilities: np.ndarray | None = None

    @property
    def y_train(self) -> np.ndarray:
        return self.dataset.labels[self.train]

    @property
    def y_val(self) -> np.ndarray:
        return self.dataset.labels[self.validation]

    @functools.cached_property
    def images(self) -> tuple[np.ndarray, np.ndarray]:
        """The preprocessed (train, validation) images, for the whole-model strategies."""
        config = self.config
        return tuple(
            backbones.preprocess(self.dataset.images[part], config.backbone, config.image_size)
            for part in (self.train, self.validation)
        )


def _frozen_head(trial: _Trial, callbacks: list):
    config, features = trial.config, trial.features[trial.config.cut]
    trial.head = fit_head(
        features[trial.train],
        trial.y_train,
        trial.dataset.num_classes,
        config,
        validation=(features[trial.validation], trial.y_val),
        callbacks=callbacks,
    )
    trial.head_probabilities = predict(trial.head, features[trial.validation])
    note = f"{config.backbone}, cut at {config.cut}, features cached"
    return trial.head_probabilities, trainable_parameters(trial.head), note, trial.head


def _fine_tune(trial: _Trial, callbacks: list):
    import keras

    config = trial.config
    x_train, x_val = trial.images
    head = keras.models.clone_model(trial.head)
    head.set_weights(trial.head.get_weights())
    model = _fit_whole(config, head, x_train, trial.y_train, False, (x_val, trial.y_val), callbacks)
    note = (
        f"head from (a), then top {config.fine_tune_blocks} blocks at lr "
        f"{config.head_learning_rate / 10:g}"
    )
    return predict(model, x_val, 64), trainable_parameters(model), note, model


def _from_scratch(trial: _Trial, callbacks: list):
    config = trial.config
    x_train, x_val = trial.images
    input_dim = trial.features[config.cut].shape[1]
    head = _fresh_head(config, input_dim, trial.dataset.num_classes)
    model = _fit_whole(config, head, x_train, trial.y_train, True, (x_val, trial.y_val), callbacks)
    note = f"same architecture, random weights, {config.scratch_epochs} epochs"
    return predict(model, x_val, 64), trainable_parameters(model), note, model


def _ensemble(trial: _Trial, callbacks: list):
    # With ensemble_cut == cut the second member differs from (a)'s head by its seed.
    # Its curve is the ensemble's: each epoch scores the mean with (a)'s probabilities.
    config, other = trial.config, trial.features[trial.config.ensemble_cut]
    head_on_train = predict(trial.head, trial.features[config.cut][trial.train])
    second = fit_head(
        other[trial.train],
        trial.y_train,
        trial.dataset.num_classes,
        dataclasses.replace(config, seed=config.seed + 1),
        validation=(other[trial.validation], trial.y_val),
        callbacks=callbacks,
        ensemble_with=([head_on_train], [trial.head_probabilities]),
    )
    members = [trial.head_probabilities, predict(second, other[trial.validation])]
    parameters = trainable_parameters(trial.head) + trainable_parameters(second)
    note = f"mean probabilities of heads at {config.cut} and {config.ensemble_cut}"
    return ensemble_probabilities(members), parameters, note, second


def _whole_model(trial: _Trial, model, name: str):
    config = trial.config
    return downloadable.with_preprocessing(model, config.backbone, config.image_size, name)


def _frozen_export(trial: _Trial, head, name: str):
    return downloadable.frozen_model(trial.config, head, name)


def _ensemble_export(trial: _Trial, second, name: str):
    members = [(trial.config.cut, trial.head), (trial.config.ensemble_cut, second)]
    return downloadable.ensemble_model(trial.config, members, name)


@dataclass(frozen=True)
class _Step:
    """One strategy of ``run_experiments``: its row name, the table cell it stands for,
    how it trains (``train(trial, callbacks) -> (probabilities, trainable parameters,
    note, trained part)``), how the trained part becomes one model of [0, 1] images
    (``export(trial, trained part, model name)``, after the timing: the wall time measures
    training), the config field with its epochs, its share [start, stop] of the progress
    bar, and whether its wall time includes (a)'s (it builds on (a)'s head)."""

    name: str
    strategy: Strategy
    train: Callable
    export: Callable
    epochs_field: str
    start: float
    stop: float
    builds_on_head: bool = False


_HEAD, _FINE_TUNE, _SCRATCH = Strategy.TRAIN_HEAD, Strategy.FINE_TUNE, Strategy.FROM_SCRATCH
_STEPS = (
    _Step(
        "(a) frozen extractor + new head",
        _HEAD,
        _frozen_head,
        _frozen_export,
        "head_epochs",
        0.15,
        0.25,
    ),
    _Step(
        "(b) fine-tune top blocks",
        _FINE_TUNE,
        _fine_tune,
        _whole_model,
        "fine_tune_epochs",
        0.25,
        0.55,
        True,
    ),
    _Step("(c) from scratch", _SCRATCH, _from_scratch, _whole_model, "scratch_epochs", 0.55, 0.9),
    _Step(
        "(d) ensemble of heads", _HEAD, _ensemble, _ensemble_export, "head_epochs", 0.9, 0.95, True
    ),
)
_EXPORT_START = 0.95  # the rest of the bar: assembling the downloadable models
_MODEL_NAMES = {"(a)": "frozen_head", "(b)": "fine_tuned", "(c)": "from_scratch", "(d)": "ensemble"}

# Row name -> the table's cell it measures.
ROW_STRATEGY = {step.name: step.strategy for step in _STEPS}


def run_experiments(
    dataset: ImageDataset,
    config: ExperimentConfig = ExperimentConfig(),
    features: dict[str, np.ndarray] | None = None,
    progress: Progress | None = None,
    on_epoch: Callable[[str, dict], None] | None = None,
) -> ExperimentResult:
    """Train (a) a head on frozen features, (b) fine-tuning of the top blocks, (c) the same
    architecture from random weights and (d) an ensemble of two heads at different depths,
    all on one stratified split; validation accuracy, trainable parameters, wall time.

    Args:
        features: cut -> features of every image of ``dataset`` for ``config.cut`` and
            ``config.ensemble_cut`` (cached by the caller); extracted when missing.
        progress: ``progress(fraction, message)``.
        on_epoch: ``on_epoch(row name, history)`` after every epoch (live curves).
    """
    cuts = experiment_cuts(config)
    for cut in cuts:
        backbones.spec(config.backbone).layer_name(cut)
    train, validation = training_split(dataset, config)
    extraction_s = 0.0
    if features is None or any(cut not in features for cut in cuts):
        began = time.perf_counter()
        features = dataset_features(dataset, config, cuts, scaled(progress, 0.0, 0.15))
        extraction_s = time.perf_counter() - began
    trial = _Trial(dataset, config, features, train, validation)
    rows, curves, trained = [], {}, {}
    for step in _STEPS:
        recorder = keras_callback(
            scaled(progress, step.start, step.stop),
            getattr(config, step.epochs_field),
            label=f"{step.name}:",
            on_epoch_end=None
            if on_epoch is None
            else functools.partial(_forward_epoch, on_epoch, step.name),
        )
        began = time.perf_counter()
        probabilities, parameters, note, trained[step.name] = step.train(trial, [recorder])
        seconds = time.perf_counter() - began
        rows.append(
            {
                "strategy": step.name,
                "validation_accuracy": accuracy(probabilities, trial.y_val),
                "trainable_params": int(parameters),
                "wall_time_s": seconds + (rows[0]["wall_time_s"] if step.builds_on_head else 0),
                "train_images": len(train),
                "note": note,
            }
        )
        curves[step.name] = recorder.history
    models = {}
    for index, step in enumerate(_STEPS):
        fraction = _EXPORT_START + (1 - _EXPORT_START) * index / len(_STEPS)
        report(progress, fraction, f"assembling the model of {step.name}")
        models[step.name] = step.export(trial, trained[step.name], _MODEL_NAMES[step.name[:3]])
    report(progress, 1.0, "done")
    return ExperimentResult(rows, curves, len(train), len(validation), extraction_s, models)


def _forward_epoch(on_epoch: Callable[[str, dict], None], name: str, epoch: int, history: dict):
    on_epoch(name, history)


LEARNING_CURVE_FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def learning_curve(
    dataset: ImageDataset,
    strategy: Strategy,
    config: ExperimentConfig = ExperimentConfig(),
    features: dict[str, np.ndarray] | None = None,
    fractions: tuple[float, ...] = LEARNING_CURVE_FRACTIONS,
    progress: Progress | None = None,
) -> list[dict]:
    """Validation accuracy of ``strategy`` trained on growing stratified fractions of the
    training split (same validation set): does more data still help?

    ``COLLECT_MORE_DATA`` is measured with the head on frozen features, the best one can
    do before collecting. Returns one dict per fraction: fraction, train_images, accuracy.
    """
    train, validation = training_split(dataset, config)
    if features is None or config.cut not in features:
        features = dataset_features(dataset, config, (config.cut,))
    cached = features[config.cut]
    points = []
    for index, fraction in enumerate(fractions):
        count = max(int(round(fraction * len(train))), dataset.num_classes)
        subset = train[sample_indices(dataset.labels[train], count, config.seed)]
        score = _subset_accuracy(dataset, strategy, config, cached, subset, validation)
        points.append({"fraction": fraction, "train_images": len(subset), "accuracy": score})
        report(
            progress, (index + 1) / len(fractions), f"learning curve: {fraction:.0%} of the data"
        )
    return points


def run_with_learning_curves(
    dataset: ImageDataset,
    config: ExperimentConfig,
    features: dict[str, np.ndarray] | None,
    strategy: Strategy,
    head_curve: bool = False,
    progress: Progress | None = None,
    on_epoch: Callable[[str, dict], None] | None = None,
) -> tuple[ExperimentResult, list[dict], list[dict]]:
    """The advisor page's one training job: ``run_experiments``, the learning curve of
    ``strategy`` (the advised one) and the head's learning curve, measured too when
    ``head_curve`` and ``strategy`` is not the head's own (it judges a measured "collect
    more data"). Returns (result, learning curve, the head's learning curve)."""
    result = run_experiments(dataset, config, features, progress, on_epoch)
    curve = learning_curve(dataset, strategy, config, features, progress=progress)
    head = curve
    if head_curve and strategy is not Strategy.COLLECT_MORE_DATA:
        collect = Strategy.COLLECT_MORE_DATA  # the head on frozen features
        head = learning_curve(dataset, collect, config, features, progress=progress)
    return result, curve, head


def _subset_accuracy(
    dataset: ImageDataset,
    strategy: Strategy,
    config: ExperimentConfig,
    cached: np.ndarray,
    subset: np.ndarray,
    validation: np.ndarray,
) -> float:
    """Validation accuracy of ``strategy`` trained on the images ``subset`` (``cached``:
    the frozen features of every image at ``config.cut``)."""
    y_subset, y_val = dataset.labels[subset], dataset.labels[validation]
    if strategy is Strategy.FROM_SCRATCH:
        head = _fresh_head(config, cached.shape[1], dataset.num_classes)
    else:
        head = fit_head(cached[subset], y_subset, dataset.num_classes, config)
        if strategy in (Strategy.TRAIN_HEAD, Strategy.COLLECT_MORE_DATA):
            return accuracy(predict(head, cached[validation]), y_val)
        set_seed(config.seed)
    x_subset, x_val = (
        backbones.preprocess(dataset.images[part], config.backbone, config.image_size)
        for part in (subset, validation)
    )
    model = _fit_whole(config, head, x_subset, y_subset, strategy is Strategy.FROM_SCRATCH)
    return accuracy(predict(model, x_val, 64), y_val)
