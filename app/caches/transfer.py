"""Transfer learning: data sets, frozen features, ImageNet similarity, per-depth scores.

A data set is (name, upload): a built-in name, or "Upload a zip" with the uploaded zip.
Features are cached per (data set, backbone, input size, cut, subsample), so a new head or
new experiment settings never re-extract them.
"""

from __future__ import annotations

from app import jobs
from app.cache import Upload, cached_data, read_only, shared_resource
from app.widgets import progress_bar
from mml7 import data, worker


@shared_resource(max_entries=4, show_spinner="Loading the data set...")
def dataset(name: str, upload: Upload | None = None) -> data.ImageDataset:
    """The data set, read-only and shared (never copied per rerun)."""
    from mml7 import transfer

    if upload is not None:
        return read_only(data.read_upload(upload.name, upload.data, image_size=96, min_classes=2))
    return read_only(transfer.load_dataset(name))


@cached_data(max_entries=32, show_spinner=False)
def features(
    name: str,
    upload: Upload | None,
    backbone: str,
    image_size: int,
    cut: str,
    max_images: int | None = None,
):
    """Frozen features (n, d) of the data set (or of its stratified ``max_images``
    subsample, seed 0), with a progress bar."""
    from mml7 import backbones, transfer

    found = dataset(name, upload)
    picked = transfer.sample_indices(found.labels, max_images, seed=0)
    label = f"{backbone} features at {cut} ({len(picked):,} images, {image_size} px):"
    with progress_bar(label) as progress:
        return backbones.extract_features(
            found.images[picked], backbone, cut, image_size, progress=progress
        )


def experiment_features(name: str, upload: Upload | None, config) -> dict:
    """Cut -> frozen features of every image, for the cuts ``run_experiments`` needs
    (``config``: an ``ExperimentConfig``), each from the cache above."""
    from mml7.transfer.experiments import experiment_cuts

    cuts = experiment_cuts(config)
    return {cut: features(name, upload, config.backbone, config.image_size, cut) for cut in cuts}


@cached_data(max_entries=8, show_spinner="Asking the ImageNet classifier...")
def imagenet_similarity(name: str, upload: Upload | None) -> float:
    """The data set's ImageNet similarity (64 images, seed 0): a built-in set's from the
    precomputed file (``python -m mml7 measure advisor``), else measured here."""
    from mml7 import transfer
    from mml7.transfer import measured

    if upload is None and "similarity" in (found := measured.precomputed_page(name)):
        return found["similarity"]
    return transfer.imagenet_similarity(dataset(name, upload).images, max_images=64, seed=0)


@cached_data(max_entries=16, show_spinner="Probing each depth...")
def depth_scores(
    name: str, upload: Upload | None, backbone: str, image_size: int, max_images: int
) -> list:
    """Linear probe and LogME per cut depth, on a stratified subsample (seed 0): a
    built-in set's from the precomputed file at the page's defaults, else measured here."""
    from mml7 import transfer
    from mml7.transfer import measured

    key = measured.depth_key(name, backbone, image_size, max_images)
    if upload is None and (found := measured.precomputed_page(name)["depth_scores"].get(key)):
        return found

    found = dataset(name, upload)
    count = len(found) if max_images is None else min(len(found), max_images)
    label = f"{backbone} features at every depth ({count:,} images, {image_size} px):"
    with progress_bar(label) as progress:  # one forward pass gives every cut
        return transfer.depth_scores(found, backbone, image_size, max_images, progress)


@cached_data(max_entries=16, show_spinner=False)
def signals(name: str, upload: Upload | None, config, fine_tune: bool):
    """The measured recommendation's signals (``measured.Signals``) under ``config``: the
    precomputed ones of a built-in data set at the page's defaults, else measured here
    with a progress bar (``fine_tune``: with the one-epoch fine-tune probe, never
    precomputed). The fine-tune probe trains, so it is a training job (a slot of the
    queue; a child process when the server's backend only runs models)."""
    from mml7.transfer import measured

    if upload is None and not fine_tune and (found := measured.precomputed(name, config)):
        return found
    found = dataset(name, upload)
    if not fine_tune:  # nothing trains: it runs here, whatever the server's backend
        features = experiment_features(name, upload, config)
        with progress_bar("Measuring the cheap signals:") as progress:
            return measured.measure_signals(found, config, features, False, progress)
    with (
        jobs.training_slot("the fine-tune probe"),
        progress_bar("Measuring the cheap signals:") as bar,
    ):  # the job extracts the features itself: the server never runs the backbone for it
        return worker.run(
            measured.measure_signals, found, config, None, True, callbacks={"progress": bar}
        )
