"""The app's caches, in one place: pages call these instead of mml7 directly when the
result is worth keeping between reruns.

``shared_resource`` (``st.cache_resource``) holds objects shared by every session and never
mutated (Keras models, indexes); ``st.cache_data`` holds arrays and tables (copied per
caller). Every argument that changes a result is part of the key (no leading underscores
on such arguments). Use ``@shared_resource(max_entries=...)`` for Keras models: it also
records each object so tests/test_cache_safety.py can check no page mutates one.
"""

from __future__ import annotations

import functools

import streamlit as st

from mml7 import data, resources

# (function name, args, kwargs) -> the shared object; read by the cache-safety test.
SHARED_RESOURCES: dict[tuple, object] = {}


def shared_resource(**cache_kwargs):
    """``st.cache_resource`` that also records what it hands out (see SHARED_RESOURCES)."""

    def decorate(function):
        @st.cache_resource(**cache_kwargs)
        @functools.wraps(function)
        def cached(*args, **kwargs):
            value = function(*args, **kwargs)
            SHARED_RESOURCES[(function.__name__, args, tuple(sorted(kwargs.items())))] = value
            return value

        return cached

    return decorate


@st.cache_data(ttl=300, show_spinner=False)
def machine_status() -> list[resources.ResourceStatus]:
    return resources.machine_status()


@st.cache_data(max_entries=2, show_spinner="Loading Fashion-MNIST...")
def fashion_mnist(split: str, limit: int | None = None) -> data.ImageDataset:
    return data.fashion_mnist(split, limit)


@st.cache_data(max_entries=1, show_spinner=False)
def sample_photos() -> dict:
    return data.sample_photos()
