"""Timing the unpooling modes on this machine, all in one run.

Times taken while training (``train_shipped``'s seconds per epoch) depend on whatever else
the machine was doing then; a table that compares modes needs them taken together, on a
quiet machine. ``measure_modes`` builds every mode's segmenter and times, round-robin (so
a change of load slows all modes alike), one training step on a batch and inference on a
batch, then reports medians, the ratio to the fastest mode and the machine it ran on
(with its load average, which should be below ~0.5 for the figures to mean much).
``python -m mml7 measure segmentation`` runs it and writes the result into the shipped
record; the page's "Re-measure here" button runs it on the server.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from datetime import UTC, datetime

import keras
import numpy as np

from mml7 import data
from mml7.progress import Progress, report
from mml7.segmentation.models import UNPOOLING_MODES, WIDTHS, build_segmenter, check_mode


def machine() -> dict:
    """What the timings ran on: processor, cores, Keras backend, load average (1 min)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "backend": keras.backend.backend(),
        "load_average_1min": None if load is None else round(load, 2),
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def measure_modes(
    modes=UNPOOLING_MODES,
    train_images: int = 2400,
    batch_size: int = 16,
    rounds: int = 5,
    image_size: int = 64,
    progress: Progress | None = None,
    make=data.make_shapes_segmentation,
) -> dict:
    """Median training-step and inference times of every mode, measured in one run.

    Args:
        modes: unpooling modes to time.
        train_images: scenes per epoch, to turn a step's time into seconds per epoch.
        batch_size: scenes per training step (inference runs on batches of 64).
        rounds: timed rounds; each times every mode once, in turn.
        progress: ``progress(fraction, message)`` after each round.
        make: the scenes' generator, ``make(n, image_size, seed)`` (its class count sets
            the models' output).

    Returns:
        {"machine": ``machine()`` before the run, "rounds": ..., "modes": {mode:
        {"seconds_per_epoch", "inference_ms_per_image", "epoch_ratio",
        "inference_ratio"}}}; the ratios are to the fastest mode of the run.
    """
    modes = [check_mode(mode) for mode in modes]
    scenes = make(64, image_size, seed=1)
    images, masks = scenes.images, scenes.masks.astype(np.int32)
    about = machine()
    models = {}
    for mode in modes:
        model = build_segmenter((image_size, image_size, 3), scenes.num_classes, mode, WIDTHS)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.train_on_batch(images[:batch_size], masks[:batch_size])  # builds the step
        model.predict_on_batch(images)
        models[mode] = model
    steps = {mode: [] for mode in modes}
    inference = {mode: [] for mode in modes}
    for index in range(rounds):
        for mode, model in models.items():
            started = time.perf_counter()
            model.train_on_batch(images[:batch_size], masks[:batch_size])
            steps[mode].append(time.perf_counter() - started)
            started = time.perf_counter()
            model.predict_on_batch(images)
            inference[mode].append(time.perf_counter() - started)
        report(progress, (index + 1) / rounds, f"round {index + 1}/{rounds}")
    steps_per_epoch = int(np.ceil(train_images / batch_size))
    rows = {
        mode: {
            "seconds_per_epoch": statistics.median(steps[mode]) * steps_per_epoch,
            "inference_ms_per_image": 1000 * statistics.median(inference[mode]) / len(images),
        }
        for mode in modes
    }
    fastest_epoch = min(row["seconds_per_epoch"] for row in rows.values())
    fastest_inference = min(row["inference_ms_per_image"] for row in rows.values())
    for row in rows.values():
        row["epoch_ratio"] = row["seconds_per_epoch"] / fastest_epoch
        row["inference_ratio"] = row["inference_ms_per_image"] / fastest_inference
    return {"machine": about, "rounds": rounds, "batch_size": batch_size, "modes": rows}
