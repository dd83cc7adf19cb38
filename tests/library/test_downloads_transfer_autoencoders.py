"""The downloads of the transfer and autoencoder pages, built as the pages build them: each
model archive loads back and predicts what the original did; tables parse back."""

import csv
import io

import numpy as np
import pytest

from mml7 import autoencoders as ae
from mml7 import backbones, data, export, transfer
from mml7.transfer import downloadable

FAST = "MobileNet (alpha 0.25)"
needs_mobilenet = pytest.mark.skipif(
    backbones.available_backbones()[FAST] is not None, reason="MobileNet weights not here"
)
CONFIG = transfer.ExperimentConfig(
    backbone=FAST,
    image_size=32,
    cut="block 11",
    ensemble_cut="block 5",
    hidden_units=8,
    head_epochs=3,
    fine_tune_epochs=1,
    scratch_epochs=1,
    fine_tune_blocks=1,
)


def grey_stripes(count: int = 24, side: int = 40) -> data.ImageDataset:
    """Grey images of another size than the models take: class 1 has a bright left half."""
    rng = np.random.default_rng(3)
    labels = np.arange(count) % 2
    images = rng.random((count, side, side, 1)).astype(np.float32) * 0.3
    images[labels == 1, :, : side // 2] += 0.6
    return data.ImageDataset(images, labels, ["plain", "striped"], "stripes", "")


@pytest.fixture(scope="module")
def experiment():
    dataset = grey_stripes()
    return dataset, transfer.run_experiments(dataset, CONFIG)


def test_preprocessing_affine_is_the_backbones_preprocess_input():
    pixels = np.random.default_rng(0).random((5, 1, 1, 3)).astype(np.float32)
    for backbone in backbones.BACKBONES:
        kernel, bias = downloadable.preprocessing_affine(backbone)
        expected = backbones.preprocess(pixels, backbone, 32)[:, 0, 0]
        # preprocess resizes the 1 px images to 32 px: every pixel is the one colour.
        np.testing.assert_allclose(pixels[:, 0, 0] @ kernel + bias, expected, atol=1e-4)


@needs_mobilenet
@pytest.mark.parametrize("row", list(transfer.ROW_STRATEGY))
def test_each_strategy_model_is_the_trained_one_and_its_archive_loads(experiment, row):
    dataset, result = experiment
    model = result.models[row]
    assert model.input_shape == (None, 32, 32, 3)
    _, validation = transfer.training_split(dataset, CONFIG)
    inputs = downloadable.model_inputs(dataset.images[validation], CONFIG.image_size)
    probabilities = np.asarray(model.predict(inputs, verbose=0))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    # The downloaded model on raw [0, 1] images scores what the table says it scored.
    measured = next(r["validation_accuracy"] for r in result.rows if r["strategy"] == row)
    assert transfer.accuracy(probabilities, dataset.labels[validation]) == measured

    contract = downloadable.contract(CONFIG, dataset.class_names, row)
    loaded, read = export.load_model_archive(export.model_archive(model, contract, "m"))
    assert read == contract and read.image_size == (32, 32) and read.channels == 3
    assert read.class_names == ("plain", "striped")
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), probabilities, atol=1e-5)


@needs_mobilenet
def test_frozen_model_is_the_head_on_the_extracted_features(experiment):
    dataset, result = experiment
    model = result.models["(a) frozen extractor + new head"]
    head = model.get_layer("transfer").get_layer("head")
    images = dataset.images[:6]
    features = backbones.extract_features(images, FAST, CONFIG.cut, CONFIG.image_size)
    np.testing.assert_allclose(
        model.predict(downloadable.model_inputs(images, 32), verbose=0),
        transfer.predict(head, features),
        atol=1e-4,
    )


@pytest.mark.parametrize(("kind", "code_size"), [("linear", 3), ("conv", 4)])
def test_retrained_autoencoder_archive_loads_and_reconstructs_the_same(kind, code_size):
    images = np.random.default_rng(1).random((16, 28, 28, 1)).astype(np.float32)
    model = ae.train_new(kind, code_size, images, 1)
    contract = ae.download_contract(model, len(images), 1)
    assert contract.image_size == (28, 28) and contract.channels == 1
    loaded, read = export.load_model_archive(
        export.model_archive(model.autoencoder, contract, f"{kind}_autoencoder")
    )
    assert read == contract
    if kind == "linear":
        assert any(
            isinstance(layer, ae.Centre) for layer in loaded.get_layer(model.encoder.name).layers
        )
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0), model.reconstruct(images), atol=1e-5
    )


def test_tables_parse_back():
    table = {"noise stddev": [0.1, 0.2], "noisy input": [20.0, 14.0], "trained at 0.2": [24.5, 22]}
    rows = list(csv.DictReader(io.StringIO(export.table_csv(table).decode())))
    assert [float(r["trained at 0.2"]) for r in rows] == [24.5, 22.0]
    assert list(rows[0]) == list(table)
