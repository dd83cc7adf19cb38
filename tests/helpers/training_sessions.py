"""Several browser sessions press a train button at once: the autoencoder page's linear or
convolutional retraining, the segmentation page's, or the advisor's four strategies, each
at its default configuration (``mml7.autoencoders.RETRAIN_DEFAULTS``,
``mml7.segmentation.RETRAIN_DEFAULTS``, the advisor's first data set and settings).

Shared by tests/browser/test_training_queue.py and bench/training_queue.py.
"""

from __future__ import annotations

import dataclasses
import time

from tests.helpers.served_app import exception_texts, open_tab, visit, wait_until_idle

WAITING = "Waiting for a training slot"


@dataclasses.dataclass(frozen=True)
class Job:
    """Where a train button is and what its page shows once the training is done."""

    page: str  # the page's address
    tab: str | None  # None: the button is not in a tab
    expander: str | None  # the start of the expander's label; None: not in one
    key: str  # the train button's widget key
    done: str  # text shown once the result is in


JOBS = {
    "linear": Job(
        "autoencoders",
        "Linear AE = PCA",
        "Retrain a linear autoencoder",
        "linear_train",
        "Retrained (",
    ),
    "conv": Job(
        "autoencoders",
        "Deep AE",
        "Retrain a conv autoencoder",
        "conv_train",
        "Retrained (",
    ),
    "segmentation": Job(
        "segmentation", "Train and compare", "Retrain here", "seg_train", "nearest model"
    ),
    "advisor": Job("transfer_learning", None, None, "run", "3. Verdict"),
}


def open_sessions(browser, base: str, count: int, kind: str = "linear") -> list:
    """``count`` sessions (one browser context each) with the train button of
    ``JOBS[kind]`` showing."""
    job = JOBS[kind]
    tabs = []
    for _ in range(count):
        tab = visit(browser, f"{base}/{job.page}")  # a browser context of its own
        if job.tab is not None:
            open_tab(tab, job.tab)
        if job.expander is not None:
            tab.get_by_text(job.expander).click()
        tab.locator(f".st-key-{job.key} button").wait_for(timeout=60_000)
        tabs.append(tab)
    return tabs


def train_at_once(tabs: list, kind: str = "linear", timeout: float = 300) -> dict:
    """Press every session's train button, one right after the other, then watch the pages
    until each shows its result. Returns {"seconds": until all finished, "waiting": the
    waiting messages seen per session, "finished": sessions showing their result,
    "exceptions": traceback texts}."""
    for tab in tabs:
        tab.locator(f".st-key-{JOBS[kind].key} button").click()
    start = time.monotonic()
    waiting: dict[int, set] = {number: set() for number in range(len(tabs))}
    finished: set[int] = set()
    while len(finished) < len(tabs) and time.monotonic() - start < timeout:
        for number, tab in enumerate(tabs):
            if number in finished:
                continue
            text = tab.locator('[data-testid="stMain"]').inner_text()
            waiting[number].update(line for line in text.splitlines() if line.startswith(WAITING))
            if JOBS[kind].done in text:
                finished.add(number)
        time.sleep(0.1)
    seconds = time.monotonic() - start
    exceptions = []
    for tab in tabs:
        wait_until_idle(tab, timeout=timeout)
        exceptions += exception_texts(tab)
    return {"seconds": seconds, "waiting": waiting, "finished": finished, "exceptions": exceptions}
