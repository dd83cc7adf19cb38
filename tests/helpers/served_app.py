"""Serve the app on a free local port and drive it in headless Chromium.

Shared by the browser tests (tests/browser/) and bench/memory.py. Needs Debian's
Chromium at /usr/bin/chromium and Playwright's Python package (no browser download).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def router_pages() -> list[tuple[str, str]]:
    """(url_path, script) of every page of the registry whose script exists."""
    from app import registry

    return [(page.url_path, page.script) for page in registry.pages()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(log_path: Path | None = None, env: dict | None = None, timeout: float = 120):
    """Run `streamlit run streamlit_app.py`; yield (base_url, process). Stops it afterwards."""
    port = free_port()
    log = open(log_path, "w") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "streamlit_app.py",
            "--server.headless=true",
            f"--server.port={port}",
            "--server.address=127.0.0.1",
            "--browser.gatherUsageStats=false",
            "--server.fileWatcherType=none",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(base + "/_stcore/health", timeout=2)
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"the app server exited with code {process.returncode}"
                    ) from None
                if time.monotonic() > deadline:
                    raise TimeoutError("the app server did not answer in time") from None
                time.sleep(0.5)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        if log_path:
            log.close()


def wait_until_idle(page, timeout: float = 300.0, settle: float = 1.0) -> float:
    """Wait until Streamlit has finished running the page's script; return the seconds
    until it did (the ``settle`` time spent confirming it is not counted).

    The app root carries ``data-test-script-state`` ("initial", "running", "notRunning",
    ...); a page is idle once it reads "notRunning" with no "Running..." status widget, for
    ``settle`` seconds (a click's rerun starts a moment after the click).
    """
    start = time.monotonic()
    idle_since = None
    while time.monotonic() - start < timeout:
        state = page.evaluate(
            """() => {
                const app = document.querySelector('[data-testid="stApp"]');
                return app ? app.getAttribute('data-test-script-state') : null;
            }"""
        )
        running = page.query_selector('[data-testid="stStatusWidget"]') is not None
        if state != "notRunning" or running:
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= settle:
            return idle_since - start
        time.sleep(0.25)
    raise TimeoutError(f"the page was still running after {timeout:.0f} s")


def exception_texts(page) -> list[str]:
    """Texts of the Streamlit exception blocks (tracebacks) shown on the page."""
    return [block.inner_text() for block in page.query_selector_all('[data-testid="stException"]')]


def peak_rss_bytes(pid: int) -> int:
    """Peak resident memory of a process (Linux: VmHWM in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmHWM not reported")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS not reported")


def choose(page, key: str, option: str) -> None:
    """Pick ``option`` in the select box with widget key ``key`` (a React Aria combo box)."""
    page.locator(f".st-key-{key} button[aria-haspopup='listbox']").click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_until_idle(page)


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    wait_until_idle(page)


def visit(browser, url: str, timeout: float = 300):
    """A new page at ``url`` once Streamlit has finished running it."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url, wait_until="domcontentloaded", timeout=120_000)
    page.wait_for_selector('[data-testid="stApp"]', timeout=120_000)
    wait_until_idle(page, timeout=timeout)
    return page
