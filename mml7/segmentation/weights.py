"""The shipped segmenters: one per unpooling mode, trained on the shapes scenes at 64 px.

They follow ``mml7.shipped``: ``segmentation_<mode>.weights.h5`` and the training record
``segmentation.json`` in the weights folder (``MML7_WEIGHTS`` points elsewhere), made by
``python -m mml7 train segmentation`` (``train_shipped``) and loaded by ``pretrained``.
"""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np

from mml7 import data, shipped
from mml7.progress import Progress, report, step
from mml7.segmentation.models import (
    BN_MOMENTUM,
    BOTTLENECK_CONVS,
    WIDTHS,
    build_segmenter,
    check_mode,
)
from mml7.segmentation.training import keep_best_on_validation, model_row, train_segmenter

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


def validation_set(seed: int = 0, count: int = 500) -> data.SegmentationDataset:
    """The scenes a checkpoint is chosen on: neither training nor test scenes."""
    return data.make_shapes_segmentation(count, 64, seed=20_000 + seed)


def _config(seed: int, quick: bool) -> dict:
    return {
        "seed": seed,
        # Seeds of the initial weights and batch order; every seed sees the same scenes.
        # The first one's models are shipped, the others measure the spread.
        "seeds": [seed] if quick else [seed, seed + 1, seed + 2],
        "quick": quick,
        "train_images": 64 if quick else 6000,
        "validation_images": 32 if quick else 500,
        "test_images": 32 if quick else 500,
        "epochs": 1 if quick else EPOCHS,
        "batch_size": 16,
        "learning_rate": 3e-3,
        "image_size": 64,
        "widths": list(WIDTHS),
        "bottleneck_convs": BOTTLENECK_CONVS,
        "bn_momentum": BN_MOMENTUM,
    }


# The one training budget of every mode and seed (Adam, cosine-decayed over the budget);
# within it, each run keeps the epoch with the best validation mean IoU.
EPOCHS = 24


def train_shipped(out_dir, seed: int = 0, quick: bool = False, progress: Progress | None = None):
    """Train every mode with every seed of the config on the shapes scenes; save the first
    seed's models as ``segmentation_<mode>.weights.h5``.

    6,000 training scenes (seed ``seed``), 500 validation scenes (``validation_set``),
    500 held-out test scenes (``shipped_test_set``), 64 x 64 px; ``EPOCHS`` epochs of
    batches of 16 for every mode and seed, keeping the epoch best on validation.
    ``quick``: 64 scenes, one seed, 1 epoch, to check the pipeline. A run (mode, seed)
    already in a record of the same configuration is kept, so an interrupted run resumes.

    Writes ``segmentation.json`` after each run and returns it: the config, per mode the
    first seed's full row (``model_row``), every seed's test scores, validation curve and
    chosen epoch, and the mean and standard deviation over seeds of mean IoU and boundary
    F1 (2 px and 1 px), with ``shipped.environment()`` and the wall seconds.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = _config(seed, quick)
    previous = shipped_summary(out_dir)
    summary = {"config": config, "modes": {}, "runs": {}}
    if previous.get("config") == config:
        summary["runs"] = dict(previous.get("runs", {}))
    summary["environment"] = shipped.environment()
    scenes = {
        "train": data.make_shapes_segmentation(config["train_images"], 64, seed),
        "validation": validation_set(seed, config["validation_images"]),
        "test": shipped_test_set(seed, config["test_images"]),
    }
    jobs = [(run_seed, mode) for run_seed in config["seeds"] for mode in TRAIN_ORDER]
    for index, (run_seed, mode) in enumerate(jobs):
        key = f"{mode}/{run_seed}"
        shipped_run = run_seed == seed
        if key in summary["runs"] and (not shipped_run or weights_path(mode, out_dir).exists()):
            continue
        part = step(progress, index, len(jobs), f"{mode}, seed {run_seed}: ")
        model, row = _train_run(mode, run_seed, config, scenes, part)
        if shipped_run:
            shipped.save_weights(model, weights_path(mode, out_dir))
        summary["runs"][key] = row
        _write(summary, out_dir)
        report(progress, (index + 1) / len(jobs), f"{key}: mean IoU {row['mean_iou']:.3f}")
    _write(summary, out_dir)
    return summary


def _train_run(mode: str, run_seed: int, config: dict, scenes: dict, progress) -> tuple:
    """One (mode, seed) run: train, keep the best epoch on validation, score on test."""
    started = time.perf_counter()
    keras.utils.set_random_seed(run_seed)
    model = build_segmenter((64, 64, 3), scenes["train"].num_classes, mode, WIDTHS)
    best = keep_best_on_validation(model, scenes["validation"])
    history = train_segmenter(
        model,
        scenes["train"].images,
        scenes["train"].masks,
        config["epochs"],
        batch_size=config["batch_size"],
        learning_rate=config["learning_rate"],
        seed=run_seed,
        progress=progress,
        callbacks=[best],
    )
    row = model_row(model, history, scenes["test"])
    row |= {"validation_mean_iou": best.curve, "best_epoch": best.best_epoch}
    row["wall_seconds"] = time.perf_counter() - started
    return model, row


def _modes(summary: dict) -> dict:
    """Per mode: the first seed's row, every seed's scores, their means and spreads."""
    config, runs = summary["config"], summary["runs"]
    modes = {}
    for mode in TRAIN_ORDER:
        seeds = {s: runs[f"{mode}/{s}"] for s in config["seeds"] if f"{mode}/{s}" in runs}
        if config["seed"] not in seeds:
            continue
        row = dict(seeds[config["seed"]])
        row["seeds"] = sorted(seeds)
        for metric in SEED_METRICS:
            values = [seeds[s][metric] for s in sorted(seeds)]
            row[f"{metric}_seeds"] = values
            row[f"{metric}_mean"] = float(np.mean(values))
            row[f"{metric}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        modes[mode] = row
    return modes


# The scores given per seed, with their mean and standard deviation over seeds.
SEED_METRICS = ("mean_iou", "boundary_f1", "boundary_f1_1px")


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
    summary["modes"] = _modes(summary)
    runs = summary["runs"].values()
    summary["wall_seconds"] = sum(run.get("wall_seconds", 0.0) for run in runs)
    shipped.write_summary(FAMILY, summary, out_dir)
