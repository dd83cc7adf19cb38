"""Small UI helpers shared by pages (the app layer; mml7 stays UI-free)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st


def progress_callback(label: str) -> Callable[[float, str], None]:
    """A ``progress(fraction, message)`` callable for mml7's long work, drawn as a bar."""
    bar = st.progress(0.0, text=label)

    def report(fraction: float, message: str = "") -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=f"{label} {message}".strip())

    return report


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
