"""Download buttons: files are made when the button is pressed (Streamlit's deferred
downloads), never held per session."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from mml7 import export


def model_button(label: str, model, contract: export.InputContract, name: str, key: str) -> None:
    """A button that downloads ``model`` as ``<name>.zip`` (``.keras`` + contract.json)."""
    st.download_button(
        label,
        data=lambda: export.model_archive(model, contract, name),
        file_name=f"{name}.zip",
        mime="application/zip",
        key=key,
        icon=":material/download:",
        on_click="ignore",
        help="A .keras file (keras.saving.load_model reads it after `import mml7.autoencoders, mml7.layers`) and "
        "contract.json: the input size, channels, value range and class names.",
    )


def csv_button(label: str, rows: Callable[[], object] | object, name: str, key: str) -> None:
    """A button that downloads a table (rows, columns or a DataFrame; or a function that
    returns one) as ``<name>.csv``."""
    st.download_button(
        label,
        data=lambda: export.table_csv(rows() if callable(rows) else rows),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=key,
        icon=":material/table:",
        on_click="ignore",
    )


def png_button(label: str, image, name: str, key: str) -> None:
    """A button that downloads an image array (floats in [0, 1]) as ``<name>.png``."""
    st.download_button(
        label,
        data=lambda: export.image_png(image),
        file_name=f"{name}.png",
        mime="image/png",
        key=key,
        icon=":material/image:",
        on_click="ignore",
    )
