"""Latent-space projections: time and quality on the 10,000 conv-AE codes (code size 32)
of the Fashion-MNIST test set.

Methods: PCA, mml7's t-SNE (``project_codes(..., "tsne")``: openTSNE, FFT), scikit-learn's
Barnes-Hut t-SNE (what the page used before) and UMAP when umap-learn is installed. For
each: seconds (median of ``--runs``, the load average beside), and two quality scores of
the 2-D map: trustworthiness (scikit-learn, 10 neighbours, on 2,000 codes drawn with seed
0: are the map's neighbours neighbours in the codes?) and 10-NN class agreement (5-fold
cross-validated accuracy of a 10-nearest-neighbour classifier on the map's points; no
method saw a label). The target: t-SNE of 10,000 codes in <= 10 s, quality no worse than
scikit-learn's t-SNE.

Usage: python bench/projections.py [--json] [--runs 3] [--sklearn-runs 1] [--count 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from mml7 import autoencoders, data  # noqa: E402

TARGET_S = 10.0


def sklearn_tsne(codes: np.ndarray) -> np.ndarray:
    from sklearn.manifold import TSNE

    return TSNE(2, perplexity=30.0, init="pca", random_state=0).fit_transform(codes)


def umap_map(codes: np.ndarray) -> np.ndarray:
    from umap import UMAP

    return UMAP(n_components=2, random_state=0).fit_transform(codes)


def quality(codes: np.ndarray, points: np.ndarray, labels: np.ndarray) -> dict:
    from sklearn.manifold import trustworthiness
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    sample = np.random.default_rng(0).choice(len(codes), min(2000, len(codes)), replace=False)
    knn = cross_val_score(KNeighborsClassifier(10), points, labels, cv=5)
    return {
        "trustworthiness": float(trustworthiness(codes[sample], points[sample], n_neighbors=10)),
        "knn_agreement": float(knn.mean()),
    }


def measure(name: str, project, codes: np.ndarray, labels: np.ndarray, runs: int) -> dict:
    seconds, loads = [], []
    for _ in range(runs):
        loads.append(os.getloadavg()[0])
        start = time.perf_counter()
        points = project(codes)
        seconds.append(time.perf_counter() - start)
    row = {"method": name, "seconds": float(np.median(seconds)), "runs": runs}
    row["load_1min"] = float(np.median(loads))
    return row | quality(codes, points, labels)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print RESULT lines for run_all")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sklearn-runs", type=int, default=1, help="0 skips it (minutes)")
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args()

    test = data.fashion_mnist("test")
    images, labels = test.images[: args.count], test.labels[: args.count]
    codes = autoencoders.pretrained("conv", 32).encode(images).astype(np.float64)
    methods = {
        "PCA": (lambda c: autoencoders.project_codes(c, "pca", 2), args.runs),
        "t-SNE (mml7: openTSNE, FFT)": (
            lambda c: autoencoders.project_codes(c, "tsne", 2),
            args.runs,
        ),
        "t-SNE (scikit-learn, Barnes-Hut)": (sklearn_tsne, args.sklearn_runs),
    }
    try:
        from umap import UMAP  # noqa: F401

        methods["UMAP (umap-learn)"] = (umap_map, args.runs)
    except ImportError:
        print("UMAP: skipped (umap-learn is not installed)")
    rows = []
    for name, (project, runs) in methods.items():
        if runs < 1:
            continue
        rows.append(measure(name, project, codes, labels, runs))
        print(json.dumps(rows[-1]), flush=True)

    print(f"\n{len(codes):,} conv-AE codes (32-d) -> 2-D, {os.cpu_count()} CPUs")
    print("| method | seconds (median) | runs | load (1 min) | trustworthiness | 10-NN agreement |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['method']} | {row['seconds']:.1f} | {row['runs']} | {row['load_1min']:.1f} "
            f"| {row['trustworthiness']:.4f} | {row['knn_agreement']:.4f} |"
        )
    if args.json:
        for row in rows:
            is_tsne = row["method"].startswith("t-SNE (mml7")
            result = {
                "figure": f"{row['method']} of {len(codes):,} codes (load {row['load_1min']:.1f})",
                "value": round(row["seconds"], 2),
                "unit": "s",
                "target": f"<= {TARGET_S} s" if is_tsne else "",
                "ok": bool(row["seconds"] <= TARGET_S) if is_tsne else None,
            }
            print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
