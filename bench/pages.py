"""How fast every page answers in a browser: first visit, revisit, interactions, peak memory.

Each of ``--runs`` servers is started fresh and visited by one headless Chromium session:
the first load (Home), then every page by its sidebar link (first visit), every page again
(revisit), then on each page the interactions listed in ``INTERACTIONS`` (widgets that do
not train). A time is the seconds until Streamlit's script state is idle again after the
click (tests/helpers/served_app.wait_until_idle); the server's peak resident memory
(VmHWM) is read after it. Then ``--sessions`` new browsers (threads, one Chromium each)
do the same walk on the same server at once, as a class would, and the peak is read again.
Rows are medians over the servers, with the targets of issue 15 (first visit <= 8 s,
revisit <= 1.5 s, interaction <= 1 s, peak <= 1.0 GB) and the ratio to the figures
measured before that work (``BEFORE``).

Usage: python bench/pages.py [--runs 3] [--sessions 5] [--json]
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
        ("noise salt-and-pepper", radio("noise_kind", "salt-and-pepper")),
        ("tab Latent space", tab("Latent space")),
        ("latent model conv 16", select("latent_model", "conv 16")),
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


def walk(page, titles: list[str]) -> tuple[dict, list[str]]:
    """One session's walk on an open page: every page's first visit, its revisit, then each
    page's ``INTERACTIONS``; returns ({(kind, name): seconds}, tracebacks seen)."""
    times, problems = {("first visit", titles[0]): wait_until_idle(page)}, []
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
    return times, problems


def browser_session(base: str, titles: list[str]) -> tuple[dict, list[str]]:
    """A new browser (its own Playwright, so sessions can run in threads) doing ``walk``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(base, wait_until="domcontentloaded", timeout=120_000)
        try:
            return walk(page, titles)
        finally:
            browser.close()


def measure(sessions: int) -> tuple[dict, dict, list[str]]:
    """One fresh server: one session's walk, timed, then ``sessions`` new sessions doing
    the same walk at once. Returns ({(kind, name): seconds} of the first walk, {"one": peak
    RSS after it, "many": peak after the sessions together}, tracebacks seen)."""
    from concurrent.futures import ThreadPoolExecutor

    from app import registry

    titles = [page.title for page in registry.pages()]
    with serve() as (base, process):
        times, problems = browser_session(base, titles)
        peaks = {"one": peak_rss_bytes(process.pid)}
        if sessions:
            with ThreadPoolExecutor(sessions) as pool:
                walks = list(pool.map(lambda _: browser_session(base, titles), range(sessions)))
            problems += [problem for _, found in walks for problem in found]
            peaks["many"] = peak_rss_bytes(process.pid)
    return times, peaks, problems


def rows(runs: list[tuple[dict, dict, list[str]]], sessions: int) -> list[dict]:
    """One RESULT row per measured step (median over servers), then the peaks: after the
    timed walk, and after ``sessions`` sessions walking together."""
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
    labels = {"one": "one session's walk", "many": f"{sessions} more sessions' walks at once"}
    for which, label in labels.items():
        peaks = [found[which] for _, found, _ in runs if which in found]
        if not peaks:
            continue
        median = statistics.median(peaks)
        out.append(
            {
                "figure": f"server peak RSS after {label}, median of {len(peaks)} servers "
                f"(worst {max(peaks) / 1e9:.2f} GB), "
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
    parser.add_argument(
        "--sessions", type=int, default=5, help="sessions walking at once after the timed one"
    )
    parser.add_argument("--json", action="store_true", help="print RESULT lines for run_all")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    runs = [measure(args.sessions) for _ in range(args.runs)]
    print(f"load average (1 min) at the start: {load:.2f}, at the end: {os.getloadavg()[0]:.2f}")
    for problem in sorted({p for _, _, problems in runs for p in problems}):
        print(f"TRACEBACK on a page: {problem[:300]}")
    for row in rows(runs, args.sessions):
        mark = "ok" if row["ok"] else "MISSED"
        print(f"{row['value']:>7} {row['unit']:<3} {mark:<6} {row['figure']}")
        if args.json:
            print("RESULT " + json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
