"""What the measured recommendation's signals cost against running every strategy, timed
alone on this machine (run it idle: the suite's own timings share the machine).

For Fashion-MNIST at 200 and 1,000 images per class (seed 0, the suite's report case and
settings: 64 px, no cap) the frozen features of the chosen and the ensemble's cut are
extracted first (both sides need them; not counted), then ``measure_signals`` (without the
fine-tune probe, the default) and ``run_experiments`` are timed, wall and CPU seconds.

Usage: python bench/advisor_cost.py [--json]
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

SIZES = (200, 1000)


def timed(function):
    began, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - began, time.process_time() - cpu


def main() -> int:
    from mml7.transfer import ExperimentConfig, measured, run_experiments, suite
    from mml7.transfer.transferability import dataset_features

    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true", help="print RESULT lines for run_all")
    args = parser.parse_args()
    case = next(c for c in suite.builtin_cases() if c.name == "Fashion-MNIST")
    load_before = os.getloadavg()[0]
    for size in SIZES:
        data = case.pool.per_class(size, 0)
        config = ExperimentConfig(image_size=64, cut="block 11", ensemble_cut="block 5")
        features = dataset_features(data, config, (config.cut, config.ensemble_cut))
        _, signal_s, signal_cpu = timed(
            lambda: measured.measure_signals(data, config, features, False)  # noqa: B023
        )
        _, run_s, run_cpu = timed(lambda: run_experiments(data, config, features))  # noqa: B023
        load = f"load average {load_before:.2f} -> {os.getloadavg()[0]:.2f}"
        figure = {
            "figure": f"advisor signals / all strategies, Fashion-MNIST {size} per class, "
            f"wall {signal_s:.1f} / {run_s:.1f} s, CPU {signal_cpu:.1f} / {run_cpu:.1f} s, {load}",
            "value": round(signal_s / run_s, 3),
            "unit": "x",
            "target": "<= 0.25",
            "ok": signal_s / run_s <= 0.25,
        }
        if args.json:
            print("RESULT " + json.dumps(figure))
        else:
            print(f"{figure['figure']}: {figure['value']:.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
