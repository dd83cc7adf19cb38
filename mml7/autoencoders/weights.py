"""The autoencoders mml7 ships pre-trained: loading them, and the schedule that trains them.

Ten Fashion-MNIST models (28x28x1: linear, conv and denoising at the code sizes below) and
one conv model of scikit-image's 200 LFW crops for morphing faces. Their weights and
training record live in the shipped-model folder (``mml7.shipped.weights_dir``);
``python -m mml7 train autoencoders`` remakes them (``train_shipped``).
"""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np

from mml7 import progress as progress_protocol
from mml7 import shipped
from mml7.autoencoders.models import (
    KINDS,
    Autoencoder,
    build_autoencoder,
    build_conv_autoencoder,
    build_for_images,
)
from mml7.autoencoders.noise import add_noise
from mml7.autoencoders.pca import PCA, fit_pca, mse, psnr
from mml7.autoencoders.training import LEARNING_RATES, train_autoencoder
from mml7.errors import InputError, check_choice
from mml7.progress import Progress

FAMILY = "autoencoders"
# The code sizes shipped for each kind (the lecture's k plus the similar-image gallery's).
SHIPPED_CODE_SIZES = {"linear": (2, 10, 32, 50), "conv": (2, 16, 32, 64), "denoising": (64,)}
# Gaussian noise levels the shipped denoising autoencoders were trained at.
SHIPPED_NOISE_STDDEVS = (0.2, 0.5)
FACES_CODE_SIZE = 16
FACES_FILE = "ae_faces_16.weights.h5"
IMAGE_SHAPE = (28, 28, 1)


def weights_path(kind: str, code_size: int, noise_stddev: float = 0.2, folder=None) -> Path:
    """File of a shipped model, e.g. ``weights/ae_conv_32.weights.h5``.

    ``folder`` defaults to ``mml7.shipped.weights_dir()`` (``$MML7_WEIGHTS`` when set).
    """
    folder = shipped.weights_dir(folder)
    if kind == "denoising":
        return folder / f"ae_denoising_{code_size}_s{round(noise_stddev * 100):02d}.weights.h5"
    return folder / f"ae_{kind}_{code_size}.weights.h5"


def pretrained(
    kind: str, code_size: int, noise_stddev: float = 0.2, folder: str | Path | None = None
) -> Autoencoder:
    """A shipped autoencoder (made by ``python -m mml7 train autoencoders``).

    Args:
        kind: "linear" (code sizes 2, 10, 32, 50), "conv" (2, 16, 32, 64) or
            "denoising" (64; trained at noise_stddev 0.2 or 0.5).
        code_size: one of the shipped sizes of ``kind``.
        noise_stddev: which denoising model (ignored for the others).
        folder: where the weights are (default: ``mml7.shipped.weights_dir()``).

    Returns:
        Autoencoder with ``.encoder``, ``.decoder`` and ``.autoencoder`` Keras models for
        28x28x1 images in [0, 1] (Fashion-MNIST).

    Raises:
        InputError: no such shipped model, or its weights file is missing or stale.
    """
    kind = check_choice(kind, KINDS, "kind")
    if int(code_size) not in SHIPPED_CODE_SIZES[kind]:
        sizes = ", ".join(map(str, SHIPPED_CODE_SIZES[kind]))
        raise InputError(f"no shipped {kind} autoencoder with code size {code_size}; try {sizes}")
    if kind == "denoising" and noise_stddev not in SHIPPED_NOISE_STDDEVS:
        levels = ", ".join(map(str, SHIPPED_NOISE_STDDEVS))
        raise InputError(f"denoising models were trained at noise_stddev {levels}")
    model = build_autoencoder(kind, code_size, IMAGE_SHAPE, noise_stddev=noise_stddev)
    filename = weights_path(kind, code_size, noise_stddev, folder).name
    shipped.load_weights(model.autoencoder, FAMILY, filename, folder)
    return model


def lfw_faces_28() -> np.ndarray:
    """scikit-image's 200 LFW crops (100 faces, then 100 non-faces), 25x25 resized
    (bilinear) to float32 (200, 28, 28, 1) in [0, 1]."""
    from mml7 import data, images

    return images.resize_batch(data.lfw_faces().images, IMAGE_SHAPE[:2], "bilinear")


def pretrained_faces(folder: str | Path | None = None) -> Autoencoder:
    """The shipped conv autoencoder (code 16) of the 200 LFW crops, for morphing faces."""
    model = build_conv_autoencoder(IMAGE_SHAPE, FACES_CODE_SIZE)
    shipped.load_weights(model.autoencoder, FAMILY, FACES_FILE, folder)
    return model


def shipped_summary(folder: str | Path | None = None) -> dict:
    """The training record written next to the weights (epochs, losses, test MSEs), or {}."""
    return shipped.summary(FAMILY, folder)


def shipped_scores(kind: str, summary: dict) -> dict[str, list]:
    """The test MSEs of the shipped models of ``kind`` beside PCA's, from a training record.

    Returns:
        Columns, one row per code size (ascending): "code size", ``kind`` (its test MSE),
        "PCA" (PCA's at the same k), "<kind> / PCA" and "epochs"; empty lists when the
        record has no such model.
    """
    kind = check_choice(kind, KINDS, "kind")
    rows = [m for m in summary.get("models", {}).values() if m["kind"] == kind]
    rows.sort(key=lambda m: m["code_size"])
    return {
        "code size": [m["code_size"] for m in rows],
        kind: [m["test_mse"] for m in rows],
        "PCA": [m["pca_test_mse"] for m in rows],
        f"{kind} / PCA": [m["test_mse"] / m["pca_test_mse"] for m in rows],
        "epochs": [m["epochs"] for m in rows],
    }


def shipped_test_mse(
    kind: str, code_size: int, summary: dict, noise_stddev: float = 0.2
) -> float | None:
    """The shipped model's test MSE on all 10,000 Fashion-MNIST test images, from its
    training record (``shipped_summary``); None without such a record or when the record
    came from a ``--quick`` run (scored on 1,000)."""
    name = weights_path(kind, code_size, noise_stddev).name
    record = summary.get("models", {}).get(name, {})
    if summary.get("quick", True) or "test_mse" not in record:
        return None
    return float(record["test_mse"])


def code_size_inversions(table: dict[str, list], kind: str) -> list[tuple[int, int]]:
    """Pairs (smaller code, larger code) of a ``shipped_scores`` table where the larger
    code reconstructs WORSE (higher test MSE): a sign of under-training, since a larger
    code can always do at least as well once trained."""
    sizes, errors = table["code size"], table[kind]
    return [
        (sizes[i], sizes[j])
        for i in range(len(sizes))
        for j in range(i + 1, len(sizes))
        if errors[j] > errors[i]
    ]


# Training schedule of the shipped models: (kind, code_size, noise_stddev, epochs over the
# 60,000 training images). One budget per family - every conv code size gets the same
# epochs, both denoisers the same, every linear model the same - so a difference between
# two models of a family is the model's, not its training time's. 40 conv epochs (Adam
# 2e-3, cosine, batch 128) bring every code size within a few percent of its plateau.
FAMILY_EPOCHS = {"conv": 40, "denoising": 40, "linear": 12}
SHIPPED_JOBS = tuple(
    (kind, code_size, noise, FAMILY_EPOCHS[kind])
    for kind, code_size, noise in (
        ("linear", 2, 0.0),
        ("linear", 10, 0.0),
        ("linear", 32, 0.0),
        ("linear", 50, 0.0),
        ("conv", 2, 0.0),
        ("conv", 16, 0.0),
        ("conv", 32, 0.0),
        ("conv", 64, 0.0),
        ("denoising", 64, 0.2),
        ("denoising", 64, 0.5),
    )
)
# The face crops make an epoch cheap, so the faces model gets many.
FACES_EPOCHS = 300
# Face crops held out from the faces model's training, to score it (and PCA) on.
FACES_HELD_OUT = 40
# The fields that say two records come from the same run (so finished models are kept).
RUN_FIELDS = ("seed", "quick", "train_images")


def train_shipped(out_dir, seed: int = 0, quick: bool = False, progress: Progress | None = None):
    """Train and save every shipped autoencoder; write ``autoencoders.json`` beside them.

    Epochs per model: ``SHIPPED_JOBS``. Linear: Adam 3e-3 cosine-decayed, batch 128,
    decoder bias started at the mean image, weights random (Glorot). Conv and denoising:
    Adam 2e-3 cosine-decayed, batch 128. ``quick`` trains one epoch on 2,000 images, to
    check the pipeline. A model whose file and record from the same run (seed, quick,
    image count) already exist is kept, so an interrupted run resumes.

    Returns:
        The record (also written as JSON): seed, quick, train_images, environment (Keras
        backend, device, ...), wall_seconds of this run, and per model its epochs,
        seconds, loss history, test MSE and PCA's test MSE at the same code size.
    """
    from mml7 import data

    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    train = data.fashion_mnist("train").images
    test = data.fashion_mnist("test").images
    jobs = [(kind, k, s, 1 if quick else epochs) for kind, k, s, epochs in SHIPPED_JOBS]
    if quick:
        train, test = train[:2000], test[:1000]
    pca = fit_pca(train, max_k=64)
    summary = {"seed": seed, "quick": quick, "train_images": len(train), "models": {}}
    summary["environment"] = shipped.environment()
    previous = shipped.summary(FAMILY, out_dir)
    same_run = all(previous.get(field) == summary[field] for field in RUN_FIELDS)
    done = previous.get("models", {}) if same_run else {}
    parts = len(jobs) + 1  # the Fashion-MNIST models, then the faces
    for index, job in enumerate(jobs):
        path = weights_path(*job[:3], out_dir)
        if path.exists() and done.get(path.name, {}).get("epochs") == job[3]:
            summary["models"][path.name] = done[path.name]
            continue
        part = progress_protocol.step(progress, index, parts)
        summary["models"][path.name] = _train_job(job, train, test, pca, path, seed, index, part)
        shipped.write_summary(FAMILY, summary, out_dir)

    faces_progress = progress_protocol.step(progress, len(jobs), parts, "faces: ")
    summary["models"][FACES_FILE] = _train_faces(out_dir, seed + len(jobs), quick, faces_progress)
    summary["wall_seconds"] = round(time.perf_counter() - started, 1)
    shipped.write_summary(FAMILY, summary, out_dir)
    progress_protocol.report(progress, 1.0, "done")
    return summary


def _train_job(job, train, test, pca, path, seed, index, progress) -> dict:
    """Train model ``index`` of the schedule (``job`` = (kind, code_size, noise_stddev,
    epochs)) from seed ``seed + index`` and save it at ``path``; returns its record:
    settings, seconds, loss per epoch and test scores (test noise drawn with ``seed``)."""
    kind, code_size, noise_stddev, epochs = job
    keras.utils.set_random_seed(seed + index)  # the initial weights too
    model = build_for_images(kind, code_size, train, noise_stddev)
    learning_rate = LEARNING_RATES[kind]
    history, seconds = _timed_training(
        model, train, epochs, learning_rate, 128, seed + index, progress
    )
    shipped.save_weights(model.autoencoder, path)
    record = {"kind": kind, "code_size": code_size, "epochs": epochs}
    record |= {"learning_rate": learning_rate, "seconds": seconds, "loss": history["loss"]}
    return record | _test_scores(model, test, pca, seed)


def faces_split(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held_out) of ``lfw_faces_28``: ``FACES_HELD_OUT`` crops held out,
    half of them faces and half non-faces, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    half = FACES_HELD_OUT // 2
    held = np.concatenate([rng.permutation(100)[:half], 100 + rng.permutation(100)[:half]])
    train = np.setdiff1d(np.arange(200), held)
    return train, np.sort(held)


def _train_faces(out_dir: Path, seed: int, quick: bool, progress: Progress | None) -> dict:
    """Train and save the LFW faces model (``FACES_FILE``) on the crops of ``faces_split``;
    returns its record with its held-out MSE beside PCA's at the same code size (PCA fit
    on the same training crops)."""
    faces = lfw_faces_28()
    train_index, held_index = faces_split(seed)
    train, held = faces[train_index], faces[held_index]
    keras.utils.set_random_seed(seed)
    model = build_conv_autoencoder(IMAGE_SHAPE, FACES_CODE_SIZE)
    epochs = 3 if quick else FACES_EPOCHS
    history, seconds = _timed_training(model, train, epochs, 1e-3, 32, seed, progress)
    shipped.save_weights(model.autoencoder, out_dir / FACES_FILE)
    pca = fit_pca(train, max_k=FACES_CODE_SIZE)
    return {
        "kind": "conv (LFW faces)",
        "code_size": FACES_CODE_SIZE,
        "epochs": epochs,
        "learning_rate": 1e-3,
        "seconds": seconds,
        "loss": history["loss"],
        "train_images": len(train),
        "held_out_images": len(held),
        "split_seed": seed,
        "train_mse": mse(train, model.reconstruct(train)),
        "held_out_mse": mse(held, model.reconstruct(held)),
        "pca_held_out_mse": mse(held, pca.reconstruct(held, FACES_CODE_SIZE)),
        "mean_image_held_out_mse": mse(held, np.broadcast_to(train.mean(0), held.shape)),
    }


def _timed_training(model, images, epochs, learning_rate, batch_size, seed, progress):
    """``train_autoencoder``; returns (history, seconds it took)."""
    start = time.perf_counter()
    history = train_autoencoder(
        model, images, epochs, batch_size, learning_rate, seed=seed, progress=progress
    )
    return history, round(time.perf_counter() - start, 1)


def _test_scores(model, test, pca: PCA, seed: int) -> dict:
    """Test MSE beside PCA's at the same code size; for a denoiser, mean PSNR of the
    noisy test images and of their denoised reconstructions."""
    scores = {
        "test_mse": mse(test, model.reconstruct(test)),
        "pca_test_mse": mse(test, pca.reconstruct(test, model.code_size)),
    }
    if model.kind == "denoising":
        noisy = add_noise(test, "gaussian", model.noise_stddev, seed=seed)
        scores["noise_stddev"] = model.noise_stddev
        scores["psnr_noisy"] = float(psnr(test, noisy).mean())
        scores["psnr_denoised"] = float(psnr(test, model.reconstruct(noisy)).mean())
    return scores
