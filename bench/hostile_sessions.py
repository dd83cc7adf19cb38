"""Peak memory of the served app while five sessions upload hostile files at once.

Serves the app, opens five browser sessions (one per uploader: transfer zip, gallery zip,
segmentation image, SVD photo, similar-images query), uploads a crafted file in each at
the same moment (a 1,000 MiB declared-size bomb, 20,001 members, a header claiming
50,000 x 50,000 px, a real 40-megapixel photo, a truncated JPEG; tests/helpers/hostile.py)
and reads the server's peak resident memory (Linux VmHWM). Target: under 1.5 GB, with the
server still up and every session answered.

Usage: python bench/hostile_sessions.py [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import hostile  # noqa: E402
from tests.helpers.served_app import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    peak_rss_bytes,
    serve,
)

TARGET_BYTES = 1.5e9


def measure(uploads: dict) -> tuple[int, bool, int]:
    """(server peak RSS in bytes, whether it is still up, sessions answered)."""
    from playwright.sync_api import sync_playwright

    with serve() as (base, process), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        shown = hostile.upload_in_sessions(browser, base, uploads)
        browser.close()
        alive = process.poll() is None
        peak = peak_rss_bytes(process.pid) if alive else 0
    answered = sum(
        bool(errors) if uploads[name][4] == "error" else uploads[name][4] in text
        for name, (errors, _exceptions, text) in shown.items()
    )
    return peak, alive, answered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="servers measured, one by one")
    parser.add_argument("--json", action="store_true", help="print a RESULT line for run_all")
    args = parser.parse_args()
    uploads = hostile.hostile_uploads()
    peaks, ok = [], True
    for run in range(args.runs):
        peak, alive, answered = measure(uploads)
        ok = ok and alive and answered == len(uploads)
        peaks.append(peak)
        print(
            f"run {run + 1}: peak RSS {peak / 1e9:.2f} GB, server "
            f"{'up' if alive else 'DOWN'}, {answered} of {len(uploads)} sessions answered",
            flush=True,
        )
    median, worst = statistics.median(peaks), max(peaks)
    print(
        f"peak RSS median {median / 1e9:.2f} GB, worst {worst / 1e9:.2f} GB over {args.runs} servers"
    )
    if args.json:
        result = {
            "figure": f"served app peak RSS, 5 sessions uploading hostile files at once, median "
            f"of {args.runs} servers (worst {worst / 1e9:.2f} GB)",
            "value": round(median / 1e9, 3),
            "unit": "GB",
            "target": "< 1.5, server up, every session answered",
            "ok": ok and worst < TARGET_BYTES,
        }
        print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
