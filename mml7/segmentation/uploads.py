"""A person's own data for segmentation: a zip of images with class-index masks, a
train/test split of it, and one uploaded image made ready for a shipped model.

The zip is read under ``mml7.uploads``' policy (member count, declared sizes, pixel
caps from the headers, a memory budget, safe member paths), like every upload.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from mml7 import data, uploads
from mml7.errors import InputError
from mml7.images import fit_size, resize

MAX_UPLOAD_CLASSES = 32
FOLDERS = ("images", "masks")


def read_segmentation_upload(
    filename: str, payload: bytes, image_size: int | None = 64, channels: int = 3
) -> data.SegmentationDataset:
    """Read a zip with ``images/`` and ``masks/`` holding files of the same stems.

    ``images/cat1.jpg`` pairs with ``masks/cat1.png``; one wrapping folder is accepted.
    Masks are class-index PNGs (grey or palette; value = class, 0 = background). With
    ``image_size`` set, images are resized bilinearly and masks by nearest neighbour,
    each decoded at reduced size; None keeps the first image's size. Members are
    unpacked one at a time and every size is checked from the headers first.

    Returns:
        SegmentationDataset: images float32 (n, s, s, channels) in [0, 1], masks uint8
        (n, s, s), classes "background", "class 1", ... up to the largest mask value.

    Raises:
        InputError: not a zip; over a limit of ``mml7.uploads``; no images/ or masks/
            folder; stems that do not pair up; an image and its mask of different sizes;
            a colour mask; more than 32 classes; an unreadable image or mask.
    """
    if not payload:
        raise InputError(f"'{filename}' is empty; upload a .zip with images/ and masks/.")
    if not uploads.is_zip(payload):
        raise InputError(f"'{filename}' is not a zip; upload a .zip with images/ and masks/.")
    archive, members = uploads.open_zip(filename, payload)
    infos = {info.filename: info for info in members}
    pairs = _pairs(filename, list(infos))
    budget = uploads.MemoryBudget(filename)
    size = None if image_size is None else (image_size, image_size)
    images = masks = None
    for k, (image_name, mask_name) in enumerate(pairs):
        image_raw = _unpack(archive, infos[image_name], f"image '{image_name}'")
        mask_raw = _unpack(archive, infos[mask_name], f"mask '{mask_name}'")
        shape = _checked_shapes(image_raw, image_name, mask_raw, mask_name)
        try:
            image = uploads.decode_image(image_raw, channels, size, budget=budget)
        except uploads.Unreadable as error:
            raise InputError(f"image '{image_name}': {error}.") from None
        if images is None:
            size = image.shape[:2]
            # Pages of the arrays are only backed by memory once written.
            budget.plan(len(pairs), (*size, 4 * channels + 1), itemsize=1)
            images = np.empty((len(pairs), *size, channels), np.float32)
            masks = np.empty((len(pairs), *size), np.uint8)
        images[k] = image
        masks[k] = _class_mask(mask_raw, mask_name, shape, size, budget)
    num_classes = int(masks.max()) + 1
    if num_classes < 2:
        raise InputError(f"'{filename}': every mask is all background (0); nothing to learn.")
    return data.SegmentationDataset(
        images,
        masks,
        ["background", *(f"class {k}" for k in range(1, num_classes))],
        Path(filename).stem,
        f"upload: {filename} ({len(images)} images)",
    )


def _unpack(archive, info, what: str) -> bytes:
    """A member's bytes under the policy's per-file cap; InputError naming ``what``."""
    try:
        return uploads.read_member(archive, info)
    except uploads.TooLarge as error:
        raise InputError(f"{what}: {error}.") from None
    except Exception as error:  # CRC errors, unsupported compression, ...
        raise InputError(f"{what} cannot be unpacked ({type(error).__name__}).") from None


def _checked_shapes(image_raw: bytes, image_name: str, mask_raw: bytes, mask_name: str):
    """The image's upright (h, w), from the headers of the image and its mask, once both
    are images within the pixel cap and of the same size; nothing is decoded yet."""
    try:
        shape = uploads.upright_size(uploads.open_image(image_raw))
    except uploads.Unreadable as error:
        raise InputError(f"image '{image_name}': {error}.") from None
    try:
        width, height = uploads.open_image(mask_raw).size
    except uploads.TooLarge as error:
        raise InputError(f"mask '{mask_name}': {error}.") from None
    except uploads.Unreadable:
        raise InputError(f"mask '{mask_name}' is not an image Pillow can read.") from None
    if (height, width) != tuple(shape):
        raise InputError(
            f"'{image_name}' is {shape[1]} x {shape[0]} px but its mask is "
            f"{width} x {height} px; they must be the same size."
        )
    return shape


def _pairs(filename: str, names: list[str]) -> list[tuple[str, str]]:
    """(image member, mask member) for each stem, in stem order; InputError when the
    folders are missing or the stems do not pair up."""
    found: dict[str, dict[str, str]] = {folder: {} for folder in FOLDERS}
    for name in names:
        path = uploads.member_path(name)
        if path is None or uploads.is_metadata(path):
            continue
        folder = next((p for p in path.parts[:-1] if p.lower() in found), None)
        if folder is not None and path.suffix.lower() in uploads.IMAGE_SUFFIXES:
            found[folder.lower()][path.stem] = name
    if not found["images"] or not found["masks"]:
        missing = " and ".join(f"{k}/" for k, v in found.items() if not v)
        raise InputError(
            f"'{filename}' has no image files in {missing}; expected images/NAME.png (or .jpg) "
            "with masks/NAME.png beside them."
        )
    only_images = sorted(set(found["images"]) - set(found["masks"]))
    only_masks = sorted(set(found["masks"]) - set(found["images"]))
    if only_images or only_masks:
        parts = []
        if only_images:
            parts.append(f"images without a mask: {', '.join(only_images[:5])}")
        if only_masks:
            parts.append(f"masks without an image: {', '.join(only_masks[:5])}")
        raise InputError(f"'{filename}': names do not pair up ({'; '.join(parts)}).")
    return [(found["images"][stem], found["masks"][stem]) for stem in sorted(found["images"])]


def _class_mask(raw: bytes, member: str, shape, size, budget) -> np.ndarray:
    """The mask PNG (``shape`` (h, w), checked by ``_checked_shapes``) as uint8 class
    indices resized to ``size`` by nearest neighbour, done on 8-bit Pillow images so a
    large mask is never a large integer array. InputError when it is damaged, a colour
    image, or has a class value outside 0..``MAX_UPLOAD_CLASSES`` - 1."""
    image = uploads.open_image(raw)
    pixels = shape[0] * shape[1]
    try:
        budget.check(size[0] * size[1], len(raw) + 6 * pixels, f"mask '{member}'")
        image.load()
    except uploads.TooLarge as error:
        raise InputError(f"mask '{member}': {error}.") from None
    except Exception:
        raise InputError(f"mask '{member}' is damaged or truncated.") from None
    if image.mode in ("L", "P", "1", "I", "I;16", "I;16L", "I;16B"):
        low, high = _extrema(image)
        if image.mode == "1":
            image, high = image.convert("L").point(lambda v: 1 if v else 0), min(high, 1)
        elif image.mode != "L" and 0 <= low and high < MAX_UPLOAD_CLASSES:
            image = image.getchannel(0) if image.mode == "P" else image.convert("L")
    elif image.mode in ("RGB", "RGBA") and _is_grey(image):
        image = image.getchannel("R")
        low, high = image.getextrema()
    else:
        raise InputError(
            f"mask '{member}' is a colour image ({image.mode}); masks must be class-index "
            "PNGs (one grey or palette value per pixel: 0 = background, 1, 2, ...)."
        )
    if low < 0 or high >= MAX_UPLOAD_CLASSES:
        raise InputError(
            f"mask '{member}' has class value {high if high > 0 else low}; class values "
            f"must be 0..{MAX_UPLOAD_CLASSES - 1} (0 = background)."
        )
    if image.size != (size[1], size[0]):
        image = image.resize((size[1], size[0]), Image.Resampling.NEAREST)
    budget.keep(size[0] * size[1])
    return np.asarray(image, dtype=np.uint8)


def _extrema(image: Image.Image) -> tuple[int, int]:
    try:
        low, high = image.getextrema()
    except ValueError:  # modes getextrema does not take (I;16B)
        values = np.asarray(image)
        low, high = values.min(initial=0), values.max(initial=0)
    return int(low), int(high)


def _is_grey(image: Image.Image) -> bool:
    """Whether an RGB(A) image has R == G == B everywhere, checked a band of rows at a
    time so a large mask is not copied whole."""
    width, height = image.size
    rows = max(1, uploads.BAND_PIXELS // max(width, 1))
    for top in range(0, height, rows):
        rgb = np.asarray(image.crop((0, top, width, min(top + rows, height))).convert("RGB"))
        if not (rgb == rgb[..., :1]).all():
            return False
    return True


def split(scenes: data.SegmentationDataset, test_fraction: float = 0.2, seed: int = 0):
    """(train, test) at random; raises InputError when either part would be empty."""
    count = len(scenes)
    test_count = int(round(count * test_fraction))
    if count < 2 or test_count < 1 or test_count >= count:
        raise InputError(f"{count} image(s) are too few to split into training and test images.")
    order = np.random.default_rng(seed).permutation(count)
    parts = []
    for indices in (order[test_count:], order[:test_count]):
        parts.append(
            data.SegmentationDataset(
                scenes.images[indices],
                scenes.masks[indices],
                list(scenes.class_names),
                scenes.name,
                scenes.source,
            )
        )
    return parts[0], parts[1]


def prepare_image(image: np.ndarray, max_side: int = 256, multiple: int = 8):
    """An uploaded image (h, w, c) resized to at most ``max_side`` and edge-padded to a
    multiple of ``multiple`` so the encoder-decoder can run; returns (padded, (h, w)) where
    (h, w) is the resized size to crop the prediction back to."""
    size = fit_size(image.shape[:2], max_side)
    image = resize(image, size, "bilinear")
    pad_h, pad_w = (-size[0]) % multiple, (-size[1]) % multiple
    padded = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return padded.astype(np.float32), size
