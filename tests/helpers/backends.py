"""Small models trained under one Keras backend and loaded under another.

``python -m tests.helpers.backends FOLDER`` (with ``KERAS_BACKEND`` set) trains the models
of ``fresh_models`` for one epoch with mml7's training functions, then saves each one's
weights and its predictions on ``sample_inputs`` to FOLDER (``NAME.weights.h5``,
``NAME.npy``); tests/library/test_backends.py loads the weights under its own backend and
compares the predictions.
"""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import numpy as np

from mml7 import autoencoders as ae
from mml7 import data
from mml7 import segmentation as seg


def scenes() -> data.SegmentationDataset:
    return data.make_shapes_segmentation(8, 32, seed=1)


def segmenter() -> keras.Model:
    return seg.build_segmenter((32, 32, 3), scenes().num_classes, "max", widths=(4, 8))


def autoencoder() -> ae.Autoencoder:
    return ae.build_conv_autoencoder((8, 8, 1), 4, filters=(4, 8))


def sample_inputs() -> dict[str, np.ndarray]:
    """Inputs of each saved model, by name, the same under every backend."""
    images = np.random.default_rng(0).random((6, 8, 8, 1)).astype("float32")
    return {"segmenter_max": scenes().images, "conv_autoencoder": images}


def fresh_models() -> dict[str, keras.Model]:
    """The saved models, by name, untrained."""
    return {"segmenter_max": segmenter(), "conv_autoencoder": autoencoder().autoencoder}


def train_and_save(folder: Path) -> None:
    keras.utils.set_random_seed(0)
    inputs, training_scenes = sample_inputs(), scenes()
    segmentation_model, autoencoder_model = segmenter(), autoencoder()
    seg.train_segmenter(
        segmentation_model, training_scenes.images, training_scenes.masks, 1, batch_size=4
    )
    ae.train_autoencoder(autoencoder_model, inputs["conv_autoencoder"], 1, batch_size=3)
    trained = {
        "segmenter_max": segmentation_model,
        "conv_autoencoder": autoencoder_model.autoencoder,
    }
    for name, model in trained.items():
        model.save_weights(folder / f"{name}.weights.h5")
        np.save(folder / f"{name}.npy", model.predict(inputs[name], verbose=0))


if __name__ == "__main__":
    train_and_save(Path(sys.argv[1]))
