"""Rank-k SVD of a 2000x2000 image: full LAPACK SVD vs the randomised SVD for small k.

The image is scikit-image's "astronaut" in grey, resized to 2000x2000. Each way is run
several times in this process; the figures are medians, and the speed-up is the full
SVD's median over the randomised one's. Accuracy: the randomised rank-k approximation's
relative error next to the exact (Eckart-Young) one.

Usage: python bench/svd.py [--json] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mml7 import svd  # noqa: E402
from mml7.images import resize  # noqa: E402

SIDE = 2000
RANKS = (10, 50)


def test_image() -> np.ndarray:
    from skimage import data
    from skimage.color import rgb2gray

    grey = rgb2gray(data.astronaut())
    return resize(grey, (SIDE, SIDE), "bilinear").astype(np.float64)  # timed in float64


def median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true", help="print RESULT lines for run_all")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    image = test_image()
    results = []
    full = median_seconds(lambda: np.linalg.svd(image, full_matrices=False), args.repeats)
    values = np.linalg.svd(image, compute_uv=False)
    results.append(
        {"figure": f"full SVD {SIDE}x{SIDE} (median)", "value": round(full, 3), "unit": "s"}
    )
    for k in RANKS:
        fast = median_seconds(
            lambda k=k: svd.low_rank_approximation(image, k, method="randomized"), args.repeats
        )
        exact_error = float(np.sqrt(np.sum(values[k:] ** 2)) / np.linalg.norm(image))
        approximate = svd.low_rank_approximation(image, k, method="randomized")
        fast_error = svd.relative_error(image, approximate)
        results += [
            {
                "figure": f"randomized rank-{k} approximation (median)",
                "value": round(fast, 3),
                "unit": "s",
            },
            {
                "figure": f"speed-up of randomized rank {k} over full SVD",
                "value": round(full / fast, 1),
                "unit": "x",
                "target": "> 1",
                "ok": full / fast > 1,
            },
            {
                "figure": f"relative error rank {k}: randomized / exact",
                "value": f"{fast_error:.5f} / {exact_error:.5f}",
                "unit": "",
                "target": "within 1%",
                "ok": fast_error <= 1.01 * exact_error,
            },
        ]
    for result in results:
        if args.json:
            print("RESULT " + json.dumps(result))
        else:
            print(f"{result['figure']:50} {result['value']} {result['unit']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
