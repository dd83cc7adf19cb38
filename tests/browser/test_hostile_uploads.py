"""Hostile uploads in the served app: five sessions at once, and names that are HTML.

The server must stay up, every session must get a readable message naming its file, and a
user's folder names must reach the page as text, never as HTML.
"""

from __future__ import annotations

import urllib.request

import pytest

from tests.helpers import hostile
from tests.helpers.served_app import exception_texts, serve, visit, wait_until_idle

pytestmark = pytest.mark.browser


def test_five_sessions_upload_hostile_files_at_once(browser):
    uploads = hostile.hostile_uploads()
    assert len(uploads) == 5
    with serve() as (base, process):
        shown = hostile.upload_in_sessions(browser, base, uploads)
        assert process.poll() is None, "the server died"
        with urllib.request.urlopen(base + "/_stcore/health", timeout=10) as answer:
            assert answer.status == 200
    for name, (errors, exceptions, text) in shown.items():
        file_name, expected = uploads[name][3]["name"], uploads[name][4]
        assert exceptions == [], name
        if expected == "error":
            assert any(file_name in error for error in errors), (name, errors)
        else:
            assert errors == [] and expected in text, (name, errors)


def upload_and_wait(page, key: str, payload: dict) -> None:
    page.locator(f".st-key-{key} input[type='file']").set_input_files(payload)
    wait_until_idle(page, timeout=600)


@pytest.mark.parametrize(
    ("url_path", "reveal", "key", "shows_class_names"),
    [
        ("transfer_learning", ("dataset", "Upload a zip"), "upload", False),
        ("similar_images", ("gallery", "Upload a zip"), "gallery_upload", True),
    ],
    ids=["transfer", "similar"],
)
def test_html_in_folder_names_stays_text(browser, url_path, reveal, key, shows_class_names):
    """A class folder named ``<img src=x onerror=alert(1)>``: shown as those characters,
    never turned into an element, never run."""
    dialogs = []
    with serve() as (base, _process):
        page = visit(browser, f"{base}/{url_path}")
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        try:
            hostile.choose(page, *reveal)
            payload = hostile.file("names.zip", hostile.html_named_classes_zip(), "application/zip")
            upload_and_wait(page, key, payload)
            assert exception_texts(page) == []
            assert page.locator('img[src="x"]').count() == 0
            assert dialogs == []
            text = page.locator('[data-testid="stMain"]').inner_text()
            assert "names" in text  # the upload was read and is on the page
            # Where the page shows class names (the neighbours' captions), this one reads
            # as the characters it is made of.
            assert (hostile.XSS_NAME in text) == shows_class_names
        finally:
            page.close()


def segmentation_zip_with_html_stem(page) -> None:
    """Retrain on an upload whose image has an HTML name and no mask: the error lists it."""
    hostile.open_tab(page, "Train and compare")
    page.get_by_text("Retrain here", exact=False).first.click()
    wait_until_idle(page)
    page.locator(".st-key-seg_dataset").get_by_text("upload", exact=True).click()
    wait_until_idle(page)
    payload = hostile.file(
        "scenes.zip", hostile.images_without_masks_zip(hostile.XSS_NAME), "application/zip"
    )
    upload_and_wait(page, "seg_zip", payload)
    page.locator(".st-key-seg_train button").click()
    wait_until_idle(page, timeout=600)


def svd_image_with_html_name(page) -> None:
    """An unreadable image whose file name is HTML: the error names it."""
    hostile.choose(page, "svd_photo", "upload an image")
    upload_and_wait(page, "svd_upload", hostile.file(f"{hostile.XSS_NAME}.png", b"no", "image/png"))


@pytest.mark.parametrize(
    ("url_path", "steps"),
    [("segmentation", segmentation_zip_with_html_stem), ("autoencoders", svd_image_with_html_name)],
    ids=["segmentation", "autoencoders"],
)
def test_html_in_file_names_stays_text_in_messages(browser, url_path, steps):
    dialogs = []
    with serve() as (base, _process):
        page = visit(browser, f"{base}/{url_path}")
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        try:
            steps(page)
            errors = page.locator('[data-testid="stAlertContentError"]')
            texts = [errors.nth(i).inner_text() for i in range(errors.count())]
            assert any(hostile.XSS_NAME in text for text in texts), texts
            assert page.locator('img[src="x"]').count() == 0
            assert dialogs == []
            assert exception_texts(page) == []
        finally:
            page.close()
