"""ImageNet backbones from ``keras.applications``, cut at several depths, as feature extractors.

A backbone is a convolutional network trained on ImageNet. Cut after block k and
global-average-pooled, it turns an image into a feature vector; early cuts keep generic
edges and textures, the last cut keeps ImageNet's object parts. Weights load the standard
way (``weights="imagenet"``) from Keras's cache; where they are neither cached nor
downloadable, ``available_backbones`` says why and nothing is built.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from mml7 import resources
from mml7.errors import InputError, check_choice
from mml7.progress import Progress, batches

MIN_IMAGE_SIZE = 32  # keras.applications refuses smaller inputs
MAX_IMAGE_SIZE = 512
# Sizes at which keras.applications' MobileNets load a size-specific weights file.
KERAS_SIZED_WEIGHTS = (128, 160, 192, 224)


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one ImageNet backbone and where it can be cut.

    Attributes:
        application: name of the ``keras.applications`` constructor, e.g. "MobileNet".
        module: the ``keras.applications`` submodule with its ``preprocess_input``.
        kwargs: extra constructor arguments, e.g. ``{"alpha": 0.25}``.
        cuts: cut name -> layer name, from the earliest block to the last.
        block_pattern: regex whose first group numbers a layer's block (for fine-tuning
            "the top N blocks").
        weights_file: the Keras cache file ``weights="imagenet", include_top=False`` loads.
    """

    application: str
    module: str
    kwargs: tuple
    cuts: tuple
    block_pattern: str
    weights_file: str

    @property
    def cut_names(self) -> list[str]:
        return [name for name, _ in self.cuts]

    def layer_name(self, cut: str) -> str:
        """The name of the layer the cut ``cut`` (one of ``cut_names``) ends at."""
        layers = dict(self.cuts)
        return layers[check_choice(cut, layers, "cut", lower=False)]

    def block_of(self, layer_name: str) -> str | None:
        """The block a layer belongs to (a string key), or None for stem/other layers."""
        match = re.match(self.block_pattern, layer_name)
        return match.group(1) if match else None


_MOBILENET_CUTS = tuple(
    (f"block {n}" if n < 13 else "last", f"conv_pw_{n}_relu") for n in (3, 5, 11, 13)
)
_FILES = resources.IMAGENET_WEIGHT_FILES

BACKBONES: dict[str, BackboneSpec] = {
    "MobileNet (alpha 1.0)": BackboneSpec(
        "MobileNet",
        "mobilenet",
        (("alpha", 1.0),),
        _MOBILENET_CUTS,
        r"conv_(?:dw|pw|pad)_(\d+)",
        _FILES["MobileNet (alpha 1.0)"],
    ),
    "MobileNet (alpha 0.25)": BackboneSpec(
        "MobileNet",
        "mobilenet",
        (("alpha", 0.25),),
        _MOBILENET_CUTS,
        r"conv_(?:dw|pw|pad)_(\d+)",
        _FILES["MobileNet (alpha 0.25)"],
    ),
    "MobileNetV2": BackboneSpec(
        "MobileNetV2",
        "mobilenet_v2",
        (("alpha", 1.0),),
        (
            ("block 3", "block_3_expand_relu"),
            ("block 6", "block_6_expand_relu"),
            ("block 13", "block_13_expand_relu"),
            ("last", "out_relu"),
        ),
        r"block_(\d+)_",
        _FILES["MobileNetV2"],
    ),
    "EfficientNetB0": BackboneSpec(
        "EfficientNetB0",
        "efficientnet",
        (),
        (
            ("block 2", "block2b_add"),
            ("block 3", "block3b_add"),
            ("block 5", "block5c_add"),
            ("last", "top_activation"),
        ),
        r"block(\d[a-z])_",
        _FILES["EfficientNetB0"],
    ),
    "ResNet50": BackboneSpec(
        "ResNet50",
        "resnet50",
        (),
        (
            ("block 2", "conv2_block3_out"),
            ("block 3", "conv3_block4_out"),
            ("block 4", "conv4_block6_out"),
            ("last", "conv5_block3_out"),
        ),
        r"(conv\d_block\d)_",
        _FILES["ResNet50"],
    ),
}

DEFAULT_BACKBONE = "MobileNet (alpha 0.25)"


def spec(backbone: str) -> BackboneSpec:
    """The ``BackboneSpec`` of ``backbone`` (a key of ``BACKBONES``)."""
    return BACKBONES[check_choice(backbone, BACKBONES, "backbone", lower=False)]


def available_backbones() -> dict[str, str | None]:
    """Backbone name -> None when its ImageNet weights can be loaded here, else why not."""
    reasons: dict[str, str | None] = {}
    for name, backbone in BACKBONES.items():
        state = resources.weights_state(backbone.weights_file)
        reasons[name] = (
            None
            if state != "unavailable"
            else f"offline and {backbone.weights_file} is not in the Keras cache"
        )
    return reasons


def _check(backbone: str, image_size: int) -> BackboneSpec:
    found = spec(backbone)
    if not MIN_IMAGE_SIZE <= int(image_size) <= MAX_IMAGE_SIZE:
        raise InputError(
            f"image_size must be between {MIN_IMAGE_SIZE} and {MAX_IMAGE_SIZE} pixels, "
            f"got {image_size}"
        )
    return found


def build_base(backbone: str, image_size: int, weights: str | None = "imagenet"):
    """A fresh ``keras.applications`` model without its ImageNet head.

    Args:
        backbone: a key of ``BACKBONES``.
        image_size: square input side in pixels.
        weights: "imagenet" (from the Keras cache) or None (random initialisation).

    Raises:
        InputError: unknown backbone, bad size, or weights unavailable offline.
    """
    import keras

    found = _check(backbone, image_size)
    if weights == "imagenet":
        reason = available_backbones()[backbone]
        if reason is not None:
            raise InputError(f"{backbone}: ImageNet weights unavailable ({reason}).")
    constructor = getattr(keras.applications, found.application)
    size = int(image_size)
    if weights == "imagenet" and size in KERAS_SIZED_WEIGHTS and size != 224:
        # MobileNet(V2) at 128/160/192 px asks Keras for that size's own weights file,
        # which an offline cache lacks. The convolutions do not depend on the size, so
        # the 224 px weights (the file ``available_backbones`` checked) are copied in.
        model = constructor(
            weights=None, include_top=False, input_shape=(size, size, 3), **dict(found.kwargs)
        )
        reference = constructor(
            weights="imagenet", include_top=False, input_shape=(224, 224, 3), **dict(found.kwargs)
        )
        model.set_weights(reference.get_weights())
        return model
    return constructor(
        weights=weights, include_top=False, input_shape=(size, size, 3), **dict(found.kwargs)
    )


def build_truncated(
    backbone: str, cut: str, image_size: int, weights: str | None = "imagenet", name=None
):
    """The backbone from its input to the ``cut`` layer's output (a feature map), fresh.

    Output shape: (batch, h', w', channels) for input (batch, image_size, image_size, 3)
    already preprocessed with ``preprocess``.
    """
    import keras

    found = spec(backbone)
    base = build_base(backbone, image_size, weights)
    layer = found.layer_name(cut)
    return keras.Model(base.input, base.get_layer(layer).output, name=name or "extractor")


@functools.lru_cache(maxsize=6)
def feature_extractor(backbone: str, cuts: tuple[str, ...], image_size: int):
    """The ImageNet backbone from its input to the deepest of ``cuts``, with the globally
    average-pooled output of every cut (cached; shared, so callers must not change it).

    One forward pass gives every cut's features: the shallower cuts are on the way to the
    deepest. Input: preprocessed (n, s, s, 3); output: {cut: (n, d)}.
    """
    import keras

    found = spec(backbone)
    base = build_base(backbone, image_size)
    pooled = {
        cut: keras.layers.GlobalAveragePooling2D(name=f"pooled_{index}")(
            base.get_layer(found.layer_name(cut)).output
        )
        for index, cut in enumerate(cuts)
    }
    name = "features_" + "_".join(cut.replace(" ", "_") for cut in cuts)
    return keras.Model(base.input, pooled, name=name)


def preprocess(images: np.ndarray, backbone: str, image_size: int) -> np.ndarray:
    """float32 (n, h, w, 1|3) in [0, 1] -> the backbone's input (n, s, s, 3).

    Grey images are repeated to 3 channels, everything is resized bilinearly to
    ``image_size`` and mapped with the application's own ``preprocess_input``. The resize
    is Keras's (no antialiasing), not ``mml7.images.resize`` (Pillow's, antialiased when
    shrinking): the similarity threshold and the probes were calibrated on this one.
    """
    import importlib

    import keras

    found = _check(backbone, image_size)
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise InputError(f"images must be (n, h, w, 1 or 3), got shape {images.shape}")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    size = int(image_size)
    if images.shape[1:3] != (size, size):
        images = np.asarray(keras.ops.image.resize(images, (size, size), interpolation="bilinear"))
    module = importlib.import_module(f"keras.applications.{found.module}")
    return np.asarray(module.preprocess_input(np.clip(images, 0, 1) * 255.0), dtype=np.float32)


def extract_features(
    images: np.ndarray,
    backbone: str = DEFAULT_BACKBONE,
    cut: str = "last",
    image_size: int = 96,
    batch_size: int = 64,
    progress: Progress | None = None,
) -> np.ndarray:
    """Globally average-pooled ImageNet features of ``images`` at the ``cut`` depth.

    Args:
        images: float32 (n, h, w, 1|3) in [0, 1].
        backbone: a key of ``BACKBONES``.
        cut: one of the backbone's ``cut_names`` ("last" = the deepest block).
        image_size: square side the images are resized to.
        batch_size: images per forward pass.
        progress: optional ``progress(fraction, message)``.

    Returns:
        float32 (n, d), d = the cut layer's channel count.
    """
    return extract_cut_features(images, backbone, (cut,), image_size, batch_size, progress)[cut]


def extract_cut_features(
    images: np.ndarray,
    backbone: str = DEFAULT_BACKBONE,
    cuts: tuple[str, ...] = ("last",),
    image_size: int = 96,
    batch_size: int = 64,
    progress: Progress | None = None,
) -> dict[str, np.ndarray]:
    """``extract_features`` at several cuts in one pass: cut -> float32 (n, d_cut).

    One model and one forward pass for all cuts (the deepest one's cost), instead of one
    backbone per cut.
    """
    found = _check(backbone, image_size)
    cuts = tuple(dict.fromkeys(cuts))
    for cut in cuts:
        found.layer_name(cut)
    images = np.asarray(images, dtype=np.float32)
    model = feature_extractor(backbone, cuts, int(image_size))
    parts = {cut: [] for cut in cuts}
    for batch in batches(images, batch_size, progress):
        for cut, output in model(preprocess(batch, backbone, image_size), training=False).items():
            parts[cut].append(np.asarray(output, dtype=np.float32))
    empty = {cut: np.zeros((0, model.output[cut].shape[-1]), "float32") for cut in cuts}
    return {cut: np.concatenate(arrays) if arrays else empty[cut] for cut, arrays in parts.items()}
