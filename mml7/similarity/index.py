"""Nearest-neighbour search over vectors: ``SimilarImageIndex`` and how exact it is.

Exact search is one matrix product per block of queries (the default); approximate search
uses FAISS's HNSW graph, for galleries past ~100k items. ``recall_at_k`` and
``hnsw_recall`` say how much of the exact answer the approximate one finds;
``query_sample`` draws the same queries for every representation.

>>> index = SimilarImageIndex(metric="euclidean", n_neighbors=1).fit(np.eye(3))
>>> index.kneighbors(np.array([[0.9, 0.1, 0.0]]))[1]
array([[0]])
"""

from __future__ import annotations

import functools
import importlib.util
import threading

import numpy as np

from mml7.errors import InputError, check_choice

METRICS = ("cosine", "euclidean")
ALGORITHMS = ("exact", "hnsw")
# Bytes of one block of query-to-gallery distances: bounds the memory of exact search.
WORKING_MEMORY_BYTES = 64 * 2**20
# Products of at most this many multiply-adds run on one BLAS thread: for a few queries
# against a gallery of low-dimensional codes the product is a memory-bound pass over the
# gallery; a second thread saves little, but on a busy machine waiting for it can stall
# the product for a whole scheduler quantum (bench/similarity.py measures the latency).
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
        self.metric_ = check_choice(self.metric, METRICS, "metric")
        self.algorithm_ = check_choice(self.algorithm, ALGORITHMS, "algorithm")
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
        squared Euclidean distance), from one matrix product. ``queries`` are prepared
        (unit rows for cosine), e.g. rows of ``vectors_``; ``scores.retrieval_scores``
        ranks whole galleries with it too."""
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
        return self._exact_kneighbors(queries, k, exclude)

    def _exact_kneighbors(self, queries: np.ndarray, k: int, exclude: np.ndarray | None):
        """Block by block: one matrix product, then the k smallest by ``argpartition``."""
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
