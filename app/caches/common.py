"""Caches several pages share: the machine's resources, Fashion-MNIST, sample photos."""

from __future__ import annotations

import streamlit as st

from app.cache import read_only, shared_resource
from mml7 import data, resources


@st.cache_data(ttl=300, show_spinner=False)
def machine_status() -> list[resources.ResourceStatus]:
    return resources.machine_status()


@shared_resource(max_entries=2, show_spinner="Loading Fashion-MNIST...")
def fashion_mnist(split: str, limit: int | None = None) -> data.ImageDataset:
    """Fashion-MNIST, read-only and shared by every session (never copied)."""
    return read_only(data.fashion_mnist(split, limit))


@st.cache_data(max_entries=1, show_spinner=False)
def sample_photos() -> dict:
    return data.sample_photos()
