import doctest

import numpy as np
import pytest

from mml7 import batches
from mml7.batches import Batches


def test_every_row_once_an_epoch_in_a_new_seeded_order():
    inputs = np.arange(10, dtype=np.uint8).reshape(10, 1)
    masks = np.arange(10, dtype=np.int64) * 2
    feed = Batches(inputs, masks, batch_size=4, seed=3, target_dtype=np.int32)
    assert len(feed) == 3

    def epoch():
        cut = [feed[i] for i in range(len(feed))]
        assert [len(x) for x, _ in cut] == [4, 4, 2]
        for x, y in cut:
            assert x.dtype == np.float32 and y.dtype == np.int32
            np.testing.assert_array_equal(y, 2 * x[:, 0])  # rows stay paired
        return np.concatenate([x[:, 0] for x, _ in cut])

    first = epoch()
    assert sorted(first) == list(range(10))
    feed.on_epoch_end()
    second = epoch()
    assert sorted(second) == list(range(10)) and not np.array_equal(first, second)
    again = Batches(inputs, masks, batch_size=4, seed=3)
    np.testing.assert_array_equal(np.concatenate([again[i][0][:, 0] for i in range(3)]), first)
    with pytest.raises(IndexError):
        feed[3]


def test_without_targets_a_batch_is_its_own_target():
    images = np.random.default_rng(0).random((5, 2, 2, 1)).astype(np.float32)
    x, y = Batches(images, None, batch_size=8)[0]
    assert x is y and sorted(x.ravel()) == sorted(images.ravel())


def test_mismatched_lengths_and_the_docstring_example():
    with pytest.raises(ValueError, match="5 inputs but 4 targets"):
        Batches(np.zeros((5, 1)), np.zeros(4), 2)
    result = doctest.testmod(batches)
    assert result.attempted >= 2 and result.failed == 0
