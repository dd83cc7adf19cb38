"""Plotly figures of the transfer-learning advisor: the table, depths, curves, verdict."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mml7.transfer import (
    ROW_STRATEGY,
    Advice,
    DepthScore,
    Strategy,
    Verdict,
    accuracy_interval,
)

LIT, DIM = "#2e7d32", "#eceff1"

# A table cell's text: ``Strategy.short`` broken into lines that fit the cell.
CELL_TEXT = {
    Strategy.TRAIN_HEAD: "train the head<br>(last MLP layers)",
    Strategy.FINE_TUNE: "fine-tune<br>deeper layers",
    Strategy.FROM_SCRATCH: "train from scratch",
    Strategy.COLLECT_MORE_DATA: "collect more data",
}


def advice_table(advice: Advice, big_threshold: int, similarity_threshold: float) -> go.Figure:
    """The lecture's 2x2 table with the data set's cell lit."""
    cells = {
        (0, 1): Strategy.TRAIN_HEAD,
        (1, 1): Strategy.FINE_TUNE,
        (1, 0): Strategy.FROM_SCRATCH,
        (0, 0): Strategy.COLLECT_MORE_DATA,
    }
    figure = go.Figure()
    for (column, row), strategy in cells.items():
        lit = strategy is advice.strategy
        figure.add_shape(
            type="rect",
            x0=column,
            x1=column + 1,
            y0=row,
            y1=row + 1,
            fillcolor=LIT if lit else DIM,
            line={"color": "white", "width": 4},
        )
        figure.add_annotation(
            x=column + 0.5,
            y=row + 0.5,
            text=f"<b>{CELL_TEXT[strategy]}</b>" if lit else CELL_TEXT[strategy],
            showarrow=False,
            font={"color": "white" if lit else "#37474f", "size": 14},
            width=180,
        )
    figure.update_xaxes(
        range=[0, 2],
        tickvals=[0.5, 1.5],
        ticktext=[f"small (< {big_threshold:,} per class)", f"big (>= {big_threshold:,})"],
        showgrid=False,
        zeroline=False,
    )
    figure.update_yaxes(
        range=[0, 2],
        tickvals=[0.5, 1.5],
        ticktext=[
            f"not similar<br>(< {similarity_threshold:.2f})",
            f"similar to ImageNet<br>(>= {similarity_threshold:.2f})",
        ],
        showgrid=False,
        zeroline=False,
    )
    figure.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure


def depth_chart(scores: list[DepthScore], recommended: str) -> go.Figure:
    """Linear-probe accuracy (left axis) and LogME (right axis) per cut depth."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    cuts = [f"{s.cut} (d={s.dimensions})" for s in scores]
    figure.add_scatter(
        x=cuts, y=[s.probe_accuracy for s in scores], name="linear probe accuracy (CV)"
    )
    figure.add_scatter(
        x=cuts,
        y=[s.logme for s in scores],
        name="LogME",
        line={"dash": "dot"},
        secondary_y=True,
    )
    best = [c for c, s in zip(cuts, scores, strict=True) if s.cut == recommended]
    if best:
        figure.add_vline(x=cuts.index(best[0]), line={"color": LIT, "width": 2})
    figure.update_yaxes(title_text="probe accuracy", secondary_y=False)
    figure.update_yaxes(title_text="LogME", secondary_y=True)
    figure.update_layout(
        height=320,
        title=f"Transferability per depth: cut at {recommended}",
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 40},
    )
    return figure


def training_curves(curves: dict[str, dict[str, list[float]]]) -> go.Figure:
    """Validation loss and accuracy per epoch for every strategy trained so far."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("validation loss", "validation acc."))
    for index, (name, history) in enumerate(curves.items()):
        colour = ["#1565c0", "#ef6c00", "#6a1b9a", "#2e7d32"][index % 4]
        for column, key in ((1, "val_loss"), (2, "val_accuracy")):
            values = history.get(key, [])
            figure.add_scatter(
                x=list(range(1, len(values) + 1)),
                y=values,
                name=name,
                legendgroup=name,
                showlegend=column == 1,
                line={"color": colour},
                row=1,
                col=column,
            )
    figure.update_xaxes(title_text="epoch")
    figure.update_layout(height=300, legend={"orientation": "h", "y": -0.3}, margin={"t": 30})
    return figure


def predicted_chart(predicted: dict, intervals: dict, recommended: str) -> go.Figure:
    """The measured recommendation's predicted validation accuracy per strategy (keys of
    ``measured.STRATEGY_KEYS``) with 95% intervals; the recommended one green."""
    keys = list(predicted)
    values = [predicted[key] for key in keys]
    figure = go.Figure(
        go.Bar(
            x=[key.replace("_", " ") for key in keys],
            y=values,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [intervals[key][1] - predicted[key] for key in keys],
                "arrayminus": [predicted[key] - intervals[key][0] for key in keys],
            },
            marker_color=[LIT if key == recommended else "#90a4ae" for key in keys],
            text=[f"{value:.1%}" for value in values],
            textposition="inside",
        )
    )
    figure.update_yaxes(range=[0, 1.1], title_text="predicted validation accuracy")
    figure.update_layout(
        height=300, title="Predicted from cheap signals (95% intervals)", margin={"t": 40}
    )
    return figure


def verdict_chart(
    rows: list[dict],
    result: Verdict,
    num_validation: int | None = None,
    predicted: dict | None = None,
) -> go.Figure:
    """Validation accuracy per strategy; the advised strategy's bars are green. With
    ``num_validation``, each bar carries its 95% Wilson interval; with ``predicted`` (row
    name -> the measured recommendation's prediction) a marker shows each prediction."""
    colours = [
        LIT if ROW_STRATEGY.get(row["strategy"]) is result.advised else "#90a4ae" for row in rows
    ]
    accuracies = [row["validation_accuracy"] for row in rows]
    error = None
    if num_validation:
        bounds = [accuracy_interval(a, num_validation) for a in accuracies]
        error = {
            "type": "data",
            "symmetric": False,
            "array": [high - a for a, (_, high) in zip(accuracies, bounds, strict=True)],
            "arrayminus": [a - low for a, (low, _) in zip(accuracies, bounds, strict=True)],
        }
    figure = go.Figure(
        go.Bar(
            x=[row["strategy"] for row in rows],
            y=accuracies,
            error_y=error,
            marker_color=colours,
            text=[f"{a:.1%}" for a in accuracies],
            textposition="inside",
        )
    )
    if predicted:
        names = [row["strategy"] for row in rows if row["strategy"] in predicted]
        figure.add_scatter(
            x=names,
            y=[predicted[name] for name in names],
            mode="markers",
            marker={"symbol": "diamond", "size": 12, "color": "#ef6c00"},
            name="predicted (measured recommendation)",
        )
        figure.update_layout(legend={"orientation": "h", "y": -0.25})
    figure.update_yaxes(range=[0, 1.1], title_text="validation accuracy")
    advised = any(colour == LIT for colour in colours)
    title = (
        "Green: the advised strategy"
        if advised
        else "The advice was to collect more data: the learning curve judges it"
    )
    if num_validation:
        title += f"; bars: 95% interval on {num_validation} validation images"
    figure.update_layout(height=320, title=title, margin={"t": 40})
    return figure


def learning_curve_chart(points: list[dict], strategy: Strategy) -> go.Figure:
    """Validation accuracy against training images (points of ``learning_curve``)."""
    figure = go.Figure(
        go.Scatter(
            x=[p["train_images"] for p in points],
            y=[p["accuracy"] for p in points],
            mode="lines+markers",
            text=[f"{p['fraction']:.0%}" for p in points],
        )
    )
    figure.update_xaxes(title_text="training images", rangemode="tozero")
    figure.update_yaxes(title_text="validation accuracy", range=[0, 1.05])
    figure.update_layout(height=300, title=f"Learning curve: {strategy.short}", margin={"t": 40})
    return figure
