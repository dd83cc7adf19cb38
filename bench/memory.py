"""Peak memory of the served app while a browser visits every page.

Serves the app, opens each page listed by the router in headless Chromium (one session,
then every page at once in separate sessions), and reports the server process's peak RSS
(Linux VmHWM) after each step. Target: <= 1.5 GB, what Streamlit Community Cloud allows an
app comfortably.

Each of ``--runs`` servers is measured from its start; the figure is the median of their
peaks, and the target must hold for the worst.

Usage: python bench/memory.py [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers.served_app import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    exception_texts,
    peak_rss_bytes,
    router_pages,
    rss_bytes,
    serve,
    wait_until_idle,
)

TARGET_BYTES = 1.5e9


def page_urls() -> list[str]:
    return [url for url, _script in router_pages()]


def measure(env: dict | None = None) -> list[dict]:
    """One served app (environment ``env`` added), visited as above; a row per step."""
    from playwright.sync_api import sync_playwright

    rows = []
    with serve(env=env) as (base, process), sync_playwright() as playwright:
        rows.append({"step": "server started", "rss": rss_bytes(process.pid)})
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for i, url in enumerate(page_urls()):
            page.goto(f"{base}/{url if i else ''}", wait_until="domcontentloaded", timeout=120_000)
            seconds = wait_until_idle(page)
            rows.append(
                {
                    "step": f"visited {url}",
                    "seconds": round(seconds, 1),
                    "exceptions": len(exception_texts(page)),
                    "rss": rss_bytes(process.pid),
                    "peak_rss": peak_rss_bytes(process.pid),
                }
            )
        # Every page again, each in a session of its own, all at once.
        pages = [browser.new_context().new_page() for _ in page_urls()]
        for i, (tab, url) in enumerate(zip(pages, page_urls(), strict=True)):
            tab.goto(f"{base}/{url if i else ''}", wait_until="domcontentloaded", timeout=120_000)
        for tab in pages:
            wait_until_idle(tab)
        rows.append(
            {
                "step": f"{len(pages)} sessions at once",
                "rss": rss_bytes(process.pid),
                "peak_rss": peak_rss_bytes(process.pid),
            }
        )
        browser.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="servers measured, one by one")
    parser.add_argument("--json", action="store_true", help="print a RESULT line for run_all")
    args = parser.parse_args()
    peaks = []
    for run in range(args.runs):
        rows = measure()
        peaks.append(max(row.get("peak_rss", row["rss"]) for row in rows))
        print(f"run {run + 1} of {args.runs}")
        for row in rows:
            extra = f"  {row['seconds']:>5.1f} s" if "seconds" in row else ""
            so_far = row.get("peak_rss")
            peak_so_far = f"  peak so far {so_far / 1e9:5.2f} GB" if so_far else ""
            print(f"  {row['step']:<32} rss {row['rss'] / 1e9:5.2f} GB{peak_so_far}{extra}")
    median, worst = statistics.median(peaks), max(peaks)
    print(
        f"peak RSS median {median / 1e9:.2f} GB, worst {worst / 1e9:.2f} GB over "
        f"{args.runs} servers (target <= {TARGET_BYTES / 1e9:.1f} GB)"
    )
    result = {
        "figure": f"served app peak RSS, every page visited, median of {args.runs} servers "
        f"(worst {worst / 1e9:.2f} GB)",
        "value": round(median / 1e9, 3),
        "unit": "GB",
        "target": "<= 1.5 (worst run too)",
        "ok": worst <= TARGET_BYTES,
    }
    if args.json:
        print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
