"""Segmentation & unpooling: per-pixel softmax, pooling to go deep, unpooling back up."""

import streamlit as st

from app import jobs, widgets
from app import segmentation_parts as parts
from app.caches import segmentation as cached
from mml7 import DatasetUnavailable, InputError, shipped, unpooling, worker
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
    lesson_area = st.container()  # above the example it measures
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
    with lesson_area:
        widgets.lesson(
            "Nearest neighbor unpooling / Max unpooling / Learnable unpooling (transpose convolution)",
            parts.steps_takeaway(steps),
        )
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


def retrain():
    with st.expander("Retrain here (a small configuration)"):
        cols = st.columns(4)
        dataset = cols[0].radio("data", ["shapes", "fashion", "upload"], key="seg_dataset")
        modes = cols[1].multiselect(
            "unpooling", seg.UNPOOLING_MODES, seg.RETRAIN_DEFAULTS["modes"], key="seg_modes"
        )
        epochs = cols[2].number_input(
            "epochs", 1, 20, seg.RETRAIN_DEFAULTS["epochs"], key="seg_epochs"
        )
        count = cols[3].select_slider(
            "scenes", [64, 256, 1000, 3000], seg.RETRAIN_DEFAULTS["scenes"], key="seg_count"
        )
        upload = parts.training_zip() if dataset == "upload" else None
        config = (dataset, tuple(modes), int(epochs), int(count), upload)
        if st.button("Train and compare", key="seg_train") and modes:
            source = None if upload is None else (upload.name, upload.data)
            if (problem := parts.before_the_queue(dataset, int(count), source)) is not None:
                return st.error(problem)
            st.session_state.pop(parts.RETRAINED, None)  # not kept while the next one trains
            with jobs.training_slot("the comparison"), widgets.progress_bar("Training:") as bar:
                try:  # scenes made and every model run in the training process (seg.compare_on)
                    found = worker.run(
                        seg.compare_on,
                        dataset,
                        int(count),
                        modes,
                        int(epochs),
                        source,
                        callbacks={"progress": bar},
                    )
                except (worker.WorkerError, DatasetUnavailable, InputError) as error:
                    return st.error(str(error))
            references = {f"reference: {label}": row for label, row in found.references.items()}
            parts.remember_run(
                config,
                dict(
                    models=found.models,
                    rows=found.rows | references,
                    predictions=found.predictions,
                    shown=(found.shown.images, found.shown.masks, list(found.shown.class_names)),
                ),
            )
        run = parts.latest_run(config)
        if run is not None:
            images, masks, class_names = run["shown"]
            parts.show_results(
                run["rows"], images, masks, run["predictions"], class_names, "retrained"
            )
            parts.model_downloads(run["models"], class_names, dataset)


def compare_tab():
    kind = st.radio(
        "shipped models trained on",
        list(parts.SCENE_LABELS),
        format_func=parts.SCENE_LABELS.get,
        horizontal=True,
        key="seg_scenes",
        help="Thin structures: lines and ring outlines 1-2 px wide, where putting detail "
        "back by 2 x 2 blocks (nearest) costs most of each object.",
    )
    summary = cached.summary(kind)
    rows = seg.shipped_rows(summary)
    if not rows:
        command = shipped.train_command(seg.SCENES[kind].family)
        st.info(f"No shipped models yet. Train them with `{command}`, or retrain below.")
    else:
        widgets.lesson(
            "Semantic segmentation: naive approach (stack convolutional layers) vs pooling "
            "+ unpooling",
            parts.shipped_takeaway(rows),
        )
        st.markdown(parts.training_budget(summary["config"], rows))
        scenes = cached.test_scenes(4, kind)
        try:
            predictions = {m: cached.predictions(m, 4, kind) for m in rows}
        except InputError as error:
            st.error(str(error))
        else:
            parts.show_results(
                rows, scenes.images, scenes.masks, predictions, scenes.class_names, kind
            )
        if (verdict := parts.boundary_verdict(rows)) is not None:
            st.markdown(verdict)
        parts.timing_section(kind)
    retrain()


def segment_tab():
    rows = cached.summary().get("modes", {})
    if not rows:
        return st.info(f"No shipped models yet. Train them with `{seg.TRAIN_COMMAND}`.")
    best = max(rows, key=lambda m: rows[m]["mean_iou"])
    modes = list(rows)
    left, right = st.columns([1, 2])
    mode = left.selectbox("model", modes, modes.index(best), key="seg_mode")
    left.caption(
        f"{parts.training_note(cached.summary())} Images are scaled to at most "
        f"{cached.MAX_SIDE} px on their longer side."
    )
    try:
        image, mask = parts.chosen_image(left, mode)
    except InputError as error:
        return right.error(str(error))
    shares = parts.shares(mask, SHAPE_CLASSES)
    with right:
        widgets.lesson(
            "Semantic segmentation: we need to classify each pixel",
            "share of this image's pixels per class: "
            + ", ".join(f"{n} {share:.0%}" for n, share in shares.items()),
        )
    right.plotly_chart(figures.prediction_grid(image[None], None, {mode: mask[None]}))
    parts.legend(right, SHAPE_CLASSES)


TABS = {
    "Unpooling step by step": steps_tab,
    "Train and compare": compare_tab,
    "Segment your image": segment_tab,
}
widgets.lazy_tabs(TABS, key="seg_tab")
