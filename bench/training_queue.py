"""Peak memory and time of the served app while five sessions press a train button at once.

Serves the app with ``MML7_TRAINING_SLOTS`` set, opens five browser sessions, presses each
one's retrain button (segmentation or an autoencoder, at its default configuration;
tests/helpers/training_sessions.py) one right after the other and
watches until every session shows its result. Reports the server's peak resident memory
(Linux VmHWM) before and after the trainings; the peak of the server and its training
processes together (the served app trains in child processes, mml7.worker: their resident
memory summed, sampled every 0.1 s) and the largest training process; the seconds until
all finished, and whether sessions were seen waiting. Target: the peak of the server and
its training processes together <= 1.5 GB, and every session finished. Beside it, the
peak of the same processes' PSS summed: pages they share (the libraries both map) once.

Usage: python bench/training_queue.py [--runs 3] [--slots 1,2] [--kind segmentation] [--timeout 900] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import training_sessions as sessions  # noqa: E402
from tests.helpers.served_app import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    TreePeak,
    peak_rss_bytes,
    serve,
)

TARGET_BYTES = 1.5e9
SESSIONS = 5


def measure(slots: int, kind: str, timeout: float) -> dict:
    """One server with ``slots`` training slots; five sessions train at once."""
    from playwright.sync_api import sync_playwright

    with (
        serve(env={"MML7_TRAINING_SLOTS": str(slots)}) as (base, process),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tabs = sessions.open_sessions(browser, base, SESSIONS, kind)
        before = peak_rss_bytes(process.pid)
        with TreePeak(process.pid) as tree:
            seen = sessions.train_at_once(tabs, kind, timeout)
        alive = process.poll() is None
        server = peak_rss_bytes(process.pid) if alive else 0
        browser.close()
    return {
        "peak": max(tree.peak, server),
        "pss": tree.pss_peak,
        "server": server,
        "child": tree.child_peak,
        "before": before,
        "seconds": seen["seconds"],
        "finished": len(seen["finished"]) if not seen["exceptions"] else 0,
        "waited": sum(bool(lines) for lines in seen["waiting"].values()),
        "alive": alive,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="servers measured per slot count")
    parser.add_argument("--slots", default="1,2", help="slot counts to compare, comma-separated")
    parser.add_argument("--kind", choices=sorted(sessions.JOBS), default="segmentation")
    parser.add_argument(
        "--timeout",
        type=float,
        default=900,
        help="seconds to wait for every session's result (five trainings one after another: "
        "a segmentation retrain takes about 75 s at its defaults)",
    )
    parser.add_argument("--json", action="store_true", help="print a RESULT line for run_all")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    results = []
    for slots in [int(text) for text in args.slots.split(",")]:
        rows = []
        for run in range(args.runs):
            row = measure(slots, args.kind, args.timeout)
            rows.append(row)
            print(
                f"slots {slots}, run {run + 1}: peak RSS of the server and its training "
                f"processes {row['peak'] / 1e9:.2f} GB (PSS, shared pages once: "
                f"{row['pss'] / 1e9:.2f}; the server alone "
                f"{row['server'] / 1e9:.2f}, {row['before'] / 1e9:.2f} before the trainings; "
                f"largest training process {row['child'] / 1e9:.2f}), all finished after "
                f"{row['seconds']:.1f} s, {row['finished']} of {SESSIONS} finished, "
                f"{row['waited']} seen waiting, server {'up' if row['alive'] else 'DOWN'}",
                flush=True,
            )
        median = statistics.median(row["peak"] for row in rows)
        worst = max(row["peak"] for row in rows)
        seconds = statistics.median(row["seconds"] for row in rows)
        ok = worst <= TARGET_BYTES and all(row["finished"] == SESSIONS for row in rows)
        results.append((slots, median, worst, seconds, ok))
        print(
            f"slots {slots}: peak RSS median {median / 1e9:.2f} GB, worst {worst / 1e9:.2f} GB, "
            f"all finished after {seconds:.1f} s (median of {args.runs} servers)",
            flush=True,
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        slots, median, worst, seconds, ok = results[0]
        result = {
            "figure": f"served app and its training processes, peak RSS, {SESSIONS} sessions pressing the {args.kind} "
            f"retrain button at once, {slots} training slot(s), median of {args.runs} "
            f"servers (worst {worst / 1e9:.2f} GB, all finished after {seconds:.0f} s)",
            "value": round(median / 1e9, 3),
            "unit": "GB",
            "target": "<= 1.5, every session finished",
            "ok": ok,
        }
        print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
