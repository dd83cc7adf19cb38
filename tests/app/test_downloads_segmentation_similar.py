"""The files the segmentation and similar-images pages offer, made as the pages make them
and read back: retrained models (with max unpooling's custom layers), CSV tables, the
neighbours strip as PNG."""

import csv
import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from app import segmentation_parts, similarity_parts
from mml7 import export
from mml7 import segmentation as seg
from mml7.plots import segmentation as figures


@pytest.mark.parametrize("mode", ["max", "transposed"])
def test_retrained_model_archive_loads_and_predicts_the_same(mode):
    train, _ = seg.train_test_sets("shapes", 8)
    model = seg.build_segmenter(train.images.shape[1:], train.num_classes, mode)
    contract = segmentation_parts.model_contract(model, train.class_names, "shapes")
    payload = export.model_archive(model, contract, f"segmenter_{mode}_shapes")

    loaded, read = export.load_model_archive(payload)
    assert read == contract
    assert read.image_size == (64, 64) and read.channels == 3
    assert read.class_names == ("background", "disc", "square", "triangle")
    assert read.notes == {"trained_on": "shapes", "unpooling": mode}
    np.testing.assert_allclose(
        loaded.predict(train.images[:2], verbose=0),
        model.predict(train.images[:2], verbose=0),
        atol=1e-6,
    )


def test_any_size_model_says_so_in_its_contract():
    model = seg.build_segmenter((None, None, 3), 3, "max")
    contract = segmentation_parts.model_contract(model, ["a", "b", "c"], "upload")
    assert contract.image_size is None


def test_comparison_table_csv_reads_back():
    rows = seg.shipped_summary()["modes"] or {"max": {"parameters": 10, "mean_iou": 0.5}}
    table = figures.comparison_table(rows)
    parsed = list(csv.DictReader(io.StringIO(export.table_csv(table).decode())))
    assert [row["unpooling"] for row in parsed] == list(rows)
    assert [float(row["mean IoU"]) for row in parsed] == table["mean IoU"]


def test_retrieval_table_csv_reads_back():
    table = pd.DataFrame(
        {"representation": ["Raw pixels", "PCA (k=32)"], "precision@10": [0.5, 0.75]}
    ).set_index("representation")
    parsed = pd.read_csv(io.BytesIO(export.table_csv(table.reset_index())))
    assert parsed.to_dict("list") == {
        "representation": ["Raw pixels", "PCA (k=32)"],
        "precision@10": [0.5, 0.75],
    }


def test_neighbours_strip_png_reads_back():
    images = np.stack([np.full((8, 6, 1), k / 4, np.float32) for k in range(5)])
    strip = similarity_parts.strip(images)
    assert strip.shape == (8, 5 * 6 + 4 * 2, 1)
    decoded = np.asarray(Image.open(io.BytesIO(export.image_png(strip))))
    assert decoded.shape == (8, 38)
    assert decoded[0, :6].tolist() == [0] * 6 and decoded[0, 6:8].tolist() == [255, 255]
    assert decoded[0, 8] == round(0.25 * 255)
