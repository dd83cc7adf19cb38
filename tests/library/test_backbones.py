"""mml7.backbones: cut depths, preprocessing, batching and availability (alpha 0.25, small)."""

import numpy as np
import pytest

from mml7 import InputError, backbones, resources

FAST = "MobileNet (alpha 0.25)"


def test_every_resource_backbone_is_offered_with_four_cuts_ending_in_last():
    assert set(backbones.BACKBONES) == set(resources.IMAGENET_WEIGHT_FILES) - {
        "MobileNet with ImageNet head"
    }
    for spec in backbones.BACKBONES.values():
        assert len(spec.cuts) >= 4 and spec.cut_names[-1] == "last"
    assert backbones.BACKBONES[FAST].layer_name("block 5") == "conv_pw_5_relu"


def test_unavailable_backbones_carry_a_reason(monkeypatch):
    monkeypatch.setattr(resources, "weights_state", lambda filename: "unavailable")
    reasons = backbones.available_backbones()
    assert all(isinstance(reason, str) and "Keras cache" in reason for reason in reasons.values())
    with pytest.raises(InputError, match="unavailable"):
        backbones.build_base("ResNet50", 64)


def test_features_shapes_grey_equals_repeated_rgb_and_batching_is_invisible():
    if backbones.available_backbones()[FAST] is not None:
        pytest.skip("MobileNet alpha 0.25 weights not here")
    rng = np.random.default_rng(0)
    grey = rng.random((5, 40, 40, 1)).astype(np.float32)
    calls = []
    features = backbones.extract_features(
        grey, FAST, "block 5", image_size=48, batch_size=2, progress=lambda f, m: calls.append(f)
    )
    assert features.shape == (5, 64) and features.dtype == np.float32
    assert np.isfinite(features).all() and features.std() > 0
    assert calls == pytest.approx([0.4, 0.8, 1.0])
    rgb = backbones.extract_features(np.repeat(grey, 3, axis=-1), FAST, "block 5", 48, 64)
    np.testing.assert_allclose(features, rgb, rtol=1e-4, atol=1e-5)
    last = backbones.extract_features(grey, FAST, "last", image_size=48)
    assert last.shape == (5, 256)
    assert backbones.feature_extractor.cache_info().currsize <= 6


def test_every_cut_from_one_pass_equals_each_cut_alone():
    if backbones.available_backbones()[FAST] is not None:
        pytest.skip("MobileNet alpha 0.25 weights not here")
    images = np.random.default_rng(1).random((3, 32, 32, 3)).astype(np.float32)
    cuts = tuple(backbones.spec(FAST).cut_names)
    calls = []
    together = backbones.extract_cut_features(
        images, FAST, cuts, 48, batch_size=2, progress=lambda f, m: calls.append(f)
    )
    assert list(together) == list(cuts) and calls == pytest.approx([2 / 3, 1.0])
    for cut in cuts:
        alone = backbones.extract_features(images, FAST, cut, 48)
        np.testing.assert_allclose(together[cut], alone, rtol=1e-5, atol=1e-6)
    empty = backbones.extract_cut_features(images[:0], FAST, cuts, 48)
    assert [empty[cut].shape[1] for cut in cuts] == [together[cut].shape[1] for cut in cuts]


def test_preprocess_maps_to_minus_one_one_and_bad_input_is_refused():
    images = np.stack([np.zeros((8, 8, 1)), np.ones((8, 8, 1))]).astype(np.float32)
    prepared = backbones.preprocess(images, FAST, 32)
    assert prepared.shape == (2, 32, 32, 3)
    np.testing.assert_allclose(prepared[0], -1.0, atol=1e-6)
    np.testing.assert_allclose(prepared[1], 1.0, atol=1e-6)
    with pytest.raises(InputError, match="between"):
        backbones.extract_features(images, FAST, "last", image_size=8)
    with pytest.raises(InputError, match="cut must be one of"):
        backbones.extract_features(images, FAST, "block 99", image_size=32)
    with pytest.raises(InputError, match="backbone must be one of"):
        backbones.extract_features(images, "VGG16", "last", image_size=32)


def test_sizes_with_their_own_keras_weights_file_get_the_224_weights_offline():
    if backbones.available_backbones()[FAST] is not None:
        pytest.skip("MobileNet alpha 0.25 weights not here")
    at_96 = backbones.build_base(FAST, 96)
    at_128 = backbones.build_base(FAST, 128)  # Keras alone would fetch ..._128_tf_no_top.h5
    assert at_128.input_shape == (None, 128, 128, 3)
    for small, large in zip(at_96.get_weights(), at_128.get_weights(), strict=True):
        np.testing.assert_array_equal(small, large)
