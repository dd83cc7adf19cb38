"""mml7.transfer.measured: the measured recommendation's logic on synthetic signal shapes,
and the ``advise --run --json`` contract."""

import dataclasses
import json

import numpy as np
import pytest

from mml7 import InputError, backbones, data, transfer
from mml7.transfer import measured


def signals(probe=0.8, pixels=0.5, learning=None, fine_tune_gain=None, validation=200):
    return measured.Signals(
        num_classes=2,
        validation_images=validation,
        cut="last",
        probe={"block 5": probe - 0.1, "last": probe},
        knn=probe,
        pixels=pixels,
        learning=learning or [(25, probe), (50, probe), (100, probe), (200, probe)],
        fine_tune_gain=fine_tune_gain,
    )


def test_power_law_extrapolates_a_falling_error_and_keeps_flat_curves_flat():
    # error = n ** -0.5 exactly: twice the 100 images divide the error 0.1 by sqrt(2).
    curve = [(n, 1 - n**-0.5) for n in (25, 50, 100)]
    assert measured.power_law_gain(curve) == pytest.approx(1 - 200**-0.5)
    flat = [(25, 0.7), (50, 0.7), (100, 0.7)]
    assert measured.power_law_gain(flat) == pytest.approx(0.7)
    falling = [(25, 0.8), (50, 0.75), (100, 0.7)]  # more data did worse: no gain predicted
    assert measured.power_law_gain(falling) == pytest.approx(0.7)
    perfect = [(25, 0.9), (50, 1.0)]
    assert measured.power_law_gain(perfect) == 1.0


def test_best_prediction_wins_and_near_ties_go_to_the_cheaper_strategy():
    # A fine-tune probe that gains 10 points beats the head.
    chosen = measured.predict(signals(fine_tune_gain=0.10))
    assert chosen.strategy == "fine_tune"
    assert chosen.predicted["fine_tune"] == pytest.approx(0.9)
    # Half a point on 200 images (margin 1 point) is a tie: the ensemble of heads first
    # (as cheap as a head, less variance), then the head.
    tie = measured.predict(signals(fine_tune_gain=0.005))
    assert tie.strategy == "ensemble" and "within 1% of the best, ensemble goes first" in tie.reason
    worse = dataclasses.replace(signals(fine_tune_gain=0.005), ensemble_probe=0.7)
    assert measured.predict(worse).strategy == "train_head"
    # Pixels (the from-scratch proxy) far above the frozen features: from scratch.
    far = measured.predict(signals(probe=0.6, pixels=0.9))
    assert far.strategy == "from_scratch"
    assert "fine-tuning was not probed" in far.notes[0]


def test_from_scratch_is_predicted_from_pixels_discounted_by_its_steps():
    base = signals(pixels=0.9)  # 2 classes: chance 0.5
    assert measured.scratch_prediction(base) == 0.9  # steps unknown: the pixel probe
    at = {
        steps: measured.scratch_prediction(dataclasses.replace(base, scratch_steps=steps), 100)
        for steps in (0, 100, 100_000)
    }
    assert at[0] == pytest.approx(0.5)
    assert at[100] == pytest.approx(0.5 + 0.4 * (1 - np.exp(-1)))
    assert at[100_000] == pytest.approx(0.9)
    # Few steps: pixels far above the frozen features no longer make from scratch win.
    few = dataclasses.replace(signals(probe=0.6, pixels=0.9), scratch_steps=10)
    assert measured.predict(few).strategy == "ensemble"  # = the head's 0.6: a tie


def test_the_ensemble_is_predicted_by_the_two_probes_together():
    paired = dataclasses.replace(signals(probe=0.8), ensemble_probe=0.86)
    chosen = measured.predict(paired)
    assert chosen.predicted["ensemble"] == 0.86 and chosen.strategy == "ensemble"
    assert measured.predict(signals(probe=0.8)).predicted["ensemble"] == 0.8


def test_intervals_widen_on_few_validation_images():
    few = measured.predict(signals(validation=20)).intervals["train_head"]
    many = measured.predict(signals(validation=2000)).intervals["train_head"]
    assert few[0] < many[0] < 0.8 < many[1] < few[1]


def test_collect_more_data_only_when_twice_the_data_is_predicted_to_pay():
    rising = [(n, 1 - 4 * n**-0.5) for n in (25, 50, 100, 200)]  # 0.20 -> 0.72
    advice = measured.predict(signals(probe=rising[-1][1], learning=rising))
    assert advice.strategy == "collect_more_data"
    assert advice.twice_the_data == pytest.approx(0.8)  # 1 - 4 / sqrt(400): +8.3 points
    assert "twice the training images (+8.3%" in advice.reason
    assert advice.meanwhile == "ensemble"  # what to train while collecting
    high_bar = measured.predict(signals(probe=rising[-1][1], learning=rising), 0.1)
    assert high_bar.strategy == "ensemble" and "twice the data would add 8.3%" in high_bar.reason
    assert high_bar.meanwhile == high_bar.strategy


def test_winners_and_judging_use_two_validation_images():
    results = {"train_head": 0.80, "fine_tune": 0.83, "from_scratch": 0.5, "ensemble": 0.815}
    assert measured.winners(results, 50) == ["train_head", "fine_tune", "ensemble"]  # 4 points
    assert measured.winners(results, 100) == ["fine_tune", "ensemble"]  # 2 points
    assert measured.winners(results, 1000) == ["fine_tune"]  # 1 point
    assert measured.judge("ensemble", results, [], 100)
    assert not measured.judge("train_head", results, [], 1000)
    rising, flat = [(50, 0.7), (100, 0.8)], [(50, 0.8), (100, 0.805)]
    assert measured.judge("collect_more_data", results, rising, 100)
    assert not measured.judge("collect_more_data", results, flat, 100)
    with pytest.raises(InputError, match="learning curve"):
        measured.judge("collect_more_data", results, [], 100)


def test_contract_is_the_documented_json_object():
    rows = [
        {"strategy": name, "validation_accuracy": value}
        for name, value in zip(transfer.ROW_STRATEGY, (0.8, 0.9, 0.5, 0.82), strict=True)
    ]
    textbook = transfer.recommend(20, similar=True)
    chosen = measured.predict(signals(fine_tune_gain=0.1))
    payload = measured.contract(textbook, chosen, rows, [(50, 0.7), (100, 0.8)], 100)
    assert json.loads(json.dumps(payload)) == payload  # plain JSON
    assert payload["textbook"]["strategy"] == "train_head"
    assert payload["measured"]["strategy"] == "fine_tune"
    assert set(payload["measured"]["predicted"]) == set(measured.ROW_KEYS.values())
    assert payload["results"] == {
        "train_head": 0.8,
        "fine_tune": 0.9,
        "from_scratch": 0.5,
        "ensemble": 0.82,
    }
    assert payload["validation_images"] == 100 and payload["winners"] == ["fine_tune"]
    assert payload["held"] == {"textbook": False, "measured": True}
    assert set(measured.STRATEGY_KEYS) == {*payload["results"], "collect_more_data"}


def test_signals_are_measured_on_the_experiments_split():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(2), 40)
    images = rng.uniform(0, 0.2, (80, 8, 8, 1)).astype(np.float32)
    images[labels == 1, :4] += 0.7  # class 1: a bright top half, visible in pixels
    dataset = data.ImageDataset(images, labels, ["a", "b"], "t", "")
    features = {"last": rng.normal(size=(80, 6)), "block 5": images.reshape(80, -1)}
    config = transfer.ExperimentConfig(cut="last", ensemble_cut="block 5")
    found = measured.measure_signals(dataset, config, features)
    assert found.validation_images == 20 and found.cut == "last"
    assert found.probe["block 5"] == 1.0 and found.pixels == 1.0  # the bright half shows
    assert found.probe["last"] < 0.8  # noise features: near chance
    assert [n for n, _ in found.learning] == [8, 15, 30, 60]
    assert found.learning[-1][1] == found.probe["last"]  # all the images: the probe itself
    assert found.fine_tune_gain is None
    assert found.scratch_steps == config.scratch_epochs * 2  # 60 images, batches of 32
    assert 0.5 <= found.ensemble_probe <= 1.0  # the two probes averaged
    # Only the chosen cut and the ensemble's are probed: other cuts predict nothing.
    alone = measured.measure_signals(dataset, transfer.ExperimentConfig(cut="last"), features)
    assert list(alone.probe) == ["last"] and alone.ensemble_probe is None
    with pytest.raises(InputError, match="no features at the cut"):
        measured.measure_signals(dataset, transfer.ExperimentConfig(cut="block 11"), features)


@pytest.mark.skipif(
    backbones.available_backbones()[backbones.DEFAULT_BACKBONE] is not None,
    reason="MobileNet weights not here",
)
def test_signals_without_features_extract_them_as_the_page_does():
    """A training process gets no features (the server never runs the backbone for a
    job): measure_signals extracts them at both cuts, as dataset_features does."""
    from mml7.transfer.transferability import dataset_features

    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(2), 20)
    images = rng.uniform(0, 0.3, (40, 16, 16, 3)).astype(np.float32)
    images[labels == 1, :8] += 0.6
    dataset = data.ImageDataset(images, labels, ["a", "b"], "t", "")
    config = transfer.ExperimentConfig(cut="last", ensemble_cut="block 11", image_size=32)
    seen = []
    found = measured.measure_signals(dataset, config, None, progress=lambda f, m: seen.append(f))
    given = dataset_features(dataset, config, ("last", "block 11"))
    assert found == measured.measure_signals(dataset, config, given)
    assert list(found.probe) == ["last", "block 11"]
    assert seen == sorted(seen) and seen[-1] == 1.0  # extraction, then the probes


@pytest.mark.skipif(
    backbones.available_backbones()[backbones.DEFAULT_BACKBONE] is not None,
    reason="MobileNet weights not here",
)
def test_advise_run_json_prints_the_contract_last(tmp_path, capsys):
    from PIL import Image

    from mml7 import cli

    rng = np.random.default_rng(0)
    for index in range(24):
        label = index % 2
        pixels = rng.integers(0, 80, (32, 32, 3), dtype=np.uint8)
        pixels[:16] += 150 * label  # class "b": a bright top half
        (tmp_path / "ab"[label]).mkdir(exist_ok=True)
        Image.fromarray(pixels).save(tmp_path / "ab"[label] / f"{index}.png")
    arguments = ["advise", str(tmp_path), "--run", "--json", "--image-size", "32"]
    assert cli.main([*arguments, "--probe-images", "24"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    payload = json.loads(last)
    assert set(payload) == {
        "textbook",
        "measured",
        "results",
        "validation_images",
        "winners",
        "held",
    }
    assert payload["textbook"]["strategy"] in measured.STRATEGY_KEYS
    assert payload["measured"]["strategy"] in measured.STRATEGY_KEYS
    assert set(payload["results"]) == set(measured.ROW_KEYS.values())
    assert payload["validation_images"] == 6
    assert set(payload["winners"]) <= set(payload["results"])
    assert set(payload["held"]) == {"textbook", "measured"}
    assert all(isinstance(value, bool) for value in payload["held"].values())


def test_signals_survive_json_and_the_precomputed_file_is_keyed_by_what_they_depend_on(
    tmp_path,
):
    found = signals(fine_tune_gain=0.03)
    back = measured.Signals.from_dict(json.loads(json.dumps(dataclasses.asdict(found))))
    assert back == found
    config = transfer.ExperimentConfig(**measured.APP_CONFIG_FIELDS, cut="block 11")
    path = tmp_path / "signals.json"
    assert measured.precomputed("Digits (8x8)", config, path) is None  # no file yet
    key = measured.signals_key("Digits (8x8)", config)
    path.write_text(json.dumps({"signals": {key: dataclasses.asdict(found)}}))
    assert measured.precomputed("Digits (8x8)", config, path) == found
    # Epochs of the fine-tuning run do not change the signals; the cut and the cap do.
    same = dataclasses.replace(config, fine_tune_epochs=7)
    assert measured.precomputed("Digits (8x8)", same, path) == found
    for other in (
        dataclasses.replace(config, cut="last"),
        dataclasses.replace(config, max_train_images=None),
    ):
        assert measured.precomputed("Digits (8x8)", other, path) is None
    assert measured.precomputed("LFW faces vs non-faces", config, path) is None


@pytest.mark.integration
def test_the_shipped_file_gives_the_page_what_it_would_measure():
    """The page's first view of a built-in set (ImageNet similarity, per-depth scores)
    comes from the shipped file: every built-in set has them at the page's defaults, and
    they equal a live measurement (LFW, the quickest)."""
    config = transfer.ExperimentConfig(**measured.APP_CONFIG_FIELDS)
    name = "LFW faces vs non-faces"
    stored = measured.precomputed_page(name)
    key = measured.depth_key(name, config.backbone, config.image_size, measured.PAGE_PROBE_IMAGES)
    if "similarity" not in stored or key not in stored["depth_scores"]:
        pytest.skip("no precomputed page figures (python -m mml7 measure advisor)")
    if backbones.available_backbones()[config.backbone] is not None:
        pytest.skip("ImageNet weights not here")
    dataset = transfer.load_dataset(name)
    live = transfer.imagenet_similarity(dataset.images, max_images=64, seed=0)
    assert stored["similarity"] == pytest.approx(live, abs=1e-4)
    scores = transfer.depth_scores(
        dataset, config.backbone, config.image_size, measured.PAGE_PROBE_IMAGES
    )
    for got, want in zip(stored["depth_scores"][key], scores, strict=True):
        assert got.cut == want.cut and got.dimensions == want.dimensions
        assert got.probe_accuracy == pytest.approx(want.probe_accuracy, abs=1e-6)
        assert got.logme == pytest.approx(want.logme, rel=1e-4)


def test_the_shipped_file_covers_every_input_size_the_page_offers():
    """Changing the page's input size reads the file for a built-in set: per-depth scores
    and the signals under the config the page builds from them (cut and ensemble cut from
    those scores), at every size of ``PAGE_IMAGE_SIZES``."""
    record = json.loads(measured.PRECOMPUTED_FILE.read_text())
    if not record.get("depth_scores"):
        pytest.skip("no precomputed page figures (python -m mml7 measure advisor)")
    names = {json.loads(key)[0] for key in record["depth_scores"]}
    assert names == set(record["similarity"]) and len(names) >= 3
    for name in names:
        page = measured.precomputed_page(name)
        for size in measured.PAGE_IMAGE_SIZES:
            config = transfer.ExperimentConfig(**{**measured.APP_CONFIG_FIELDS, "image_size": size})
            key = measured.depth_key(name, config.backbone, size, measured.PAGE_PROBE_IMAGES)
            scores = page["depth_scores"][key]
            cut = transfer.recommended_cut(scores)
            config = dataclasses.replace(
                config, cut=cut, ensemble_cut=transfer.ensemble_cut(scores, cut)
            )
            assert measured.precomputed(name, config) is not None, (name, size)


def test_verdict_sentence_says_held_or_refuted_with_the_regret():
    results = {"train_head": 0.80, "fine_tune": 0.90, "from_scratch": 0.5, "ensemble": 0.81}
    refuted = measured.verdict_sentence("train_head", results, [], 200)
    assert refuted.startswith("Measured recommendation refuted") and "regret 10.0%" in refuted
    held = measured.verdict_sentence("fine_tune", results, [], 200)
    assert held.startswith("Measured recommendation held") and "regret 0.0%" in held
    rising = [(50, 0.70), (100, 0.75)]
    assert "held" in measured.verdict_sentence("collect_more_data", results, rising, 200)
    flat = [(50, 0.75), (100, 0.755)]
    assert "refuted" in measured.verdict_sentence("collect_more_data", results, flat, 200)
