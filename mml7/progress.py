"""One progress protocol for every long piece of mml7 work.

Long functions take an optional ``progress(fraction, message)`` callable: ``fraction`` in
[0, 1] of the whole call, ``message`` a short text for a person. mml7 never draws
anything; a page passes a callable that moves a Streamlit bar, the command line one that
prints, a notebook ``None``.

>>> seen = []
>>> part = scaled(lambda f, m: seen.append((round(f, 2), m)), 0.5, 1.0, "second half: ")
>>> part(0.5, "halfway")
>>> seen
[(0.75, 'second half: halfway')]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np

Progress = Callable[[float, str], None]


def report(progress: Progress | None, fraction: float, message: str = "") -> None:
    """Call ``progress`` (if any) with ``fraction`` clipped to [0, 1]."""
    if progress is not None:
        progress(min(max(float(fraction), 0.0), 1.0), message)


def scaled(
    progress: Progress | None, start: float, stop: float, prefix: str = ""
) -> Progress | None:
    """A progress callable for one part of a larger job: its [0, 1] maps to
    [``start``, ``stop``] of ``progress``, its messages get ``prefix``. None stays None."""
    if progress is None:
        return None

    def part(fraction: float, message: str = "") -> None:
        report(progress, start + (stop - start) * float(fraction), f"{prefix}{message}")

    return part


def step(progress: Progress | None, index: int, count: int, prefix: str = "") -> Progress | None:
    """``scaled`` for part ``index`` of ``count`` equal parts (e.g. one model of several)."""
    return scaled(progress, index / count, (index + 1) / count, prefix)


def batches(
    items: np.ndarray, batch_size: int, progress: Progress | None = None, what: str = "images"
) -> Iterator[np.ndarray]:
    """Yield ``items`` in batches, reporting "done of total <what>" after each one."""
    total = len(items)
    for start in range(0, total, batch_size):
        yield items[start : start + batch_size]
        done = min(start + batch_size, total)
        report(progress, done / max(total, 1), f"{done:,} of {total:,} {what}")


def keras_callback(
    progress: Progress | None = None,
    epochs: int = 1,
    steps_per_epoch: int | None = None,
    label: str = "",
    on_epoch_end: Callable[[int, dict], None] | None = None,
):
    """The one Keras callback that reports training to a ``Progress`` (see ``KerasProgress``).

    A function so that importing this module does not import Keras.
    """
    import keras

    class KerasProgress(keras.callbacks.Callback):
        """Reports ``progress(fraction, "label epoch e/E, loss L")`` after every batch (when
        ``steps_per_epoch`` is given) or every epoch, records each epoch's seconds in
        ``epoch_seconds`` and its logs in ``history``, and forwards
        ``on_epoch_end(epoch, history)`` (for live curves)."""

        def __init__(self):
            super().__init__()
            self.epoch_seconds: list[float] = []
            self.history: dict[str, list[float]] = {}
            self._epoch, self._started = 0, 0.0

        def _report(self, done: float, logs) -> None:
            loss = (logs or {}).get("loss")
            text = f"{label} epoch {self._epoch + 1}/{epochs}".strip()
            report(progress, done, text + (f", loss {float(loss):.4f}" if loss is not None else ""))

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch, self._started = epoch, time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            if steps_per_epoch:
                steps = max(int(steps_per_epoch), 1)
                self._report((self._epoch * steps + batch + 1) / (epochs * steps), logs)

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_seconds.append(time.perf_counter() - self._started)
            for key, value in (logs or {}).items():
                self.history.setdefault(key, []).append(float(value))
            if not steps_per_epoch:
                self._report((epoch + 1) / epochs, logs)
            if on_epoch_end is not None:
                on_epoch_end(epoch, {key: list(values) for key, values in self.history.items()})

    return KerasProgress()


def printer(stream=None) -> Progress:
    """A ``Progress`` that prints "[ 42.0%] message" lines (the command line's)."""
    import sys

    def progress(fraction: float, message: str = "") -> None:
        print(f"[{fraction:6.1%}] {message}", file=stream or sys.stdout, flush=True)

    return progress
