"""The verdict and learning-curve charts say what they show."""

from mml7 import transfer
from mml7.plots import transfer as figures
from mml7.transfer import Strategy

ROWS = [
    {"strategy": name, "validation_accuracy": accuracy}
    for name, accuracy in zip(transfer.ROW_STRATEGY, (0.9, 0.95, 0.5, 0.92), strict=True)
]


def _verdict(advised: Strategy) -> transfer.Verdict:
    return transfer.Verdict(advised, ROWS[1]["strategy"], 0.95, None, False, "")


def test_verdict_chart_colours_the_advised_rows_or_says_there_are_none():
    figure = figures.verdict_chart(ROWS, _verdict(Strategy.TRAIN_HEAD))
    colours = list(figure.data[0].marker.color)
    # (a) and (d) both train heads on frozen features.
    assert [c == figures.LIT for c in colours] == [True, False, False, True]
    assert "Green" in figure.layout.title.text
    figure = figures.verdict_chart(ROWS, _verdict(Strategy.COLLECT_MORE_DATA))
    assert figures.LIT not in list(figure.data[0].marker.color)
    assert "collect more data" in figure.layout.title.text


def test_verdict_chart_bars_carry_their_interval_on_the_validation_images():
    figure = figures.verdict_chart(ROWS, _verdict(Strategy.TRAIN_HEAD), num_validation=20)
    low, high = transfer.accuracy_interval(0.9, 20)
    assert figure.data[0].error_y.array[0] == high - 0.9
    assert figure.data[0].error_y.arrayminus[0] == 0.9 - low
    assert "95% interval on 20 validation images" in figure.layout.title.text
    assert figures.verdict_chart(ROWS, _verdict(Strategy.TRAIN_HEAD)).data[0].error_y.array is None


def test_learning_curve_chart_keeps_accuracy_on_its_scale():
    points = [
        {"fraction": f, "train_images": int(100 * f), "accuracy": 0.98} for f in (0.1, 0.5, 1.0)
    ]
    figure = figures.learning_curve_chart(points, Strategy.TRAIN_HEAD)
    assert list(figure.data[0].y) == [0.98] * 3
    assert tuple(figure.layout.yaxis.range) == (0, 1.05)


def test_advice_table_lights_the_advised_cell_and_wraps_its_words():
    advice = transfer.recommend(10, similar=True)
    figure = figures.advice_table(advice, 500, 0.5)
    texts = [annotation.text for annotation in figure.layout.annotations]
    assert len(texts) == 4 and "<b>train the head<br>(last MLP layers)</b>" in texts
    assert sum(text.startswith("<b>") for text in texts) == 1
    assert [shape.fillcolor for shape in figure.layout.shapes].count(figures.LIT) == 1
