"""The transfer page's pieces: the lecture's claims with the measured numbers, the run
with live curves, and the results with their downloads (tables and the four models)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from app import downloads, widgets
from mml7 import InputError, transfer, worker
from mml7.plots import transfer as figures
from mml7.transfer import downloadable, measured

TAKEAWAYS = "Takeaways: the 2x2 table (small / big data x ImageNet domain / not similar)"
REUSE = "Maybe we can partially reuse ImageNet features extractor?"
FINE_TUNING = "Fine-tuning: propagate all gradients with smaller learning rate"
RUN_KEY = "transfer_run"  # the latest run only: (its settings, result, learning curve)
COLUMNS = {
    "validation_accuracy": "validation accuracy",
    "trainable_params": "trainable parameters",
    "wall_time_s": "wall time (s)",
    "train_images": "training images",
}


def advice_lesson(advice: transfer.Advice, similarity: float) -> None:
    widgets.lesson(
        TAKEAWAYS,
        f"smallest class {advice.images_per_class:,} training images, ImageNet similarity "
        f"{similarity:.2f} -> {advice.strategy.value}",
    )


def depth_lesson(scores: list, cut: str) -> None:
    probes = ", ".join(f"{score.cut} {score.probe_accuracy:.0%}" for score in scores)
    widgets.lesson(REUSE, f"linear-probe accuracy by depth: {probes}; cut at {cut}")


def similarity_context(similarity: float) -> None:
    st.caption(
        f"ImageNet similarity {similarity:.2f} is *context*, not a measure of transfer: the "
        "ImageNet classifier's mean energy (how large its logits get) on 64 images, on a "
        f"scale where crops of everyday photos score 0.84 and Fashion-MNIST 0.13-0.20, "
        "noise 0.06, digits 0.01, LFW faces 0.00 (bench/imagenet_similarity.py). Faces "
        "score lowest, yet frozen ImageNet features separate them almost perfectly. No "
        "built-in set lands in the *similar* row: an ImageNet-like set cannot be made "
        "offline from the few bundled photos without crops of one photo on both sides of "
        "the split; upload a zip of your own photos to see that row."
    )


def measured_recommendation(found: measured.Measured, signals: measured.Signals) -> None:
    """The measured column: the recommendation, why, and the predictions with intervals."""
    st.success(f"**Measured recommendation:** {found.reason}.")
    st.plotly_chart(
        figures.predicted_chart(found.predicted, found.intervals, found.strategy),
        key="predicted",
    )
    tune = (
        f"a one-epoch fine-tune changed the head's accuracy by {signals.fine_tune_gain:+.1%}"
        if signals.fine_tune_gain is not None
        else "fine-tuning not probed (predicted as the head)"
    )
    curve = ", ".join(f"{n:,}: {a:.0%}" for n, a in signals.learning)
    st.caption(
        f"Signals on the experiments' own split ({signals.validation_images:,} validation "
        f"images): linear probe at {signals.cut} {signals.probe[signals.cut]:.1%}, k-NN "
        f"{signals.knn:.1%}, 16x16 pixel probe {signals.pixels:.1%}; {tune}; the probe's "
        f"learning curve (training images: accuracy) {curve}, twice the data predicted "
        f"{found.twice_the_data:.1%}." + ("".join(f" {note}." for note in found.notes))
    )


def depth_table(scores: list) -> None:
    downloads.csv_button(
        "Per-depth scores (CSV)",
        lambda: [dataclasses.asdict(score) for score in scores],
        "transfer_depth_scores",
        "depth_csv",
    )


def run(
    dataset, config: transfer.ExperimentConfig, advice, run_key, head_curve: bool = False
) -> None:
    """Train the four strategies and the learning curve with a bar and live curves; keep
    only this run in the session (it replaces the previous one). ``head_curve``: also the
    head's learning curve (judges a measured "collect more data" when the textbook's
    advice is another). The job extracts the frozen features itself (in the training
    process, under its backend): the server never runs the backbone for it."""
    st.session_state.pop(RUN_KEY, None)
    running = st.empty()  # the bar and the live curves, cleared when the run is done
    with running.container():
        report = widgets.progress_callback("Training:")
        live = st.empty()
    seen: dict = {}

    def on_epoch(strategy, history):
        seen[strategy] = dict(history)
        live.plotly_chart(
            figures.training_curves(seen), key=f"live{len(seen)}_{len(history.get('loss', []))}"
        )

    try:
        result, curve, head = worker.run(
            transfer.run_with_learning_curves,
            dataset,
            config,
            None,  # the features: extracted in the job
            advice.strategy,
            head_curve,
            callbacks={"progress": report, "on_epoch": on_epoch},
        )
    except (InputError, worker.WorkerError) as error:
        running.empty()
        st.error(str(error))
        return
    running.empty()
    st.session_state[RUN_KEY] = (run_key, result, curve, head)


def stored_run(run_key):
    """(result, learning curve, the head's learning curve) of the latest run if it was made
    with these settings."""
    stored = st.session_state.get(RUN_KEY)
    if stored is not None and stored[0] != run_key:
        del st.session_state[RUN_KEY]  # new settings: the old models are not kept
        return None
    return None if stored is None else stored[1:]


def results(result, config: transfer.ExperimentConfig, class_names) -> None:
    """The table of the four strategies, its CSV, the four models, the training curves."""
    st.caption(
        f"Stratified split, seed {config.seed}: {result.num_train:,} training and "
        f"{result.num_validation:,} validation images."
    )
    table = pd.DataFrame(result.rows)
    bounds = [
        transfer.accuracy_interval(accuracy, result.num_validation)
        for accuracy in table["validation_accuracy"]
    ]
    table.insert(2, "95% interval", [f"{low:.3f}-{high:.3f}" for low, high in bounds])
    st.dataframe(
        table.rename(columns=COLUMNS),
        hide_index=True,
        key="results",
        column_config={
            "validation accuracy": st.column_config.NumberColumn(format="%.3f"),
            "trainable parameters": st.column_config.NumberColumn(format="localized"),
            "wall time (s)": st.column_config.NumberColumn(format="%.1f"),
        },
    )
    downloads.csv_button("Results (CSV)", result.rows, "transfer_results", "results_csv")
    st.caption(
        f"Each trained model as a zip (.keras + contract.json): {config.image_size} px RGB "
        "images in [0, 1] in, class probabilities out, the backbone's preprocessing inside."
    )
    for column, (row, model) in zip(st.columns(4), result.models.items(), strict=True):
        with column:
            downloads.model_button(
                f"Model {row}",
                model,
                downloadable.contract(config, class_names, row),
                f"transfer_{model.name}",
                f"model_{row[:3]}",
            )
    accuracy = {row["strategy"][:3]: row["validation_accuracy"] for row in result.rows}
    rate = config.head_learning_rate
    widgets.lesson(
        FINE_TUNING,
        f"(b) fine-tuned at lr {rate / 10:g} (a tenth of the head's {rate:g}): "
        f"{accuracy['(b)']:.1%} vs the frozen extractor's head (a) {accuracy['(a)']:.1%}",
    )
    note = transfer.scratch_note(
        result.rows, len(class_names), result.num_train, result.num_validation
    )
    if note is not None:
        st.info(note)
    st.plotly_chart(figures.training_curves(result.curves), key="curves")


def verdict(advice, result, curve, head_curve, found: measured.Measured | None) -> None:
    """Both recommendations judged on the experiments: the textbook's (``transfer.verdict``)
    and the measured one's (``measured.judge``, its predictions marked on the chart)."""
    judged = transfer.verdict(advice, result.rows, curve, result.num_validation)
    widgets.lesson(
        TAKEAWAYS,
        f"advised: {advice.strategy.value}; best measured: {judged.best_row} at "
        f"{judged.best_accuracy:.1%}",
    )
    book, mine = st.columns(2)
    with book:
        st.markdown("**Textbook (the lecture's table)**")
        (st.success if judged.agree else st.warning)(judged.sentence)
    predicted = None
    if found is not None:
        results = measured.row_results(result.rows)
        points = [(point["train_images"], point["accuracy"]) for point in head_curve]
        held = measured.judge(found.strategy, results, points, result.num_validation)
        with mine:
            st.markdown("**Measured recommendation**")
            sentence = measured.verdict_sentence(
                found.strategy, results, points, result.num_validation
            )
            (st.success if held else st.warning)(sentence)
        names = {key: name for name, key in measured.ROW_KEYS.items()}
        predicted = {names[key]: value for key, value in found.predicted.items()}
    left, right = st.columns(2)
    chart = figures.verdict_chart(result.rows, judged, result.num_validation, predicted)
    left.plotly_chart(chart, key="verdict")
    right.plotly_chart(figures.learning_curve_chart(curve, advice.strategy), key="lc")
    downloads.csv_button("Learning curve (CSV)", curve, "transfer_learning_curve", "lc_csv")
