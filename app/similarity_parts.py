"""The similar-images page's blocks: the query and its neighbours, the clickable gallery
grid, and the comparison of representations. Each block shows its own errors and leaves
the others standing."""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd
import streamlit as st

from app import downloads, widgets
from app.caches import similarity as cached
from app.names import plain
from mml7 import InputError, export, similarity
from mml7.plots import similarity as figures

COLUMNS, ROWS = 8, 3
IMAGE_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"]


def pick(index: int) -> None:
    st.session_state.query, st.session_state.query_from = int(index), "gallery"


def strip(images: np.ndarray, gap: int = 2) -> np.ndarray:
    """Images (n, h, w, c) side by side, ``gap`` white pixels apart: float (h, w', c)."""
    white = np.ones((images.shape[1], gap, images.shape[3]), np.float32)
    pieces = [piece for image in images for piece in (image, white)][:-1]
    return np.concatenate(pieces, axis=1)


def query_block(gallery, source, representation, metric, algorithm, k: int) -> None:
    """The query (gallery pick or upload) and its ``k`` nearest neighbours, with a PNG."""
    file = st.file_uploader(
        "Upload a query image (resized and converted like the gallery)",
        type=IMAGE_TYPES,
        key="query_upload",
        on_change=lambda: st.session_state.update(query_from="upload"),
        help=widgets.upload_help("One image (PNG, JPEG, ...)."),
    )
    index = cached.index(representation, metric, algorithm, *source)
    if file is not None and st.session_state.query_from == "upload":
        try:
            query = cached.query_image(widgets.upload(file), *gallery.images.shape[1:])
        except InputError as error:
            return st.error(f"{error} The gallery and the comparison below still work.")
        fitted = cached.representation(representation, *source)
        distances, found = index.kneighbors(fitted.transform(query), k)
        title = "uploaded image"
    else:
        chosen = st.session_state.query
        query = gallery.images[[chosen]]
        vectors = cached.vectors(representation, *source)
        distances, found = index.kneighbors(vectors[[chosen]], k, exclude=[chosen])
        title = f"gallery #{chosen} ({plain(gallery.class_names[gallery.labels[chosen]])})"
    query_column, neighbours_column = st.columns([1, 7])
    query_column.image(similarity.thumbnail(query[0], 112), caption=f"query: {title}")
    neighbours_column.image(
        [similarity.thumbnail(gallery.images[i]) for i in found[0]],
        caption=[
            f"{plain(gallery.class_names[gallery.labels[i]])} · {d:.3f}"
            for i, d in zip(found[0], distances[0], strict=True)
        ],
        width=96,
    )
    st.caption(f"Under each neighbour: its class · its {metric} distance to the query.")
    downloads.png_button(
        "Query and neighbours as PNG",
        strip(np.concatenate([query, gallery.images[found[0]]])),
        "neighbours",
        key="neighbours_png",
    )


def _data_url(image: np.ndarray) -> str:
    thumb = similarity.thumbnail(image, 84).astype(np.float32) / 255
    return "data:image/png;base64," + base64.b64encode(export.image_png(thumb)).decode()


def gallery_grid(gallery, page: int) -> None:
    """One page of the gallery as a grid of images; clicking an image makes it the query."""
    rows = similarity.gallery_page(len(gallery), page, COLUMNS * ROWS, COLUMNS)
    labels = [f"+{j}" for j in range(COLUMNS)]
    table = pd.DataFrame(
        [[_data_url(gallery.images[i]) for i in items] for items in rows],
        index=[f"#{items[0]}" for items in rows],
        columns=labels[: max(len(items) for items in rows)],
    )
    key = f"gallery_grid_{page}"
    event = st.dataframe(
        table,
        column_config={label: st.column_config.ImageColumn(label) for label in table.columns},
        row_height=84,
        key=key,
        on_select="rerun",
        selection_mode="single-cell",
    )
    cells = [tuple(cell) for cell in event.selection.get("cells", [])]
    if cells and st.session_state.get("grid_handled") != (key, cells):
        st.session_state.grid_handled = (key, cells)
        row, column = cells[0]
        pick(rows[row][labels.index(column)])
    st.caption("Click an image to make it the query (row label + column label = its number).")


def comparison_block(usable, metric: str, num_queries, source) -> pd.DataFrame:
    """Retrieval scores and the few-label probe of every usable representation; the
    retrieval table (one row per representation)."""
    retrieval, probes = {}, {}
    for rep in usable:
        retrieval[rep] = cached.scores(rep, metric, num_queries, *source)
        probes[rep] = cached.probe(rep, *source)
    table, probe = similarity.comparison_tables(retrieval, probes)
    left, right = st.columns(2)
    left.plotly_chart(figures.retrieval_figure(table, metric), key="retrieval_chart")
    if len(probe):
        right.plotly_chart(figures.probe_figure(probe), key="probe_chart")
        right.caption(
            "Logistic regression on 10 or 100 labelled gallery images per class (3 draws), "
            f"tested on the rest of the gallery ({probe['test_size'].min():,}+ images)."
        )
    else:
        right.info("The probe needs at least 11 images in every class of the gallery.")
    st.dataframe(table.style.format(precision=3), key="retrieval_table")
    downloads.csv_button(
        "Table as CSV", table.reset_index(), f"retrieval_{metric}", key="retrieval_csv"
    )
    return table


def takeaway(table: pd.DataFrame) -> str:
    """The autoencoder's and the best representation's precision@10 against raw pixels',
    from the live scores."""
    scores = table["precision@10"]
    learnt = scores.drop("Raw pixels", errors="ignore")
    named = [name for name in learnt.index if name.startswith("Conv AE")][:1]
    named += [learnt.idxmax()] if len(learnt) and learnt.idxmax() not in named else []
    parts = [f"{name} precision@10 {scores[name]:.3f}" for name in named]
    if "Raw pixels" in scores:
        parts.append(f"raw pixels {scores['Raw pixels']:.3f}")
    queries = int(table["queries"].iloc[0])
    return " vs ".join(parts) + f" ({queries:,} queries); no representation used a label"
