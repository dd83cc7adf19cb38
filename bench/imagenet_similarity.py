"""The ImageNet-similarity scale: everyday photos against the built-in sets and noise.

Each set is scored as the page scores it (64 images, seed 0): the ImageNet classifier's
mean energy and the similarity (a logistic of it, ``mml7.transfer.imagenet``). A
bootstrap over the 64 images (2,000 resamples) gives a 90% interval of each similarity;
the margin is the photos' similarity minus each other set's, the target at least 0.2
(issue 13). Crops of the bundled photos stand for everyday photos (``data.photo_crops``).

Usage: python bench/imagenet_similarity.py [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mml7 import data, transfer  # noqa: E402
from mml7.transfer import imagenet  # noqa: E402

IMAGES = 64


def sets() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    found = {"everyday photos (crops)": data.photo_crops(IMAGES, seed=0)}
    for name in transfer.BUILTIN_DATASETS:
        try:
            images = transfer.load_dataset(name).images
        except data.DatasetUnavailable as error:
            print(f"{name}: skipped ({error})", file=sys.stderr)
            continue
        found[name] = images[np.sort(rng.choice(len(images), IMAGES, replace=False))]
    found["uniform noise"] = rng.random((IMAGES, 64, 64, 3)).astype(np.float32)
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true", help="print RESULT lines for run_all")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for name, images in sets().items():
        logits, _ = imagenet.imagenet_outputs(images)
        energy = imagenet.energy_from_logits(logits)
        means = [energy[rng.integers(0, len(energy), len(energy))].mean() for _ in range(2000)]
        low, high = imagenet.similarity_from_energy(np.percentile(means, [5, 95]))
        rows.append(
            (name, energy.mean(), float(imagenet.similarity_from_energy(energy.mean())), low, high)
        )
    photos = rows[0][2]
    print("| set | mean energy | similarity (90% bootstrap) | photos' margin |")
    print("| --- | --- | --- | --- |")
    for name, energy, score, low, high in rows:
        margin = "-" if name == rows[0][0] else f"{photos - score:+.2f}"
        print(f"| {name} | {energy:.2f} | {score:.2f} ({low:.2f}-{high:.2f}) | {margin} |")
        if args.json:
            figure = {"figure": f"similarity: {name}", "value": round(score, 3), "unit": ""}
            print("RESULT " + json.dumps(figure))
    worst = photos - max(score for _, _, score, _, _ in rows[1:])
    print(f"smallest margin {worst:.2f} (target >= 0.2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
