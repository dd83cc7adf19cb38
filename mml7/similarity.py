"""Similar images: nearest neighbours in a representation, and how well each retrieves.

An autoencoder's code or a pretrained CNN's features put similar images near each other,
so the nearest neighbours of an image in code space are images that look alike. This
module has

- the search, ``SimilarImageIndex``: exact by one matrix product per block of queries
  (the default), or approximate with FAISS's HNSW graph for galleries past ~100k items;
- the representations behind one ``fit(images)`` / ``transform(images)`` shape, found by
  name in ``REPRESENTATIONS``: raw pixels, PCA, the shipped autoencoders' codes and
  ImageNet MobileNet features (none of them uses a label);
- the measures: precision@k and mean average precision with each gallery image as a
  leave-one-out query, and a logistic-regression probe trained on a few labels.

>>> index = SimilarImageIndex(metric="euclidean", n_neighbors=1).fit(np.eye(3))
>>> index.kneighbors(np.array([[0.9, 0.1, 0.0]]))[1]
array([[0]])
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mml7 import data
from mml7.errors import InputError

Progress = Callable[[float, str], None]

METRICS = ("cosine", "euclidean")
ALGORITHMS = ("exact", "hnsw")
# Bytes of one block of query-to-gallery distances: bounds the memory of exact search.
WORKING_MEMORY_BYTES = 64 * 2**20
# Products of at most this many multiply-adds run on one BLAS thread: for a few queries
# against a gallery of low-dimensional codes the product is a memory-bound pass over the
# gallery; a second thread saves little, but on a busy machine it can stall the product
# for a scheduler quantum (p50 8 ms instead of 0.3 ms for 1 x 32 x 70,000, measured with
# another job running).
SINGLE_THREAD_WORK = 2**23
_BLAS_LIMIT_LOCK = threading.Lock()  # the BLAS thread count is process-wide


@functools.lru_cache(maxsize=1)
def _blas_controller():
    from threadpoolctl import ThreadpoolController  # a scikit-learn dependency

    return ThreadpoolController()


def _product(queries: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """queries @ gallery.T, on one BLAS thread when the product is small (see above)."""
    if len(queries) * gallery.size > SINGLE_THREAD_WORK:
        return queries @ gallery.T
    with _BLAS_LIMIT_LOCK, _blas_controller().limit(limits=1, user_api="blas"):
        return queries @ gallery.T


def _choice(value: str, allowed: Sequence[str], what: str) -> str:
    value = str(value).lower()
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _as_matrix(vectors, what: str) -> np.ndarray:
    """A finite float32 C-contiguous (n, d) array, or InputError saying what is wrong."""
    array = np.asarray(vectors)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise InputError(f"{what} must be a non-empty 2-D array (n, d), got shape {array.shape}")
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        raise InputError(f"{what} contain NaN or infinite values")
    return array


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1; all-zero rows stay zero (cosine distance 1 to anything)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


def approximate_backend_available() -> bool:
    """Whether FAISS (``pip install faiss-cpu``) is installed, for ``algorithm="hnsw"``."""
    return importlib.util.find_spec("faiss") is not None


class SimilarImageIndex:
    """Nearest neighbours of vectors, shaped like scikit-learn's ``NearestNeighbors``.

    Exact search computes one block of query-to-gallery distances with a single matrix
    product (``queries @ gallery.T``; squared Euclidean distances by the expansion
    ``|q|^2 - 2 q.x + |x|^2``), then keeps the ``n_neighbors`` smallest with
    ``argpartition``. Blocks hold at most ``chunk_size`` queries, so memory stays bounded
    for any number of queries. ``algorithm="hnsw"`` uses FAISS's HNSW graph instead
    (approximate; see ``recall_at_k``); FAISS is imported only then.

    Args:
        metric: "cosine" (1 - cosine similarity, in [0, 2]) or "euclidean".
        n_neighbors: how many neighbours ``kneighbors`` returns by default.
        algorithm: "exact" or "hnsw" (needs ``faiss-cpu``).
        chunk_size: queries per block of distances; None = as many as fit in
            ``WORKING_MEMORY_BYTES`` (64 MiB).
        hnsw_m: HNSW graph degree (more = better recall, bigger, slower to build).
        ef_construction: HNSW build-time beam width.
        ef_search: HNSW query-time beam width (raised to n_neighbors + 1 when smaller).

    Attributes (after ``fit``):
        vectors_: float32 (n, d) gallery, rows unit length for the cosine metric.
        squared_norms_: float32 (n,) for the Euclidean metric, else None.
        n_samples_fit_, n_features_in_: the gallery's shape.
        hnsw_: the FAISS index when ``algorithm="hnsw"``, else None.

    FAISS's HNSW draws its graph levels from a fixed internal seed, so there is no
    ``random_state``: a build is reproducible without one.
    """

    def __init__(
        self,
        metric: str = "cosine",
        n_neighbors: int = 8,
        algorithm: str = "exact",
        chunk_size: int | None = None,
        hnsw_m: int = 32,
        ef_construction: int = 100,
        ef_search: int = 128,
    ):
        self.metric = metric
        self.n_neighbors = n_neighbors
        self.algorithm = algorithm
        self.chunk_size = chunk_size
        self.hnsw_m = hnsw_m
        self.ef_construction = ef_construction
        self.ef_search = ef_search

    def fit(self, vectors) -> SimilarImageIndex:
        """Index ``vectors``: array (n, d) (float32 internally). Returns self."""
        self.metric_ = _choice(self.metric, METRICS, "metric")
        self.algorithm_ = _choice(self.algorithm, ALGORITHMS, "algorithm")
        vectors = _as_matrix(vectors, "gallery vectors")
        if self.metric_ == "cosine":
            vectors = _unit_rows(vectors)
        self.vectors_ = vectors
        self.squared_norms_ = (
            np.einsum("ij,ij->i", vectors, vectors) if self.metric_ == "euclidean" else None
        )
        self.n_samples_fit_, self.n_features_in_ = vectors.shape
        self.hnsw_ = self._build_hnsw(vectors) if self.algorithm_ == "hnsw" else None
        return self

    def _build_hnsw(self, vectors: np.ndarray):
        try:
            import faiss
        except ImportError as error:
            raise InputError(
                "approximate search needs FAISS: `pip install faiss-cpu` (or use exact search)"
            ) from error
        metric = faiss.METRIC_INNER_PRODUCT if self.metric_ == "cosine" else faiss.METRIC_L2
        index = faiss.IndexHNSWFlat(self.n_features_in_, int(self.hnsw_m), metric)
        index.hnsw.efConstruction = int(self.ef_construction)
        index.add(vectors)
        return index

    def _check_fitted(self) -> None:
        if not hasattr(self, "vectors_"):
            raise ValueError("this SimilarImageIndex is not fitted yet; call fit(vectors) first")

    def _prepare_queries(self, queries) -> np.ndarray:
        queries = _as_matrix(queries, "query vectors")
        if queries.shape[1] != self.n_features_in_:
            raise InputError(
                f"query vectors have {queries.shape[1]} features but the gallery has "
                f"{self.n_features_in_}: compute both with the same representation"
            )
        return _unit_rows(queries) if self.metric_ == "cosine" else queries

    def _ranking_block(self, queries: np.ndarray) -> np.ndarray:
        """float32 (b, n) that orders the gallery like the distances (cosine distance, or
        squared Euclidean distance), from one matrix product."""
        block = _product(queries, self.vectors_)
        if self.metric_ == "cosine":
            np.subtract(1.0, block, out=block)
        else:
            block *= -2.0
            block += self.squared_norms_
            block += np.einsum("ij,ij->i", queries, queries)[:, None]
        return block

    def _to_distances(self, ranking: np.ndarray) -> np.ndarray:
        if self.metric_ == "cosine":
            return np.clip(ranking, 0.0, 2.0)
        return np.sqrt(np.maximum(ranking, 0.0))

    def kneighbors(self, queries=None, n_neighbors: int | None = None, exclude=None):
        """The nearest gallery items of each query, nearest first.

        Args:
            queries: array (m, d), or None for leave-one-out: every gallery item is a
                query and is not returned as its own neighbour (as in scikit-learn).
            n_neighbors: how many; default ``self.n_neighbors``.
            exclude: int (m,): a gallery index per query never to return (a gallery item
                asked for as a query leaves itself out); None = none.

        Returns:
            (distances float32 (m, k), indices int64 (m, k)) into the fitted gallery.
        """
        self._check_fitted()
        if queries is None:
            queries, exclude = self.vectors_, np.arange(self.n_samples_fit_)
        else:
            queries = self._prepare_queries(queries)
        if exclude is not None:
            exclude = np.asarray(exclude, dtype=np.int64).reshape(-1)
            if len(exclude) != len(queries):
                raise ValueError(f"exclude needs one index per query ({len(queries)})")
        k = int(self.n_neighbors if n_neighbors is None else n_neighbors)
        available = self.n_samples_fit_ - int(exclude is not None)
        if not 1 <= k <= available:
            raise InputError(
                f"n_neighbors must be between 1 and {available} for this gallery of "
                f"{self.n_samples_fit_} items, got {k}"
            )
        if self.hnsw_ is not None:
            return self._hnsw_kneighbors(queries, k, exclude)
        rows = self.chunk_size or max(1, WORKING_MEMORY_BYTES // (4 * self.n_samples_fit_))
        distances = np.empty((len(queries), k), dtype=np.float32)
        indices = np.empty((len(queries), k), dtype=np.int64)
        for start in range(0, len(queries), rows):
            stop = min(start + rows, len(queries))
            block = self._ranking_block(queries[start:stop])
            if exclude is not None:
                block[np.arange(stop - start), exclude[start:stop]] = np.inf
            if k < block.shape[1]:
                nearest = np.argpartition(block, k - 1, axis=1)[:, :k]
            else:
                nearest = np.broadcast_to(np.arange(block.shape[1]), block.shape)
            values = np.take_along_axis(block, nearest, axis=1)
            order = np.argsort(values, axis=1, kind="stable")
            indices[start:stop] = np.take_along_axis(nearest, order, axis=1)
            distances[start:stop] = self._to_distances(np.take_along_axis(values, order, axis=1))
        return distances, indices

    def _hnsw_kneighbors(self, queries: np.ndarray, k: int, exclude: np.ndarray | None):
        import faiss

        extra = int(exclude is not None)
        # Per-search parameters, so a shared index is never changed by a query.
        params = faiss.SearchParametersHNSW(efSearch=max(int(self.ef_search), k + extra))
        scores, found = self.hnsw_.search(np.ascontiguousarray(queries), k + extra, params=params)
        if exclude is not None:
            # Drop the excluded item where it was found, else the farthest result.
            keep = found != exclude[:, None]
            keep[keep.all(axis=1), -1] = False
            scores = scores[keep].reshape(len(queries), k)
            found = found[keep].reshape(len(queries), k)
        if self.metric_ == "cosine":
            distances = np.clip(1.0 - scores, 0.0, 2.0)
        else:
            distances = np.sqrt(np.maximum(scores, 0.0))
        return distances.astype(np.float32), found.astype(np.int64)


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean fraction of the exact top-k (int (m, k)) that ``found`` (int (m, k)) contains."""
    found, exact = np.asarray(found), np.asarray(exact)
    if found.shape != exact.shape:
        raise ValueError(f"shapes differ: {found.shape} vs {exact.shape}")
    hits = [len(np.intersect1d(a, b)) for a, b in zip(found, exact, strict=True)]
    return float(np.mean(hits) / exact.shape[1])


def hnsw_recall(
    vectors: np.ndarray, metric: str = "cosine", k: int = 10, num_queries: int = 1000, seed: int = 0
) -> float:
    """recall@k of HNSW against exact search, the gallery's items as leave-one-out queries
    (``num_queries`` of them, drawn with ``seed``; the whole gallery is indexed)."""
    k = min(k, len(vectors) - 1)
    exact = SimilarImageIndex(metric, k).fit(vectors)
    approximate = SimilarImageIndex(metric, k, algorithm="hnsw").fit(vectors)
    chosen = query_sample(exact.n_samples_fit_, num_queries, seed)
    found = [
        index.kneighbors(index.vectors_[chosen], exclude=chosen)[1]
        for index in (approximate, exact)
    ]
    return recall_at_k(*found)


def query_sample(num_items: int, num_queries: int | None, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``num_queries`` gallery items drawn with ``seed`` (all when None or
    at least ``num_items``): the same queries for every representation."""
    if num_queries is None or num_queries >= num_items:
        return np.arange(num_items)
    return np.sort(np.random.default_rng(seed).choice(num_items, int(num_queries), replace=False))


# --------------------------------------------------------------------------- retrieval scores


def precision_at_k(relevant: np.ndarray, k: int) -> float:
    """Mean over queries of the fraction of the first ``k`` results that are relevant.

    Args:
        relevant: bool (m, r >= k): row i says, nearest first, whether each result of
            query i has the query's label.
    """
    relevant = np.asarray(relevant, dtype=bool)
    if not 1 <= k <= relevant.shape[1]:
        raise ValueError(f"k must be between 1 and {relevant.shape[1]}, got {k}")
    return float(relevant[:, :k].mean())


def average_precision(relevant: np.ndarray) -> np.ndarray:
    """Average precision of each query's full ranking: the mean, over the relevant
    results, of the precision at the rank of each (1 = all relevant ranked first).

    Args:
        relevant: bool (m, n): the whole ranking of the other items, nearest first.

    Returns:
        float64 (m,), NaN for a query with no relevant item.
    """
    relevant = np.asarray(relevant, dtype=bool)
    hits = np.cumsum(relevant, axis=1)
    ranks = np.arange(1, relevant.shape[1] + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (hits / ranks * relevant).sum(axis=1) / relevant.sum(axis=1)


def retrieval_scores(
    vectors: np.ndarray,
    labels: np.ndarray,
    metric: str = "cosine",
    ks: Sequence[int] = (1, 5, 10),
    query_indices: np.ndarray | None = None,
    chunk_size: int = 256,
    progress: Progress | None = None,
) -> dict[str, float]:
    """Precision@k and mean average precision, leave-one-out, of exact search.

    Each query (every gallery item, or those at ``query_indices``) ranks all the other
    gallery items; a result is relevant when it has the query's label.

    Args:
        vectors: float (n, d) representation of the gallery.
        labels: int (n,) class of each item.
        metric: "cosine" or "euclidean".
        ks: the k of each precision@k.
        query_indices: which items are queries (default: all).
        chunk_size: queries ranked per block (memory ~ 12 bytes x chunk_size x n).

    Returns:
        {"precision@1": ..., "precision@10": ..., "mAP": ..., "queries": m}.
    """
    labels = np.asarray(labels)
    index = SimilarImageIndex(metric=metric).fit(vectors)
    if len(labels) != index.n_samples_fit_:
        raise ValueError(f"{index.n_samples_fit_} vectors but {len(labels)} labels")
    if index.n_samples_fit_ < 2:
        raise InputError("retrieval scores need a gallery of at least 2 images")
    queries = np.arange(len(labels)) if query_indices is None else np.asarray(query_indices)
    ks = [min(int(k), len(labels) - 1) for k in ks]
    hits = {k: 0.0 for k in ks}
    precisions = []
    for start in range(0, len(queries), chunk_size):
        chosen = queries[start : start + chunk_size]
        block = index._ranking_block(index.vectors_[chosen])
        block[np.arange(len(chosen)), chosen] = np.inf  # the query itself ranks last
        order = np.argsort(block, axis=1, kind="stable")[:, :-1]
        relevant = labels[order] == labels[chosen][:, None]
        for k in ks:
            hits[k] += precision_at_k(relevant, k) * len(chosen)
        precisions.append(average_precision(relevant))
        if progress is not None:
            done = min(start + chunk_size, len(queries))
            progress(done / len(queries), f"{done:,} of {len(queries):,} queries ranked")
    scores = {f"precision@{k}": hits[k] / len(queries) for k in ks}
    scores["mAP"] = float(np.nanmean(np.concatenate(precisions)))
    scores["queries"] = len(queries)
    return scores


# --------------------------------------------------------------------------- few-label probe


def labelled_subset(labels: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``per_class`` items of every class, drawn at random with ``seed``.

    Raises:
        InputError: a class has fewer than ``per_class`` items.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    picked = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < per_class:
            raise InputError(
                f"class {label} has {len(members)} images; {per_class} labelled per class "
                "needs at least that many"
            )
        picked.append(rng.permutation(members)[:per_class])
    return np.sort(np.concatenate(picked))


def few_label_probe(
    vectors: np.ndarray,
    labels: np.ndarray,
    per_class: Sequence[int] = (10, 100),
    repeats: int = 3,
    seed: int = 0,
    test_vectors: np.ndarray | None = None,
    test_labels: np.ndarray | None = None,
    progress: Progress | None = None,
) -> dict[int, dict[str, float]]:
    """Accuracy of a logistic regression trained on a few labelled vectors per class.

    The representation was learned without labels; the probe measures how much a handful
    of labels then buys. Features are standardised, then an L2-regularised logistic
    regression (C=1) is fitted; each count is repeated with ``repeats`` random draws.

    Args:
        vectors, labels: where the labelled images are drawn from: float (n, d), int (n,).
        per_class: labelled images per class, one probe for each count.
        repeats: random draws per count (mean and standard deviation are reported).
        test_vectors, test_labels: the test set; default: every item of ``vectors`` that
            was not drawn as labelled.

    Returns:
        {count: {"accuracy": mean, "std": standard deviation, "test_size": m}}; a count
        some class cannot supply is left out.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    vectors, labels = np.asarray(vectors, dtype=np.float32), np.asarray(labels)
    if len(np.unique(labels)) < 2:
        raise InputError("the probe needs images of at least 2 classes")
    results: dict[int, dict[str, float]] = {}
    runs = [(count, repeat) for count in per_class for repeat in range(repeats)]
    scores: dict[int, list[float]] = {}
    sizes: dict[int, int] = {}
    for step, (count, repeat) in enumerate(runs):
        try:
            train = labelled_subset(labels, count, seed + repeat)
        except InputError:
            continue
        if test_vectors is None:
            rest = np.setdiff1d(np.arange(len(labels)), train)
            if len(rest) == 0:
                continue
            x_test, y_test = vectors[rest], labels[rest]
        else:
            x_test, y_test = np.asarray(test_vectors, dtype=np.float32), np.asarray(test_labels)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        model.fit(vectors[train], labels[train])
        scores.setdefault(count, []).append(float(model.score(x_test, y_test)))
        sizes[count] = len(y_test)
        if progress is not None:
            progress((step + 1) / len(runs), f"{count} labelled per class, draw {repeat + 1}")
    for count, values in scores.items():
        results[count] = {
            "accuracy": float(np.mean(values)),
            "std": float(np.std(values)),
            "test_size": sizes[count],
        }
    return results


# --------------------------------------------------------------------------- representations


def _batches(images: np.ndarray, batch_size: int, progress: Progress | None, what: str):
    for start in range(0, len(images), batch_size):
        yield images[start : start + batch_size]
        if progress is not None:
            done = min(start + batch_size, len(images))
            progress(done / len(images), f"{what}: {done:,} of {len(images):,} images")


def to_grey(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """float32 (n, h, w, c) in [0, 1] -> grey float32 (n, *size, 1) (bilinear, antialiased)."""
    from PIL import Image

    images = np.asarray(images, dtype=np.float32)
    grey = images.mean(axis=-1) if images.shape[-1] != 1 else images[..., 0]
    if grey.shape[1:] == tuple(size):
        return grey[..., None]
    resized = [
        np.asarray(Image.fromarray(image).resize(size[::-1], Image.Resampling.BILINEAR))
        for image in grey
    ]
    return np.clip(np.stack(resized), 0.0, 1.0)[..., None].astype(np.float32)


class Representation:
    """Images -> vectors, learned without labels. Subclasses set ``name`` and override
    ``transform`` (and ``fit`` when they learn from the gallery's images).

    ``slow`` marks representations that take minutes on a CPU for 10,000 images.
    """

    name = "representation"
    slow = False

    def fit(self, images: np.ndarray, progress: Progress | None = None) -> Representation:
        """Learn from unlabelled images float32 (n, h, w, c) in [0, 1]. Returns self."""
        return self

    def transform(self, images: np.ndarray, progress: Progress | None = None) -> np.ndarray:
        """float32 (n, d) vectors of images float32 (n, h, w, c) in [0, 1]."""
        raise NotImplementedError

    def fit_transform(self, images: np.ndarray, progress: Progress | None = None) -> np.ndarray:
        return self.fit(images, progress).transform(images, progress)


class Pixels(Representation):
    """The raw pixels, one long vector per image (the baseline)."""

    name = "Raw pixels"

    def transform(self, images, progress=None):
        images = np.asarray(images, dtype=np.float32)
        return images.reshape(len(images), -1)


class PCACodes(Representation):
    """The first ``n_components`` principal components of the pixels (fitted on the
    gallery; k is capped by the gallery's size and pixel count)."""

    def __init__(self, n_components: int = 32, random_state: int = 0):
        self.n_components = n_components
        self.random_state = random_state
        self.name = f"PCA (k={n_components})"

    def fit(self, images, progress=None):
        from sklearn.decomposition import PCA

        pixels = Pixels().transform(images)
        k = max(1, min(int(self.n_components), pixels.shape[0], pixels.shape[1]))
        self.pca_ = PCA(n_components=k, random_state=self.random_state).fit(pixels)
        return self

    def transform(self, images, progress=None):
        if not hasattr(self, "pca_"):
            raise ValueError("fit the PCA on gallery images first")
        return self.pca_.transform(Pixels().transform(images)).astype(np.float32)


class AutoencoderCodes(Representation):
    """Codes of a shipped autoencoder (trained on Fashion-MNIST, 28x28 grey): other images
    are converted to grey and resized to 28x28 first."""

    def __init__(self, kind: str = "conv", code_size: int = 32, batch_size: int = 500):
        self.kind = kind
        self.code_size = code_size
        self.batch_size = batch_size
        self.name = f"{kind.capitalize()} AE codes ({code_size})"

    def fit(self, images, progress=None):
        from mml7 import autoencoders

        self.encoder_ = autoencoders.pretrained(self.kind, self.code_size).encoder
        return self

    def transform(self, images, progress=None):
        if not hasattr(self, "encoder_"):
            self.fit(images)
        grey = to_grey(images, (28, 28))
        parts = [
            np.asarray(self.encoder_(batch, training=False))
            for batch in _batches(grey, self.batch_size, progress, self.name)
        ]
        return np.concatenate(parts).reshape(len(grey), -1).astype(np.float32)


# Input side for ImageNet features: Fashion-MNIST's 28 px upsampled to 96 keeps MobileNet
# (alpha 0.25) at ~500 images/s on 2 busy cores (10,000 in ~20 s).
IMAGENET_SIZE = 96


class ImageNetFeatures(Representation):
    """Features of an ImageNet-trained MobileNet cut at ``cut`` (``mml7.backbones``)."""

    slow = True

    def __init__(
        self,
        backbone: str = "MobileNet (alpha 0.25)",
        cut: str = "last",
        image_size: int = IMAGENET_SIZE,
        batch_size: int = 64,
    ):
        self.backbone = backbone
        self.cut = cut
        self.image_size = image_size
        self.batch_size = batch_size
        self.name = f"ImageNet {backbone}, {cut} ({image_size} px)"

    def transform(self, images, progress=None):
        from mml7 import backbones

        features = backbones.extract_features(
            np.asarray(images, dtype=np.float32),
            backbone=self.backbone,
            cut=self.cut,
            image_size=self.image_size,
            batch_size=self.batch_size,
            progress=progress,
        )
        return np.asarray(features, dtype=np.float32).reshape(len(images), -1)


@dataclass(frozen=True)
class RepresentationSpec:
    """One entry of the menu of representations.

    Attributes:
        name: the menu label.
        make: builds a fresh, unfitted ``Representation``.
        module: the mml7 module it needs (None = always there).
        slow: minutes for 10,000 images on a CPU (the page computes it on request).
    """

    name: str
    make: Callable[[], Representation]
    module: str | None = None
    slow: bool = False


# The menu, in display order. Adding a representation is one line here.
PCA_COMPONENTS = 32
REPRESENTATIONS: dict[str, RepresentationSpec] = {
    spec.name: spec
    for spec in (
        RepresentationSpec("Raw pixels", Pixels),
        RepresentationSpec(f"PCA (k={PCA_COMPONENTS})", lambda: PCACodes(PCA_COMPONENTS)),
        RepresentationSpec(
            "Conv AE codes (32)", lambda: AutoencoderCodes("conv", 32), "mml7.autoencoders"
        ),
        RepresentationSpec(
            "Denoising AE codes (64)",
            lambda: AutoencoderCodes("denoising", 64),
            "mml7.autoencoders",
        ),
        RepresentationSpec(
            "ImageNet MobileNet features",
            lambda: ImageNetFeatures(),
            "mml7.backbones",
            slow=True,
        ),
    )
}


def representation_status(name: str) -> str | None:
    """None when ``name`` can be computed here, else why not (a sentence for the UI)."""
    spec = REPRESENTATIONS.get(name)
    if spec is None:
        return f"unknown representation {name!r}; choose one of {', '.join(REPRESENTATIONS)}"
    if spec.module is None:
        return None
    if importlib.util.find_spec(spec.module) is None:
        return f"not available yet: this version of mml7 has no {spec.module}"
    if spec.module == "mml7.autoencoders":
        from mml7 import autoencoders

        representation = spec.make()
        path = autoencoders.weights_path(representation.kind, representation.code_size)
        if not path.exists():
            return (
                f"not available yet: the shipped weights {path.name} are missing "
                "(`python -m mml7 train autoencoders` makes them)"
            )
    if spec.module == "mml7.backbones":
        from mml7 import backbones

        reason = backbones.available_backbones().get(spec.make().backbone, "unknown backbone")
        if reason is not None:
            return f"ImageNet weights unavailable: {reason}"
    return None


def fit_representation(
    name: str, images: np.ndarray, progress: Progress | None = None
) -> Representation:
    """The representation ``name`` fitted on the gallery ``images`` (no labels used); its
    ``transform`` then maps the gallery and any query the same way.

    Raises:
        InputError: the representation cannot be computed here (see
            ``representation_status``).
    """
    reason = representation_status(name)
    if reason is not None:
        raise InputError(f"{name}: {reason}")
    return REPRESENTATIONS[name].make().fit(images, progress)


# --------------------------------------------------------------------------- galleries and queries


def thumbnail(image: np.ndarray, size: int = 84) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) of a float32 (h, w, c) image in [0, 1], enlarged by an
    integer factor (nearest neighbour, so pixels stay sharp) to about ``size`` pixels."""
    image = np.asarray(image, dtype=np.float32)
    scale = max(1, size // max(image.shape[:2]))
    image = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
    image = np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)
    return image[..., 0] if image.shape[-1] == 1 else image


GALLERIES = ("Fashion-MNIST (test)", "LFW faces vs non-faces", "Digits (8x8)")
# Uploaded galleries are resized to this (h, w), in colour.
UPLOAD_IMAGE_SIZE = 48


def load_gallery(name: str) -> data.ImageDataset:
    """One of ``GALLERIES`` as an ImageDataset.

    Raises:
        DatasetUnavailable: Fashion-MNIST is not on this machine.
    """
    loaders = {
        "Fashion-MNIST (test)": lambda: data.fashion_mnist("test"),
        "LFW faces vs non-faces": data.lfw_faces,
        "Digits (8x8)": data.digits,
    }
    if name not in loaders:
        raise ValueError(f"gallery must be one of {', '.join(GALLERIES)}, got {name!r}")
    return loaders[name]()


def read_gallery_upload(filename: str, payload: bytes) -> data.ImageDataset:
    """An uploaded zip of class folders as a gallery (colour, 48x48).

    Raises:
        InputError: unreadable upload, or fewer than 2 images.
    """
    gallery = data.read_upload(filename, payload, image_size=UPLOAD_IMAGE_SIZE, channels=3)
    if len(gallery) < 2:
        raise InputError(
            f"'{filename}' gives {len(gallery)} image; a gallery needs at least 2 "
            "(upload a .zip of class folders)"
        )
    return gallery


def prepare_query(filename: str, payload: bytes, gallery_images: np.ndarray) -> np.ndarray:
    """An uploaded image as a query, preprocessed like the gallery: resized to the gallery's
    (h, w) and converted to its channels (grey or RGB).

    Returns:
        float32 (1, h, w, c) in [0, 1].

    Raises:
        InputError: not a readable image, or a zip of more than one image.
    """
    height, width, channels = np.asarray(gallery_images).shape[1:]
    if channels not in (1, 3):
        raise InputError(f"galleries of {channels}-channel images cannot take an uploaded query")
    query = data.read_upload(filename, payload, image_size=(height, width), channels=channels)
    if len(query) != 1:
        raise InputError(
            f"'{filename}' holds {len(query)} images; upload one image (PNG or JPEG) as the query"
        )
    return query.images
