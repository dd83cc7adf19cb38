"""Semantic segmentation: a per-pixel softmax over a naive conv stack or an encoder-decoder
that unpools by nearest neighbour, bilinear, max unpooling or transposed convolution.

The four encoder-decoders share one encoder (same depth, widths and pooling), so only the
way back up to full resolution differs. No skip connections: as in SegNet, the unpooling
alone has to bring the detail back, which is what the comparison is about.

>>> model = build_segmenter((64, 64, 3), 4, unpooling="max")
>>> model.output_shape
(None, 64, 64, 4)
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import keras
import numpy as np
from keras import layers

from mml7 import data
from mml7.errors import InputError
from mml7.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D

Progress = Callable[[float, str], None]

UNPOOLING_MODES = ("none", "nearest", "bilinear", "max", "transposed")
# Encoder widths of the shipped models: three conv blocks, each followed by 2x2 pooling.
WIDTHS = (16, 32, 64)
# Convolutions at the bottleneck (the lowest resolution) of the encoder-decoders.
BOTTLENECK_CONVS = 2
# The shipped weights; ``MML7_SEGMENTATION_WEIGHTS`` points elsewhere (e.g. in tests).
WEIGHTS_DIR = Path(os.environ.get("MML7_SEGMENTATION_WEIGHTS", Path(__file__).parent / "weights"))
SUMMARY_FILE = "segmentation.json"
TRAIN_COMMAND = "python -m mml7 train segmentation"
# Order of ``train_shipped``: an interrupted run has the most telling modes first.
TRAIN_ORDER = ("max", "transposed", "nearest", "bilinear", "none")


# --------------------------------------------------------------------------- models


def _check_mode(unpooling: str) -> str:
    mode = str(unpooling).lower()
    if mode not in UNPOOLING_MODES:
        raise ValueError(
            f"unpooling must be one of {', '.join(UNPOOLING_MODES)}; got {unpooling!r}"
        )
    return mode


def _conv(x, width: int, name: str):
    x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def build_segmenter(
    input_shape=(64, 64, 3),
    num_classes: int = 4,
    unpooling: str = "max",
    widths: tuple[int, ...] = WIDTHS,
) -> keras.Model:
    """A fully convolutional per-pixel classifier.

    Args:
        input_shape: (h, w, channels); h and w may be None (any size divisible by
            ``2 ** len(widths)``).
        num_classes: classes per pixel, background included.
        unpooling: "none" - the naive stack: ``2 * len(widths)`` convolutions of width
            ``widths[0]`` at full resolution, no pooling; "nearest" / "bilinear" -
            ``UpSampling2D``; "max" - ``MaxUnpooling2D`` at the positions remembered by the
            encoder's ``MaxPoolingWithArgmax2D``; "transposed" - a learnt 3x3
            ``Conv2DTranspose`` with stride 2 (overlaps summed).
        widths: channels of each encoder block (conv, batch norm, ReLU, 2x2 pooling);
            ``BOTTLENECK_CONVS`` convolutions of ``widths[-1]`` follow at the lowest
            resolution, and the decoder mirrors the blocks.

    Returns:
        keras.Model mapping float images (n, h, w, c) in [0, 1] to per-pixel class
        probabilities (n, h, w, num_classes) (softmax).
    """
    mode = _check_mode(unpooling)
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    if mode == "none":
        for i in range(2 * len(widths)):
            x = _conv(x, widths[0], f"full{i}")
    else:
        masks = []
        for level, width in enumerate(widths):
            x = _conv(x, width, f"enc{level}")
            if mode == "max":
                x, mask = MaxPoolingWithArgmax2D(2, name=f"pool{level}")(x)
                masks.append(mask)
            else:
                x = layers.MaxPooling2D(2, name=f"pool{level}")(x)
        # Two convolutions at the lowest resolution: cheap, and they widen the receptive
        # field to about 47 px, enough to tell a 30 px disc from a square of that size.
        for i in range(BOTTLENECK_CONVS):
            x = _conv(x, widths[-1], f"bottleneck{i}")
        for level in reversed(range(len(widths))):
            width = widths[level]
            if mode == "max":
                x = MaxUnpooling2D(2, name=f"unpool{level}")([x, masks[level]])
            elif mode == "transposed":
                x = layers.Conv2DTranspose(
                    width, 3, strides=2, padding="same", name=f"unpool{level}"
                )(x)
            else:
                x = layers.UpSampling2D(2, interpolation=mode, name=f"unpool{level}")(x)
            # Like SegNet's decoder: the conv after unpooling narrows to the next (upper)
            # level's width, which the max mode needs to match that level's mask.
            x = _conv(x, widths[max(level - 1, 0)], f"dec{level}")
    outputs = layers.Conv2D(num_classes, 1, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name=f"segmenter_{mode}")


def activation_bytes(model: keras.Model, image_shape) -> int:
    """Bytes of every layer output for one image (float32), as kept for backpropagation.

    ``image_shape`` (h, w, c) fills in unknown spatial sizes; masks of max pooling count too.
    """
    sizes = {}
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers[1:]])
    outputs = probe.compute_output_spec(keras.KerasTensor((1, *image_shape)))
    total = 0
    for spec in keras.tree.flatten(outputs):
        key = id(spec)
        if key not in sizes:
            sizes[key] = int(np.prod(spec.shape))
            total += sizes[key]
    return 4 * total


# --------------------------------------------------------------------------- metrics


def confusion(truth: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Pixel counts (num_classes, num_classes): row = true class, column = predicted."""
    truth = np.asarray(truth).ravel().astype(np.int64)
    predicted = np.asarray(predicted).ravel().astype(np.int64)
    if truth.shape != predicted.shape:
        raise ValueError(f"truth and prediction differ in size: {truth.size} vs {predicted.size}")
    return np.bincount(truth * num_classes + predicted, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


def pixel_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Fraction of pixels whose predicted class is the true one."""
    return float(np.mean(np.asarray(truth) == np.asarray(predicted)))


def iou_per_class(truth: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Intersection over union of each class over all pixels; NaN for a class that is in
    neither the truth nor the prediction."""
    counts = confusion(truth, predicted, num_classes).astype(np.float64)
    intersection = np.diag(counts)
    union = counts.sum(0) + counts.sum(1) - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, intersection / union, np.nan)


def mean_iou(truth: np.ndarray, predicted: np.ndarray, num_classes: int) -> float:
    """Mean of ``iou_per_class`` over the classes present (in truth or prediction)."""
    return float(np.nanmean(iou_per_class(truth, predicted, num_classes)))


def boundaries(masks: np.ndarray) -> np.ndarray:
    """Bool (..., h, w): pixels whose class differs from their right or lower neighbour."""
    masks = np.asarray(masks)
    edge = np.zeros(masks.shape, dtype=bool)
    right = masks[..., :, 1:] != masks[..., :, :-1]
    down = masks[..., 1:, :] != masks[..., :-1, :]
    edge[..., :, :-1] |= right
    edge[..., :, 1:] |= right
    edge[..., :-1, :] |= down
    edge[..., 1:, :] |= down
    return edge


def _dilate(edges: np.ndarray, tolerance: int) -> np.ndarray:
    """Each True pixel grown to a (2 t + 1) square: 'within t pixels' (chessboard)."""
    from scipy import ndimage

    if tolerance == 0:
        return edges
    size = 2 * tolerance + 1
    footprint = np.ones((1,) * (edges.ndim - 2) + (size, size), dtype=bool)
    return ndimage.binary_dilation(edges, structure=footprint)


def boundary_f1(truth: np.ndarray, predicted: np.ndarray, tolerance: int = 2) -> float:
    """Boundary F1 score: how well the predicted class edges match the true ones.

    Precision is the fraction of predicted boundary pixels within ``tolerance`` pixels
    (chessboard distance) of a true boundary pixel, recall the fraction of true boundary
    pixels within ``tolerance`` of a predicted one; F1 is their harmonic mean, averaged
    over images. An image with no boundary in truth and prediction scores 1.

    Args:
        truth, predicted: int arrays (n, h, w) or (h, w) of class indices.
    """
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if truth.shape != predicted.shape:
        raise ValueError(f"truth {truth.shape} and prediction {predicted.shape} differ in shape")
    if truth.ndim == 2:
        truth, predicted = truth[None], predicted[None]
    true_edges, predicted_edges = boundaries(truth), boundaries(predicted)
    near_true, near_predicted = _dilate(true_edges, tolerance), _dilate(predicted_edges, tolerance)
    scores = []
    for t, p, nt, np_ in zip(true_edges, predicted_edges, near_true, near_predicted, strict=True):
        if not t.any() and not p.any():
            scores.append(1.0)
            continue
        precision = (p & nt).sum() / max(p.sum(), 1)
        recall = (t & np_).sum() / max(t.sum(), 1)
        total = precision + recall
        scores.append(0.0 if total == 0 else float(2 * precision * recall / total))
    return float(np.mean(scores))


def evaluate(truth: np.ndarray, predicted: np.ndarray, num_classes: int) -> dict:
    """Pixel accuracy, per-class IoU, mean IoU and boundary F1 (2 px) as plain floats."""
    per_class = iou_per_class(truth, predicted, num_classes)
    return {
        "pixel_accuracy": pixel_accuracy(truth, predicted),
        "iou_per_class": [None if np.isnan(v) else float(v) for v in per_class],
        "mean_iou": float(np.nanmean(per_class)),
        "boundary_f1": boundary_f1(truth, predicted, tolerance=2),
    }


def predict_classes(model: keras.Model, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """uint8 (n, h, w): the most probable class of each pixel."""
    probabilities = model.predict(np.asarray(images, np.float32), batch_size=batch_size, verbose=0)
    return np.argmax(probabilities, axis=-1).astype(np.uint8)


# --------------------------------------------------------------------------- training


class ProgressCallback(keras.callbacks.Callback):
    """Reports ``progress(fraction, message)`` after every batch and records epoch times."""

    def __init__(self, epochs: int, steps_per_epoch: int, progress: Progress | None, label=""):
        super().__init__()
        self.epochs, self.steps = epochs, max(steps_per_epoch, 1)
        self.progress, self.label = progress, label
        self.epoch_seconds: list[float] = []
        self._epoch, self._started = 0, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._started = epoch, time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.progress is not None:
            done = (self._epoch * self.steps + batch + 1) / (self.epochs * self.steps)
            loss = (logs or {}).get("loss")
            text = f"{self.label} epoch {self._epoch + 1}/{self.epochs}"
            self.progress(done, text + (f", loss {float(loss):.3f}" if loss is not None else ""))

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_seconds.append(time.perf_counter() - self._started)


def train_segmenter(
    model: keras.Model,
    images: np.ndarray,
    masks: np.ndarray,
    epochs: int = 5,
    batch_size: int = 32,
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

    Returns:
        {"loss": [per epoch], "epoch_seconds": [per epoch], "seconds_per_epoch": median}
    """
    if len(images) != len(masks) or images.shape[:3] != masks.shape:
        raise InputError(f"images {images.shape} and masks {masks.shape} do not match")
    keras.utils.set_random_seed(seed)
    steps = int(np.ceil(len(images) / batch_size))
    reporter = ProgressCallback(epochs, steps, progress, label)
    decay = keras.optimizers.schedules.CosineDecay(
        learning_rate, max(epochs * steps, 1), alpha=0.05
    )
    model.compile(
        optimizer=keras.optimizers.Adam(decay),
        loss="sparse_categorical_crossentropy",
    )
    history = model.fit(
        np.asarray(images, np.float32),
        np.asarray(masks, np.int32),
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=0,
        callbacks=[reporter, *(callbacks or [])],
    )
    return {
        "loss": [float(v) for v in history.history["loss"]],
        "epoch_seconds": reporter.epoch_seconds,
        "seconds_per_epoch": float(np.median(reporter.epoch_seconds)),
    }


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
    name = name.lower()
    if name == "shapes":
        return data.make_shapes_segmentation(count, image_size, seed)
    if name == "fashion":
        return data.make_fashion_composites(count, image_size, seed)
    raise ValueError(f"dataset must be 'shapes' or 'fashion', got {name!r}")


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

    Returns:
        (models, rows): {mode: keras.Model}, {mode: row of ``model_row``}.
    """
    models, rows = {}, {}
    modes = [_check_mode(mode) for mode in modes]
    for index, mode in enumerate(modes):

        def report(fraction, message, index=index, mode=mode):
            if progress is not None:
                progress((index + fraction) / len(modes), f"{mode}: {message}")

        model = build_segmenter(train.images.shape[1:], train.num_classes, mode, widths)
        history = train_segmenter(
            model, train.images, train.masks, epochs, seed=seed, progress=report, label=mode
        )
        models[mode] = model
        rows[mode] = model_row(model, history, test)
    return models, rows


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


# --------------------------------------------------------------------------- shipped models


def weights_path(mode: str, folder=None) -> Path:
    return Path(folder or WEIGHTS_DIR) / f"segmentation_{_check_mode(mode)}.weights.h5"


def save_weights(model: keras.Model, path) -> None:
    """Save the model's weights only: a compiled model's ``save_weights`` also stores the
    optimizer's state (Adam's two moments), which triples the file for nothing we ship."""
    # A model rebuilt from its config is uncompiled (``clone_model`` keeps the optimizer).
    bare = keras.Model.from_config(model.get_config())
    bare.set_weights(model.get_weights())
    bare.save_weights(path)


def shipped_summary(folder=None) -> dict:
    """The record ``python -m mml7 train segmentation`` wrote (metrics per mode), or {}."""
    path = Path(folder or WEIGHTS_DIR) / SUMMARY_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def pretrained(mode: str, folder=None) -> keras.Model:
    """A shipped model (trained on the shapes scenes, 64 px) with its weights loaded.

    Raises:
        InputError: the weights are missing (says how to train them) or do not fit.
    """
    path = weights_path(mode, folder)
    if not path.exists():
        raise InputError(
            f"No shipped weights for unpooling '{mode}' ({path.name}); train them with "
            f"`{TRAIN_COMMAND}` (about half an hour on two cores)."
        )
    config = shipped_summary(folder).get("config", {})
    model = build_segmenter(
        (None, None, 3),
        len(data.SHAPE_CLASSES),
        mode,
        tuple(config.get("widths", WIDTHS)),
    )
    try:
        model.load_weights(path)
    except Exception as error:  # h5py/Keras raise several types for a mismatched file
        raise InputError(
            f"{path.name} does not fit the '{mode}' model ({error}); retrain with `{TRAIN_COMMAND}`."
        ) from error
    return model


def shipped_test_set(seed: int = 0, count: int = 500) -> data.SegmentationDataset:
    """The held-out scenes the shipped models are scored on (a seed training never uses)."""
    return data.make_shapes_segmentation(count, 64, seed=10_000 + seed)


def train_shipped(out_dir, seed: int = 0, quick: bool = False, progress: Progress | None = None):
    """Train every mode on the shapes scenes and save ``segmentation_<mode>.weights.h5``.

    2,400 training scenes (seed ``seed``), 500 held-out scenes (seed ``10000 + seed``),
    64 x 64 px, 6 epochs of batches of 16 each (about 35 minutes on two busy cores). Modes
    are trained in ``TRAIN_ORDER`` (the cheap, likely best ones first). ``quick``: 64 scenes, 1 epoch, to check the pipeline. A
    mode whose weights and record already exist for the same configuration is skipped,
    so an interrupted run resumes. Writes ``segmentation.json`` (config and every mode's
    measured row) and returns it.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "seed": seed,
        "quick": quick,
        "train_images": 64 if quick else 2400,
        "test_images": 32 if quick else 500,
        "epochs": 1 if quick else 6,
        "batch_size": 16,
        "image_size": 64,
        "widths": list(WIDTHS),
        "bottleneck_convs": BOTTLENECK_CONVS,
    }
    previous = shipped_summary(out_dir)
    summary = {"config": config, "modes": {}}
    if previous.get("config") == config:
        summary["modes"] = dict(previous.get("modes", {}))
    train = data.make_shapes_segmentation(config["train_images"], 64, seed)
    test = shipped_test_set(seed, config["test_images"])
    for index, mode in enumerate(TRAIN_ORDER):
        path = weights_path(mode, out_dir)
        if mode in summary["modes"] and path.exists():
            continue

        def report(fraction, message, index=index, mode=mode):
            if progress is not None:
                progress((index + fraction) / len(UNPOOLING_MODES), f"{mode}: {message}")

        model = build_segmenter((64, 64, 3), train.num_classes, mode, WIDTHS)
        history = train_segmenter(
            model,
            train.images,
            train.masks,
            config["epochs"],
            batch_size=config["batch_size"],
            seed=seed,
            progress=report,
            label="",
        )
        save_weights(model, path)
        summary["modes"][mode] = model_row(model, history, test)
        (out_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=1))
        if progress is not None:
            row = summary["modes"][mode]
            progress(
                (index + 1) / len(UNPOOLING_MODES),
                f"{mode}: mean IoU {row['mean_iou']:.3f}, pixel accuracy {row['pixel_accuracy']:.3f}",
            )
    (out_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=1))
    return summary


# --------------------------------------------------------------------------- uploads

MAX_UPLOAD_CLASSES = 32


def _png_mask(raw: bytes, member: str) -> np.ndarray:
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(raw))
        image.load()
    except Exception:
        raise InputError(f"mask '{member}' is not an image Pillow can read.") from None
    if image.mode in ("L", "P", "I", "I;16", "1"):
        return np.asarray(image).astype(np.int64)
    if image.mode in ("RGB", "RGBA"):
        values = np.asarray(image.convert("RGB")).astype(np.int64)
        if (values == values[..., :1]).all():
            return values[..., 0]
    raise InputError(
        f"mask '{member}' is a colour image ({image.mode}); masks must be class-index PNGs "
        "(one grey or palette value per pixel: 0 = background, 1, 2, ...)."
    )


def read_segmentation_upload(
    filename: str, payload: bytes, image_size: int | None = 64, channels: int = 3
) -> data.SegmentationDataset:
    """Read a zip with ``images/`` and ``masks/`` holding files of the same stems.

    ``images/cat1.jpg`` pairs with ``masks/cat1.png``; one wrapping folder is accepted.
    Masks are class-index PNGs (grey or palette; value = class, 0 = background). With
    ``image_size`` set, images are resized bilinearly and masks by nearest neighbour.

    Raises:
        InputError: not a zip; no images/ or masks/ folder; stems that do not pair up;
            an image and its mask of different sizes; a colour mask; more than 32 classes;
            an unreadable image.
    """
    if not payload:
        raise InputError(f"'{filename}' is empty.")
    if not zipfile.is_zipfile(io.BytesIO(payload)):
        raise InputError(f"'{filename}' is not a zip; upload a .zip with images/ and masks/.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
        names = [i.filename for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise InputError(f"'{filename}' is a damaged zip archive: {error}") from None
    if len(names) > data.MAX_MEMBERS:
        raise InputError(f"'{filename}' has {len(names):,} files; at most {data.MAX_MEMBERS:,}.")
    found: dict[str, dict[str, str]] = {"images": {}, "masks": {}}
    for name in names:
        path = PurePosixPath(name.replace("\\", "/"))
        if ".." in path.parts or path.name.startswith(".") or "__MACOSX" in path.parts:
            continue
        folder = next((p for p in path.parts[:-1] if p.lower() in found), None)
        if folder is not None and path.suffix.lower() in data.IMAGE_SUFFIXES:
            found[folder.lower()][path.stem] = name
    if not found["images"] or not found["masks"]:
        missing = " and ".join(f"{k}/" for k, v in found.items() if not v)
        raise InputError(
            f"'{filename}' has no image files in {missing}; expected images/NAME.png (or .jpg) "
            "with masks/NAME.png beside them."
        )
    only_images = sorted(set(found["images"]) - set(found["masks"]))
    only_masks = sorted(set(found["masks"]) - set(found["images"]))
    if only_images or only_masks:
        parts = []
        if only_images:
            parts.append(f"images without a mask: {', '.join(only_images[:5])}")
        if only_masks:
            parts.append(f"masks without an image: {', '.join(only_masks[:5])}")
        raise InputError(f"'{filename}': names do not pair up ({'; '.join(parts)}).")
    images, masks = [], []
    size = None if image_size is None else (image_size, image_size)
    for stem in sorted(found["images"]):
        image_name, mask_name = found["images"][stem], found["masks"][stem]
        try:
            image = data._decode(archive.read(image_name), channels, None)
        except data._Unreadable as error:
            raise InputError(f"image '{image_name}': {error}.") from None
        mask = _png_mask(archive.read(mask_name), mask_name)
        if mask.shape != image.shape[:2]:
            raise InputError(
                f"'{image_name}' is {image.shape[1]} x {image.shape[0]} px but its mask is "
                f"{mask.shape[1]} x {mask.shape[0]} px; they must be the same size."
            )
        if mask.max() >= MAX_UPLOAD_CLASSES:
            raise InputError(
                f"mask '{mask_name}' has class value {mask.max()}; class values must be "
                f"0..{MAX_UPLOAD_CLASSES - 1} (0 = background)."
            )
        if size is None:
            size = image.shape[:2]
        images.append(_resize(image, size, "bilinear"))
        masks.append(_resize(mask.astype(np.uint8), size, "nearest"))
    masks_array = np.stack(masks).astype(np.uint8)
    num_classes = int(masks_array.max()) + 1
    if num_classes < 2:
        raise InputError(f"'{filename}': every mask is all background (0); nothing to learn.")
    return data.SegmentationDataset(
        np.stack(images).astype(np.float32),
        masks_array,
        ["background", *(f"class {k}" for k in range(1, num_classes))],
        Path(filename).stem,
        f"upload: {filename} ({len(images)} images)",
    )


def split(scenes: data.SegmentationDataset, test_fraction: float = 0.2, seed: int = 0):
    """(train, test) at random; raises InputError when either part would be empty."""
    count = len(scenes)
    test_count = int(round(count * test_fraction))
    if count < 2 or test_count < 1 or test_count >= count:
        raise InputError(f"{count} image(s) are too few to split into training and test images.")
    order = np.random.default_rng(seed).permutation(count)
    parts = []
    for indices in (order[test_count:], order[:test_count]):
        parts.append(
            data.SegmentationDataset(
                scenes.images[indices],
                scenes.masks[indices],
                list(scenes.class_names),
                scenes.name,
                scenes.source,
            )
        )
    return parts[0], parts[1]


def _resize(array: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    from PIL import Image

    if array.shape[:2] == tuple(size):
        return array
    if method == "nearest":
        return np.asarray(Image.fromarray(array).resize((size[1], size[0]), Image.NEAREST))
    channels = [
        np.asarray(
            Image.fromarray(array[..., k].astype(np.float32), mode="F").resize(
                (size[1], size[0]), Image.BILINEAR
            )
        )
        for k in range(array.shape[-1])
    ]
    return np.clip(np.stack(channels, -1), 0, 1)


def prepare_image(image: np.ndarray, max_side: int = 256, multiple: int = 8):
    """An uploaded image (h, w, c) resized to at most ``max_side`` and edge-padded to a
    multiple of ``multiple`` so the encoder-decoder can run; returns (padded, (h, w)) where
    (h, w) is the resized size to crop the prediction back to."""
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    size = (max(int(round(height * scale)), 1), max(int(round(width * scale)), 1))
    image = _resize(image, size, "bilinear")
    pad_h, pad_w = (-size[0]) % multiple, (-size[1]) % multiple
    padded = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return padded.astype(np.float32), size
