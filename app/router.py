"""Process set-up for the served app, and the one place that touches Streamlit internals."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import importlib.util
import os
import sys
import warnings

# Keras backend of the served app when KERAS_BACKEND does not name one: NumPy runs the
# shipped and retrained models without loading the TensorFlow runtime into the server;
# training jobs run in a child process (mml7.worker). bench/RESULTS.md has the figures.
SERVER_BACKEND = "numpy"
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD_BYTES = 1 << 20


def choose_keras_backend(
    environ=os.environ, modules=sys.modules, find_spec=importlib.util.find_spec
) -> str | None:
    """Serve with Keras's NumPy backend unless ``KERAS_BACKEND`` names one or Keras is
    already imported (a test process, a notebook): returns the backend set, else None.
    Without JAX installed (Keras's NumPy backend runs convolutions with ``jax.lax``) the
    server keeps Keras's default, TensorFlow, and trains in its own process.

    Why: ``import tensorflow`` alone makes the server 0.6 GB bigger. NumPy runs every model
    a page shows; what trains (the retrain buttons, the advisor's four strategies) goes
    through ``mml7.worker.run``, which then trains in a short-lived child process.
    """
    # The NumPy backend warns once per decorated function that it computes no gradients;
    # the server never asks it to.
    warnings.filterwarnings("ignore", message="`custom_gradient` for the numpy backend")
    if "keras" in modules or environ.get("KERAS_BACKEND") or find_spec("jax") is None:
        return None
    environ["KERAS_BACKEND"] = SERVER_BACKEND
    return SERVER_BACKEND


def keep_router_in_charge() -> bool:
    """Let ``streamlit_app.py``'s ``st.navigation`` run every page, even a fresh server's
    first visitor's deep link (``/autoencoders``). Returns whether it had to step in.

    Why: Streamlit decides once per process, when the first session starts, whether the
    app is a legacy multipage app: it is when a ``pages/`` folder sits beside the entry
    point (``PagesManager.uses_pages_directory``). In that mode the first run executes the
    requested page script directly, not the entry point, so the router's page list, titles
    and page config are missing; only ``st.navigation`` switches the mode off, and it runs
    in the router. No configuration option, ``st.navigation`` argument or public API does
    this (Streamlit 1.67), and the project's layout keeps ``pages/``. So: when the mode is
    still on, switch it off and rerun, and the rerun goes through the router.

    Guarded: a Streamlit without that attribute degrades to its own behaviour (the legacy
    first run) instead of failing. tests/browser/ has the fresh-server deep-link test that
    fails without this.
    """
    pages_manager = sys.modules.get("streamlit.runtime.pages_manager")  # loaded by a server
    PagesManager = getattr(pages_manager, "PagesManager", None)  # noqa: N806
    if getattr(PagesManager, "uses_pages_directory", None) is not True:
        return False
    PagesManager.uses_pages_directory = False
    import streamlit as st

    st.rerun()
    return True  # not reached: st.rerun() ends this run


@functools.cache
def return_big_blocks_to_the_os() -> bool:
    """Serve every allocation of 1 MiB or more with its own mmap (glibc only; a no-op
    elsewhere), so a freed array goes back to the OS at once.

    glibc raises its mmap threshold each time a big block is freed (up to 32 MiB), after
    which big arrays come from the heap, whose freed space a process seldom gives back: the
    server's peak RSS grew with every page's transient arrays (images, features, pickled
    cache copies). Fixing the threshold is what ``MALLOC_MMAP_THRESHOLD_`` would do at
    start; bench/memory.py measures the effect. Called by the router, which runs before
    every page. Returns whether the setting was applied.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError, TypeError):  # no glibc (macOS, Windows, musl)
        return False


# Libraries whose objects live as long as the process once imported (modules, graphs,
# shared models), and the ones already frozen.
LONG_LIVED = ("tensorflow", "keras", "jax", "sklearn", "plotly", "pandas", "scipy")
_FROZEN_WITH: set[str] = set()


def freeze_long_lived_objects() -> bool:
    """After a run that imported a library of ``LONG_LIVED``, move every object alive now
    out of the garbage collector's sight (``gc.freeze``). Returns whether it froze.

    Why: after every script run Streamlit calls ``gc.collect()`` and, once Keras is
    imported, ``keras.backend.clear_session()``, which collects again. With TensorFlow
    loaded that is about 470,000 objects, 0.24 s per collection on 2 cores, half a second
    of every rerun during which the server holds the GIL and the page waits. Frozen,
    they are never scanned again: a collection then takes under a millisecond. What
    is frozen is what those imports and the run's caches hold; the run's own garbage was
    collected just before. Called by the router at the end of every run; it freezes only
    when a new long-lived library appeared, a few times per process.
    """
    loaded = {name for name in LONG_LIVED if name in sys.modules}
    if loaded <= _FROZEN_WITH:
        return False
    gc.collect()
    gc.freeze()
    _FROZEN_WITH.update(loaded)
    return True
