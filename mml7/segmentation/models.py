"""The segmenters: a per-pixel softmax over a naive conv stack or an encoder-decoder that
unpools by nearest neighbour, bilinear, max unpooling or transposed convolution.

The four encoder-decoders share one encoder (same depth, widths and pooling), so only the
way back up to full resolution differs. No skip connections: as in SegNet, the unpooling
alone has to bring the detail back, which is what the comparison is about.

>>> model = build_segmenter((64, 64, 3), 4, unpooling="max")
>>> model.output_shape
(None, 64, 64, 4)
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from mml7.errors import check_choice
from mml7.inference import predict
from mml7.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D

UNPOOLING_MODES = ("none", "nearest", "bilinear", "max", "transposed")
# Encoder widths of the shipped models: three conv blocks, each followed by 2x2 pooling.
WIDTHS = (16, 32, 64)
# Convolutions at the bottleneck (the lowest resolution) of the encoder-decoders.
BOTTLENECK_CONVS = 2
# Batch norm's moving statistics keep this share of their value at each training step.
# Keras's 0.99 needs ~500 steps to forget the initial (0, 1): a model retrained for a
# minute (~150 steps) then predicts with statistics far from its features' and labels
# nearly everything background. 0.9 forgets them in ~50 steps.
BN_MOMENTUM = 0.9


def check_mode(unpooling: str) -> str:
    """``unpooling`` lower-cased; InputError listing ``UNPOOLING_MODES`` when it is none."""
    return check_choice(unpooling, UNPOOLING_MODES, "unpooling")


def _conv(x, width: int, name: str):
    x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
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
    mode = check_mode(unpooling)
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    inputs = keras.Input(input_shape, name="image")
    if mode == "none":
        x = inputs
        for i in range(2 * len(widths)):
            x = _conv(x, widths[0], f"full{i}")
    else:
        x = _encoder_decoder(inputs, mode, widths)
    outputs = layers.Conv2D(num_classes, 1, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name=f"segmenter_{mode}")


def _encoder_decoder(x, mode: str, widths: tuple[int, ...]):
    """Encoder blocks with 2x2 pooling, the bottleneck, then the mirrored decoder."""
    masks = []
    for level, width in enumerate(widths):
        x = _conv(x, width, f"enc{level}")
        if mode == "max":
            x, mask = MaxPoolingWithArgmax2D(2, name=f"pool{level}")(x)
            masks.append(mask)
        else:
            x = layers.MaxPooling2D(2, name=f"pool{level}")(x)
    # Convolutions at the lowest resolution: cheap, and they widen the receptive field
    # enough to tell a disc from a square of the same size.
    for i in range(BOTTLENECK_CONVS):
        x = _conv(x, widths[-1], f"bottleneck{i}")
    for level in reversed(range(len(widths))):
        if mode == "max":
            x = MaxUnpooling2D(2, name=f"unpool{level}")([x, masks[level]])
        elif mode == "transposed":
            x = layers.Conv2DTranspose(
                widths[level], 3, strides=2, padding="same", name=f"unpool{level}"
            )(x)
        else:
            x = layers.UpSampling2D(2, interpolation=mode, name=f"unpool{level}")(x)
        # Like SegNet's decoder: the conv after unpooling narrows to the next (upper)
        # level's width, which the max mode needs to match that level's mask.
        x = _conv(x, widths[max(level - 1, 0)], f"dec{level}")
    return x


def activation_bytes(model: keras.Model, image_shape) -> int:
    """Bytes of every layer output for one image, as kept for backpropagation (float32
    features; max pooling's masks, one byte a pixel, count too).

    ``image_shape`` (h, w, c) fills in unknown spatial sizes.
    """
    sizes = {}
    probe = keras.Model(model.inputs, [layer.output for layer in model.layers[1:]])
    outputs = probe.compute_output_spec(keras.KerasTensor((1, *image_shape)))
    total = 0
    for spec in keras.tree.flatten(outputs):
        key = id(spec)
        if key not in sizes:
            sizes[key] = int(np.prod(spec.shape)) * np.dtype(spec.dtype).itemsize
            total += sizes[key]
    return total


def predict_classes(model: keras.Model, images: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """uint8 (n, h, w): the most probable class of each pixel of images (n, h, w, c).

    ``batch_size`` 16, as in training: 64 scenes in one call took a TensorFlow training
    process 147 MB higher, 16 at a time 1 MB (Keras's NumPy backend: 0.35 GB, 0.14 GB).
    """
    probabilities = predict(model, images, batch_size)
    return np.argmax(probabilities, axis=-1).astype(np.uint8)
