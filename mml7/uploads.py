"""Uploads: the one policy every upload reader follows, and the class-folder reader.

The policy bounds the memory a reader takes, whatever the upload: a zip is refused when
its directory lists more than ``MAX_MEMBERS`` files or declares more than
``MAX_UNCOMPRESSED_BYTES`` unpacked; a member declaring more than ``MAX_MEMBER_BYTES`` is
never unpacked, and members are unpacked one at a time; an image of more than
``MAX_IMAGE_PIXELS`` pixels is refused from its header, before it is decoded; an image
wanted smaller than it is is decoded at reduced size (JPEG ``draft``, then ``reduce`` in
8 bit, a band of rows at a time) so it never exists as a full-size float array; and a
``MemoryBudget`` holds the float32 arrays one upload keeps to ``MAX_DECODED_BYTES`` and
those plus one image's decoding to ``MAX_WORKING_BYTES``, checked before each decode.
Only ``FORMATS`` are opened (no plugin that runs other programs). Nothing is written to
disk: members are decoded in memory, and paths outside a folder are skipped.

Readers go through ``open_zip``, ``read_member``, ``decode_image`` and ``MemoryBudget``:
``read_upload`` (class folders or one image) and ``read_image`` (one image) are here,
``mml7.segmentation.read_segmentation_upload`` (images/ and masks/) with the
segmentation code, ``mml7.similarity.read_gallery_upload`` and ``prepare_query`` with the
similarity code. The limits are read when a reader runs, so a test can lower one with
``monkeypatch``.
"""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

# A module reference, not names: mml7.data imports this module to re-export read_upload.
from mml7 import data as datasets
from mml7.errors import InputError
from mml7.images import fit_size

# A class-folder set for this course is a few thousand small images at most.
MAX_MEMBERS = 20_000  # files in one zip
MAX_UNCOMPRESSED_BYTES = 1 << 30  # 1 GiB of declared member sizes, all together
MAX_MEMBER_BYTES = 50 << 20  # one member's declared size; a bigger one is never unpacked
MAX_IMAGE_PIXELS = 40_000_000  # one image (e.g. 8000 x 5000); larger is refused
MAX_DECODED_BYTES = 192 << 20  # the float32 arrays one upload's reader returns
MAX_WORKING_BYTES = 256 << 20  # those plus the decoding of the image being read
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")  # JPEG opens MPO (phones) too
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
BAND_PIXELS = 1 << 20  # a large image is converted to 8 bit this many pixels at a time
# EXIF orientation -> the transpose that shows the image upright.
ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class Unreadable(Exception):
    """One upload member could not be decoded; the message is the reason."""


class TooLarge(Unreadable):
    """An image or member over a cap of the policy, refused before it was decoded."""


# --------------------------------------------------------------------------- zips


def is_zip(data: bytes) -> bool:
    return zipfile.is_zipfile(io.BytesIO(data))


def open_zip(
    filename: str, data: bytes, max_members: int | None = None
) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The archive and its file members (folders left out), once the limits hold.

    The members are counted from the directory's entry signatures before Python parses
    the directory, so a zip of a million tiny entries is refused without a million
    ``ZipInfo`` objects.

    Raises:
        InputError: a damaged archive; more than ``max_members`` (default
            ``MAX_MEMBERS``) files; more than ``MAX_UNCOMPRESSED_BYTES`` declared unpacked.
    """
    max_members = MAX_MEMBERS if max_members is None else max_members
    listed = data.count(b"PK\x01\x02")  # at least the number of directory entries
    if listed > max_members:
        raise InputError(
            f"'{filename}' has {listed:,} files; at most {max_members:,} are accepted."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise InputError(f"'{filename}' is a damaged zip archive: {error}") from None
    if len(members) > max_members:
        raise InputError(
            f"'{filename}' has {len(members):,} files; at most {max_members:,} are accepted."
        )
    declared = sum(info.file_size for info in members)
    if declared > MAX_UNCOMPRESSED_BYTES:
        raise InputError(
            f"'{filename}' unpacks to {_human_bytes(declared)}; at most "
            f"{_human_bytes(MAX_UNCOMPRESSED_BYTES)} is accepted."
        )
    return archive, members


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """One member's bytes, unpacked only when its declared size is within
    ``MAX_MEMBER_BYTES``; zipfile stops at the declared size, so a lying header cannot
    unpack more, and a member is only ever held one at a time.

    Raises:
        TooLarge: the member declares more than ``MAX_MEMBER_BYTES``.
        Exception: whatever zipfile raises for a damaged member (CRC, compression).
    """
    if info.file_size > MAX_MEMBER_BYTES:
        raise TooLarge(
            f"file too large: it unpacks to {_human_bytes(info.file_size)}; at most "
            f"{_human_bytes(MAX_MEMBER_BYTES)} per file is accepted"
        )
    with archive.open(info) as stream:
        return stream.read()


def member_path(name: str) -> PurePosixPath | None:
    """A zip member name as a relative path, or None when it is unsafe (absolute, with a
    drive letter, '..' or an empty part, or no part at all as in '.')."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    path = PurePosixPath(name)
    if not path.parts or any(part in ("..", "") for part in path.parts):
        return None
    return path


def is_metadata(path: PurePosixPath) -> bool:
    """Finder and editor files (``.DS_Store``, ``__MACOSX/``), not data."""
    return path.name.startswith(".") or "__MACOSX" in path.parts


# --------------------------------------------------------------------------- memory


class MemoryBudget:
    """The memory one upload's reader may take: ``kept`` bytes of arrays it returns (at
    most ``MAX_DECODED_BYTES``), plus, while an image is decoded, that decoding's working
    memory (all together at most ``MAX_WORKING_BYTES``). Checked before decoding."""

    def __init__(self, filename: str, kept_limit: int | None = None):
        self.filename = filename
        self.kept_limit = MAX_DECODED_BYTES if kept_limit is None else kept_limit
        self.working_limit = max(MAX_WORKING_BYTES, self.kept_limit)
        self.kept = 0

    def plan(self, count: int, shape: tuple[int, ...], itemsize: int = 4) -> None:
        """Refuse the upload now when ``count`` arrays of ``shape`` will not fit.

        Raises:
            InputError: naming the count, the size each is read at, the limit, and how
                many would fit.
        """
        each = math.prod(shape) * itemsize
        if count * each > self.kept_limit:
            fit = max(self.kept_limit // max(each, 1), 0)
            raise InputError(
                f"'{self.filename}' has {count:,} images; read at {shape[1]} x {shape[0]} px "
                f"they take {_human_bytes(count * each)} of memory, at most "
                f"{_human_bytes(self.kept_limit)} is accepted: upload at most {fit:,} "
                "images, or smaller ones."
            )

    def check(self, result_bytes: int, working_bytes: int, what: str) -> None:
        """Raise TooLarge unless an image ``what`` of ``result_bytes`` kept and
        ``working_bytes`` while decoding fits in what is left."""
        if self.kept + result_bytes > self.kept_limit:
            raise TooLarge(
                f"{what} takes {_human_bytes(result_bytes)} of memory; at most "
                f"{_human_bytes(self.kept_limit - self.kept)} is accepted (about "
                f"{(self.kept_limit - self.kept) / 12e6:.0f} megapixels in colour)"
            )
        if self.kept + working_bytes > self.working_limit:
            raise TooLarge(
                f"{what} needs {_human_bytes(working_bytes)} of memory to decode; "
                f"{_human_bytes(self.working_limit - self.kept)} is left of the "
                f"{_human_bytes(self.working_limit)} an upload may use"
            )

    def keep(self, nbytes: int) -> None:
        self.kept += nbytes


# --------------------------------------------------------------------------- images


def open_image(data: bytes) -> Image.Image:
    """The image with only its header read (Pillow opens lazily), once its pixel count is
    within ``MAX_IMAGE_PIXELS``.

    Raises:
        Unreadable: not an image of ``FORMATS``.
        TooLarge: more than ``MAX_IMAGE_PIXELS`` pixels.
    """
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
        width, height = image.size
    except Image.DecompressionBombError as error:
        raise TooLarge(
            f"image too large to open safely; at most {MAX_IMAGE_PIXELS:,} pixels are accepted"
        ) from error
    except Exception as error:
        raise Unreadable("not an image Pillow can read") from error
    if width * height > MAX_IMAGE_PIXELS:
        raise TooLarge(
            f"image is {width} x {height} pixels; at most {MAX_IMAGE_PIXELS:,} pixels are accepted"
        )
    return image


def upright_size(image: Image.Image) -> tuple[int, int]:
    """(height, width) of the image as shown, after its EXIF orientation."""
    width, height = image.size
    turned = _orientation(image, loaded=False) in (5, 6, 7, 8)
    return (width, height) if turned else (height, width)


def decode_image(
    data: bytes,
    channels: int,
    size: tuple[int, int] | None = None,
    max_side: int | None = None,
    budget: MemoryBudget | None = None,
) -> np.ndarray:
    """Bytes -> float32 (h, w, channels) in [0, 1], upright (EXIF orientation applied).

    Args:
        size: (h, w) to resize to (bilinear); None keeps the image's size.
        max_side: without ``size``, a longer side above this is scaled down to it.
        budget: the upload's MemoryBudget (a fresh one when None); the result and the
            decoding are checked against it from the header, before any pixel is
            decoded, and the result is counted in it.

    Raises:
        Unreadable: not an image, damaged or truncated; TooLarge: over a cap. The
            message says which.
    """
    image = open_image(data)
    budget = MemoryBudget("") if budget is None else budget
    height, width = upright_size(image)
    target = size or fit_size((height, width), max_side)
    stored = target[::-1] if _orientation(image, loaded=False) in (5, 6, 7, 8) else target
    if image.format in ("JPEG", "MPO"):
        image.draft(image.mode, (stored[1], stored[0]))  # decode at 1/2, 1/4 or 1/8
    factor = max(1, min(image.size[0] // stored[1], image.size[1] // stored[0]))
    result = target[0] * target[1] * channels * 4
    working = len(data) + _working_bytes(image, factor, target, channels)
    what = f"a {width} x {height} image read at {target[1]} x {target[0]} px"
    budget.check(result, working, what)
    try:
        image.load()
        method = ORIENTATIONS.get(_orientation(image))
        small = _shrink(image, channels, factor)
        if small is not image:
            image.close()  # frees the full-size pixels before the float array exists
        small = small.transpose(method) if method is not None else small
        if small.size != (target[1], target[0]):
            small = small.resize((target[1], target[0]), Image.Resampling.BILINEAR)
        array = _to_float(small)
    except Exception as error:  # truncated files and broken codecs raise many types
        raise Unreadable(f"damaged or truncated image ({type(error).__name__})") from error
    budget.keep(array.nbytes)
    return array


def _orientation(image: Image.Image, loaded: bool = True) -> int:
    """The EXIF orientation (1 when none). A PNG's EXIF may follow its pixels, and Pillow
    would decode them to find it, so before loading only what is already read counts."""
    if not loaded and image.format == "PNG" and "exif" not in image.info:
        return 1
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:  # a broken EXIF block: show the image as stored
        return 1


def _pixel_bytes(mode: str) -> int:
    """Bytes Pillow holds per pixel of ``mode`` (RGB and most others are 4)."""
    return 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4


def _working_bytes(image: Image.Image, factor: int, target: tuple[int, int], channels: int):
    """Peak bytes of decoding ``image`` (size after ``draft``): its pixels and the
    reduced 8-bit copy, then the final 8-bit image, its bytes and the float32 array."""
    width, height = image.size
    reduced = -(-width // factor) * -(-height // factor)
    pixels = target[0] * target[1]
    decoding = width * height * _pixel_bytes(image.mode) + 4 * reduced + 4 * pixels
    return max(decoding, pixels * (4 + 5 * channels))


def _shrink(image: Image.Image, channels: int, factor: int) -> Image.Image:
    """The loaded image in 8 bit ("L" or "RGB"), reduced by ``factor`` (box average),
    converted a band of rows at a time so no full-size converted copy is made."""
    final = "L" if channels == 1 else "RGB"
    if image.mode == final:
        return image.reduce(factor) if factor > 1 else image
    width, height = image.size
    scale = _value_scale(image)
    out = Image.new(final, (-(-width // factor), -(-height // factor)))
    rows = max(factor, BAND_PIXELS // max(width, 1) // factor * factor)
    for top in range(0, height, rows):
        band = _to_8bit(image.crop((0, top, width, min(top + rows, height))), final, scale)
        out.paste(band.reduce(factor) if factor > 1 else band, (0, top // factor))
    return out


def _value_scale(image: Image.Image) -> float:
    """What 16- and 32-bit values are divided by: 16-bit PNGs open as "I;16" or "I", so
    the 16-bit range unless the values fit in 8 bits already."""
    if image.mode not in ("I;16", "I;16B", "I;16L", "I", "F"):
        return 255.0
    try:
        high = image.getextrema()[1]
    except ValueError:  # modes getextrema does not take
        high = np.asarray(image).max(initial=0)
    return 65535.0 if high > 255 else 255.0


def _to_8bit(band: Image.Image, final: str, scale: float) -> Image.Image:
    """Any PIL mode (1, L, P, RGBA, LA, CMYK, I;16, I, F) -> ``final`` ("L" or "RGB")."""
    if band.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(band, dtype=np.float64)
        band = Image.fromarray(np.clip(values / scale * 255.0, 0, 255).astype(np.uint8))
    if band.mode in ("P", "PA"):
        band = band.convert("RGBA")
    if band.mode in ("RGBA", "LA"):
        # Transparent pixels become white, as an image viewer shows them on a page.
        background = Image.new("RGBA", band.size, (255, 255, 255, 255))
        band = Image.alpha_composite(background, band.convert("RGBA"))
    return band.convert(final)


def _to_float(image: Image.Image) -> np.ndarray:
    """An 8-bit "L"/"RGB" image as float32 (h, w, c) in [0, 1], closing the image first
    so its pixels and the float array are not held at once."""
    values = np.asarray(image)
    image.close()
    array = values.astype(np.float32)
    del values
    array /= np.float32(255)
    return array[..., None] if array.ndim == 2 else array


def _human_bytes(count: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} bytes"


def _size_pair(image_size) -> tuple[int, int] | None:
    if image_size is None:
        return None
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    height, width = (int(side) for side in image_size)
    if not (1 <= height <= 4096 and 1 <= width <= 4096):
        raise ValueError(f"image_size must be between 1 and 4096 pixels, got {image_size}")
    return height, width


# --------------------------------------------------------------------------- readers


def read_upload(
    filename: str,
    data: bytes,
    image_size: int | tuple[int, int] | None = 64,
    channels: int = 3,
    min_classes: int = 0,
    max_members: int | None = None,
    max_decoded_bytes: int | None = None,
) -> datasets.ImageDataset:
    """Read an uploaded zip of class folders, or a single image, into an ImageDataset.

    A zip's top-level folders are the class names (``cats/1.jpg``, ``dogs/7.png``); one
    wrapping folder around them (``pets/cats/1.jpg``) is accepted too. Damaged,
    truncated, oversized and non-image members are skipped and listed in ``skipped`` as
    (member, reason).

    Args:
        filename: the upload's name, used for messages and the data set's name.
        data: the file's bytes.
        image_size: every image is resized to this (h, w) (an int means square). None
            keeps a single image's own size; a zip then takes its first image's size.
        channels: 1 (grey) or 3 (RGB); grey, RGBA, palette and 16-bit images are converted.
        min_classes: raise unless the zip has at least this many classes (a classifier
            needs 2).
        max_members: more files than this in a zip is refused (default ``MAX_MEMBERS``).
        max_decoded_bytes: more bytes of float32 images than this in all is refused
            (default ``MAX_DECODED_BYTES``).

    Returns:
        ImageDataset with images float32 (n, h, w, channels) in [0, 1].

    Raises:
        InputError: not a zip or an image; over a limit of the policy; no readable
            image; fewer than ``min_classes`` classes.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    size = _size_pair(image_size)
    if not data:
        raise InputError(f"'{filename}' is empty.")
    budget = MemoryBudget(filename, max_decoded_bytes)
    if is_zip(data):
        archive, members = open_zip(filename, data, max_members)
        return _read_class_folders(filename, archive, members, size, channels, min_classes, budget)
    try:
        image = decode_image(data, channels, size, budget=budget)
    except TooLarge as error:
        raise InputError(
            f"'{filename}' is too large to read: {error}. Upload a smaller image."
        ) from None
    except Unreadable as error:
        if filename.lower().endswith(".zip"):
            raise InputError(
                f"'{filename}' is not a readable zip archive (damaged, cut short, or not a "
                "zip file). Upload a .zip whose top-level folders are class names."
            ) from None
        raise InputError(
            f"'{filename}' is neither a zip of class folders nor a readable image: {error}. "
            "Upload a PNG/JPEG image, or a .zip whose top-level folders are class names."
        ) from None
    if min_classes > 1:
        raise InputError(
            f"'{filename}' is a single image, but this needs at least {min_classes} classes: "
            "upload a .zip with one folder of images per class."
        )
    stem = Path(filename).stem or "image"
    return datasets.ImageDataset(
        image[None], np.zeros(1, dtype=np.int64), [stem], stem, f"upload: {filename}"
    )


def read_image(
    filename: str,
    data: bytes,
    channels: int = 3,
    max_side: int | None = None,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Read one uploaded image, for an uploader that takes a single image (not a zip).

    A large image wanted small is decoded at reduced size, never at full size in float.

    Args:
        filename: the upload's name, for messages.
        data: the file's bytes.
        channels: 1 (grey) or 3 (RGB).
        max_side: when set, an image whose longer side is larger is scaled down to it
            (aspect kept). Without it (and without ``size``) an image is read at its own
            size, which ``MAX_DECODED_BYTES`` bounds.
        size: when set, the image is resized to exactly (h, w) (bilinear).

    Returns:
        float32 (h, w, channels) in [0, 1].

    Raises:
        InputError: empty, a zip archive, not a readable image, or over a limit of the
            policy; the message speaks of images.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if not data:
        raise InputError(f"'{filename}' is empty; upload an image (PNG, JPEG, ...).")
    if is_zip(data) or filename.lower().endswith(".zip"):
        raise InputError(f"'{filename}' is a zip archive; this takes one image (PNG, JPEG, ...).")
    try:
        return decode_image(data, channels, _size_pair(size), max_side)
    except TooLarge as error:
        raise InputError(
            f"'{filename}' is too large to read: {error}. Upload a smaller image."
        ) from None
    except Unreadable as error:
        raise InputError(
            f"'{filename}' is not a readable image: {error}. Upload a PNG, JPEG, BMP, GIF, "
            "TIFF or WebP image."
        ) from None


def _class_members(members: list[zipfile.ZipInfo]):
    """(labelled, skipped): (class name, member) of each image in a class folder, and
    (member name, reason) of each member that is not one."""
    skipped: list[tuple[str, str]] = []
    paths = {}
    for info in members:
        path = member_path(info.filename)
        if path is None:
            skipped.append((info.filename, "unsafe path (absolute or with '..'), ignored"))
        elif not is_metadata(path):
            paths[info.filename] = path
    # "pets/cats/1.jpg" and "pets/dogs/2.jpg": strip the one wrapping folder.
    tops = {path.parts[0] for path in paths.values()}
    strip = len(tops) == 1 and all(len(path.parts) >= 3 for path in paths.values())
    labelled: list[tuple[str, zipfile.ZipInfo]] = []
    for info in members:
        path = paths.get(info.filename)
        if path is None:
            continue
        parts = path.parts[1:] if strip else path.parts
        if len(parts) < 2:
            skipped.append((info.filename, "not inside a class folder"))
        elif path.suffix.lower() == ".zip":
            skipped.append((info.filename, "nested zip archives are not read"))
        elif path.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append((info.filename, f"not an image file ({path.suffix or 'no extension'})"))
        else:
            labelled.append((parts[0], info))
    return labelled, skipped


def read_images(archive, labelled, size, channels, budget, skipped) -> tuple[np.ndarray, list]:
    """Decode the zip members of ``labelled`` ((tag, member) pairs), one at a time, into
    one float32 array (n, h, w, channels) allocated once; a member that cannot be read
    is added to ``skipped`` with its reason. ``size`` None takes the first image's size.

    Returns:
        (images, tags of the images read). Raises InputError when the images would not
        fit in ``budget``.
    """
    images, tags = None, []
    if size is not None:
        budget.plan(len(labelled), (*size, channels))
    for tag, info in labelled:
        try:
            image = decode_image(read_member(archive, info), channels, size, budget=budget)
        except Unreadable as error:
            skipped.append((info.filename, str(error)))
            continue
        except Exception as error:  # CRC errors, unsupported compression, ...
            skipped.append((info.filename, f"cannot be unpacked ({type(error).__name__})"))
            continue
        if images is None:
            size = image.shape[:2]
            budget.plan(len(labelled), image.shape)
            # Pages of the array are only backed by memory once written.
            images = np.empty((len(labelled), *image.shape), np.float32)
        images[len(tags)] = image
        tags.append(tag)
    return (images[: len(tags)] if images is not None else None), tags


def _read_class_folders(filename, archive, members, size, channels, min_classes, budget):
    labelled, skipped = _class_members(members)
    images, class_of = read_images(archive, labelled, size, channels, budget, skipped)
    if not class_of:
        reasons = "; ".join(f"{name}: {why}" for name, why in skipped[:3])
        raise InputError(
            f"'{filename}' contains no readable image in a class folder"
            + (f" ({reasons})." if reasons else ".")
            + " Expected layout: class_a/img1.png, class_b/img2.jpg, ..."
        )
    class_names = sorted(set(class_of))
    if len(class_names) < min_classes:
        raise InputError(
            f"'{filename}' has {len(class_names)} class folder(s) with images "
            f"({', '.join(class_names)}); at least {min_classes} are needed."
        )
    index = {name: i for i, name in enumerate(class_names)}
    return datasets.ImageDataset(
        images,
        np.array([index[name] for name in class_of], dtype=np.int64),
        class_names,
        Path(filename).stem,
        f"upload: {filename} ({len(class_of)} images)",
        skipped,
    )
