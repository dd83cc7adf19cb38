"""read_upload: every accepted form, every skip and every rejection, messages checked."""

import io

import numpy as np
import pytest
from PIL import Image

from mml7 import InputError
from mml7.data import read_upload
from tests.helpers import fake_png_header, png_bytes, zip_bytes


def grey(h=10, w=12, value=128):
    return np.full((h, w), value, dtype=np.uint8)


def test_single_image(rgb_png):
    ds = read_upload("cat.png", rgb_png, image_size=16)
    assert ds.images.shape == (1, 16, 16, 3) and ds.images.dtype == np.float32
    assert ds.class_names == ["cat"] and ds.labels.tolist() == [0]


def test_single_image_keeps_size_when_asked(rgb_png):
    ds = read_upload("cat.png", rgb_png, image_size=None)
    assert ds.images.shape == (1, 20, 30, 3)


def test_single_image_where_classes_needed(rgb_png):
    with pytest.raises(InputError, match="single image.*at least 2 classes"):
        read_upload("cat.png", rgb_png, min_classes=2)


def test_class_folders_with_mixed_modes():
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[..., 0] = 255  # red, fully transparent: shown as white
    sixteen = np.full((6, 6), 65535, dtype=np.uint16)
    paletted = Image.new("P", (9, 9), 1)
    paletted.putpalette([0, 0, 0, 200, 200, 200])  # index 1 is grey 200
    buffer = io.BytesIO()
    paletted.save(buffer, format="GIF")
    members = {
        "cats/a.png": png_bytes(grey()),
        "cats/b.png": png_bytes(rgba),
        "dogs/c.png": png_bytes(sixteen),
        "dogs/d.gif": buffer.getvalue(),
        "dogs/e.jpg": png_bytes(np.zeros((30, 40, 3), dtype=np.uint8), fmt="JPEG"),
    }
    ds = read_upload("pets.zip", zip_bytes(members), image_size=(8, 10))
    assert ds.images.shape == (5, 8, 10, 3)
    assert ds.class_names == ["cats", "dogs"]
    assert ds.labels.tolist() == [0, 0, 1, 1, 1]
    np.testing.assert_allclose(ds.images[0], 128 / 255, atol=1e-6)  # grey -> RGB
    np.testing.assert_allclose(ds.images[1], 1.0)  # transparent -> white
    np.testing.assert_allclose(ds.images[2], 1.0)  # 16-bit full scale -> 1.0
    np.testing.assert_allclose(ds.images[3], 200 / 255, atol=1e-6)  # palette
    assert ds.skipped == []


def test_grey_channels():
    ds = read_upload(
        "x.zip",
        zip_bytes({"a/1.png": png_bytes(grey()), "b/2.png": png_bytes(grey())}),
        image_size=4,
        channels=1,
    )
    assert ds.images.shape == (2, 4, 4, 1)


def test_wrapping_folder_is_stripped():
    members = {"pets/cats/1.png": png_bytes(grey()), "pets/dogs/2.png": png_bytes(grey())}
    ds = read_upload("pets.zip", zip_bytes(members), image_size=4)
    assert ds.class_names == ["cats", "dogs"]


def test_skips_with_reasons():
    good = png_bytes(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8))
    members = {
        "cats/good.png": good,
        "dogs/good.png": good,
        "cats/truncated.png": good[: len(good) // 2],
        "cats/notes.txt": b"hello",
        "cats/fake.png": b"this is not a png",
        "../escape.png": good,
        "/etc/abs.png": good,
        "loose.png": good,
        "dogs/inner.zip": zip_bytes({"a/b.png": good}),
        "dogs/huge.png": fake_png_header(50_000, 50_000),
        "__MACOSX/cats/._good.png": b"metadata",
        "cats/.DS_Store": b"metadata",
    }
    ds = read_upload("mixed.zip", zip_bytes(members), image_size=8)
    assert len(ds) == 2 and ds.class_names == ["cats", "dogs"]
    reasons = dict(ds.skipped)
    assert "damaged or truncated" in reasons["cats/truncated.png"]
    assert "not an image file (.txt)" in reasons["cats/notes.txt"]
    assert "not an image Pillow can read" in reasons["cats/fake.png"]
    assert "unsafe path" in reasons["../escape.png"]
    assert "unsafe path" in reasons["/etc/abs.png"]
    assert "not inside a class folder" in reasons["loose.png"]
    assert "nested zip" in reasons["dogs/inner.zip"]
    assert "too large" in reasons["dogs/huge.png"]
    assert not any("MACOSX" in name or "DS_Store" in name for name in reasons)


@pytest.mark.parametrize(
    ("filename", "payload", "message"),
    [
        ("empty.png", b"", "is empty"),
        ("noise.bin", bytes(range(256)) * 4, "neither a zip of class folders nor a readable image"),
        ("photo.jpg", b"\xff\xd8\xff\xe0 truncated jpeg", "neither a zip"),
        ("bomb.png", fake_png_header(50_000, 50_000), "too large"),
        ("empty.zip", zip_bytes({}), "no readable image"),
        ("broken.zip", b"PK\x03\x04 cut short", "not a readable zip archive"),
        ("junk.zip", zip_bytes({"a/readme.txt": b"x"}), "no readable image"),
    ],
)
def test_rejections(filename, payload, message):
    with pytest.raises(InputError, match=message):
        read_upload(filename, payload)


def test_one_class_where_two_needed():
    archive = zip_bytes({"cats/1.png": png_bytes(grey()), "cats/2.png": png_bytes(grey())})
    with pytest.raises(InputError, match=r"1 class folder\(s\).*cats.*at least 2"):
        read_upload("cats.zip", archive, min_classes=2)
    assert len(read_upload("cats.zip", archive)) == 2  # fine where no classes are needed


def test_too_many_members():
    archive = zip_bytes({f"a/{i}.png": b"" for i in range(30)})
    with pytest.raises(InputError, match="has 30 files; at most 20"):
        read_upload("many.zip", archive, max_members=20)


def test_too_many_decoded_bytes_refused_before_decoding(monkeypatch):
    archive = zip_bytes({f"a/{i}.png": png_bytes(grey(50, 50)) for i in range(5)})
    # Each image is 50 x 50 x 3 float32 = 30,000 bytes; five do not fit in 100,000.
    with pytest.raises(InputError, match=r"has 5 images; read at 50 x 50 px.*upload at most 3"):
        read_upload("big.zip", archive, image_size=None, max_decoded_bytes=100_000)
    # With the size known, the zip is refused from its directory, before any decoding.
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded"))
    with pytest.raises(InputError, match=r"read at 50 x 40 px.*at most 97.7 KiB"):
        read_upload("big.zip", archive, image_size=(40, 50), max_decoded_bytes=100_000)


def test_bad_arguments(rgb_png):
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        read_upload("a.png", rgb_png, channels=2)
    with pytest.raises(ValueError, match="image_size"):
        read_upload("a.png", rgb_png, image_size=0)


def test_read_image_speaks_of_images(rgb_png):
    from mml7.uploads import read_image

    image = read_image("cat.png", rgb_png)
    assert image.shape == (20, 30, 3) and image.dtype == np.float32
    assert read_image("cat.png", rgb_png, channels=1, max_side=15).shape == (10, 15, 1)
    with pytest.raises(InputError, match="is a zip archive; this takes one image"):
        read_image("photos.zip", zip_bytes({"a/1.png": rgb_png}))
    with pytest.raises(InputError, match="not a readable image"):
        read_image("notes.png", b"not an image at all")
    with pytest.raises(InputError, match="is empty"):
        read_image("empty.png", b"")
