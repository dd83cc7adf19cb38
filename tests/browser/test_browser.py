"""Browser end-to-end tests: the served app in headless Chromium (what AppTest cannot see).

Each page is opened, its main control used once, the expected element awaited, and the
page checked for Streamlit exception blocks. Screenshots go to test-output/screenshots/.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.helpers.served_app import (
    ROOT,
    choose,
    exception_texts,
    open_tab,
    router_pages,
    serve,
    visit,
    wait_until_idle,
)

pytestmark = pytest.mark.browser
SHOTS = ROOT / "test-output" / "screenshots"
# `make screenshots` sets this to refresh the README's pictures (docs/screenshots/*.jpg).
DOCS_SHOTS = os.environ.get("MML7_DOCS_SCREENSHOTS")


PAGES = router_pages()


def page_url(base: str, url_path: str) -> str:
    """The default (first) page lives at the root; Streamlit ignores its url_path."""
    return base + "/" if url_path == PAGES[0][0] else f"{base}/{url_path}"


@pytest.fixture(scope="module")
def app_url():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serve(log_path=SHOTS.parent / "server.log") as (base, _process):
        yield base


def use_home(page) -> None:
    page.get_by_text("This machine").wait_for(timeout=30_000)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30_000)


def use_autoencoders(page) -> None:
    """SVD tab: one step of the rank slider redraws the approximation at k + 1."""
    page.get_by_text("rank 20", exact=True).wait_for(timeout=60_000)
    page.locator('.st-key-svd_k input[type="range"]').press("ArrowRight")
    wait_until_idle(page)
    page.get_by_text("rank 21", exact=True).wait_for(timeout=60_000)


def use_similar(page) -> None:
    """Click a gallery image (row 0, column 5 of the first page's grid, image #5): it
    becomes the query and its neighbours are shown."""
    grid = page.locator(".st-key-gallery_grid_1")
    grid.wait_for(timeout=300_000)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    index_width, header_height, row_height, columns = 60, 35, 84, 8
    column_width = (box["width"] - index_width) / columns
    page.mouse.click(
        box["x"] + index_width + 5.5 * column_width, box["y"] + header_height + row_height / 2
    )
    wait_until_idle(page)
    page.get_by_text("query: gallery #5", exact=False).wait_for(timeout=60_000)


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def use_transfer(page) -> None:
    """Move the big-data threshold to its far end: the advice is redrawn for it."""
    page.get_by_text("Run the four strategies").wait_for(timeout=120_000)
    before = main_text(page)
    page.locator('.st-key-big input[type="range"]').press("End")
    wait_until_idle(page)
    assert main_text(page) != before


def use_segmentation(page) -> None:
    """Step-by-step tab: a new random 4x4 input redraws every unpooling."""
    before = main_text(page)
    seed = page.locator(".st-key-seg_seed input")
    seed.fill("7")
    seed.press("Enter")
    wait_until_idle(page)
    assert main_text(page) != before
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 2


# url_path -> a function that uses the page's main control once and waits for its result.
PAGE_ACTIONS = {
    "transfer_learning": use_transfer,
    "segmentation": use_segmentation,
    "home": use_home,
    "autoencoders": use_autoencoders,
    "similar_images": use_similar,
}


@pytest.mark.parametrize(("url_path", "script"), PAGES, ids=[url for url, _ in PAGES])
def test_page_in_browser(browser, app_url, url_path, script):
    page = visit(browser, page_url(app_url, url_path))
    try:
        assert exception_texts(page) == []
        action = PAGE_ACTIONS.get(url_path)
        assert action is not None, f"no browser action defined for page {url_path} ({script})"
        action(page)
        wait_until_idle(page)
        page.screenshot(path=str(SHOTS / f"{url_path}.png"), full_page=True)
        if DOCS_SHOTS:
            Path(DOCS_SHOTS).mkdir(parents=True, exist_ok=True)
            target = Path(DOCS_SHOTS) / f"{url_path}.jpg"
            page.screenshot(path=str(target), full_page=True, type="jpeg", quality=70)
        assert exception_texts(page) == []
    finally:
        page.close()


def test_latent_space_loads_plotly_from_static_files_and_shows_hover_images(browser, app_url):
    """The latent-space iframe fetches Plotly.js and the sprite sheet from the app's static
    files (not inline in every draw), and hovering a point shows its image's tile and its
    class."""
    page = visit(browser, page_url(app_url, "autoencoders"))
    try:
        open_tab(page, "Latent space")
        frame = page.frame_locator("iframe").first
        frame.locator(".plotly-graph-div").wait_for(timeout=60_000)
        sources = frame.locator("script[src]").evaluate_all("tags => tags.map(t => t.src)")
        assert any("/app/static/plotly-" in source for source in sources), sources
        box = page.locator("iframe").first.bounding_box()
        label = "hover a point"
        for x in range(int(box["x"]) + 60, int(box["x"] + box["width"]) - 60, 5):
            page.mouse.move(x, box["y"] + 300)
            page.wait_for_timeout(20)
            label = frame.locator("#hover-label").inner_text()
            if label != "hover a point":
                break
        assert re.fullmatch(r"[\w/ -]+ \(#\d+\)", label), label
        tile = frame.locator("#hover-image").evaluate("e => e.style.backgroundPosition")
        assert tile and tile.endswith("px"), tile
        # The sprite sheet is a static file too (not inside every draw), and it loads.
        sheet = frame.locator("#hover-image").evaluate("e => e.style.backgroundImage")
        assert "/app/static/fashion-test-" in sheet or "app/static/fashion-test-" in sheet, sheet
        url = re.search(r'url\("?([^")]+)', sheet).group(1)
        loaded = frame.locator("body").evaluate(
            """(body, url) => new Promise(done => {
                const image = new Image();
                image.onload = () => done(image.naturalWidth);
                image.onerror = () => done(0);
                image.src = url;
            })""",
            url,
        )
        assert loaded > 0, url
        assert exception_texts(page) == []
    finally:
        page.close()


def test_sidebar_lists_every_page(browser, app_url):
    page = visit(browser, app_url)
    try:
        links = page.locator('[data-testid="stSidebarNavLink"]')
        # Streamlit shows no navigation for a single page.
        assert links.count() == (len(PAGES) if len(PAGES) > 1 else 0)
    finally:
        page.close()


def test_five_sessions_at_once(browser, app_url):
    """Five browser sessions on one server, each on a different page, all at once."""
    urls = [url for url, _ in PAGES]
    urls = (urls * 5)[:5]  # a different page per session while there are five pages
    contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in urls]
    try:
        tabs = [context.new_page() for context in contexts]
        for tab, url in zip(tabs, urls, strict=True):
            tab.goto(page_url(app_url, url), wait_until="domcontentloaded", timeout=120_000)
        for tab, url in zip(tabs, urls, strict=True):
            tab.wait_for_selector('[data-testid="stApp"]', timeout=120_000)
            wait_until_idle(tab, timeout=600)
            assert exception_texts(tab) == [], url
            assert tab.locator('[data-testid="stMain"]').inner_text().strip(), url
    finally:
        for context in contexts:
            context.close()


@pytest.mark.parametrize("url_path", [url for url, _ in PAGES[1:]])
def test_deep_link_on_a_fresh_server(browser, url_path):
    """The very first visitor of a new server, arriving at a page's own address (a
    bookmark, a shared link), gets that page in the router: the page titles in the
    sidebar, and no "Page not found" dialog."""
    with serve() as (base, _process):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{base}/{url_path}", wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_function(
                """count => [...document.querySelectorAll('[data-testid="stSidebarNavLink"]')]
                    .map(link => link.innerText.split('\\n').pop())
                    .filter(title => title === 'Home').length === 1
                    && document.querySelectorAll('[data-testid="stSidebarNavLink"]').length
                    === count""",
                arg=len(PAGES),
                timeout=120_000,
            )  # "Home" is the router's title; legacy mode would say "home"
            active = page.locator('[data-testid="stSidebarNavLink"][aria-current="page"]')
            assert active.count() == 1
            assert active.get_attribute("href").rstrip("/").endswith(f"/{url_path}")
            assert page.get_by_text("Page not found").count() == 0
            assert exception_texts(page) == []
        finally:
            page.close()


CORRUPT_IMAGE = {
    "name": "broken.png",
    "mimeType": "image/png",
    "buffer": b"\x89PNG\r\n\x1a\n broken",
}
CORRUPT_ZIP = {"name": "broken.zip", "mimeType": "application/zip", "buffer": b"PK\x03\x04 broken"}


# test id -> (url_path, steps that bring the upload widget up, that widget's key, the file):
# every file uploader of every page.
UPLOADS = {
    "similar-query": ("similar_images", lambda page: None, "query_upload", CORRUPT_IMAGE),
    "similar-gallery": (
        "similar_images",
        lambda page: choose(page, "gallery", "Upload a zip"),
        "gallery_upload",
        CORRUPT_ZIP,
    ),
    "segmentation": (
        "segmentation",
        lambda page: open_tab(page, "Segment your image"),
        "seg_upload",
        CORRUPT_IMAGE,
    ),
    "autoencoders-svd": (
        "autoencoders",
        lambda page: choose(page, "svd_photo", "upload an image"),
        "svd_upload",
        CORRUPT_IMAGE,
    ),
    "transfer": (
        "transfer_learning",
        lambda page: choose(page, "dataset", "Upload a zip"),
        "upload",
        CORRUPT_ZIP,
    ),
}


@pytest.mark.parametrize("upload", sorted(UPLOADS))
def test_corrupt_upload_gets_a_message(browser, app_url, upload):
    """A corrupt file uploaded where the page takes files: a readable error, no traceback."""
    url_path, reveal, key, corrupt = UPLOADS[upload]
    page = visit(browser, page_url(app_url, url_path))
    try:
        reveal(page)
        page.locator(f".st-key-{key} input[type='file']").set_input_files(corrupt)
        wait_until_idle(page)
        error = page.locator('[data-testid="stAlertContentError"]').first
        error.wait_for(timeout=60_000)
        page.screenshot(path=str(SHOTS / f"corrupt-upload-{upload}.png"), full_page=True)
        assert corrupt["name"] in error.inner_text()  # the message names the file
        assert exception_texts(page) == []
    finally:
        page.close()
