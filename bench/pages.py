"""How fast every page answers in a browser: first visit, revisit, interactions, peak memory.

Each of ``--runs`` servers is started fresh and visited by one headless Chromium session:
the first load (Home), then every page by its sidebar link (first visit), every page again
(revisit), then on each page the interactions listed in ``INTERACTIONS`` (widgets that do
not train). A time is the seconds until Streamlit's script state is idle again after the
click (tests/helpers/served_app.wait_until_idle); the server's peak resident memory
(VmHWM) is read at the end. Rows are medians over the servers, with the targets of issue
15 (first visit <= 8 s, revisit <= 1.5 s, interaction <= 1 s, peak <= 1.0 GB) and the
ratio to the figures measured before that work (``BEFORE``).

Usage: python bench/pages.py [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers.served_app import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    exception_texts,
    peak_rss_bytes,
    serve,
    wait_until_idle,
)

TARGETS = {"first visit": 8.0, "revisit": 1.5, "interaction": 1.0}
PEAK_TARGET_BYTES = 1.0e9
# Seconds measured before issue 15's work (the issue's table), and the peak in bytes.
BEFORE = {
    ("first visit", "Home"): 1.6,
    ("first visit", "Transfer-learning advisor"): 6.5,
    ("revisit", "Transfer-learning advisor"): 0.8,
    ("first visit", "Segmentation & unpooling"): 1.2,
    ("revisit", "Segmentation & unpooling"): 0.9,
    ("first visit", "Autoencoders"): 3.5,
    ("revisit", "Autoencoders"): 2.0,
    ("first visit", "Similar images"): 16.0,
    ("revisit", "Similar images"): 0.9,
    ("peak", "server"): 1.24e9,
}


def radio(key: str, label: str):
    def act(page):
        page.locator(f".st-key-{key}").get_by_text(label, exact=True).click()

    return act


def number(key: str, value: int):
    def act(page):
        field = page.locator(f".st-key-{key} input")
        field.fill(str(value))
        field.press("Enter")

    return act


def select(key: str, option: str):
    def act(page):
        page.locator(f".st-key-{key} button[aria-haspopup='listbox']").click()
        page.get_by_role("option", name=option, exact=True).click()

    return act


def tab(name: str):
    return lambda page: page.get_by_role("tab", name=name).click()


# Per page title: (what the user does, how), in order; none of them trains a model. Each
# action only clicks or types: the time is taken by the wait that follows it.
INTERACTIONS = {
    "Transfer-learning advisor": [
        ("input px 96", select("size", "96")),
        ("input px back to 64", select("size", "64")),
    ],
    "Segmentation & unpooling": [
        ("step by step: seed 1", number("seg_seed", 1)),
        ("tab Train and compare", tab("Train and compare")),
        ("shipped models: thin structures", radio("seg_scenes", "thin structures")),
        ("tab Segment your image", tab("Segment your image")),
    ],
    "Autoencoders": [
        ("tab Linear AE = PCA", tab("Linear AE = PCA")),
        ("linear k = 10", radio("linear_k", "10")),
        ("tab Deep AE", tab("Deep AE")),
        ("conv code 64", radio("conv_k", "64")),
        ("tab Denoising", tab("Denoising")),
        ("denoiser trained at 0.5", radio("noise_model", "0.5")),
        ("tab Latent space", tab("Latent space")),
        ("tab Morphing", tab("Morphing")),
        ("morph second image #3", number("morph_b", 3)),
    ],
    "Similar images": [
        ("distance: the other metric", radio("metric", "euclidean")),
        ("neighbours 12", number("k", 12)),
        ("gallery page 2", number("gallery_page", 2)),
    ],
}


def sidebar(page, title: str) -> float:
    page.locator('[data-testid="stSidebarNavLink"]', has_text=title).first.click()
    return wait_until_idle(page)


def measure() -> tuple[dict, int, list[str]]:
    """One fresh server: {(kind, name): seconds}, its peak RSS, and any tracebacks seen."""
    from playwright.sync_api import sync_playwright

    from app import registry

    titles = [page.title for page in registry.pages()]
    times, problems = {}, []
    with serve() as (base, process), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(base, wait_until="domcontentloaded", timeout=120_000)
        times[("first visit", titles[0])] = wait_until_idle(page)
        for kind in ("first visit", "revisit"):
            for title in titles[1:]:
                times[(kind, title)] = sidebar(page, title)
                problems += exception_texts(page)
        for title, steps in INTERACTIONS.items():
            sidebar(page, title)
            for name, act in steps:
                act(page)
                times[("interaction", f"{title}: {name}")] = wait_until_idle(page)
                problems += exception_texts(page)
        peak = peak_rss_bytes(process.pid)
        browser.close()
    return times, peak, problems


def rows(runs: list[tuple[dict, int, list[str]]]) -> list[dict]:
    """One RESULT row per measured step (median over servers), then the peak."""
    out = []
    for kind, name in runs[0][0]:
        values = [times[(kind, name)] for times, _, _ in runs]
        median = statistics.median(values)
        before = BEFORE.get((kind, name))
        ratio = f", {median / before:.2f}x before ({before} s)" if before else ""
        out.append(
            {
                "figure": f"{kind}: {name} (median of {len(runs)} servers{ratio})",
                "value": round(median, 2),
                "unit": "s",
                "target": f"<= {TARGETS[kind]}",
                "ok": median <= TARGETS[kind],
            }
        )
    peaks = [peak for _, peak, _ in runs]
    median = statistics.median(peaks)
    out.append(
        {
            "figure": f"server peak RSS after every page and interaction, median of "
            f"{len(runs)} servers (worst {max(peaks) / 1e9:.2f} GB), "
            f"{median / BEFORE[('peak', 'server')]:.2f}x before (1.24 GB)",
            "value": round(median / 1e9, 3),
            "unit": "GB",
            "target": "<= 1.0",
            "ok": median <= PEAK_TARGET_BYTES,
        }
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh servers, one by one")
    parser.add_argument("--json", action="store_true", help="print RESULT lines for run_all")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    runs = [measure() for _ in range(args.runs)]
    print(f"load average (1 min) at the start: {load:.2f}, at the end: {os.getloadavg()[0]:.2f}")
    for problem in sorted({p for _, _, problems in runs for p in problems}):
        print(f"TRACEBACK on a page: {problem[:300]}")
    for row in rows(runs):
        mark = "ok" if row["ok"] else "MISSED"
        print(f"{row['value']:>7} {row['unit']:<3} {mark:<6} {row['figure']}")
        if args.json:
            print("RESULT " + json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
