"""Training segmenters and the SegNet-style comparison of the unpooling modes.

``compare_modes`` trains one model per mode on the same scenes and measures each with
``model_row``: parameters, activation memory, seconds per epoch, inference time and the
test scores of ``mml7.segmentation.metrics.evaluate``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import NamedTuple

import keras
import numpy as np

from mml7 import data
from mml7.batches import Batches
from mml7.errors import InputError, check_choice
from mml7.progress import Progress, keras_callback, step
from mml7.segmentation.metrics import evaluate
from mml7.segmentation.models import (
    UNPOOLING_MODES,
    WIDTHS,
    activation_bytes,
    build_segmenter,
    check_mode,
    predict_classes,
)
from mml7.segmentation.uploads import read_segmentation_upload, split

# The retrain button's defaults: enough for mean IoU >= 0.5 on the shapes scenes in about
# a minute on 2 CPU cores for the two default modes (bench/retrain_defaults.py).
RETRAIN_DEFAULTS = {"scenes": 1000, "epochs": 8, "modes": ("nearest", "max")}

# Held-out scenes a page shows with each model's predicted classes.
SHOWN_SCENES = 4

# Generated data sets by name: "shapes" (the default data) or "fashion" (composites).
DATASETS = {"shapes": data.make_shapes_segmentation, "fashion": data.make_fashion_composites}


def train_segmenter(
    model: keras.Model,
    images: np.ndarray,
    masks: np.ndarray,
    epochs: int = 5,
    batch_size: int = 16,
    learning_rate: float = 3e-3,
    seed: int = 0,
    progress: Progress | None = None,
    callbacks: list | None = None,
    label: str = "",
) -> dict:
    """Compile (Adam, per-pixel cross-entropy) and fit; returns losses and epoch times.

    Args:
        images: float32 (n, h, w, c) in [0, 1]; masks: int (n, h, w) class indices.
        progress: optional ``progress(fraction, message)`` called after every batch.
        callbacks: more Keras callbacks (e.g. to draw a live loss curve).
        label: the start of every progress message (e.g. the mode).

    Returns:
        {"loss": [per epoch], "epoch_seconds": [per epoch], "seconds_per_epoch": median}
    """
    if len(images) != len(masks) or images.shape[:3] != masks.shape:
        raise InputError(f"images {images.shape} and masks {masks.shape} do not match")
    keras.utils.set_random_seed(seed)
    steps = int(np.ceil(len(images) / batch_size))
    reporter = keras_callback(progress, epochs, steps, label)
    decay = keras.optimizers.schedules.CosineDecay(
        learning_rate, max(epochs * steps, 1), alpha=0.05
    )
    model.compile(
        optimizer=keras.optimizers.Adam(decay),
        loss="sparse_categorical_crossentropy",
    )
    history = model.fit(
        Batches(images, masks, batch_size, seed, target_dtype=np.int32),
        epochs=epochs,
        verbose=0,
        callbacks=[reporter, *(callbacks or [])],
    )
    return {
        "loss": [float(v) for v in history.history["loss"]],
        "epoch_seconds": reporter.epoch_seconds,
        "seconds_per_epoch": float(np.median(reporter.epoch_seconds)),
    }


def keep_best_on_validation(model: keras.Model, validation: data.SegmentationDataset):
    """A Keras callback that scores ``model`` on ``validation`` after every epoch and, when
    training ends, puts back the weights of the epoch with the best validation mean IoU.

    Its ``curve`` attribute holds the validation mean IoU per epoch and ``best_epoch``
    the chosen epoch (1-based). The test scenes are never looked at: choosing a checkpoint
    on them would report a score that was selected for.
    """
    state = {"best": -1.0, "weights": None}

    def on_epoch_end(epoch, logs=None):
        predicted = predict_classes(model, validation.images)
        score = evaluate(validation.masks, predicted, validation.num_classes)["mean_iou"]
        callback.curve.append(score)
        if score > state["best"]:
            state.update(best=score, weights=model.get_weights())
            callback.best_epoch = epoch + 1

    def on_train_end(logs=None):
        if state["weights"] is not None:
            model.set_weights(state["weights"])

    callback = keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end, on_train_end=on_train_end)
    callback.curve, callback.best_epoch = [], 0
    return callback


def inference_ms_per_image(model: keras.Model, images: np.ndarray, runs: int = 3) -> float:
    """Median over ``runs`` of the time to predict ``images`` in one batch, per image."""
    images = np.asarray(images, np.float32)
    model.predict_on_batch(images[:2])  # builds the predict function
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        model.predict_on_batch(images)
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times)) / len(images)


def make_dataset(name: str, count: int, seed: int = 0, image_size: int = 64):
    """A generated set by name: "shapes" (default data) or "fashion" (Fashion composites)."""
    return DATASETS[check_choice(name, DATASETS, "dataset")](count, image_size, seed)


def train_test_sets(
    dataset: str, count: int, upload: tuple[str, bytes] | None = None, image_size: int = 64
):
    """(train, test) for ``compare_modes``.

    Args:
        dataset: "shapes" or "fashion": ``count`` generated scenes, and 64 of another seed
            to test on; "upload": the zip ``upload`` = (filename, bytes) of
            ``read_segmentation_upload``, split 80/20 at random.
        image_size: side of the square scenes, in pixels.

    Raises:
        InputError: an unknown ``dataset``; "upload" without an upload or with a bad one.
    """
    if check_choice(dataset, (*DATASETS, "upload"), "dataset") != "upload":
        return (
            make_dataset(dataset, count, 0, image_size),
            make_dataset(dataset, 64, 10_000, image_size),
        )
    if upload is None:
        raise InputError("Upload a zip with images/ and masks/ first.")
    scenes = read_segmentation_upload(*upload, image_size=image_size)
    return split(scenes, 0.2)


def compare_modes(
    train: data.SegmentationDataset,
    test: data.SegmentationDataset,
    modes=UNPOOLING_MODES,
    epochs: int = 3,
    widths: tuple[int, ...] = WIDTHS,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[dict, dict]:
    """Train one model per mode on ``train``, measure each on ``test``.

    Progress messages start with the mode ("max: epoch 1/3, loss ...").

    Returns:
        (models, rows): {mode: keras.Model}, {mode: row of ``model_row``}.
    """
    models, rows = {}, {}
    modes = [check_mode(mode) for mode in modes]
    for index, mode in enumerate(modes):
        model = build_segmenter(train.images.shape[1:], train.num_classes, mode, widths)
        history = train_segmenter(
            model,
            train.images,
            train.masks,
            epochs,
            seed=seed,
            progress=step(progress, index, len(modes), f"{mode}: "),
        )
        models[mode] = model
        rows[mode] = model_row(model, history, test)
    return models, rows


class Comparison(NamedTuple):
    """What the retrain button's job (``compare_on``) returns to the page."""

    models: dict  # mode -> the trained keras.Model
    rows: dict  # mode -> its ``model_row`` on the test scenes
    references: dict  # label -> ``evaluate`` row on the same test scenes
    shown: data.SegmentationDataset  # the first test scenes, for the page's figure
    predictions: dict  # mode -> its class masks of ``shown``


def compare_on(
    dataset: str,
    count: int,
    modes=UNPOOLING_MODES,
    epochs: int = 3,
    upload: tuple[str, bytes] | None = None,
    progress: Progress | None = None,
    shown: int = SHOWN_SCENES,
) -> Comparison:
    """``train_test_sets`` then ``compare_modes``: the job a retrain button sends to a
    training process (``mml7.worker.run``). The training scenes are made there and never
    held by the caller while it waits its turn (1,000 scenes of 64 px are 65 MB), and
    every model (the trained ones and the shipped references) runs there: the caller,
    a server on Keras's NumPy backend, runs none.

    Returns:
        ``Comparison``: ``compare_modes``' models and rows; the references, the scores of
        labelling every test pixel with the training pixels' most common class
        (``"all '<class>'"``, ``majority_row``) and, on the "shapes" scenes the shipped
        models were trained on, each shipped model of ``modes`` whose weights are here
        (``"shipped <mode>"``); the first ``shown`` test scenes and each trained model's
        class masks of them.
    """
    # weights imports this module: the shipped models are reached at call time.
    from mml7.segmentation.weights import pretrained

    train, test = train_test_sets(dataset, count, upload)
    majority = train.class_names[most_common_class(train)]
    references = {f"all '{majority}'": majority_row(train, test)}
    models, rows = compare_modes(train, test, modes, epochs, progress=progress)
    for mode in models if dataset == "shapes" else ():
        try:
            predicted = predict_classes(pretrained(mode), test.images)
        except InputError:  # no shipped weights: the page says so elsewhere
            continue
        references[f"shipped {mode}"] = evaluate(test.masks, predicted, test.num_classes)
    first = replace(test, images=test.images[:shown], masks=test.masks[:shown])
    predictions = {mode: predict_classes(model, first.images) for mode, model in models.items()}
    return Comparison(models, rows, references, first, predictions)


def most_common_class(scenes: data.SegmentationDataset) -> int:
    """The class of most pixels of ``scenes``' masks, counted a mask at a time (one
    ``bincount`` of all 1,000 masks would first copy them as int64: 33 MB)."""
    counts = sum(np.bincount(mask.ravel(), minlength=scenes.num_classes) for mask in scenes.masks)
    return int(np.argmax(counts))


def majority_row(train: data.SegmentationDataset, test: data.SegmentationDataset) -> dict:
    """The scores of labelling every test pixel with the training pixels' most common
    class (background, mostly): the floor a trained segmenter must rise above."""
    majority = most_common_class(train)
    return evaluate(test.masks, np.full_like(test.masks, majority), test.num_classes)


def model_row(model: keras.Model, history: dict, test: data.SegmentationDataset) -> dict:
    """One line of the SegNet-style table: size, memory, time and the test scores."""
    predicted = predict_classes(model, test.images)
    row = {
        "parameters": int(model.count_params()),
        "activation_mib_per_image": activation_bytes(model, test.images.shape[1:]) / 2**20,
        "seconds_per_epoch": history["seconds_per_epoch"],
        "inference_ms_per_image": inference_ms_per_image(model, test.images[:64]),
        "epochs": len(history["loss"]),
        "loss": history["loss"],
    }
    row.update(evaluate(test.masks, predicted, test.num_classes))
    return row
