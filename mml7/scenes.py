"""Generated segmentation scenes: shapes on texture, thin structures on texture, and
Fashion-MNIST composites.

Both return a ``SegmentationDataset`` (images float32 (n, s, s, c) in [0, 1], masks uint8
(n, s, s) of class indices, 0 = background) and are deterministic for a seed, so a
held-out set is just another seed. ``mml7.data`` re-exports them.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# A module reference, not names: mml7.data imports this module to re-export it.
from mml7 import data

SHAPE_CLASSES = ("background", "disc", "square", "triangle")
# Thin scenes: lines and ring outlines 1-2 px wide, where a one-pixel shift of the output
# (what nearest unpooling's 2x2 blocks cause) costs a large share of the object.
THIN_CLASSES = ("background", "line", "ring")


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth random background, float32 (size, size, 3): blurred noise plus stripes."""
    coarse = rng.random((size // 8 + 2, size // 8 + 2, 3))
    image = np.asarray(
        Image.fromarray((coarse * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC),
        dtype=np.float32,
    ) / np.float32(255)
    yy, xx = np.mgrid[0:size, 0:size]
    angle, period = rng.uniform(0, np.pi), rng.uniform(6, 16)
    stripes = 0.5 + 0.5 * np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    image = 0.35 + 0.3 * image + 0.12 * stripes[..., None]
    return image.astype(np.float32)


def _shape_mask(kind: str, rng: np.random.Generator, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    radius = rng.uniform(0.12, 0.24) * size
    cy, cx = rng.uniform(radius * 0.6, size - radius * 0.6, size=2)
    if kind == "disc":
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    if kind == "square":
        angle = rng.uniform(0, np.pi / 2)
        u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
        v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
        half = radius * 0.85
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    # Equilateral triangle: inside all three half-planes.
    angle = rng.uniform(0, 2 * np.pi)
    corners = [
        (
            cx + radius * np.cos(angle + k * 2 * np.pi / 3),
            cy + radius * np.sin(angle + k * 2 * np.pi / 3),
        )
        for k in range(3)
    ]
    inside = np.ones((size, size), dtype=bool)
    for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1], strict=True):
        cross = (x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0)
        inside &= cross >= 0
    return inside


def _paint_scenes(n, image_size, seed, classes, counts, object_mask, shaded: bool, name: str):
    """``n`` scenes of objects painted on ``_texture``, as the SegmentationDataset ``name``
    (images float32 (n, s, s, 3), masks uint8 (n, s, s)). Each scene has
    ``rng.integers(*counts)`` objects of random class and colour, ``object_mask(class name,
    rng, size)`` saying where; later objects cover earlier ones. ``shaded``: the colour
    varies by +-7.5% from pixel to pixel."""
    if n < 1 or image_size < 16:
        raise ValueError(f"need n >= 1 and image_size >= 16, got n={n}, image_size={image_size}")
    rng = np.random.default_rng(seed)
    images = np.empty((n, image_size, image_size, 3), dtype=np.float32)
    masks = np.zeros((n, image_size, image_size), dtype=np.uint8)
    for i in range(n):
        image = _texture(rng, image_size)
        for _ in range(rng.integers(*counts)):
            label = int(rng.integers(1, len(classes)))
            inside = object_mask(classes[label], rng, image_size)
            colour = rng.uniform(0, 1, size=3).astype(np.float32)
            if shaded:
                shade = 1 + 0.15 * (rng.random((image_size, image_size, 1)) - 0.5)
                colour = np.clip(colour * shade, 0, 1)
            image = np.where(inside[..., None], colour, image)
            masks[i][inside] = label
        images[i] = image
    source = f"generated: {n} scenes, {image_size} px, seed {seed}"
    return data.SegmentationDataset(images, masks, list(classes), name, source)


def make_shapes_segmentation(
    n: int, image_size: int = 64, seed: int = 0
) -> data.SegmentationDataset:
    """Procedural scenes: discs, squares and triangles on a textured background.

    Each image has 1-4 shapes of random colour, size, position and rotation; later shapes
    cover earlier ones, and the mask says which shape owns each pixel (exact, no
    anti-aliasing). Deterministic for a ``seed``.

    Returns:
        SegmentationDataset: images float32 (n, s, s, 3) in [0, 1], masks uint8 (n, s, s)
        with 0 = background, 1 = disc, 2 = square, 3 = triangle.
    """
    return _paint_scenes(n, image_size, seed, SHAPE_CLASSES, (1, 5), _shape_mask, True, "Shapes")


def _thin_mask(kind: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """A line across the image or a ring outline, ``width`` 1 or 2 px (exact, no anti-aliasing)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    half = rng.choice((0.5, 1.0))  # half the width: 1 or 2 px across
    if kind == "line":
        angle = rng.uniform(0, np.pi)
        cy, cx = rng.uniform(0.2 * size, 0.8 * size, size=2)
        length = rng.uniform(0.4, 0.9) * size
        along = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
        across = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
        return (np.abs(across) <= half) & (np.abs(along) <= length / 2)
    radius = rng.uniform(0.08, 0.3) * size
    cy, cx = rng.uniform(radius, size - radius, size=2)
    distance = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
    return np.abs(distance - radius) <= half


def make_thin_segmentation(n: int, image_size: int = 64, seed: int = 0) -> data.SegmentationDataset:
    """Procedural scenes of thin structures: lines and ring outlines, 1-2 px wide, on the
    textured background of the shapes scenes.

    Each image has 2-5 structures of random colour, position, length or radius; later ones
    cover earlier ones where they cross. A one-pixel error along a 1 px line loses the whole
    line, so these scenes show how precisely a decoder puts detail back: nearest unpooling
    can only place it by 2 x 2 blocks, max unpooling at the remembered positions.
    Deterministic for a ``seed``.

    Returns:
        SegmentationDataset: images float32 (n, s, s, 3) in [0, 1], masks uint8 (n, s, s)
        with 0 = background, 1 = line, 2 = ring.
    """
    return _paint_scenes(
        n, image_size, seed, THIN_CLASSES, (2, 6), _thin_mask, False, "Thin structures"
    )


def make_fashion_composites(
    n: int, image_size: int = 64, seed: int = 0, split: str = "train"
) -> data.SegmentationDataset:
    """Fashion-MNIST items pasted on a black canvas (M2NIST-style).

    2-4 items per canvas at random positions, overlaps allowed (a later item covers an
    earlier one where its pixels are on, i.e. above 0.1). Mask = 1 + the item's class.

    Raises:
        DatasetUnavailable: Fashion-MNIST is not available (see ``fashion_mnist``).
    """
    if n < 1 or image_size < 28:
        raise ValueError(f"need n >= 1 and image_size >= 28, got n={n}, image_size={image_size}")
    source = data.fashion_mnist(split)
    rng = np.random.default_rng(seed)
    images = np.zeros((n, image_size, image_size, 1), dtype=np.float32)
    masks = np.zeros((n, image_size, image_size), dtype=np.uint8)
    for i in range(n):
        for _ in range(rng.integers(2, 5)):
            item = int(rng.integers(len(source)))
            top, left = rng.integers(0, image_size - 28 + 1, size=2)
            pixels = source.images[item, :, :, 0]
            on = pixels > 0.1
            window = (slice(top, top + 28), slice(left, left + 28))
            images[i][window][on, 0] = pixels[on]
            masks[i][window][on] = source.labels[item] + 1
    return data.SegmentationDataset(
        images,
        masks,
        ["background", *data.FASHION_MNIST_CLASSES],
        "Fashion composites",
        f"generated from Fashion-MNIST ({split}): {n} canvases, {image_size} px, seed {seed}",
    )
