"""Plotly figures for the autoencoders and SVD: image grids, spectra, the latent space.

The latent-space scatter is returned as a self-contained HTML document: Plotly's hover
labels cannot show pictures, so a few lines of JavaScript put the hovered point's image
(a PNG data URI kept in the point's ``customdata``) beside the plot.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

from mml7.images import resize

# Images of ``image_rows`` smaller than this (px, longer side) are enlarged sharply first.
IMAGE_ROW_MIN_SIDE = 112


def image_rows(rows: dict[str, np.ndarray], titles: list[str] | None = None) -> go.Figure:
    """A grid of grey or RGB images: one row per entry of ``rows`` (name -> (n, h, w, c)),
    drawn as one picture (``image_mosaic``) with the row names and column titles beside it.

    One PNG the browser decodes, not a subplot per image: Plotly lays out a figure of
    thirty subplots in a third of a second on the server, a single image in milliseconds.

    Args:
        rows: row label -> float images (n, h, w, c) in [0, 1]; every row has n images.
        titles: optional caption per column.
    """
    mosaic, (tile_height, tile_width) = image_mosaic(list(rows.values()))
    figure = go.Figure(go.Image(source=png_data_uri(mosaic, 1, optimize=False), hoverinfo="skip"))
    step_y, step_x = tile_height + MOSAIC_GAP, tile_width + MOSAIC_GAP
    for i, name in enumerate(rows):
        figure.add_annotation(
            x=mosaic.shape[1] + MOSAIC_GAP,
            y=i * step_y + tile_height / 2,
            text=name,
            textangle=90,
            xanchor="left",
            showarrow=False,
        )
    for j, title in enumerate(titles or []):
        figure.add_annotation(
            x=j * step_x + tile_width / 2, y=0, text=title, yanchor="bottom", showarrow=False
        )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    figure.update_annotations(font_size=11)
    figure.update_layout(
        margin=dict(l=5, r=30, t=25, b=5), height=110 * len(rows) + 30, plot_bgcolor="white"
    )
    return figure


MOSAIC_GAP = 6  # white pixels between the images of ``image_mosaic``


def image_mosaic(rows: list) -> tuple[np.ndarray, tuple[int, int]]:
    """The images of ``rows`` (lists of float (h, w, c) in [0, 1]) on one white canvas,
    a row of tiles per entry, ``MOSAIC_GAP`` pixels apart, each centred in its tile; and the
    tile's (height, width). Images are enlarged by a whole factor (nearest neighbour) to at
    least ``IMAGE_ROW_MIN_SIDE`` px, so the browser never blurs small images."""
    images = [[np.clip(np.asarray(image, np.float32), 0, 1) for image in row] for row in rows]
    flat = [image for row in images for image in row]
    height = max(image.shape[0] for image in flat)
    width = max(image.shape[1] for image in flat)
    channels = 3 if any(image.shape[-1] == 3 for image in flat) else 1
    scale = max(1, -(-IMAGE_ROW_MIN_SIDE // max(height, width)))
    tile = (height * scale, width * scale)
    count = max(len(row) for row in images)
    canvas = np.ones(
        (
            len(images) * (tile[0] + MOSAIC_GAP) - MOSAIC_GAP,
            count * (tile[1] + MOSAIC_GAP) - MOSAIC_GAP,
            channels,
        ),
        np.float32,
    )
    for i, row in enumerate(images):
        for j, image in enumerate(row):
            big = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
            top = i * (tile[0] + MOSAIC_GAP) + (tile[0] - big.shape[0]) // 2
            left = j * (tile[1] + MOSAIC_GAP) + (tile[1] - big.shape[1]) // 2
            canvas[top : top + big.shape[0], left : left + big.shape[1]] = big
    return canvas, tile


def spectrum_figure(values: np.ndarray, energy: np.ndarray, k: int) -> go.Figure:
    """Singular values (log scale, per channel) and their cumulative energy, k marked.

    Args:
        values: float (c, r) singular values per channel (``mml7.svd.singular_values``).
        energy: float (r,) in [0, 1], ``mml7.svd.cumulative_energy`` of them.
        k: the rank to mark.
    """
    figure = make_subplots(
        1, 2, subplot_titles=("singular values s_i", "cumulative energy sum s_i^2 / ||X||^2")
    )
    colours = ("#d62728", "#2ca02c", "#1f77b4") if len(values) == 3 else ("#444",)
    index = np.arange(1, values.shape[1] + 1)
    for channel, colour in zip(values, colours, strict=False):
        figure.add_trace(
            go.Scattergl(x=index, y=channel, line_color=colour, showlegend=False), 1, 1
        )
    figure.add_trace(go.Scattergl(x=index, y=energy, line_color="#444", showlegend=False), 1, 2)
    for col in (1, 2):
        figure.add_vline(x=k, line_dash="dot", row=1, col=col)
    figure.update_yaxes(type="log", row=1, col=1)
    figure.update_xaxes(title_text="i", type="log")
    figure.update_layout(height=320, margin=dict(l=10, r=10, t=40, b=10))
    return figure


def png_data_uri(image: np.ndarray, scale: int = 3, optimize: bool = True) -> str:
    """A float image (h, w, c) in [0, 1] as a nearest-neighbour enlarged PNG data URI
    (``optimize``: smaller, and slower to make)."""
    pixels = (np.clip(np.asarray(image), 0, 1) * 255).astype(np.uint8)
    height, width = pixels.shape[:2]
    if scale > 1:
        pixels = resize(pixels, (height * scale, width * scale), "nearest")
    picture = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=optimize)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


HOVER_SIDE = 84  # px of the hover box's image

# The hover box shows the hovered point's tile of the sprite sheet (``sprite_sheet``, in the
# layout's ``meta``), enlarged with pixelated rendering.
_HOVER_SCRIPT = """
var plot = document.getElementById('{plot_id}');
var meta = plot.layout.meta;
var zoom = HOVER_SIDE / Math.max(meta.height, meta.width);
var box = document.createElement('div');
box.style = 'position:absolute;top:8px;right:8px;background:white;border:1px solid #999;padding:4px;font:12px sans-serif;text-align:center;z-index:10';
box.innerHTML = '<div id="hover-image" style="width:HOVER_SIDEpx;height:HOVER_SIDEpx;margin:auto;image-rendering:pixelated;background-repeat:no-repeat"></div><div id="hover-label">hover a point</div>';
plot.parentNode.style.position = 'relative';
plot.parentNode.appendChild(box);
var image = document.getElementById('hover-image');
image.style.backgroundSize = (meta.columns * meta.width * zoom) + 'px ' + (meta.rows * meta.height * zoom) + 'px';
plot.on('plotly_hover', function (event) {
  var point = event.points[0];
  var index = point.customdata[0];
  var column = index % meta.columns, row = Math.floor(index / meta.columns);
  image.style.backgroundImage = 'url(' + meta.sprite + ')';
  image.style.backgroundPosition = (-column * meta.width * zoom) + 'px ' + (-row * meta.height * zoom) + 'px';
  document.getElementById('hover-label').textContent = point.customdata[1];
});
""".replace("HOVER_SIDE", str(HOVER_SIDE))


def sprite_sheet(images: np.ndarray) -> tuple[np.ndarray, int]:
    """float images (n, h, w, c) in [0, 1] tiled into one picture, image i at row
    i // columns, column i % columns of a near-square grid; returns (picture, columns).

    The Embedding Projector's way of giving thousands of points an image each: one PNG
    for all of them (made in milliseconds) instead of one per point (2,000 PNGs took a
    third of a second), and the page picks the tile."""
    images = np.asarray(images)
    count, height, width, channels = images.shape
    columns = max(1, int(np.ceil(np.sqrt(count))))
    rows = -(-count // columns)
    padded = np.zeros((rows * columns, height, width, channels), images.dtype)
    padded[:count] = images
    grid = padded.reshape(rows, columns, height, width, channels).swapaxes(1, 2)
    return grid.reshape(rows * height, columns * width, channels), columns


def latent_scatter(
    points: np.ndarray, labels: np.ndarray, class_names, images: np.ndarray, title: str = ""
) -> go.Figure:
    """Codes as a WebGL scatter (2-D) or a 3-D scatter, one trace per class.

    Each point's ``customdata`` is (its index in ``images``, class name); the layout's
    ``meta`` holds the images' sprite sheet, which ``latent_scatter_html`` shows on hover.
    """
    dims = points.shape[1]
    figure = go.Figure()
    colours = px.colors.qualitative.Plotly + px.colors.qualitative.Dark24
    for label, name in enumerate(class_names):
        chosen = np.flatnonzero(labels == label)
        if len(chosen) == 0:
            continue
        common = dict(
            mode="markers",
            name=name,
            customdata=[[int(i), f"{name} (#{i})"] for i in chosen],
            hovertemplate=f"{name}<extra></extra>",
        )
        if dims == 3:
            figure.add_trace(
                go.Scatter3d(
                    x=points[chosen, 0],
                    y=points[chosen, 1],
                    z=points[chosen, 2],
                    marker=dict(size=2, color=colours[label % len(colours)]),
                    **common,
                )
            )
        else:
            figure.add_trace(
                go.Scattergl(
                    x=points[chosen, 0],
                    y=points[chosen, 1],
                    marker=dict(size=4, color=colours[label % len(colours)]),
                    **common,
                )
            )
    sprite, columns = sprite_sheet(images)
    height, width = np.shape(images)[1:3]
    # The hover image sits top right, so the legend goes below the plot.
    figure.update_layout(
        title=title,
        height=600,
        template="plotly_white",
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", y=-0.08, itemsizing="constant"),
        meta=dict(
            sprite=png_data_uri(sprite, 1, optimize=False),
            columns=columns,
            rows=sprite.shape[0] // height,
            height=int(height),
            width=int(width),
        ),
    )
    return figure


def latent_scatter_html(figure: go.Figure) -> str:
    """A self-contained HTML page (Plotly.js inlined, works offline) with hover images."""
    return figure.to_html(
        include_plotlyjs=True, full_html=True, post_script=_HOVER_SCRIPT, default_height=600
    )


def scores_figure(table: dict[str, list], kind: str) -> go.Figure:
    """Grouped bars of test MSE per code size, ``kind`` beside PCA.

    Args:
        table: ``mml7.autoencoders.shipped_scores`` columns ("code size", kind, "PCA").
    """
    labels = {"value": "test MSE (10,000 images)", "variable": ""}
    figure = px.bar(table, x="code size", y=[kind, "PCA"], barmode="group", labels=labels)
    return figure.update_xaxes(type="category")


def robustness_figure(table: dict[str, list[float]], count: int) -> go.Figure:
    """Mean PSNR against the test-time Gaussian stddev, one line per model and the input.

    Args:
        table: ``mml7.autoencoders.denoising_robustness`` columns.
        count: how many test images the means are over (for the title).
    """
    title = f"Robustness: mean PSNR vs Gaussian noise at test time ({count:,} test images)"
    labels = {"value": "PSNR (dB)", "variable": ""}
    columns = [name for name in table if name != "noise stddev"]
    return px.line(table, x="noise stddev", y=columns, markers=True, title=title, labels=labels)


def loss_figure(losses: list[float]) -> go.Figure:
    """Training loss per epoch."""
    return px.line(y=losses, markers=True, labels={"x": "epoch", "y": "loss"})
