"""Loaders: shapes, dtypes, ranges, determinism."""

import numpy as np
import pytest

from mml7 import data
from mml7.errors import DatasetUnavailable


def check_images(images: np.ndarray, shape_tail: tuple[int, ...]) -> None:
    assert images.dtype == np.float32
    assert images.shape[1:] == shape_tail
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_digits():
    ds = data.digits()
    check_images(ds.images, (8, 8, 1))
    assert len(ds) == 1797 and ds.num_classes == 10
    assert ds.images.max() == 1.0  # 16 -> 1.0
    assert ds.labels.dtype == np.int64 and set(ds.labels) == set(range(10))


def test_lfw_faces():
    ds = data.lfw_faces()
    check_images(ds.images, (25, 25, 1))
    assert ds.class_names == ["non-face", "face"]
    np.testing.assert_array_equal(ds.images_per_class(), [100, 100])
    assert ds.labels[0] == 1 and ds.labels[-1] == 0


def test_sample_photos():
    photos = data.sample_photos()
    assert {"china", "flower", "chelsea", "astronaut", "coffee", "camera"} <= set(photos)
    for image in photos.values():
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.float32
        assert 0.0 <= image.min() and image.max() <= 1.0
    # camera is grey: its three channels are equal.
    np.testing.assert_array_equal(photos["camera"][..., 0], photos["camera"][..., 2])


def test_fashion_mnist(fashion_available):
    test = data.fashion_mnist("test")
    check_images(test.images, (28, 28, 1))
    assert len(test) == 10_000 and test.num_classes == 10
    np.testing.assert_array_equal(test.images_per_class(), [1000] * 10)
    small = data.fashion_mnist("train", limit=50)
    assert len(small) == 50
    np.testing.assert_array_equal(small.images, data.fashion_mnist("train", limit=50).images)


def test_fashion_mnist_bad_split():
    with pytest.raises(ValueError, match="'train', 'test'; got 'validation'"):
        data.fashion_mnist("validation")


def test_fashion_mnist_unavailable(monkeypatch, tmp_path):
    """No Debian folder, an empty Keras home and no network: a clear DatasetUnavailable."""
    monkeypatch.setenv("MML7_FASHION_MNIST_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    data._fashion_mnist_uint8.cache_clear()

    def offline(*args, **kwargs):
        raise OSError("no network")

    import keras

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    try:
        assert data.fashion_mnist_location() is None
        with pytest.raises(DatasetUnavailable, match="apt-get install dataset-fashion-mnist"):
            data.fashion_mnist("test")
    finally:
        data._fashion_mnist_uint8.cache_clear()


def test_per_class_subset():
    ds = data.lfw_faces().per_class(7, seed=3)
    np.testing.assert_array_equal(ds.images_per_class(), [7, 7])
    again = data.lfw_faces().per_class(7, seed=3)
    np.testing.assert_array_equal(ds.images, again.images)


@pytest.mark.parametrize("size", [32, 64])
def test_shapes_segmentation(size):
    ds = data.make_shapes_segmentation(12, image_size=size, seed=5)
    check_images(ds.images, (size, size, 3))
    assert ds.masks.shape == (12, size, size) and ds.masks.dtype == np.uint8
    assert ds.class_names == ["background", "disc", "square", "triangle"]
    assert set(np.unique(ds.masks)) <= {0, 1, 2, 3}
    assert len(np.unique(ds.masks)) >= 3  # shapes of several classes appear
    again = data.make_shapes_segmentation(12, image_size=size, seed=5)
    np.testing.assert_array_equal(ds.images, again.images)
    np.testing.assert_array_equal(ds.masks, again.masks)
    other = data.make_shapes_segmentation(12, image_size=size, seed=6)
    assert not np.array_equal(ds.masks, other.masks)


def test_shapes_mask_is_exact():
    """Inside each shape the colour is flat (up to shading); the mask marks exactly it."""
    ds = data.make_shapes_segmentation(1, image_size=64, seed=1)
    # The background texture never equals a shape pixel exactly where the mask is 0, so
    # mask edges are where the image changes abruptly: every mask-boundary pixel pair
    # differs in colour.
    mask, image = ds.masks[0], ds.images[0]
    horizontal = mask[:, 1:] != mask[:, :-1]
    jumps = np.abs(image[:, 1:] - image[:, :-1]).sum(-1)
    assert jumps[horizontal].mean() > 5 * jumps[~horizontal].mean()


def test_thin_segmentation_is_thin_and_deterministic():
    ds = data.make_thin_segmentation(20, image_size=64, seed=3)
    check_images(ds.images, (64, 64, 3))
    assert ds.class_names == ["background", "line", "ring"]
    assert set(np.unique(ds.masks)) == {0, 1, 2}
    # Every structure is 1-2 px wide: a 3x3 block fits inside one only where two cross.
    from scipy import ndimage

    for label in (1, 2):
        on = ds.masks == label
        eroded = ndimage.binary_erosion(on, np.ones((1, 3, 3), bool))
        assert eroded.sum() < 0.02 * on.sum(), label
    share = (ds.masks > 0).mean()
    assert 0.03 < share < 0.2  # thin: a small share of the pixels, but never none
    again = data.make_thin_segmentation(20, image_size=64, seed=3)
    np.testing.assert_array_equal(ds.images, again.images)
    np.testing.assert_array_equal(ds.masks, again.masks)
    with pytest.raises(ValueError, match="image_size"):
        data.make_thin_segmentation(3, image_size=8)


def test_fashion_composites(fashion_available):
    ds = data.make_fashion_composites(10, image_size=64, seed=0)
    check_images(ds.images, (64, 64, 1))
    assert ds.masks.shape == (10, 64, 64)
    assert ds.class_names[0] == "background" and len(ds.class_names) == 11
    # Where the mask says background, the canvas is black; where it names an item, not.
    assert ds.images[..., 0][ds.masks == 0].max() == 0.0
    assert ds.images[..., 0][ds.masks > 0].min() > 0.1
    again = data.make_fashion_composites(10, image_size=64, seed=0)
    np.testing.assert_array_equal(ds.masks, again.masks)


def test_segmentation_bad_arguments():
    with pytest.raises(ValueError, match="image_size"):
        data.make_shapes_segmentation(3, image_size=8)
