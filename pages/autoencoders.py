"""Autoencoders: SVD, linear AE = PCA, deep and denoising AEs, latent space, morphing."""

import numpy as np
import plotly.express as px
import streamlit as st

from app import widgets
from app.caches import autoencoders as cached
from app.caches import common
from mml7 import DatasetUnavailable, InputError, svd
from mml7 import autoencoder_figures as figures
from mml7 import autoencoders as ae

UPLOAD = "upload an image"
LATENT_MODELS = ["conv 2", "conv 16", "conv 32", "conv 64", "linear 2", "linear 32"]

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
    grey = left.toggle("Grey", key="svd_grey")
    upload = None
    if photo == UPLOAD:
        file = left.file_uploader("Image (PNG, JPEG, ...)", key="svd_upload")
        if file is None:
            return st.info("Upload an image to decompose.")
        upload = widgets.upload(file)
    try:
        image = cached.svd_image(photo, upload, grey)
    except InputError as error:
        return st.error(str(error))
    height, width = image.shape[:2]
    k = left.slider("k (rank)", 1, min(height, width), min(20, height, width), key="svd_k")
    ks = [g for g in (1, 2, 10, 50) if g <= min(height, width)]
    series = cached.svd_low_rank(photo, upload, grey, tuple(sorted({*ks, k})))
    approximation = series[k]
    error = svd.relative_error(image, approximation)
    left.metric("relative error ||X - X_k|| / ||X||", f"{error:.4f}")
    left.metric("storage k(h+w+1) / (hw)", f"{svd.storage_ratio(height, width, k):.2%}")
    method = svd.choose_method(height, width, k)
    left.caption(f"{height} x {width} pixels (at most {svd.MAX_SIDE}); {method} SVD.")
    right.image(np.clip(approximation, 0, 1), caption=f"rank {k}", width="stretch")
    grid = np.stack([series[g] for g in ks])
    st.plotly_chart(figures.image_rows({"rank k": grid}, [f"k = {g}" for g in ks]))
    values = cached.svd_spectrum(photo, upload, grey)
    st.plotly_chart(figures.spectrum_figure(values, image, k))


def fashion_test():
    try:
        return common.fashion_mnist("test")
    except DatasetUnavailable as error:
        st.error(str(error))


def shipped(kind: str, code_size: int, noise_stddev: float = 0.2):
    try:
        return cached.autoencoder(kind, code_size, noise_stddev)
    except InputError as error:
        st.error(str(error))


def retrain(kind: str, code_size: int) -> None:
    """Train a fresh model here, with a progress bar and a live loss curve."""
    with st.expander(f"Retrain a {kind} autoencoder with code size {code_size} here"):
        count = st.select_slider("training images", [1000, 5000, 20000, 60000], key=f"{kind}_n")
        epochs = st.number_input("epochs", 1, 30, 2, key=f"{kind}_epochs")
        if not st.button("Train", key=f"{kind}_train"):
            return
        train = common.fashion_mnist("train").images[:count]
        extra = {"data_mean": train.mean(0)} if kind == "linear" else {}
        model = ae.build_autoencoder(kind, code_size, **extra)
        chart, losses = st.empty(), []

        def draw(epoch, logs):
            losses.append(logs["loss"])
            chart.plotly_chart(px.line(y=losses, markers=True, labels={"x": "epoch", "y": "loss"}))

        with widgets.progress_bar("Training") as progress:
            ae.train_autoencoder(model, train, int(epochs), progress=progress, on_epoch_end=draw)
        test = common.fashion_mnist("test").images[:2000]
        st.success(f"Test MSE (2,000 test images): {ae.mse(test, model.reconstruct(test)):.5f}")


def mse_chart(kind: str):
    """Test MSE of the shipped models beside PCA's, as measured when they were trained."""
    models = cached.summary().get("models", {})
    rows = sorted((m for m in models.values() if m["kind"] == kind), key=lambda m: m["code_size"])
    if not rows:
        return st.info("No training record; run `python -m mml7 train autoencoders`.")
    table = {
        "code size": [m["code_size"] for m in rows],
        kind: [m["test_mse"] for m in rows],
        "PCA": [m["pca_test_mse"] for m in rows],
        f"{kind} / PCA": [m["test_mse"] / m["pca_test_mse"] for m in rows],
        "epochs": [m["epochs"] for m in rows],
    }
    labels = {"value": "test MSE (10,000 images)", "variable": ""}
    chart = px.bar(table, x="code size", y=[kind, "PCA"], barmode="group", labels=labels)
    st.plotly_chart(chart.update_xaxes(type="category"))
    st.dataframe(table, hide_index=True)


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
    sizes = ae.SHIPPED_CODE_SIZES["linear"]
    k = st.radio("code size k", sizes, index=2, horizontal=True, key="linear_k")
    if fashion_test() is None or (model := shipped("linear", k)) is None:
        return
    angles = ae.principal_angles_to_pca(model, cached.fashion_pca())
    cols = st.columns(2)
    cols[0].metric("median principal angle to PCA's subspace", f"{np.median(angles):.2f} degrees")
    cols[1].metric("largest principal angle", f"{angles.max():.2f} degrees")
    mse_chart("linear")
    retrain("linear", k)


def deep_tab():
    st.markdown("Two stride-2 convolutions down to a dense code, transposed convolutions back up.")
    sizes = ae.SHIPPED_CODE_SIZES["conv"]
    k = st.radio("code size", sizes, index=2, horizontal=True, key="conv_k")
    if (test := fashion_test()) is None or (model := shipped("conv", k)) is None:
        return
    sample = test.images[:10]
    rows = {"input": sample, f"conv {k}": model.reconstruct(sample)}
    rows[f"PCA {k}"] = cached.fashion_pca().reconstruct(sample, k)
    st.plotly_chart(figures.image_rows(rows))
    mse_chart("conv")
    retrain("conv", k)


def denoising_tab():
    cols = st.columns(3)
    noise = cols[0].radio("noise", ae.NOISE_KINDS, key="noise_kind")
    label = "sigma" if noise == "gaussian" else "fraction of pixels"
    amount = cols[1].slider(label, 0.0, 0.6, 0.2, 0.05, key="noise_amount")
    levels = ae.SHIPPED_NOISE_STDDEVS
    trained_at = cols[2].radio("model trained at sigma", levels, key="noise_model")
    if (test := fashion_test()) is None or (model := shipped("denoising", 64, trained_at)) is None:
        return
    clean = test.images[:500]
    noisy = ae.add_noise(clean, noise, amount, seed=0)
    denoised = model.reconstruct(noisy)
    cols[0].metric("PSNR noisy (500 images)", f"{ae.psnr(clean, noisy).mean():.2f} dB")
    cols[1].metric("PSNR denoised", f"{ae.psnr(clean, denoised).mean():.2f} dB")
    rows = {"clean": clean[:10], "noisy": noisy[:10], "denoised": denoised[:10]}
    st.plotly_chart(figures.image_rows(rows))
    try:
        table = cached.denoising_robustness(1000, (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6))
    except InputError as error:
        return st.error(str(error))
    title = "Robustness: mean PSNR vs Gaussian noise at test time (1,000 test images)"
    labels = {"value": "PSNR (dB)", "variable": ""}
    st.plotly_chart(
        px.line(
            table, x="noise stddev", y=list(table)[1:], markers=True, title=title, labels=labels
        )
    )


def latent_tab():
    cols = st.columns(4)
    kind, size = cols[0].selectbox("model", LATENT_MODELS, key="latent_model").split()
    count = cols[1].select_slider(
        "test images", [1000, 2000, 5000, 10000], 2000, key="latent_count"
    )
    helptext = "Codes longer than the plot are projected; t-SNE of 10,000 codes takes minutes."
    method = cols[2].radio(
        "projection", ["pca", "tsne"], horizontal=True, key="latent_method", help=helptext
    )
    dims = cols[3].radio("dimensions", [2, 3], horizontal=True, key="latent_dims")
    if fashion_test() is None or shipped(kind, int(size)) is None:
        return
    st.iframe(cached.latent_scatter_html(kind, int(size), count, method, dims), height=620)
    st.caption("Hover a point: its image shows top right. Colours are classes, which no model saw.")


def morph_tab():
    source = st.radio("images", ["Fashion-MNIST", "LFW faces"], horizontal=True, key="morph_source")
    if source == "Fashion-MNIST":
        k = st.radio("conv code size", [16, 32, 64], index=1, horizontal=True, key="morph_k")
        if (test := fashion_test()) is None or (model := shipped("conv", k)) is None:
            return
        images = test.images
    else:
        images = cached.lfw_faces_28()[:100]  # the first 100 crops are faces
        try:
            model = cached.faces_autoencoder()
        except InputError as error:
            return st.error(str(error))
    cols = st.columns(3)
    first = cols[0].number_input("first image #", 0, len(images) - 1, 0, key="morph_a")
    second = cols[1].number_input("second image #", 0, len(images) - 1, 1, key="morph_b")
    steps = cols[2].slider("steps", 7, 15, 9, key="morph_steps")
    strip = ae.morph(model, images[first], images[second], steps)
    fade = ae.cross_fade(images[first], images[second], steps)
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
