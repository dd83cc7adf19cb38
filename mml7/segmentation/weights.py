"""The shipped segmenters: one per unpooling mode, trained on the shapes scenes at 64 px.

They follow ``mml7.shipped``: ``segmentation_<mode>.weights.h5`` and the training record
``segmentation.json`` in the weights folder (``MML7_WEIGHTS`` points elsewhere), made by
``python -m mml7 train segmentation`` (``train_shipped``) and loaded by ``pretrained``.
"""

from __future__ import annotations

import time
from pathlib import Path

import keras

from mml7 import data, shipped
from mml7.progress import Progress, report, step
from mml7.segmentation.models import BOTTLENECK_CONVS, WIDTHS, build_segmenter, check_mode
from mml7.segmentation.training import model_row, train_segmenter

FAMILY = "segmentation"
TRAIN_COMMAND = shipped.train_command(FAMILY)
# Order of ``train_shipped``: an interrupted run has the most telling modes first.
TRAIN_ORDER = ("max", "transposed", "nearest", "bilinear", "none")


def weights_file(mode: str) -> str:
    return f"segmentation_{check_mode(mode)}.weights.h5"


def weights_path(mode: str, folder=None) -> Path:
    """Where the shipped weights of ``mode`` are (``folder`` or the weights folder)."""
    return shipped.weights_dir(folder) / weights_file(mode)


def shipped_summary(folder=None) -> dict:
    """The record ``python -m mml7 train segmentation`` wrote (metrics per mode), or {}."""
    return shipped.summary(FAMILY, folder)


def pretrained(mode: str, folder=None) -> keras.Model:
    """A shipped model (trained on the shapes scenes, 64 px) with its weights loaded.

    It takes images of any size divisible by 8, float32 (n, h, w, 3) in [0, 1].

    Raises:
        InputError: the weights are missing (says how to train them) or do not fit.
    """
    config = shipped_summary(folder).get("config", {})
    model = build_segmenter(
        (None, None, 3),
        len(data.SHAPE_CLASSES),
        mode,
        tuple(config.get("widths", WIDTHS)),
    )
    return shipped.load_weights(model, FAMILY, weights_file(mode), folder)


def shipped_test_set(seed: int = 0, count: int = 500) -> data.SegmentationDataset:
    """The held-out scenes the shipped models are scored on (a seed training never uses)."""
    return data.make_shapes_segmentation(count, 64, seed=10_000 + seed)


def _config(seed: int, quick: bool) -> dict:
    return {
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


def train_shipped(out_dir, seed: int = 0, quick: bool = False, progress: Progress | None = None):
    """Train every mode on the shapes scenes and save ``segmentation_<mode>.weights.h5``.

    2,400 training scenes (seed ``seed``), 500 held-out scenes (seed ``10000 + seed``),
    64 x 64 px, 6 epochs of batches of 16 each. Modes are trained in ``TRAIN_ORDER``.
    ``quick``: 64 scenes, 1 epoch, to check the pipeline. A mode whose weights and row
    already exist for the same configuration is skipped, so an interrupted run resumes.
    Writes ``segmentation.json`` - the config, every mode's measured row (with the wall
    seconds it took), their total wall seconds and ``shipped.environment()`` - after each
    mode, and returns it.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = _config(seed, quick)
    previous = shipped_summary(out_dir)
    summary = {"config": config, "modes": {}}
    if previous.get("config") == config:
        summary["modes"] = dict(previous.get("modes", {}))
    summary["environment"] = shipped.environment()
    train = data.make_shapes_segmentation(config["train_images"], 64, seed)
    test = shipped_test_set(seed, config["test_images"])
    for index, mode in enumerate(TRAIN_ORDER):
        if mode in summary["modes"] and weights_path(mode, out_dir).exists():
            continue
        started = time.perf_counter()
        model = build_segmenter((64, 64, 3), train.num_classes, mode, WIDTHS)
        history = train_segmenter(
            model,
            train.images,
            train.masks,
            config["epochs"],
            batch_size=config["batch_size"],
            seed=seed,
            progress=step(progress, index, len(TRAIN_ORDER), f"{mode}: "),
        )
        shipped.save_weights(model, weights_path(mode, out_dir))
        row = model_row(model, history, test)
        row["wall_seconds"] = time.perf_counter() - started
        summary["modes"][mode] = row
        _write(summary, out_dir)
        report(
            progress,
            (index + 1) / len(TRAIN_ORDER),
            f"{mode}: mean IoU {row['mean_iou']:.3f}, pixel accuracy {row['pixel_accuracy']:.3f}",
        )
    _write(summary, out_dir)
    return summary


def remeasure(
    out_dir=None, rounds: int = 7, progress: Progress | None = None, write: bool = True
) -> dict:
    """Time every shipped mode together on this machine (``timing.measure_modes`` with the
    record's scenes per epoch and batch size) and, with ``write``, store the result as the
    record's "timing" (what the page's table shows). Returns the timing."""
    from mml7.segmentation.timing import measure_modes

    summary = shipped_summary(out_dir)
    config = summary.get("config") or _config(0, False)
    modes = list(summary.get("modes") or TRAIN_ORDER)
    timing = measure_modes(
        modes, config["train_images"], config["batch_size"], rounds, config["image_size"], progress
    )
    if write and summary:
        summary["timing"] = timing
        shipped.write_summary(FAMILY, summary, shipped.weights_dir(out_dir))
    return timing


def shipped_rows(summary: dict) -> dict[str, dict]:
    """The record's row per mode, with the seconds per epoch and inference times of its
    "timing" (all modes measured together) instead of those taken during training."""
    timing = summary.get("timing", {}).get("modes", {})
    return {
        mode: row | {key: timing[mode][key] for key in TIMED if mode in timing}
        for mode, row in summary.get("modes", {}).items()
    }


# The columns a re-measurement replaces.
TIMED = ("seconds_per_epoch", "inference_ms_per_image")


def _write(summary: dict, out_dir: Path) -> None:
    rows = summary["modes"].values()
    summary["wall_seconds"] = sum(row.get("wall_seconds", 0.0) for row in rows)
    shipped.write_summary(FAMILY, summary, out_dir)
