"""The transfer-learning page (AppTest): measured advice, the threshold, bad uploads, and the
whole flow on LFW faces with the cached ImageNet MobileNet."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mml7 import backbones, transfer
from tests.helpers import open_page, png_bytes, zip_bytes

pytestmark = pytest.mark.skipif(
    backbones.available_backbones()[backbones.DEFAULT_BACKBONE] is not None,
    reason="MobileNet weights not in the Keras cache",
)


def lfw_page() -> AppTest:
    at = open_page("transfer_learning", 600)
    at.session_state["dataset"] = "LFW faces vs non-faces"
    at.session_state["size"] = 32
    return at.run()


@pytest.mark.integration
def test_lfw_whole_flow_advice_depths_four_strategies_and_verdict():
    at = lfw_page()
    assert not at.exception, [e.value for e in at.exception]
    advice = at.success[0].value
    # Size is judged on the images trained on: 150 of the 200 (75 per class).
    assert "the 150 training images: 75 (< 500, so small)" in advice
    assert "collect more data" in advice
    labels = [m.label for m in at.metric][:3]
    assert labels == ["Images", "Smallest class (training)", "ImageNet similarity"]
    assert 0 <= float(at.metric[2].value) < transfer.SIMILARITY_THRESHOLD  # faces: not ImageNet
    assert at.metric[3].value in backbones.spec(backbones.DEFAULT_BACKBONE).cut_names
    # Beside the textbook, the measured recommendation with its reason and predictions.
    recommended = [s.value for s in at.success[1:] if "predicted" in s.value]
    assert len(recommended) == 1, [s.value for s in at.success]
    assert any(
        chart.proto.spec and "Predicted from cheap signals" in chart.proto.spec
        for chart in at.get("plotly_chart")
    )

    at.slider(key="big").set_value(50).run()  # 75 per class is now big
    assert "train from scratch" in at.success[0].value

    at.slider(key="big").set_value(500)
    at.number_input(key="head_epochs").set_value(5)
    at.number_input(key="tune_epochs").set_value(1)
    at.number_input(key="scratch_epochs").set_value(1)
    at.run()
    at.button(key="run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert [name[:3] for name in table["strategy"]] == ["(a)", "(b)", "(c)", "(d)"]
    assert table["validation accuracy"].between(0, 1).all()
    assert (table["trainable parameters"] > 0).all()
    assert table["training images"].eq(150).all()
    low, high = transfer.accuracy_interval(table["validation accuracy"][0], 50)
    assert table["95% interval"][0] == f"{low:.3f}-{high:.3f}"
    # (c) near chance gets the why; the page shows exactly the library's sentence.
    rows = [
        {"strategy": s, "validation_accuracy": a, "trainable_params": p}
        for s, a, p in zip(
            table["strategy"],
            table["validation accuracy"],
            table["trainable parameters"],
            strict=True,
        )
    ]
    note = transfer.scratch_note(rows, 2, 150, 50)
    if note:
        assert note in [i.value for i in at.info]
    verdicts = [s.value for s in at.success] + [w.value for w in at.warning]
    assert any("Advice: collect more data" in v for v in verdicts)
    # The measured recommendation is judged too, with its regret or its learning curve.
    assert any(v.startswith("Measured recommendation ") for v in verdicts), verdicts
    # Each section names its slide and the number measured here.
    lessons = [m.value for m in at.markdown if "**Slide:**" in m.value]
    assert any("smaller learning rate" in text and "%" in text for text in lessons)
    assert any("partially reuse ImageNet" in text for text in lessons)
    assert sum("Takeaways" in text for text in lessons) == 2
    downloads = {button.key for button in at.get("download_button")}
    assert {"model_(a)", "model_(b)", "model_(c)", "model_(d)"} <= downloads
    assert {"results_csv", "lc_csv", "depth_csv"} <= downloads
    # The models stay after a rerun with the same settings.
    at.run()
    assert "model_(d)" in {button.key for button in at.get("download_button")}
    # A new head setting keeps the measured inputs but asks for a new run.
    at.number_input(key="head_epochs").set_value(6).run()
    assert not at.exception and any("Press the button" in i.value for i in at.info)
    assert "transfer_run" not in at.session_state  # the old models are not kept


def test_one_class_upload_and_broken_zip_are_explained():
    at = open_page("transfer_learning", 300)
    at.session_state["dataset"] = "Upload a zip"
    at.run()
    assert any("Upload a .zip" in i.value for i in at.info)
    image = png_bytes((np.arange(64).reshape(8, 8) * 4).astype(np.uint8))
    at.file_uploader(key="upload").set_value(
        ("one.zip", zip_bytes({"cats/1.png": image, "cats/2.png": image}), "application/zip")
    )
    at.run()
    assert not at.exception
    assert "at least 2 are needed" in at.error[0].value
    assert any("Everything below is measured on the data set" in i.value for i in at.info)
    at.file_uploader(key="upload").set_value(("bad.zip", b"PK\x03\x04 broken", "application/zip"))
    at.run()
    assert not at.exception and at.error


def test_only_the_fine_tune_probe_goes_to_a_training_process(monkeypatch):
    """Under the served app's NumPy backend (nothing trains in the server), the cheap
    signals run in the server on its cached features; the fine-tune probe, which trains,
    goes to mml7.worker's child (here a stand-in that records it and runs it in place)
    without features: the job extracts them, so the server never runs the backbone."""
    import dataclasses

    from app.caches import transfer as cached
    from mml7 import worker
    from mml7.transfer import measured

    measured_with, children, extracted = [], [], []

    def measure_signals(dataset, config, features, fine_tune, progress=None):
        measured_with.append((features, fine_tune, callable(progress)))
        return "signals"

    def in_a_child(function, args, kwargs, callbacks):
        children.append(function)
        return function(*args, **kwargs, **callbacks)

    def experiment_features(name, upload, config):
        extracted.append(name)
        return {"features": "of the server"}

    monkeypatch.setattr(worker, "can_train_here", lambda: False)
    monkeypatch.setattr(worker, "_run_in_child", in_a_child)
    monkeypatch.setattr(measured, "measure_signals", measure_signals)
    monkeypatch.setattr(measured, "precomputed", lambda name, config: None)
    monkeypatch.setattr(cached, "experiment_features", experiment_features)
    # A configuration no other test caches: each call below is measured, not replayed.
    config = dataclasses.replace(transfer.ExperimentConfig(), seed=987)
    assert cached.signals("Digits (8x8)", None, config, False) == "signals"
    assert children == [] and extracted == ["Digits (8x8)"]
    assert measured_with == [({"features": "of the server"}, False, True)]
    assert cached.signals("Digits (8x8)", None, config, True) == "signals"
    assert children == [measure_signals] and measured_with[-1] == (None, True, True)
    assert extracted == ["Digits (8x8)"]  # not again for the job
