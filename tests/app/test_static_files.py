"""app.static_files: Plotly.js and sprite sheets by URL from static/ when Streamlit serves it,
else inline."""

from __future__ import annotations

import plotly
import pytest
import streamlit as st

from app import static_files


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    monkeypatch.setattr(static_files, "STATIC_DIR", tmp_path / "static")
    static_files.plotly_js.cache_clear()
    yield tmp_path / "static"
    static_files.plotly_js.cache_clear()


def test_plotly_js_is_written_once_and_given_by_relative_url(fresh, monkeypatch):
    monkeypatch.setattr(st, "get_option", lambda name: name == "server.enableStaticServing")
    url = static_files.plotly_js()
    name = f"plotly-{plotly.__version__}.min.js"
    assert url == f"app/static/{name}"
    written = (fresh / name).read_text(encoding="utf-8")
    assert len(written) > 1_000_000 and "plotly" in written[:2000].lower()
    assert [path.name for path in fresh.iterdir()] == [name]  # no .part left behind


def test_plotly_js_is_inlined_when_static_serving_is_off(fresh, monkeypatch):
    monkeypatch.setattr(st, "get_option", lambda name: False)
    assert static_files.plotly_js() is True
    assert not fresh.exists()


def test_plotly_js_is_inlined_when_static_cannot_be_written(fresh, monkeypatch, tmp_path):
    monkeypatch.setattr(st, "get_option", lambda name: True)
    blocker = tmp_path / "a file"
    blocker.write_text("static/ cannot be made under a file, even by root")
    monkeypatch.setattr(static_files, "STATIC_DIR", blocker / "static")
    assert static_files.plotly_js() is True


def test_a_png_is_named_by_its_content_and_written_once(fresh, monkeypatch):
    monkeypatch.setattr(st, "get_option", lambda name: name == "server.enableStaticServing")
    first = static_files.png("sheet", b"\x89PNG one")
    assert first.startswith("app/static/sheet-") and first.endswith(".png")
    name = first.removeprefix("app/static/")
    assert (fresh / name).read_bytes() == b"\x89PNG one"
    (fresh / name).write_bytes(b"kept")  # there already: not written again
    assert static_files.png("sheet", b"\x89PNG one") == first
    assert (fresh / name).read_bytes() == b"kept"
    other = static_files.png("sheet", b"\x89PNG two")  # new content, new name
    assert other != first and (fresh / other.removeprefix("app/static/")).exists()
    assert not list(fresh.glob("*.part"))


def test_a_png_has_no_url_when_static_serving_is_off_or_cannot_be_written(
    fresh, monkeypatch, tmp_path
):
    monkeypatch.setattr(st, "get_option", lambda name: False)
    assert static_files.png("sheet", b"\x89PNG") is None and not fresh.exists()
    monkeypatch.setattr(st, "get_option", lambda name: True)
    blocker = tmp_path / "a file"
    blocker.write_text("no folder under a file")
    monkeypatch.setattr(static_files, "STATIC_DIR", blocker / "static")
    assert static_files.png("sheet", b"\x89PNG") is None


def test_the_project_config_turns_static_serving_on():
    """The latent-space iframe's Plotly.js URL needs it (.streamlit/config.toml)."""
    import tomllib

    from tests.helpers import ROOT

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableStaticServing"] is True
