"""Error types that carry a message meant for a person."""


class InputError(ValueError):
    """User-supplied input (an upload, a parameter) that mml7 cannot use.

    The message says what was wrong and what is accepted; pages show it as it is.
    """


class DatasetUnavailable(RuntimeError):
    """A data set is neither on this machine nor downloadable right now.

    The message says how to get it.
    """
