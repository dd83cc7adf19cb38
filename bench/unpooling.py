"""Max unpooling vs nearest upsampling: forward + backward time on a (32, 64, 64, 64) tensor.

Ways from the same input to a (32, 64, 64, 64) output, each compiled once under the
current Keras backend (``tf.function`` under TensorFlow, ``jax.jit`` under JAX) computing
``sum(y * y)`` and its gradient with respect to the input:

- baseline: ``MaxPooling2D(2)`` then ``UpSampling2D(2)`` (nearest);
- mml7: ``MaxPoolingWithArgmax2D(2)`` then ``MaxUnpooling2D(2)`` (one-hot mask);
- under TensorFlow only, TF Addons' way for reference: ``tf.nn.max_pool_with_argmax``
  then a scatter of the values to their flat argmax indices (``tf.scatter_nd``).

The ways are run round-robin in this process (so a busy machine slows all alike); the
figures are medians. The target ratio (<= 1.5) is the median over rounds of mml7's time
over the baseline's in the same round: on a shared machine the load changes from second to
second, and a ratio taken within one round cancels most of it (the ratio of the two
medians is printed too). mml7's gradient is checked against a NumPy argmax reference.

Usage: [KERAS_BACKEND=jax] python bench/unpooling.py [--json] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from mml7.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D  # noqa: E402

SHAPE = (32, 64, 64, 64)
BACKENDS = ("tensorflow", "jax")


def nearest(x):
    return keras.layers.UpSampling2D(2)(keras.layers.MaxPooling2D(2)(x))


def max_unpooling(x):
    pooled, mask = MaxPoolingWithArgmax2D(2)(x)
    return MaxUnpooling2D(2)([pooled, mask])


def addons_scatter(x):
    """TF Addons' MaxUnpooling2D, reduced to its core: argmax indices and a scatter."""
    import tensorflow as tf

    pooled, argmax = tf.nn.max_pool_with_argmax(x, 2, 2, "VALID", include_batch_in_index=True)
    flat = tf.scatter_nd(
        tf.reshape(argmax, (-1, 1)), tf.reshape(pooled, (-1,)), (tf.size(x, out_type=tf.int64),)
    )
    return tf.reshape(flat, tf.shape(x))


def forward_backward(function):
    """``x -> (sum(y * y), d sum / d x)`` for ``y = function(x)``, compiled once."""
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(jax.value_and_grad(lambda x: keras.ops.sum(keras.ops.square(function(x)))))
    import tensorflow as tf

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = function(x)
            loss = tf.reduce_sum(y * y)
        return loss, tape.gradient(loss, x)

    return step


def reference_unpooled(x: np.ndarray) -> np.ndarray:
    """Argmax (first maximum in row-major order) of each 2x2 window, values put back there."""
    batch, height, width, channels = x.shape
    windows = x.reshape(batch, height // 2, 2, width // 2, 2, channels).transpose(0, 1, 3, 5, 2, 4)
    windows = windows.reshape(*windows.shape[:4], 4)
    first = windows.argmax(axis=-1)[..., None]
    kept = np.where(np.arange(4) == first, windows, 0).reshape(*windows.shape[:4], 2, 2)
    return kept.transpose(0, 1, 4, 2, 5, 3).reshape(x.shape)


def _rows(backend: str, medians: dict, ratios: dict, same: bool, load_before: float) -> list:
    """The figures of one run (mml7's way against nearest), the machine's load first."""
    load = f"load average {load_before:.2f} -> {os.getloadavg()[0]:.2f}"
    return [
        {
            "figure": f"machine {load} (1 min, before -> after; idle means < 0.5)",
            "value": round(os.getloadavg()[0], 2),
            "unit": "",
        },
        {
            "figure": f"max pool + UpSampling2D nearest, fwd+bwd, {backend} (median)",
            "value": round(1000 * medians["nearest"], 1),
            "unit": "ms",
        },
        {
            "figure": f"MaxPoolingWithArgmax2D + MaxUnpooling2D, fwd+bwd, {backend} (median)",
            "value": round(1000 * medians["max"], 1),
            "unit": "ms",
        },
        {
            "figure": f"max unpooling / nearest upsampling time, {backend} (median per round)",
            "value": round(ratios["max"], 2),
            "unit": "x",
            "target": "<= 1.5",
            "ok": ratios["max"] <= 1.5,
        },
        {
            "figure": f"max unpooling / nearest upsampling time, {backend} (ratio of medians)",
            "value": round(medians["max"] / medians["nearest"], 2),
            "unit": "x",
        },
        {
            "figure": "max unpooling gradient equals the NumPy argmax reference",
            "value": str(same),
            "unit": "",
            "target": "True",
            "ok": same,
        },
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true", help="print RESULT lines for run_all")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    backend = keras.backend.backend()
    if backend not in BACKENDS:
        raise SystemExit(
            f"bench/unpooling.py measures under {' or '.join(BACKENDS)}, not {backend}"
        )
    load_before = os.getloadavg()[0]
    data = np.random.default_rng(0).normal(size=SHAPE).astype("float32")
    x = keras.ops.convert_to_tensor(data)
    ways = {"nearest": forward_backward(nearest), "max": forward_backward(max_unpooling)}
    if backend == "tensorflow":
        ways["addons"] = forward_backward(addons_scatter)
    outputs = {name: step(x) for name, step in ways.items()}  # compiles each function once
    # d sum(y * y) / dx is 2 y at the remembered positions: exact, no rounding.
    same = np.array_equal(np.asarray(outputs["max"][1]), 2 * reference_unpooled(data))
    times = {name: [] for name in ways}
    for _ in range(args.repeats):
        for name, step in ways.items():
            start = time.perf_counter()
            loss, gradient = step(x)
            np.asarray(gradient)
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratios = {
        name: statistics.median(m / n for m, n in zip(times[name], times["nearest"], strict=True))
        for name in ways
    }
    results = _rows(backend, medians, ratios, same, load_before)
    if "addons" in ways:
        results[3:3] = [
            {
                "figure": "TF Addons way (argmax + scatter), fwd+bwd, tensorflow (median)",
                "value": round(1000 * medians["addons"], 1),
                "unit": "ms",
            },
            {
                "figure": "argmax + scatter / nearest upsampling time (median per round)",
                "value": round(ratios["addons"], 2),
                "unit": "x",
            },
        ]
    for result in results:
        if args.json:
            print("RESULT " + json.dumps(result))
        else:
            print(f"{result['figure']:72} {result['value']} {result['unit']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
