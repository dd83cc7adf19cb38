"""The step-by-step numbers the page draws are the ones Keras computes."""

import keras
import numpy as np

from mml7 import unpooling
from mml7.plots import segmentation as figures


def test_transposed_contributions_equal_keras_conv2d_transpose():
    values = np.array([[5, 4], [0, 9]], "float32")
    parts, total, cropped = unpooling.transposed_contributions(values, unpooling.EXAMPLE_FILTER)
    assert parts.shape == (4, 5, 5) and total.shape == (5, 5) and cropped.shape == (4, 4)
    # Each part is one value times the filter at a stride-2 offset; they sum to the total.
    np.testing.assert_allclose(parts[3, 2:5, 2:5], 9 * unpooling.EXAMPLE_FILTER)
    np.testing.assert_allclose(parts.sum(0), total)
    layer = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", use_bias=False)
    layer.build((1, 2, 2, 1))
    layer.set_weights([unpooling.EXAMPLE_FILTER[:, :, None, None]])
    expected = np.asarray(layer(values[None, :, :, None]))[0, :, :, 0]
    np.testing.assert_allclose(cropped, expected, rtol=1e-6)


def test_unpooling_steps_on_a_typed_input():
    x = unpooling.parse_matrix("1 5 2 0\n3 5 0 4\n0,0,7,1\n0 0 2 9")
    steps = unpooling.unpooling_steps(x)
    assert steps["pooled"].tolist() == [[5, 4], [0, 9]]
    assert steps["nearest"][:2].tolist() == [[5, 5, 4, 4], [5, 5, 4, 4]]
    # Ties: the first 5 of (5, 5) and the top-left 0 of the all-zero window are remembered.
    assert steps["max"].tolist() == [[0, 5, 0, 0], [0, 0, 0, 4], [0, 0, 0, 0], [0, 0, 0, 9]]
    assert steps["mask"][2:, :2].tolist() == [[1, 0], [0, 0]] and steps["mask"].sum() == 4


def test_heatmaps_are_zero_anchored_and_never_say_minus_zero():
    x = np.array([[-3, 0, 1, 2], [0, -0.001, 4, 0], [-1, -2, -1, -2], [5, 0, -3, -4]], "float32")
    steps = unpooling.unpooling_steps(x)
    for figure in [
        figures.matrix_figure(x, "input"),
        *figures.unpooling_step_figures(steps).values(),
    ]:
        trace = figure.data[0]
        # Zero sits at the middle of a diverging scale (white), whatever the signs.
        assert trace.zmid == 0 and trace.zmin == -trace.zmax > -np.inf
        assert not {"-0", "-0.00"} & {label for row in trace.text for label in row}
    assert figures.matrix_figure(x, "input").data[0].text[1][1] == "0"
    transposed = figures.transposed_figure(steps)
    assert {trace.zmax for trace in transposed.data} == {-transposed.data[0].zmin}
    assert all(trace.zmid == 0 for trace in transposed.data)
    labels = [label for trace in transposed.data for row in trace.text for label in row]
    assert steps["pooled"][1, 1] == -1 and "-0.25" in labels  # -1 x the filter's corner
    assert not {"-0", "-0.00"} & set(labels)


def test_comparison_table_and_colours():
    rows = {"max": {"parameters": 10.0, "mean_iou": 0.81234, "seconds_per_epoch": 3.21}}
    table = figures.comparison_table(rows)
    assert table["unpooling"] == ["max"] and table["parameters"] == [10]
    assert table["mean IoU"] == [0.812] and table["s/epoch"] == [3.2]
    assert table["pixel acc."] == [None]
    assert "mean IoU over seeds" not in table  # one seed: no spread columns
    rows["max"] |= {"mean_iou_mean": 0.8812, "mean_iou_std": 0.0043, "mean_iou_seeds": [1, 2, 3]}
    rows["none"] = {"mean_iou": 0.4}
    table = figures.comparison_table(rows)
    assert table["mean IoU over seeds"] == ["0.881 ± 0.004 (3)", None]
    assert figures.colourise(np.array([[0, 1]])).shape == (1, 2, 3)
