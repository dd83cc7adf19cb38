"""Plotly figures for segmentation: the 4x4 unpooling steps (computed by
``mml7.unpooling``), the comparison table and prediction grids. NumPy in, figures out."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mml7.plots.mosaic import mosaic_figure

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


def _number(value: float) -> str:
    """A cell label: integers bare, others to 2 decimals, never "-0" (a negative zero or a
    small negative value rounded to zero reads as 0)."""
    value = round(float(value), 2) + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{value:.0f}" if value.is_integer() else f"{value:.2f}"


# Zero is white and the sign shows in the hue (negative red, positive blue), so zeros
# (empty unpooled cells, filter copies' margins) read as empty whatever the signs around.
DIVERGING = "RdBu"


def _zero_anchored(values: np.ndarray) -> dict:
    """Heatmap colour settings whose scale is symmetric around zero."""
    largest = float(np.max(np.abs(values))) if np.size(values) else 0.0
    largest = largest or 1.0
    return dict(colorscale=DIVERGING, zmid=0.0, zmin=-largest, zmax=largest)


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
            **_zero_anchored(values),
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


# The four ways back up, with the title each gets in the step-by-step panels.
STEP_TITLES = {
    "nearest": "nearest: copies",
    "bilinear": "bilinear: blends",
    "max": "max unpooling",
    "transposed": "transposed conv",
}


def unpooling_step_figures(steps: dict) -> dict[str, go.Figure]:
    """The four 4x4 results of ``mml7.unpooling.unpooling_steps`` as {mode: figure}, max
    unpooling with the remembered positions outlined."""
    marked = steps["mask"] > 0
    return {
        mode: matrix_figure(steps[mode], title, marked if mode == "max" else None)
        for mode, title in STEP_TITLES.items()
    }


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
                **_zero_anchored(np.concatenate([parts.ravel(), total.ravel()])),
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
    """Rows: images; columns: input, truth (if given), then each mode's prediction; one
    mosaic picture (``mosaic.mosaic_figure``)."""
    columns = {}
    if truth is not None:
        columns["truth"] = colourise(truth)
    columns.update({mode: colourise(masks) for mode, masks in predictions.items()})
    rows = [
        [np.clip(image, 0, 1), *(coloured[i] / 255.0 for coloured in columns.values())]
        for i, image in enumerate(images)
    ]
    return mosaic_figure(rows, column_titles=["input", *columns], row_height=130)


# key -> (column label, decimals shown)
TABLE_COLUMNS = {
    "parameters": ("parameters", 0),
    "activation_mib_per_image": ("MiB/image", 2),
    "seconds_per_epoch": ("s/epoch", 1),
    "inference_ms_per_image": ("ms/image", 2),
    "pixel_accuracy": ("pixel acc.", 3),
    "mean_iou": ("mean IoU", 3),
    "boundary_f1": ("boundary F1", 3),
    "boundary_f1_1px": ("boundary F1 (1 px)", 3),
}
# key of a per-seed score -> the label of its "mean +- standard deviation" column.
SEED_COLUMNS = {
    "mean_iou": "mean IoU over seeds",
    "boundary_f1": "boundary F1 (2 px) over seeds",
    "boundary_f1_1px": "boundary F1 (1 px) over seeds",
}


def comparison_table(rows: dict[str, dict]) -> dict[str, list]:
    """SegNet Table 1 style: one row per mode, columns in ``TABLE_COLUMNS`` order, rounded;
    where the rows have scores over several seeds, "mean ± std (seeds)" columns follow."""
    table = {"unpooling": list(rows)}
    for key, (label, decimals) in TABLE_COLUMNS.items():
        values = [rows[mode].get(key) for mode in rows]
        table[label] = [None if v is None else round(float(v), decimals) for v in values]
        if decimals == 0:
            table[label] = [None if v is None else int(v) for v in table[label]]
    if any(f"{key}_mean" in row for row in rows.values() for key in SEED_COLUMNS):
        for key, label in SEED_COLUMNS.items():
            table[label] = [_mean_and_spread(row, key) for row in rows.values()]
    return table


def _mean_and_spread(row: dict, key: str) -> str | None:
    """ "0.883 +- 0.004 (3)": mean, standard deviation and number of seeds of a score."""
    if f"{key}_mean" not in row:
        return None
    seeds = len(row.get(f"{key}_seeds", []))
    return f"{row[f'{key}_mean']:.3f} ± {row[f'{key}_std']:.3f} ({seeds})"
