"""Files the served app hands to the browser by URL (Streamlit's static file serving),
instead of inside every message.

The latent-space scatter is a self-contained HTML page in an iframe, and Plotly.js is
4.8 MB of it: inlined, every draw of that tab sent 6 MB over the websocket and the browser
parsed Plotly.js anew. Served from ``static/`` (``server.enableStaticServing`` in
``.streamlit/config.toml``), the browser fetches it once and caches it, and a draw sends
the figure alone (1.3 MB, most of it the sprite sheet of 2,000 images).
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"  # beside streamlit_app.py


@functools.cache
def plotly_js() -> str | bool:
    """What ``figure.to_html(include_plotlyjs=...)`` should get: the relative URL of
    Plotly.js in ``static/`` (written there once per Plotly version), or True (inline it)
    when static serving is off or the folder cannot be written."""
    import plotly
    import streamlit as st

    if not st.get_option("server.enableStaticServing"):
        return True
    name = f"plotly-{plotly.__version__}.min.js"
    path = STATIC_DIR / name
    try:
        if not path.exists():
            from plotly.offline import get_plotlyjs

            STATIC_DIR.mkdir(exist_ok=True)
            # Another process may write it at the same time: write aside, then rename.
            handle, temporary = tempfile.mkstemp(dir=STATIC_DIR, suffix=".part")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(get_plotlyjs())
            os.replace(temporary, path)
    except OSError:
        return True
    # Relative to the page (http://host/<base>/<page>): Streamlit serves static/ at
    # <base>/app/static/, and an iframe's srcdoc resolves URLs against its parent.
    return f"app/static/{name}"
