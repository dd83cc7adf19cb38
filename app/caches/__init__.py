"""Cached calls into mml7, one module per feature (``from app.caches import transfer``).

Built-in data sets are named by a plain string, uploads by an ``app.cache.Upload`` (keyed
by its digest). A progress bar inside a cached function is made and removed in there:
Streamlit replays a cached function's elements, and elements made outside it cannot be
replayed.
"""
