"""Hostile uploads: every user-file reader (read_upload, read_image,
read_segmentation_upload, read_gallery_upload, prepare_query) answers with InputError or a
data set / array - never another exception, never a file written to disk - and every cap
of the policy refuses before anything is decoded."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from mml7 import InputError, segmentation, similarity
from mml7.data import ImageDataset, SegmentationDataset, read_upload
from mml7.uploads import read_image
from tests.helpers import fake_png_header, png_bytes, zip_bytes

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(autouse=True)
def nothing_written(monkeypatch, tmp_path):
    """Run in an empty folder; fail on any extraction or file opened for writing."""
    monkeypatch.chdir(tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("an upload reader tried to extract a zip member to disk")

    monkeypatch.setattr(zipfile.ZipFile, "extract", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", refuse)
    real_open = open

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            raise AssertionError(f"an upload reader opened {file!r} for writing")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", guarded_open)
    yield
    assert os.listdir(tmp_path) == []


def read(filename: str, payload: bytes, **kwargs) -> ImageDataset | None:
    """read_upload, with InputError as the only acceptable failure."""
    try:
        result = read_upload(filename, payload, image_size=16, **kwargs)
    except InputError as error:
        assert str(error)  # a message for the person, never empty
        return None
    assert isinstance(result, ImageDataset)
    assert result.images.dtype == np.float32 and result.images.shape[1:] == (16, 16, 3)
    assert np.isfinite(result.images).all()
    assert 0.0 <= result.images.min() and result.images.max() <= 1.0
    return result


READERS = {
    "read_upload": lambda name, payload: read_upload(name, payload, image_size=16),
    "read_image": lambda name, payload: read_image(name, payload, max_side=16),
    "read_segmentation_upload": lambda name, payload: segmentation.read_segmentation_upload(
        name, payload, image_size=16
    ),
    "read_gallery_upload": similarity.read_gallery_upload,
    "prepare_query": lambda name, payload: similarity.prepare_query(
        name, payload, np.zeros((2, 16, 16, 3), np.float32)
    ),
}


def read_with(reader: str, filename: str, payload: bytes):
    """Any reader, with InputError (with a message) as the only acceptable failure; what
    it returns holds finite float32 images in [0, 1]."""
    try:
        result = READERS[reader](filename, payload)
    except InputError as error:
        assert str(error)
        return None
    if isinstance(result, SegmentationDataset):
        assert result.masks.dtype == np.uint8 and result.masks.shape == result.images.shape[:3]
    images = result.images if isinstance(result, (ImageDataset, SegmentationDataset)) else result
    assert isinstance(images, np.ndarray) and images.dtype == np.float32
    assert np.isfinite(images).all() and 0.0 <= images.min() and images.max() <= 1.0
    return result


def valid_image(seed: int, fmt: str = "PNG") -> bytes:
    rng = np.random.default_rng(seed)
    height, width = rng.integers(1, 40, size=2)
    return png_bytes(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), fmt=fmt)


@pytest.mark.parametrize("reader", READERS)
@SETTINGS
@given(payload=st.binary(max_size=4096), name=st.sampled_from(["a.png", "b.zip", "c", "d.jpg"]))
def test_random_bytes(reader, payload, name):
    read_with(reader, name, payload)


@SETTINGS
@given(
    seed=st.integers(0, 10_000),
    fmt=st.sampled_from(["PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"]),
    cut=st.floats(0.0, 1.0),
)
def test_truncated_images(seed, fmt, cut):
    image = valid_image(seed, fmt)[: int(len(valid_image(seed, fmt)) * cut)]
    for reader in ("read_upload", "read_image", "prepare_query"):
        read_with(reader, f"x.{fmt.lower()}", image)
    pair = zip_bytes({"images/a.png": image, "masks/a.png": png_bytes(np.ones((4, 4), np.uint8))})
    read_with("read_segmentation_upload", "x.zip", pair)


# Member names a zip may carry: ordinary, traversal, absolute, Windows-style, odd unicode.
member_names = st.one_of(
    st.sampled_from(
        [
            "cats/a.png",
            "dogs/b.jpg",
            "../x.png",
            "../../etc/passwd",
            "/abs/c.png",
            "C:\\temp\\d.png",
            "cats\\e.png",
            "nested/deep/f.png",
            "loose.png",
            "cats/inner.zip",
            "cats/",
            "кошки/ж.png",
            "cats/.hidden.png",
            "__MACOSX/cats/._a.png",
            "images/a.png",
            "masks/a.png",
            "set/images/b.jpg",
            "set/masks/b.png",
            "IMAGES\\c.png",
            ".",
        ]
    ),
    st.text(min_size=1, max_size=30),
)
member_payloads = st.one_of(
    st.binary(max_size=200),
    st.integers(0, 1000).map(valid_image),
    st.integers(0, 1000).map(lambda seed: valid_image(seed)[:50]),
    st.just(fake_png_header(50_000, 50_000)),
    st.just(zip_bytes({"a/b.png": valid_image(1)})),
    st.just(png_bytes(np.ones((20, 30), np.uint8))),  # a mask of one size ...
    st.just(png_bytes(np.full((5, 5), 99, np.uint8))),  # ... another, with a bad class
)


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("reader", READERS)
@SETTINGS
@given(members=st.lists(st.tuples(member_names, member_payloads), max_size=12))
def test_random_zips(reader, members):
    # zipfile cuts a name at a NUL; a name left empty cannot be written at all.
    assume(all(name.split("\x00")[0].strip("/") for name, _ in members))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, payload in members:
            archive.writestr(name, payload)
    result = read_with(reader, "upload.zip", buffer.getvalue())
    if isinstance(result, ImageDataset):
        assert len(result) >= 1
        for name, reason in result.skipped:
            assert isinstance(name, str) and reason


def test_wrong_extension_is_read_by_content():
    png = valid_image(3)
    result = read("x.zip", zip_bytes({"a/photo.jpg": png, "b/photo.gif": png}))
    assert result is not None and len(result) == 2 and result.skipped == []


def test_decompression_bomb_single_and_in_zip():
    bomb = fake_png_header(50_000, 50_000)
    with pytest.raises(InputError, match="too large"):
        read_upload("bomb.png", bomb)
    result = read("x.zip", zip_bytes({"a/bomb.png": bomb, "a/ok.png": valid_image(1)}))
    assert result is not None and len(result) == 1
    assert result.skipped[0][0] == "a/bomb.png" and "too large" in result.skipped[0][1]


def test_hundred_thousand_tiny_members():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for i in range(100_000):
            archive.writestr(f"a/{i}.png", b"")
    with pytest.raises(InputError, match="100,000 files"):
        read_upload("many.zip", buffer.getvalue())


def test_zip_bomb_by_declared_size(monkeypatch):
    # The real limit is 1 GiB; a 1 MiB limit keeps the test's own memory small.
    monkeypatch.setattr("mml7.uploads.MAX_UNCOMPRESSED_BYTES", 2**20)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a/zeros.png", bytes(2**21))  # 2 MiB of zeros, 2 kB deflated
    assert len(buffer.getvalue()) < 10_000
    with pytest.raises(InputError, match=r"unpacks to 2.0 MiB; at most 1.0 MiB is accepted"):
        read_upload("bomb.zip", buffer.getvalue())


def test_traversal_members_are_skipped_not_written():
    png = valid_image(2)
    result = read("x.zip", zip_bytes({"../evil.png": png, "/abs.png": png, "a/ok.png": png}))
    assert result is not None and len(result) == 1
    assert {name for name, _ in result.skipped} == {"../evil.png", "/abs.png"}


def test_one_class_and_empty_zip():
    assert read("one.zip", zip_bytes({"a/1.png": valid_image(1)}), min_classes=2) is None
    assert read("empty.zip", zip_bytes({})) is None


# ------------------------------------------------------------- every cap before decoding


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any image's pixels are decoded."""
    from PIL import ImageFile

    def refuse(self):
        raise AssertionError(f"a {self.size} image was decoded")

    monkeypatch.setattr(Image.Image, "load", refuse)
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def zip_readers_refuse(payloads: dict[str, bytes], message: str) -> None:
    """The class-zip, gallery and segmentation readers all refuse with ``message``; the
    image-only readers say the upload is a zip."""
    for reader, payload in payloads.items():
        with pytest.raises(InputError, match=message):
            READERS[reader]("upload.zip", payload)
    for reader in ("read_image", "prepare_query"):
        with pytest.raises(InputError, match="'upload.zip' is a zip archive; this takes one"):
            READERS[reader]("upload.zip", next(iter(payloads.values())))


def test_member_over_the_per_file_cap_is_never_unpacked(monkeypatch, no_decoding):
    monkeypatch.setattr("mml7.uploads.MAX_MEMBER_BYTES", 2**20)
    bomb = bytes(2**21)  # 2 MiB of zeros, 2 kB deflated
    classes = zip_bytes({"a/zeros.png": bomb, "b/zeros.png": bomb})
    pairs = zip_bytes({"images/a.png": bomb, "masks/a.png": bomb})
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: pytest.fail("unpacked"))
    unpacks = r"file too large: it unpacks to 2.0 MiB; at most 1.0 MiB per file is accepted"
    zip_readers_refuse(
        {"read_upload": classes, "read_gallery_upload": classes},
        f"no readable image in a class folder \\(a/zeros.png: {unpacks}",
    )
    zip_readers_refuse({"read_segmentation_upload": pairs}, f"image 'images/a.png': {unpacks}")


def test_member_count_is_read_from_the_directory_signatures(monkeypatch):
    monkeypatch.setattr("mml7.uploads.MAX_MEMBERS", 20)
    many = zip_bytes({f"images/{i}.png": b"" for i in range(30)})
    # The directory is never parsed into ZipInfo objects.
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", lambda self: pytest.fail("parsed"))
    zip_readers_refuse(
        dict.fromkeys(["read_upload", "read_gallery_upload", "read_segmentation_upload"], many),
        "'upload.zip' has 30 files; at most 20 are accepted",
    )


def test_pixel_cap_from_the_header_in_every_reader(no_decoding):
    huge = fake_png_header(8000, 5001)  # 40,008,000 pixels claimed, none stored
    cap = "image is 8000 x 5001 pixels; at most 40,000,000 pixels are accepted"
    for reader in ("read_upload", "read_image", "prepare_query", "read_gallery_upload"):
        with pytest.raises(InputError, match=f"'big.png' is too large to read: {cap}"):
            READERS[reader]("big.png", huge)
    classes = zip_bytes({"a/big.png": huge})
    pairs = zip_bytes({"images/a.png": huge, "masks/a.png": huge})
    zip_readers_refuse({"read_upload": classes, "read_gallery_upload": classes}, cap)
    zip_readers_refuse({"read_segmentation_upload": pairs}, f"image 'images/a.png': {cap}")


def test_memory_budget_refuses_a_full_size_read_before_decoding(no_decoding):
    big = fake_png_header(6000, 4000)  # under the pixel cap; 288 MB as float32 RGB
    budget = r"read at 6000 x 4000 px takes 274.7 MiB of memory; at most 192.0 MiB"
    with pytest.raises(InputError, match=f"'big.png' is too large to read: .*{budget}"):
        read_image("big.png", big)
    with pytest.raises(InputError, match=budget):
        read_upload("big.png", big, image_size=None)
    pairs = zip_bytes({"images/a.png": big, "masks/a.png": big})
    with pytest.raises(InputError, match=f"image 'images/a.png': .*{budget}"):
        segmentation.read_segmentation_upload("set.zip", pairs, image_size=None)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_large_images_wanted_small_are_decoded_small(fmt, monkeypatch):
    """A 1600 x 1200 image wanted at 16 px: a JPEG is decoded at 1/8 size, a PNG is
    reduced in 8 bit, and no float array larger than the result is made."""
    from PIL import JpegImagePlugin

    from mml7 import uploads

    loaded, floats = [], []
    real_load, real_float = JpegImagePlugin.JpegImageFile.load, uploads._to_float
    monkeypatch.setattr(
        JpegImagePlugin.JpegImageFile,
        "load",
        lambda self: loaded.append(self.size) or real_load(self),
    )
    monkeypatch.setattr(uploads, "_to_float", lambda im: floats.append(im.size) or real_float(im))
    rng = np.random.default_rng(0)
    photo = png_bytes(rng.integers(0, 256, (1200, 1600, 3), dtype=np.uint8), fmt=fmt)
    assert read_image("photo", photo, max_side=16).shape == (12, 16, 3)
    assert similarity.prepare_query("photo", photo, np.zeros((1, 16, 16, 1))).shape == (
        1,
        16,
        16,
        1,
    )
    assert floats == [(16, 12), (16, 16)]
    if fmt == "JPEG":
        assert set(loaded) == {(200, 150)}  # 1600 x 1200 at 1/8
