"""Max pooling that remembers where each maximum was, and max unpooling that puts values back.

Keras has no max-unpooling layer (TensorFlow Addons had one and is end of life). Addons
stored the flat argmax index of each window and unpooled with a scatter, which is slower
than nearest upsampling (forward + backward). Here the "indices" are a one-hot
*mask* over the input's pixels instead: 1 at the remembered position of each window, 0
elsewhere. Unpooling is then ``upsample_nearest(pooled) * mask`` - two dense element-wise
operations, no scatter - and gives exactly the same tensor as argmax + scatter.
Gradients reach only the remembered positions: multiplying by the constant mask zeroes
the others, and the pooling's own gradient is ``upsample_nearest(gradient) * mask`` too
(cheaper than max pooling's gradient, which searches every window again).
``bench/unpooling.py`` measures the forward + backward time against max pooling +
nearest upsampling and the scatter (figures in bench/RESULTS.md).

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


def _upsample_nearest(x, pool_size: tuple[int, int]):
    """Each pixel repeated into a pool_size block (what ``UpSampling2D`` "nearest" does)."""
    return ops.repeat(ops.repeat(x, pool_size[0], axis=1), pool_size[1], axis=2)


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
        ``[pooled, mask]``: pooled ``(batch, rows // p, cols // q, channels)``; mask, same
        dtype as the input, ``(batch, p * (rows // p), q * (cols // q), channels)`` with
        exactly one 1 per window, 0 elsewhere.

    Example:

    >>> x = np.array([[1, 2], [4, 3]], "float32").reshape(1, 2, 2, 1)
    >>> pooled, mask = MaxPoolingWithArgmax2D(2)(x)
    >>> float(pooled[0, 0, 0, 0]), np.asarray(mask)[0, :, :, 0].tolist()
    (4.0, [[0.0, 0.0], [1.0, 0.0]])
    """

    def __init__(self, pool_size=2, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _pool_pair(pool_size)
        self.data_format = _check_data_format(data_format)
        rows, cols = self.pool_size
        # Tie-break scores: larger for earlier positions in row-major order, so the max
        # score among the tied maxima picks the first one (as argmax would).
        self._order = np.arange(rows * cols, 0, -1, dtype="float32").reshape(rows, cols)

    def call(self, inputs):
        rows, cols = self.pool_size
        shape = ops.shape(inputs)
        height, width = (shape[1] // rows) * rows, (shape[2] // cols) * cols
        inputs = inputs[:, :height, :width, :]  # floor, like "valid" pooling
        maxima = ops.max_pool(inputs, self.pool_size, self.pool_size, padding="valid")
        mask = ops.stop_gradient(self._first_maximum_mask(inputs, maxima))

        # The gradient of the pooled values goes to the remembered positions, written out
        # instead of max pooling's own gradient: that one is slower (it searches each
        # window again) and its choice among tied maxima is backend-defined.
        @ops.custom_gradient
        def pool(x):
            def gradient(*args, upstream=None):
                if upstream is None:
                    (upstream,) = args
                return _upsample_nearest(upstream, self.pool_size) * mask

            return ops.stop_gradient(maxima), gradient

        return pool(inputs), mask

    def _first_maximum_mask(self, inputs, maxima):
        """1 at the first position (row-major) of each window holding the window's max."""
        rows, cols = self.pool_size
        shape = ops.shape(inputs)
        order = ops.tile(
            ops.cast(self._order, inputs.dtype)[None, :, :, None],
            (1, shape[1] // rows, shape[2] // cols, 1),
        )
        at_max = ops.equal(inputs, _upsample_nearest(maxima, self.pool_size))
        score = ops.where(at_max, order, ops.zeros_like(order))
        first = ops.max_pool(score, self.pool_size, self.pool_size, padding="valid")
        return ops.cast(ops.equal(score, _upsample_nearest(first, self.pool_size)), inputs.dtype)

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
        return _upsample_nearest(values, self.pool_size) * ops.cast(mask, values.dtype)

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
