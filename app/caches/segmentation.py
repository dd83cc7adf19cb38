"""Segmentation: shipped segmenters, their record, held-out scenes, predictions."""

from __future__ import annotations

import streamlit as st

from app.cache import Upload, cached_data, shared_resource
from mml7 import data


@shared_resource(max_entries=8, show_spinner="Loading the segmentation model...")
def segmenter(mode: str, scenes: str = "shapes"):
    """A shipped segmenter (mml7.segmentation.pretrained); never mutated by pages."""
    from mml7 import segmentation

    return segmentation.pretrained(mode, scenes=scenes)


@st.cache_data(max_entries=2, show_spinner=False)
def summary(scenes: str = "shapes") -> dict:
    """The record ``python -m mml7 train segmentation`` (``segmentation_thin``) wrote:
    every mode's measured row."""
    from mml7 import segmentation

    return segmentation.shipped_summary(scenes=scenes)


@st.cache_data(max_entries=4, show_spinner="Generating held-out scenes...")
def test_scenes(count: int, scenes: str = "shapes") -> data.SegmentationDataset:
    from mml7 import segmentation

    return segmentation.shipped_test_set(0, count, scenes)


@st.cache_data(max_entries=16, show_spinner="Predicting...")
def predictions(mode: str, count: int, scenes: str = "shapes"):
    """Class masks (count, 64, 64) of a shipped model on the first held-out scenes: from
    the shipped file while it matches the weights, else predicted here."""
    from mml7 import segmentation

    if (found := segmentation.shipped_predictions(mode, count, scenes)) is not None:
        return found
    model = segmenter(mode, scenes)
    return segmentation.predict_classes(model, test_scenes(count, scenes).images)


# The scene the models know: one generated shapes scene (seed 1, not in the test set).
SHAPES_SAMPLE = "shapes scene (what the models know)"


@st.cache_data(max_entries=1, show_spinner="Loading the sample images...")
def samples() -> dict:
    """Sample images to segment, name -> float32 (h, w, 3): a generated shapes scene,
    then the photos bundled with scikit-image and scikit-learn."""
    from mml7 import scenes

    return {SHAPES_SAMPLE: scenes.make_shapes_segmentation(1, 64, seed=1).images[0]} | (
        data.sample_photos()
    )


@cached_data(max_entries=4, show_spinner="Segmenting...")
def segment_upload(mode: str, upload: Upload):
    """(image, class mask) for an uploaded image, at most 256 px on its longer side."""
    from mml7 import uploads

    return _segment(mode, uploads.read_image(upload.name, upload.data, 3, MAX_SIDE))


@st.cache_data(max_entries=8, show_spinner="Segmenting...")
def segment_sample(mode: str, name: str):
    """(image, class mask) for one of ``samples()``."""
    return _segment(mode, samples()[name])


MAX_SIDE = 256  # images are scaled to at most this many pixels on their longer side


def _segment(mode: str, image):
    from mml7 import segmentation

    padded, (height, width) = segmentation.prepare_image(image, MAX_SIDE)
    masks = segmentation.predict_classes(segmenter(mode), padded[None])
    return padded[:height, :width], masks[0, :height, :width]
