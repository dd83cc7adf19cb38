"""How well a representation retrieves, and how much a few labels buy on top of it.

- ``precision_at_k`` and ``average_precision`` score rankings given as relevance masks;
- ``retrieval_scores`` ranks the whole gallery for each leave-one-out query (exact
  search) and reports precision@k and mean average precision (mAP), where a result is
  relevant when it has the query's class;
- ``few_label_probe`` trains a logistic regression on a few labelled vectors per class
  (``labelled_subset`` draws them) and reports its accuracy.

None of the representations used a label to learn; these scores are where labels come in.

>>> retrieval_scores([[0.0], [0.1], [5.0], [5.1]], [0, 0, 1, 1], "euclidean", ks=(1,))["mAP"]
1.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mml7.errors import InputError
from mml7.progress import Progress, report
from mml7.similarity.index import SimilarImageIndex


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


def stable_order(block: np.ndarray) -> np.ndarray:
    """``np.argsort(block, axis=1, kind="stable")`` of a float32 (m, n) block, n < 2**32:
    the same indices (ties in index order), from one sort of unique 64-bit keys (the
    value's bits made to order like the value, then the index), which NumPy sorts with
    SIMD instructions several times faster than its stable (merge) argsort.

    >>> stable_order(np.array([[0.5, -1.0, 0.5, -0.0, 0.0]], dtype=np.float32)).tolist()
    [[1, 3, 4, 0, 2]]
    """
    block = np.asarray(block, dtype=np.float32) + np.float32(0.0)  # -0.0 becomes 0.0
    # Negative floats order backwards by their bits: flip them all; set the sign bit of
    # the others so that they follow.
    flips = (block.view(np.int32) >> 31).view(np.uint32) | np.uint32(1 << 31)
    keys = (block.view(np.uint32) ^ flips).astype(np.uint64)
    keys <<= np.uint64(32)
    keys |= np.arange(block.shape[1], dtype=np.uint64)
    keys.sort(axis=1)
    return (keys & np.uint64(0xFFFFFFFF)).astype(np.intp)


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
        chunk_size: queries ranked per block (memory ~ 24 bytes x chunk_size x n).

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
    # Small class numbers with the labels' equalities: a cheaper gather per ranking.
    classes = np.unique(labels, return_inverse=True)[1].reshape(-1).astype(np.int32)
    hits = {k: 0.0 for k in ks}
    precisions = []
    for start in range(0, len(queries), chunk_size):
        chosen = queries[start : start + chunk_size]
        block = index._ranking_block(index.vectors_[chosen])
        block[np.arange(len(chosen)), chosen] = np.inf  # the query itself ranks last
        relevant = classes[stable_order(block)[:, :-1]] == classes[chosen][:, None]
        for k in ks:
            hits[k] += precision_at_k(relevant, k) * len(chosen)
        precisions.append(average_precision(relevant))
        done = min(start + chunk_size, len(queries))
        report(progress, done / len(queries), f"{done:,} of {len(queries):,} queries ranked")
    scores = {f"precision@{k}": hits[k] / len(queries) for k in ks}
    scores["mAP"] = float(np.nanmean(np.concatenate(precisions)))
    scores["queries"] = len(queries)
    return scores


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
    vectors, labels = np.asarray(vectors, dtype=np.float32), np.asarray(labels)
    if len(np.unique(labels)) < 2:
        raise InputError("the probe needs images of at least 2 classes")
    test = None
    if test_vectors is not None:
        test = np.asarray(test_vectors, dtype=np.float32), np.asarray(test_labels)
    runs = [(count, repeat) for count in per_class for repeat in range(repeats)]
    accuracies: dict[int, list[float]] = {}
    sizes: dict[int, int] = {}
    for run, (count, repeat) in enumerate(runs):
        scored = _probe_once(vectors, labels, count, seed + repeat, test)
        if scored is None:
            continue
        accuracies.setdefault(count, []).append(scored[0])
        sizes[count] = scored[1]
        report(progress, (run + 1) / len(runs), f"{count} labelled per class, draw {repeat + 1}")
    return {
        count: {
            "accuracy": float(np.mean(values)),
            "std": float(np.std(values)),
            "test_size": sizes[count],
        }
        for count, values in accuracies.items()
    }


def _probe_once(
    vectors: np.ndarray,
    labels: np.ndarray,
    per_class: int,
    seed: int,
    test: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[float, int] | None:
    """(accuracy, test size) of one probe on ``per_class`` labelled items drawn with ``seed``,
    tested on ``test`` (default: the items not drawn); None when the draw is impossible or
    leaves no test item."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    try:
        train = labelled_subset(labels, per_class, seed)
    except InputError:
        return None
    if test is None:
        rest = np.setdiff1d(np.arange(len(labels)), train)
        if len(rest) == 0:
            return None
        test = vectors[rest], labels[rest]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    model.fit(vectors[train], labels[train])
    return float(model.score(*test)), len(test[1])


def comparison_tables(
    retrieval: dict[str, dict[str, float]], probes: dict[str, dict[int, dict[str, float]]]
):
    """The representations side by side, as pandas DataFrames for a table and the figures.

    Args:
        retrieval: representation name -> its ``retrieval_scores``.
        probes: representation name -> its ``few_label_probe`` results.

    Returns:
        (scores: one row per representation (index "representation"), a column per
        score; probe: one row per (representation, "labelled per class" as text) with
        "accuracy", "std" and "test_size"; empty when no probe could run).
    """
    import pandas as pd

    rows = [{"representation": name, **scores} for name, scores in retrieval.items()]
    probe_rows = [
        {"representation": name, "labelled per class": str(count), **result}
        for name, results in probes.items()
        for count, result in results.items()
    ]
    return pd.DataFrame(rows).set_index("representation"), pd.DataFrame(probe_rows)
