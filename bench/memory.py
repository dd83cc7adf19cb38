"""Peak memory of the served app while a browser visits every page.

Serves the app, opens each page listed by the router in headless Chromium (one session,
then every page at once in separate sessions), and reports the server process's peak RSS
(Linux VmHWM) after each step. Target: <= 1.5 GB, what Streamlit Community Cloud allows an
app comfortably.

Usage: python bench/memory.py [--json]
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.served_app import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    exception_texts,
    peak_rss_bytes,
    rss_bytes,
    serve,
    wait_until_idle,
)

TARGET_BYTES = 1.5e9


def page_urls() -> list[str]:
    tree = ast.parse((ROOT / "streamlit_app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PAGES":
            return [
                url
                for script, _, _, url in ast.literal_eval(node.value)
                if (ROOT / script).exists()
            ]
    raise RuntimeError("streamlit_app.py has no PAGES list")


def measure() -> list[dict]:
    from playwright.sync_api import sync_playwright

    rows = []
    with serve() as (base, process), sync_playwright() as playwright:
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
    rows = measure()
    peak = max(row.get("peak_rss", row["rss"]) for row in rows)
    for row in rows:
        extra = f"  {row['seconds']:>5.1f} s" if "seconds" in row else ""
        peak_so_far = f"  peak so far {row['peak_rss'] / 1e9:5.2f} GB" if "peak_rss" in row else ""
        print(f"{row['step']:<32} rss {row['rss'] / 1e9:5.2f} GB{peak_so_far}{extra}")
    print(f"peak RSS {peak / 1e9:.2f} GB (target <= {TARGET_BYTES / 1e9:.1f} GB)")
    result = {
        "figure": "served app peak RSS, every page visited",
        "value": round(peak / 1e9, 3),
        "unit": "GB",
        "target": "<= 1.5",
        "ok": peak <= TARGET_BYTES,
    }
    if "--json" in sys.argv:
        print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
