"""Training in a child process when this process's Keras backend only runs models.

The served app imports Keras with its NumPy backend, which runs models but cannot train
them: it saves the TensorFlow runtime's memory in the server process (see
``app.router.choose_keras_backend``). A training job then runs here: one short-lived
child process with a backend that trains (``MML7_TRAINING_BACKEND``, default
TensorFlow), which gets the job's function and arguments, sends every progress call back
as it happens and returns the result (Keras models travel by pickling, as ``.keras``
archives, and reload under the parent's backend). Its memory is given back when it exits.
In a process whose backend trains (a notebook, the command line, the tests), ``run`` just
calls the function.

>>> run(divmod, 7, 2)
(3, 1)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

BACKEND_VARIABLE = "MML7_TRAINING_BACKEND"
DEFAULT_TRAINING_BACKEND = "tensorflow"
INFERENCE_ONLY_BACKENDS = ("numpy",)
POLL_SECONDS = 0.2
STDERR_TAIL_CHARS = 2000
# Libraries TensorFlow's Keras imports at its own import only because they are installed
# (pandas: DataFrame inputs; scikit-learn: its estimator wrappers; JAX), none of which a
# training job asks of Keras. The child hides them while it imports Keras: its memory
# before the job falls from 0.74 to 0.51 GB (bench/RESULTS.md). A job that uses one
# (the advisor's cross-validation uses scikit-learn) imports it as usual.
HIDDEN_AT_KERAS_IMPORT = ("jax", "pandas", "sklearn")


class WorkerError(RuntimeError):
    """The training process stopped without an answer (killed, out of memory, crashed)."""


def can_train_here() -> bool:
    """Whether this process's Keras backend can train (every backend but NumPy)."""
    import keras

    return keras.backend.backend() not in INFERENCE_ONLY_BACKENDS


def training_backend(environ=os.environ) -> str:
    """The backend a child trains with: ``MML7_TRAINING_BACKEND``, else TensorFlow."""
    backend = environ.get(BACKEND_VARIABLE, "").strip().lower() or DEFAULT_TRAINING_BACKEND
    if backend in INFERENCE_ONLY_BACKENDS:
        raise ValueError(f"{BACKEND_VARIABLE}={backend!r} cannot train; use tensorflow or jax")
    return backend


def run(function: Callable, *args, callbacks: dict[str, Callable] | None = None, **kwargs):
    """``function(*args, **kwargs, **callbacks)``: here if this process can train, else in
    a child process (``function`` must then be importable by name and its arguments and
    result picklable).

    Args:
        callbacks: keyword arguments that are callables of this process (a progress
            callable, a live-curve drawer). In a child they are stand-ins that send each
            call's arguments back, and the real callable runs here, in order.

    Raises:
        whatever ``function`` raised (re-raised here), or ``WorkerError`` when the child
        died without answering.
    """
    callbacks = callbacks or {}
    if can_train_here():
        return function(*args, **kwargs, **callbacks)
    return _run_in_child(function, args, kwargs, callbacks)


def _child_environment() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[1])  # the folder that holds mml7/
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return {
        **os.environ,
        "KERAS_BACKEND": training_backend(),
        "PYTHONPATH": path,
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
    }


def _run_in_child(function, args, kwargs, callbacks):
    ours, theirs = socket.socketpair()
    with tempfile.TemporaryFile("w+") as stderr, ours, theirs:
        process = subprocess.Popen(
            [sys.executable, "-m", "mml7.worker", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            env=_child_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        theirs.close()
        connection = Connection(ours.detach())
        try:
            connection.send((function, args, kwargs, sorted(callbacks)))
            return _answer(connection, process, callbacks, stderr)
        finally:
            connection.close()
            if process.poll() is None:  # the page was left, or a callback raised
                process.kill()
            process.wait()


def _answer(connection: Connection, process, callbacks: dict, stderr):
    """Relay the child's callback calls until its result or error comes."""
    while True:
        if connection.poll(POLL_SECONDS):
            try:
                kind, *payload = connection.recv()
            except EOFError:
                raise _died(process, stderr) from None
            if kind == "call":
                name, call_args = payload
                callbacks[name](*call_args)
            elif kind == "result":
                return payload[0]
            else:
                raise payload[0]
        elif process.poll() is not None:
            raise _died(process, stderr)


def _died(process, stderr) -> WorkerError:
    process.wait()
    stderr.seek(0)
    tail = stderr.read()[-STDERR_TAIL_CHARS:].strip()
    code = process.returncode
    why = " (killed: out of memory?)" if code in (-9, 137) else ""
    return WorkerError(
        f"The training process stopped with exit code {code}{why} before it finished."
        + (f" Its last output:\n{tail}" if tail else "")
    )


def _serve(fd: int) -> None:
    """The child's side: one job, its callback calls relayed, then its result or error."""
    connection = Connection(fd)
    function, args, kwargs, names = connection.recv()

    def relay(name):
        return lambda *call_args: connection.send(("call", name, call_args))

    try:
        result = function(*args, **kwargs, **{name: relay(name) for name in names})
    except Exception as error:  # the parent re-raises it
        connection.send(("error", _picklable(error)))
    else:
        connection.send(("result", result))
    connection.close()


def _picklable(error: Exception) -> Exception:
    import pickle

    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")


def import_keras_without(names=HIDDEN_AT_KERAS_IMPORT, modules=sys.modules) -> list[str]:
    """Import Keras while the ``names`` not yet imported cannot be (Keras's optional
    imports then skip them), and let them be imported again afterwards. Returns the names
    hidden."""
    hidden = [name for name in names if name not in modules]
    modules.update(dict.fromkeys(hidden))  # None in sys.modules: "import name" fails
    try:
        import keras  # noqa: F401
    finally:
        for name in hidden:
            if modules.get(name, False) is None:
                del modules[name]
    return hidden


if __name__ == "__main__":
    import_keras_without()
    _serve(int(sys.argv[1]))
