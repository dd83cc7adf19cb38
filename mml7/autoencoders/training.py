"""Training an autoencoder: Adam on squared error, noise on the inputs for a denoiser."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from mml7 import data
from mml7 import progress as progress_protocol
from mml7.autoencoders.models import Autoencoder, ClippedGaussianNoise, build_for_images
from mml7.autoencoders.pca import mse, mse_of
from mml7.batches import Batches
from mml7.errors import InputError
from mml7.export import InputContract
from mml7.progress import Progress

# Adam's starting learning rate per kind (cosine-decayed to 1% of it), for the shipped
# models and the retrain buttons alike.
LEARNING_RATES = {"linear": 3e-3, "conv": 2e-3, "denoising": 2e-3}
# The retrain buttons' defaults, (training images, epochs): enough to learn something in
# about a minute on 2 CPU cores (bench/retrain_defaults.py measures it). With a few
# hundred Adam steps or fewer, a conv model still outputs blurred grey, worse than the
# mean image.
RETRAIN_DEFAULTS = {"linear": (20_000, 5), "conv": (20_000, 5), "denoising": (20_000, 5)}


def train_autoencoder(
    model: Autoencoder,
    images: np.ndarray,
    epochs: int,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    validation_images: np.ndarray | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    on_epoch_end: Callable[[int, dict], None] | None = None,
) -> dict[str, list[float]]:
    """Train with Adam on mean squared error, learning rate cosine-decayed to 1% of start.

    A denoising model (``model.noise_stddev > 0``) sees clipped Gaussian noise on its
    inputs and the clean images as targets; the noise layer is only in the training
    wrapper, so ``model.autoencoder`` maps (noisy) images to clean ones.

    Args:
        images: float32 (n, h, w, c) in [0, 1], n >= 2.
        epochs: passes over ``images``, >= 1.
        validation_images: scored each epoch (no noise) when given.
        progress: ``progress(fraction, message)`` after each epoch.
        on_epoch_end: ``on_epoch_end(epoch, history)`` after each epoch, with the history
            so far as below (for live loss curves).

    Returns:
        Keras history: {"loss": [...], "val_loss": [...]} per epoch.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or len(images) < 2:
        raise InputError(f"need at least 2 images shaped (n, h, w, c), got {images.shape}")
    if epochs < 1:
        raise InputError(f"epochs must be at least 1, got {epochs}")
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(images.shape[1:])
    noisy = ClippedGaussianNoise(model.noise_stddev, seed=seed)(inputs)
    trainer = keras.Model(inputs, model.autoencoder(noisy))
    steps = epochs * int(np.ceil(len(images) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.01)
    trainer.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    callback = progress_protocol.keras_callback(
        progress, epochs, label=model.autoencoder.name, on_epoch_end=on_epoch_end
    )
    trainer.fit(
        Batches(images, None, batch_size, seed),  # no tf.data copy of the images
        epochs=epochs,
        validation_data=None if validation_images is None else (validation_images,) * 2,
        callbacks=[callback],
        verbose=0,
    )
    return callback.history


def train_new(
    kind: str,
    code_size: int,
    images: np.ndarray,
    epochs: int,
    progress: Progress | None = None,
    on_epoch_end: Callable[[int, dict], None] | None = None,
) -> Autoencoder:
    """A fresh autoencoder of ``kind`` built for ``images`` (``build_for_images``) and
    trained on them like the shipped ones (batch 128, ``LEARNING_RATES[kind]``); returns
    the trained model."""
    model = build_for_images(kind, code_size, images)
    train_autoencoder(
        model,
        images,
        epochs,
        learning_rate=LEARNING_RATES[model.kind],
        progress=progress,
        on_epoch_end=on_epoch_end,
    )
    return model


def train_on_fashion_mnist(
    kind: str,
    code_size: int,
    count: int,
    epochs: int,
    progress: Progress | None = None,
    on_epoch_end: Callable[[int, dict], None] | None = None,
) -> tuple[Autoencoder, float]:
    """``train_new`` on the first ``count`` Fashion-MNIST training images, read here, then
    scored here: the job a retrain button sends to a training process
    (``mml7.worker.run``). The caller never holds or sends the images (188 MB as float32
    at 60,000) and never runs the new model (under the server's NumPy backend, 2,000 test
    images through a conv model took 0.25 GB).

    Returns:
        (the model, its MSE on all 10,000 test images: the set the shipped models'
        records are scored on, ``shipped_test_mse``).

    Raises:
        DatasetUnavailable: Fashion-MNIST is not on this machine and cannot be downloaded.
    """
    images = data.fashion_mnist("train", count).images
    model = train_new(kind, code_size, images, epochs, progress, on_epoch_end)
    del images
    test = data.fashion_mnist("test").images
    return model, mse_of(model.reconstruct, test)


def reference_scores(
    test: np.ndarray, code_size: int, pca, train_mean: np.ndarray, shipped=None
) -> dict[str, float]:
    """Test MSEs a retrained model is read against, on the same ``test`` images.

    Args:
        test: float32 (n, h, w, c) in [0, 1].
        pca: a fitted ``PCA`` (at least ``code_size`` components).
        train_mean: the training images' mean image (h, w, c): the k = 0 answer.
        shipped: the shipped model of the same kind and code size, if any.

    Returns:
        {"mean image": ..., f"PCA k={code_size}": ..., "shipped model": ...} (the last
        only with ``shipped``).
    """
    scores = {
        "mean image": mse(test, np.broadcast_to(train_mean, test.shape)),
        f"PCA k={code_size}": mse_of(lambda batch: pca.reconstruct(batch, code_size), test),
    }
    if shipped is not None:
        scores["shipped model"] = mse_of(shipped.reconstruct, test)
    return scores


def download_contract(model: Autoencoder, train_images: int, epochs: int) -> InputContract:
    """What a downloaded autoencoder (``model.autoencoder``) takes and returns."""
    height, width, channels = model.autoencoder.input_shape[1:]
    return InputContract(
        image_size=(int(height), int(width)),
        channels=int(channels),
        value_range=(0.0, 1.0),
        task="reconstruction: images (n, h, w, c) in [0, 1] -> images of the same shape",
        notes={
            "kind": model.kind,
            "code_size": model.code_size,
            "encoder": f"the nested model '{model.encoder.name}' gives the codes "
            f"(n, {model.code_size}); '{model.decoder.name}' decodes them",
            "trained_on": f"{train_images:,} Fashion-MNIST training images, {epochs} epoch(s)",
        },
    )
