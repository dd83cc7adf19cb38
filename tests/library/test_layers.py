"""MaxPoolingWithArgmax2D and MaxUnpooling2D against a NumPy reference, like Keras's own
layer tests: exact values, ties, gradients, config and a .keras round trip.

Backend-neutral: tests/library/test_backends.py runs this file again under every other
Keras backend installed."""

import keras
import numpy as np
import pytest

from mml7.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D

pytestmark = pytest.mark.backends


def reference(x: np.ndarray, pool: tuple[int, int]):
    """Loop-by-loop max pooling with argmax (first maximum in row-major order) and the
    scatter-style unpooling TF Addons did: (pooled, mask, unpooled)."""
    batch, height, width, channels = x.shape
    rows, cols = pool
    out_h, out_w = height // rows, width // cols
    pooled = np.zeros((batch, out_h, out_w, channels), x.dtype)
    mask = np.zeros((batch, out_h * rows, out_w * cols, channels), x.dtype)
    unpooled = np.zeros_like(mask)
    for n in range(batch):
        for i in range(out_h):
            for j in range(out_w):
                for c in range(channels):
                    window = x[n, i * rows : (i + 1) * rows, j * cols : (j + 1) * cols, c]
                    k = int(np.argmax(window))  # first maximum in row-major order
                    r, s = i * rows + k // cols, j * cols + k % cols
                    pooled[n, i, j, c] = window.flat[k]
                    mask[n, r, s, c] = 1
                    unpooled[n, r, s, c] = window.flat[k]
    return pooled, mask, unpooled


def with_ties(rng, shape):
    """Small integers (many ties within windows), negative values included."""
    return rng.integers(-3, 3, size=shape).astype("float32")


@pytest.mark.parametrize("pool_size", [2, (2, 3), 3])
@pytest.mark.parametrize("shape", [(3, 4, 6, 2), (2, 6, 6, 3), (2, 7, 5, 4)])
def test_matches_numpy_reference_with_ties_and_negatives(pool_size, shape):
    rng = np.random.default_rng(sum(shape))
    x = with_ties(rng, shape)
    pool = (pool_size, pool_size) if isinstance(pool_size, int) else pool_size
    expected_pooled, expected_mask, expected_unpooled = reference(x, pool)
    pooled, mask = MaxPoolingWithArgmax2D(pool_size)(x)
    np.testing.assert_array_equal(np.asarray(pooled), expected_pooled)
    np.testing.assert_array_equal(np.asarray(mask), expected_mask)
    np.testing.assert_array_equal(
        np.asarray(MaxUnpooling2D(pool_size)([pooled, mask])), expected_unpooled
    )
    # Exactly one remembered position per window.
    windows = np.asarray(mask).reshape(
        shape[0], -1, pool[0], shape[2] // pool[1], pool[1], shape[3]
    )
    assert (windows.sum(axis=(2, 4)) == 1).all()
    # Pooled values equal Keras's own max pooling.
    keras_pooled = keras.layers.MaxPooling2D(pool_size)(x)
    np.testing.assert_array_equal(np.asarray(pooled), np.asarray(keras_pooled))


def test_hand_typed_4x4():
    x = np.array(
        [
            [1, 5, -2, -1],
            [3, 5, -3, -4],  # tie (5, 5): the first in row-major order is kept
            [0, 0, 7, 1],
            [0, 0, 2, 9],  # all-zero window: its top-left zero is kept
        ],
        "float32",
    ).reshape(1, 4, 4, 1)
    pooled, mask = MaxPoolingWithArgmax2D(2)(x)
    assert np.asarray(pooled)[0, :, :, 0].tolist() == [[5, -1], [0, 9]]
    expected = [
        [0, 5, 0, -1],
        [0, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 9],
    ]
    y = MaxUnpooling2D(2)([pooled, mask])
    assert y.shape == x.shape
    assert np.asarray(y)[0, :, :, 0].tolist() == expected


def test_odd_sizes_floor_like_valid_pooling():
    x = np.arange(2 * 5 * 7 * 1, dtype="float32").reshape(2, 5, 7, 1)
    layer = MaxPoolingWithArgmax2D(2)
    pooled, mask = layer(x)
    assert pooled.shape == (2, 2, 3, 1) and mask.shape == (2, 4, 6, 1)
    assert layer.compute_output_shape((2, 5, 7, 1)) == ((2, 2, 3, 1), (2, 4, 6, 1))
    y = MaxUnpooling2D(2)([pooled, mask])
    assert y.shape == (2, 4, 6, 1)  # the floored even size, not 5 x 7
    np.testing.assert_array_equal(np.asarray(y), reference(x, (2, 2))[2])


def gradient(function, x: np.ndarray, compiled: bool) -> np.ndarray:
    """d function(x) / dx under the current Keras backend, eager or compiled (``jax.jit``,
    ``tf.function``): a gradient that leaks a tracer fails in one of the two."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        step = jax.grad(function)
        return np.asarray((jax.jit(step) if compiled else step)(x))
    if backend == "tensorflow":
        import tensorflow as tf

        def step(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = function(x)
            return tape.gradient(loss, x)

        return (tf.function(step) if compiled else step)(tf.constant(x)).numpy()
    pytest.skip(f"no gradient helper for the {backend} backend")


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize(("pool_size", "shape"), [(2, (2, 4, 6, 3)), ((2, 3), (2, 5, 7, 2))])
def test_gradients_reach_only_remembered_positions(pool_size, shape, compiled):
    rng = np.random.default_rng(1)
    x = with_ties(rng, shape)
    pool = (pool_size, pool_size) if isinstance(pool_size, int) else pool_size
    _, mask, _ = reference(x, pool)
    weights = rng.normal(size=mask.shape).astype("float32")

    def loss(x):
        pooled, mask = MaxPoolingWithArgmax2D(pool_size)(x)
        return keras.ops.sum(MaxUnpooling2D(pool_size)([pooled, mask]) * weights)

    # d loss / d x = weight at the remembered position (the value is copied back there),
    # exactly zero everywhere else - also at tied maxima that were not remembered and in
    # rows or columns that pooling dropped.
    expected = np.zeros_like(x)
    expected[:, : mask.shape[1], : mask.shape[2]] = mask * weights
    np.testing.assert_array_equal(gradient(loss, x, compiled), expected)


def test_values_gradient_is_the_upstream_gradient_at_the_remembered_position():
    """A decoder's features reach the loss only through the positions the mask keeps."""
    rng = np.random.default_rng(4)
    _, mask = MaxPoolingWithArgmax2D(2)(with_ties(rng, (2, 4, 6, 3)))
    mask = np.asarray(mask)
    weights = rng.normal(size=mask.shape).astype("float32")
    values = rng.normal(size=(2, 2, 3, 3)).astype("float32")

    def loss(values):
        return keras.ops.sum(MaxUnpooling2D(2)([values, mask]) * weights)

    expected = (mask * weights).reshape(2, 2, 2, 3, 2, 3).sum(axis=(2, 4))
    np.testing.assert_array_equal(gradient(loss, values, compiled=True), expected)


def test_unpooling_other_values_with_the_mask():
    """A decoder unpools its own features (not the pooled tensor) with the encoder's mask."""
    x = np.random.default_rng(2).normal(size=(2, 4, 4, 3)).astype("float32")
    _, mask = MaxPoolingWithArgmax2D(2)(x)
    values = np.arange(2 * 2 * 2 * 3, dtype="float32").reshape(2, 2, 2, 3)
    y = np.asarray(MaxUnpooling2D(2)([values, mask]))
    np.testing.assert_array_equal(y, np.repeat(np.repeat(values, 2, 1), 2, 2) * np.asarray(mask))


@pytest.mark.parametrize("layer_class", [MaxPoolingWithArgmax2D, MaxUnpooling2D])
def test_arguments_are_checked(layer_class):
    with pytest.raises(ValueError, match="pool_size"):
        layer_class(0)
    with pytest.raises(ValueError, match="channels_last"):
        layer_class(2, data_format="channels_first")
    assert layer_class(2, data_format="CHANNELS_LAST").data_format == "channels_last"


def test_get_config_and_keras_round_trip(tmp_path):
    pool = MaxPoolingWithArgmax2D((2, 3), name="p")
    config = pool.get_config()
    assert config["pool_size"] == (2, 3) and config["name"] == "p"
    assert MaxPoolingWithArgmax2D.from_config(config).pool_size == (2, 3)
    assert MaxUnpooling2D.from_config(MaxUnpooling2D(3).get_config()).pool_size == (3, 3)

    inputs = keras.Input((8, 8, 2))
    features = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    pooled, mask = MaxPoolingWithArgmax2D(2)(features)
    outputs = MaxUnpooling2D(2)([keras.layers.Conv2D(4, 1)(pooled), mask])
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (None, 8, 8, 4)
    path = tmp_path / "unpool.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    x = np.random.default_rng(3).normal(size=(3, 8, 8, 2)).astype("float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), reloaded.predict(x, verbose=0))
