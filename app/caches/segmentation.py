"""Segmentation: shipped segmenters, their record, held-out scenes, predictions."""

from __future__ import annotations

import streamlit as st

from app.cache import Upload, cached_data, shared_resource
from mml7 import data


@shared_resource(max_entries=5, show_spinner="Loading the segmentation model...")
def segmenter(mode: str):
    """A shipped segmenter (mml7.segmentation.pretrained); never mutated by pages."""
    from mml7 import segmentation

    return segmentation.pretrained(mode)


@st.cache_data(max_entries=1, show_spinner=False)
def summary() -> dict:
    """The record ``python -m mml7 train segmentation`` wrote (every mode's measured row)."""
    from mml7 import shipped

    return shipped.summary("segmentation")


@st.cache_data(max_entries=2, show_spinner="Generating held-out scenes...")
def test_scenes(count: int) -> data.SegmentationDataset:
    from mml7 import segmentation

    return segmentation.shipped_test_set(0, count)


@st.cache_data(max_entries=10, show_spinner="Predicting...")
def predictions(mode: str, count: int):
    """Class masks (count, 64, 64) of a shipped model on the first held-out scenes."""
    from mml7 import segmentation

    return segmentation.predict_classes(segmenter(mode), test_scenes(count).images)


@cached_data(max_entries=4, show_spinner="Segmenting...")
def segment_upload(mode: str, upload: Upload):
    """(image, class mask) for an uploaded image, at most 256 px on its longer side."""
    from mml7 import segmentation

    image = data.read_upload(upload.name, upload.data, image_size=None, channels=3).images[0]
    padded, (height, width) = segmentation.prepare_image(image)
    masks = segmentation.predict_classes(segmenter(mode), padded[None])
    return padded[:height, :width], masks[0, :height, :width]
