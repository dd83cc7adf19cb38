"""Running a trained Keras model on arrays: one direct call per batch.

``model.predict`` first builds a prediction function for the model (a ``tf.function``
under TensorFlow) and then a data iterator for every call: about a second for each model
a process has not run yet, and TensorFlow warns about retracing when a page runs several
models. A page runs a model on at most a few thousand small images, where calling the model
directly (``model(batch, training=False)``) gives the same numbers without that set-up.
"""

from __future__ import annotations

import numpy as np

# Images per call by default. TensorFlow's CPU allocator (oneDNN's) keeps the largest
# activations it has held for the life of the process: a denoiser on 500 Fashion-MNIST
# images in one call left the server 165 MB bigger, in calls of 128 images 40 MB, for
# 0.06 s more.
BATCH_SIZE = 128


def predict(model, inputs: np.ndarray, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """The model's output on ``inputs`` (n, ...) as a NumPy array (n, ...), ``batch_size``
    rows per call, in inference mode (dropout off, BatchNormalization's moving statistics).

    When the rows take several calls, the last one is padded to ``batch_size`` rows (and
    the padding's outputs dropped): every call then has one shape, and a backend that
    compiles each operation per input shape (Keras's NumPy backend runs convolutions
    through ``jax.lax``) compiles it once, not twice.
    """
    inputs = np.asarray(inputs, np.float32)
    count = len(inputs)
    if count <= batch_size:
        return np.asarray(model(inputs, training=False))
    outputs = []
    for start in range(0, count, batch_size):
        batch = inputs[start : start + batch_size]
        if len(batch) < batch_size:
            padding = np.zeros((batch_size - len(batch), *batch.shape[1:]), np.float32)
            batch = np.concatenate([batch, padding])
        outputs.append(np.asarray(model(batch, training=False)))
    return np.concatenate(outputs)[:count]
