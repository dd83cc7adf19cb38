"""mml7.transfer: the 2x2 table, similarity, LogME / probe, head and fine-tuning, ensemble."""

import dataclasses

import keras
import numpy as np
import pytest

from mml7 import InputError, backbones, data, resources, transfer
from mml7.transfer import Strategy

FAST = "MobileNet (alpha 0.25)"
needs_mobilenet = pytest.mark.skipif(
    backbones.available_backbones()[FAST] is not None, reason="MobileNet weights not here"
)


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize(
    ("per_class", "similar", "expected"),
    [
        (0, True, Strategy.TRAIN_HEAD),
        (499, True, Strategy.TRAIN_HEAD),
        (500, True, Strategy.FINE_TUNE),
        (10_000, True, Strategy.FINE_TUNE),
        (0, False, Strategy.COLLECT_MORE_DATA),
        (499, False, Strategy.COLLECT_MORE_DATA),
        (500, False, Strategy.FROM_SCRATCH),
        (10_000, False, Strategy.FROM_SCRATCH),
    ],
)
def test_recommend_every_cell_and_the_size_boundary(per_class, similar, expected):
    assert transfer.BIG_THRESHOLD == 500
    advice = transfer.recommend(per_class, similar)
    assert advice.strategy is expected
    assert advice.big == (per_class >= 500) and advice.similar == similar
    assert f"{per_class:,} images per class" in advice.reason
    assert expected.value in advice.reason


@pytest.mark.parametrize("threshold", [1, 20, 2000])
def test_recommend_moves_with_the_threshold(threshold):
    assert transfer.recommend(threshold - 1, True, threshold).strategy is Strategy.TRAIN_HEAD
    assert transfer.recommend(threshold, True, threshold).strategy is Strategy.FINE_TUNE
    assert transfer.recommend(threshold, False, threshold).strategy is Strategy.FROM_SCRATCH


def test_recommend_refuses_nonsense():
    with pytest.raises(InputError, match=">= 0"):
        transfer.recommend(-1, True)
    with pytest.raises(InputError, match="big_threshold"):
        transfer.recommend(10, True, big_threshold=0)


def test_advise_names_the_numbers_that_decided_it():
    dataset = data.ImageDataset(
        np.zeros((7, 4, 4, 1), np.float32), np.array([0, 0, 0, 1, 1, 1, 1]), ["a", "b"], "t", ""
    )
    advice = transfer.advise(dataset, similarity=0.7, big_threshold=3)
    assert advice.strategy is Strategy.FINE_TUNE and advice.images_per_class == 3
    assert "0.70" in advice.reason and "3 images" in advice.reason
    advice = transfer.advise(dataset, similarity=0.2, big_threshold=4)
    assert advice.strategy is Strategy.COLLECT_MORE_DATA


def test_advise_judges_size_on_the_training_images_and_names_the_cap():
    labels = np.repeat(np.arange(3), 1000)
    dataset = data.ImageDataset(np.zeros((3000, 2, 2, 1), np.float32), labels, list("abc"), "t", "")
    uncapped = transfer.advise(dataset, 0.3, config=transfer.ExperimentConfig())
    # 75% of 1,000 per class train: 750, big.
    assert (uncapped.images_per_class, uncapped.training_images) == (750, 2250)
    assert uncapped.strategy is Strategy.FROM_SCRATCH and "cap" not in uncapped.reason
    capped = transfer.advise(dataset, 0.3, config=transfer.ExperimentConfig(max_train_images=600))
    assert (capped.images_per_class, capped.training_images) == (200, 600)
    assert capped.strategy is Strategy.COLLECT_MORE_DATA
    assert "the cap of 600 training images made it small" in capped.reason
    assert "smallest class has 750 training images, big" in capped.reason
    assert "a cap of at least 1,500" in capped.reason
    # A cap that leaves it big, or data small without any cap: no word on the cap.
    roomy = transfer.advise(dataset, 0.3, config=transfer.ExperimentConfig(max_train_images=1500))
    assert roomy.big and "cap" not in roomy.reason
    small = transfer.advise(
        dataset, 0.3, 2000, config=transfer.ExperimentConfig(max_train_images=60)
    )
    assert not small.big and "cap" not in small.reason


# --------------------------------------------------------------------------- similarity


def test_similarity_from_logits_is_a_logistic_of_the_energy():
    midpoint, scale = transfer.ENERGY_MIDPOINT, transfer.ENERGY_SCALE
    # Two equal logits at midpoint - log 2: logsumexp = midpoint, similarity 1/2.
    at_midpoint = np.array([[midpoint - np.log(2), midpoint - np.log(2), -50.0]])
    assert transfer.similarity_from_logits(at_midpoint) == pytest.approx([0.5], abs=1e-12)
    # Hand-computed: one dominant logit 2 units above the midpoint.
    above = np.array([[midpoint + 2 * scale, -80.0, -80.0]])
    expected = 1 / (1 + np.exp(-2.0))
    assert transfer.similarity_from_logits(above) == pytest.approx([expected], rel=1e-9)
    # Shifting every logit up raises the score; a flat low row scores near 0.
    rows = np.random.default_rng(0).normal(size=(5, 1000))
    low, high = (transfer.similarity_from_logits(rows + shift) for shift in (0.0, 6.0))
    assert (high > low).all() and (low < 0.01).all()
    np.testing.assert_allclose(
        transfer.energy_from_logits(rows), np.log(np.exp(rows).sum(axis=1)), rtol=1e-12
    )


@pytest.mark.integration
@pytest.mark.skipif(
    resources.weights_state("mobilenet_1_0_224_tf.h5") == "unavailable",
    reason="ImageNet classifier weights not here",
)
def test_imagenet_similarity_separates_everyday_photos_by_a_margin_of_0_2():
    """Issue 13: crops of everyday photos above Fashion-MNIST, faces, digits and noise by at
    least 0.2 on the scale (64 images each, as the page measures)."""
    photos = transfer.imagenet_similarity(data.photo_crops(64, seed=0), max_images=None)
    others = {
        name: transfer.imagenet_similarity(transfer.load_dataset(name).images, 64, seed=0)
        for name in ("Fashion-MNIST, 20 per class", "LFW faces vs non-faces", "Digits (8x8)")
    }
    others["noise"] = transfer.imagenet_similarity(
        np.random.default_rng(0).random((64, 64, 64, 3)).astype(np.float32), max_images=None
    )
    assert photos >= transfer.SIMILARITY_THRESHOLD
    assert all(0.0 <= score < transfer.SIMILARITY_THRESHOLD for score in others.values())
    assert photos - max(others.values()) >= 0.2, (photos, others)


# --------------------------------------------------------------------------- LogME, probe


def test_logme_evidence_is_the_gaussian_marginal_likelihood_at_its_maximum():
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(1)
    f = rng.normal(size=(12, 3))
    y = f @ np.array([1.0, -0.5, 0.25]) + 0.3 * rng.normal(size=12)
    per_sample, alpha, beta = transfer.logme_evidence(f, y, max_iterations=200)

    def log_marginal(a, b):
        cov = np.eye(12) / b + f @ f.T / a
        return multivariate_normal(np.zeros(12), cov).logpdf(y)

    assert per_sample * 12 == pytest.approx(log_marginal(alpha, beta), rel=1e-8)
    for a, b in [
        (alpha * 1.2, beta),
        (alpha / 1.2, beta),
        (alpha, beta * 1.2),
        (alpha, beta / 1.2),
    ]:
        assert log_marginal(a, b) < log_marginal(alpha, beta)


def test_logme_more_features_than_samples_matches_the_marginal_too():
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(2)
    f = rng.normal(size=(6, 10))
    y = (rng.random(6) > 0.5).astype(float)
    per_sample, alpha, beta = transfer.logme_evidence(f, y)
    cov = np.eye(6) / beta + f @ f.T / alpha
    expected = multivariate_normal(np.zeros(6), cov).logpdf(y)
    assert per_sample * 6 == pytest.approx(expected, rel=1e-8)


def _clustered(seed=0, n=120, d=16, classes=3):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    centres = rng.normal(scale=2.0, size=(classes, d))
    return centres[labels] + rng.normal(size=(n, d)), labels


def test_logme_and_probe_score_real_labels_above_shuffled_ones():
    features, labels = _clustered()
    shuffled = np.random.default_rng(5).permutation(labels)
    assert transfer.logme(features, labels) > transfer.logme(features, shuffled) + 0.1
    assert transfer.linear_probe(features, labels) > 0.9
    assert transfer.linear_probe(features, shuffled) < 0.6
    scores = transfer.transferability({"x": features, "y": features[:, :2]}, labels)
    assert [score.cut for score in scores] == ["x", "y"]
    assert transfer.recommended_cut(scores) == "x"


def test_probe_needs_two_images_per_class():
    with pytest.raises(InputError, match="at least 2"):
        transfer.linear_probe(np.zeros((3, 2)), np.array([0, 0, 1]))


# --------------------------------------------------------------------------- models


def test_ensemble_is_the_mean_of_its_members():
    first = np.array([[0.9, 0.1], [0.2, 0.8]], np.float32)
    second = np.array([[0.5, 0.5], [0.6, 0.4]], np.float32)
    np.testing.assert_allclose(
        transfer.ensemble_probabilities([first, second]), [[0.7, 0.3], [0.4, 0.6]], atol=1e-7
    )
    with pytest.raises(InputError, match="2 members"):
        transfer.ensemble_probabilities([first])


def _tiny_images(n=16, size=32, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = rng.random((n, size, size, 3)).astype(np.float32) * 0.3
    images[labels == 1, : size // 2] += 0.6  # class 1: a bright top half
    return images, labels


def _fit(model, x, y, learning_rate):
    import keras

    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)


@needs_mobilenet
def test_head_training_leaves_the_extractor_unchanged():
    images, labels = _tiny_images()
    x = backbones.preprocess(images, FAST, 32)
    head = transfer.build_head(128, 2, hidden_units=8)
    model, extractor = transfer.build_transfer_model(FAST, "block 11", 32, head)
    before = [w.copy() for w in extractor.get_weights()]
    head_before = [w.copy() for w in head.get_weights()]
    _fit(model, x, labels, 1e-2)
    for old, new in zip(before, extractor.get_weights(), strict=True):
        np.testing.assert_allclose(new, old)
    assert any(
        not np.allclose(old, new) for old, new in zip(head_before, head.get_weights(), strict=True)
    )
    assert transfer.trainable_parameters(model) == transfer.trainable_parameters(head)


@needs_mobilenet
def test_fine_tuning_changes_only_the_unfrozen_blocks_and_keeps_bn_statistics():
    images, labels = _tiny_images()
    x = backbones.preprocess(images, FAST, 32)
    head = transfer.build_head(128, 2, hidden_units=8)
    model, extractor = transfer.build_transfer_model(FAST, "block 11", 32, head)
    unfrozen = transfer.unfreeze_top_blocks(extractor, FAST, 1)
    assert unfrozen and all(name.endswith("_11") or "_11_" in name for name in unfrozen)
    assert not any("bn" in name for name in unfrozen)  # BN stays frozen (inference mode)
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in extractor.layers}
    _fit(model, x, labels, 1e-3)
    changed = set()
    for layer in extractor.layers:
        for old, new in zip(before[layer.name], layer.get_weights(), strict=True):
            if not np.allclose(old, new):
                changed.add(layer.name)
        if "bn" in layer.name:  # moving mean/variance and gamma/beta all unchanged
            for old, new in zip(before[layer.name], layer.get_weights(), strict=True):
                np.testing.assert_allclose(new, old)
    assert changed and changed <= set(unfrozen)


def _blobs(n=240, dim=16, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    centres = rng.normal(0, 3, (classes, dim))
    return (centres[labels] + rng.normal(0, 1, (n, dim))).astype(np.float32), labels


def test_a_head_on_few_images_gets_its_minimum_of_steps():
    config = transfer.ExperimentConfig(head_epochs=40, head_batch_size=32, head_min_steps=3000)
    assert transfer.head_passes(config, 75) == 25  # 3 batches a pass: 40 x 25 x 3 >= 3,000
    assert transfer.head_passes(config, 7500) == 1  # 235 batches a pass: 40 passes suffice
    assert transfer.head_passes(dataclasses.replace(config, head_min_steps=0), 75) == 1
    x, y = _blobs()
    few, labels = x[:15], y[:15]
    losses = {}
    for steps in (0, 3000):
        recorder = keras.callbacks.History()
        short = dataclasses.replace(config, head_epochs=5, head_min_steps=steps, dropout=0.0)
        transfer.fit_head(few, labels, 3, short, callbacks=[recorder])
        assert len(recorder.history["loss"]) == 5  # the epochs stay as configured
        losses[steps] = recorder.history["loss"][-1]
    assert losses[3000] < 0.5 * losses[0]


def test_fit_head_matches_keras_fit_on_full_batches():
    """Same start, full-batch Adam, no dropout: the reused trainer gives the weights and
    the per-epoch loss/accuracy that compiling and fitting the head with Keras gives."""
    import keras

    x, y = _blobs()
    config = transfer.ExperimentConfig(
        hidden_units=8,
        dropout=0.0,
        head_epochs=5,
        head_batch_size=len(x),
        head_min_steps=0,  # one pass per epoch, as Keras's fit
        seed=3,
    )
    recorder = keras.callbacks.History()
    ours = transfer.fit_head(x, y, 3, config, validation=(x[:50], y[:50]), callbacks=[recorder])
    keras.utils.set_random_seed(config.seed)
    reference = transfer.build_head(16, 3, 8, 0.0)
    reference.compile(
        keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    expected = reference.fit(
        x, y, epochs=5, batch_size=len(x), validation_data=(x[:50], y[:50]), verbose=0
    ).history
    for mine, theirs in zip(ours.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-6)
    assert set(recorder.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key in recorder.history:
        np.testing.assert_allclose(recorder.history[key], expected[key], rtol=1e-4, atol=1e-6)


def test_fit_head_learns_is_seeded_and_returns_independent_heads():
    x, y = _blobs()
    config = transfer.ExperimentConfig(hidden_units=16, head_epochs=30, head_batch_size=32)
    first = transfer.fit_head(x, y, 3, config)
    kept = [w.copy() for w in first.get_weights()]
    again = transfer.fit_head(x, y, 3, config)
    for a, b in zip(kept, again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # same seed, same head
    other = transfer.fit_head(x, y, 3, transfer.ExperimentConfig(**{**config.__dict__, "seed": 1}))
    assert any(not np.allclose(a, b) for a, b in zip(kept, other.get_weights(), strict=True))
    for a, b in zip(kept, first.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # later runs left the first head alone
    assert transfer.accuracy(transfer.predict(first, x), y) > 0.9


def test_fit_head_with_ensemble_with_logs_the_ensembles_scores():
    """The logs are the mean of the members' probabilities, not the new head's own."""
    import keras

    x, y = _blobs(n=120, classes=2)
    # The other member leans to the wrong class (0.9 vs 0.1) on every image.
    leaning = np.where(np.eye(2)[y] == 1, 0.1, 0.9).astype(np.float32)
    # A short head (one pass per epoch), not sure enough to outvote the leaning member.
    config = transfer.ExperimentConfig(
        hidden_units=8, head_epochs=20, head_batch_size=32, head_min_steps=0
    )
    recorder = keras.callbacks.History()
    head = transfer.fit_head(
        x[:80],
        y[:80],
        2,
        config,
        validation=(x[80:], y[80:]),
        callbacks=[recorder],
        ensemble_with=([leaning[:80]], [leaning[80:]]),
    )
    for part, key in ((slice(None, 80), "accuracy"), (slice(80, None), "val_accuracy")):
        mean = (transfer.predict(head, x[part]) + leaning[part]) / 2
        assert recorder.history[key][-1] == pytest.approx(transfer.accuracy(mean, y[part]))
    own = transfer.accuracy(transfer.predict(head, x[80:]), y[80:])
    assert own > recorder.history["val_accuracy"][-1]  # the leaning member drags it down
    assert recorder.history["val_loss"][-1] > 0


def test_fit_head_from_threads_gives_each_its_own_result():
    from concurrent.futures import ThreadPoolExecutor

    x, y = _blobs()
    config = transfer.ExperimentConfig(hidden_units=16, head_epochs=10, head_batch_size=32)
    alone = transfer.fit_head(x, y, 3, config).get_weights()
    with ThreadPoolExecutor(4) as pool:
        heads = list(pool.map(lambda _: transfer.fit_head(x, y, 3, config), range(4)))
    for head in heads:
        for a, b in zip(alone, head.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


def test_split_is_stratified_and_refuses_single_images():
    labels = np.array([0] * 8 + [1] * 4)
    train, validation = transfer.split(labels, 0.25, seed=0)
    assert len(validation) == 3 and sorted(np.bincount(labels[validation])) == [1, 2]
    assert set(train).isdisjoint(validation) and len(train) + len(validation) == 12
    with pytest.raises(InputError, match="at least 2 images"):
        transfer.split(np.array([0, 0, 1]), 0.25, seed=0)
    with pytest.raises(InputError, match="2 classes"):
        transfer.split(np.zeros(5, int), 0.25, seed=0)


# --------------------------------------------------------------------------- verdict


ROWS = [
    {"strategy": "(a) frozen extractor + new head", "validation_accuracy": 0.80},
    {"strategy": "(b) fine-tune top blocks", "validation_accuracy": 0.85},
    {"strategy": "(c) from scratch", "validation_accuracy": 0.60},
    {"strategy": "(d) ensemble of heads", "validation_accuracy": 0.845},
]


@pytest.mark.parametrize(
    ("per_class", "similar", "agree"),
    [(10, True, True), (1000, True, True), (1000, False, False)],
)
def test_verdict_compares_the_advised_strategy_with_the_best(per_class, similar, agree):
    result = transfer.verdict(transfer.recommend(per_class, similar), ROWS)
    assert result.agree is agree
    assert result.best_row == "(b) fine-tune top blocks"
    assert ("held" if agree else "did not hold") in result.sentence


def test_verdict_on_collect_more_data_reads_the_learning_curve():
    advice = transfer.recommend(10, False)
    rising = [{"accuracy": 0.6}, {"accuracy": 0.7}]
    flat = [{"accuracy": 0.7}, {"accuracy": 0.705}]
    assert transfer.verdict(advice, ROWS, rising).agree
    assert not transfer.verdict(advice, ROWS, flat).agree


def test_accuracy_interval_is_wilsons_and_narrows_with_more_images():
    # Hand-computed Wilson bounds: 18 of 20 right -> 0.699-0.972.
    low, high = transfer.accuracy_interval(0.9, 20)
    assert (round(low, 3), round(high, 3)) == (0.699, 0.972)
    assert (
        transfer.accuracy_interval(1.0, 15)[1] == 1.0
        and transfer.accuracy_interval(0.0, 15)[0] == 0.0
    )
    wide, narrow = (transfer.accuracy_interval(0.8, n) for n in (15, 1500))
    assert wide[1] - wide[0] > 5 * (narrow[1] - narrow[0])
    with pytest.raises(InputError, match="at least 1 image"):
        transfer.accuracy_interval(0.5, 0)


def test_verdict_reports_the_regret():
    held = transfer.verdict(transfer.recommend(10, True), ROWS, num_validation=50)
    assert (
        held.regret == pytest.approx(0.005) and "regret 0.5% (best minus advised)" in held.sentence
    )
    best = transfer.verdict(transfer.recommend(1000, True), ROWS)
    assert best.regret == 0 and "regret" not in best.sentence
    assert (
        transfer.verdict(transfer.recommend(10, False), ROWS, [{"accuracy": 0.5}] * 2).regret
        is None
    )


def test_verdict_margin_is_two_validation_images():
    rows = [dict(row) for row in ROWS]
    rows[0]["validation_accuracy"] = rows[3]["validation_accuracy"] = 0.82  # head 3 below best
    advice = transfer.recommend(10, True)
    assert not transfer.verdict(advice, rows).agree  # default margin: 1 point
    assert not transfer.verdict(advice, rows, num_validation=200).agree  # 2/200 = 1 point
    held = transfer.verdict(advice, rows, num_validation=50)  # 2/50 = 4 points
    assert held.agree and "within 4% of the best" in held.sentence


def test_scratch_note_explains_from_scratch_only_near_chance():
    rows = [dict(row, trainable_params=3_000_000) for row in ROWS]
    # 2 classes on 100 validation images: chance 50% +- 10%; 0.60 is at its edge.
    note = transfer.scratch_note(rows, 2, 40, 100)
    assert note is not None
    assert "about chance (50.0% for 2 classes, +- 10.0% on 100 validation images)" in note
    assert "40 training images (20 per class)" in note and "3,000,000 weights" in note
    assert "(b) fine-tune top blocks: 85.0%" in note
    assert transfer.scratch_note(rows, 2, 40, 400) is None  # +- 5%: 60% beats guessing
    assert transfer.scratch_note(rows, 10, 40, 100) is None  # chance 10%


# --------------------------------------------------------------------------- data, experiments


def test_load_dataset_lists_the_built_in_names_for_a_bad_one():
    with pytest.raises(InputError, match="data set must be one of") as error:
        transfer.load_dataset("digits")
    assert all(repr(name) in str(error.value) for name in transfer.BUILTIN_DATASETS)


def test_strategy_words_are_plain_text():
    for strategy in Strategy:
        assert strategy.short and "<" not in strategy.short and "<" not in strategy.value
    assert list(transfer.ROW_STRATEGY) == [
        "(a) frozen extractor + new head",
        "(b) fine-tune top blocks",
        "(c) from scratch",
        "(d) ensemble of heads",
    ]


def test_training_split_caps_the_training_side_only():
    labels = np.repeat(np.arange(3), 20)
    dataset = data.ImageDataset(np.zeros((60, 4, 4, 1), np.float32), labels, list("abc"), "t", "")
    config = transfer.ExperimentConfig(max_train_images=9)
    train, validation = transfer.training_split(dataset, config)
    full_train, full_validation = transfer.split(labels, config.validation_fraction, config.seed)
    np.testing.assert_array_equal(validation, full_validation)
    assert len(train) == 9 and set(train) <= set(full_train)
    assert np.bincount(labels[train]).tolist() == [3, 3, 3]


@needs_mobilenet
def test_run_experiments_trains_the_four_strategies_in_order_with_progress():
    images, labels = _tiny_images(24)
    dataset = data.ImageDataset(images, labels, ["dark", "bright"], "tiny", "")
    config = transfer.ExperimentConfig(
        image_size=32,
        cut="block 11",
        ensemble_cut="block 5",
        hidden_units=8,
        head_epochs=2,
        fine_tune_epochs=1,
        scratch_epochs=1,
        fine_tune_blocks=1,
    )
    fractions, epochs_seen = [], []
    result = transfer.run_experiments(
        dataset,
        config,
        progress=lambda fraction, message: fractions.append(fraction),
        on_epoch=lambda name, history: epochs_seen.append((name[:3], len(history["loss"]))),
    )
    assert [row["strategy"] for row in result.rows] == list(transfer.ROW_STRATEGY)
    assert all(0 <= row["validation_accuracy"] <= 1 for row in result.rows)
    assert result.num_train + result.num_validation == 24 and result.extraction_s > 0
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert epochs_seen == [("(a)", 1), ("(a)", 2), ("(b)", 1), ("(c)", 1), ("(d)", 1), ("(d)", 2)]
    assert {len(curve["val_accuracy"]) for curve in result.curves.values()} == {1, 2}
    # The curves end where the table does: (d)'s is the ensemble's, not its second member's.
    for row in (result.rows[0], result.rows[3]):
        final = result.curves[row["strategy"]]["val_accuracy"][-1]
        assert final == pytest.approx(row["validation_accuracy"], abs=1e-6)
    # (b) and (d) build on (a)'s head: their wall time includes it.
    wall = [row["wall_time_s"] for row in result.rows]
    assert wall[1] > wall[0] and wall[3] > wall[0]
    points = transfer.learning_curve(dataset, Strategy.FROM_SCRATCH, config, fractions=(0.5, 1.0))
    assert [point["fraction"] for point in points] == [0.5, 1.0]
    assert all(0 <= point["accuracy"] <= 1 for point in points)


def test_middle_cut_note_speaks_only_when_an_earlier_cut_beats_the_last_beyond_noise():
    def scores(*probes):
        cuts = [f"block {i}" for i in range(len(probes) - 1)] + ["last"]
        return [transfer.DepthScore(cut, 8, p, 0.0) for cut, p in zip(cuts, probes, strict=True)]

    note = transfer.middle_cut_note(scores(0.70, 0.86, 0.78), 500)
    assert note is not None and "block 1" in note and "86.0%" in note and "78.0%" in note
    assert "+8.0%" in note
    # 2 points on 500 images is within 2 standard errors of 78% (3.7 points): no claim.
    assert transfer.middle_cut_note(scores(0.70, 0.80, 0.78), 500) is None
    # On 5,000 images 2 points is beyond it (1.2 points).
    assert transfer.middle_cut_note(scores(0.70, 0.80, 0.78), 5000) is not None
    assert transfer.middle_cut_note(scores(0.90, 0.95, 0.97), 500) is None
    assert transfer.middle_cut_note(scores(0.9), 500) is None


def test_shuffle_split_draws_the_sets_scikit_learn_draws():
    """The advisor's splits are its own code (a training process then never imports
    scikit-learn) but must stay scikit-learn's sets: the precomputed signals and the
    suite's records were measured on them."""
    from sklearn.model_selection import train_test_split

    from mml7.transfer.datasets import shuffle_split

    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(400):
        classes = int(rng.integers(2, 12))
        count = int(rng.integers(2 * classes, 300))
        names = rng.choice(40, classes, replace=False)  # class ids with gaps
        labels = rng.permutation(
            np.concatenate([np.repeat(names, 2), rng.choice(names, count - 2 * classes)])
        )
        seed = int(rng.integers(0, 10_000))
        n_test = int(rng.integers(classes, count - classes + 1))
        indices = np.arange(count)
        for stratify in (labels, None):
            theirs = train_test_split(
                indices, test_size=n_test, stratify=stratify, random_state=seed
            )
            ours = shuffle_split(stratify, count - n_test, n_test, seed, count)
            for a, b in zip(theirs, ours, strict=True):
                np.testing.assert_array_equal(np.sort(a), b)
            checked += 1
    assert checked == 800


def test_split_and_sample_indices_on_a_built_in_set_are_scikit_learns():
    from sklearn.model_selection import train_test_split

    labels = transfer.load_dataset("Digits (8x8)").labels
    train, validation = transfer.split(labels, 0.25, 0)
    theirs = train_test_split(
        np.arange(len(labels)), test_size=449, stratify=labels, random_state=0
    )
    assert len(validation) == 449  # round(0.25 * 1,797)
    np.testing.assert_array_equal(train, np.sort(theirs[0]))
    np.testing.assert_array_equal(validation, np.sort(theirs[1]))
    picked = transfer.sample_indices(labels, 500, seed=3)
    theirs, _ = train_test_split(
        np.arange(len(labels)), train_size=500, stratify=labels, random_state=3
    )
    np.testing.assert_array_equal(picked, np.sort(theirs))
    one_each = np.arange(12)  # every class once: too few to stratify, a plain subset
    theirs, _ = train_test_split(np.arange(12), train_size=5, random_state=1)
    np.testing.assert_array_equal(transfer.sample_indices(one_each, 5, 1), np.sort(theirs))
