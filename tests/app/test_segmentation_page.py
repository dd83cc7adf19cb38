"""The segmentation page (AppTest): every tab's main control by key, shipped and missing weights."""

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app.caches import segmentation as cached
from mml7 import data, unpooling
from mml7 import segmentation as seg
from tests.helpers import open_page, png_bytes, zip_bytes

SHIPPED = all(seg.weights_path(mode).exists() for mode in seg.UNPOOLING_MODES)


def open_tab(name: str) -> AppTest:
    at = open_page("segmentation", 300)
    at.session_state["seg_tab"] = name
    return at.run()


def lesson(at) -> str:
    """The tab's lesson line (widgets.lesson)."""
    return next(m.value for m in at.markdown if "**Measured here:**" in m.value)


def charts(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def chart_titled(at, start: str) -> dict:
    return next(
        c for c in charts(at) if c["layout"].get("title", {}).get("text", "").startswith(start)
    )


def z_of(chart: dict) -> np.ndarray:
    """The first trace's z, also when Plotly sent it as a typed array (dtype, bdata, shape)."""
    z = chart["data"][0]["z"]
    if isinstance(z, dict):
        shape = [int(side) for side in str(z["shape"]).split(",")]
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)
    return np.asarray(z)


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """The page as a fresh checkout sees it before `python -m mml7 train segmentation`."""
    monkeypatch.setenv("MML7_WEIGHTS", str(tmp_path))
    cached.summary.clear()
    yield
    cached.summary.clear()


def test_steps_tab_typed_and_random_inputs():
    at = open_tab("Unpooling step by step")
    assert not at.exception, [e.value for e in at.exception]
    assert "max pooling keeps 4 of 16 values" in lesson(at)
    at.radio(key="seg_input").set_value("typed").run()
    at.text_area(key="seg_matrix").set_value("1 5 2 0\n3 5 0 4\n0 0 7 1\n0 0 2 9").run()
    assert not at.exception
    unpooled = z_of(chart_titled(at, "max unpooling"))
    # Tie (5, 5): the first in row-major order is remembered.
    assert unpooled.tolist() == [[0, 5, 0, 0], [0, 0, 0, 4], [0, 0, 0, 0], [0, 0, 0, 9]]
    assert z_of(chart_titled(at, "nearest"))[0].tolist() == [5, 5, 4, 4]
    transposed = z_of(chart_titled(at, "transposed"))
    _, _, expected = unpooling.transposed_contributions(
        np.array([[5, 4], [0, 9]], "float32"), unpooling.EXAMPLE_FILTER
    )
    np.testing.assert_allclose(transposed, expected)

    at.text_area(key="seg_matrix").set_value("1 2 3\n4 5 6").run()
    assert not at.exception
    assert at.error[0].value.startswith("got 2 rows of 3 numbers; need 4 rows of 4 numbers")

    at.radio(key="seg_input").set_value("random").run()
    at.number_input(key="seg_seed").set_value(3).run()
    assert not at.exception
    shown = z_of(chart_titled(at, "input"))
    np.testing.assert_array_equal(shown, unpooling.random_input(3))


@pytest.mark.skipif(not SHIPPED, reason="shipped segmentation weights not trained yet")
def test_compare_tab_shows_the_shipped_table_and_predictions():
    at = open_tab("Train and compare")
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    rows = seg.shipped_summary()["modes"]
    assert list(table["unpooling"]) == list(rows)
    np.testing.assert_allclose(table["mean IoU"], [rows[m]["mean_iou"] for m in rows], atol=5e-4)
    assert list(table["parameters"]) == [rows[m]["parameters"] for m in rows]
    grid = charts(at)[-1]
    # One mosaic: 4 scenes x (input, truth, modes), the columns titled above it.
    assert len(grid["data"]) == 1 and grid["data"][0]["source"].startswith("data:image/png")
    assert [note["text"] for note in grid["layout"]["annotations"]] == ["input", "truth", *rows]
    best = max(rows, key=lambda mode: rows[mode]["mean_iou"])
    ratio = rows[best]["mean_iou"] / rows["none"]["mean_iou"]
    assert f"{best} unpooling, mean IoU {rows[best]['mean_iou']:.3f}, {ratio:.1f}x" in lesson(at)
    assert "seg_csv_shapes" in download_keys(at)
    # Seed spreads and the boundary verdict appear once the record has several seeds.
    several = all(len(row.get("mean_iou_seeds", [])) > 1 for row in rows.values())
    assert ("mean IoU over seeds" in table.columns) == several
    verdicts = [m.value for m in at.markdown if "boundary F1 at 1 px" in m.value]
    assert len(verdicts) == several


THIN_SHIPPED = all(seg.weights_path(m, scenes="thin").exists() for m in seg.SCENES["thin"].modes)


@pytest.mark.skipif(not THIN_SHIPPED, reason="shipped thin-structure segmenters not trained yet")
def test_compare_tab_shows_the_thin_structure_models_and_their_verdict():
    at = open_tab("Train and compare")
    at.radio(key="seg_scenes").set_value("thin").run()
    assert not at.exception, [e.value for e in at.exception]
    rows = seg.shipped_summary(scenes="thin")["modes"]
    table = at.dataframe[0].value
    assert list(table["unpooling"]) == list(rows) == list(seg.SCENES["thin"].modes)
    np.testing.assert_allclose(table["mean IoU"], [rows[m]["mean_iou"] for m in rows], atol=5e-4)
    grid = charts(at)[-1]
    assert [note["text"] for note in grid["layout"]["annotations"]] == ["input", "truth", *rows]
    assert "3,000 generated 64 px scenes" in " ".join(m.value for m in at.markdown)
    (verdict,) = [m.value for m in at.markdown if "boundary F1 at 1 px" in m.value]
    assert "over 3 seeds" in verdict
    assert any(e.proto.id.endswith("-seg_csv_thin") for e in at.get("download_button"))


def test_remeasure_times_every_mode_together_here():
    at = open_tab("Train and compare")
    at.button(key="seg_remeasure_shapes").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (timing,) = [f.value for f in at.dataframe if "s/epoch x fastest" in f.value.columns]
    assert list(timing["unpooling"]) == list(seg.shipped_summary()["modes"])
    assert timing["s/epoch x fastest"].min() == 1.0 and timing["ms/image x fastest"].min() == 1.0
    assert any(c.value.startswith("Measured here: every mode timed together") for c in at.caption)
    at.run()  # the measurement stays on screen
    assert any("s/epoch x fastest" in f.value.columns for f in at.dataframe)


def download_keys(at) -> set[str]:
    """The keys of the download buttons on the page (their element ids end with the key)."""
    ids = [element.proto.id for element in at.get("download_button")]
    return {key for key in KEYS if any(id_.endswith(f"-{key}") for id_ in ids)}


KEYS = ("seg_csv_shapes", "seg_csv_retrained", "seg_model_max")


def test_retrain_with_a_tiny_configuration():
    at = open_tab("Train and compare")
    at.multiselect(key="seg_modes").set_value(["max"])
    at.number_input(key="seg_epochs").set_value(1)
    at.select_slider(key="seg_count").set_value(64)
    at.button(key="seg_train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[-1].value
    # The retrained model, then its references on the same 64 test scenes.
    rows = ["max", "reference: all 'background'", "reference: shipped max"]
    assert list(table["unpooling"]) == rows
    assert 0 <= table["mean IoU"][0] <= 1
    test = seg.make_dataset("shapes", 64, 10_000)
    everything_background = seg.evaluate(test.masks, np.zeros_like(test.masks), 4)
    assert table["mean IoU"][1] == pytest.approx(everything_background["mean_iou"], abs=1e-3)
    shipped = seg.predict_classes(seg.pretrained("max"), test.images)
    expected = seg.evaluate(test.masks, shipped, 4)["mean_iou"]
    assert table["mean IoU"][2] == pytest.approx(expected, abs=1e-3)
    assert table["parameters"][1:].isna().all()  # references have scores only,
    assert at.dataframe[-1].proto.placeholder == "-"  # shown as "-", not "None"
    assert {"seg_csv_retrained", "seg_model_max"} <= download_keys(at)

    at.run()  # another rerun (a download click reruns nothing, a widget does): still there
    assert list(at.dataframe[-1].value["unpooling"]) == rows
    assert "seg_model_max" in download_keys(at)
    at.number_input(key="seg_epochs").set_value(2).run()  # a new configuration: gone
    assert "seg_model_max" not in download_keys(at)
    assert "seg_retrained" not in at.session_state

    at.radio(key="seg_dataset").set_value("upload").run()
    at.button(key="seg_train").click().run()
    assert not at.exception
    assert "Upload a zip" in at.error[0].value


def test_fashion_scenes_without_fashion_mnist_are_told_before_the_queue(monkeypatch, tmp_path):
    """Offline, with Fashion-MNIST nowhere here: the retrain says how to get it at once
    instead of after its turn in the training queue, and trains nothing."""
    from mml7 import resources, worker

    monkeypatch.setenv("MML7_FASHION_MNIST_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("MML7_OFFLINE", "1")
    resources.network_available.cache_clear()
    trained = []
    monkeypatch.setattr(worker, "run", lambda *args, **kwargs: trained.append(args))
    try:
        at = open_tab("Train and compare")
        at.radio(key="seg_dataset").set_value("fashion").run()
        at.button(key="seg_train").click().run()
    finally:
        resources.network_available.cache_clear()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [data.FASHION_MNIST_HOWTO] and trained == []


def test_missing_weights_say_how_to_train(no_weights):
    for tab in ("Train and compare", "Segment your image"):
        at = open_tab(tab)
        assert not at.exception
        assert any("python -m mml7 train segmentation" in info.value for info in at.info)


@pytest.mark.skipif(not SHIPPED, reason="shipped segmentation weights not trained yet")
def test_segment_tab_samples_upload_and_bad_files():
    at = open_tab("Segment your image")
    assert not at.exception, [e.value for e in at.exception]
    config = seg.shipped_summary()["config"]
    note = at.caption[0].value
    assert f"{config['train_images']:,} generated {config['image_size']} px scenes" in note
    assert "expect mostly background" not in note
    samples = at.selectbox(key="seg_sample").options
    assert samples[0] == cached.SHAPES_SAMPLE and {"astronaut", "coffee", "chelsea"} <= set(samples)
    # The shapes scene is what the models know: its shapes are found.
    assert "background" in lesson(at) and "disc 0%, square 0%, triangle 0%" not in lesson(at)
    at.selectbox(key="seg_sample").set_value("astronaut").run()
    assert not at.exception
    shares = [int(part.split()[-1].rstrip("%")) for part in lesson(at).split(": ")[-1].split(", ")]
    assert len(shares) == 4 and abs(sum(shares) - 100) <= 2

    scene = seg.shipped_test_set(0, 1)
    pixels = (scene.images[0] * 255).astype(np.uint8)
    at.file_uploader(key="seg_upload").set_value(
        ("scene.png", png_bytes(pixels), "image/png")
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    titles = [note["text"] for note in charts(at)[-1]["layout"]["annotations"]]
    assert len(titles) == 2 and titles[0] == "input"  # the image and its predicted mask

    at.file_uploader(key="seg_upload").set_value(("photo.png", b"not a png", "image/png")).run()
    assert not at.exception
    assert "'photo.png' is not a readable image" in at.error[0].value
    # The uploader takes image suffixes only; a zip under an image's name is named a zip.
    zipped = zip_bytes({"a.png": png_bytes(pixels)})
    at.file_uploader(key="seg_upload").set_value(("a.png", zipped, "image/png")).run()
    assert "'a.png' is a zip archive; this takes one image" in at.error[0].value


def test_legend_escapes_class_names():
    from app import segmentation_parts as parts

    class Recorder:
        def markdown(self, text, unsafe_allow_html=False):
            self.text = text

    where = Recorder()
    parts.legend(where, ["<img src=x onerror=alert(1)>", "**bold** & :red[x]"])
    assert "<img" not in where.text and "&lt;img src=x onerror=alert\\(1\\)&gt;" in where.text
    assert r"\*\*bold\*\* &amp; \:red\[x\]" in where.text


def test_verdict_says_which_differences_exceed_the_seed_spread():
    from app import segmentation_parts as parts

    def row(iou, f1):
        seeds = [0.0, 0.0, 0.0]
        return {
            **{"mean_iou_mean": iou, "mean_iou_std": 0.01, "mean_iou_seeds": seeds},
            **{"boundary_f1_1px_mean": f1, "boundary_f1_1px_std": 0.002},
            "boundary_f1_1px_seeds": seeds,
        }

    thin = parts.boundary_verdict({"max": row(0.84, 0.999), "nearest": row(0.75, 0.991)})
    assert thin.startswith("**Max unpooling draws sharper edges than nearest")
    assert "max unpooling does better too: max 0.840 vs nearest 0.750" in thin
    assert "2 x 2 blocks" in thin
    shapes = parts.boundary_verdict({"max": row(0.922, 0.983), "nearest": row(0.915, 0.984)})
    assert "no boundary advantage" in shapes and "Mean IoU: max 0.922" in shapes
    assert "2 x 2 blocks" not in shapes
    assert parts.boundary_verdict({"max": {}, "nearest": {}}) is None
