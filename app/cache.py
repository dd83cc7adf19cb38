"""The cache decorators every feature's cached calls use, and ``Upload``.

``shared_resource`` (``st.cache_resource``) holds objects shared by every session and never
mutated (Keras models, indexes); ``cached_data`` (``st.cache_data``) holds arrays and
tables (copied per caller). Every argument that changes a result is part of the key (no
leading underscores on such arguments). An ``Upload`` argument is keyed by its digest,
computed once when the file arrives, instead of hashing its bytes on every rerun. Under
test (``MML7_CHECK_SHARED=1``) every shared object is recorded with a fingerprint, so the
test run fails if any page mutates one.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass, field

import numpy as np
import streamlit as st


@dataclass(frozen=True)
class Upload:
    """An uploaded file: its name, a digest of its bytes (the cache key) and the bytes."""

    name: str
    digest: str
    data: bytes = field(repr=False, compare=False)

    @classmethod
    def of(cls, name: str, data: bytes) -> Upload:
        return cls(name, hashlib.blake2b(data, digest_size=16).hexdigest(), data)


# Cached functions hash an Upload by its digest alone (never its bytes).
HASH_FUNCS = {Upload: lambda upload: (upload.name, upload.digest)}

# (function name, args, kwargs) -> (shared object, its fingerprint when it was made);
# read by mutated_shared_resources() and the cache-safety test.
SHARED_RESOURCES: dict[tuple, tuple[object, str]] = {}


def fingerprint(value, depth: int = 0) -> str:
    """A digest of what a shared object holds: Keras weights and trainable flags, NumPy
    arrays and plain values, following attributes a few levels deep."""
    digest = hashlib.sha1()

    def feed(item, level):
        if level > 3:
            return
        if hasattr(item, "get_weights") and hasattr(item, "layers"):  # a Keras model
            for weight in item.get_weights():
                digest.update(np.ascontiguousarray(weight).tobytes())
            digest.update(repr([layer.trainable for layer in item.layers]).encode())
        elif isinstance(item, np.ndarray):
            digest.update(np.ascontiguousarray(item).tobytes())
        elif isinstance(item, (str, int, float, bool, type(None))):
            digest.update(repr(item).encode())
        elif isinstance(item, (list, tuple)):
            for element in item:
                feed(element, level + 1)
        elif isinstance(item, dict):
            for key in sorted(item, key=repr):
                digest.update(repr(key).encode())
                feed(item[key], level + 1)
        elif hasattr(item, "__dict__"):
            feed(vars(item), level + 1)

    feed(value, depth)
    return digest.hexdigest()


def cached_data(**cache_kwargs):
    """``st.cache_data`` with ``Upload`` arguments keyed by their digest."""
    return st.cache_data(hash_funcs=HASH_FUNCS, **cache_kwargs)


def shared_resource(**cache_kwargs):
    """``st.cache_resource`` (``Upload`` keyed by digest) that, with ``MML7_CHECK_SHARED=1``
    (the tests set it), also records what it hands out with a fingerprint, so
    ``mutated_shared_resources`` can tell whether any session changed a shared object."""

    def decorate(function):
        @st.cache_resource(hash_funcs=HASH_FUNCS, **cache_kwargs)
        @functools.wraps(function)
        def cached(*args, **kwargs):
            value = function(*args, **kwargs)
            if os.environ.get("MML7_CHECK_SHARED"):  # tests only: it keeps a reference
                key = (function.__name__, args, tuple(sorted(kwargs.items())))
                SHARED_RESOURCES[key] = (value, fingerprint(value))
            return value

        return cached

    return decorate


def read_only(dataset):
    """``dataset`` (an ``ImageDataset``) with its arrays made read-only, to be shared by
    ``shared_resource`` instead of copied on every call (Fashion-MNIST's 60,000 training
    images are 188 MB: ``cached_data`` would unpickle a new copy for each caller)."""
    for array in (dataset.images, dataset.labels):
        array.setflags(write=False)
    return dataset


def mutated_shared_resources() -> list[str]:
    """Names of shared objects whose content changed since they were made (should be [])."""
    return [
        f"{name}{args}"
        for (name, args, _), (value, made) in SHARED_RESOURCES.items()
        if fingerprint(value) != made
    ]
