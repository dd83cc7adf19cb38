"""Similar-image search speed: fit time and single-query latency on 70,000 items.

For each representation of all 70,000 Fashion-MNIST images (train + test) that this
machine can compute (raw pixels, PCA k=32, the shipped autoencoders' codes, ImageNet
MobileNet features when `mml7.backbones` is there), it measures in one process:

- ``SimilarImageIndex`` exact search: fit time (median of 3), single-query latency p50/p95
  over 300 queries (cosine, 8 neighbours);
- the baselines on the same vectors and queries: a bare NumPy matrix product +
  argpartition, and scikit-learn's ``NearestNeighbors(algorithm="brute")``;
- FAISS HNSW: build time, latency p50/p95, and recall@10 against exact search.

The target: p50 <= 2 ms per single query for exact search on 32-d codes.

With ``--retrieval``: instead, the seconds (median of 3, load average beside) of
``retrieval_scores`` with every one of the 10,000 Fashion-MNIST test images as a
leave-one-out query (cosine), per representation; target <= 10 s.

Usage: python bench/similarity.py [--json] [--queries N] [--retrieval]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from mml7 import data, similarity  # noqa: E402

TARGET_MS = 2.0


def latencies(search, queries: np.ndarray, warmup: int = 20) -> np.ndarray:
    """Milliseconds of ``search(query (1, d))`` for each query, after ``warmup`` calls."""
    for query in queries[:warmup]:
        search(query[None])
    times = []
    for query in queries:
        start = time.perf_counter()
        search(query[None])
        times.append((time.perf_counter() - start) * 1000)
    return np.array(times)


def median_seconds(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def representations(images: np.ndarray, only: list[str] | None) -> dict[str, np.ndarray]:
    vectors = {}
    for name in similarity.REPRESENTATIONS:
        if only and name not in only:
            continue
        reason = similarity.representation_status(name)
        if reason is not None:
            print(f"{name}: skipped ({reason})", flush=True)
            continue
        start = time.perf_counter()
        fitted = similarity.fit_representation(name, images)
        vectors[name] = fitted.transform(images)
        print(
            f"{name}: {vectors[name].shape[1]}-d, computed for {len(images):,} images in "
            f"{time.perf_counter() - start:.1f} s",
            flush=True,
        )
    return vectors


def bench_one(name: str, vectors: np.ndarray, queries: np.ndarray, k: int = 8) -> dict:
    from sklearn.neighbors import NearestNeighbors
    from threadpoolctl import threadpool_limits

    row = {"representation": name, "dims": vectors.shape[1], "items": len(vectors)}
    row["fit_s"] = median_seconds(lambda: similarity.SimilarImageIndex("cosine", k).fit(vectors))
    index = similarity.SimilarImageIndex("cosine", k).fit(vectors)
    exact = latencies(index.kneighbors, queries)

    unit = index.vectors_  # the bare baseline gets pre-normalised rows, as exact search has

    def bare(query):
        scores = query @ unit.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        return top[0, np.argsort(-scores[0, top[0]])]

    bare_ms = latencies(lambda q: bare(q / np.linalg.norm(q)), queries)
    with threadpool_limits(1, user_api="blas"):
        bare_one_thread_ms = latencies(lambda q: bare(q / np.linalg.norm(q)), queries)
    brute = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(vectors)
    sklearn_ms = latencies(brute.kneighbors, queries)
    row |= {
        "exact_p50_ms": float(np.median(exact)),
        "exact_p95_ms": float(np.percentile(exact, 95)),
        "numpy_p50_ms": float(np.median(bare_ms)),
        "numpy_1thread_p50_ms": float(np.median(bare_one_thread_ms)),
        "sklearn_p50_ms": float(np.median(sklearn_ms)),
    }
    # The same answers as the baselines (first query), or the timings mean nothing.
    np.testing.assert_array_equal(
        index.kneighbors(queries[:1])[1][0], bare(queries[:1] / np.linalg.norm(queries[:1]))
    )
    if similarity.approximate_backend_available():
        start = time.perf_counter()
        approximate = similarity.SimilarImageIndex("cosine", k, algorithm="hnsw").fit(vectors)
        row["hnsw_fit_s"] = time.perf_counter() - start
        hnsw = latencies(approximate.kneighbors, queries)
        row["hnsw_p50_ms"] = float(np.median(hnsw))
        row["hnsw_p95_ms"] = float(np.percentile(hnsw, 95))
        row["hnsw_recall@10"] = similarity.recall_at_k(
            approximate.kneighbors(queries, 10)[1], index.kneighbors(queries, 10)[1]
        )
    return row


RETRIEVAL_TARGET_S = 10.0


def retrieval_timings(only: list[str] | None, emit_json: bool) -> int:
    """``retrieval_scores`` on all 10,000 test images, every one a query, per representation."""
    test = data.fashion_mnist("test")
    rows = []
    for name, vectors in representations(test.images, only).items():
        loads = [os.getloadavg()[0]]
        seconds = median_seconds(lambda v=vectors: similarity.retrieval_scores(v, test.labels))
        loads.append(os.getloadavg()[0])
        rows.append({"representation": name, "dims": vectors.shape[1], "seconds": seconds})
        rows[-1]["load_1min"] = float(np.mean(loads))
        print(json.dumps(rows[-1]), flush=True)
    print("\n| representation | d | retrieval_scores, 10,000 queries (s) | load (1 min) |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['representation']} | {row['dims']} | {row['seconds']:.1f} "
            f"| {row['load_1min']:.1f} |"
        )
    for row in rows if emit_json else []:
        result = {
            "figure": f"retrieval_scores, 10,000 leave-one-out queries, {row['representation']}"
            f" (load {row['load_1min']:.1f})",
            "value": round(row["seconds"], 2),
            "unit": "s",
            "target": f"<= {RETRIEVAL_TARGET_S} s",
            "ok": bool(row["seconds"] <= RETRIEVAL_TARGET_S),
        }
        print("RESULT " + json.dumps(result))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print RESULT lines for run_all")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--only", nargs="*", help="representation names (default: all available)")
    parser.add_argument(
        "--retrieval", action="store_true", help="time retrieval_scores on 10,000 queries"
    )
    args = parser.parse_args()
    if args.retrieval:
        return retrieval_timings(args.only, args.json)

    train, test = data.fashion_mnist("train"), data.fashion_mnist("test")
    images = np.concatenate([train.images, test.images])
    rng = np.random.default_rng(0)
    vectors = representations(images, args.only)
    rows = []
    for name, matrix in vectors.items():
        # Queries: perturbed gallery items, so they are not exact duplicates of one.
        chosen = rng.choice(len(matrix), args.queries, replace=False)
        queries = (
            matrix[chosen]
            + rng.normal(0, 0.01, (args.queries, matrix.shape[1])).astype(np.float32) * matrix.std()
        )
        rows.append(bench_one(name, matrix, queries.astype(np.float32)))
        print(json.dumps(rows[-1]), flush=True)

    print()
    header = (
        "| representation | d | fit (s) | exact p50 / p95 (ms) | NumPy p50 | NumPy 1-thread p50 "
        "| sklearn brute p50 | sklearn / exact | HNSW fit (s) | HNSW p50 / p95 (ms) | HNSW recall@10 |"
    )
    print(header)
    print("| --- " * 11 + "|")
    for row in rows:
        print(
            f"| {row['representation']} | {row['dims']} | {row['fit_s']:.3f} | "
            f"{row['exact_p50_ms']:.2f} / {row['exact_p95_ms']:.2f} | {row['numpy_p50_ms']:.2f} | "
            f"{row['numpy_1thread_p50_ms']:.2f} | "
            f"{row['sklearn_p50_ms']:.2f} | {row['sklearn_p50_ms'] / row['exact_p50_ms']:.1f}x | "
            f"{row.get('hnsw_fit_s', float('nan')):.1f} | "
            f"{row.get('hnsw_p50_ms', float('nan')):.2f} / {row.get('hnsw_p95_ms', float('nan')):.2f} | "
            f"{row.get('hnsw_recall@10', float('nan')):.3f} |"
        )
    if args.json:
        for row in rows:
            name = row["representation"]
            is_32 = row["dims"] == 32
            print(
                "RESULT "
                + json.dumps(
                    {
                        "figure": f"exact single-query p50, {name} ({row['dims']}-d, 70,000 items)",
                        "value": round(row["exact_p50_ms"], 3),
                        "unit": "ms",
                        "target": f"<= {TARGET_MS} ms" if is_32 else "",
                        "ok": bool(row["exact_p50_ms"] <= TARGET_MS) if is_32 else None,
                    }
                )
            )
            if "hnsw_recall@10" in row:
                print(
                    "RESULT "
                    + json.dumps(
                        {
                            "figure": f"HNSW recall@10 vs exact, {name}",
                            "value": round(row["hnsw_recall@10"], 4),
                            "unit": "",
                        }
                    )
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
