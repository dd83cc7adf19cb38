"""App smoke tests: the router and every page run without an exception (AppTest)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGE_SCRIPTS = sorted(
    str(path) for path in (ROOT / "pages").glob("*.py") if not path.name.startswith("_")
)


def test_router_opens_home():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    assert not at.exception
    assert "mml7" in at.title[0].value


@pytest.mark.parametrize("script", PAGE_SCRIPTS, ids=lambda s: Path(s).stem)
def test_page_runs(script):
    at = AppTest.from_file(script, default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]


def test_home_status_table_lists_resources():
    at = AppTest.from_file(str(ROOT / "pages" / "home.py")).run()
    table = at.dataframe[0].value
    assert {"Fashion-MNIST", "ImageNet MobileNet (alpha 1.0)"} <= set(table["resource"])


def test_home_offline_without_fashion_mnist(monkeypatch, tmp_path):
    """No Debian folder, no Keras cache, no network: Home says so and how to get it."""
    monkeypatch.setenv("MML7_FASHION_MNIST_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("MML7_OFFLINE", "1")
    import streamlit as st

    from mml7 import resources

    resources.network_available.cache_clear()
    st.cache_data.clear()  # the status table is cached between reruns
    try:
        at = AppTest.from_file(str(ROOT / "pages" / "home.py")).run()
        assert not at.exception
        table = at.dataframe[0].value
        fashion = table[table["resource"] == "Fashion-MNIST"].iloc[0]
        assert fashion["state"] == "unavailable"
        assert "apt-get install dataset-fashion-mnist" in fashion["where / how to get it"]
        weights = table[table["resource"] == "ImageNet MobileNet (alpha 1.0)"].iloc[0]
        assert weights["state"] == "unavailable"
        assert any("dataset-fashion-mnist" in info.value for info in at.info)
    finally:
        resources.network_available.cache_clear()
        st.cache_data.clear()


@pytest.mark.parametrize("script", PAGE_SCRIPTS, ids=lambda s: Path(s).stem)
def test_page_runs_offline_without_data(script, monkeypatch, tmp_path):
    """No Fashion-MNIST anywhere and no network: every page still runs and explains."""
    import keras
    import streamlit as st

    from mml7 import data, resources

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setenv("MML7_FASHION_MNIST_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # for mml7's look-ups
    monkeypatch.setenv("MML7_OFFLINE", "1")
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    data._fashion_mnist_uint8.cache_clear()
    resources.network_available.cache_clear()
    st.cache_data.clear()
    try:
        at = AppTest.from_file(script, default_timeout=300).run()
        assert not at.exception, [e.value for e in at.exception]
    finally:
        data._fashion_mnist_uint8.cache_clear()
        resources.network_available.cache_clear()
        st.cache_data.clear()


def test_big_freed_blocks_go_back_to_the_os_on_glibc():
    import platform

    import app_ui

    applied = app_ui.return_big_blocks_to_the_os()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert applied is True
    else:
        assert applied is False
