"""Small UI helpers shared by pages (the app layer; mml7 stays UI-free)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

import streamlit as st

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD_BYTES = 1 << 20


@functools.cache
def return_big_blocks_to_the_os() -> bool:
    """Serve every allocation of 1 MiB or more with its own mmap (glibc only; a no-op
    elsewhere), so a freed array goes back to the OS at once.

    glibc raises its mmap threshold each time a big block is freed (up to 32 MiB), after
    which big arrays come from the heap, whose freed space a process seldom gives back:
    the server's peak RSS grew with every page's transient arrays (images, features,
    pickled cache copies). Fixing the threshold, as MALLOC_MMAP_THRESHOLD_ would at start,
    took the served app's peak over every page from 1.37-1.54 GB (three servers) to
    1.24-1.27 GB (five servers, bench/memory.py). Called by the router, which runs before
    every page. Returns whether the setting was applied.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError, TypeError):  # no glibc (macOS, Windows, musl)
        return False


def progress_callback(label: str) -> Callable[[float, str], None]:
    """A ``progress(fraction, message)`` callable for mml7's long work, drawn as a bar."""
    bar = st.progress(0.0, text=label)

    def report(fraction: float, message: str = "") -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=f"{label} {message}".strip())

    return report


UPLOAD_ZIP = "Upload a zip"


def dataset_or_zip(
    column, label: str, names, key: str, upload_key: str
) -> tuple[str, str | None, bytes | None]:
    """A select box of built-in data sets plus "Upload a zip" (with its uploader) in
    ``column``: (name, upload file name, upload bytes), the uploads None for a built-in
    one. Stops the page, with a hint, while the zip is still to come."""
    name = column.selectbox(label, [*names, UPLOAD_ZIP], key=key)
    if name != UPLOAD_ZIP:
        return name, None, None
    file = column.file_uploader("Zip of class folders", type=["zip"], key=upload_key)
    if file is None:
        st.info("Upload a .zip whose top-level folders are class names (cats/1.jpg, ...).")
        st.stop()
    return name, file.name, file.getvalue()


def show_skipped(skipped: list[tuple[str, str]], limit: int = 20) -> None:
    """List upload members that were not used, and why, without hiding the rest."""
    if not skipped:
        return
    with st.expander(f"{len(skipped)} file(s) in the upload were skipped"):
        st.table(
            {"file": [s[0] for s in skipped[:limit]], "reason": [s[1] for s in skipped[:limit]]}
        )
        if len(skipped) > limit:
            st.caption(f"... and {len(skipped) - limit} more.")


def use_router() -> None:
    """Make sure this page runs inside streamlit_app.py's router (call it first thing).

    An app with a ``pages/`` folder starts in Streamlit's legacy multipage mode until the
    router has called ``st.navigation`` once; a server's first visitor arriving by a deep
    link (``/autoencoders``) would get the bare page: raw file names in the sidebar, no page
    config. This switches the mode off and reruns, so the router takes over. It uses a
    Streamlit internal (``PagesManager``) because no public setting does this.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def lazy_tabs(tabs: dict, key: str) -> None:
    """Tabs whose content is drawn only while open: ``tabs`` maps a title to a function
    that draws it; closed tabs cost nothing on a rerun."""
    for tab, draw in zip(
        st.tabs(list(tabs), key=key, on_change="rerun"), tabs.values(), strict=True
    ):
        if tab.open:
            with tab:
                draw()
