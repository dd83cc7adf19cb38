"""The shipped segmenters: one per unpooling mode and scene kind, trained at 64 px.

Two scene kinds (``SCENES``): "shapes" (discs, squares, triangles; every unpooling mode)
and "thin" (lines and ring outlines 1-2 px wide; nearest, max and transposed), where a
decoder that puts detail back only by 2 x 2 blocks loses most of each object.
They follow ``mml7.shipped``: ``segmentation_<mode>.weights.h5`` and the record
``segmentation.json`` for the shapes, ``segmentation_thin_<mode>.weights.h5`` and
``segmentation_thin.json`` for the thin scenes, in the weights folder (``MML7_WEIGHTS``
points elsewhere), made by ``python -m mml7 train segmentation`` and ``python -m mml7
train segmentation_thin`` (``train_shipped``) and loaded by ``pretrained``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from mml7 import data, shipped
from mml7.errors import check_choice
from mml7.progress import Progress, report, step
from mml7.segmentation.models import (
    BN_MOMENTUM,
    BOTTLENECK_CONVS,
    WIDTHS,
    build_segmenter,
    check_mode,
    predict_classes,
)
from mml7.segmentation.training import (
    SHOWN_SCENES,
    keep_best_on_validation,
    model_row,
    train_segmenter,
)

FAMILY = "segmentation"
TRAIN_COMMAND = shipped.train_command(FAMILY)
# Order of ``train_shipped``: an interrupted run has the most telling modes first.
TRAIN_ORDER = ("max", "transposed", "nearest", "bilinear", "none")


@dataclass(frozen=True)
class SceneKind:
    """A kind of generated scene the shipped segmenters are trained on."""

    family: str  # the record's name (``<family>.json``) and the weights files' prefix
    make: Callable[..., data.SegmentationDataset]  # make(n, image_size, seed)
    classes: tuple[str, ...]
    modes: tuple[str, ...]  # trained in this order
    train_images: int


SCENES = {
    "shapes": SceneKind(
        FAMILY, data.make_shapes_segmentation, data.SHAPE_CLASSES, TRAIN_ORDER, 6000
    ),
    # Thin lines train faster per scene (3 classes, thin objects): 3,000 scenes reach a
    # plateau within the same 24 epochs, and only the three ways back up are compared.
    "thin": SceneKind(
        "segmentation_thin",
        data.make_thin_segmentation,
        data.THIN_CLASSES,
        ("max", "nearest", "transposed"),
        3000,
    ),
}


def scene_kind(scenes: str) -> SceneKind:
    return SCENES[check_choice(scenes, SCENES, "scenes")]


def weights_file(mode: str, scenes: str = "shapes") -> str:
    return f"{scene_kind(scenes).family}_{check_mode(mode)}.weights.h5"


def weights_path(mode: str, folder=None, scenes: str = "shapes") -> Path:
    """Where the shipped weights of ``mode`` are (``folder`` or the weights folder)."""
    return shipped.weights_dir(folder) / weights_file(mode, scenes)


def shipped_summary(folder=None, scenes: str = "shapes") -> dict:
    """The record ``python -m mml7 train segmentation`` (or ``segmentation_thin``) wrote
    (metrics per mode), or {}."""
    return shipped.summary(scene_kind(scenes).family, folder)


def pretrained(mode: str, folder=None, scenes: str = "shapes") -> keras.Model:
    """A shipped model (trained on the ``scenes`` kind, 64 px) with its weights loaded.

    It takes images of any size divisible by 8, float32 (n, h, w, 3) in [0, 1].

    Raises:
        InputError: the weights are missing (says how to train them) or do not fit.
    """
    kind = scene_kind(scenes)
    config = shipped_summary(folder, scenes).get("config", {})
    model = build_segmenter(
        (None, None, 3), len(kind.classes), mode, tuple(config.get("widths", WIDTHS))
    )
    return shipped.load_weights(model, kind.family, weights_file(mode, scenes), folder)


def shipped_test_set(
    seed: int = 0, count: int = 500, scenes: str = "shapes"
) -> data.SegmentationDataset:
    """The held-out scenes the shipped models are scored on (a seed training never uses)."""
    return scene_kind(scenes).make(count, 64, seed=10_000 + seed)


def validation_set(seed: int = 0, count: int = 500, scenes: str = "shapes"):
    """The scenes a checkpoint is chosen on: neither training nor test scenes."""
    return scene_kind(scenes).make(count, 64, seed=20_000 + seed)


def _config(seed: int, quick: bool, scenes: str = "shapes") -> dict:
    config = {
        "seed": seed,
        # Seeds of the initial weights and batch order; every seed sees the same scenes.
        # The first one's models are shipped, the others measure the spread.
        "seeds": [seed] if quick else [seed, seed + 1, seed + 2],
        "quick": quick,
        "train_images": 64 if quick else scene_kind(scenes).train_images,
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
    if scenes != "shapes":  # the shapes records predate scene kinds
        config["scenes"] = scenes
    return config


# The one training budget of every mode and seed (Adam, cosine-decayed over the budget);
# within it, each run keeps the epoch with the best validation mean IoU.
EPOCHS = 24


def train_shipped(
    out_dir,
    seed: int = 0,
    quick: bool = False,
    progress: Progress | None = None,
    scenes: str = "shapes",
):
    """Train every mode of the scene kind with every seed of the config; save the first
    seed's models as ``<family>_<mode>.weights.h5``.

    ``SCENES[scenes].train_images`` training scenes (seed ``seed``; 6,000 shapes, 3,000
    thin), 500 validation scenes (``validation_set``), 500 held-out test scenes
    (``shipped_test_set``), 64 x 64 px; ``EPOCHS`` epochs of
    batches of 16 for every mode and seed, keeping the epoch best on validation.
    ``quick``: 64 scenes, one seed, 1 epoch, to check the pipeline. A run (mode, seed)
    already in a record of the same configuration is kept, so an interrupted run resumes.

    Writes ``<family>.json`` after each run and returns it: the config, per mode the
    first seed's full row (``model_row``), every seed's test scores, validation curve and
    chosen epoch, and the mean and standard deviation over seeds of mean IoU and boundary
    F1 (2 px and 1 px), with ``shipped.environment()`` and the wall seconds.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kind, config = scene_kind(scenes), _config(seed, quick, scenes)
    previous = shipped_summary(out_dir, scenes)
    summary = {"config": config, "modes": {}, "runs": {}}
    if previous.get("config") == config:
        summary["runs"] = dict(previous.get("runs", {}))
    summary["environment"] = shipped.environment()
    sets = {
        "train": kind.make(config["train_images"], 64, seed),
        "validation": validation_set(seed, config["validation_images"], scenes),
        "test": shipped_test_set(seed, config["test_images"], scenes),
    }
    jobs = [(run_seed, mode) for run_seed in config["seeds"] for mode in kind.modes]
    for index, (run_seed, mode) in enumerate(jobs):
        key, path = f"{mode}/{run_seed}", weights_path(mode, out_dir, scenes)
        shipped_run = run_seed == seed
        if key in summary["runs"] and (not shipped_run or path.exists()):
            continue
        part = step(progress, index, len(jobs), f"{mode}, seed {run_seed}: ")
        model, row = _train_run(mode, run_seed, config, sets, part)
        if shipped_run:
            shipped.save_weights(model, path)
        summary["runs"][key] = row
        _write(summary, out_dir, kind)
        report(progress, (index + 1) / len(jobs), f"{key}: mean IoU {row['mean_iou']:.3f}")
    _write(summary, out_dir, kind)
    precompute_predictions(out_dir)
    return summary


# The compare tab's prediction grid: every shipped model on the first held-out scenes.
PREDICTIONS_FILE = "segmentation_predictions.npz"


def precompute_predictions(folder=None, count: int = SHOWN_SCENES) -> dict[str, np.ndarray]:
    """Every shipped model's class masks on the first ``count`` held-out scenes of its
    kind (``shipped_test_set``, seed 0), written to ``PREDICTIONS_FILE`` in the weights
    folder with a digest of each model's weights file: a page shows them without loading
    the models (a second or more each), and retrained weights make them stale, not
    wrong. ``train_shipped`` calls it; returns what it wrote ({"<scenes>/<mode>": masks})."""
    folder = shipped.weights_dir(folder)
    stored = {}
    for scenes, kind in SCENES.items():
        images = shipped_test_set(0, count, scenes).images
        for mode in kind.modes:
            path = weights_path(mode, folder, scenes)
            if path.exists():
                model = pretrained(mode, folder, scenes)
                stored[f"{scenes}/{mode}"] = predict_classes(model, images)
                stored[f"{scenes}/{mode}/digest"] = np.array(shipped.files_digest(path))
    np.savez_compressed(folder / PREDICTIONS_FILE, **stored)
    return {key: value for key, value in stored.items() if not key.endswith("/digest")}


def shipped_predictions(
    mode: str, count: int, scenes: str = "shapes", folder=None
) -> np.ndarray | None:
    """The shipped ``mode`` model's class masks (count, 64, 64) on the first ``count``
    held-out scenes, from ``precompute_predictions``; None when the file lacks them or
    the weights changed since."""
    path = shipped.weights_dir(folder) / PREDICTIONS_FILE
    digest = shipped.files_digest(weights_path(mode, folder, scenes))
    if digest is None or not path.exists():
        return None
    key = f"{scenes}/{mode}"
    with np.load(path) as stored:
        if key not in stored or str(stored[f"{key}/digest"]) != digest:
            return None
        found = stored[key]
    return found[:count] if len(found) >= count else None


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


def _modes(summary: dict, kind: SceneKind) -> dict:
    """Per mode: the first seed's row, every seed's scores, their means and spreads."""
    config, runs = summary["config"], summary["runs"]
    modes = {}
    for mode in kind.modes:
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
    out_dir=None,
    rounds: int = 7,
    progress: Progress | None = None,
    write: bool = True,
    scenes: str = "shapes",
) -> dict:
    """Time every shipped mode of a scene kind together on this machine
    (``timing.measure_modes`` with the record's scenes per epoch and batch size) and, with
    ``write``, store the result as the record's "timing" (what the page's table shows).
    Returns the timing."""
    from mml7.segmentation import timing

    kind = scene_kind(scenes)
    summary = shipped_summary(out_dir, scenes)
    config = summary.get("config") or _config(0, False, scenes)
    modes = list(summary.get("modes") or kind.modes)
    size = config["image_size"]
    found = timing.measure_modes(
        modes, config["train_images"], config["batch_size"], rounds, size, progress, kind.make
    )
    if write and summary:
        summary["timing"] = found
        shipped.write_summary(kind.family, summary, shipped.weights_dir(out_dir))
    return found


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


def _write(summary: dict, out_dir: Path, kind: SceneKind) -> None:
    summary["modes"] = _modes(summary, kind)
    runs = summary["runs"].values()
    summary["wall_seconds"] = sum(run.get("wall_seconds", 0.0) for run in runs)
    shipped.write_summary(kind.family, summary, out_dir)
