"""Autoencoders and SVD: shipped models, PCA, projections, robustness, low-rank images."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import static_files
from app.cache import Upload, cached_data, shared_resource
from app.caches.common import fashion_mnist, sample_photos
from app.widgets import progress_bar


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


@st.cache_data(max_entries=1, show_spinner=False)
def faces_pca_codes():
    """PCA of the faces model's training crops at its code size (``PCACodes``)."""
    from mml7 import autoencoders

    train, _ = autoencoders.faces_split(faces_record().get("split_seed", 0))
    pca = autoencoders.fit_pca(lfw_faces_28()[train], autoencoders.FACES_CODE_SIZE)
    return autoencoders.PCACodes(pca, autoencoders.FACES_CODE_SIZE)


def faces_record() -> dict:
    """The faces model's training record (held-out MSEs beside PCA's), or {}."""
    from mml7 import autoencoders

    return summary().get("models", {}).get(autoencoders.FACES_FILE, {})


@shared_resource(max_entries=1, show_spinner="Fitting PCA to the 60,000 training images...")
def fashion_pca(max_k: int = 64):
    """PCA of Fashion-MNIST's training images: the shipped one (``python -m mml7 measure
    autoencoders``), else fitted here; shared and never mutated."""
    from mml7 import autoencoders
    from mml7.autoencoders import figures

    found = figures.shipped_pca()
    if found is not None and len(found.components) >= max_k:
        return found
    return autoencoders.fit_pca(fashion_mnist("train").images, max_k)


@st.cache_data(max_entries=8, show_spinner="Scoring the references...")
def retrain_references(kind: str, code_size: int) -> dict[str, float]:
    """Test MSEs on all 10,000 test images of the mean image, PCA at ``code_size`` and
    the shipped model of ``kind`` and size (when there is one). The shipped model's is its
    training record's: running it here would cost the server 0.1-0.25 GB under NumPy."""
    from mml7 import InputError, autoencoders

    test = fashion_mnist("test").images
    pca = fashion_pca()  # fitted on the training images: its mean is theirs
    train_mean = pca.mean.reshape(test.shape[1:]).astype(np.float32)
    scores = autoencoders.reference_scores(test, code_size, pca, train_mean)
    try:
        autoencoder(kind, code_size)  # its weights are here and today's
    except InputError:  # no shipped model of this size: the other references stay
        return scores
    shipped = autoencoders.shipped_test_mse(kind, code_size, summary())
    return scores if shipped is None else scores | {"shipped model": shipped}


@st.cache_data(max_entries=1, show_spinner=False)
def summary() -> dict:
    """The record ``python -m mml7 train autoencoders`` wrote: epochs, losses, test MSEs."""
    from mml7 import shipped

    return shipped.summary("autoencoders")


@st.cache_data(max_entries=4, show_spinner="Encoding the test images...")
def codes(kind: str, code_size: int, count: int):
    """Codes (count, code_size) of the first ``count`` test images: the shipped file's
    when it has them for today's weights, else encoded here."""
    from mml7.autoencoders import figures

    if (found := figures.shipped_codes(kind, code_size, count)) is not None:
        return found
    return autoencoder(kind, code_size).encode(fashion_mnist("test").images[:count])


@st.cache_data(max_entries=8, show_spinner=False)
def neighbour_agreement(kind: str, code_size: int, count: int) -> float:
    from mml7 import autoencoders

    return autoencoders.neighbour_agreement(
        codes(kind, code_size, count), fashion_mnist("test").labels[:count]
    )


@st.cache_data(max_entries=8, show_spinner=False)
def projection(kind: str, code_size: int, count: int, method: str, dims: int):
    from mml7 import autoencoders

    found = codes(kind, code_size, count)
    with progress_bar(f"Projecting {count:,} codes with {method}:") as progress:
        return autoencoders.project_codes(found, method, dims, progress=progress)


@st.cache_data(max_entries=8, show_spinner="Drawing the latent space...")
def latent_scatter_html(kind: str, code_size: int, count: int, method: str, dims: int) -> str:
    from mml7.plots import autoencoders as figures

    test = fashion_mnist("test")
    points = projection(kind, code_size, count, method, dims)
    title = f"{kind} autoencoder, code {code_size}, {method if code_size > dims else 'codes'}"
    figure = figures.latent_scatter(
        points,
        test.labels[:count],
        test.class_names,
        test.images[:count],
        title,
        sprite_url=sprite_url(count),
    )
    return figures.latent_scatter_html(figure, static_files.plotly_js())


@st.cache_data(max_entries=4, show_spinner=False)
def sprite_url(count: int) -> str | None:
    """The URL of the sprite sheet of the first ``count`` test images in the app's static
    files (the same for every model and projection), or None: the figure inlines it."""
    from mml7.plots import autoencoders as figures
    from mml7.plots.mosaic import png_bytes

    sheet, _ = figures.sprite_sheet(fashion_mnist("test").images[:count])
    return static_files.png(f"fashion-test-{count}-sprite", png_bytes(sheet))


@st.cache_data(max_entries=2, show_spinner=False)
def denoising_robustness(count: int, stddevs: tuple) -> dict:
    """PSNR per noise level of each shipped denoiser: the shipped curve when it was
    measured on these images with today's weights, else measured here."""
    from mml7 import autoencoders
    from mml7.autoencoders import figures

    if (found := figures.shipped_robustness(count, stddevs)) is not None:
        return found
    models = {name: autoencoder("denoising", 64, s) for name, s in figures.denoiser_names().items()}
    images = fashion_mnist("test").images[:count]
    label = f"Denoising {count:,} test images at {len(stddevs)} noise levels:"
    with progress_bar(label) as progress:
        return autoencoders.denoising_robustness(models, images, stddevs, progress=progress)


@st.cache_data(max_entries=8, show_spinner="Denoising...")
def denoised(noise: str, amount: float, trained_at: float, count: int) -> dict:
    """``figures.denoising_view``: the first ``count`` test images corrupted by ``noise`` of
    ``amount`` (seed 0) through the denoiser trained at ``trained_at``: mean PSNRs and the
    images shown. The default noise's from the shipped file, others measured here."""
    from mml7.autoencoders import figures

    found = figures.shipped_denoising_view(noise, amount, trained_at, count)
    if found is not None:
        return found
    model = autoencoder("denoising", 64, trained_at)
    return figures.denoising_view(model, noise, amount, count)


@shared_resource(max_entries=4, show_spinner="Reading the image...")
def svd_image(photo: str, upload: Upload | None, grey: bool):
    """A bundled photo by name, or the uploaded image, as float32 (h, w, c), at most
    ``svd.MAX_SIDE`` pixels on its longer side; read-only and shared (up to 48 MB for a
    colour photo, so it is not copied on every rerun as cached data would be)."""
    from mml7 import svd, uploads

    if upload is not None:
        channels = 1 if grey else 3
        image = uploads.read_image(upload.name, upload.data, channels, max_side=svd.MAX_SIDE)
    else:
        image = sample_photos()[photo]
        image = svd.fit_within(image.mean(axis=-1, keepdims=True) if grey else image)
    image.setflags(write=False)
    return image


@cached_data(max_entries=4, show_spinner="Computing the singular values...")
def svd_spectrum(photo: str, upload: Upload | None, grey: bool):
    """(singular values (c, r) per channel, their cumulative energy (r,)), r <= 500."""
    from mml7 import svd

    image = svd_image(photo, upload, grey)
    values = svd.singular_values(image, max_values=500)
    return values, svd.cumulative_energy(values, image=image)


# Ranks up to this come from one randomised decomposition; a larger k on the slider takes
# the full one (at most two decompositions per image).
SVD_SMALL_RANK = 50


@shared_resource(max_entries=4, show_spinner="Decomposing the image...")
def svd_factors(photo: str, upload: Upload | None, grey: bool, rank: int) -> list:
    """``svd.decompose`` of the image up to ``rank``: a few MB per channel, shared and
    never mutated; every rank-k image is one product away (``svd_rank``)."""
    from mml7 import svd

    return svd.decompose(svd_image(photo, upload, grey), rank)


def decomposition_rank(shape: tuple, k: int) -> int:
    """The rank decomposed to show rank k: ``SVD_SMALL_RANK`` for small k, else all."""
    side = min(shape[:2])
    return min(SVD_SMALL_RANK, side) if k <= SVD_SMALL_RANK else side


def svd_rank(photo: str, upload: Upload | None, grey: bool, k: int):
    """The rank-k approximation (float32, shaped like the image), from cached factors."""
    from mml7 import svd

    image = svd_image(photo, upload, grey)
    factors = svd_factors(photo, upload, grey, decomposition_rank(image.shape, k))
    return svd.reconstruct(factors, k, image.shape)


@cached_data(max_entries=8, show_spinner=False)
def svd_thumbnails(photo: str, upload: Upload | None, grey: bool, ks: tuple, max_side: int):
    """float32 (len(ks), h', w', c): the rank-k images for the lecture's grid, each shrunk
    to at most ``max_side`` px as soon as it is made (one full-size image at a time)."""
    from mml7 import images

    size = images.fit_size(svd_image(photo, upload, grey).shape[:2], max_side)
    return np.stack([images.resize(svd_rank(photo, upload, grey, k), size, "box") for k in ks])
