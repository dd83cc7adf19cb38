"""Hostile uploads: every user-file reader answers with InputError or a data set with
`skipped` entries - never another exception, never a file written to disk."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mml7 import InputError
from mml7.data import ImageDataset, read_upload
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


def valid_image(seed: int, fmt: str = "PNG") -> bytes:
    rng = np.random.default_rng(seed)
    height, width = rng.integers(1, 40, size=2)
    return png_bytes(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), fmt=fmt)


@SETTINGS
@given(payload=st.binary(max_size=4096), name=st.sampled_from(["a.png", "b.zip", "c", "d.jpg"]))
def test_random_bytes(payload, name):
    read(name, payload)


@SETTINGS
@given(
    seed=st.integers(0, 10_000),
    fmt=st.sampled_from(["PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"]),
    cut=st.floats(0.0, 1.0),
)
def test_truncated_images(seed, fmt, cut):
    image = valid_image(seed, fmt)
    read(f"x.{fmt.lower()}", image[: int(len(image) * cut)])


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
)


@pytest.mark.filterwarnings("ignore:Duplicate name")
@SETTINGS
@given(members=st.lists(st.tuples(member_names, member_payloads), max_size=12))
def test_random_zips(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, payload in members:
            archive.writestr(name, payload)
    result = read("upload.zip", buffer.getvalue(), min_classes=0)
    if result is not None:
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
