"""The app's caches, in one place: pages call these instead of mml7 directly when the
result is worth keeping between reruns.

``st.cache_resource`` holds shared objects that are never mutated (Keras models,
indexes); ``st.cache_data`` holds arrays and tables (copied per caller). Every argument
that changes a result is part of the key (no leading underscores on such arguments).
"""

from __future__ import annotations

import streamlit as st

from mml7 import data, resources


@st.cache_data(ttl=300, show_spinner=False)
def machine_status() -> list[resources.ResourceStatus]:
    return resources.machine_status()


@st.cache_data(max_entries=2, show_spinner="Loading Fashion-MNIST...")
def fashion_mnist(split: str, limit: int | None = None) -> data.ImageDataset:
    return data.fashion_mnist(split, limit)


@st.cache_data(max_entries=1, show_spinner=False)
def sample_photos() -> dict:
    return data.sample_photos()
