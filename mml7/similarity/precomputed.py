"""The built-in galleries' retrieval scores and few-label probes, measured once and shipped.

Comparing the representations of a built-in gallery takes about 15 s on 2 cores (the
raw-pixel probe alone about 9 s; every image as a query, about 30 s), the same numbers for
every visitor. ``python -m mml7 measure similarity`` (``precompute``) measures them for
every built-in gallery, fast representation, metric and query count and writes
``PRECOMPUTED_FILE``, which ships with the package; the page reads them (``scores``,
``probe``) and measures only what the file lacks (uploads, the slow ImageNet features).

A representation learned from shipped weights is stored with a digest of its weights
file, so retrained weights make its figures stale (the page measures them again) rather
than wrong.
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

from mml7 import shipped
from mml7.errors import DatasetUnavailable
from mml7.progress import Progress, scaled
from mml7.similarity.galleries import GALLERIES, load_gallery
from mml7.similarity.index import METRICS, query_sample
from mml7.similarity.representations import (
    REPRESENTATIONS,
    fit_representation,
    representation_status,
)
from mml7.similarity.scores import few_label_probe, retrieval_scores

PRECOMPUTED_FILE = Path(__file__).with_name("builtin_scores.json")
# The page's query counts: 1,000 queries (seed 0) and every image (None).
QUERY_COUNTS = (1000, None)
# The page's few-label probe.
PROBE_PER_CLASS, PROBE_REPEATS = (10, 100), 3


def _key(*parts) -> str:
    return json.dumps(list(parts))


def weights_digest(representation: str) -> str | None:
    """A digest of the shipped weights a representation is computed from, "" for one
    that uses none (pixels, PCA), None when they are missing."""
    spec = REPRESENTATIONS[representation]
    if spec.module != "mml7.autoencoders":
        return ""
    from mml7 import autoencoders

    made = spec.make()
    return shipped.files_digest(autoencoders.weights_path(made.kind, made.code_size))


@functools.lru_cache(maxsize=2)
def _record(path: str, modified: float) -> dict:
    return json.loads(Path(path).read_text())


def _stored(section: str, key: str, representation: str, path: Path | None):
    path = Path(path or PRECOMPUTED_FILE)
    if not path.exists():
        return None
    found = _record(str(path), path.stat().st_mtime).get(section, {}).get(key)
    if found is None or found["weights"] != weights_digest(representation):
        return None
    return found["value"]


def scores(
    gallery: str, representation: str, metric: str, num_queries: int | None, path=None
) -> dict | None:
    """``retrieval_scores`` of a built-in gallery as the page asks for them, if stored."""
    return _stored(
        "scores", _key(gallery, representation, metric, num_queries), representation, path
    )


def probe(gallery: str, representation: str, path=None) -> dict | None:
    """``few_label_probe`` of a built-in gallery at the page's settings, if stored (its
    keys back to ints)."""
    found = _stored("probes", _key(gallery, representation), representation, path)
    return None if found is None else {int(count): row for count, row in found.items()}


def _available(gallery: str) -> bool:
    try:
        load_gallery(gallery)
    except DatasetUnavailable:
        return False
    return True


def precompute(
    galleries=GALLERIES, path: Path | None = None, progress: Progress | None = None
) -> dict:
    """Measure every available built-in gallery with every fast representation that can be
    computed here (both metrics, both query counts, and the probe) and write ``path``."""
    path = Path(path or PRECOMPUTED_FILE)
    record = {"scores": {}, "probes": {}, "seconds": {}}
    usable = [
        name
        for name, spec in REPRESENTATIONS.items()
        if not spec.slow and representation_status(name) is None
    ]
    jobs = [(gallery, name) for gallery in galleries if _available(gallery) for name in usable]
    for index, (gallery, name) in enumerate(jobs):
        began = time.perf_counter()
        part = scaled(progress, index / len(jobs), (index + 1) / len(jobs), f"{gallery}, {name}: ")
        found = load_gallery(gallery)
        vectors = fit_representation(name, found.images).transform(found.images)
        digest = weights_digest(name)
        for metric in METRICS:
            for count in QUERY_COUNTS:
                queries = query_sample(len(found.labels), count, seed=0)
                value = retrieval_scores(vectors, found.labels, metric, query_indices=queries)
                record["scores"][_key(gallery, name, metric, count)] = {
                    "value": value,
                    "weights": digest,
                }
        value = few_label_probe(
            vectors, found.labels, per_class=PROBE_PER_CLASS, repeats=PROBE_REPEATS, progress=part
        )
        record["probes"][_key(gallery, name)] = {"value": value, "weights": digest}
        record["seconds"][f"{gallery}, {name}"] = round(time.perf_counter() - began, 1)
    path.write_text(json.dumps(record, indent=1, default=float) + "\n")
    return record
