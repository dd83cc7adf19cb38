"""The training queue (app/jobs.py) without Streamlit: threads stand in for sessions."""

import threading
import time

import pytest

from app import jobs

WAIT = 10.0  # seconds a test waits for a thread before failing


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.005)


def start(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def test_at_most_slots_jobs_run_at_once_and_every_job_runs():
    queue = jobs.TicketQueue(2)
    lock, running, most, done = threading.Lock(), [0], [0], []

    def job(number):
        with queue.slot(poll=0.01):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1
                done.append(number)

    threads = [start(job, number) for number in range(6)]
    for thread in threads:
        thread.join(WAIT)
    assert sorted(done) == list(range(6))
    assert most[0] == 2
    assert queue.running == 0 and queue.waiting == 0


def test_jobs_start_in_the_order_they_came():
    queue = jobs.TicketQueue(1)
    order = []

    def job(number):
        with queue.slot(poll=0.01):
            order.append(number)

    threads = []
    with queue.slot():  # hold the only slot while the others queue up one by one
        for number in range(5):
            threads.append(start(job, number))
            wait_for(lambda n=number: queue.waiting == n + 1, f"job {number} queued")
        assert order == []
    for thread in threads:
        thread.join(WAIT)
    assert order == [0, 1, 2, 3, 4]


def test_waiting_jobs_are_told_how_many_jobs_are_ahead_as_the_queue_moves():
    queue = jobs.TicketQueue(1)
    seen = {"first": [], "second": []}
    release_first = threading.Event()

    def job(name, hold: threading.Event | None):
        with queue.slot(lambda ahead: seen[name].append(ahead), poll=0.01):
            if hold is not None:
                hold.wait(WAIT)

    holder = threading.Event()
    owner = start(job, "owner", holder)
    wait_for(lambda: queue.running == 1, "the owner runs")
    seen["owner"] = []
    first = start(job, "first", release_first)
    wait_for(lambda: queue.waiting == 1, "the first job waits")
    second = start(job, "second", None)
    wait_for(lambda: len(seen["second"]) >= 2, "the second job was told its place")
    holder.set()  # the owner finishes: the first job runs, the second is next
    owner.join(WAIT)
    wait_for(lambda: queue.running == 1 and queue.waiting == 1, "the first job runs")
    count = len(seen["second"])
    wait_for(lambda: len(seen["second"]) > count + 1, "the second job was told again")
    release_first.set()
    first.join(WAIT)
    second.join(WAIT)
    # (0 only in the instant between a job's end and the next one's start)
    assert seen["first"][0] == 1 and set(seen["first"]) <= {0, 1}  # the owner was ahead
    assert seen["second"][0] == 2 and 1 in seen["second"]  # owner + first, then first
    assert seen["second"] == sorted(seen["second"], reverse=True)
    assert seen["owner"] == []  # a free slot starts at once, without a message


def test_an_exception_in_the_job_frees_its_slot():
    queue = jobs.TicketQueue(1)
    with pytest.raises(RuntimeError, match="training failed"), queue.slot():
        raise RuntimeError("training failed")
    assert queue.running == 0
    with queue.slot():  # the next job gets the slot at once
        assert queue.running == 1


class SessionLeft(Exception):
    """Stands in for Streamlit's StopException, raised at the waiting page's next st call."""


def test_a_session_that_leaves_while_waiting_gives_its_place_back():
    queue = jobs.TicketQueue(1)
    errors, started = [], threading.Event()

    def leaving(ahead):
        raise SessionLeft

    def leaver():
        try:
            with queue.slot(leaving, poll=0.01):
                errors.append("the job ran although its session left")
        except SessionLeft:
            errors.append("left")

    def later():
        with queue.slot(poll=0.01):
            started.set()

    with queue.slot():
        start(leaver).join(WAIT)
        assert errors == ["left"] and queue.waiting == 0
        follower = start(later)
        wait_for(lambda: queue.waiting == 1, "the next job waits")
    follower.join(WAIT)
    assert started.is_set() and queue.running == 0 and queue.waiting == 0


@pytest.mark.parametrize("slots", [0, -1, 1.5, True, "2"])
def test_a_queue_needs_a_whole_number_of_slots(slots):
    with pytest.raises(ValueError, match="whole number >= 1"):
        jobs.TicketQueue(slots)


def test_slots_come_from_the_environment():
    assert jobs.slots_from_environment({}) == jobs.DEFAULT_SLOTS
    assert jobs.slots_from_environment({jobs.SLOTS_VARIABLE: " 3 "}) == 3
    for bad in ["0", "two", "-1", "1.5"]:
        with pytest.raises(ValueError, match=jobs.SLOTS_VARIABLE):
            jobs.slots_from_environment({jobs.SLOTS_VARIABLE: bad})


def test_the_waiting_message_counts_the_jobs_ahead():
    assert jobs.waiting_message(2, "the comparison", 1).startswith(
        "Waiting for a training slot: 2 jobs ahead of you."
    )
    message = jobs.waiting_message(1, "the comparison", 2)
    assert "1 job ahead of you" in message and "2 training jobs at a time" in message
