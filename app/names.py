"""Names that come from a user's files (class folders, file names), made safe for
Streamlit markdown: shown as typed, never read as markup or HTML.

>>> plain("**cats** :red[x]")
'\\\\*\\\\*cats\\\\*\\\\* \\\\:red\\\\[x\\\\]'
"""

from __future__ import annotations

import html
import re

# Markdown, and Streamlit's :colour[...], :icon: and $maths$, read these characters.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:<>&])")
_MARKDOWN_BUT_ENTITIES = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:])")


def plain(text) -> str:
    """``text`` escaped for markdown without HTML (captions, headers, st.markdown)."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def plain_html(text) -> str:
    """``text`` escaped for markdown with ``unsafe_allow_html=True``: HTML entities for
    ``<>&``, backslashes for the markdown characters."""
    return _MARKDOWN_BUT_ENTITIES.sub(r"\\\1", html.escape(str(text), quote=False))
