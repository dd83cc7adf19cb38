"""Widgets and messages shared by the pages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

from app.cache import Upload
from mml7.progress import Progress

UPLOAD_ZIP = "Upload a zip"
MAX_REMEMBERED_UPLOADS = 4  # per session: a page has at most a few uploaders


def progress_callback(label: str) -> Progress:
    """A bar driven by mml7's ``progress(fraction, message)``; it stays on the page
    (``progress_bar`` removes it when done). The bar is the callable's ``bar``."""
    bar = st.progress(0.0, text=label)

    def report(fraction: float, message: str = "") -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=f"{label} {message}".strip())

    report.bar = bar
    return report


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Progress]:
    """``progress_callback``'s bar for the length of a ``with`` block, then removed.

    >>> with progress_bar("Training:") as progress:  # doctest: +SKIP
    ...     mml7.segmentation.train_segmenter(..., progress=progress)
    """
    report = progress_callback(label)
    try:
        yield report
    finally:
        report.bar.empty()


def upload_help(what: str) -> str:
    """An uploader's help text: ``what`` it takes, and the server's size limit."""
    return f"{what} At most {st.get_option('server.maxUploadSize')} MB per file."


def upload(file) -> Upload | None:
    """An ``st.file_uploader`` result as an ``Upload``; its digest is computed once per
    uploaded file (remembered in the session by the file's id), not on every rerun."""
    if file is None:
        return None
    digests = st.session_state.setdefault("_upload_digests", {})
    if file.file_id not in digests:
        while len(digests) >= MAX_REMEMBERED_UPLOADS:  # the oldest first
            digests.pop(next(iter(digests)))
        digests[file.file_id] = Upload.of(file.name, file.getvalue())
    return digests[file.file_id]


def dataset_or_zip(
    column,
    label: str,
    names,
    key: str,
    upload_key: str,
    help: str = "A .zip whose top-level folders are class names.",
):
    """A select box of built-in data sets plus "Upload a zip" (with its uploader) in
    ``column``: (name, Upload or None). Stops the page, with a hint, while the zip is
    still to come."""
    name = column.selectbox(label, [*names, UPLOAD_ZIP], key=key)
    if name != UPLOAD_ZIP:
        return name, None
    file = column.file_uploader(
        "Zip of class folders", type=["zip"], key=upload_key, help=upload_help(help)
    )
    if file is None:
        st.info("Upload a .zip whose top-level folders are class names (cats/1.jpg, ...).")
        st.stop()
    return name, upload(file)


def lesson(slide: str, takeaway: str) -> None:
    """What a tab illustrates: the lecture's slide or claim, and the measured takeaway in
    one line with its number (computed or read from a shipped record by the caller,
    never typed in), drawn the same way on every tab so it can be projected in class."""
    st.markdown(
        f":material/co_present: **Slide:** {slide}  \n"
        f":material/insights: **Measured here:** {takeaway}"
    )


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


def lazy_tabs(tabs: dict, key: str) -> None:
    """Tabs whose content is drawn only while open: ``tabs`` maps a title to a function
    that draws it; closed tabs cost nothing on a rerun."""
    for tab, draw in zip(
        st.tabs(list(tabs), key=key, on_change="rerun"), tabs.values(), strict=True
    ):
        if tab.open:
            with tab:
                draw()
