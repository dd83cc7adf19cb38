"""Transfer-learning advisor: measure the data, advise from the lecture's table, check it."""

import dataclasses

import streamlit as st

from app import jobs, widgets
from app import transfer_view as view
from app.caches import transfer as cached
from mml7 import DatasetUnavailable, InputError, backbones, transfer, worker
from mml7.plots import transfer as figures
from mml7.transfer import measured as measuring

PROBE_IMAGES = measuring.PAGE_PROBE_IMAGES
DEFAULTS = measuring.APP_CONFIG_FIELDS  # the precomputed signals are for these
SIZES = list(measuring.PAGE_IMAGE_SIZES)  # each precomputed for the built-in sets

st.title("Transfer-learning advisor")
st.markdown(
    """
The lecture ends transfer learning with a 2x2 table: **small** data **similar** to ImageNet
-> train only a new head on frozen features; big and similar -> fine-tune deeper layers; big
and not similar -> train from scratch; small and not similar -> collect more data. Here both
inputs are *measured* on your data: images per class, and how ImageNet-like the images look
to the ImageNet classifier itself (how large its logits get: the energy score). Beside that
*textbook* answer stands a *measured* recommendation, predicted from cheap signals (probes
of the frozen features, a pixel probe, a learning curve, a one-epoch fine-tune). Then the
strategies are trained on your data, and both recommendations are judged.
"""
)

top = st.columns([3, 3, 1, 2])
name, upload = widgets.dataset_or_zip(
    top[0],
    "Data set",
    transfer.BUILTIN_DATASETS,
    "dataset",
    "upload",
    help="A .zip whose top-level folders are class names (at least 2 classes).",
)
reasons = backbones.available_backbones()
usable = [name for name, reason in reasons.items() if reason is None]
if not usable:
    st.error("No ImageNet backbone is available offline: " + "; ".join(map(str, reasons.values())))
    st.stop()
backbone = top[1].selectbox(
    "Backbone",
    usable,
    index=usable.index(backbones.DEFAULT_BACKBONE) if backbones.DEFAULT_BACKBONE in usable else 0,
    key="backbone",
)
image_size = top[2].selectbox(
    "Input px", SIZES, index=SIZES.index(DEFAULTS["image_size"]), key="size"
)
big_threshold = top[3].slider(
    "Big data from (images per class)", 10, 2000, transfer.BIG_THRESHOLD, 10, key="big"
)
for other, reason in reasons.items():
    if reason is not None:
        st.caption(f"**{other}** is not selectable: {reason}.")

source = (name, upload)
try:
    dataset = cached.dataset(*source)
    similarity = cached.imagenet_similarity(*source)
    scores = cached.depth_scores(*source, backbone, image_size, PROBE_IMAGES)
except (InputError, DatasetUnavailable) as error:
    st.error(str(error))
    st.info("Everything below is measured on the data set: choose another one or another file.")
    st.stop()
widgets.show_skipped(dataset.skipped)
cut = transfer.recommended_cut(scores)

measured = st.container()  # filled once the settings below say what is trained on

st.subheader("2. Run the strategies on this data")
with st.expander("Experiment settings"):
    columns = st.columns(5)
    cuts = backbones.spec(backbone).cut_names
    chosen_cut = columns[0].selectbox("Cut", cuts, index=cuts.index(cut), key="cut")
    head_epochs = columns[1].number_input(
        "Head epochs",
        1,
        200,
        DEFAULTS["head_epochs"],
        key="head_epochs",
        help="On small data sets an epoch is several passes: a head gets at least "
        f"{transfer.ExperimentConfig().head_min_steps:,} optimiser steps in all.",
    )
    blocks = columns[2].number_input("Blocks fine-tuned", 1, 6, 2, key="blocks")
    tune_epochs = columns[3].number_input("Fine-tune epochs", 1, 50, 3, key="tune_epochs")
    scratch_epochs = columns[4].number_input(
        "Scratch epochs", 1, 50, DEFAULTS["scratch_epochs"], key="scratch_epochs"
    )
    max_train = st.number_input(
        "At most this many training images",
        20,
        60_000,
        DEFAULTS["max_train_images"],
        key="max_train",
    )
    probe_tuning = st.checkbox(
        "Probe fine-tuning for the measured recommendation (one epoch; slower)",
        key="probe_tuning",
        help="Predicts fine-tuning as the head plus the gain of a one-epoch fine-tune. "
        "Off, fine-tuning is predicted as the head: on the advisor's suite the probe "
        "changed one recommendation in 21 runs and cost most of the signals' time.",
    )
config = transfer.ExperimentConfig(
    backbone=backbone,
    cut=chosen_cut,
    image_size=image_size,
    head_epochs=int(head_epochs),
    fine_tune_blocks=int(blocks),
    fine_tune_epochs=int(tune_epochs),
    scratch_epochs=int(scratch_epochs),
    ensemble_cut=transfer.ensemble_cut(scores, chosen_cut),
    max_train_images=int(max_train),
)
try:
    advice = transfer.advise(dataset, similarity, big_threshold=big_threshold, config=config)
except InputError as error:
    st.error(str(error))
    st.stop()
try:
    signals = cached.signals(*source, config, bool(probe_tuning))
    recommendation = measuring.predict(signals)
except (InputError, worker.WorkerError) as error:
    signals = recommendation = None
    signal_error = str(error)
with measured:
    st.subheader("1. Measured inputs and two recommendations")
    view.advice_lesson(advice, similarity)
    metrics = st.columns(4)
    metrics[0].metric("Images", f"{len(dataset):,}")
    metrics[1].metric(
        "Smallest class (training)",
        f"{advice.images_per_class:,} images",
        help=f"of the {advice.training_images:,} images the strategies train on",
    )
    metrics[2].metric(
        "ImageNet similarity",
        f"{similarity:.2f}",
        help=f"similar from {transfer.SIMILARITY_THRESHOLD:.2f}",
    )
    metrics[3].metric("Cut the extractor at", cut)
    left, right = st.columns(2)
    with left:
        st.markdown("**Textbook: the lecture's table**")
        st.plotly_chart(
            figures.advice_table(advice, big_threshold, transfer.SIMILARITY_THRESHOLD),
            key="table",
        )
        st.success(advice.reason)
        view.similarity_context(similarity)
    with right:
        st.markdown("**Measured: predicted from cheap signals**")
        if recommendation is None:
            st.error(f"The signals could not be measured: {signal_error}")
        else:
            view.measured_recommendation(recommendation, signals)
    st.markdown("**How far the frozen extractor transfers, per depth**")
    view.depth_lesson(scores, cut)
    if (note := transfer.middle_cut_note(scores, min(len(dataset), PROBE_IMAGES))) is not None:
        st.info(note)
    st.plotly_chart(figures.depth_chart(scores, cut), key="depths")
    st.caption(
        f"Frozen {backbone} features at each depth, on {min(len(dataset), PROBE_IMAGES):,} "
        "images: 3-fold logistic-regression accuracy and LogME (You et al., 2021: the "
        "evidence of a Bayesian linear model; higher transfers better). The recommended cut "
        "is the best probe, LogME breaking near-ties."
    )
    view.depth_table(scores)

run_key = (name, upload and upload.digest, big_threshold, config)
if st.button("Run the four strategies", type="primary", key="run"):
    with jobs.training_slot("the four strategies"):
        collect = recommendation is not None and recommendation.strategy == "collect_more_data"
        view.run(dataset, config, advice, run_key, head_curve=collect)
if (stored := view.stored_run(run_key)) is None:
    st.info(
        "Press the button to train (a) a new head on frozen features, (b) fine-tuning of "
        "the top blocks at a 10x smaller learning rate, (c) the same network from random "
        "weights and (d) an ensemble of two heads at different depths."
    )
    st.stop()
result, curve, head_curve = stored
view.results(result, config, dataset.class_names)

st.subheader("3. Verdict: both recommendations against the experiments")
view.verdict(advice, result, curve, head_curve, recommendation)
st.caption(f"Settings: {dataclasses.asdict(config)}")
