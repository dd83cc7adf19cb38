"""One process-wide gate for training jobs, so that sessions share the server fairly.

Streamlit runs each session's script in its own thread of one server process, so a
threading primitive works across sessions. A job takes a ticket; tickets start in the
order they were taken (FIFO), at most ``slots`` at a time (``MML7_TRAINING_SLOTS``,
default 1: on a two-core server a second training at once raises the peak memory and
saves little time; bench/training_queue.py). While a job waits, its page shows
how many jobs are ahead of it; a session that leaves (Streamlit stops its script at the
next ``st`` call while it waits) gives its place back.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Callable, Iterator

import streamlit as st

SLOTS_VARIABLE = "MML7_TRAINING_SLOTS"
DEFAULT_SLOTS = 1
POLL_SECONDS = 0.5


class TicketQueue:
    """At most ``slots`` jobs at a time, the others waiting in the order they came.

    >>> queue = TicketQueue(1)
    >>> with queue.slot():
    ...     queue.running
    1
    """

    def __init__(self, slots: int):
        if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
            raise ValueError(f"slots must be a whole number >= 1, got {slots!r}")
        self.slots = slots
        self._condition = threading.Condition()
        self._tickets = itertools.count()
        self._waiting: list[int] = []  # tickets in the order they were taken
        self._running: set[int] = set()

    @property
    def running(self) -> int:
        with self._condition:
            return len(self._running)

    @property
    def waiting(self) -> int:
        with self._condition:
            return len(self._waiting)

    def ahead(self, ticket: int) -> int:
        """Jobs ahead of a waiting ``ticket``: those running and those that came earlier."""
        with self._condition:
            return len(self._running) + self._waiting.index(ticket)

    def _take(self) -> int:
        with self._condition:
            ticket = next(self._tickets)
            self._waiting.append(ticket)
            return ticket

    def _start(self, ticket: int, timeout: float) -> bool:
        """Move ``ticket`` from waiting to running once it is first and a slot is free;
        False if that did not happen within ``timeout`` seconds."""
        with self._condition:
            ready = self._condition.wait_for(
                lambda: self._waiting[0] == ticket and len(self._running) < self.slots,
                timeout,
            )
            if ready:
                self._waiting.pop(0)
                self._running.add(ticket)
            return ready

    def _finish(self, ticket: int) -> None:
        """Give the place or the slot of ``ticket`` back, whichever it holds."""
        with self._condition:
            if ticket in self._running:
                self._running.remove(ticket)
            elif ticket in self._waiting:
                self._waiting.remove(ticket)
            self._condition.notify_all()

    @contextlib.contextmanager
    def slot(
        self, on_wait: Callable[[int], None] | None = None, poll: float = POLL_SECONDS
    ) -> Iterator[None]:
        """Wait for a slot (calling ``on_wait(jobs ahead)`` every ``poll`` seconds while
        waiting), run the ``with`` body in it, then free it. An exception while waiting
        (the session left) or in the body gives the place or the slot back."""
        ticket = self._take()
        try:
            timeout = 0.0  # a free slot starts at once; otherwise say so before waiting
            while not self._start(ticket, timeout):
                if on_wait is not None:
                    on_wait(self.ahead(ticket))
                timeout = poll
            yield
        finally:
            self._finish(ticket)


def slots_from_environment(environ=os.environ) -> int:
    """The slot count in ``MML7_TRAINING_SLOTS`` (default 1).

    Raises:
        ValueError: the variable is set but not a whole number >= 1.
    """
    text = environ.get(SLOTS_VARIABLE, "").strip()
    if not text:
        return DEFAULT_SLOTS
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{SLOTS_VARIABLE} must be a whole number >= 1, got {text!r}")
    return int(text)


QUEUE = TicketQueue(slots_from_environment())


def waiting_message(ahead: int, label: str, slots: int) -> str:
    jobs = "1 job" if ahead == 1 else f"{ahead} jobs"
    at_once = "one training job" if slots == 1 else f"{slots} training jobs"
    return (
        f"Waiting for a training slot: {jobs} ahead of you. This server runs {at_once} at "
        f"a time, in the order they were started; {label} begins when a slot is free."
    )


@contextlib.contextmanager
def training_slot(label: str, queue: TicketQueue | None = None) -> Iterator[None]:
    """Run the ``with`` body in a training slot of this server, showing the place in the
    queue (updated as it moves) while waiting. ``label`` names the job for the message."""
    queue = queue or QUEUE
    notice = st.empty()

    def show(ahead: int) -> None:
        notice.info(waiting_message(ahead, label, queue.slots))

    with queue.slot(show):
        notice.empty()
        yield
