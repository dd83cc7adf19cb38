"""Error types that carry a message meant for a person, and the one check of a name."""

from __future__ import annotations

from collections.abc import Iterable


class InputError(ValueError):
    """User-supplied input (an upload, a parameter, a name) that mml7 cannot use.

    The message says what was wrong and what is accepted; pages show it as it is. A
    ``ValueError``, so code that catches ``ValueError`` for bad arguments still works.
    """


class DatasetUnavailable(RuntimeError):
    """A data set is neither on this machine nor downloadable right now.

    The message says how to get it.
    """


def check_choice(value, allowed: Iterable[str], what: str, lower: bool = True) -> str:
    """``value`` as one of ``allowed`` (lower-cased first unless ``lower`` is False).

    The one check for a name a user passed (a mode, a kind, a metric, a data set): a bad
    one raises ``InputError`` that lists what is accepted.

    >>> check_choice("Max", ("nearest", "max"), "unpooling")
    'max'
    """
    allowed = tuple(allowed)
    name = str(value).lower() if lower else str(value)
    if name not in allowed:
        raise InputError(f"{what} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return name
