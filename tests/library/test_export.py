"""mml7.export: model archives load back with their contract; tables and images."""

import csv
import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from mml7 import InputError, export


def test_model_archive_round_trip_with_custom_layers():
    from mml7 import segmentation

    model = segmentation.build_segmenter((16, 16, 3), 4, "max", widths=(4, 8))
    contract = export.InputContract(
        (16, 16), 3, class_names=("background", "disc", "square", "triangle"), task="segments"
    )
    payload = export.model_archive(model, contract, "seg max/../x")
    names = zipfile.ZipFile(io.BytesIO(payload)).namelist()
    assert "contract.json" in names and len(names) == 2
    assert all("/" not in name for name in names)
    loaded, read_back = export.load_model_archive(payload)
    assert read_back == contract
    images = np.random.default_rng(0).random((2, 16, 16, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0))


def test_load_model_archive_refuses_other_zips():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(InputError, match="model archive"):
        export.load_model_archive(buffer.getvalue())
    with pytest.raises(InputError, match="not a zip"):
        export.load_model_archive(b"plain bytes")


@pytest.mark.parametrize(
    "table",
    [
        [{"mode": "max", "mean_iou": np.float32(0.5)}, {"mode": "nearest", "mean_iou": 0.25}],
        {"mode": ["max", "nearest"], "mean_iou": [0.5, 0.25]},
    ],
    ids=["rows", "columns"],
)
def test_table_csv(table):
    rows = list(csv.DictReader(io.StringIO(export.table_csv(table).decode())))
    assert rows == [{"mode": "max", "mean_iou": "0.5"}, {"mode": "nearest", "mean_iou": "0.25"}]


def test_image_png():
    image = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4, 1)
    decoded = np.asarray(Image.open(io.BytesIO(export.image_png(image))))
    assert decoded.shape == (3, 4) and decoded[0, 0] == 0 and decoded[-1, -1] == 255
