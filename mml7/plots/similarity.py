"""Plotly figures for the similar-images comparison (no streamlit; pages render them).

Both take the tables of ``mml7.similarity.comparison_tables``.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go


def retrieval_figure(table: pd.DataFrame, metric: str) -> go.Figure:
    """Grouped bars of precision@10 and mAP per representation.

    Args:
        table: one row per representation (index), columns "precision@10" and "mAP".
        metric: the distance, for the title.
    """
    long = table[["precision@10", "mAP"]].reset_index(names="representation")
    long = long.melt("representation", var_name="score")
    return px.bar(
        long,
        x="representation",
        y="value",
        color="score",
        barmode="group",
        range_y=[0, 1],
        title=f"Retrieval by class ({metric}, leave-one-out)",
    )


def probe_figure(probe: pd.DataFrame) -> go.Figure:
    """Grouped bars of probe accuracy (± std over draws) per representation.

    Args:
        probe: rows with "representation", "labelled per class" (str), "accuracy", "std".
    """
    return px.bar(
        probe,
        x="representation",
        y="accuracy",
        error_y="std",
        color="labelled per class",
        barmode="group",
        range_y=[0, 1],
        title="Few-label probe: logistic-regression accuracy",
    )
