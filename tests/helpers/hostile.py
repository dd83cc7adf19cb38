"""Hostile uploads for the served app: crafted files and a run of several sessions that
upload them at once. Shared by tests/browser/ and bench/hostile_sessions.py.

Each file is small on the wire (Streamlit holds uploads in memory) and hostile once read:
a declared-size bomb, thousands of members, a 40-megapixel image, a header that claims a
50,000 x 50,000 image, a truncated JPEG, and a class folder whose name is HTML.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
from PIL import Image

from tests.helpers import fake_png_header, png_bytes
from tests.helpers.served_app import choose, exception_texts, open_tab, visit, wait_until_idle

XSS_NAME = "<img src=x onerror=alert(1)>"


def zero_bomb_zip(megabytes: int = 1000) -> bytes:
    """A class-folder zip with one member of ``megabytes`` MiB of zeros (about 1 MB)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("cats/zeros.png", "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(megabytes):
                member.write(chunk)
        archive.writestr("dogs/tiny.png", png_bytes(np.zeros((4, 4), np.uint8)))
    return buffer.getvalue()


def many_members_zip(count: int = 20_001) -> bytes:
    """A zip of ``count`` one-byte members in two class folders (over the member cap)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(count):
            archive.writestr(f"{'ab'[i % 2]}/{i}.png", b"x")
    return buffer.getvalue()


def big_png(width: int = 8000, height: int = 5000) -> bytes:
    """A real, fully decodable 40-megapixel grey PNG (a few hundred KB: it is flat)."""
    buffer = io.BytesIO()
    Image.new("L", (width, height), 128).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def truncated_jpeg() -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()[:300]


def html_named_classes_zip() -> bytes:
    """Two class folders, one named ``XSS_NAME``, with a few real images each."""
    rng = np.random.default_rng(1)
    members = {}
    for folder in (XSS_NAME, "plain"):
        for i in range(12):
            members[f"{folder}/{i}.png"] = png_bytes(rng.integers(0, 256, (16, 16, 3), np.uint8))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


def images_without_masks_zip(stem: str) -> bytes:
    """A segmentation zip (images/ and masks/) in which image ``stem`` has no mask."""
    image = png_bytes(np.zeros((8, 8, 3), np.uint8))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"images/{stem}.png", image)
        archive.writestr("images/b.png", image)
        archive.writestr("masks/b.png", png_bytes(np.zeros((8, 8), np.uint8)))
    return buffer.getvalue()


def file(name: str, payload: bytes, mime: str) -> dict:
    return {"name": name, "mimeType": mime, "buffer": payload}


def hostile_uploads() -> dict:
    """test id -> (url_path, steps that bring the uploader up, its widget key, the file,
    what the page must then show): one hostile file for every uploader of every page. The
    answer is an error naming the file, except for the real 40-megapixel photo, which
    the SVD tab must decompose at its 2,000 px limit."""
    return {
        "transfer-zero-bomb": (
            "transfer_learning",
            lambda page: choose(page, "dataset", "Upload a zip"),
            "upload",
            file("bomb.zip", zero_bomb_zip(), "application/zip"),
            "error",
        ),
        "gallery-many-members": (
            "similar_images",
            lambda page: choose(page, "gallery", "Upload a zip"),
            "gallery_upload",
            file("many.zip", many_members_zip(), "application/zip"),
            "error",
        ),
        "segment-claimed-50000-px": (
            "segmentation",
            lambda page: open_tab(page, "Segment your image"),
            "seg_upload",
            file("claims.png", fake_png_header(50_000, 50_000), "image/png"),
            "error",
        ),
        "svd-40-megapixels": (
            "autoencoders",
            lambda page: choose(page, "svd_photo", "upload an image"),
            "svd_upload",
            file("huge.png", big_png(), "image/png"),
            "1250 x 2000 pixels",
        ),
        "query-truncated-jpeg": (
            "similar_images",
            lambda page: None,
            "query_upload",
            file("cut.jpg", truncated_jpeg(), "image/jpeg"),
            "error",
        ),
    }


def upload_in_sessions(browser, base: str, uploads: dict, timeout: float = 300) -> dict:
    """Open one browser session per upload, bring each uploader up, then upload every file
    at once and wait for each page to settle. Returns {test id: (error texts shown,
    exception texts shown, the page's text)}."""
    tabs = {}
    for name, (url_path, reveal, *_rest) in uploads.items():
        tab = visit(browser, f"{base}/{url_path}", timeout)  # a browser context of its own
        reveal(tab)
        tabs[name] = tab
    for name, tab in tabs.items():  # every upload starts before any is awaited
        key, payload = uploads[name][2], uploads[name][3]
        tab.locator(f".st-key-{key} input[type='file']").set_input_files(payload)
    shown = {}
    for name, tab in tabs.items():
        wait_until_idle(tab, timeout=timeout)
        errors = tab.locator('[data-testid="stAlertContentError"]')
        shown[name] = (
            [errors.nth(i).inner_text() for i in range(errors.count())],
            exception_texts(tab),
            tab.locator('[data-testid="stMain"]').inner_text(),
        )
        tab.context.close()
    return shown
