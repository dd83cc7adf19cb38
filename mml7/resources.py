"""What this machine has: data sets and ImageNet weights, found / will download / unavailable.

Cheap to call (no TensorFlow import, one DNS look-up at most, remembered), so the Home
page can show it at once.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
import socket
from dataclasses import dataclass

from mml7 import data

# Host Keras downloads ImageNet weights and Fashion-MNIST from.
DOWNLOAD_HOST = "storage.googleapis.com"

# Keras application -> the cache file `weights="imagenet", include_top=False` loads.
# The names are Keras's own (keras/src/applications/*.py); alpha 0.25 MobileNet is
# "mobilenet_2_5_224_tf_no_top.h5".
IMAGENET_WEIGHT_FILES = {
    "MobileNet (alpha 1.0)": "mobilenet_1_0_224_tf_no_top.h5",
    "MobileNet (alpha 0.25)": "mobilenet_2_5_224_tf_no_top.h5",
    "MobileNet with ImageNet head": "mobilenet_1_0_224_tf.h5",
    "MobileNetV2": "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
    "EfficientNetB0": "efficientnetb0_notop.h5",
    "ResNet50": "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
}


@dataclass(frozen=True)
class ResourceStatus:
    """One row of the status table.

    Attributes:
        name: what it is, e.g. "Fashion-MNIST".
        kind: "dataset" or "weights".
        state: "found", "will download" or "unavailable".
        detail: where it was found, or how to get it.
    """

    name: str
    kind: str
    state: str
    detail: str


@functools.lru_cache(maxsize=1)
def network_available(timeout: float = 2.0) -> bool:
    """Whether the download host resolves (DNS only: no connection is made).

    ``MML7_OFFLINE=1`` forces False, to try the app as an offline machine sees it.
    """
    if os.environ.get("MML7_OFFLINE", "") not in ("", "0"):
        return False
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = pool.submit(socket.getaddrinfo, DOWNLOAD_HOST, 443)
    try:
        return bool(future.result(timeout=timeout))
    except Exception:
        return False
    finally:
        pool.shutdown(wait=False)


def weights_cached(filename: str) -> bool:
    """Whether Keras's cache (``$KERAS_HOME/models`` or ~/.keras/models) has ``filename``."""
    return (data.keras_home() / "models" / filename).exists()


def weights_state(filename: str) -> str:
    """ "found", "will download" or "unavailable" for one Keras weights file."""
    if weights_cached(filename):
        return "found"
    return "will download" if network_available() else "unavailable"


def fashion_mnist_state() -> str:
    """ "found", "will download" or "unavailable" for Fashion-MNIST."""
    if data.fashion_mnist_location() is not None:
        return "found"
    return "will download" if network_available() else "unavailable"


def machine_status() -> list[ResourceStatus]:
    """Every data set and ImageNet weights file the app uses, with its state here."""
    rows = []
    location = data.fashion_mnist_location()
    if location == "debian":
        rows.append(
            ResourceStatus("Fashion-MNIST", "dataset", "found", str(data.fashion_mnist_dir()))
        )
    elif location == "keras-cache":
        where = data.keras_home() / "datasets" / "fashion-mnist"
        rows.append(ResourceStatus("Fashion-MNIST", "dataset", "found", str(where)))
    elif fashion_mnist_state() == "will download":
        rows.append(
            ResourceStatus(
                "Fashion-MNIST",
                "dataset",
                "will download",
                "Keras downloads it on first use (30 MB)",
            )
        )
    else:
        rows.append(
            ResourceStatus("Fashion-MNIST", "dataset", "unavailable", data.FASHION_MNIST_HOWTO)
        )
    for name, detail in (
        ("Digits (8x8)", "bundled with scikit-learn"),
        ("LFW faces vs non-faces", "bundled with scikit-image"),
        ("Sample photos", "bundled with scikit-learn and scikit-image"),
        ("Shapes segmentation", "generated on the fly"),
    ):
        rows.append(ResourceStatus(name, "dataset", "found", detail))
    for name, filename in IMAGENET_WEIGHT_FILES.items():
        state = weights_state(filename)
        detail = {
            "found": str(data.keras_home() / "models" / filename),
            "will download": f"Keras downloads {filename} on first use",
            "unavailable": f"offline and not in the Keras cache ({filename})",
        }[state]
        rows.append(ResourceStatus(f"ImageNet {name}", "weights", state, detail))
    return rows
