"""What the retrain buttons learn at their default configuration, and how long it takes.

Runs, in this process, exactly what the pages run when a user presses a retrain button
without changing anything:

- Segmentation -> Train and compare: ``mml7.segmentation.RETRAIN_DEFAULTS`` (shapes
  scenes, the default modes), scored on the page's 64 test scenes. Target: every default
  mode reaches mean IoU >= 0.5.
- Autoencoders -> Linear AE / Deep AE: ``mml7.autoencoders.RETRAIN_DEFAULTS`` at the code
  size each tab opens with (32), scored on all 10,000 test images (as the page does)
  beside PCA, the mean image and the shipped model's record. Target: conv beats PCA at
  its code size; linear comes within 5% of PCA (a linear model cannot beat it).

The target is "about a minute on 2 cores" per button: wall seconds are printed with the
machine's load average (1 min) before and after, since a loaded machine stretches them.

Usage: python bench/retrain_defaults.py [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CODE_SIZE = 32  # the code size the Linear AE and Deep AE tabs open with


def segmentation() -> dict:
    from mml7 import segmentation as seg

    defaults = seg.RETRAIN_DEFAULTS
    started = time.perf_counter()  # the button's job: the scenes are made in it
    found = seg.compare_on("shapes", defaults["scenes"], defaults["modes"], defaults["epochs"])
    rows = found.rows
    return {
        "seconds": time.perf_counter() - started,
        "mean_iou": {mode: row["mean_iou"] for mode, row in rows.items()},
        "reference_mean_iou": {label: row["mean_iou"] for label, row in found.references.items()},
        "target_met": all(row["mean_iou"] >= 0.5 for row in rows.values()),
    }


def autoencoder(kind: str) -> dict:
    from mml7 import autoencoders as ae
    from mml7 import data

    count, epochs = ae.RETRAIN_DEFAULTS[kind]
    started = time.perf_counter()  # the button's job: it reads the images and scores
    _, mse = ae.train_on_fashion_mnist(kind, CODE_SIZE, count, epochs)
    seconds = time.perf_counter() - started
    train, test = data.fashion_mnist("train").images, data.fashion_mnist("test").images
    references = ae.reference_scores(test, CODE_SIZE, ae.fit_pca(train, CODE_SIZE), train.mean(0))
    references["shipped model"] = ae.shipped_test_mse(kind, CODE_SIZE, ae.shipped_summary())
    ratio = mse / references[f"PCA k={CODE_SIZE}"]
    return {
        "seconds": seconds,
        "test_mse": mse,
        "references": references,
        "ratio_to_pca": ratio,
        "target_met": ratio < 1.0 if kind == "conv" else ratio <= 1.05,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results = {
        "segmentation": segmentation(),
        "linear": autoencoder("linear"),
        "conv": autoencoder("conv"),
    }
    results["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        seg_row = results["segmentation"]
        print(f"load average (1 min) before / after: {results['load_average']}")
        print(
            f"segmentation: {seg_row['seconds']:.0f} s, mean IoU "
            + ", ".join(f"{m} {v:.3f}" for m, v in seg_row["mean_iou"].items())
            + " (references: "
            + ", ".join(f"{m} {v:.3f}" for m, v in seg_row["reference_mean_iou"].items())
            + "), target met: "
            f"{seg_row['target_met']}"
        )
        for kind in ("linear", "conv"):
            row = results[kind]
            refs = ", ".join(f"{name} {value:.5f}" for name, value in row["references"].items())
            print(
                f"{kind} {CODE_SIZE}: {row['seconds']:.0f} s, test MSE {row['test_mse']:.5f} "
                f"= {row['ratio_to_pca']:.2f}x PCA ({refs}), target met: {row['target_met']}"
            )
    met = all(results[name]["target_met"] for name in ("segmentation", "linear", "conv"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
