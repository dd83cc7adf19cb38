"""A person's own data for segmentation: a zip of images with class-index masks, a
train/test split of it, and one uploaded image made ready for a shipped model.

The zip is read under ``mml7.uploads``' policy (member count, declared size, per-image
and total pixel caps, safe member paths), like every upload.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from mml7 import data, uploads
from mml7.errors import InputError
from mml7.images import resize

MAX_UPLOAD_CLASSES = 32
FOLDERS = ("images", "masks")


def read_segmentation_upload(
    filename: str, payload: bytes, image_size: int | None = 64, channels: int = 3
) -> data.SegmentationDataset:
    """Read a zip with ``images/`` and ``masks/`` holding files of the same stems.

    ``images/cat1.jpg`` pairs with ``masks/cat1.png``; one wrapping folder is accepted.
    Masks are class-index PNGs (grey or palette; value = class, 0 = background). With
    ``image_size`` set, images are resized bilinearly and masks by nearest neighbour.

    Returns:
        SegmentationDataset: images float32 (n, s, s, channels) in [0, 1], masks uint8
        (n, s, s), classes "background", "class 1", ... up to the largest mask value.

    Raises:
        InputError: not a zip; over a limit of ``mml7.uploads``; no images/ or masks/
            folder; stems that do not pair up; an image and its mask of different sizes;
            a colour mask; more than 32 classes; an unreadable image.
    """
    if not payload:
        raise InputError(f"'{filename}' is empty.")
    if not uploads.is_zip(payload):
        raise InputError(f"'{filename}' is not a zip; upload a .zip with images/ and masks/.")
    archive, members = uploads.open_zip(filename, payload)
    pairs = _pairs(filename, [info.filename for info in members])
    budget = uploads.PixelBudget(filename)
    images, masks = [], []
    size = None if image_size is None else (image_size, image_size)
    for image_name, mask_name in pairs:
        try:
            image = uploads.decode_image(archive.read(image_name), channels)
        except uploads.Unreadable as error:
            raise InputError(f"image '{image_name}': {error}.") from None
        budget.add(image)
        mask = _class_mask(archive.read(mask_name), mask_name, image.shape[:2], image_name)
        if size is None:
            size = image.shape[:2]
        images.append(resize(image, size, "bilinear"))
        masks.append(resize(mask.astype(np.uint8), size, "nearest"))
    masks_array = np.stack(masks).astype(np.uint8)
    num_classes = int(masks_array.max()) + 1
    if num_classes < 2:
        raise InputError(f"'{filename}': every mask is all background (0); nothing to learn.")
    return data.SegmentationDataset(
        np.stack(images).astype(np.float32),
        masks_array,
        ["background", *(f"class {k}" for k in range(1, num_classes))],
        Path(filename).stem,
        f"upload: {filename} ({len(images)} images)",
    )


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


def _class_mask(raw: bytes, member: str, image_size: tuple[int, int], image_name: str):
    """The mask PNG as int64 (h, w) class indices. InputError when it is not an image, is
    not the image's size (checked before decoding, so the image's pixel cap holds for it
    too), is a colour image, or has a class value of ``MAX_UPLOAD_CLASSES`` or more."""
    try:
        image = Image.open(io.BytesIO(raw))
        width, height = image.size
    except Exception:
        raise InputError(f"mask '{member}' is not an image Pillow can read.") from None
    if (height, width) != tuple(image_size):
        raise InputError(
            f"'{image_name}' is {image_size[1]} x {image_size[0]} px but its mask is "
            f"{width} x {height} px; they must be the same size."
        )
    try:
        image.load()
    except Exception:
        raise InputError(f"mask '{member}' is damaged or truncated.") from None
    if image.mode in ("L", "P", "I", "I;16", "1"):
        mask = np.asarray(image).astype(np.int64)
    elif image.mode in ("RGB", "RGBA") and _is_grey(values := np.asarray(image.convert("RGB"))):
        mask = values[..., 0].astype(np.int64)
    else:
        raise InputError(
            f"mask '{member}' is a colour image ({image.mode}); masks must be class-index "
            "PNGs (one grey or palette value per pixel: 0 = background, 1, 2, ...)."
        )
    if mask.max() >= MAX_UPLOAD_CLASSES:
        raise InputError(
            f"mask '{member}' has class value {mask.max()}; class values must be "
            f"0..{MAX_UPLOAD_CLASSES - 1} (0 = background)."
        )
    return mask


def _is_grey(rgb: np.ndarray) -> bool:
    return bool((rgb == rgb[..., :1]).all())


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
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    size = (max(int(round(height * scale)), 1), max(int(round(width * scale)), 1))
    image = resize(image, size, "bilinear")
    pad_h, pad_w = (-size[0]) % multiple, (-size[1]) % multiple
    padded = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return padded.astype(np.float32), size
