"""mml7.inference.predict: batches of one shape, outputs as from one call."""

from __future__ import annotations

import numpy as np

from mml7.inference import predict


def test_rows_over_several_calls_come_back_whole_in_order_every_call_one_shape():
    shapes = []

    def model(batch, training):
        shapes.append((batch.shape, training))
        return batch[:, :1] * 2.0

    inputs = np.arange(300 * 3, dtype=np.float32).reshape(300, 3)
    outputs = predict(model, inputs, batch_size=128)
    np.testing.assert_array_equal(outputs, inputs[:, :1] * 2.0)  # the padding is dropped
    assert shapes == [((128, 3), False)] * 3


def test_rows_that_fit_one_call_are_not_padded():
    shapes = []

    def model(batch, training):
        shapes.append(batch.shape)
        return batch

    predict(model, np.zeros((5, 2)), batch_size=128)
    assert shapes == [(5, 2)]


def test_a_keras_model_gives_what_one_call_gives():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    inputs = np.random.default_rng(0).random((70, 4)).astype(np.float32)
    np.testing.assert_allclose(
        predict(model, inputs, batch_size=32), np.asarray(model(inputs)), rtol=1e-5
    )
