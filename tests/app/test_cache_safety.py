"""The shared-object check itself: it must see a mutated Keras model."""

import keras
import numpy as np

from app import cache as app_cache


def make_model(width: int):
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(width)(inputs))


def test_fingerprint_sees_weight_and_trainable_changes(monkeypatch):
    monkeypatch.setattr(app_cache, "SHARED_RESOURCES", {})
    shared = app_cache.shared_resource(max_entries=2)(make_model)
    model = shared(2)
    assert shared(2) is model  # one object for everybody
    assert app_cache.mutated_shared_resources() == []

    model.predict(np.ones((1, 3)), verbose=0)  # using it is fine
    assert app_cache.mutated_shared_resources() == []

    kernel = model.layers[1].kernel
    kernel.assign(kernel.numpy() + 1.0)  # as a training step on the shared model would
    assert app_cache.mutated_shared_resources() == ["make_model(2,)"]

    kernel.assign(kernel.numpy() - 1.0)
    model.layers[1].trainable = False  # as freezing a shared backbone would
    assert app_cache.mutated_shared_resources() == ["make_model(2,)"]
    shared.clear()


def test_fingerprint_of_plain_objects():
    class Index:
        def __init__(self, vectors):
            self.vectors_ = vectors
            self.metric = "cosine"

    index = Index(np.arange(6.0).reshape(3, 2))
    before = app_cache.fingerprint(index)
    assert app_cache.fingerprint(index) == before
    index.vectors_[0, 0] = 99
    assert app_cache.fingerprint(index) != before


def test_uploads_are_keyed_by_their_digest_not_their_bytes():
    from app.cache import Upload, cached_data

    calls = []

    @cached_data(max_entries=4)
    def size(upload: Upload) -> int:
        calls.append(upload.name)
        return len(upload.data)

    first = Upload.of("a.zip", b"x" * 10)
    assert size(first) == 10 and size(Upload.of("a.zip", b"x" * 10)) == 10
    assert len(calls) == 1  # same bytes, same digest: one computation
    # The key is the digest: bytes that differ behind an equal digest are not read again.
    assert size(Upload("a.zip", first.digest, b"")) == 10 and len(calls) == 1
    assert size(Upload.of("a.zip", b"y" * 12)) == 12 and len(calls) == 2
    size.clear()
