"""The Autoencoders page: every control, driven by key in AppTest, with the shipped models."""

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from mml7 import autoencoders as ae
from mml7 import data, svd
from tests.helpers import open_page


@pytest.fixture
def page(fashion_available):
    return open_page("autoencoders", 300).run()


def open_tab(at, name: str) -> AppTest:
    """Switch to a tab (only the open tab is computed) and rerun."""
    at.session_state["ae_tab"] = name
    return at.run()


def metric(at, label_start: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label_start))


def keys(at, kind: str) -> set:
    return {element.key for element in at.get(kind)}


def lessons(at) -> list[str]:
    return [m.value for m in at.markdown if "**Slide:**" in m.value]


def number(text: str) -> float:
    return float(re.search(r"-?[\d.]+", text).group())


def test_svd_tab_shows_the_measured_error_and_storage(page):
    at = page
    assert not at.exception, [e.value for e in at.exception]
    photo = at.selectbox(key="svd_photo").value
    image = data.sample_photos()[photo]
    exact = svd.low_rank_approximation(image, 20)
    assert number(metric(at, "relative error")) == pytest.approx(
        svd.relative_error(image, exact), abs=1e-4
    )
    height, width = image.shape[:2]
    assert metric(at, "storage") == f"{svd.storage_ratio(height, width, 20):.2%}"
    kept = svd.energy_kept(image, exact)
    assert any(f"k = 20 keeps {kept:.1%} of the energy" in text for text in lessons(at))

    # A new photo resets k (the slider's range changes), so k is set after it.
    at.toggle(key="svd_grey").set_value(True)
    at.selectbox(key="svd_photo").set_value("camera").run()
    at.slider(key="svd_k").set_value(50).run()
    assert not at.exception
    camera = data.sample_photos()["camera"].mean(axis=-1, keepdims=True)
    expected = svd.relative_error(camera, svd.low_rank_approximation(camera, 50))
    assert number(metric(at, "relative error")) == pytest.approx(expected, abs=1e-4)
    assert metric(at, "storage") == f"{svd.storage_ratio(512, 512, 50):.2%}"

    at.selectbox(key="svd_photo").set_value("upload an image").run()
    assert not at.exception
    assert any("Upload an image" in info.value for info in at.info)


def test_svd_tab_upload_and_bad_upload():
    from tests.helpers import png_bytes

    at = open_page("autoencoders", 300).run()
    at.selectbox(key="svd_photo").set_value("upload an image").run()
    gradient = np.add.outer(np.arange(30), np.arange(40)).astype(np.uint8) * 3
    at.file_uploader(key="svd_upload").set_value(("ramp.png", png_bytes(gradient), "image/png"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "30 x 40 pixels" in at.caption[0].value
    # An outer sum of ramps plus a constant has rank 2: k = 2 reproduces it.
    at.slider(key="svd_k").set_value(2).run()
    assert number(metric(at, "relative error")) < 1e-3
    assert "svd_png" in keys(at, "download_button")
    at.file_uploader(key="svd_upload").set_value(("photo.png", b"not a png", "image/png"))
    at.run()
    assert not at.exception
    assert "is not a readable image" in at.error[0].value
    assert at.selectbox(key="svd_photo") and at.toggle(key="svd_grey")  # the block's controls stay
    at.file_uploader(key="svd_upload").set_value(("photos.zip", b"PK\x03\x04", "application/zip"))
    at.run()
    assert "is a zip archive; this takes one image" in at.error[0].value


def test_linear_tab_angles_and_retraining(page):
    at = open_tab(page, "Linear AE = PCA")
    at.radio(key="linear_k").set_value(10).run()
    assert not at.exception
    model = ae.pretrained("linear", 10)
    pca = ae.fit_pca(data.fashion_mnist("train").images, 10)
    angles = ae.principal_angles_to_pca(model, pca)
    assert number(metric(at, "largest principal angle")) == pytest.approx(angles.max(), abs=0.01)
    assert number(metric(at, "median principal angle")) == pytest.approx(
        np.median(angles), abs=0.01
    )

    at.select_slider(key="linear_n").set_value(1000)
    at.number_input(key="linear_epochs").set_value(1)
    at.button(key="linear_train").click().run()
    assert not at.exception
    # The retrained model is shown beside its references on all 10,000 test images; the
    # shipped model's is its training record's, the number in the table above.
    (scores,) = [f.value for f in at.dataframe if "x PCA" in f.value.columns]
    assert list(scores["model"]) == ["retrained here", "mean image", "PCA k=10", "shipped model"]
    test = data.fashion_mnist("test").images
    rows = scores.set_index("model")
    assert rows.loc["PCA k=10", "test MSE"] == pytest.approx(
        ae.mse(test, pca.reconstruct(test, 10)), rel=1e-4
    )
    assert rows.loc["PCA k=10", "x PCA"] == pytest.approx(1.0)
    assert rows.loc["shipped model", "test MSE"] == pytest.approx(
        ae.mse(test, model.reconstruct(test)), rel=1e-4
    )
    record = ae.shipped_scores("linear", ae.shipped_summary())
    assert rows.loc["shipped model", "test MSE"] == record["linear"][record["code size"].index(10)]
    assert any("Retrained (1,000 images, 1 epoch)" in m.value for m in at.markdown)
    assert {"linear_model", "linear_csv"} <= keys(at, "download_button")
    at.run()  # the retrained model stays until the settings change
    assert "linear_model" in keys(at, "download_button")
    at.number_input(key="linear_epochs").set_value(2).run()
    assert "linear_model" not in keys(at, "download_button")
    ratio = record["linear / PCA"][record["code size"].index(10)]
    assert any(f"ratio {ratio:.3f}" in text and "PCA or SVD" in text for text in lessons(at))


def test_deep_and_denoising_tabs(page):
    at = open_tab(page, "Deep AE")
    at.radio(key="conv_k").set_value(64).run()
    assert not at.exception
    # The MSE tables come from the shipped training record, one row per code size.
    tables = [frame.value for frame in at.dataframe]
    conv = next(t for t in tables if "conv" in t.columns)
    assert list(conv["code size"]) == list(ae.SHIPPED_CODE_SIZES["conv"])
    # The record has code 64 under-trained and worse than code 32: the takeaway says so.
    (deep,) = [text for text in lessons(at) if "глубокое" in text]
    if ae.code_size_inversions(conv.to_dict("list"), "conv"):
        assert "reconstructs WORSE" in deep
    at.select_slider(key="conv_n").set_value(1000)
    at.number_input(key="conv_epochs").set_value(1)
    at.button(key="conv_train").click().run()
    assert not at.exception
    (scores,) = [f.value for f in at.dataframe if "x PCA" in f.value.columns]
    assert list(scores["model"]) == ["retrained here", "mean image", "PCA k=64", "shipped model"]

    open_tab(at, "Denoising")
    at.radio(key="noise_kind").set_value("gaussian")
    at.slider(key="noise_amount").set_value(0.2)
    at.radio(key="noise_model").set_value(0.2).run()
    noisy, denoised = number(metric(at, "PSNR noisy")), number(metric(at, "PSNR denoised"))
    assert denoised > noisy + 3
    assert any(f"{denoised - noisy:+.1f} dB" in text for text in lessons(at))
    assert "noise_csv" in keys(at, "download_button")
    # The robustness curve in words: each model's best noise level, measured here.
    (summary,) = [m.value for m in at.markdown if "PSNR gain over the noisy input" in m.value]
    table = ae.denoising_robustness(
        {f"trained at {s}": ae.pretrained("denoising", 64, s) for s in ae.SHIPPED_NOISE_STDDEVS},
        data.fashion_mnist("test").images[:1000],
        (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6),
    )
    for sigma in ae.SHIPPED_NOISE_STDDEVS:
        gains = np.subtract(table[f"trained at {sigma}"], table["noisy input"])
        best = table["noise stddev"][int(np.argmax(gains))]
        assert (
            f"**trained at {sigma}**: gains most at sigma {best:g} ({gains.max():+.1f} dB)"
            in summary
        )
    for kind in ("salt-and-pepper", "random-mask"):
        at.radio(key="noise_kind").set_value(kind)
        at.radio(key="noise_model").set_value(0.5).run()
        assert not at.exception
        assert number(metric(at, "PSNR noisy")) < 100


def test_latent_space_and_morphing_controls(page):
    at = open_tab(page, "Latent space")
    at.selectbox(key="latent_model").set_value("conv 16")
    at.select_slider(key="latent_count").set_value(1000)
    at.radio(key="latent_method").set_value("tsne")
    at.radio(key="latent_dims").set_value(3).run()
    assert not at.exception
    assert any("of the same class" in text for text in lessons(at))

    open_tab(at, "Morphing")
    at.radio(key="morph_k").set_value(64)
    at.number_input(key="morph_a").set_value(5)
    at.number_input(key="morph_b").set_value(7)
    at.slider(key="morph_steps").set_value(7).run()
    assert not at.exception
    assert any("over 6 steps" in text for text in lessons(at))
    assert "morph_png" in keys(at, "download_button")
    at.radio(key="morph_source").set_value("LFW faces").run()
    assert not at.exception
    assert at.number_input(key="morph_a").max == 99  # the 100 faces
    # The faces model is read against PCA on held-out crops; the better one morphs first.
    record = ae.shipped_summary()["models"][ae.FACES_FILE]
    (verdict,) = [m.value for m in at.markdown if "held-out face crops" in m.value]
    assert f"PCA at k = 16 {record['pca_held_out_mse']:.4f}" in verdict
    pca_first = record["pca_held_out_mse"] <= record["held_out_mse"]
    assert at.radio(key="morph_faces_codes").value == ("PCA" if pca_first else "conv autoencoder")
    for codes in ("PCA", "conv autoencoder"):
        at.radio(key="morph_faces_codes").set_value(codes).run()
        assert not at.exception
        assert any("over 6 steps" in text for text in lessons(at))


def test_sprite_sheet_puts_image_i_at_row_i_over_columns():
    from mml7.plots import autoencoders as figures

    images = np.random.default_rng(0).random((7, 4, 5, 1))
    sheet, columns = figures.sprite_sheet(images)
    assert columns == 3 and sheet.shape == (3 * 4, 3 * 5, 1)
    for i, image in enumerate(images):
        row, column = divmod(i, columns)
        np.testing.assert_array_equal(
            sheet[row * 4 : row * 4 + 4, column * 5 : column * 5 + 5], image
        )
    assert not sheet[8:, 5:].any()  # the two tiles after the last image are blank


def test_latent_scatter_html_has_hover_images(fashion_available):
    from mml7.plots import autoencoders as figures

    test = data.fashion_mnist("test", 30)
    points = np.random.default_rng(0).normal(size=(30, 2))
    figure = figures.latent_scatter(points, test.labels, test.class_names, test.images)
    assert {trace.type for trace in figure.data} == {"scattergl"}
    assert sum(len(trace.x) for trace in figure.data) == 30
    html = figures.latent_scatter_html(figure)
    assert "plotly_hover" in html and "data:image/png;base64," in html
    meta = figure.layout.meta  # the sprite sheet the hover box cuts each point's image from
    assert (meta["columns"], meta["rows"], meta["height"], meta["width"]) == (6, 5, 28, 28)
    first = next(trace for trace in figure.data if len(trace.x))
    index = first.customdata[0][0]
    assert first.customdata[0][1] == f"{first.name} (#{index})"
    assert test.labels[index] == test.class_names.index(first.name)
    three = figures.latent_scatter(
        np.c_[points, points[:, 0]], test.labels, test.class_names, test.images
    )
    assert {trace.type for trace in three.data} == {"scatter3d"}
    # A served app gives the sprite sheet's URL: the same grid, no image inside the figure.
    served = figures.latent_scatter(
        points, test.labels, test.class_names, test.images, sprite_url="app/static/s.png"
    )
    assert served.layout.meta == {**meta, "sprite": "app/static/s.png"}
    assert "data:image/png" not in figures.latent_scatter_html(served, "app/static/p.js")
