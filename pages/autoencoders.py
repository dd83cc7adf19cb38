"""Autoencoders: SVD, linear AE = PCA, deep and denoising AEs, latent space, morphing."""

import numpy as np
import streamlit as st

from app import autoencoder_view as view
from app import downloads, widgets
from app.caches import autoencoders as cached
from app.caches import common
from mml7 import autoencoders as ae
from mml7 import svd
from mml7.autoencoders import figures as figures_data
from mml7.plots import autoencoders as figures

UPLOAD = "upload an image"
IMAGE = f"One image (PNG, JPEG, ...); one larger than {svd.MAX_SIDE} px on a side is scaled down."

st.title("Autoencoders")
st.markdown(
    "An **autoencoder** is an encoder (image -> short code) and a decoder (code -> image), "
    "trained without labels so that decoder(encoder(x)) ~ x. With no activations it is "
    "PCA, i.e. a truncated SVD; convolutions and non-linearities reconstruct better from "
    "the same code size, noisy inputs with clean targets make a denoiser, and the codes "
    "place similar images near each other, so walking between two codes morphs one image "
    "into another. The models are shipped pre-trained on Fashion-MNIST."
)


def svd_tab():
    st.markdown(
        "A photo is a matrix X = U S V^T. Keeping the k largest singular values gives the "
        "best rank-k approximation, stored in k(h + w + 1) numbers instead of h w."
    )
    left, right = st.columns([1, 2])
    photo = left.selectbox("Photo", [*common.sample_photos(), UPLOAD], key="svd_photo")
    grey, file = left.toggle("Grey", key="svd_grey"), None
    if photo == UPLOAD:
        file = left.file_uploader("Image", key="svd_upload", help=widgets.upload_help(IMAGE))
        if file is None:
            return st.info("Upload an image to decompose.")
    upload = widgets.upload(file)
    if (image := view.attempt(cached.svd_image, photo, upload, grey)) is None:
        return
    (height, width), side = image.shape[:2], min(image.shape[:2])
    k = left.slider("k (rank)", 1, side, min(20, side), key="svd_k")
    ks = [g for g in (1, 2, 10, 50) if g <= side]
    approximation = cached.svd_rank(photo, upload, grey, k)
    storage = svd.storage_ratio(height, width, k)
    with right:
        view.svd_lesson(image, approximation, k, storage)
    left.metric(
        "relative error ||X - X_k|| / ||X||", f"{svd.relative_error(image, approximation):.4f}"
    )
    left.metric("storage k(h+w+1) / (hw)", f"{storage:.2%}")
    method = svd.choose_method(height, width, cached.decomposition_rank(image.shape, k))
    left.caption(f"{height} x {width} pixels (at most {svd.MAX_SIDE}); {method} SVD.")
    right.image(np.clip(approximation, 0, 1), caption=f"rank {k}", width="stretch")
    with left:
        downloads.png_button(f"Rank-{k} image (PNG)", approximation, f"rank_{k}", "svd_png")
    grid = cached.svd_thumbnails(photo, upload, grey, tuple(ks), max_side=400)
    st.plotly_chart(figures.image_rows({"rank k": grid}, [f"k = {g}" for g in ks]))
    st.plotly_chart(figures.spectrum_figure(*cached.svd_spectrum(photo, upload, grey), k))


def linear_tab():
    st.markdown(
        "Dense encoder and decoder with no activations, trained with Adam on squared "
        "error. Its test MSE matches PCA's at the same k. The principal angles between the "
        "decoder's column space and PCA's top-k subspace are near 0 degrees: the "
        "autoencoder finds PCA's *subspace*, though its code units are mixtures of the "
        "principal components, not the components themselves. The largest angles belong to "
        "directions whose variance is close to that of the first dropped component: there "
        "the error hardly depends on which of them is kept, so training is slow to decide."
    )
    k = st.radio("code size k", ae.SHIPPED_CODE_SIZES["linear"], 2, horizontal=True, key="linear_k")
    view.shipped_lesson("linear", k)
    if (loaded := view.shipped("linear", k)) is None:
        return
    angles = ae.principal_angles_to_pca(loaded[1], cached.fashion_pca())
    cols = st.columns(2)
    cols[0].metric("median principal angle to PCA's subspace", f"{np.median(angles):.2f} degrees")
    cols[1].metric("largest principal angle", f"{angles.max():.2f} degrees")
    view.scores_and_retraining("linear", k)


def deep_tab():
    st.markdown("Two stride-2 convolutions down to a dense code, transposed convolutions back up.")
    k = st.radio("code size", ae.SHIPPED_CODE_SIZES["conv"], 2, horizontal=True, key="conv_k")
    view.shipped_lesson("conv", k)
    if (loaded := view.shipped("conv", k)) is None:
        return
    sample = loaded[0].images[:10]
    rows = {"input": sample, f"conv {k}": loaded[1].reconstruct(sample)}
    rows[f"PCA {k}"] = cached.fashion_pca().reconstruct(sample, k)
    st.plotly_chart(figures.image_rows(rows))
    view.scores_and_retraining("conv", k)


def denoising_tab():
    lesson, cols = st.container(), st.columns(3)
    default_noise, default_amount = figures_data.DENOISING_DEFAULT
    kinds = ae.NOISE_KINDS
    noise = cols[0].radio("noise", kinds, kinds.index(default_noise), key="noise_kind")
    label = "sigma" if noise == "gaussian" else "fraction of pixels"
    amounts = figures_data.DENOISING_AMOUNTS
    step = round(amounts[1] - amounts[0], 2)
    amount = cols[1].slider(
        label, amounts[0], amounts[-1], default_amount, step, key="noise_amount"
    )
    trained_at = cols[2].radio(
        "model trained at sigma", ae.SHIPPED_NOISE_STDDEVS, key="noise_model"
    )
    count = figures_data.DENOISING_IMAGES
    if (shown := view.attempt(cached.denoised, noise, amount, trained_at, count)) is None:
        return
    noisy_db, denoised_db = shown["noisy_db"], shown["denoised_db"]
    with lesson:
        view.denoising_lesson(noise, amount, noisy_db, denoised_db)
    cols[0].metric(f"PSNR noisy ({count} images)", f"{noisy_db:.2f} dB")
    cols[1].metric("PSNR denoised", f"{denoised_db:.2f} dB")
    rows = {name: shown[name] for name in ("clean", "noisy", "denoised")}
    st.plotly_chart(figures.image_rows(rows))
    view.robustness(figures_data.ROBUSTNESS_IMAGES, figures_data.ROBUSTNESS_STDDEVS)


def latent_tab():
    cols = st.columns(4)
    models, counts = figures_data.LATENT_MODELS, figures_data.LATENT_COUNTS
    kind, size = cols[0].selectbox("model", models, key="latent_model").split()
    count = cols[1].select_slider(
        "test images", counts, figures_data.LATENT_COUNT, key="latent_count"
    )
    helptext = (
        "Codes longer than the plot are projected: PCA (the default, instant) keeps the "
        "directions of largest variance; t-SNE keeps each code's nearest neighbours near, "
        "with a progress bar while it runs (3-D t-SNE is slower than 2-D)."
    )
    method = cols[2].radio(
        "projection", ae.PROJECTIONS, horizontal=True, key="latent_method", help=helptext
    )
    dims = cols[3].radio("dimensions", [2, 3], horizontal=True, key="latent_dims")
    if view.shipped(kind, int(size)) is None:
        return
    view.latent_lesson(kind, int(size), count)
    st.iframe(cached.latent_scatter_html(kind, int(size), count, method, dims), height=620)
    st.caption("Hover a point: its image shows top right. Colours are classes, which no model saw.")


def morph_tab():
    if (chosen := view.morph_images_and_model()) is None:
        return
    images, model = chosen
    cols = st.columns(3)
    first = cols[0].number_input("first image #", 0, len(images) - 1, 0, key="morph_a")
    second = cols[1].number_input("second image #", 0, len(images) - 1, 1, key="morph_b")
    steps = cols[2].slider("steps", 7, 15, 9, key="morph_steps")
    strip = ae.morph(model, images[first], images[second], steps)
    fade = ae.cross_fade(images[first], images[second], steps)
    view.morph_lesson(strip)
    st.plotly_chart(figures.image_rows({"code morph": strip, "pixel fade": fade}))
    st.caption(
        "The morph decodes points on the straight line between the two codes; its ends are "
        "the two reconstructions. The pixel fade only superimposes the two images."
    )


# Only the open tab is computed (tabs with state), so each tab costs only when shown.
TABS = {
    "SVD of a photo": svd_tab,
    "Linear AE = PCA": linear_tab,
    "Deep AE": deep_tab,
    "Denoising": denoising_tab,
    "Latent space": latent_tab,
    "Morphing": morph_tab,
}
widgets.lazy_tabs(TABS, key="ae_tab")
