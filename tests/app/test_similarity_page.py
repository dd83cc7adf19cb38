"""The similar-images page (AppTest): queries by click and by upload, galleries, scores."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import open_page, png_bytes, zip_bytes


def digits_page() -> AppTest:
    at = open_page("similar_images", 300)
    at.session_state["gallery"] = "Digits (8x8)"
    return at.run()


def image_captions(at: AppTest) -> list[str]:
    """Captions of the query image, then of its neighbours."""
    return at.get("image")[0].captions + at.get("image")[1].captions


def test_digits_gallery_query_by_click():
    at = digits_page()
    assert not at.exception, [e.value for e in at.exception]
    assert any("1,797 images" in header.value for header in at.subheader)
    at.button(key="pick_7").click().run()
    captions = image_captions(at)
    assert captions[0] == "query: gallery #7 (7)"
    assert len(captions) == 1 + 8  # the default 8 neighbours, each "label · distance"
    labels = [caption.split(" · ")[0] for caption in captions[1:]]
    distances = [float(caption.split(" · ")[1]) for caption in captions[1:]]
    assert distances == sorted(distances) and labels.count("7") >= 6


def test_retrieval_table_and_probe_for_each_representation():
    at = digits_page()
    table = at.dataframe[0].value
    assert {"Raw pixels", "PCA (k=32)"} <= set(table.index)
    assert ((table["mAP"] > 0.3) & (table["precision@10"] <= 1)).all()
    assert (table["queries"] == 1000).all()
    assert any("tested on the rest of the gallery" in c.value for c in at.caption)
    at.radio(key="metric").set_value("euclidean").run()
    euclidean = at.dataframe[0].value
    assert not at.exception
    assert not np.allclose(euclidean["mAP"], table["mAP"])


def test_upload_query_is_searched():
    at = digits_page()
    digit = (np.eye(20, dtype=np.uint8) * 255)[:, ::-1]  # a stroke, any size
    at.file_uploader(key="query_upload").set_value(("stroke.png", png_bytes(digit), "image/png"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    captions = image_captions(at)
    assert captions[0] == "query: uploaded stroke.png" and len(captions) == 9
    at.button(key="pick_3").click().run()  # a click takes the query back to the gallery
    assert image_captions(at)[0] == "query: gallery #3 (3)"


def test_unreadable_upload_query_says_why():
    at = digits_page()
    at.file_uploader(key="query_upload").set_value(("photo.png", b"not a png", "image/png"))
    at.run()
    assert not at.exception
    assert "neither a zip of class folders nor a readable image" in at.error[0].value


def test_uploaded_zip_gallery():
    rng = np.random.default_rng(0)
    members = {
        f"{name}/{i}.png": png_bytes(
            np.clip(rng.normal(base, 20, (10, 10, 3)), 0, 255).astype(np.uint8)
        )
        for name, base in (("red", (200, 30, 30)), ("blue", (30, 30, 200)))
        for i in range(15)
    }
    at = open_page("similar_images", 300)
    at.session_state["gallery"] = "Upload a zip"
    at.run()
    assert "Upload a .zip" in at.info[0].value
    at.file_uploader(key="gallery_upload").set_value(
        ("colours.zip", zip_bytes(members), "application/zip")
    )
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert table.loc["Raw pixels", "precision@1"] == 1.0  # the two colours never mix
    assert table.loc["Raw pixels", "queries"] == 30
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
    table = at.dataframe[0].value
    assert name in table.index and 0 < table.loc[name, "mAP"] <= 1
    assert len(image_captions(at)) == 9
