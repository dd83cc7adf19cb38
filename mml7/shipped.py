"""One protocol for the models mml7 ships pre-trained (autoencoders, segmentation).

A *family* is a set of shipped models made by one call of a module of mml7
(``mml7.autoencoders``, ``mml7.segmentation``) that offers ``pretrained(...)`` (a model
with its shipped weights loaded) and ``train_shipped(out_dir, seed, quick, progress,
**options)`` (remakes every weights file of the family and returns its training record);
``FAMILIES`` names the module and options of each. Its files live in one weights folder: the
package's ``weights/`` (``MML7_WEIGHTS`` points elsewhere, e.g. in tests) holds
``<file>.weights.h5`` per model and ``<family>.json``, the training record (epochs,
seeds, backend, device, wall time and measured scores). ``python -m mml7 train FAMILY``
runs ``train``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import os
import platform
from pathlib import Path

from mml7.errors import InputError, check_choice
from mml7.progress import Progress

# Family -> (module, options of its train_shipped).
FAMILY_MODULES = {
    "autoencoders": ("mml7.autoencoders", {}),
    "segmentation": ("mml7.segmentation", {}),
    "segmentation_thin": ("mml7.segmentation", {"scenes": "thin"}),
}
FAMILIES = tuple(FAMILY_MODULES)
WEIGHTS_ENV = "MML7_WEIGHTS"
PACKAGE_WEIGHTS = Path(__file__).parent / "weights"


def weights_dir(folder: str | Path | None = None) -> Path:
    """``folder``, else ``$MML7_WEIGHTS``, else the package's ``weights/`` folder."""
    if folder is not None:
        return Path(folder)
    return Path(os.environ.get(WEIGHTS_ENV) or PACKAGE_WEIGHTS)


def train_command(family: str) -> str:
    return f"python -m mml7 train {check_choice(family, FAMILIES, 'family')}"


def summary(family: str, folder: str | Path | None = None) -> dict:
    """The training record ``<family>.json`` in the weights folder, or {} when absent."""
    path = weights_dir(folder) / f"{check_choice(family, FAMILIES, 'family')}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def write_summary(family: str, record: dict, folder: str | Path | None = None) -> Path:
    path = weights_dir(folder) / f"{check_choice(family, FAMILIES, 'family')}.json"
    path.write_text(json.dumps(record, indent=1, default=str))
    return path


def load_weights(model, family: str, filename: str, folder: str | Path | None = None):
    """Load ``filename`` from the weights folder into the Keras ``model``; returns it.

    Raises:
        InputError: the file is missing, or was made for another version of the model;
            the message says which command remakes it.
    """
    path = weights_dir(folder) / filename
    if not path.exists():
        raise InputError(
            f"{filename} is missing from {path.parent}; run `{train_command(family)}` to make it."
        )
    try:
        model.load_weights(path)
    except Exception as error:  # h5py and Keras raise several types for a mismatched file
        raise InputError(
            f"{filename} does not fit this version of the model ({error}); "
            f"run `{train_command(family)}` to remake it."
        ) from error
    return model


def files_digest(*paths: str | Path) -> str | None:
    """A digest of the files' bytes, in order (BLAKE2b, 8 bytes, hex), or None when one is
    missing: what a precomputed figure stores to tell whether the weights it came from
    are still the shipped ones. Cached per file name and modification time."""
    found = [Path(path) for path in paths]
    if not all(path.exists() for path in found):
        return None
    return _digest(tuple((str(path), path.stat().st_mtime_ns) for path in found))


@functools.lru_cache(maxsize=32)
def _digest(files: tuple[tuple[str, int], ...]) -> str:
    digest = hashlib.blake2b(digest_size=8)
    for path, _ in files:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def save_weights(model, path: str | Path) -> None:
    """Save the model's weights only. A compiled model's ``save_weights`` also stores the
    optimizer's state (Adam's two moments), which triples the file for nothing we ship;
    a model rebuilt from its config is uncompiled (``clone_model`` would keep it)."""
    import keras

    bare = keras.Model.from_config(model.get_config())
    bare.set_weights(model.get_weights())
    bare.save_weights(path)


def environment() -> dict:
    """Where a training run ran, for its record: Keras backend and version, device, host."""
    import keras

    backend = keras.backend.backend()
    device = "cpu"
    try:
        if backend == "jax":
            import jax

            device = str(jax.devices()[0].device_kind)
        elif backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            device = gpus[0].name if gpus else "cpu"
        elif backend == "torch":
            import torch

            device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    except Exception:  # a backend without device query: say only what is known
        device = "unknown"
    return {
        "backend": backend,
        "keras": keras.__version__,
        "device": device,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
    }


def train(
    family: str,
    out_dir: str | Path | None = None,
    seed: int = 0,
    quick: bool = False,
    progress: Progress | None = None,
) -> dict:
    """Remake the shipped weights of ``family`` in ``out_dir`` (default: the weights
    folder) and return its training record."""
    family = check_choice(family, FAMILIES, "family")
    out = weights_dir(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name, options = FAMILY_MODULES[family]
    module = importlib.import_module(name)
    return module.train_shipped(out_dir=out, seed=seed, quick=quick, progress=progress, **options)
