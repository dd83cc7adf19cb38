"""The trained strategies as models a user can take away: images in [0, 1] in, class
probabilities out, the backbone's preprocessing inside.

Every ``keras.applications`` backbone here preprocesses a pixel with an affine map of its
three channels (scaling to [-1, 1], or a BGR flip and an ImageNet mean subtracted), so it
is measured once on the unit colours and written into a frozen ``Dense`` layer applied to
each pixel: the saved model needs only standard Keras layers, and takes the same [0, 1]
images as the rest of mml7. A model takes ``image_size`` x ``image_size`` RGB images; the
caller resizes (bilinear) and repeats grey images to three channels first, as
``backbones.preprocess`` does.
"""

from __future__ import annotations

import importlib

import numpy as np

from mml7 import backbones
from mml7.export import InputContract
from mml7.transfer.heads import build_transfer_model

PREPROCESSING_LAYER = "imagenet_preprocessing"


def preprocessing_affine(backbone: str) -> tuple[np.ndarray, np.ndarray]:
    """(kernel (3, 3), bias (3,)) with ``pixel @ kernel + bias`` equal to the backbone's
    ``preprocess_input(255 * pixel)`` for an RGB pixel in [0, 1]."""
    found = backbones.spec(backbone)
    module = importlib.import_module(f"keras.applications.{found.module}")
    probes = np.concatenate([np.zeros((1, 3)), np.eye(3)]).astype(np.float32)
    mapped = np.asarray(module.preprocess_input(probes[None, None] * 255.0), np.float32)[0, 0]
    return mapped[1:] - mapped[0], mapped[0]


def model_inputs(images: np.ndarray, image_size: int) -> np.ndarray:
    """Images float32 (n, h, w, 1|3) in [0, 1] as a downloaded model takes them: RGB,
    resized bilinearly to ``image_size`` (what ``backbones.preprocess`` does before its
    affine map)."""
    import keras

    images = np.asarray(images, dtype=np.float32)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    size = (int(image_size), int(image_size))
    if images.shape[1:3] != size:
        images = np.asarray(keras.ops.image.resize(images, size, interpolation="bilinear"))
    return np.clip(images, 0.0, 1.0)


def with_preprocessing(model, backbone: str, image_size: int, name: str):
    """``model`` (preprocessed images -> probabilities) behind the backbone's preprocessing:
    a model of RGB images (n, image_size, image_size, 3) in [0, 1]."""
    import keras

    kernel, bias = preprocessing_affine(backbone)
    preprocessing = keras.layers.Dense(3, trainable=False, name=PREPROCESSING_LAYER)
    inputs = keras.Input((image_size, image_size, 3), name="image")
    mapped = preprocessing(inputs)
    preprocessing.set_weights([kernel, bias])
    return keras.Model(inputs, model(mapped), name=name)


def frozen_model(config, head, name: str = "frozen_extractor_and_head"):
    """Strategy (a) as one model: the ImageNet extractor cut at ``config.cut``, global
    average pooling and the trained ``head``."""
    model, _ = build_transfer_model(config.backbone, config.cut, config.image_size, head)
    return with_preprocessing(model, config.backbone, config.image_size, name)


def ensemble_model(config, members: list[tuple[str, object]], name: str = "ensemble_of_heads"):
    """Strategy (d) as one model: one frozen ImageNet extractor read at each member's cut,
    each ``(cut, head)`` member on its pooled features, their probabilities averaged."""
    import keras
    from keras import layers

    found = backbones.spec(config.backbone)
    base = backbones.build_base(config.backbone, config.image_size)
    cuts = list(dict.fromkeys(cut for cut, _ in members))
    extractor = keras.Model(
        base.input, [base.get_layer(found.layer_name(cut)).output for cut in cuts], name="extractor"
    )
    extractor.trainable = False
    inputs = keras.Input((config.image_size, config.image_size, 3))
    maps = dict(zip(cuts, extractor(inputs, training=False), strict=True))
    pooled = {cut: layers.GlobalAveragePooling2D(name=f"pool_{i}") for i, cut in enumerate(cuts)}
    # Each member under its own name: every head is built as "head", and a saved model
    # needs unique layer names.
    heads = [
        keras.Model(head.inputs[0], head.outputs[0], name=f"head_{i}")
        for i, (_, head) in enumerate(members)
    ]
    probabilities = [
        head(pooled[cut](maps[cut])) for head, (cut, _) in zip(heads, members, strict=True)
    ]
    averaged = layers.Average(name="mean_probabilities")(probabilities)
    inner = keras.Model(inputs, averaged, name="ensemble")
    return with_preprocessing(inner, config.backbone, config.image_size, name)


def contract(config, class_names, strategy: str) -> InputContract:
    """What a downloaded strategy model takes and returns."""
    size = int(config.image_size)
    return InputContract(
        image_size=(size, size),
        channels=3,
        value_range=(0.0, 1.0),
        class_names=tuple(class_names),
        task="class probabilities (n, classes) of RGB images (n, h, w, 3)",
        notes={
            "strategy": strategy,
            "backbone": config.backbone,
            "cut": config.cut,
            "preprocessing": (
                f"inside the model (layer '{PREPROCESSING_LAYER}'): feed [0, 1] RGB images "
                f"resized to {size} x {size} px (bilinear); repeat grey images to 3 channels"
            ),
            "seed": config.seed,
        },
    )
