"""The similar-images page (AppTest): queries by click and by upload, galleries, scores."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import open_page, png_bytes, zip_bytes


def digits_page() -> AppTest:
    at = open_page("similar_images", 300)
    at.session_state["gallery"] = "Digits (8x8)"
    return at.run()


def click_gallery_image(at: AppTest, row: int, column: int, page: int = 1) -> AppTest:
    """What a click on a gallery image sends: a single-cell selection of the grid."""
    cell = [row, f"+{column}"]
    at.session_state[f"gallery_grid_{page}"] = {
        "selection": {"rows": [], "columns": [], "cells": [cell]}
    }
    return at.run()


def lesson(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "**Measured here:**" in m.value)


def image_captions(at: AppTest) -> list[str]:
    """Captions of the query image, then of its neighbours."""
    return at.get("image")[0].captions + at.get("image")[1].captions


def test_digits_gallery_query_by_click():
    at = digits_page()
    assert not at.exception, [e.value for e in at.exception]
    assert any("1,797 images" in header.value for header in at.subheader)
    grid = at.dataframe[0].value  # the gallery page: images as PNG data URLs
    assert grid.shape == (3, 8) and list(grid.index) == ["#0", "#8", "#16"]
    assert grid.loc["#0", "+7"].startswith("data:image/png;base64,")
    click_gallery_image(at, 0, 7)
    assert not at.exception, [e.value for e in at.exception]
    captions = image_captions(at)
    assert captions[0] == "query: gallery #7 (7)"
    assert len(captions) == 1 + 8  # the default 8 neighbours, each "label · distance"
    labels = [caption.split(" · ")[0] for caption in captions[1:]]
    distances = [float(caption.split(" · ")[1]) for caption in captions[1:]]
    assert distances == sorted(distances) and labels.count("7") >= 6


def test_retrieval_table_and_probe_for_each_representation():
    at = digits_page()
    table = at.dataframe[1].value
    assert {"Raw pixels", "PCA (k=32)"} <= set(table.index)
    assert ((table["mAP"] > 0.3) & (table["precision@10"] <= 1)).all()
    assert (table["queries"] == 1000).all()
    assert any("tested on the rest of the gallery" in c.value for c in at.caption)
    at.radio(key="metric").set_value("euclidean").run()
    euclidean = at.dataframe[1].value
    assert not at.exception
    assert not np.allclose(euclidean["mAP"], table["mAP"])
    # The lesson line quotes the live scores: the conv AE (when shipped), raw pixels.
    line = lesson(at)
    assert f"raw pixels {euclidean.loc['Raw pixels', 'precision@10']:.3f}" in line
    for name in euclidean.index:
        if name.startswith("Conv AE"):
            assert f"{name} precision@10 {euclidean.loc[name, 'precision@10']:.3f}" in line


def test_upload_query_is_searched():
    at = digits_page()
    digit = (np.eye(20, dtype=np.uint8) * 255)[:, ::-1]  # a stroke, any size
    at.file_uploader(key="query_upload").set_value(("stroke.png", png_bytes(digit), "image/png"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    captions = image_captions(at)
    assert captions[0] == "query: uploaded image" and len(captions) == 9
    click_gallery_image(at, 2, 3)  # a click takes the query back to the gallery: #16 + 3
    assert image_captions(at)[0] == "query: gallery #19 (9)"
    at.run()  # the grid still holds that selection; it does not pick again
    assert image_captions(at)[0] == "query: gallery #19 (9)"


def test_unreadable_upload_query_affects_only_the_query():
    at = digits_page()
    shown = at.dataframe[1].value
    at.file_uploader(key="query_upload").set_value(("photo.png", b"not a png", "image/png"))
    at.run()
    assert not at.exception
    assert at.error[0].value.startswith("'photo.png' is not a readable image")
    assert len(at.error) == 1 and not at.get("image")  # no query, no neighbours
    # The gallery grid, the comparison and its lesson line stay on the page.
    assert at.dataframe[0].value.shape == (3, 8) and at.dataframe[1].value.equals(shown)
    assert "precision@10" in lesson(at)
    at.selectbox(key="gallery").set_value("LFW faces vs non-faces").run()  # another gallery
    assert not at.exception and len(at.error) == 1 and at.dataframe[0].value.shape == (3, 8)
    click_gallery_image(at, 0, 1)  # picking a gallery image brings the neighbours back
    assert image_captions(at)[0].startswith("query: gallery #1 ") and len(at.error) == 0
    zipped = zip_bytes({"a/1.png": png_bytes(np.zeros((8, 8), np.uint8))})
    at.file_uploader(key="query_upload").set_value(("q.png", zipped, "image/png")).run()
    assert "'q.png' is a zip archive; this takes one image" in at.error[0].value


def test_uploaded_zip_gallery():
    rng = np.random.default_rng(0)
    members = {
        f"{name}/{i}.png": png_bytes(
            np.clip(rng.normal(base, 20, (10, 10, 3)), 0, 255).astype(np.uint8)
        )
        for name, base in (("**red**", (200, 30, 30)), (":blue[b]", (30, 30, 200)))
        for i in range(15)
    }
    at = open_page("similar_images", 300)
    at.session_state["gallery"] = "Upload a zip"
    at.run()
    assert "Upload a .zip" in at.info[0].value
    at.file_uploader(key="gallery_upload").set_value(
        ("<i>[x](y) *col*ours.zip", zip_bytes(members), "application/zip")
    )
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[1].value
    assert table.loc["Raw pixels", "precision@1"] == 1.0  # the two colours never mix
    assert table.loc["Raw pixels", "queries"] == 30
    # Names from the user's files reach markdown escaped: shown as typed, never as markup.
    assert any(r"Gallery: \<i\>\[x\]\(y\) \*col\*ours, 30 images" in h.value for h in at.subheader)
    captions = image_captions(at)
    assert captions[0] == r"query: gallery #0 (\*\*red\*\*)"
    assert set(c.split(" · ")[0] for c in captions[1:]) == {r"\*\*red\*\*"}
    # 10 labelled per class fits (15 per class), 100 does not: the probe says what it did.
    assert any("10 or 100 labelled" in c.value for c in at.caption)


def test_bad_zip_gallery_says_why():
    at = open_page("similar_images", 300)
    at.session_state["gallery"] = "Upload a zip"
    at.run()
    one = zip_bytes({"cats/1.png": png_bytes(np.zeros((5, 5, 3), np.uint8))})
    at.file_uploader(key="gallery_upload").set_value(("one.zip", one, "application/zip")).run()
    assert not at.exception
    assert "a gallery needs at least 2" in at.error[0].value


def test_missing_representation_is_named(monkeypatch):
    from mml7 import similarity

    real = similarity.representation_status
    monkeypatch.setattr(
        similarity,
        "representation_status",
        lambda name: "not available yet: test" if "ImageNet" in name else real(name),
    )
    at = digits_page()
    assert not at.exception
    assert any("**ImageNet MobileNet features**: not available yet" in c.value for c in at.caption)
    assert "ImageNet MobileNet features" not in at.selectbox(key="representation").options


def test_approximate_search_reports_recall():
    pytest.importorskip("faiss")
    at = digits_page()
    at.radio(key="algorithm").set_value("hnsw").run()
    assert not at.exception, [e.value for e in at.exception]
    recall = [c.value for c in at.caption if "recall@10" in c.value]
    assert recall and float(recall[0].rsplit(" ", 1)[1]) > 0.9
    assert len(image_captions(at)) == 9


@pytest.mark.integration
def test_imagenet_features_on_request():
    from mml7 import similarity

    name = "ImageNet MobileNet features"
    if similarity.representation_status(name) is not None:
        pytest.skip(similarity.representation_status(name))
    at = open_page("similar_images", 300)
    at.session_state["gallery"] = "LFW faces vs non-faces"  # 200 images: the cheapest
    at.run()
    assert name not in at.selectbox(key="representation").options  # off by default: slow
    at.toggle(key="imagenet").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="representation").set_value(name).run()
    table = at.dataframe[1].value
    assert name in table.index and 0 < table.loc[name, "mAP"] <= 1
    assert len(image_captions(at)) == 9
