"""Retrieval quality and the few-label probe on Fashion-MNIST, for every representation.

Gallery: the 10,000 Fashion-MNIST test images; every one is a leave-one-out query that
ranks the other 9,999 (exact search). A result is relevant when it has the query's class.
Reports precision@1/5/10 and mean average precision (whole ranking) for the cosine and
Euclidean distances. Representations are fitted on the gallery images without labels
(PCA) or come shipped (autoencoders, ImageNet MobileNet).

Few-label probe: a standardised logistic regression trained on 10 or 100 labelled
training images per class (5 random draws from the training split), accuracy on all
10,000 test images.

Also: PCA's k (mAP for k = 8 ... 128) and MobileNet's cut depth, to show how each was
chosen.

Usage: python bench/similarity_quality.py [--json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


from mml7 import data, similarity  # noqa: E402


def measure(name, test, train, pool, queries, repeats) -> dict:
    """One representation's row: retrieval scores per metric and the few-label probe."""
    start = time.perf_counter()
    fitted = similarity.fit_representation(name, test.images)
    gallery = fitted.transform(test.images)
    labelled = fitted.transform(train.images[pool])
    seconds = time.perf_counter() - start
    row = {"representation": name, "dims": gallery.shape[1], "features_s": seconds}
    for metric in similarity.METRICS:
        scores = similarity.retrieval_scores(gallery, test.labels, metric, query_indices=queries)
        row |= {f"{metric} {key}": value for key, value in scores.items()}
    probe = similarity.few_label_probe(
        labelled,
        train.labels[pool],
        per_class=(10, 100),
        repeats=repeats,
        test_vectors=gallery,
        test_labels=test.labels,
    )
    for count, result in probe.items():
        row[f"probe {count}/class"] = result["accuracy"]
        row[f"probe {count}/class std"] = result["std"]
    return row


def print_table(results: list[dict], num_queries: int, repeats: int) -> None:
    print(f"\n{num_queries:,} leave-one-out queries; probe: {repeats} draws, 10,000 test images")
    print(
        "| representation | d | cos P@10 | cos mAP | euc P@10 | euc mAP "
        "| probe 10/class | probe 100/class |"
    )
    print("| --- " * 8 + "|")
    for row in results:
        print(
            f"| {row['representation']} | {row['dims']} | {row['cosine precision@10']:.4f} | "
            f"{row['cosine mAP']:.4f} | {row['euclidean precision@10']:.4f} | "
            f"{row['euclidean mAP']:.4f} | {row['probe 10/class']:.4f} "
            f"± {row['probe 10/class std']:.4f} | {row['probe 100/class']:.4f} "
            f"± {row['probe 100/class std']:.4f} |"
        )


def print_choices(test, queries) -> None:
    """How PCA's k and MobileNet's cut depth were chosen (mAP for each)."""
    print("\nPCA k (cosine, fitted on the test images):")
    for k in (8, 16, 32, 64, 128):
        codes = similarity.PCACodes(k).fit_transform(test.images)
        scores = similarity.retrieval_scores(codes, test.labels, "cosine", query_indices=queries)
        print(f"k={k:4d}: P@10 {scores['precision@10']:.4f}  mAP {scores['mAP']:.4f}")
    if similarity.representation_status("ImageNet MobileNet features") is not None:
        return
    from mml7 import backbones

    print(f"\nMobileNet (alpha 0.25) cut (cosine, {similarity.IMAGENET_SIZE} px input):")
    for cut in backbones.spec("MobileNet (alpha 0.25)").cut_names:
        start = time.perf_counter()
        features = similarity.ImageNetFeatures(cut=cut).fit_transform(test.images)
        seconds = time.perf_counter() - start
        scores = similarity.retrieval_scores(features, test.labels, "cosine", query_indices=queries)
        print(
            f"{cut:>9}: d={features.shape[1]:4d}  P@10 {scores['precision@10']:.4f}  "
            f"mAP {scores['mAP']:.4f}  ({seconds:.0f} s for 10,000 images)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print RESULT lines for run_all")
    parser.add_argument("--quick", action="store_true", help="1,000 queries, 2 draws")
    parser.add_argument(
        "--only", nargs="*", help="representation names to run (default: every available one)"
    )
    args = parser.parse_args()
    queries = similarity.query_sample(10_000, 1000 if args.quick else None)
    repeats = 2 if args.quick else 5

    test, train = data.fashion_mnist("test"), data.fashion_mnist("train")
    # The probe's labelled images are drawn from this random 5,000 of the training split.
    pool = similarity.labelled_subset(train.labels, 500, seed=99)
    results = []
    for name in similarity.REPRESENTATIONS:
        if args.only and name not in args.only:
            continue
        reason = similarity.representation_status(name)
        if reason is not None:
            print(f"{name}: skipped ({reason})", flush=True)
            continue
        results.append(measure(name, test, train, pool, queries, repeats))
        print(json.dumps(results[-1]), flush=True)

    print_table(results, len(queries), repeats)
    if not args.only:
        print_choices(test, queries)
    if args.json:
        figures = ("cosine precision@10", "cosine mAP", "probe 10/class", "probe 100/class")
        for row in results:
            for figure in figures:
                result = {
                    "figure": f"{figure}, {row['representation']}",
                    "value": round(row[figure], 4),
                }
                print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
