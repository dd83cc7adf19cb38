"""Rank-k SVD of images: exactness against NumPy, error and storage formulas."""

import numpy as np
import pytest

from mml7 import InputError, svd


@pytest.fixture
def photo():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:30] / 30.0
    smooth = np.stack([np.sin(3 * xx + c) * np.cos(2 * yy - c) for c in range(3)], axis=-1)
    return (0.5 + 0.4 * smooth + 0.05 * rng.normal(size=(40, 30, 3))).astype(np.float64)


@pytest.mark.parametrize("k", [1, 2, 10, 30])
def test_relative_error_is_dropped_singular_values(photo, k):
    """||X - X_k|| / ||X|| = sqrt(sum of dropped s_i^2) / ||X|| (Eckart-Young), per channel."""
    grey = photo[..., 0]
    approximation = svd.low_rank_approximation(grey, k, method="full")
    s = np.linalg.svd(grey, compute_uv=False)
    expected = np.sqrt(np.sum(s[k:] ** 2)) / np.linalg.norm(grey)
    assert svd.relative_error(grey, approximation) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("method", ["full", "randomized", "auto"])
def test_matches_numpy_full_svd_per_channel(photo, method):
    k = 5
    approximation = svd.low_rank_approximation(photo, k, method=method)
    assert approximation.shape == photo.shape and approximation.dtype == np.float32
    for c in range(3):
        u, s, vt = np.linalg.svd(photo[..., c])
        reference = (u[:, :k] * s[:k]) @ vt[:k]
        # The randomised SVD is approximate where the spectrum is flat (this noise).
        tolerance = 2e-3 if method == "randomized" else 1e-5
        np.testing.assert_allclose(approximation[..., c], reference, atol=tolerance)


def test_full_rank_reproduces_the_image_and_rank_is_k(photo):
    grey = photo[..., 1]
    np.testing.assert_allclose(svd.low_rank_approximation(grey, 30), grey, atol=1e-5)
    rank_three = svd.low_rank_approximation(grey, 3).astype(np.float64)
    assert np.linalg.matrix_rank(rank_three, tol=1e-4) == 3  # float32 rounding is ~1e-7


def test_hand_typed_rank_one():
    image = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])  # already rank 1
    np.testing.assert_allclose(svd.low_rank_approximation(image, 1), image, atol=1e-6)
    assert svd.relative_error(image, image) == 0.0
    # [[3, 0], [0, 1]] keeps only the 3 at rank 1: error 1 / sqrt(10).
    diagonal = np.array([[3.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(svd.low_rank_approximation(diagonal, 1), [[3, 0], [0, 0]])
    assert svd.relative_error(diagonal, [[3, 0], [0, 0]]) == pytest.approx(1 / np.sqrt(10))


@pytest.mark.parametrize(
    ("h", "w", "k", "expected"),
    [(475, 620, 50, 50 * 1096 / 294500), (2, 2, 1, 5 / 4), (10, 10, 0, 0.0)],
)
def test_storage_ratio(h, w, k, expected):
    assert svd.storage_ratio(h, w, k) == pytest.approx(expected)


def test_randomized_matches_full_on_a_large_image():
    rng = np.random.default_rng(1)
    # Fast-decaying spectrum like a photo: low rank plus a little noise.
    image = rng.normal(size=(600, 20)) @ rng.normal(size=(20, 700)) + 0.01 * rng.normal(
        size=(600, 700)
    )
    assert svd.choose_method(600, 700, 10) == "randomized"
    assert svd.choose_method(600, 700, 200) == "full"
    fast = svd.low_rank_approximation(image, 10, method="auto")
    exact = svd.low_rank_approximation(image, 10, method="full")
    assert svd.relative_error(exact, fast) < 1e-4


def test_spectrum_and_cumulative_energy(photo):
    values = svd.singular_values(photo)
    assert values.shape == (3, 30)
    assert np.all(np.diff(values, axis=1) <= 1e-9)
    energy = svd.cumulative_energy(values)
    assert energy[-1] == pytest.approx(1.0)
    assert np.all(np.diff(energy) >= 0)
    # Energy of the top k equals 1 - relative_error(k)^2.
    approx = svd.low_rank_approximation(photo, 4, method="full")
    assert energy[3] == pytest.approx(1 - svd.relative_error(photo, approx) ** 2, abs=1e-6)
    top = svd.singular_values(photo, max_values=4)
    np.testing.assert_allclose(svd.cumulative_energy(top, image=photo), energy[:4], atol=1e-9)


@pytest.mark.parametrize("k", [0, 31, 2.5, "3"])
def test_bad_k_is_an_input_error(photo, k):
    with pytest.raises(InputError, match="k must be"):
        svd.low_rank_approximation(photo, k)


def test_bad_images_are_input_errors():
    with pytest.raises(InputError, match="shaped"):
        svd.low_rank_approximation(np.zeros((2, 2, 2, 2)), 1)
    with pytest.raises(InputError, match="finite"):
        svd.low_rank_approximation(np.array([[np.nan, 1.0], [0.0, 1.0]]), 1)
    with pytest.raises(ValueError, match="method must be"):
        svd.low_rank_approximation(np.eye(3), 1, method="qr")


def test_fit_within_shrinks_only_large_images():
    small = np.zeros((30, 20, 3), dtype=np.float32)
    np.testing.assert_array_equal(svd.fit_within(small, 40), small)
    large = np.full((100, 50, 1), 0.25, dtype=np.float32)
    shrunk = svd.fit_within(large, 40)
    assert shrunk.shape == (40, 20, 1)
    np.testing.assert_allclose(shrunk, 0.25, atol=1e-6)


@pytest.mark.parametrize("method", ["full", "randomized"])
def test_several_ranks_from_one_decomposition(photo, method):
    series = svd.low_rank_approximations(photo, [10, 2, 2, 5], method=method)
    assert list(series) == [2, 5, 10]
    for k, approximation in series.items():
        expected = svd.low_rank_approximation(photo, k, method="full")
        np.testing.assert_allclose(approximation, expected, atol=2e-3 if method != "full" else 1e-5)


def test_energy_kept_is_the_cumulative_energy_at_k():
    image = np.random.default_rng(0).random((20, 30, 3)).astype(np.float32)
    energy = svd.cumulative_energy(svd.singular_values(image))
    for k in (1, 5, 20):
        kept = svd.energy_kept(image, svd.low_rank_approximation(image, k))
        assert kept == pytest.approx(energy[k - 1], abs=1e-5)


def test_decompose_once_reconstruct_any_rank():
    rng = np.random.default_rng(3)
    image = rng.random((40, 30, 3)).astype(np.float32)
    factors = svd.decompose(image, 12)
    assert [u.shape for u, _, _ in factors] == [(40, 12)] * 3
    for k in (1, 5, 12):
        np.testing.assert_allclose(
            svd.reconstruct(factors, k, image.shape),
            svd.low_rank_approximation(image, k),
            atol=1e-4,
        )
    with pytest.raises(InputError, match="k must be from 1 to 12"):
        svd.reconstruct(factors, 13, image.shape)
