"""Typed 4x4 inputs: what parse_matrix accepts, and what it says about the rest."""

import numpy as np
import pytest

from mml7 import InputError, unpooling

NEED = "need 4 rows of 4 numbers, e.g. 1 2 3 4 on each line."


def test_parse_matrix_reads_rows_commas_and_negatives():
    x = unpooling.parse_matrix(" -1 2,3 4\n\n5 6 7 8\n9 10 11 12\n13 14 15 -0.5 ")
    assert x.dtype == np.float32 and x.shape == (4, 4)
    assert x[0].tolist() == [-1, 2, 3, 4] and x[3, 3] == -0.5


@pytest.mark.parametrize(
    "text, got",
    [
        ("1 2 3\n4 5 6", "got 2 rows of 3 numbers"),
        ("", "got nothing"),
        ("1 2 3 4\n" * 3 + "1 2 3", "got 4 rows (of 4, 4, 4, 3 numbers)"),
        ("1 2 3 4\n" * 5, "got 5 rows of 4 numbers"),
        ("7", "got 1 row of 1 number"),
        ("1 2 x 4\n" * 4, "'x' is not a number"),
        ("1e40 1 1 1\n" * 4, "too large for float32 or not finite"),
        ("nan 1 1 1\n" * 4, "not finite"),
    ],
)
def test_parse_matrix_says_what_it_got_and_what_it_needs(text, got):
    with pytest.raises(InputError) as caught:
        unpooling.parse_matrix(text)
    assert got in str(caught.value) and str(caught.value).endswith(NEED)
