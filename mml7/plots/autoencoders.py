"""Plotly figures for the autoencoders and SVD: image grids, spectra, the latent space.

The latent-space scatter is returned as a self-contained HTML document: Plotly's hover
labels cannot show pictures, so a few lines of JavaScript put the hovered point's image
(its tile of a sprite sheet kept in the layout's ``meta``) beside the plot.
"""

from __future__ import annotations

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mml7.plots.mosaic import mosaic_figure, png_data_uri


def image_rows(rows: dict[str, np.ndarray], titles: list[str] | None = None) -> go.Figure:
    """A grid of grey or RGB images: one row per entry of ``rows`` (name -> (n, h, w, c)),
    drawn as one picture (``mosaic.mosaic_figure``) with the row names on the right.

    Args:
        rows: row label -> float images (n, h, w, c) in [0, 1]; every row has n images.
        titles: optional caption per column.
    """
    return mosaic_figure(list(rows.values()), list(rows), titles, row_height=110)


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
    columns, rows = sprite_grid(count)
    padded = np.zeros((rows * columns, height, width, channels), images.dtype)
    padded[:count] = images
    grid = padded.reshape(rows, columns, height, width, channels).swapaxes(1, 2)
    return grid.reshape(rows * height, columns * width, channels), columns


def sprite_grid(count: int) -> tuple[int, int]:
    """(columns, rows) of ``sprite_sheet``'s grid for ``count`` images."""
    columns = max(1, int(np.ceil(np.sqrt(count))))
    return columns, -(-count // columns)


def latent_scatter(
    points: np.ndarray,
    labels: np.ndarray,
    class_names,
    images: np.ndarray,
    title: str = "",
    sprite_url: str | None = None,
) -> go.Figure:
    """Codes as a WebGL scatter (2-D) or a 3-D scatter, one trace per class.

    Each point's ``customdata`` is (its index in ``images``, class name); the layout's
    ``meta`` holds the images' sprite sheet, which ``latent_scatter_html`` shows on hover:
    inline as a PNG data URI (self-contained), or, with ``sprite_url``, the URL where the
    caller serves ``sprite_sheet(images)`` as a PNG (a served app: the browser fetches it
    once instead of inside every figure).
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
    count, height, width = np.shape(images)[:3]
    columns, rows = sprite_grid(count)
    # The hover image sits top right, so the legend goes below the plot.
    figure.update_layout(
        title=title,
        height=600,
        template="plotly_white",
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", y=-0.08, itemsizing="constant"),
        meta=dict(
            sprite=sprite_url or png_data_uri(sprite_sheet(images)[0]),
            columns=columns,
            rows=rows,
            height=int(height),
            width=int(width),
        ),
    )
    return figure


def latent_scatter_html(figure: go.Figure, plotly_js: str | bool = True) -> str:
    """An HTML page of ``figure`` with hover images. ``plotly_js``: True inlines Plotly.js
    (4.8 MB; self-contained, works offline), a string is the URL to load it from."""
    return figure.to_html(
        include_plotlyjs=plotly_js, full_html=True, post_script=_HOVER_SCRIPT, default_height=600
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
