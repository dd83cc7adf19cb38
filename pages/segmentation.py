"""Segmentation & unpooling: per-pixel softmax, pooling to go deep, unpooling back up."""

import html

import numpy as np
import streamlit as st

from app import widgets
from app.caches import segmentation as cached
from mml7 import DatasetUnavailable, InputError, unpooling
from mml7 import segmentation as seg
from mml7.data import SHAPE_CLASSES
from mml7.plots import segmentation as figures

st.title("Segmentation & unpooling")
st.markdown(
    "**Semantic segmentation** gives every pixel a class with a per-pixel softmax. A plain "
    "stack of convolutions at full resolution sees little context and costs a lot; pooling "
    "lets the network go deep cheaply, and **unpooling** brings it back to full size: "
    "*nearest neighbour* copies each value (pixelated), *bilinear* blends, *max unpooling* "
    "puts each value back where the encoder's maximum was, and a *transposed convolution* "
    "learns how to spread it (stride 2, overlaps summed)."
)


def steps_tab():
    left, right = st.columns([1, 3])
    source = left.radio("4x4 input", ["random", "typed"], horizontal=True, key="seg_input")
    if source == "random":
        x = unpooling.random_input(int(left.number_input("seed", 0, 9999, 0, key="seg_seed")))
    else:
        text = left.text_area(
            "4 rows of 4 numbers", "1 5 2 0\n3 5 0 4\n0 0 7 1\n0 0 2 9", key="seg_matrix"
        )
        try:
            x = unpooling.parse_matrix(text)
        except ValueError as error:
            return st.error(str(error))
    steps = unpooling.unpooling_steps(x)
    marked = steps["mask"] > 0
    right.plotly_chart(figures.matrix_figure(x, "input, 2x2 windows (max in red)", marked, 2))
    left.plotly_chart(figures.matrix_figure(steps["pooled"], "2x2 max pooling", height=200))
    step_figures = figures.unpooling_step_figures(steps)
    for col, (mode, figure) in zip(st.columns(4), step_figures.items(), strict=True):
        col.plotly_chart(figure, key=f"seg_step_{mode}")
    st.markdown(
        "**Transposed convolution**, stride 2: each pooled value weights the 3x3 filter "
        f"{unpooling.EXAMPLE_FILTER.tolist()}, placed 2 pixels apart; overlapping "
        'contributions add up, and the dashed 4x4 part is kept (`padding="same"`). In a '
        "network the filter is learnt."
    )
    st.plotly_chart(figures.transposed_figure(steps))


def legend(where, class_names) -> None:
    """Colour swatches for the classes; names are escaped (an upload's can be anything)."""
    swatch = "<span style='background:rgb({},{},{});padding:0 0.8em;margin-right:0.3em'></span>"
    parts = [
        swatch.format(*figures.PALETTE[k % len(figures.PALETTE)]) + html.escape(str(name))
        for k, name in enumerate(class_names)
    ]
    where.markdown(" &nbsp; ".join(parts), unsafe_allow_html=True)


def show_results(rows: dict, images, truth, predictions: dict, class_names) -> None:
    st.dataframe(figures.comparison_table(rows), hide_index=True)
    st.caption(
        "MiB/image: activations kept for backpropagation (float32, every layer's output); "
        "s/epoch: training time per epoch; ms/image: inference in batches of 64; mean IoU "
        "over the classes; boundary F1: class edges matched within 2 pixels."
    )
    legend(st, class_names)
    st.plotly_chart(figures.prediction_grid(images, truth, predictions))


def retrain():
    with st.expander("Retrain here (a small configuration)"):
        cols = st.columns(4)
        dataset = cols[0].radio("data", ["shapes", "fashion", "upload"], key="seg_dataset")
        modes = cols[1].multiselect(
            "unpooling", seg.UNPOOLING_MODES, ["nearest", "max"], key="seg_modes"
        )
        epochs = cols[2].number_input("epochs", 1, 20, 2, key="seg_epochs")
        count = cols[3].select_slider("scenes", [64, 256, 1000, 3000], 256, key="seg_count")
        file = None
        if dataset == "upload":
            file = st.file_uploader("zip with images/ and masks/ (class-index PNGs)", key="seg_zip")
        if not st.button("Train and compare", key="seg_train") or not modes:
            return
        try:
            upload = None if file is None else (file.name, file.getvalue())
            train, test = seg.train_test_sets(dataset, int(count), upload)
        except (DatasetUnavailable, InputError) as error:
            return st.error(str(error))
        with widgets.progress_bar("Training:") as progress:
            models, rows = seg.compare_modes(train, test, modes, int(epochs), progress=progress)
        predictions = {m: seg.predict_classes(models[m], test.images[:4]) for m in modes}
        show_results(rows, test.images[:4], test.masks[:4], predictions, test.class_names)


def compare_tab():
    rows = cached.summary().get("modes", {})
    if not rows:
        st.info(f"No shipped models yet. Train them with `{seg.TRAIN_COMMAND}`, or retrain below.")
    else:
        config = cached.summary()["config"]
        st.markdown(
            f"Shipped models, each trained {config['epochs']} epochs on "
            f"{config['train_images']:,} generated 64 px scenes; scored on "
            f"{config['test_images']} held-out scenes. Same encoder for all four "
            "encoder-decoders; only the way back up differs."
        )
        scenes = cached.test_scenes(4)
        try:
            predictions = {m: cached.predictions(m, 4) for m in rows}
        except InputError as error:
            return st.error(str(error))
        show_results(rows, scenes.images, scenes.masks, predictions, scenes.class_names)
    retrain()


def segment_tab():
    rows = cached.summary().get("modes", {})
    if not rows:
        return st.info(f"No shipped models yet. Train them with `{seg.TRAIN_COMMAND}`.")
    best = max(rows, key=lambda m: rows[m]["mean_iou"])
    modes = list(rows)
    left, right = st.columns([1, 2])
    mode = left.selectbox("model", modes, modes.index(best), key="seg_mode")
    file = left.file_uploader("Image (PNG, JPEG, ...)", key="seg_upload")
    left.caption(
        "The models know discs, squares and triangles on texture (64 px scenes); a photo "
        "is far from that, so expect mostly background. Images are scaled to at most 256 px."
    )
    if file is None:
        return right.info("Upload an image to segment it with the shipped model.")
    try:
        image, mask = cached.segment_upload(mode, widgets.upload(file))
    except InputError as error:
        return right.error(str(error))
    counts = np.bincount(mask.ravel(), minlength=4) / mask.size
    right.plotly_chart(figures.prediction_grid(image[None], None, {mode: mask[None]}))
    legend(right, SHAPE_CLASSES)
    right.caption(", ".join(f"{n}: {c:.0%}" for n, c in zip(SHAPE_CLASSES, counts, strict=True)))


TABS = {
    "Unpooling step by step": steps_tab,
    "Train and compare": compare_tab,
    "Segment your image": segment_tab,
}
widgets.lazy_tabs(TABS, key="seg_tab")
