"""Files the served app hands to the browser by URL (Streamlit's static file serving),
instead of inside every message.

The latent-space scatter is a self-contained HTML page in an iframe, and Plotly.js is
4.8 MB of it: inlined, every draw of that tab sent 6 MB over the websocket and the browser
parsed Plotly.js anew. Served from ``static/`` (``server.enableStaticServing`` in
``.streamlit/config.toml``), the browser fetches it once and caches it. So is the sprite
sheet of the plotted images (1.1 MB for 2,000, 5.5 MB for 10,000 as a data URI), which
depends on the images alone: a draw, such as another model's codes, sends the figure's
points alone.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"  # beside streamlit_app.py


@functools.cache
def plotly_js() -> str | bool:
    """What ``figure.to_html(include_plotlyjs=...)`` should get: the relative URL of
    Plotly.js in ``static/`` (written there once per Plotly version), or True (inline it)
    when static serving is off or the folder cannot be written."""
    import plotly

    def write(out) -> None:
        from plotly.offline import get_plotlyjs

        out.write(get_plotlyjs().encode("utf-8"))

    return served(f"plotly-{plotly.__version__}.min.js", write) or True


def png(prefix: str, data: bytes) -> str | None:
    """The relative URL of the PNG ``data`` in ``static/``, as ``<prefix>-<digest>.png``
    (the name changes with the content, so a browser's cached copy is never stale); None
    when static serving is off or the folder cannot be written."""
    digest = hashlib.blake2b(data, digest_size=8).hexdigest()
    return served(f"{prefix}-{digest}.png", lambda out: out.write(data))


def served(name: str, write: Callable) -> str | None:
    """The relative URL of ``static/<name>``, written by ``write(binary file)`` unless it
    is there already; None when static serving is off or the folder cannot be written."""
    import streamlit as st

    if not st.get_option("server.enableStaticServing"):
        return None
    path = STATIC_DIR / name
    try:
        if not path.exists():
            STATIC_DIR.mkdir(exist_ok=True)
            # Another process may write it at the same time: write aside, then rename.
            handle, temporary = tempfile.mkstemp(dir=STATIC_DIR, suffix=".part")
            with os.fdopen(handle, "wb") as out:
                write(out)
            os.replace(temporary, path)
    except OSError:
        return None
    # Relative to the page (http://host/<base>/<page>): Streamlit serves static/ at
    # <base>/app/static/, and an iframe's srcdoc resolves URLs against its parent.
    return f"app/static/{name}"
