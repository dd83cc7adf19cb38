"""The segmentation page's pieces: the class legend, result tables with their downloads,
the latest retrained run kept in the session, and what each tab's lesson line says."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import downloads, jobs, widgets
from app.caches import segmentation as cached
from app.names import plain_html
from mml7 import InputError, data, export, resources, worker
from mml7 import segmentation as seg
from mml7.plots import segmentation as figures
from mml7.scenes import SHAPE_CLASSES

# The scene kinds of the shipped models (mml7.segmentation.SCENES), as the page names them.
SCENE_LABELS = {"shapes": "shapes", "thin": "thin structures"}
RETRAINED = "seg_retrained"  # session key of the latest retrained run (one at most)
REMEASURED = "seg_remeasured"  # session key of the latest "Re-measure here" timing


def legend(where, class_names) -> None:
    """Colour swatches for the classes; names are escaped for markdown and HTML (an
    upload's can be anything)."""
    swatch = "<span style='background:rgb({},{},{});padding:0 0.8em;margin-right:0.3em'></span>"
    parts = [
        swatch.format(*figures.PALETTE[k % len(figures.PALETTE)]) + plain_html(name)
        for k, name in enumerate(class_names)
    ]
    where.markdown(" &nbsp; ".join(parts), unsafe_allow_html=True)


def show_results(rows: dict, images, truth, predictions: dict, class_names, key: str) -> None:
    """The comparison table (with its CSV download), the legend and the prediction grid."""
    table = figures.comparison_table(rows)
    # A reference row has scores only: its size and time cells read "-", not "None".
    st.dataframe(table, hide_index=True, placeholder="-")
    downloads.csv_button("Table as CSV", table, f"segmentation_{key}", key=f"seg_csv_{key}")
    st.caption(
        "MiB/image: activations kept for backpropagation (every layer's output: float32 "
        "features, and one byte a pixel for max pooling's masks); "
        "s/epoch: training time per epoch; ms/image: inference in batches of 64; mean IoU "
        "over the classes; boundary F1: class edges matched within 2 pixels (1 px: within 1)."
    )
    legend(st, class_names)
    st.plotly_chart(figures.prediction_grid(images, truth, predictions), key=f"seg_grid_{key}")


def model_contract(model, class_names, dataset: str) -> export.InputContract:
    """What a retrained segmenter expects and returns, for its download."""
    height, width = model.input_shape[1:3]
    return export.InputContract(
        image_size=None if height is None or width is None else (int(height), int(width)),
        channels=int(model.input_shape[-1]),
        class_names=tuple(str(name) for name in class_names),
        task="semantic segmentation: per-pixel class probabilities (n, h, w, classes), softmax",
        notes={"trained_on": dataset, "unpooling": model.name.removeprefix("segmenter_")},
    )


def model_downloads(models: dict, class_names, dataset: str) -> None:
    """One download button per retrained model."""
    for column, (mode, model) in zip(st.columns(len(models)), models.items(), strict=True):
        with column:
            downloads.model_button(
                f"{mode} model",
                model,
                model_contract(model, class_names, dataset),
                f"segmenter_{mode}_{dataset}",
                key=f"seg_model_{mode}",
            )


def before_the_queue(dataset: str, count: int, source: tuple[str, bytes] | None) -> str | None:
    """What stops a retrain before it waits its turn, told at once: a bad upload, or
    Fashion-MNIST for the fashion scenes neither here nor downloadable; else None."""
    if dataset == "upload":
        try:
            seg.train_test_sets(dataset, count, source)
        except InputError as error:
            return str(error)
    if dataset == "fashion" and resources.fashion_mnist_state() == "unavailable":
        return data.FASHION_MNIST_HOWTO
    return None


def remember_run(config: tuple, run: dict) -> None:
    """Keep ``run`` (models, rows, predictions, ...) as the latest retrained run."""
    st.session_state[RETRAINED] = {"config": config, **run}


def latest_run(config: tuple) -> dict | None:
    """The latest retrained run while the configuration is unchanged; dropped otherwise."""
    run = st.session_state.get(RETRAINED)
    if run is not None and run["config"] != config:
        del st.session_state[RETRAINED]
        return None
    return run


def training_note(summary: dict) -> str:
    """What the shipped models were trained on, read from their record."""
    config = summary["config"]
    shapes = ", ".join(f"{name}s" for name in SHAPE_CLASSES[1:])
    return (
        f"The shipped models were trained ({config['epochs']} epochs) on "
        f"{config['train_images']:,} generated {config['image_size']} px scenes: {shapes} "
        "of random colours on a textured background, and know no other class. A photo "
        "is far from those scenes: each of its pixels gets whichever of these classes its "
        "colours and edges resemble most, so read a photo's result as what these models "
        "make of it, not as objects found."
    )


def training_budget(config: dict, modes) -> str:
    """How the shipped models of ``modes`` were trained and chosen, from their record's config."""
    text = (
        f"Shipped models: every mode trained {config['epochs']} epochs on "
        f"{config['train_images']:,} generated {config['image_size']} px scenes"
    )
    if "validation_images" in config:
        text += (
            f", keeping the epoch best on {config['validation_images']} validation scenes; "
            f"seeds {', '.join(map(str, config['seeds']))} (the first is shipped)"
        )
    decoders = len([mode for mode in modes if mode != "none"])  # the naive stack has none
    return text + (
        f". Scored on {config['test_images']} held-out scenes. Same encoder for all "
        f"{decoders} encoder-decoders; only the way back up differs."
    )


def steps_takeaway(steps: dict) -> str:
    """The step-by-step tab's measured line, from the current 4x4 example."""
    size, pooled = steps["input"].size, steps["pooled"].size
    kept = int(np.count_nonzero(steps["mask"]))
    return (
        f"max pooling keeps {pooled} of {size} values; max unpooling puts those {kept} back "
        f"where they were and zeros the other {size - kept}; nearest copies each pooled "
        f"value {size // pooled} times"
    )


def shipped_takeaway(rows: dict) -> str:
    """The best shipped mode's mean IoU and its ratio to the naive stack's (no pooling)."""
    best = max(rows, key=lambda mode: rows[mode]["mean_iou"])
    line = f"best shipped model: {best} unpooling, mean IoU {rows[best]['mean_iou']:.3f}"
    if "none" in rows and rows["none"]["mean_iou"] > 0:
        naive = rows["none"]["mean_iou"]
        line += f", {rows[best]['mean_iou'] / naive:.1f}x the naive stack's {naive:.3f}"
    return line


def _max_against_nearest(rows: dict, key: str) -> tuple[float, float, str]:
    """(difference, spread, figures) of max unpooling against nearest on a score over the
    record's seeds; spread combines the two modes' standard deviations."""
    best, near = rows["max"], rows["nearest"]
    difference = best[f"{key}_mean"] - near[f"{key}_mean"]
    spread = float(np.hypot(best[f"{key}_std"], near[f"{key}_std"]))
    figures_text = (
        f"max {best[f'{key}_mean']:.3f} vs nearest {near[f'{key}_mean']:.3f} over "
        f"{len(best[f'{key}_seeds'])} seeds (difference {difference:+.3f}, spread ±{spread:.3f})"
    )
    return difference, spread, figures_text


def boundary_verdict(rows: dict) -> str | None:
    """Whether max unpooling beats nearest on the shipped scenes: by boundary F1 at 1 px
    (sharp edges) and by mean IoU (whole objects) over the record's seeds. A difference
    counts only beyond twice its spread (the seeds' standard deviations combined). None
    without seed scores."""
    keys = ("boundary_f1_1px", "mean_iou")
    if not all(f"{key}_mean" in rows.get(mode, {}) for key in keys for mode in ("max", "nearest")):
        return None
    difference, spread, text = _max_against_nearest(rows, "boundary_f1_1px")
    text, sharper = f"boundary F1 at 1 px, {text}", difference > 2 * spread
    if sharper:
        line = f"**Max unpooling draws sharper edges than nearest on these scenes**: {text}."
    elif difference < -2 * spread:
        line = f"**Nearest draws sharper edges than max unpooling on these scenes**: {text}."
    else:
        line = (
            "**Max unpooling shows no boundary advantage over nearest on these scenes**: "
            f"{text}; the difference is within what another seed changes."
        )
    difference, spread, text = _max_against_nearest(rows, "mean_iou")
    if difference > 2 * spread:
        line += f" By mean IoU, max unpooling does better too: {text}."
        if sharper:
            line += (
                " Nearest can place detail only by 2 x 2 blocks; max unpooling puts it "
                "back where the encoder's maxima were, which keeps a 1-2 px structure "
                "where it is."
            )
    elif difference < -2 * spread:
        line += f" By mean IoU nearest does better: {text}."
    else:
        line += f" Mean IoU: {text}, within what another seed changes."
    return line


def shares(mask: np.ndarray, class_names) -> dict[str, float]:
    """Share of the pixels given to each class."""
    counts = np.bincount(np.asarray(mask).ravel(), minlength=len(class_names))
    return {name: float(c) / mask.size for name, c in zip(class_names, counts, strict=False)}


IMAGE_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"]


def chosen_image(left, mode: str):
    """(image, class mask) of the sample or the uploaded image chosen in ``left``.

    Raises:
        InputError: the upload is not a readable image.
    """
    name = left.selectbox("sample image", list(cached.samples()), key="seg_sample")
    file = left.file_uploader(
        "or your own image",
        type=IMAGE_TYPES,
        key="seg_upload",
        help=widgets.upload_help("One image (PNG, JPEG, ...); it replaces the sample."),
    )
    if file is None:
        return cached.segment_sample(mode, name)
    return cached.segment_upload(mode, widgets.upload(file))


def training_zip():
    """The uploader of a segmentation data set to retrain on: an ``Upload`` or None."""
    file = st.file_uploader(
        "zip with images/ and masks/ (class-index PNGs)",
        type=["zip"],
        key="seg_zip",
        help=widgets.upload_help(
            "A .zip with images/ and masks/ folders: one class-index PNG mask per image, "
            "with the same file name."
        ),
    )
    return widgets.upload(file)


def timing_note(timing: dict | None) -> str:
    """Where the shipped table's times come from: the machine of the record's timing."""
    if not timing:
        return (
            "s/epoch and ms/image were taken while each model trained, one after another; "
            "re-measure them together below."
        )
    about = timing["machine"]
    return (
        f"s/epoch and ms/image: every mode timed together ({timing['rounds']} rounds, "
        f"medians) on {about['processor']}, {about['cpu_count']} cores, {about['backend']}, "
        f"load average {about['load_average_1min']}, {about['measured_at']}."
    )


def timing_section(scenes: str = "shapes") -> None:
    """The record's timing note, and a button that times every mode on this server."""
    st.caption(timing_note(cached.summary(scenes).get("timing")))
    if st.button("Re-measure the times here", key=f"seg_remeasure_{scenes}"):
        with jobs.training_slot("the timing"), widgets.progress_bar("Timing:") as bar:
            try:
                st.session_state[REMEASURED + scenes] = worker.run(
                    seg.remeasure, rounds=5, write=False, scenes=scenes, callbacks={"progress": bar}
                )
            except worker.WorkerError as error:
                st.error(str(error))
    timing = st.session_state.get(REMEASURED + scenes)
    if timing is not None:
        rows = timing["modes"]
        st.dataframe(
            {
                "unpooling": list(rows),
                "s/epoch": [round(r["seconds_per_epoch"], 1) for r in rows.values()],
                "s/epoch x fastest": [round(r["epoch_ratio"], 2) for r in rows.values()],
                "ms/image": [round(r["inference_ms_per_image"], 2) for r in rows.values()],
                "ms/image x fastest": [round(r["inference_ratio"], 2) for r in rows.values()],
            },
            hide_index=True,
        )
        st.caption("Measured here: " + timing_note(timing).split(": ", 1)[1])
