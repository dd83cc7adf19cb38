"""Transfer-learning speed: head re-runs on cached features, and feature extraction.

In one process, on 1,000 Fashion-MNIST training images (100 per class):

- the page's "new head" step: ``transfer.fit_head`` with the default settings (40 epochs,
  batch 32) on cached MobileNet (alpha 0.25, 96 px, last cut) features, median of
  ``--repeats`` re-runs; target under 2 s. The first head of a shape in a process also
  traces its training step: that first run is reported on its own. The baseline is
  re-extracting the features (what a head change would cost without the cache),
  measured in the same process.
- extraction throughput, images/s (median of ``--repeats`` passes over 256 images after a
  warm-up pass), per available backbone, cut "last", and input size.

Usage: python bench/transfer.py [--repeats 5] [--sizes 32 64 96 128] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from mml7 import backbones, data, transfer  # noqa: E402

TARGET_S = 2.0


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def measure_head(repeats: int) -> dict:
    """The head re-run on cached features, against re-extracting them."""
    dataset = data.fashion_mnist("train").per_class(100, seed=0)
    config = transfer.ExperimentConfig()
    features = backbones.extract_features(dataset.images, config.backbone, "last", 96)
    extract_s = [
        timed(lambda: backbones.extract_features(dataset.images, config.backbone, "last", 96))
        for _ in range(max(2, repeats // 2))
    ]

    def head():
        return transfer.fit_head(features, dataset.labels, dataset.num_classes, config)

    first_s = timed(head)
    head_s = [timed(head) for _ in range(repeats)]
    head_median, extract_median = statistics.median(head_s), statistics.median(extract_s)
    return {
        "images": len(dataset),
        "epochs": config.head_epochs,
        "median_s": head_median,
        "runs_s": head_s,
        "first_run_s": first_s,
        "target_s": TARGET_S,
        "meets_target": head_median < TARGET_S,
        "baseline_reextract_median_s": extract_median,
        "speedup_vs_reextract": extract_median / head_median,
    }


def measure_extraction(repeats: int, sizes: list[int]) -> list[dict]:
    """Extraction throughput per available backbone and input size (cut "last")."""
    rows = []
    images = np.random.default_rng(0).random((256, 28, 28, 1)).astype(np.float32)
    for backbone, reason in backbones.available_backbones().items():
        if reason is not None:
            rows.append({"backbone": backbone, "skipped": reason})
            continue
        for size in sizes:
            backbones.extract_features(images[:64], backbone, "last", size)  # build + warm up
            runs = [
                timed(lambda b=backbone, s=size: backbones.extract_features(images, b, "last", s))
                for _ in range(repeats)
            ]
            rows.append(
                {
                    "backbone": backbone,
                    "size": size,
                    "images_per_s": len(images) / statistics.median(runs),
                }
            )
    return rows


def result_lines(report: dict, repeats: int) -> list[dict]:
    """One record per figure, as bench/run_all.py reads them."""
    head = report["head_rerun"]
    results = [
        {
            "figure": f"head re-run on {head['images']:,} cached feature vectors "
            f"({head['epochs']} epochs), median of {repeats} re-runs",
            "value": round(head["median_s"], 2),
            "unit": "s",
            "target": f"< {TARGET_S:.0f}",
            "ok": head["meets_target"],
        },
        {
            "figure": "the first head of that shape in the process (traces its step)",
            "value": round(head["first_run_s"], 2),
            "unit": "s",
            "target": "",
            "ok": None,
        },
        {
            "figure": "re-extracting those features instead (baseline, same process)",
            "value": round(head["baseline_reextract_median_s"], 2),
            "unit": "s",
            "target": "",
            "ok": None,
        },
    ]
    for row in report["extraction_images_per_s"]:
        if "skipped" not in row:
            results.append(
                {
                    "figure": f"extraction, {row['backbone']}, {row['size']} px",
                    "value": round(row["images_per_s"], 1),
                    "unit": "images/s",
                    "target": "",
                    "ok": None,
                }
            )
    return results


def print_report(report: dict, repeats: int) -> None:
    head = report["head_rerun"]
    print(
        f"head re-run on {head['images']:,} cached feature vectors ({head['epochs']} epochs): "
        f"median {head['median_s']:.2f} s over {repeats} re-runs "
        f"({'meets' if head['meets_target'] else 'MISSES'} the {TARGET_S:.0f} s target; "
        f"first run, with tracing: {head['first_run_s']:.2f} s); "
        f"re-extracting instead: {head['baseline_reextract_median_s']:.2f} s "
        f"({head['speedup_vs_reextract']:.1f}x slower)"
    )
    print(f"{'backbone':26} {'px':>4} {'images/s':>9}")
    for row in report["extraction_images_per_s"]:
        if "skipped" in row:
            print(f"{row['backbone']:26}    - skipped: {row['skipped']}")
        else:
            print(f"{row['backbone']:26} {row['size']:4} {row['images_per_s']:9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 96, 128])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = {
        "head_rerun": measure_head(args.repeats),
        "extraction_images_per_s": measure_extraction(args.repeats, args.sizes),
    }
    if args.json:
        for result in result_lines(report, args.repeats):
            print("RESULT " + json.dumps(result))
    else:
        print_report(report, args.repeats)


if __name__ == "__main__":
    main()
