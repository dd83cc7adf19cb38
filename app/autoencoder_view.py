"""The Autoencoders page's pieces: errors kept inside their tab, the shipped scores with the
lecture's claims and their measured numbers, and retraining with its download."""

from __future__ import annotations

import streamlit as st

from app import downloads, jobs, widgets
from app.caches import autoencoders as cached
from app.caches import common
from mml7 import DatasetUnavailable, InputError, svd, worker
from mml7 import autoencoders as ae
from mml7.plots import autoencoders as figures

SLIDES = {
    "svd": "Интерпретация: k = 1, 2, 10, 50 (SVD of a 475x620 photo)",
    "linear": "Linear case: “similar” to PCA or SVD",
    "conv": "Нужно учить глубокое преобразование!",
    "denoising": "Denoising autoencoders",
    "latent": "A NN can convert an object to a small dense vector, which encodes the semantics",
    "morph": "Путешествуя в пространстве имбедингов плавно меняется картинка",
}
RETRAINED = "ae_retrained"  # the latest retraining on this page: (settings, model, test MSE)


def svd_lesson(image, approximation, k: int, storage: float) -> None:
    widgets.lesson(
        SLIDES["svd"],
        f"k = {k} keeps {svd.energy_kept(image, approximation):.1%} of the energy at "
        f"{storage:.1%} of the storage",
    )


def attempt(function, *args):
    """``function(*args)``, or None after showing why a data set, model or file is missing
    (in the block that asked: the rest of the page stays)."""
    try:
        return function(*args)
    except (DatasetUnavailable, InputError) as error:
        st.error(str(error))


def shipped(kind: str, code_size: int, noise_stddev: float = 0.2):
    """(the Fashion-MNIST test set, the shipped model), or None after an error message."""
    if (test := attempt(common.fashion_mnist, "test")) is None:
        return None
    model = attempt(cached.autoencoder, kind, code_size, noise_stddev)
    return None if model is None else (test, model)


def shipped_lesson(kind: str, code_size: int) -> None:
    """The tab's slide and the shipped record's ratio to PCA at ``code_size``; a larger
    code that reconstructs worse is said plainly, with the epochs it had."""
    table = ae.shipped_scores(kind, cached.summary())
    sizes = table["code size"]
    if code_size not in sizes:
        widgets.lesson(SLIDES[kind], f"no training record for code {code_size}")
        return
    row = sizes.index(code_size)
    text = (
        f"{kind} AE / PCA test MSE at code {code_size}: ratio "
        f"{table[f'{kind} / PCA'][row]:.3f} ({table['epochs'][row]} epochs)"
    )
    epochs = dict(zip(sizes, table["epochs"], strict=True))
    for small, large in ae.code_size_inversions(table, kind):
        text += (
            f"; code {large} ({epochs[large]} epochs) reconstructs WORSE than code {small} "
            f"({epochs[small]} epochs): under-trained"
        )
    widgets.lesson(SLIDES[kind], text)


def scores_and_retraining(kind: str, code_size: int) -> None:
    """Shipped test MSEs beside PCA's (with the lesson and a CSV), then training a fresh
    model here, with live loss; the latest retrained model stays for download."""
    table = ae.shipped_scores(kind, cached.summary())
    if table["code size"]:
        st.plotly_chart(figures.scores_figure(table, kind))
        st.dataframe(table, hide_index=True)
        downloads.csv_button("MSE table (CSV)", table, f"{kind}_autoencoder_mse", f"{kind}_csv")
    else:
        st.info("No training record; run `python -m mml7 train autoencoders`.")
    with st.expander(f"Retrain a {kind} autoencoder with code size {code_size} here"):
        default_count, default_epochs = ae.RETRAIN_DEFAULTS[kind]
        count = st.select_slider(
            "training images", [1000, 5000, 20000, 60000], default_count, key=f"{kind}_n"
        )
        epochs = int(st.number_input("epochs", 1, 30, default_epochs, key=f"{kind}_epochs"))
        settings = (kind, code_size, count, epochs)
        if st.button("Train", key=f"{kind}_train"):
            with jobs.training_slot(f"the {kind} autoencoder"):
                retrain(settings)
        show_retrained(settings)


def retrain(settings: tuple) -> None:
    kind, code_size, count, epochs = settings
    st.session_state.pop(RETRAINED, None)
    if attempt(common.fashion_mnist, "test") is None:  # told before the queue, not after
        return
    chart = st.empty()

    def draw(epoch, history):
        chart.plotly_chart(figures.loss_figure(history["loss"]))

    with widgets.progress_bar("Training") as progress:
        try:  # the images are read, and the model scored, in the training process
            model, mse = worker.run(
                ae.train_on_fashion_mnist,
                kind,
                code_size,
                count,
                epochs,
                callbacks={"progress": progress, "on_epoch_end": draw},
            )
        except (worker.WorkerError, DatasetUnavailable) as error:
            chart.empty()
            return st.error(str(error))
    chart.empty()
    st.session_state[RETRAINED] = (settings, model, mse)


def show_retrained(settings: tuple) -> None:
    stored = st.session_state.get(RETRAINED)
    if stored is None or stored[0] != settings:
        return
    (kind, code_size, count, epochs), model, mse = stored
    references = cached.retrain_references(kind, code_size)
    pca = references[f"PCA k={code_size}"]
    verdict = "beats" if mse < pca else "does not beat"
    st.markdown(
        f"**Retrained ({count:,} images, {epochs} epoch{'s' * (epochs != 1)}): test MSE "
        f"{mse:.5f}**, "
        f"{mse / pca:.2f}x PCA's at k = {code_size}: it {verdict} PCA. The references, "
        "on the same 10,000 test images as the table above:"
    )
    rows = {"retrained here": mse, **references}
    st.dataframe(
        {
            "model": list(rows),
            "test MSE": list(rows.values()),
            "x PCA": [value / pca for value in rows.values()],
        },
        hide_index=True,
    )
    downloads.model_button(
        f"Retrained {kind} autoencoder (zip)",
        model.autoencoder,
        ae.download_contract(model, count, epochs),
        f"{kind}_autoencoder_{code_size}",
        f"{kind}_model",
    )


def denoising_lesson(noise: str, amount: float, noisy_db: float, denoised_db: float) -> None:
    widgets.lesson(
        SLIDES["denoising"],
        f"PSNR {noisy_db:.1f} dB -> {denoised_db:.1f} dB ({denoised_db - noisy_db:+.1f} dB) "
        f"on 500 test images, {noise} noise {amount:g}",
    )


def robustness(count: int, stddevs: tuple) -> None:
    if (table := attempt(cached.denoising_robustness, count, stddevs)) is not None:
        st.markdown(robustness_summary(table))
        st.plotly_chart(figures.robustness_figure(table, count))
        downloads.csv_button("Robustness table (CSV)", table, "denoising_robustness", "noise_csv")


def robustness_summary(table: dict) -> str:
    """What training at one noise level does at the others, in a sentence per model:
    where its PSNR gain over the noisy input peaks, and where it turns into a loss."""
    stddevs, noisy = table["noise stddev"], table["noisy input"]
    lines = []
    for name in [key for key in table if key not in ("noise stddev", "noisy input")]:
        gains = [out - inp for out, inp in zip(table[name], noisy, strict=True)]
        best = max(range(len(gains)), key=gains.__getitem__)
        text = f"- **{name}**: gains most at sigma {stddevs[best]:g} ({gains[best]:+.1f} dB)"
        losses = [(s, g) for s, g in zip(stddevs, gains, strict=True) if g < 0]
        if losses:
            where = ", ".join(f"sigma {s:g} ({g:+.1f} dB)" for s, g in losses)
            text += f"; makes images WORSE than the noisy input at {where}"
        else:
            worst = min(range(len(gains)), key=gains.__getitem__)
            text += f"; helps at every level shown, least at sigma {stddevs[worst]:g}"
        lines.append(text)
    return "PSNR gain over the noisy input, per model:\n" + "\n".join(lines)


def latent_lesson(kind: str, code_size: int, count: int) -> None:
    with st.spinner(f"Finding each of {count:,} codes' nearest neighbour..."):
        agreement = cached.neighbour_agreement(kind, code_size, count)
    widgets.lesson(
        SLIDES["latent"],
        f"{agreement:.0%} of {count:,} test images have a nearest neighbour (by their "
        f"{code_size}-number code) of the same class, which no model saw "
        f"(chance: {1 / len(common.fashion_mnist('test').class_names):.0%})",
    )


def morph_images_and_model():
    """The morph tab's choice: (images, autoencoder), or None after an error message."""
    source = st.radio("images", ["Fashion-MNIST", "LFW faces"], horizontal=True, key="morph_source")
    if source == "Fashion-MNIST":
        k = st.radio("conv code size", [16, 32, 64], index=1, horizontal=True, key="morph_k")
        loaded = shipped("conv", k)
        return None if loaded is None else (loaded[0].images, loaded[1])
    images = cached.lfw_faces_28()[:100]  # the first 100 crops are faces
    record = cached.faces_record()
    if "held_out_mse" not in record:
        model = attempt(cached.faces_autoencoder)
        return None if model is None else (images, model)
    conv, pca = record["held_out_mse"], record["pca_held_out_mse"]
    st.markdown(faces_verdict(record))
    codes = ["PCA", "conv autoencoder"] if pca <= conv else ["conv autoencoder", "PCA"]
    chosen = st.radio("codes", codes, horizontal=True, key="morph_faces_codes")
    if chosen == "PCA":
        return images, cached.faces_pca_codes()
    model = attempt(cached.faces_autoencoder)
    return None if model is None else (images, model)


def faces_verdict(record: dict) -> str:
    """The faces model beside PCA and the mean image on the held-out crops, and what the
    morph therefore uses by default."""
    conv, pca, mean = (
        record[key] for key in ("held_out_mse", "pca_held_out_mse", "mean_image_held_out_mse")
    )
    k = record["code_size"]
    text = (
        f"On {record['held_out_images']} held-out face crops, MSE: conv autoencoder "
        f"(code {k}, {record['train_images']} training crops, {record['epochs']} epochs) "
        f"{conv:.4f}, PCA at k = {k} {pca:.4f}, the mean image {mean:.4f}. "
    )
    if pca <= conv:
        return text + (
            f"**{record['train_images']} small crops cannot train a conv autoencoder that "
            "beats PCA**: it memorises its training faces and blurs new ones. The morph "
            "therefore uses PCA's codes (the best linear autoencoder) by default."
        )
    return text + "The conv autoencoder beats PCA here, so the morph uses its codes."


def morph_lesson(strip) -> None:
    changes = ae.frame_changes(strip)
    widgets.lesson(
        SLIDES["morph"],
        f"the largest change between neighbouring frames is {changes.max() / changes.mean():.2f}x "
        f"the mean one over {len(changes)} steps (1.00 = perfectly even)",
    )
    downloads.png_button("Morph strip (PNG)", ae.side_by_side(strip), "morph", "morph_png")
