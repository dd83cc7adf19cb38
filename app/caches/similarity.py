"""Similar images: galleries, fitted representations, vectors, indexes and scores.

A gallery is (name, upload): a menu name, or "Upload a zip" with the uploaded zip.
"""

from __future__ import annotations

from app.cache import Upload, cached_data, read_only, shared_resource
from app.widgets import progress_bar
from mml7 import data, similarity
from mml7.similarity import precomputed


@shared_resource(max_entries=4, show_spinner="Loading the gallery...")
def gallery(name: str, upload: Upload | None = None) -> data.ImageDataset:
    """The gallery, read-only and shared (never copied per rerun)."""
    if upload is not None:
        return read_only(similarity.read_gallery_upload(upload.name, upload.data))
    return read_only(similarity.load_gallery(name))


@shared_resource(max_entries=8, show_spinner="Preparing the representation...")
def representation(kind: str, name: str, upload: Upload | None = None) -> similarity.Representation:
    """The representation fitted on the gallery (PCA; loaded encoder); never mutated."""
    return similarity.fit_representation(kind, gallery(name, upload).images)


@shared_resource(max_entries=12, show_spinner=False)
def vectors(kind: str, name: str, upload: Upload | None = None):
    """The gallery's vectors, read-only and shared, with a progress bar while they are
    computed. Shared, not copied per call: raw pixels of 10,000 images are 31 MB, and an
    index under the euclidean metric keeps the same array instead of a copy."""
    images = gallery(name, upload).images
    fitted = representation(kind, name, upload)
    with progress_bar(f"{kind} of {len(images):,} images:") as progress:
        found = fitted.transform(images, progress)
    found.setflags(write=False)
    return found


@shared_resource(max_entries=8, show_spinner="Indexing the gallery...")
def index(
    kind: str, metric: str, algorithm: str, name: str, upload: Upload | None = None
) -> similarity.SimilarImageIndex:
    found = vectors(kind, name, upload)
    return similarity.SimilarImageIndex(metric=metric, algorithm=algorithm).fit(found)


@cached_data(max_entries=32, show_spinner=False)
def scores(kind: str, metric: str, num_queries: int, name: str, upload: Upload | None = None):
    """Precision@k and mAP, leave-one-out, on the same ``num_queries`` queries (seed 0):
    a built-in gallery's from the shipped file (``python -m mml7 measure similarity``)."""
    if upload is None and (found := precomputed.scores(name, kind, metric, num_queries)):
        return found
    labels = gallery(name, upload).labels
    queries = similarity.query_sample(len(labels), num_queries, seed=0)
    found = vectors(kind, name, upload)
    with progress_bar(f"{kind}, {metric} retrieval scores:") as progress:
        return similarity.retrieval_scores(
            found, labels, metric, query_indices=queries, progress=progress
        )


@cached_data(max_entries=16, show_spinner=False)
def probe(kind: str, name: str, upload: Upload | None = None) -> dict:
    """Few-label probe inside the gallery: labelled images drawn from it, tested on the
    rest (a built-in gallery's from the shipped file)."""
    if upload is None and (found := precomputed.probe(name, kind)):
        return found
    labels = gallery(name, upload).labels
    found = vectors(kind, name, upload)
    with progress_bar(f"{kind}, few-label probe:") as progress:
        return similarity.few_label_probe(
            found,
            labels,
            per_class=precomputed.PROBE_PER_CLASS,
            repeats=precomputed.PROBE_REPEATS,
            progress=progress,
        )


@cached_data(max_entries=4, show_spinner="Reading the query image...")
def query_image(upload: Upload, height: int, width: int, channels: int):
    """An uploaded query image, float32 (1, height, width, channels) like the gallery's.

    Raises:
        InputError: not a readable image (or a zip); the message speaks of images.
    """
    from mml7 import uploads

    return uploads.read_image(upload.name, upload.data, channels, size=(height, width))[None]


@cached_data(max_entries=8, show_spinner="Measuring approximate search against exact...")
def recall(kind: str, metric: str, name: str, upload: Upload | None = None) -> float:
    """recall@10 of the HNSW index against exact search, on up to 1,000 gallery queries."""
    return similarity.hnsw_recall(vectors(kind, name, upload), metric, num_queries=1000)
