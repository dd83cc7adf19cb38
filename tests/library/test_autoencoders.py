"""Autoencoders: shapes, linear AE = PCA on small data, noise, PSNR, morphing, shipped weights."""

import itertools

import numpy as np
import pytest

from mml7 import InputError, data
from mml7 import autoencoders as ae


@pytest.fixture(scope="module")
def tiny_images():
    rng = np.random.default_rng(0)
    return rng.random((6, 8, 8, 1)).astype(np.float32)


@pytest.mark.backends
@pytest.mark.parametrize(("kind", "code_size"), [("linear", 3), ("conv", 2), ("denoising", 5)])
def test_build_shapes_and_shared_layers(kind, code_size, tiny_images):
    model = ae.build_autoencoder(kind, code_size, input_shape=(8, 8, 1))
    codes = model.encode(tiny_images)
    assert codes.shape == (6, code_size)
    decoded = model.decode(codes)
    assert decoded.shape == tiny_images.shape
    # The autoencoder is decoder(encoder(x)) with the same layers, not a copy.
    np.testing.assert_allclose(model.reconstruct(tiny_images), decoded, atol=1e-5)
    if kind != "linear":
        assert decoded.min() >= 0 and decoded.max() <= 1  # sigmoid output


def test_bad_arguments():
    with pytest.raises(ValueError, match="kind must be one of"):
        ae.build_autoencoder("sparse", 2)
    with pytest.raises(ValueError, match="code_size must be between"):
        ae.build_linear_autoencoder((4, 4, 1), 17)
    with pytest.raises(ValueError, match="divisible by 4"):
        ae.build_conv_autoencoder((25, 25, 1), 4)


def structured_data(n=600, seed=0):
    """4x4 images: a 3-D signal with decaying variances plus isotropic noise."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(16, 16)))[0][:, :3].T  # orthonormal rows
    signal = (rng.normal(size=(n, 3)) * np.array([0.3, 0.2, 0.1])) @ basis
    flat = 0.5 + signal + 0.03 * rng.normal(size=(n, 16))
    return flat.reshape(n, 4, 4, 1).astype(np.float32)


def test_linear_autoencoder_matches_pca_on_small_data():
    images = structured_data()
    pca = ae.fit_pca(images, max_k=3)
    model = ae.build_linear_autoencoder((4, 4, 1), 3, data_mean=images.mean(0))
    ae.train_autoencoder(model, images, epochs=150, batch_size=64, learning_rate=1e-2)
    pca_mse = ae.mse(images, pca.reconstruct(images, 3))
    model_mse = ae.mse(images, model.reconstruct(images))
    assert model_mse <= 1.02 * pca_mse
    # Same subspace: every principal angle is small.
    assert ae.principal_angles_to_pca(model, pca).max() < 2.0


def test_pca_matches_scikit_learn():
    from sklearn.decomposition import PCA as SklearnPCA

    images = structured_data(200, seed=1)
    flat = images.reshape(200, -1).astype(np.float64)
    reference = SklearnPCA(4).fit(flat)
    ours = ae.fit_pca(images, max_k=4)
    np.testing.assert_allclose(ours.explained_variance, reference.explained_variance_, rtol=1e-6)
    expected = reference.inverse_transform(reference.transform(flat)).reshape(images.shape)
    np.testing.assert_allclose(ours.reconstruct(images, 4), expected, atol=1e-5)


def test_mse_in_chunks_hand_computed():
    from mml7.autoencoders.pca import mse_of

    images = np.zeros((5, 2, 1, 1), np.float32)
    images[4] = 1.0  # one image of five is all ones: 2 of 10 pixels differ from 0 by 1
    assert ae.mse(images, np.zeros_like(images), chunk=2) == pytest.approx(0.2)
    assert ae.mse(images, np.float32(0.5), chunk=3) == pytest.approx(0.25)  # broadcast
    assert ae.mse(np.float32(3.0), np.float32(1.0)) == 4.0
    seen = []

    def halve(batch):
        seen.append(len(batch))
        return batch / 2

    assert mse_of(halve, images, chunk=2) == pytest.approx(0.2 * 0.25)
    assert seen == [2, 2, 1]


def test_psnr_hand_computed():
    clean = np.zeros((2, 2, 2, 1))
    estimate = clean.copy()
    estimate[0] += 0.1  # MSE 0.01 -> 20 dB
    estimate[1, 0, 0, 0] = 1.0  # MSE 1/4 -> 10 log10(4) dB
    np.testing.assert_allclose(ae.psnr(clean, estimate), [20.0, 10 * np.log10(4)])
    assert ae.psnr(clean, clean)[0] == 100.0


@pytest.mark.parametrize("kind", ae.NOISE_KINDS)
def test_noise_kinds(kind):
    images = np.full((20, 8, 8, 1), 0.5, dtype=np.float32)
    np.testing.assert_array_equal(ae.add_noise(images, kind, 0.0), images)
    noisy = ae.add_noise(images, kind, 0.3, seed=1)
    assert noisy.shape == images.shape and noisy.min() >= 0 and noisy.max() <= 1
    changed = np.mean(noisy != images)
    if kind == "gaussian":
        assert changed == 1.0
        assert np.std(noisy - images) == pytest.approx(0.3, rel=0.1)
    else:
        assert changed == pytest.approx(0.3, abs=0.05)
        assert set(np.unique(noisy[noisy != images])) <= {0.0, 1.0}
    np.testing.assert_array_equal(noisy, ae.add_noise(images, kind, 0.3, seed=1))


def test_noise_bad_arguments():
    with pytest.raises(ValueError, match="noise kind must be one of"):
        ae.add_noise(np.zeros((1, 2, 2, 1)), "speckle", 0.1)
    with pytest.raises(InputError, match="out of range"):
        ae.add_noise(np.zeros((1, 2, 2, 1)), "random-mask", 1.5)


@pytest.mark.backends
def test_clipped_gaussian_noise_layer_round_trip(tmp_path):
    import keras

    layer = ae.ClippedGaussianNoise(0.3, seed=2)
    x = np.full((4, 5), 0.9, dtype="float32")
    np.testing.assert_array_equal(layer(x), x)  # inference: identity
    noisy = np.asarray(layer(x, training=True))
    assert noisy.max() <= 1.0 and noisy.min() >= 0.0 and np.any(noisy != x)
    assert ae.ClippedGaussianNoise.from_config(layer.get_config()).stddev == 0.3
    model = keras.Sequential([keras.Input((5,)), layer])
    model.save(tmp_path / "noise.keras")
    loaded = keras.saving.load_model(tmp_path / "noise.keras")
    assert isinstance(loaded.layers[0], ae.ClippedGaussianNoise)
    assert loaded.layers[0].get_config()["stddev"] == 0.3
    with pytest.raises(ValueError, match="stddev"):
        ae.ClippedGaussianNoise(-1.0)


def test_interpolation_and_cross_fade_hand_typed():
    np.testing.assert_allclose(
        ae.interpolate_codes(np.array([0.0, 2.0]), np.array([4.0, 2.0]), 3),
        [[0, 2], [2, 2], [4, 2]],
    )
    fade = ae.cross_fade(np.zeros((1, 1, 1)), np.ones((1, 1, 1)), 5)
    np.testing.assert_allclose(fade.ravel(), [0, 0.25, 0.5, 0.75, 1])
    with pytest.raises(InputError):
        ae.interpolate_codes(np.zeros(2), np.ones(2), 1)


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_morph_endpoints_are_the_reconstructions(kind, tiny_images):
    model = ae.build_autoencoder(kind, 4, input_shape=(8, 8, 1))
    strip = ae.morph(model, tiny_images[0], tiny_images[1], steps=7)
    assert strip.shape == (7, 8, 8, 1)
    ends = model.reconstruct(tiny_images[:2])
    np.testing.assert_allclose(strip[0], ends[0], atol=1e-5)
    np.testing.assert_allclose(strip[-1], ends[1], atol=1e-5)
    if kind == "linear":  # a linear decoder maps the code segment to the pixel segment
        np.testing.assert_allclose(strip[3], (ends[0] + ends[1]) / 2, atol=1e-5)


def test_project_codes():
    rng = np.random.default_rng(0)
    two = rng.normal(size=(30, 2))
    np.testing.assert_array_equal(ae.project_codes(two, "pca", 2), two)
    assert ae.project_codes(two, "pca", 3)[:, 2].tolist() == [0.0] * 30
    codes = rng.normal(size=(30, 6)) * np.array([5, 3, 1, 0.1, 0.1, 0.1])
    projected = ae.project_codes(codes, "pca", 2)
    # PCA keeps the two directions of largest variance.
    assert np.var(projected, axis=0).sum() > 0.95 * np.var(codes, axis=0)[:2].sum()
    assert ae.project_codes(codes, "tsne", 3).shape == (30, 3)
    with pytest.raises(ValueError, match="method"):
        ae.project_codes(codes, "isomap")


def test_tsne_keeps_clusters_apart_and_reports_progress():
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1, 2], 40)
    codes = rng.normal(size=(120, 8)) + 12.0 * np.eye(8)[labels]
    seen = []
    points = ae.project_codes(codes, "tsne", 2, progress=lambda f, m: seen.append(f))
    assert points.shape == (120, 2)
    assert ae.neighbour_agreement(points, labels) == 1.0
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 10


@pytest.mark.backends
def test_training_reports_progress_and_losses(tiny_images):
    model = ae.build_conv_autoencoder((8, 8, 1), 2)
    seen, logs_seen = [], []
    history = ae.train_autoencoder(
        model,
        tiny_images,
        epochs=3,
        batch_size=3,
        validation_images=tiny_images,
        progress=lambda fraction, message: seen.append(fraction),
        on_epoch_end=lambda epoch, logs: logs_seen.append((epoch, logs["loss"])),
    )
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert [epoch for epoch, _ in logs_seen] == [0, 1, 2]
    assert len(history["loss"]) == 3 and len(history["val_loss"]) == 3
    with pytest.raises(InputError):
        ae.train_autoencoder(model, tiny_images[:1], epochs=1)


def test_pretrained_loads_saved_weights(tmp_path, tiny_images):
    model = ae.build_autoencoder("linear", 2)
    model.autoencoder.save_weights(ae.weights_path("linear", 2, folder=tmp_path))
    loaded = ae.pretrained("linear", 2, folder=tmp_path)
    images = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(loaded.reconstruct(images), model.reconstruct(images), atol=1e-6)
    assert loaded.encoder.output_shape == (None, 2)


def test_pretrained_reads_the_weights_folder_of_the_environment(tmp_path, monkeypatch):
    """``MML7_WEIGHTS`` moves every shipped file; ``shipped.save_weights`` (what
    ``train_shipped`` saves with) writes files ``pretrained`` loads."""
    from mml7 import shipped

    monkeypatch.setenv("MML7_WEIGHTS", str(tmp_path))
    model = ae.build_autoencoder("conv", 2)
    path = ae.weights_path("conv", 2)
    assert path.parent == tmp_path
    shipped.save_weights(model.autoencoder, path)
    images = np.random.default_rng(1).random((2, 28, 28, 1)).astype("float32")
    loaded = ae.pretrained("conv", 2)
    np.testing.assert_allclose(loaded.reconstruct(images), model.reconstruct(images), atol=1e-6)
    faces = ae.build_conv_autoencoder((28, 28, 1), ae.FACES_CODE_SIZE)
    shipped.save_weights(faces.autoencoder, tmp_path / ae.FACES_FILE)
    np.testing.assert_allclose(
        ae.pretrained_faces().encode(images), faces.encode(images), atol=1e-6
    )
    assert ae.shipped_summary() == {}


def test_shipped_scores_from_a_record():
    record = {
        "models": {
            "b": {
                "kind": "conv",
                "code_size": 32,
                "test_mse": 0.01,
                "pca_test_mse": 0.02,
                "epochs": 3,
            },
            "a": {
                "kind": "conv",
                "code_size": 2,
                "test_mse": 0.04,
                "pca_test_mse": 0.05,
                "epochs": 1,
            },
            "c": {
                "kind": "linear",
                "code_size": 2,
                "test_mse": 0.05,
                "pca_test_mse": 0.05,
                "epochs": 9,
            },
        }
    }
    table = ae.shipped_scores("conv", record)
    assert table["code size"] == [2, 32] and table["epochs"] == [1, 3]
    assert table["conv / PCA"] == pytest.approx([0.8, 0.5])
    assert ae.shipped_scores("denoising", record)["code size"] == []
    with pytest.raises(InputError, match="kind must be one of"):
        ae.shipped_scores("vae", record)


def test_denoising_robustness_table(tiny_images):
    model = ae.build_autoencoder("conv", 2, input_shape=(8, 8, 1))
    table = ae.denoising_robustness({"model": model}, tiny_images, (0.0, 0.2))
    assert list(table) == ["noise stddev", "noisy input", "model"]
    assert table["noise stddev"] == [0.0, 0.2]
    assert table["noisy input"][0] == 100.0  # no noise: an exact copy
    assert table["noisy input"][1] < 30
    expected = ae.psnr(tiny_images, model.reconstruct(tiny_images)).mean()
    assert table["model"][0] == pytest.approx(expected)


def test_train_new_starts_a_linear_model_at_the_mean(tiny_images):
    fresh = ae.build_for_images("linear", 2, tiny_images)
    bias = np.asarray(fresh.decoder.get_layer("pixels").bias)
    np.testing.assert_allclose(bias, tiny_images.mean(0).ravel(), atol=1e-6)
    seen = []
    model = ae.train_new("conv", 2, tiny_images, 2, progress=lambda f, m: seen.append(f))
    assert model.kind == "conv" and model.encoder.input_shape == (None, 8, 8, 1)
    assert seen == pytest.approx([0.5, 1.0])


def test_train_on_fashion_mnist_trains_on_the_first_images_and_scores_on_all_test_images(
    fashion_available,
):
    import keras

    seen = []
    keras.utils.set_random_seed(0)
    model, test_mse = ae.train_on_fashion_mnist(
        "linear", 2, 64, 1, on_epoch_end=lambda e, h: seen.append(e)
    )
    first = data.fashion_mnist("train", 64).images
    keras.utils.set_random_seed(0)
    same = ae.train_new("linear", 2, first, 1)  # the same seed and images: the same model
    assert seen == [0]
    np.testing.assert_allclose(model.reconstruct(first), same.reconstruct(first), atol=1e-5)
    test = data.fashion_mnist("test").images
    assert len(test) == 10_000
    assert test_mse == pytest.approx(ae.mse(test, same.reconstruct(test)), rel=1e-4)


def test_shipped_test_mse_is_the_records_on_the_whole_test_set(fashion_available):
    summary = ae.shipped_summary()
    model = ae.pretrained("linear", 2)
    test = data.fashion_mnist("test").images
    recorded = ae.shipped_test_mse("linear", 2, summary)
    assert recorded == pytest.approx(ae.mse(test, model.reconstruct(test)), rel=1e-4)
    denoiser = summary["models"][ae.weights_path("denoising", 64, 0.5).name]["test_mse"]
    assert ae.shipped_test_mse("denoising", 64, summary, 0.5) == denoiser
    assert ae.shipped_test_mse("conv", 3, summary) is None  # no such model
    assert ae.shipped_test_mse("linear", 2, summary | {"quick": True}) is None  # 1,000 images


def test_lfw_faces_28():
    faces = ae.lfw_faces_28()
    assert faces.shape == (200, 28, 28, 1) and faces.dtype == np.float32
    assert 0.0 <= faces.min() and faces.max() <= 1.0


def test_pretrained_bad_requests(tmp_path):
    with pytest.raises(InputError, match="kind must be"):
        ae.pretrained("vae", 2)
    with pytest.raises(InputError, match="code size 7"):
        ae.pretrained("conv", 7)
    with pytest.raises(InputError, match="noise_stddev"):
        ae.pretrained("denoising", 64, noise_stddev=0.3)
    with pytest.raises(InputError, match="python -m mml7 train autoencoders"):
        ae.pretrained("conv", 32, folder=tmp_path)


# --------------------------------------------------------------------------- shipped weights


@pytest.fixture(scope="module")
def fashion_test(fashion_available):
    from mml7 import data

    return data.fashion_mnist("test").images


@pytest.fixture(scope="module")
def fashion_pca(fashion_available):
    from mml7 import data

    return ae.fit_pca(data.fashion_mnist("train").images, max_k=64)


@pytest.mark.integration
@pytest.mark.parametrize("code_size", ae.SHIPPED_CODE_SIZES["linear"])
def test_shipped_linear_autoencoder_is_within_one_percent_of_pca(
    code_size, fashion_test, fashion_pca
):
    model = ae.pretrained("linear", code_size)
    pca_mse = ae.mse(fashion_test, fashion_pca.reconstruct(fashion_test, code_size))
    model_mse = ae.mse(fashion_test, model.reconstruct(fashion_test))
    assert model_mse <= 1.01 * pca_mse, (model_mse, pca_mse)


# The issue-12 targets for the shipped conv models: test MSE / PCA's at the same k.
CONV_PCA_RATIO_LIMITS = {2: 0.62, 16: 0.45, 32: 0.45, 64: 0.45}
# Denoiser trained at sigma -> least PSNR gain (dB) on test images with noise of that sigma.
DENOISING_GAIN_LIMITS = {0.2: 7.0, 0.5: 10.0}


@pytest.fixture(scope="module")
def conv_test_mse(fashion_test):
    """Test MSE of every shipped conv model, measured now (not read from the record)."""
    return {
        k: ae.mse(fashion_test, ae.pretrained("conv", k).reconstruct(fashion_test))
        for k in ae.SHIPPED_CODE_SIZES["conv"]
    }


@pytest.mark.integration
def test_shipped_conv_autoencoders_beat_pca_by_the_targets(
    conv_test_mse, fashion_test, fashion_pca
):
    for code_size, limit in CONV_PCA_RATIO_LIMITS.items():
        pca_mse = ae.mse(fashion_test, fashion_pca.reconstruct(fashion_test, code_size))
        assert conv_test_mse[code_size] <= limit * pca_mse, (code_size, conv_test_mse, pca_mse)


@pytest.mark.integration
def test_shipped_conv_mse_falls_strictly_with_code_size(conv_test_mse):
    sizes = sorted(conv_test_mse)
    errors = [conv_test_mse[k] for k in sizes]
    assert all(a > b for a, b in itertools.pairwise(errors)), dict(zip(sizes, errors, strict=True))


@pytest.mark.integration
@pytest.mark.parametrize("sigma", ae.SHIPPED_NOISE_STDDEVS)
def test_shipped_denoisers_gain_the_target_psnr_at_their_noise(sigma, fashion_test):
    model = ae.pretrained("denoising", 64, noise_stddev=sigma)
    noisy = ae.add_noise(fashion_test, "gaussian", sigma, seed=0)
    gain = (
        ae.psnr(fashion_test, model.reconstruct(noisy)).mean() - ae.psnr(fashion_test, noisy).mean()
    )
    assert gain >= DENOISING_GAIN_LIMITS[sigma], gain


@pytest.mark.integration
def test_shipped_record_has_one_budget_per_family_and_says_where_it_ran(conv_test_mse):
    record = ae.shipped_summary()
    assert record["seed"] == 0 and not record["quick"] and record["train_images"] == 60_000
    assert record["environment"]["backend"] and record["environment"]["device"]
    assert record["wall_seconds"] > 0
    models = record["models"]
    for kind in ae.KINDS:
        budgets = {m["epochs"] for m in models.values() if m["kind"] == kind}
        assert budgets == {ae.FAMILY_EPOCHS[kind]}, (kind, budgets)
        assert all(m["seconds"] > 0 for m in models.values() if m["kind"] == kind)
    for code_size, measured in conv_test_mse.items():  # the record is of these files
        assert models[f"ae_conv_{code_size}.weights.h5"]["test_mse"] == pytest.approx(
            measured, rel=1e-3
        )


@pytest.mark.integration
def test_shipped_faces_record_scores_held_out_crops_beside_pca():
    faces = ae.shipped_summary()["models"][ae.FACES_FILE]
    train, held = ae.faces_split(faces["split_seed"])
    assert faces["held_out_images"] == len(held) == ae.FACES_HELD_OUT
    assert not set(train) & set(held)
    images = ae.lfw_faces_28()[held]
    measured = ae.mse(images, ae.pretrained_faces().reconstruct(images))
    assert faces["held_out_mse"] == pytest.approx(measured, rel=1e-3)
    assert faces["pca_held_out_mse"] < faces["mean_image_held_out_mse"]


def test_centre_layer_subtracts_a_saved_offset(tmp_path):
    import keras

    layer = ae.Centre(3, offset=[1.0, 2.0, 3.0])
    np.testing.assert_allclose(layer(np.array([[1.0, 1.0, 1.0]], "float32")), [[0, -1, -2]])
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 1
    model = keras.Sequential([keras.Input((3,)), layer])
    model.save(tmp_path / "centre.keras")
    loaded = keras.saving.load_model(tmp_path / "centre.keras")
    np.testing.assert_allclose(loaded.predict(np.zeros((1, 3)), verbose=0), [[-1, -2, -3]])


def test_pretrained_refuses_a_file_of_another_model(tmp_path):
    other = ae.build_autoencoder("conv", 2)
    other.autoencoder.save_weights(ae.weights_path("linear", 2, folder=tmp_path))
    with pytest.raises(InputError, match="does not fit"):
        ae.pretrained("linear", 2, folder=tmp_path)


@pytest.mark.integration
def test_train_shipped_quick_writes_loadable_weights_and_a_record(
    tmp_path, monkeypatch, fashion_available
):
    from mml7 import shipped
    from mml7.autoencoders import weights

    schedule = (("linear", 2, 0.0, 12), ("denoising", 64, 0.2, 12))
    monkeypatch.setattr(weights, "SHIPPED_JOBS", schedule)
    seen = []
    record = ae.train_shipped(tmp_path, quick=True, progress=lambda f, m: seen.append(f))
    assert record == shipped.summary("autoencoders", tmp_path)
    assert record["train_images"] == 2000 and record["wall_seconds"] > 0
    assert record["environment"]["backend"] and record["environment"]["device"]
    assert set(record["models"]) == {
        "ae_linear_2.weights.h5",
        "ae_denoising_64_s20.weights.h5",
        ae.FACES_FILE,
    }
    denoiser = record["models"]["ae_denoising_64_s20.weights.h5"]
    assert denoiser["epochs"] == 1 and {"psnr_noisy", "psnr_denoised"} <= set(denoiser)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert ae.pretrained("linear", 2, folder=tmp_path).code_size == 2
    assert ae.pretrained_faces(folder=tmp_path).code_size == ae.FACES_CODE_SIZE


def test_neighbour_agreement_frame_changes_and_side_by_side():
    codes = np.array([[0.0], [0.1], [5.0], [5.2]])
    assert ae.neighbour_agreement(codes, [0, 0, 1, 1]) == 1.0
    assert ae.neighbour_agreement(codes, [0, 1, 0, 1]) == 0.0
    frames = np.zeros((3, 2, 2, 1), np.float32)
    frames[1] += 0.25
    frames[2] += 1.0
    np.testing.assert_allclose(ae.frame_changes(frames), [0.25, 0.75])
    assert ae.side_by_side(frames).shape == (2, 6, 1)


def test_code_size_inversions_name_a_larger_code_that_reconstructs_worse():
    table = {"code size": [2, 16, 32, 64], "conv": [0.035, 0.012, 0.0068, 0.0093]}
    assert ae.code_size_inversions(table, "conv") == [(32, 64)]
    table["conv"][3] = 0.005
    assert ae.code_size_inversions(table, "conv") == []


def test_denoising_robustness_reports_progress_per_noise_level():
    images = np.random.default_rng(0).random((4, 28, 28, 1)).astype(np.float32)
    model = ae.build_linear_autoencoder((28, 28, 1), 2)
    seen = []
    table = ae.denoising_robustness(
        {"m": model}, images, (0.1, 0.3), progress=lambda f, m: seen.append(f)
    )
    assert seen == [0.5, 1.0] and len(table["m"]) == 2
    assert table["noisy input"][0] > table["noisy input"][1]


def test_shipped_figures_equal_live_ones_and_go_stale_with_the_weights(
    tmp_path, monkeypatch, fashion_available
):
    """``python -m mml7 measure autoencoders``: the page's PCA, robustness curve and tabs'
    default views read back equal what it would compute, and other weights make the curve
    and the views stale."""
    import shutil

    from mml7 import data
    from mml7.autoencoders import figures

    paths = [ae.weights_path("denoising", 64, s) for s in ae.SHIPPED_NOISE_STDDEVS]
    paths += [
        ae.weights_path(*name.split()[:1], int(name.split()[1])) for name in figures.LATENT_MODELS
    ]
    for path in paths:
        if not path.exists():
            pytest.skip("shipped autoencoders not trained")
        shutil.copy(path, tmp_path)
    monkeypatch.setattr(figures, "ROBUSTNESS_IMAGES", 40)
    monkeypatch.setattr(figures, "ROBUSTNESS_STDDEVS", (0.1, 0.5))
    monkeypatch.setattr(figures, "LATENT_MAX_COUNT", 30)
    monkeypatch.setattr(figures, "DENOISING_IMAGES", 20)
    assert (
        figures.shipped_pca(tmp_path) is None
        and figures.shipped_robustness(40, (0.1, 0.5), tmp_path) is None
    )
    figures.precompute(tmp_path)
    pca, live = figures.shipped_pca(tmp_path), ae.fit_pca(data.fashion_mnist("train").images, 64)
    for name in ("mean", "components", "explained_variance"):
        np.testing.assert_array_equal(getattr(pca, name), getattr(live, name))
    assert pca.shape == live.shape == (28, 28, 1)
    models = {
        name: ae.pretrained("denoising", 64, stddev, tmp_path)
        for name, stddev in figures.denoiser_names().items()
    }
    images = data.fashion_mnist("test").images[:40]
    expected = ae.denoising_robustness(models, images, (0.1, 0.5))
    assert figures.shipped_robustness(40, (0.1, 0.5), tmp_path) == expected
    assert figures.shipped_robustness(1000, (0.1, 0.5), tmp_path) is None  # other images
    test = data.fashion_mnist("test").images
    for name in figures.LATENT_MODELS:
        kind, size = name.split()[0], int(name.split()[1])
        live_codes = ae.pretrained(kind, size, folder=tmp_path).encode(test[:30])
        found = figures.shipped_codes(kind, size, 20, tmp_path)
        assert found.dtype == np.float32  # stored as float16: within its precision
        np.testing.assert_allclose(found, live_codes[:20], rtol=1e-3, atol=1e-4)
        assert figures.shipped_codes(kind, size, 31, tmp_path) is None  # more than stored
    noise, amount = figures.DENOISING_DEFAULT
    for stddev in ae.SHIPPED_NOISE_STDDEVS:
        model = ae.pretrained("denoising", 64, stddev, tmp_path)
        for noise_kind, level in [(noise, amount), ("salt-and-pepper", 0.6), ("random-mask", 0.05)]:
            live = figures.denoising_view(model, noise_kind, level, 20)
            found = figures.shipped_denoising_view(noise_kind, level, stddev, 20, tmp_path)
            assert found["denoised_db"] == live["denoised_db"]
            assert found["noisy_db"] == live["noisy_db"]
            for name in ("clean", "noisy", "denoised"):  # shown images: 8 bits
                np.testing.assert_allclose(
                    found[name], np.clip(live[name], 0, 1), atol=0.5 / 255 + 1e-6
                )
        # Default: the tab's view, where the denoiser gains; then not stored: None.
        default = figures.shipped_denoising_view(noise, amount, stddev, 20, tmp_path)
        assert default["denoised_db"] > default["noisy_db"]
        assert figures.shipped_denoising_view(noise, 0.33, stddev, 20, tmp_path) is None
        assert figures.shipped_denoising_view(noise, amount, stddev, 21, tmp_path) is None
    low, high = (ae.weights_path("denoising", 64, s, tmp_path) for s in ae.SHIPPED_NOISE_STDDEVS)
    shutil.copy(high, low)  # retrained weights: the stored curve no longer describes them
    assert figures.shipped_robustness(40, (0.1, 0.5), tmp_path) is None
    low_stddev = ae.SHIPPED_NOISE_STDDEVS[0]
    assert figures.shipped_denoising_view(noise, amount, low_stddev, 20, tmp_path) is None
    shutil.copy(
        ae.weights_path("conv", 64, folder=tmp_path), ae.weights_path("conv", 32, folder=tmp_path)
    )
    assert figures.shipped_codes("conv", 32, 20, tmp_path) is None
