"""The 4x4 step-by-step demo of unpooling: what max pooling keeps, and how each way back
up (nearest, bilinear, max unpooling, transposed convolution) fills a 4x4 output again.

Inputs are small float32 matrices a person types or draws at random; the results are the
ones the Keras layers compute, for ``mml7.plots.segmentation`` to draw.
"""

from __future__ import annotations

import keras
import numpy as np

from mml7.errors import InputError
from mml7.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D

# The transposed convolution's example filter (3x3, stride 2), as on the slides: a bump.
EXAMPLE_FILTER = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float32) / 4


def random_input(seed: int) -> np.ndarray:
    """A 4x4 float32 example with small integer values (so ties can happen)."""
    return np.random.default_rng(seed).integers(0, 10, size=(4, 4)).astype(np.float32)


def parse_matrix(text: str, size: int = 4) -> np.ndarray:
    """Typed numbers (rows on lines, values by spaces or commas) -> float32 (size, size).

    Raises:
        InputError: not exactly size x size finite numbers; the message says what it got
            and what it needs.

    >>> parse_matrix("1 2 3\\n4 5 6")
    Traceback (most recent call last):
    ...
    mml7.errors.InputError: got 2 rows of 3 numbers; need 4 rows of 4 numbers, e.g. 1 2 3 4 on each line.
    """
    example = " ".join(str(k) for k in range(1, size + 1))
    need = f"need {size} rows of {size} numbers, e.g. {example} on each line."
    rows = [line.replace(",", " ").split() for line in text.strip().splitlines() if line.strip()]
    try:
        values = [[float(v) for v in row] for row in rows]
    except ValueError:
        bad = next(v for row in rows for v in row if not _is_number(v))
        raise InputError(f"'{bad}' is not a number; {need}") from None
    lengths = [len(row) for row in values]
    if lengths != [size] * size:
        raise InputError(f"got {_describe(lengths)}; {need}")
    with np.errstate(over="ignore"):  # too large for float32 becomes inf, refused below
        matrix = np.array(values, dtype=np.float32)
    if not np.isfinite(matrix).all():
        raise InputError(f"got a number too large for float32 or not finite; {need}")
    return matrix


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _describe(lengths: list[int]) -> str:
    """'2 rows of 3 numbers', '3 rows (of 4, 4, 3 numbers)' or 'nothing'."""
    if not lengths:
        return "nothing"
    rows = f"{len(lengths)} row{'s' if len(lengths) != 1 else ''}"
    if len(set(lengths)) == 1:
        return f"{rows} of {lengths[0]} number{'s' if lengths[0] != 1 else ''}"
    return f"{rows} (of {', '.join(map(str, lengths))} numbers)"


def transposed_contributions(values: np.ndarray, kernel: np.ndarray, stride: int = 2):
    """Each input value times the filter, placed at stride offsets, and their sum.

    Returns:
        (contributions, total, cropped): contributions (n, H, W) one per input value on the
        full output canvas H = (h - 1) * stride + k; total their sum (overlaps add up);
        cropped the top-left (stride h, stride w) part, what Keras'
        ``Conv2DTranspose(padding="same")`` returns.
    """
    height, width = values.shape
    size = kernel.shape[0]
    full = ((height - 1) * stride + size, (width - 1) * stride + size)
    contributions = np.zeros((height * width, *full), np.float32)
    for i in range(height):
        for j in range(width):
            block = contributions[i * width + j]
            block[i * stride : i * stride + size, j * stride : j * stride + size] = (
                values[i, j] * kernel
            )
    total = contributions.sum(0)
    return contributions, total, total[: height * stride, : width * stride]


def unpooling_steps(x: np.ndarray, kernel: np.ndarray = EXAMPLE_FILTER) -> dict:
    """Everything the step-by-step tab draws, from a 4x4 input.

    Returns dict of float arrays: input (4, 4), pooled (2, 2), mask (4, 4), nearest,
    bilinear, max (4, 4), transposed (4, 4), and the transposed parts (see
    ``transposed_contributions``).
    """
    batch = np.asarray(x, np.float32)[None, :, :, None]
    pooled, mask = MaxPoolingWithArgmax2D(2)(batch)
    unpooled = MaxUnpooling2D(2)([pooled, mask])
    bilinear = keras.layers.UpSampling2D(2, interpolation="bilinear")(pooled)
    nearest = keras.layers.UpSampling2D(2)(pooled)
    pooled = np.asarray(pooled)[0, :, :, 0]
    contributions, total, cropped = transposed_contributions(pooled, kernel)
    return {
        "input": np.asarray(x, np.float32),
        "pooled": pooled,
        "mask": np.asarray(mask)[0, :, :, 0],
        "nearest": np.asarray(nearest)[0, :, :, 0],
        "bilinear": np.asarray(bilinear)[0, :, :, 0],
        "max": np.asarray(unpooled)[0, :, :, 0],
        "transposed": cropped,
        "transposed_parts": contributions,
        "transposed_full": total,
    }
