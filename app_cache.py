"""The app's caches, in one place: pages call these instead of mml7 directly when the
result is worth keeping between reruns.

``shared_resource`` (``st.cache_resource``) holds objects shared by every session and never
mutated (Keras models, indexes); ``st.cache_data`` holds arrays and tables (copied per
caller). Every argument that changes a result is part of the key (no leading underscores
on such arguments). Use ``@shared_resource(max_entries=...)`` for Keras models: under
test it also records each object, so the test run fails if any page mutates one.
"""

from __future__ import annotations

import functools
import hashlib
import os

import numpy as np
import streamlit as st

from mml7 import data, resources, similarity

# (function name, args, kwargs) -> (shared object, its fingerprint when it was made);
# read by mutated_shared_resources() and the cache-safety test.
SHARED_RESOURCES: dict[tuple, tuple[object, str]] = {}


def fingerprint(value, depth: int = 0) -> str:
    """A digest of what a shared object holds: Keras weights and trainable flags, NumPy
    arrays and plain values, following attributes a few levels deep."""
    digest = hashlib.sha1()

    def feed(item, level):
        if level > 3:
            return
        if hasattr(item, "get_weights") and hasattr(item, "layers"):  # a Keras model
            for weight in item.get_weights():
                digest.update(np.ascontiguousarray(weight).tobytes())
            digest.update(repr([layer.trainable for layer in item.layers]).encode())
        elif isinstance(item, np.ndarray):
            digest.update(np.ascontiguousarray(item).tobytes())
        elif isinstance(item, (str, int, float, bool, type(None))):
            digest.update(repr(item).encode())
        elif isinstance(item, (list, tuple)):
            for element in item:
                feed(element, level + 1)
        elif isinstance(item, dict):
            for key in sorted(item, key=repr):
                digest.update(repr(key).encode())
                feed(item[key], level + 1)
        elif hasattr(item, "__dict__"):
            feed(vars(item), level + 1)

    feed(value, depth)
    return digest.hexdigest()


def shared_resource(**cache_kwargs):
    """``st.cache_resource`` that, with ``MML7_CHECK_SHARED=1`` (the tests set it), also
    records what it hands out with a fingerprint, so ``mutated_shared_resources`` can tell
    whether any session changed a shared object."""

    def decorate(function):
        @st.cache_resource(**cache_kwargs)
        @functools.wraps(function)
        def cached(*args, **kwargs):
            value = function(*args, **kwargs)
            if os.environ.get("MML7_CHECK_SHARED"):  # tests only: it keeps a reference
                key = (function.__name__, args, tuple(sorted(kwargs.items())))
                SHARED_RESOURCES[key] = (value, fingerprint(value))
            return value

        return cached

    return decorate


def mutated_shared_resources() -> list[str]:
    """Names of shared objects whose content changed since they were made (should be [])."""
    return [
        f"{name}{args}"
        for (name, args, _), (value, made) in SHARED_RESOURCES.items()
        if fingerprint(value) != made
    ]


@st.cache_data(ttl=300, show_spinner=False)
def machine_status() -> list[resources.ResourceStatus]:
    return resources.machine_status()


@st.cache_data(max_entries=2, show_spinner="Loading Fashion-MNIST...")
def fashion_mnist(split: str, limit: int | None = None) -> data.ImageDataset:
    return data.fashion_mnist(split, limit)


@st.cache_data(max_entries=1, show_spinner=False)
def sample_photos() -> dict:
    return data.sample_photos()


# --------------------------------------------------------------------------- similar images
# A gallery is (name, upload_name, upload): a menu name, or an uploaded zip's name and bytes.


@st.cache_data(max_entries=4, show_spinner="Loading the gallery...")
def similarity_gallery(
    name: str, upload_name: str | None = None, upload: bytes | None = None
) -> data.ImageDataset:
    if upload is not None:
        return similarity.read_gallery_upload(upload_name or "upload.zip", upload)
    return similarity.load_gallery(name)


@shared_resource(max_entries=8, show_spinner="Preparing the representation...")
def similarity_representation(
    representation: str, name: str, upload_name: str | None = None, upload: bytes | None = None
) -> similarity.Representation:
    """The representation fitted on the gallery (PCA; loaded encoder); never mutated."""
    gallery = similarity_gallery(name, upload_name, upload)
    return similarity.fit_representation(representation, gallery.images)


@st.cache_data(max_entries=12, show_spinner=False)
def similarity_vectors(
    representation: str, name: str, upload_name: str | None = None, upload: bytes | None = None
):
    """The gallery's vectors, with a progress bar while they are computed. The bar is made
    and removed in here: Streamlit replays a cached function's elements, and elements made
    outside it cannot be replayed."""
    gallery = similarity_gallery(name, upload_name, upload)
    fitted = similarity_representation(representation, name, upload_name, upload)
    label = f"{representation} of {len(gallery):,} images:"
    bar = st.progress(0.0, text=label)

    def report(fraction: float, message: str = "") -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=f"{label} {message}")

    vectors = fitted.transform(gallery.images, report)
    bar.empty()
    return vectors


@shared_resource(max_entries=8, show_spinner="Indexing the gallery...")
def similarity_index(
    representation: str,
    metric: str,
    algorithm: str,
    name: str,
    upload_name: str | None = None,
    upload: bytes | None = None,
) -> similarity.SimilarImageIndex:
    vectors = similarity_vectors(representation, name, upload_name, upload)
    return similarity.SimilarImageIndex(metric=metric, algorithm=algorithm).fit(vectors)


@st.cache_data(max_entries=32, show_spinner=False)
def similarity_scores(
    representation: str,
    metric: str,
    num_queries: int,
    name: str,
    upload_name: str | None = None,
    upload: bytes | None = None,
) -> dict:
    """Precision@k and mAP, leave-one-out, on the same ``num_queries`` queries (seed 0)."""
    gallery = similarity_gallery(name, upload_name, upload)
    vectors = similarity_vectors(representation, name, upload_name, upload)
    queries = similarity.query_sample(len(gallery), num_queries, seed=0)
    return similarity.retrieval_scores(vectors, gallery.labels, metric, query_indices=queries)


@st.cache_data(max_entries=16, show_spinner=False)
def similarity_probe(
    representation: str, name: str, upload_name: str | None = None, upload: bytes | None = None
) -> dict:
    """Few-label probe inside the gallery: labelled images drawn from it, tested on the rest."""
    gallery = similarity_gallery(name, upload_name, upload)
    vectors = similarity_vectors(representation, name, upload_name, upload)
    return similarity.few_label_probe(vectors, gallery.labels, per_class=(10, 100), repeats=3)


@st.cache_data(max_entries=8, show_spinner="Measuring approximate search against exact...")
def similarity_recall(
    representation: str,
    metric: str,
    name: str,
    upload_name: str | None = None,
    upload: bytes | None = None,
) -> float:
    """recall@10 of the HNSW index against exact search, on up to 1,000 gallery queries."""
    vectors = similarity_vectors(representation, name, upload_name, upload)
    return similarity.hnsw_recall(vectors, metric, num_queries=1000)


# --------------------------------------------------------------------------- autoencoders


@shared_resource(max_entries=12)
def autoencoder(kind: str, code_size: int, noise_stddev: float = 0.2):
    """A shipped autoencoder (mml7.autoencoders.pretrained); never mutated by pages."""
    from mml7 import autoencoders

    return autoencoders.pretrained(kind, code_size, noise_stddev)


@shared_resource(max_entries=1)
def faces_autoencoder():
    from mml7 import autoencoders

    return autoencoders.pretrained_faces()


@st.cache_data(max_entries=1, show_spinner=False)
def lfw_faces_28():
    from mml7 import autoencoders

    return autoencoders.lfw_faces_28()


@st.cache_data(max_entries=1, show_spinner="Fitting PCA to the 60,000 training images...")
def fashion_pca(max_k: int = 64):
    from mml7 import autoencoders

    return autoencoders.fit_pca(fashion_mnist("train").images, max_k)


@st.cache_data(max_entries=1, show_spinner=False)
def autoencoder_summary() -> dict:
    """The record ``python -m mml7 train autoencoders`` wrote: epochs, losses, test MSEs."""
    from mml7 import autoencoders

    return autoencoders.shipped_summary()


@st.cache_data(max_entries=8, show_spinner="Encoding the test images...")
def autoencoder_projection(kind: str, code_size: int, count: int, method: str, dims: int):
    from mml7 import autoencoders

    codes = autoencoder(kind, code_size).encode(fashion_mnist("test").images[:count])
    return autoencoders.project_codes(codes, method, dims)


@st.cache_data(max_entries=8, show_spinner="Drawing the latent space...")
def latent_scatter_html(kind: str, code_size: int, count: int, method: str, dims: int) -> str:
    from mml7 import autoencoder_figures

    test = fashion_mnist("test")
    points = autoencoder_projection(kind, code_size, count, method, dims)
    title = f"{kind} autoencoder, code {code_size}, {method if code_size > dims else 'codes'}"
    figure = autoencoder_figures.latent_scatter(
        points, test.labels[:count], test.class_names, test.images[:count], title
    )
    return autoencoder_figures.latent_scatter_html(figure)


@st.cache_data(max_entries=2, show_spinner="Denoising at each noise level...")
def denoising_robustness(count: int, stddevs: tuple) -> dict:
    from mml7 import autoencoder_figures, autoencoders

    models = {
        f"trained at {s}": autoencoder("denoising", 64, s)
        for s in autoencoders.SHIPPED_NOISE_STDDEVS
    }
    images = fashion_mnist("test").images[:count]
    return autoencoder_figures.robustness_table(models, images, stddevs)


@st.cache_data(max_entries=4, show_spinner=False)
def svd_image(photo: str, upload_name: str | None, upload: bytes | None, grey: bool):
    """A bundled photo by name, or the uploaded image, as float32 (h, w, c), at most
    ``svd.MAX_SIDE`` pixels on its longer side."""
    from mml7 import svd

    if upload is not None:
        image = data.read_upload(upload_name, upload, image_size=None, channels=1 if grey else 3)
        return svd.fit_within(image.images[0])
    image = sample_photos()[photo]
    return svd.fit_within(image.mean(axis=-1, keepdims=True) if grey else image)


@st.cache_data(max_entries=4, show_spinner="Computing the singular values...")
def svd_spectrum(photo: str, upload_name: str | None, upload: bytes | None, grey: bool):
    from mml7 import svd

    return svd.singular_values(svd_image(photo, upload_name, upload, grey), max_values=500)


@st.cache_data(max_entries=24, show_spinner=False)
def svd_low_rank(
    photo: str, upload_name: str | None, upload: bytes | None, grey: bool, ks: tuple
) -> dict:
    """{k: rank-k approximation} for each k in ``ks``, from one SVD per channel."""
    from mml7 import svd

    return svd.low_rank_approximations(svd_image(photo, upload_name, upload, grey), ks)


# --------------------------------------------------------------------------- segmentation


@shared_resource(max_entries=5, show_spinner="Loading the segmentation model...")
def segmenter(mode: str):
    """A shipped segmenter (mml7.segmentation.pretrained); never mutated by pages."""
    from mml7 import segmentation

    return segmentation.pretrained(mode)


@st.cache_data(max_entries=1, show_spinner=False)
def segmentation_summary() -> dict:
    """The record ``python -m mml7 train segmentation`` wrote (every mode's measured row)."""
    from mml7 import segmentation

    return segmentation.shipped_summary()


@st.cache_data(max_entries=2, show_spinner="Generating held-out scenes...")
def segmentation_test_scenes(count: int) -> data.SegmentationDataset:
    from mml7 import segmentation

    return segmentation.shipped_test_set(0, count)


@st.cache_data(max_entries=10, show_spinner="Predicting...")
def segmentation_predictions(mode: str, count: int):
    """Class masks (count, 64, 64) of a shipped model on the first held-out scenes."""
    from mml7 import segmentation

    scenes = segmentation_test_scenes(count)
    return segmentation.predict_classes(segmenter(mode), scenes.images)


@st.cache_data(max_entries=4, show_spinner="Segmenting...")
def segment_upload(mode: str, upload_name: str, upload: bytes):
    """(image, class mask) for an uploaded image, at most 256 px on its longer side."""
    from mml7 import segmentation

    image = data.read_upload(upload_name, upload, image_size=None, channels=3).images[0]
    padded, (height, width) = segmentation.prepare_image(image)
    masks = segmentation.predict_classes(segmenter(mode), padded[None])
    return padded[:height, :width], masks[0, :height, :width]


# --------------------------------------------------------------------------- transfer learning
# A data set is (name, upload_name, upload): a built-in name, or an uploaded zip's name and
# bytes. Features are cached per (data set, backbone, input size, cut, subsample), so a new
# head or new experiment settings never re-extract them.


@st.cache_data(max_entries=4, show_spinner="Loading the data set...")
def transfer_dataset(
    name: str, upload_name: str | None = None, upload: bytes | None = None
) -> data.ImageDataset:
    from mml7 import transfer

    if upload is not None:
        return data.read_upload(upload_name or "upload.zip", upload, image_size=96, min_classes=2)
    return transfer.load_dataset(name)


@st.cache_data(max_entries=32, show_spinner=False)
def transfer_features(
    name: str,
    upload_name: str | None,
    upload: bytes | None,
    backbone: str,
    image_size: int,
    cut: str,
    max_images: int | None = None,
):
    """Frozen features (n, d) of the data set (or of its stratified ``max_images``
    subsample, seed 0), with a progress bar made in here so Streamlit can replay it."""
    from mml7 import backbones, transfer

    dataset = transfer_dataset(name, upload_name, upload)
    picked = transfer.sample_indices(dataset.labels, max_images, seed=0)
    label = f"{backbone} features at {cut} ({len(picked):,} images, {image_size} px):"
    bar = st.progress(0.0, text=label)

    def report(fraction: float, message: str = "") -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=f"{label} {message}")

    features = backbones.extract_features(
        dataset.images[picked], backbone, cut, image_size, progress=report
    )
    bar.empty()
    return features


@st.cache_data(max_entries=8, show_spinner="Asking the ImageNet classifier...")
def transfer_similarity(name: str, upload_name: str | None, upload: bytes | None) -> float:
    from mml7 import transfer

    dataset = transfer_dataset(name, upload_name, upload)
    return transfer.imagenet_similarity(dataset.images, max_images=64, seed=0)


@st.cache_data(max_entries=16, show_spinner="Probing each depth...")
def transfer_scores(
    name: str,
    upload_name: str | None,
    upload: bytes | None,
    backbone: str,
    image_size: int,
    max_images: int,
) -> list:
    """Linear probe and LogME per cut depth, on a stratified subsample (seed 0)."""
    from mml7 import backbones, transfer

    dataset = transfer_dataset(name, upload_name, upload)
    picked = transfer.sample_indices(dataset.labels, max_images, seed=0)
    features = {
        cut: transfer_features(name, upload_name, upload, backbone, image_size, cut, max_images)
        for cut in backbones.spec(backbone).cut_names
    }
    return transfer.transferability(features, dataset.labels[picked])
