"""What leaves the app: trained models with their input contract, tables, images.

A model travels as one zip: ``<name>.keras`` and ``contract.json``, what the model
expects and returns (image size, channels, value range, class names).
``keras.saving.load_model`` reads the ``.keras`` file once ``mml7.layers`` and
``mml7.autoencoders`` are imported (they register mml7's custom layers);
``load_model_archive`` does both. Tables travel as CSV, images as PNG. Everything is made
in memory, when asked for.

>>> import keras
>>> inputs = keras.Input((4, 4, 1))
>>> model = keras.Model(inputs, keras.layers.Flatten()(inputs))
>>> payload = model_archive(model, InputContract((4, 4), 1, class_names=("a", "b")), "tiny")
>>> loaded, contract = load_model_archive(payload)
>>> contract.image_size, loaded.output_shape
((4, 4), (None, 16))
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from mml7.errors import InputError

CONTRACT_FILE = "contract.json"


@dataclass(frozen=True)
class InputContract:
    """What a downloaded model expects and returns.

    Attributes:
        image_size: (height, width) of its input images; None where any size works.
        channels: 1 (grey) or 3 (RGB).
        value_range: the input pixel values' range (mml7 models: floats in [0, 1]).
        class_names: the output classes, in output order ("" for none).
        task: a sentence on what it does, e.g. "per-pixel class probabilities".
        notes: anything else a user needs (preprocessing, how it was trained).
    """

    image_size: tuple[int, int] | None
    channels: int
    value_range: tuple[float, float] = (0.0, 1.0)
    class_names: tuple[str, ...] = ()
    task: str = ""
    notes: dict = field(default_factory=dict)

    def to_json(self) -> str:
        record = asdict(self)
        record["load_with"] = (
            "import mml7.autoencoders, mml7.layers  # registers mml7's custom layers\n"
            "model = keras.saving.load_model(PATH_TO_KERAS_FILE)"
        )
        return json.dumps(record, indent=1, default=str)

    @classmethod
    def from_json(cls, text: str) -> InputContract:
        record = json.loads(text)
        record.pop("load_with", None)
        size = record.get("image_size")
        record["image_size"] = tuple(size) if size is not None else None
        record["value_range"] = tuple(record.get("value_range", (0.0, 1.0)))
        record["class_names"] = tuple(record.get("class_names", ()))
        return cls(**record)


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name)).strip("._")
    return cleaned or "model"


def model_archive(model, contract: InputContract, name: str) -> bytes:
    """A zip holding ``<name>.keras`` and ``contract.json``, as bytes."""
    name = _safe_name(name)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.keras"
        model.save(path)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(path, path.name)
            archive.writestr(CONTRACT_FILE, contract.to_json())
    return buffer.getvalue()


def load_model_archive(payload: bytes):
    """(Keras model, InputContract) from a ``model_archive`` zip.

    Raises:
        InputError: not such a zip (no ``.keras`` file or no contract).
    """
    import keras

    import mml7.autoencoders.models  # noqa: F401  (registers Centre, ClippedGaussianNoise)
    import mml7.layers  # noqa: F401  (registers the pooling and unpooling layers)

    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
        names = archive.namelist()
    except zipfile.BadZipFile as error:
        raise InputError("not a model archive: not a zip file") from error
    models = [n for n in names if n.endswith(".keras")]
    if not models or CONTRACT_FILE not in names:
        raise InputError(f"not a model archive: it needs one .keras file and {CONTRACT_FILE}")
    contract = InputContract.from_json(archive.read(CONTRACT_FILE).decode())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(models[0]).name
        path.write_bytes(archive.read(models[0]))
        model = keras.saving.load_model(path)
    return model, contract


def table_csv(rows) -> bytes:
    """A table as UTF-8 CSV: a list of dicts (one per row), a dict of columns, or a
    pandas DataFrame."""
    if hasattr(rows, "to_csv"):
        return rows.to_csv(index=False).encode()
    if isinstance(rows, dict):
        columns = list(rows)
        rows = [
            dict(zip(columns, values, strict=True)) for values in zip(*rows.values(), strict=True)
        ]
    rows = list(rows)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _plain(value) for key, value in row.items()})
    return buffer.getvalue().encode()


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple, np.ndarray)):
        return json.dumps(np.asarray(value).tolist())
    return value


def image_png(image: np.ndarray) -> bytes:
    """A float image (h, w) or (h, w, 1|3) in [0, 1] as PNG bytes."""
    from PIL import Image

    array = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    buffer = io.BytesIO()
    Image.fromarray((array * 255 + 0.5).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()
