"""mml7.similarity: exact search against scikit-learn, chunking, HNSW recall, retrieval
scores and the probe on hand-made examples, representations and upload queries."""

import importlib.util
import json

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from mml7 import InputError, data, similarity
from mml7.similarity import SimilarImageIndex
from mml7.similarity.scores import stable_order
from tests.helpers import png_bytes, zip_bytes


@pytest.fixture
def points():
    rng = np.random.default_rng(0)
    return rng.normal(size=(120, 6)).astype(np.float32), rng.normal(size=(9, 6)).astype(np.float32)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("leave_one_out", [False, True])
@pytest.mark.parametrize("chunk_size", [None, 1, 7])
def test_exact_equals_sklearn_brute(points, metric, leave_one_out, chunk_size):
    gallery, queries = points
    queries = None if leave_one_out else queries
    expected_d, expected_i = (
        NearestNeighbors(n_neighbors=5, metric=metric, algorithm="brute")
        .fit(gallery)
        .kneighbors(queries)
    )
    index = SimilarImageIndex(metric, n_neighbors=5, chunk_size=chunk_size).fit(gallery)
    distances, indices = index.kneighbors(queries)
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, expected_d, atol=2e-6)
    assert distances.dtype == np.float32 and indices.dtype == np.int64


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_chunking_does_not_change_results(points, metric):
    gallery, _ = points
    whole = SimilarImageIndex(metric, 10, chunk_size=len(gallery)).fit(gallery).kneighbors()
    for chunk_size in (1, 3, 50):
        chunked = SimilarImageIndex(metric, 10, chunk_size=chunk_size).fit(gallery).kneighbors()
        np.testing.assert_array_equal(chunked[1], whole[1])
        np.testing.assert_allclose(chunked[0], whole[0], atol=1e-6)


def test_hand_typed_neighbours():
    line = np.array([[0.0], [1.0], [3.0], [7.0]])
    distances, indices = SimilarImageIndex("euclidean", 2).fit(line).kneighbors([[2.5]])
    np.testing.assert_array_equal(indices, [[2, 1]])
    np.testing.assert_allclose(distances, [[0.5, 1.5]])
    # Cosine ignores length: (5, 0) is the same direction as (1, 0).
    arrows = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    distances, indices = SimilarImageIndex("cosine", 3).fit(arrows).kneighbors([[5.0, 0.0]])
    np.testing.assert_array_equal(indices, [[0, 2, 1]])
    np.testing.assert_allclose(distances, [[0.0, 1 - np.sqrt(0.5), 1.0]], atol=1e-6)


def test_all_neighbours_and_zero_vector():
    gallery = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    distances, indices = SimilarImageIndex("cosine", 3).fit(gallery).kneighbors([[1.0, 0.0]])
    # The zero vector has cosine distance 1 to everything, as in scikit-learn.
    np.testing.assert_allclose(distances, [[0.0, 1.0, 1.0]], atol=1e-6)
    assert indices[0, 0] == 1 and sorted(indices[0]) == [0, 1, 2]


def test_bad_arguments():
    gallery = np.eye(3)
    with pytest.raises(InputError, match="metric must be one of 'cosine', 'euclidean'"):
        SimilarImageIndex("manhattan").fit(gallery)
    with pytest.raises(InputError, match="algorithm must be one of 'exact', 'hnsw'"):
        SimilarImageIndex(algorithm="ball_tree").fit(gallery)
    index = SimilarImageIndex("euclidean").fit(gallery)
    with pytest.raises(InputError, match="between 1 and 2"):
        index.kneighbors(n_neighbors=3)  # leave-one-out leaves 2
    with pytest.raises(InputError, match="2 features but the gallery has 3"):
        index.kneighbors(np.ones((1, 2)))
    with pytest.raises(InputError, match="NaN"):
        SimilarImageIndex().fit([[np.nan, 1.0]])
    with pytest.raises(ValueError, match="not fitted"):
        SimilarImageIndex().kneighbors(gallery)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_hnsw_recall_and_leave_one_out(metric):
    pytest.importorskip("faiss")
    rng = np.random.default_rng(1)
    gallery = rng.normal(size=(2000, 16)).astype(np.float32)
    exact = SimilarImageIndex(metric, 10).fit(gallery).kneighbors()
    approximate = SimilarImageIndex(metric, 10, algorithm="hnsw").fit(gallery).kneighbors()
    assert similarity.recall_at_k(approximate[1], exact[1]) > 0.9
    assert not (approximate[1] == np.arange(len(gallery))[:, None]).any()
    # Distances are the metric's, nearest first, like exact search.
    found = approximate[1][:, 0] == exact[1][:, 0]
    np.testing.assert_allclose(approximate[0][found, 0], exact[0][found, 0], atol=1e-5)
    assert (np.diff(approximate[0], axis=1) >= -1e-6).all()


def test_recall_at_k_hand_made():
    assert similarity.recall_at_k([[1, 2], [3, 4]], [[2, 1], [3, 5]]) == 0.75


def test_precision_and_average_precision_hand_made():
    relevant = np.array([[1, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], dtype=bool)
    assert similarity.precision_at_k(relevant, 1) == pytest.approx(1 / 3)
    assert similarity.precision_at_k(relevant, 2) == pytest.approx(1 / 6)
    # Row 0: relevant at ranks 1 and 3 -> (1/1 + 2/3) / 2; row 1: rank 4 -> 1/4.
    ap = similarity.average_precision(relevant)
    np.testing.assert_allclose(ap[:2], [(1 + 2 / 3) / 2, 0.25])
    assert np.isnan(ap[2])


def test_retrieval_scores_hand_made():
    # Points 0, 1, 3 with labels a, b, a: query 0 ranks 1 (b) then 3 (a) -> AP 1/2;
    # query 1 has no other b (left out of mAP); query 3 ranks 1 (b) then 0 (a) -> AP 1/2.
    scores = similarity.retrieval_scores(
        [[0.0], [1.0], [3.0]], [0, 1, 0], metric="euclidean", ks=(1, 2)
    )
    assert scores["precision@1"] == 0.0
    assert scores["precision@2"] == pytest.approx(1 / 3)
    assert scores["mAP"] == pytest.approx(0.5)
    # Two tight, far-apart clusters retrieve perfectly, whatever the chunking.
    clusters = [[0.0], [0.1], [0.2], [10.0], [10.1], [10.2]]
    for chunk_size in (1, 4):
        perfect = similarity.retrieval_scores(
            clusters, [0, 0, 0, 1, 1, 1], "euclidean", ks=(2,), chunk_size=chunk_size
        )
        assert perfect["precision@2"] == 1.0 and perfect["mAP"] == 1.0


def test_retrieval_scores_match_kneighbors(points):
    gallery, _ = points
    labels = np.arange(len(gallery)) % 3
    _, indices = SimilarImageIndex("cosine", 10).fit(gallery).kneighbors()
    expected = (labels[indices] == labels[:, None]).mean()
    scores = similarity.retrieval_scores(gallery, labels, "cosine", ks=(10,), chunk_size=17)
    assert scores["precision@10"] == pytest.approx(expected)


def test_stable_order_equals_stable_argsort():
    rng = np.random.default_rng(1)
    # Many ties, negative values, both zeros and infinities: the order of every one.
    block = rng.integers(-3, 4, size=(20, 50)).astype(np.float32) / 2
    block[rng.random(block.shape) < 0.1] = -0.0
    block[:, 7] = np.inf
    block[3, 9] = -np.inf
    np.testing.assert_array_equal(stable_order(block), np.argsort(block, axis=1, kind="stable"))
    spread = rng.normal(size=(5, 300)).astype(np.float32)
    np.testing.assert_array_equal(stable_order(spread), np.argsort(spread, axis=1, kind="stable"))


def naive_retrieval_scores(vectors, labels, ks, queries):
    """Squared Euclidean distances in float64, one query at a time, ties by index."""
    vectors, hits, precisions = np.asarray(vectors, dtype=np.float64), dict.fromkeys(ks, 0), []
    for query in queries:
        others = np.delete(np.arange(len(vectors)), query)
        distances = ((vectors[others] - vectors[query]) ** 2).sum(axis=1)
        relevant = labels[others[np.argsort(distances, kind="stable")]] == labels[query]
        for k in ks:
            hits[k] += relevant[:k].sum() / k
        ranks = np.flatnonzero(relevant) + 1
        if len(ranks):
            precisions.append(np.mean(np.arange(1, len(ranks) + 1) / ranks))
    scores = {f"precision@{k}": hits[k] / len(queries) for k in ks}
    return scores | {"mAP": np.mean(precisions), "queries": len(queries)}


@pytest.mark.parametrize("query_indices", [None, [0, 5, 6, 40, 79]])
@pytest.mark.parametrize("chunk_size", [3, 256])
def test_retrieval_scores_equal_naive_reference_with_ties(query_indices, chunk_size):
    # Small integer vectors: exact float32 distances, so many exact ties to break by index.
    rng = np.random.default_rng(2)
    vectors = rng.integers(0, 3, size=(80, 3)).astype(np.float32)
    labels = rng.integers(0, 4, size=80)
    queries = np.arange(80) if query_indices is None else np.array(query_indices)
    expected = naive_retrieval_scores(vectors, labels, (1, 5, 10), queries)
    scores = similarity.retrieval_scores(
        vectors, labels, "euclidean", (1, 5, 10), query_indices, chunk_size
    )
    assert scores == pytest.approx(expected, rel=1e-12)


def test_labelled_subset_and_probe():
    labels = np.repeat([0, 1, 2], [5, 12, 12])
    chosen = similarity.labelled_subset(labels, 4, seed=3)
    np.testing.assert_array_equal(np.bincount(labels[chosen]), [4, 4, 4])
    with pytest.raises(InputError, match="class 0 has 5 images"):
        similarity.labelled_subset(labels, 6)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(labels), 4)) + 20 * labels[:, None]
    results = similarity.few_label_probe(vectors, labels, per_class=(2, 10), repeats=2)
    assert set(results) == {2}  # class 0 cannot supply 10 labelled and a test set
    assert results[2]["accuracy"] == 1.0 and results[2]["test_size"] == len(labels) - 6
    with pytest.raises(InputError, match="at least 2 classes"):
        similarity.few_label_probe(vectors, np.zeros(len(labels), int))


def test_probe_on_separate_test_set():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 30)
    vectors = rng.normal(size=(60, 3)) + 5 * labels[:, None]
    test_labels = np.array([1, 0, 1])
    test_vectors = 5.0 * test_labels[:, None] + np.zeros((3, 3))
    results = similarity.few_label_probe(
        vectors, labels, (10,), repeats=1, test_vectors=test_vectors, test_labels=test_labels
    )
    assert results == {10: {"accuracy": 1.0, "std": 0.0, "test_size": 3}}


def test_pixel_and_pca_representations():
    rng = np.random.default_rng(0)
    images = rng.random((40, 5, 5, 1)).astype(np.float32)
    pixels = similarity.Pixels().transform(images)
    np.testing.assert_array_equal(pixels[3], images[3].ravel())
    pca = similarity.fit_representation("PCA (k=32)", images)
    codes = pca.transform(images)
    assert codes.shape == (40, 25)  # k capped at the 25 pixels
    np.testing.assert_allclose(pca.transform(images[:2]), codes[:2], atol=1e-5)


def test_to_grey_resizes_and_averages_channels():
    images = np.zeros((2, 4, 4, 3), np.float32)
    images[1] = [0.3, 0.6, 0.9]
    grey = similarity.to_grey(images, (8, 8))
    assert grey.shape == (2, 8, 8, 1)
    np.testing.assert_allclose(grey[1], 0.6, atol=1e-3)


def test_representation_status(monkeypatch):
    assert similarity.representation_status("Raw pixels") is None
    assert "unknown representation" in similarity.representation_status("Smell")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name: None if name == "mml7.backbones" else real_find_spec(name),
    )
    reason = similarity.representation_status("ImageNet MobileNet features")
    assert reason.startswith("not available yet")
    with pytest.raises(InputError, match="not available yet"):
        similarity.fit_representation("ImageNet MobileNet features", np.zeros((2, 8, 8, 1)))


@pytest.mark.parametrize(
    ("gallery_shape", "upload"),
    [((28, 28, 1), np.full((40, 30, 3), 200, np.uint8)), ((48, 48, 3), np.zeros((9, 9), np.uint8))],
)
def test_upload_query_is_preprocessed_like_the_gallery(gallery_shape, upload):
    gallery = np.zeros((3, *gallery_shape), np.float32)
    query = similarity.prepare_query("q.png", png_bytes(upload), gallery)
    assert query.shape == (1, *gallery_shape) and query.dtype == np.float32
    np.testing.assert_allclose(query, upload.mean() / 255, atol=1e-6)
    # ... and it can be searched for in the gallery's representation.
    index = SimilarImageIndex("euclidean", 2).fit(similarity.Pixels().transform(gallery))
    assert index.kneighbors(similarity.Pixels().transform(query))[1].shape == (1, 2)


def test_upload_query_errors():
    gallery = np.zeros((3, 28, 28, 1), np.float32)
    # An image-only reader speaks of images, and names a zip as a zip.
    with pytest.raises(InputError, match="'broken.png' is not a readable image"):
        similarity.prepare_query("broken.png", b"\x89PNG not really", gallery)
    two = zip_bytes(
        {"a/1.png": png_bytes(np.zeros((4, 4), np.uint8))}
        | {"a/2.png": png_bytes(np.ones((4, 4), np.uint8))}
    )
    with pytest.raises(InputError, match="'two.zip' is a zip archive; this takes one image"):
        similarity.prepare_query("two.zip", two, gallery)


def test_gallery_upload_needs_two_images():
    one = zip_bytes({"cats/1.png": png_bytes(np.zeros((5, 5, 3), np.uint8))})
    with pytest.raises(InputError, match="a gallery needs at least 2"):
        similarity.read_gallery_upload("one.zip", one)
    two = zip_bytes(
        {
            "cats/1.png": png_bytes(np.zeros((5, 5, 3), np.uint8)),
            "dogs/1.png": png_bytes(np.zeros((7, 3), np.uint8)),
        }
    )
    gallery = similarity.read_gallery_upload("two.zip", two)
    assert gallery.images.shape == (2, 48, 48, 3) and gallery.class_names == ["cats", "dogs"]


@pytest.mark.integration
def test_pixels_cosine_retrieval_on_fashion_mnist(fashion_available):
    """The issue's reference figure: raw pixels with cosine, precision@10 ~0.76."""
    from mml7 import data

    test = data.fashion_mnist("test")
    scores = similarity.retrieval_scores(
        similarity.Pixels().transform(test.images),
        test.labels,
        "cosine",
        ks=(10,),
        query_indices=np.arange(0, 10_000, 10),
    )
    assert 0.72 < scores["precision@10"] < 0.80


@pytest.mark.parametrize(("kind", "code_size"), [("conv", 32), ("denoising", 64)])
def test_autoencoder_codes_use_the_shipped_encoder(kind, code_size, monkeypatch, tmp_path):
    """AE codes = the shipped encoder's output; other galleries are made 28x28 grey first."""
    from mml7 import autoencoders

    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    model = autoencoders.build_autoencoder(kind, code_size)
    monkeypatch.setenv("MML7_WEIGHTS", str(tmp_path))
    name = next(n for n in similarity.REPRESENTATIONS if n.startswith(kind.capitalize()))
    assert "weights" in similarity.representation_status(name)  # nothing saved yet
    model.autoencoder.save_weights(autoencoders.weights_path(kind, code_size))
    assert similarity.representation_status(name) is None
    rng = np.random.default_rng(0)
    images = rng.random((5, 28, 28, 1)).astype(np.float32)
    codes = similarity.fit_representation(name, images).transform(images)
    np.testing.assert_allclose(codes, model.encode(images), atol=1e-5)
    assert codes.shape == (5, code_size)
    colour = rng.random((3, 8, 8, 3)).astype(np.float32)  # e.g. an uploaded gallery
    from_colour = similarity.fit_representation(name, colour).transform(colour)
    expected = model.encode(similarity.to_grey(colour, (28, 28)))
    np.testing.assert_allclose(from_colour, expected, atol=1e-5)


@pytest.mark.integration
def test_imagenet_features_come_from_the_backbone():
    backbones = pytest.importorskip("mml7.backbones")
    reason = backbones.available_backbones()["MobileNet (alpha 0.25)"]
    if reason is not None:
        pytest.skip(reason)
    rng = np.random.default_rng(0)
    images = rng.random((3, 8, 8, 1)).astype(np.float32)
    representation = similarity.ImageNetFeatures(cut="block 3", image_size=32)
    features = representation.fit_transform(images)
    expected = backbones.extract_features(
        images, "MobileNet (alpha 0.25)", cut="block 3", image_size=32
    )
    np.testing.assert_allclose(features, expected, atol=1e-6)
    assert features.shape[0] == 3 and features.dtype == np.float32
    assert representation.slow and similarity.REPRESENTATIONS["ImageNet MobileNet features"].slow


def test_load_gallery_bad_name_lists_the_galleries():
    with pytest.raises(InputError, match="gallery must be one of 'Fashion-MNIST \\(test\\)'"):
        similarity.load_gallery("digits (8x8)")  # names are matched exactly


def test_gallery_pages():
    assert similarity.page_count(0, 24) == 1 and similarity.page_count(49, 24) == 3
    assert similarity.gallery_page(20, 1, per_page=8, columns=3) == [
        range(0, 3),
        range(3, 6),
        range(6, 8),
    ]
    assert similarity.gallery_page(20, 3, per_page=8, columns=3) == [range(16, 19), range(19, 20)]


def test_comparison_tables():
    retrieval = {"A": {"precision@10": 0.5, "mAP": 0.25}, "B": {"precision@10": 1.0, "mAP": 1.0}}
    probes = {"A": {10: {"accuracy": 0.75, "std": 0.0, "test_size": 7}}, "B": {}}
    table, probe = similarity.comparison_tables(retrieval, probes)
    assert list(table.index) == ["A", "B"] and table.loc["B", "mAP"] == 1.0
    assert probe.to_dict("records") == [
        {
            "representation": "A",
            "labelled per class": "10",
            "accuracy": 0.75,
            "std": 0.0,
            "test_size": 7,
        }
    ]
    assert similarity.comparison_tables(retrieval, {})[1].empty


def test_precomputed_scores_equal_a_live_measurement_and_go_stale_with_the_weights(
    tmp_path, monkeypatch
):
    """``python -m mml7 measure similarity`` on the digits gallery: what the page reads
    back equals what it would measure, and other weights make a record stale (None)."""
    from mml7.similarity import precomputed

    monkeypatch.setattr(precomputed, "QUERY_COUNTS", (200,))
    monkeypatch.setattr(precomputed, "PROBE_REPEATS", 1)
    path = tmp_path / "scores.json"
    name = "Digits (8x8)"
    assert precomputed.scores(name, "Raw pixels", "cosine", 200, path) is None  # no file
    record = precomputed.precompute((name,), path)
    assert set(record["seconds"]) >= {f"{name}, Raw pixels", f"{name}, PCA (k=32)"}
    gallery = similarity.load_gallery(name)
    for representation in ("Raw pixels", "PCA (k=32)"):
        vectors = similarity.fit_representation(representation, gallery.images).transform(
            gallery.images
        )
        queries = similarity.query_sample(len(gallery), 200, seed=0)
        live = similarity.retrieval_scores(
            vectors, gallery.labels, "euclidean", query_indices=queries
        )
        assert precomputed.scores(name, representation, "euclidean", 200, path) == live
        probe = similarity.few_label_probe(vectors, gallery.labels, (10, 100), repeats=1)
        assert precomputed.probe(name, representation, path) == probe
    assert precomputed.scores(name, "Raw pixels", "cosine", 1000, path) is None  # not stored
    stored = json.loads(path.read_text())
    for section in ("scores", "probes"):
        for entry in stored[section].values():
            entry["weights"] = "other weights"
    path.write_text(json.dumps(stored))
    assert precomputed.scores(name, "Raw pixels", "euclidean", 200, path) is None


@pytest.mark.integration
def test_the_shipped_scores_match_the_shipped_weights():
    """Every fast representation of every built-in gallery here has its scores in the
    shipped file, for both metrics and the page's query counts, computed from today's
    weights (a retrain without ``python -m mml7 measure similarity`` fails here)."""
    from mml7.similarity import precomputed

    if not precomputed.PRECOMPUTED_FILE.exists():
        pytest.skip("no precomputed scores (python -m mml7 measure similarity)")
    for name in similarity.GALLERIES:
        if name.startswith("Fashion") and data.fashion_mnist_location() is None:
            continue
        for representation, spec in similarity.REPRESENTATIONS.items():
            if spec.slow or similarity.representation_status(representation) is not None:
                continue
            assert precomputed.probe(name, representation) is not None, (name, representation)
            for metric in similarity.METRICS:
                for count in precomputed.QUERY_COUNTS:
                    found = precomputed.scores(name, representation, metric, count)
                    assert found is not None, (name, representation, metric, count)
