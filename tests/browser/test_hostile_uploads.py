"""Hostile uploads in the served app: five sessions at once, and names that are HTML.

The server must stay up, every session must get a readable message naming its file, and a
user's folder names must reach the page as text, never as HTML.
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import hostile
from tests.helpers.served_app import (
    CHROMIUM,
    CHROMIUM_ARGS,
    exception_texts,
    serve,
    wait_until_idle,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


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
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        try:
            page.goto(f"{base}/{url_path}", wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_selector('[data-testid="stApp"]', timeout=120_000)
            wait_until_idle(page)
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
