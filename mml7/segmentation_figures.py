"""Plotly figures for the segmentation page: unpooling on a 4x4 input, step by step, the
comparison table and prediction grids. NumPy in, figures out; no Streamlit here."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mml7.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D

# Class colours for masks: background dark grey, then distinct colours.
PALETTE = np.array(
    [
        [40, 40, 40],
        [230, 75, 60],
        [60, 160, 230],
        [250, 200, 40],
        [120, 200, 90],
        [170, 100, 220],
        [240, 140, 200],
        [90, 220, 210],
        [200, 140, 80],
        [150, 150, 150],
        [255, 255, 255],
    ],
    dtype=np.uint8,
)
# The transposed convolution's example filter (3x3, stride 2), as on the slides: a bump.
EXAMPLE_FILTER = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float32) / 4


def random_input(seed: int) -> np.ndarray:
    """A 4x4 float32 example with small integer values (so ties can happen)."""
    return np.random.default_rng(seed).integers(0, 10, size=(4, 4)).astype(np.float32)


def parse_matrix(text: str, size: int = 4) -> np.ndarray:
    """Typed numbers (rows on lines, values by spaces or commas) -> float32 (size, size).

    Raises:
        ValueError: not exactly size x size numbers; the message says what was found.
    """
    rows = [line.replace(",", " ").split() for line in text.strip().splitlines() if line.strip()]
    try:
        values = np.array([[float(v) for v in row] for row in rows], dtype=np.float32)
    except ValueError:
        raise ValueError("Type numbers only, e.g. '1 2 3 4' on each of 4 lines.") from None
    if values.ndim != 2 or values.shape != (size, size):
        shape = " x ".join(str(len(r)) for r in rows[: size + 1]) or "nothing"
        raise ValueError(
            f"Need {size} lines of {size} numbers each; got {len(rows)} line(s) ({shape})."
        )
    if not np.isfinite(values).all():
        raise ValueError("Numbers must be finite.")
    return values


def transposed_contributions(values: np.ndarray, kernel: np.ndarray, stride: int = 2):
    """Each input value times the filter, placed at stride offsets, and their sum.

    Returns:
        (contributions, total, cropped): contributions (n, H, W) one per input value on the
        full output canvas H = (h - 1) * stride + k; total their sum (overlaps add up);
        cropped the top-left (stride h, stride w) part, what Keras'
        ``Conv2DTranspose(padding="same")`` returns.
    """
    height, width = values.shape
    size = kernel.shape[0]
    full = ((height - 1) * stride + size, (width - 1) * stride + size)
    contributions = np.zeros((height * width, *full), np.float32)
    for i in range(height):
        for j in range(width):
            block = contributions[i * width + j]
            block[i * stride : i * stride + size, j * stride : j * stride + size] = (
                values[i, j] * kernel
            )
    total = contributions.sum(0)
    return contributions, total, total[: height * stride, : width * stride]


def unpooling_steps(x: np.ndarray, kernel: np.ndarray = EXAMPLE_FILTER) -> dict:
    """Everything the step-by-step tab draws, from a 4x4 input.

    Returns dict of float arrays: input (4, 4), pooled (2, 2), mask (4, 4), nearest,
    bilinear, max (4, 4), transposed (4, 4), and the transposed parts (see
    ``transposed_contributions``).
    """
    import keras

    batch = np.asarray(x, np.float32)[None, :, :, None]
    pooled, mask = MaxPoolingWithArgmax2D(2)(batch)
    unpooled = MaxUnpooling2D(2)([pooled, mask])
    bilinear = keras.layers.UpSampling2D(2, interpolation="bilinear")(pooled)
    nearest = keras.layers.UpSampling2D(2)(pooled)
    pooled = np.asarray(pooled)[0, :, :, 0]
    contributions, total, cropped = transposed_contributions(pooled, kernel)
    return {
        "input": np.asarray(x, np.float32),
        "pooled": pooled,
        "mask": np.asarray(mask)[0, :, :, 0],
        "nearest": np.asarray(nearest)[0, :, :, 0],
        "bilinear": np.asarray(bilinear)[0, :, :, 0],
        "max": np.asarray(unpooled)[0, :, :, 0],
        "transposed": cropped,
        "transposed_parts": contributions,
        "transposed_full": total,
    }


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def matrix_figure(
    values: np.ndarray,
    title: str,
    marked: np.ndarray | None = None,
    windows: int | None = None,
    crop: tuple[int, int] | None = None,
    height: int = 260,
) -> go.Figure:
    """An annotated heatmap of a small matrix, like the slides.

    Args:
        marked: bool (h, w): cells drawn with a thick outline (remembered positions).
        windows: draw the pooling windows of this size as grid lines.
        crop: (rows, cols) of a top-left region to outline (what is kept).
    """
    values = np.asarray(values, np.float32)
    rows, cols = values.shape
    figure = go.Figure(
        go.Heatmap(
            z=values,
            text=[[_number(v) for v in row] for row in values],
            texttemplate="%{text}",
            textfont={"size": 16},
            colorscale="Blues",
            showscale=False,
            hovertemplate="row %{y}, col %{x}: %{z}<extra></extra>",
            xgap=2,
            ygap=2,
        )
    )
    shapes = []
    if windows:
        for k in range(0, max(rows, cols) + 1, windows):
            shapes.append(dict(type="line", x0=k - 0.5, x1=k - 0.5, y0=-0.5, y1=rows - 0.5))
            shapes.append(dict(type="line", y0=k - 0.5, y1=k - 0.5, x0=-0.5, x1=cols - 0.5))
        for shape in shapes:
            shape["line"] = dict(color="black", width=3)
    if marked is not None:
        for i, j in zip(*np.nonzero(marked), strict=True):
            shapes.append(
                dict(
                    type="rect",
                    x0=j - 0.45,
                    x1=j + 0.45,
                    y0=i - 0.45,
                    y1=i + 0.45,
                    line=dict(color="crimson", width=4),
                )
            )
    if crop is not None:
        shapes.append(
            dict(
                type="rect",
                x0=-0.5,
                x1=crop[1] - 0.5,
                y0=-0.5,
                y1=crop[0] - 0.5,
                line=dict(color="crimson", width=3, dash="dash"),
            )
        )
    figure.update_layout(
        title=dict(text=title, font=dict(size=14)),
        shapes=shapes,
        height=height,
        margin=dict(l=5, r=5, t=40, b=5),
    )
    figure.update_xaxes(visible=False, constrain="domain")
    figure.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    return figure


def transposed_figure(steps: dict) -> go.Figure:
    """Each pooled value times the filter at stride 2 (one panel each), then their sum."""
    parts, total = steps["transposed_parts"], steps["transposed_full"]
    pooled = steps["pooled"].ravel()
    titles = [f"{_number(v)} x filter" for v in pooled] + ["sum (overlaps add)"]
    figure = make_subplots(1, len(parts) + 1, subplot_titles=titles, horizontal_spacing=0.02)
    for k, canvas in enumerate([*parts, total], start=1):
        figure.add_trace(
            go.Heatmap(
                z=canvas,
                text=[[_number(v) if v else "" for v in row] for row in canvas],
                texttemplate="%{text}",
                colorscale="Oranges",
                showscale=False,
                xgap=1,
                ygap=1,
                hovertemplate="%{z}<extra></extra>",
            ),
            row=1,
            col=k,
        )
    size = steps["transposed"].shape[0]
    figure.add_shape(
        type="rect",
        x0=-0.5,
        x1=size - 0.5,
        y0=-0.5,
        y1=size - 0.5,
        line=dict(color="crimson", width=3, dash="dash"),
        row=1,
        col=len(parts) + 1,
    )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, autorange="reversed")
    figure.update_layout(height=240, margin=dict(l=5, r=5, t=40, b=5))
    return figure


def colourise(masks: np.ndarray) -> np.ndarray:
    """Class indices (..., h, w) -> uint8 RGB (..., h, w, 3) with ``PALETTE``."""
    return PALETTE[np.asarray(masks).astype(np.int64) % len(PALETTE)]


def prediction_grid(
    images: np.ndarray, truth: np.ndarray | None, predictions: dict[str, np.ndarray]
) -> go.Figure:
    """Rows: images; columns: input, truth (if given), then each mode's prediction."""
    columns = {"input": None}
    if truth is not None:
        columns["truth"] = colourise(truth)
    columns.update({mode: colourise(masks) for mode, masks in predictions.items()})
    count = len(images)
    figure = make_subplots(
        count,
        len(columns),
        subplot_titles=[name if i == 0 else "" for i in range(count) for name in columns],
        horizontal_spacing=0.01,
        vertical_spacing=0.02,
    )
    for i in range(count):
        pixels = np.clip(images[i], 0, 1)
        if pixels.shape[-1] == 1:
            pixels = np.repeat(pixels, 3, axis=-1)
        for j, (name, coloured) in enumerate(columns.items(), start=1):
            z = (pixels * 255).astype(np.uint8) if name == "input" else coloured[i]
            figure.add_trace(go.Image(z=z, hoverinfo="skip"), row=i + 1, col=j)
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    figure.update_layout(height=130 * count + 40, margin=dict(l=5, r=5, t=30, b=5))
    return figure


# key -> (column label, decimals shown)
TABLE_COLUMNS = {
    "parameters": ("parameters", 0),
    "activation_mib_per_image": ("MiB/image", 2),
    "seconds_per_epoch": ("s/epoch", 1),
    "inference_ms_per_image": ("ms/image", 2),
    "pixel_accuracy": ("pixel acc.", 3),
    "mean_iou": ("mean IoU", 3),
    "boundary_f1": ("boundary F1", 3),
}


def comparison_table(rows: dict[str, dict]) -> dict[str, list]:
    """SegNet Table 1 style: one row per mode, columns in ``TABLE_COLUMNS`` order, rounded."""
    table = {"unpooling": list(rows)}
    for key, (label, decimals) in TABLE_COLUMNS.items():
        values = [rows[mode].get(key) for mode in rows]
        table[label] = [None if v is None else round(float(v), decimals) for v in values]
        if decimals == 0:
            table[label] = [None if v is None else int(v) for v in table[label]]
    return table


def legend_markdown(class_names: list[str]) -> str:
    """Inline colour swatches for the classes (HTML spans)."""
    parts = []
    for k, name in enumerate(class_names):
        r, g, b = (int(v) for v in PALETTE[k % len(PALETTE)])
        parts.append(
            f"<span style='background:rgb({r},{g},{b});padding:0 0.8em;margin-right:0.3em'>"
            f"</span>{name}"
        )
    return " &nbsp; ".join(parts)
