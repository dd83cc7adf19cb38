"""Max unpooling vs nearest upsampling: forward + backward time on a (32, 64, 64, 64) tensor.

Three ways from the same input to a (32, 64, 64, 64) output, each inside one
``tf.function`` computing ``sum(y * y)`` and its gradient with respect to the input:

- baseline: ``MaxPooling2D(2)`` then ``UpSampling2D(2)`` (nearest);
- mml7: ``MaxPoolingWithArgmax2D(2)`` then ``MaxUnpooling2D(2)`` (one-hot mask);
- TF Addons' way, for reference: ``tf.nn.max_pool_with_argmax`` then a scatter of the
  values to their flat argmax indices (``tf.scatter_nd``).

The three are run round-robin in this process (so a busy machine slows all alike); the
figures are medians. The target ratio (<= 1.5) is the median over rounds of mml7's time
over the baseline's in the same round: on a shared machine the load changes from second to
second, and a ratio taken within one round cancels most of it (the ratio of the two
medians is printed too).

Usage: python bench/unpooling.py [--json] [--repeats N]
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
import tensorflow as tf  # noqa: E402

from mml7.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D  # noqa: E402

SHAPE = (32, 64, 64, 64)


def nearest(x):
    return keras.layers.UpSampling2D(2)(keras.layers.MaxPooling2D(2)(x))


def max_unpooling(x):
    pooled, mask = MaxPoolingWithArgmax2D(2)(x)
    return MaxUnpooling2D(2)([pooled, mask])


def addons_scatter(x):
    """TF Addons' MaxUnpooling2D, reduced to its core: argmax indices and a scatter."""
    pooled, argmax = tf.nn.max_pool_with_argmax(x, 2, 2, "VALID", include_batch_in_index=True)
    flat = tf.scatter_nd(
        tf.reshape(argmax, (-1, 1)), tf.reshape(pooled, (-1,)), (tf.size(x, out_type=tf.int64),)
    )
    return tf.reshape(flat, tf.shape(x))


def forward_backward(function):
    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = function(x)
            loss = tf.reduce_sum(y * y)
        return loss, tape.gradient(loss, x)

    return step


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true", help="print RESULT lines for run_all")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    x = tf.constant(np.random.default_rng(0).normal(size=SHAPE).astype("float32"))
    ways = {
        "nearest": forward_backward(nearest),
        "max": forward_backward(max_unpooling),
        "addons": forward_backward(addons_scatter),
    }
    outputs = {name: step(x) for name, step in ways.items()}  # traces each function once
    # Same result as argmax + scatter (no ties in normal noise), same gradient.
    same = all(
        np.array_equal(outputs["max"][k].numpy(), outputs["addons"][k].numpy()) for k in (0, 1)
    )
    times = {name: [] for name in ways}
    for _ in range(args.repeats):
        for name, step in ways.items():
            start = time.perf_counter()
            loss, gradient = step(x)
            gradient.numpy()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = statistics.median(m / n for m, n in zip(times["max"], times["nearest"], strict=True))
    addons_ratio = statistics.median(
        a / n for a, n in zip(times["addons"], times["nearest"], strict=True)
    )
    results = [
        {
            "figure": "max pool + UpSampling2D nearest, fwd+bwd (median)",
            "value": round(1000 * medians["nearest"], 1),
            "unit": "ms",
        },
        {
            "figure": "MaxPoolingWithArgmax2D + MaxUnpooling2D, fwd+bwd (median)",
            "value": round(1000 * medians["max"], 1),
            "unit": "ms",
        },
        {
            "figure": "TF Addons way (argmax + scatter), fwd+bwd (median)",
            "value": round(1000 * medians["addons"], 1),
            "unit": "ms",
        },
        {
            "figure": "max unpooling / nearest upsampling time (median per round)",
            "value": round(ratio, 2),
            "unit": "x",
            "target": "<= 1.5",
            "ok": ratio <= 1.5,
        },
        {
            "figure": "max unpooling / nearest upsampling time (ratio of medians)",
            "value": round(medians["max"] / medians["nearest"], 2),
            "unit": "x",
        },
        {
            "figure": "argmax + scatter / nearest upsampling time (median per round)",
            "value": round(addons_ratio, 2),
            "unit": "x",
        },
        {
            "figure": "max unpooling output and gradient equal argmax + scatter",
            "value": str(same),
            "unit": "",
            "target": "True",
            "ok": same,
        },
    ]
    for result in results:
        if args.json:
            print("RESULT " + json.dumps(result))
        else:
            print(f"{result['figure']:60} {result['value']} {result['unit']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
