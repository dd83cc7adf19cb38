"""Image arrays: the one resize every part of mml7 uses.

Images are float32 arrays (h, w) or (h, w, c) with values in [0, 1]; label masks are
integer arrays (h, w). Pillow does the resampling, one channel at a time in 32-bit float
("F" mode), so no value is rounded to 8 bits on the way.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from mml7.errors import check_choice

# Method name -> Pillow filter. "nearest" keeps label values; "box" averages (shrinking);
# "bilinear" and "bicubic" interpolate (Pillow antialiases them when shrinking).
METHODS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "box": Image.Resampling.BOX,
}


def resize(array: np.ndarray, size: tuple[int, int], method: str = "bilinear") -> np.ndarray:
    """``array`` (h, w) or (h, w, c) resized to ``size`` = (height, width).

    Floats come back as float32 clipped to the input's range; a mask resized by
    "nearest" keeps its dtype and values.

    >>> resize(np.eye(2, dtype=np.float32), (4, 4), "nearest").shape
    (4, 4)
    """
    filter_ = METHODS[check_choice(method, METHODS, "resize method")]
    array = np.asarray(array)
    height, width = (int(side) for side in size)
    if array.shape[:2] == (height, width):
        return array
    if method == "nearest" and not np.issubdtype(array.dtype, np.floating):
        planes = array[..., None] if array.ndim == 2 else array
        out = [
            np.asarray(
                Image.fromarray(planes[..., k].astype(np.int32)).resize((width, height), filter_)
            )
            for k in range(planes.shape[-1])
        ]
        stacked = np.stack(out, -1).astype(array.dtype)
        return stacked[..., 0] if array.ndim == 2 else stacked
    planes = array[..., None] if array.ndim == 2 else array
    out = [
        np.asarray(
            Image.fromarray(planes[..., k].astype(np.float32), mode="F").resize(
                (width, height), filter_
            )
        )
        for k in range(planes.shape[-1])
    ]
    low, high = float(array.min(initial=0.0)), float(array.max(initial=1.0))
    stacked = np.clip(np.stack(out, -1), min(low, 0.0), max(high, 1.0)).astype(np.float32)
    return stacked[..., 0] if array.ndim == 2 else stacked


def fit_size(size: tuple[int, int], max_side: int | None) -> tuple[int, int]:
    """``size`` = (height, width) scaled down, aspect kept, so its longer side is at most
    ``max_side``; as it is when it already fits (or ``max_side`` is None).

    >>> fit_size((5000, 8000), 2000)
    (1250, 2000)
    """
    height, width = (int(side) for side in size)
    if max_side is None or max(height, width) <= max_side:
        return height, width
    scale = max_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_batch(images: np.ndarray, size: tuple[int, int], method: str = "bilinear") -> np.ndarray:
    """``resize`` applied to each image of a batch (n, h, w[, c])."""
    images = np.asarray(images)
    if images.shape[1:3] == tuple(size):
        return images
    return np.stack([resize(image, size, method) for image in images])
