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
import threading
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
    """Run `streamlit run streamlit_app.py`; yield (base_url, process). Stops it afterwards.

    The server chooses its Keras backend as for a user (``KERAS_BACKEND`` of this process
    is not passed on) unless ``env`` names one."""
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
        env={**{k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}, **(env or {})},
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


def status_bytes(pid: int, field: str) -> int:
    """A size in /proc/PID/status (Linux), e.g. ``VmRSS`` or ``VmHWM``, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not reported")


def peak_rss_bytes(pid: int) -> int:
    """Peak resident memory of a process (Linux: VmHWM in /proc/PID/status)."""
    return status_bytes(pid, "VmHWM")


def rss_bytes(pid: int) -> int:
    return status_bytes(pid, "VmRSS")


def _status_bytes_or_zero(pid: int, field: str) -> int:
    try:
        return status_bytes(pid, field)
    except (OSError, RuntimeError):  # the process has just exited
        return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size (Linux: ``Pss`` in /proc/PID/smaps_rollup): resident memory
    with every page shared by n processes counted 1/n in each, so summed over processes
    each physical page counts once (RSS counts a shared library's pages in every process
    that maps it); 0 for a process that has just exited."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def descendants(pid: int) -> list[int]:
    """Every living process under ``pid`` (children, their children...), from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The field after the parenthesised command name is the state, then the PPID.
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


class TreePeak:
    """Samples the resident memory of a process and all its descendants together (the
    server and its training processes) every ``interval`` seconds in a thread, while in
    a ``with`` block; ``peak`` is the largest sum of RSS seen, ``pss_peak`` the largest
    sum of PSS (``pss_bytes``: pages the processes share counted once), ``child_peak``
    the largest VmHWM of a descendant seen."""

    def __init__(self, pid: int, interval: float = 0.1):
        self.pid, self.interval = pid, interval
        self.peak = self.pss_peak = self.child_peak = 0
        self._stop = threading.Event()

    def sample(self) -> None:
        children = descendants(self.pid)
        total = sum(_status_bytes_or_zero(pid, "VmRSS") for pid in [self.pid, *children])
        self.peak = max(self.peak, total)
        self.pss_peak = max(self.pss_peak, sum(pss_bytes(pid) for pid in [self.pid, *children]))
        for child in children:
            self.child_peak = max(self.child_peak, _status_bytes_or_zero(child, "VmHWM"))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> TreePeak:
        self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


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
