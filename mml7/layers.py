"""Max pooling that remembers where each maximum was, and max unpooling that puts values back.

Keras has no max-unpooling layer (TensorFlow Addons had one and is end of life). Addons
stored the flat argmax index of each window and unpooled with a scatter, which is slower
than nearest upsampling (forward + backward). Here the "indices" are a one-hot
*mask* over the input's pixels instead, one byte (uint8) a pixel as SegNet's stored
indices are cheap: 1 at the remembered position of each window, 0 elsewhere. Unpooling is then ``upsample_nearest(pooled) * mask`` - one dense element-wise
product, no scatter - and gives exactly the same tensor as argmax + scatter.
Gradients reach only the remembered positions: the pooling's gradient is
``upsample_nearest(gradient) * mask`` (cheaper than max pooling's own gradient, which
searches every window again), and the unpooling's gradient is the upstream gradient at
the remembered position of each window.

Only ``keras.ops``, so both layers train under any Keras backend (the tests run them
under TensorFlow and JAX). Under TensorFlow, whose graphs run each operation as its own
pass over memory unless XLA compiles them, the mask and the two gradients are each
compiled by XLA into fused kernels (``_fused``); JAX compiles whole training steps anyway. The two gradients are ``ops.custom_gradient`` functions that
take the mask as an argument (a gradient that closed over a tensor of the layer's own
trace would leak it under JAX). Both work on a free reshape of the image into windows,
``(batch, rows / p, p, cols / q, q, channels)``, over which a pooled tensor broadcasts
without being copied.
``bench/unpooling.py`` measures the forward + backward time against max pooling +
nearest upsampling (and, under TensorFlow, the scatter); figures in bench/RESULTS.md.

Ties (a window with its maximum twice, e.g. a flat region or ReLU zeros) are resolved like
``argmax``: the first position in row-major order is remembered, so every window has
exactly one 1 in the mask.

Odd sizes: pooling floors like ``keras.layers.MaxPooling2D(padding="valid")`` (a last row
or column that does not fill a window is dropped), and the mask covers only the pooled
area, so unpooling returns the even size ``pool_size * floor(size / pool_size)``. A model
that needs the original odd size back pads the unpooled tensor (``keras.layers.ZeroPadding2D``);
``mml7.segmentation`` avoids the question by using sizes divisible by 8.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def _pool_pair(pool_size) -> tuple[int, int]:
    if isinstance(pool_size, int):
        pool_size = (pool_size, pool_size)
    pair = tuple(int(side) for side in pool_size)
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"pool_size must be a positive int or a pair of them, got {pool_size!r}")
    return pair


def _fused(function):
    """``function`` compiled by XLA under TensorFlow (its element-wise steps fused into
    one pass over memory instead of one pass each), unchanged under other backends.

    Only for the few element-wise functions below: XLA on a CPU runs pooling gradients
    slower than TensorFlow's own kernels, so whole models are not compiled this way.
    """
    if keras.backend.backend() != "tensorflow":
        return function
    import tensorflow as tf

    return tf.function(function, jit_compile=True, autograph=False)


def _windows(x, pool_size: tuple[int, int]):
    """(batch, r * p, c * q, channels) -> (batch, r, p, c, q, channels): the pool
    windows, a reshape that copies nothing."""
    batch, height, width, channels = ops.shape(x)
    rows, cols = pool_size
    return ops.reshape(x, (batch, height // rows, rows, width // cols, cols, channels))


def _per_window(pooled):
    """(batch, r, c, channels) -> (batch, r, 1, c, 1, channels), which broadcasts over
    the windows of ``_windows``: nearest upsampling without a copy."""
    batch, rows, cols, channels = ops.shape(pooled)
    return ops.reshape(pooled, (batch, rows, 1, cols, 1, channels))


@_fused
def _first_maximum_mask(inputs, maxima, pool_size: tuple[int, int]):
    """uint8: 1 at the first position (row-major) of each window holding the window's
    max, 0 elsewhere, in windows (batch, r, p, c, q, channels).

    Each position scores its rank from the end of the window (larger for earlier
    positions) where it holds the maximum, 0 elsewhere; the window's largest score marks
    the first maximum, as ``argmax`` would pick it among ties.
    """
    rows, cols = pool_size
    order = np.arange(rows * cols, 0, -1, dtype="float32").reshape(1, 1, rows, 1, cols, 1)
    at_max = ops.equal(_windows(inputs, pool_size), _per_window(maxima))
    score = ops.where(at_max, ops.cast(order, inputs.dtype), 0)
    first = ops.max_pool(ops.reshape(score, ops.shape(inputs)), pool_size, pool_size, "valid")
    # Scores are whole numbers, 0 off the maxima and distinct on them, so score // first
    # is exactly 1 at the first maximum and 0 elsewhere.
    return ops.cast(ops.floor_divide(score, _per_window(first)), "uint8")


@_fused
def _spread_to_mask(values, mask):
    """``upsample_nearest(values) * mask``: (batch, r, c, ch) values, mask in windows ->
    (batch, r * p, c * q, ch)."""
    batch, rows, pool_rows, cols, pool_cols, channels = ops.shape(mask)
    unpooled = _per_window(values) * ops.cast(mask, values.dtype)
    return ops.reshape(unpooled, (batch, rows * pool_rows, cols * pool_cols, channels))


@_fused
def _gather_at_mask(upstream, mask):
    """The value of ``upstream`` (batch, r * p, c * q, ch) at the remembered position of
    each window: (batch, r, c, ch)."""
    remembered = ops.reshape(upstream, ops.shape(mask)) * ops.cast(mask, upstream.dtype)
    # One window axis at a time, rows first: TensorFlow sums two separate axes at once
    # several times slower than one after the other.
    return ops.sum(ops.sum(remembered, axis=2), axis=3)


@ops.custom_gradient
def _maxima_with_mask_gradient(inputs, maxima, mask):
    """``maxima``, with the gradient ``upsample_nearest(upstream) * mask`` for ``inputs``.

    inputs: (batch, r * p, c * q, channels); maxima: (batch, r, c, channels); mask: the
    one-hot mask in windows, (batch, r, p, c, q, channels). ``maxima`` and ``mask`` get
    no gradient.
    """

    def gradient(*args, upstream=None):
        if upstream is None:  # TensorFlow and JAX pass it positionally, PyTorch by name
            (upstream,) = args
        return _spread_to_mask(upstream, mask), None, None

    return maxima, gradient


@ops.custom_gradient
def _unpool_with_mask(values, mask):
    """``upsample_nearest(values) * mask`` (mask in windows, as above); the gradient of
    ``values`` is the upstream gradient at the remembered position of each window."""

    def gradient(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        return _gather_at_mask(upstream, mask), None

    return _spread_to_mask(values, mask), gradient


def _check_data_format(data_format: str | None) -> str:
    data_format = (data_format or "channels_last").lower()
    if data_format != "channels_last":
        raise ValueError(
            f"data_format must be 'channels_last' (the only one supported), got {data_format!r}"
        )
    return data_format


@keras.saving.register_keras_serializable(package="mml7")
class MaxPoolingWithArgmax2D(keras.layers.Layer):
    """Max pooling that also returns where each maximum was, as a one-hot mask.

    The pooled output equals ``keras.layers.MaxPooling2D(pool_size)`` ("valid" padding,
    strides = pool_size). The second output marks, in each pool window of the input, the
    position the maximum came from (the first one in row-major order when there are ties),
    for ``MaxUnpooling2D``.

    Args:
        pool_size: int or (rows, cols), the window and its stride. Default 2.
        data_format: only "channels_last" is supported.
        **kwargs: base layer arguments (``name``, ``dtype``, ...).

    Input shape:
        4D tensor ``(batch, rows, cols, channels)``.

    Output shape:
        ``[pooled, mask]``: pooled ``(batch, rows // p, cols // q, channels)``; mask, uint8,
        ``(batch, p * (rows // p), q * (cols // q), channels)`` with exactly one 1 per
        window, 0 elsewhere.

    Example:

    >>> x = np.array([[1, 2], [4, 3]], "float32").reshape(1, 2, 2, 1)
    >>> pooled, mask = MaxPoolingWithArgmax2D(2)(x)
    >>> float(pooled[0, 0, 0, 0]), np.asarray(mask)[0, :, :, 0].tolist()
    (4.0, [[0, 0], [1, 0]])
    """

    def __init__(self, pool_size=2, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _pool_pair(pool_size)
        self.data_format = _check_data_format(data_format)

    def call(self, inputs):
        rows, cols = self.pool_size
        shape = ops.shape(inputs)
        height, width = (shape[1] // rows) * rows, (shape[2] // cols) * cols
        static = isinstance(shape[1], int) and isinstance(shape[2], int)
        if not static or (height, width) != (shape[1], shape[2]):  # a slice may copy
            inputs = inputs[:, :height, :width, :]  # floor, like "valid" pooling
        maxima = ops.max_pool(inputs, self.pool_size, self.pool_size, padding="valid")
        mask = ops.stop_gradient(_first_maximum_mask(inputs, maxima, self.pool_size))
        # The gradient of the pooled values goes to the remembered positions, written out
        # instead of max pooling's own gradient: that one is slower (it searches each
        # window again) and its choice among tied maxima is backend-defined.
        pooled = _maxima_with_mask_gradient(inputs, maxima, mask)
        return pooled, ops.reshape(mask, ops.shape(inputs))

    def compute_output_spec(self, inputs):
        pooled, mask = self.compute_output_shape(inputs.shape)
        return keras.KerasTensor(pooled, dtype=inputs.dtype), keras.KerasTensor(mask, "uint8")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        rows, cols = self.pool_size
        pooled_h = None if height is None else height // rows
        pooled_w = None if width is None else width // cols
        mask_h = None if height is None else pooled_h * rows
        mask_w = None if width is None else pooled_w * cols
        return (batch, pooled_h, pooled_w, channels), (batch, mask_h, mask_w, channels)

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "data_format": self.data_format})
        return config


@keras.saving.register_keras_serializable(package="mml7")
class MaxUnpooling2D(keras.layers.Layer):
    """Puts each value back at the position its pooling window's maximum came from.

    ``y = MaxUnpooling2D(p)([values, mask])`` with ``mask`` from ``MaxPoolingWithArgmax2D``
    (same ``pool_size``): every value is copied into its p x q block (nearest upsampling)
    and multiplied by the mask, so it lands at the remembered position and zeros fill the
    rest. ``values`` need not be the pooled tensor itself - a decoder unpools its own
    features with the encoder's mask - but must have the pooled shape. For even input
    sizes ``y.shape`` is the shape of the tensor that was pooled; for odd sizes it is the
    floored even size (see the module docstring).

    Args:
        pool_size: int or (rows, cols); must match the pooling layer. Default 2.
        data_format: only "channels_last" is supported.
        **kwargs: base layer arguments.

    Input shape:
        ``[values, mask]``: values ``(batch, r, c, channels)``, mask
        ``(batch, p * r, q * c, channels)``.

    Output shape:
        ``(batch, p * r, q * c, channels)``.

    Example:

    >>> x = np.array([[1, 2], [4, 3]], "float32").reshape(1, 2, 2, 1)
    >>> pooled, mask = MaxPoolingWithArgmax2D(2)(x)
    >>> np.asarray(MaxUnpooling2D(2)([pooled, mask]))[0, :, :, 0].tolist()
    [[0.0, 0.0], [4.0, 0.0]]
    """

    def __init__(self, pool_size=2, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _pool_pair(pool_size)
        self.data_format = _check_data_format(data_format)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                "MaxUnpooling2D takes [values, mask], the mask from MaxPoolingWithArgmax2D"
            )
        values, mask = inputs
        mask = _windows(mask, self.pool_size)  # any dtype: 0/1 becomes values' dtype inside
        return _unpool_with_mask(values, mask)

    def compute_output_shape(self, input_shape):
        (batch, height, width, channels), _ = input_shape
        rows, cols = self.pool_size
        return (
            batch,
            None if height is None else height * rows,
            None if width is None else width * cols,
            channels,
        )

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "data_format": self.data_format})
        return config
