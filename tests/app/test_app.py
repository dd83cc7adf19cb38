"""App smoke tests: the router and every page run without an exception (AppTest)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import registry
from tests.helpers import ROOT, open_page

PAGE_NAMES = [page.url_path for page in registry.pages()]


def test_registry_lists_every_page_script():
    """A script in pages/ that the registry lacks would be unreachable (and untested)."""
    scripts = sorted(path.name for path in (ROOT / "pages").glob("*.py"))
    assert scripts == sorted(Path(page.script).name for page in registry.pages())


def test_router_opens_home():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120).run()
    assert not at.exception
    assert "mml7" in at.title[0].value


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_page_runs(name):
    at = open_page(name).run()
    assert not at.exception, [e.value for e in at.exception]


def test_home_status_table_lists_resources():
    at = open_page("home").run()
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
        at = open_page("home").run()
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


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_page_runs_offline_without_data(name, monkeypatch, tmp_path):
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
        at = open_page(name).run()
        assert not at.exception, [e.value for e in at.exception]
    finally:
        data._fashion_mnist_uint8.cache_clear()
        resources.network_available.cache_clear()
        st.cache_data.clear()


def test_big_freed_blocks_go_back_to_the_os_on_glibc():
    import platform

    from app import router

    applied = router.return_big_blocks_to_the_os()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert applied is True
    else:
        assert applied is False


def test_the_server_runs_keras_numpy_backend_unless_one_is_chosen():
    """Before Keras is imported, an unset KERAS_BACKEND becomes NumPy; a set one, or a
    Keras already imported (this test process), is left alone."""
    import os
    import subprocess
    import sys

    from app import router

    environ: dict = {}
    assert router.choose_keras_backend(environ, {}) == "numpy" == environ["KERAS_BACKEND"]
    environ = {"KERAS_BACKEND": "jax"}
    assert router.choose_keras_backend(environ, {}) is None and environ["KERAS_BACKEND"] == "jax"
    environ = {}
    assert router.choose_keras_backend(environ, {"keras": object()}) is None and environ == {}
    # A fresh process that imports the app first, as `streamlit run` does.
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "import app, keras, mml7.worker as w; print(keras.backend.backend(), w.can_train_here())",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert found == ["numpy", "False"]


def test_long_lived_objects_are_frozen_once_per_new_library(monkeypatch):
    """After a run that imported TensorFlow, Streamlit's two collections per rerun scan
    only what later runs make (app/router.py says why)."""
    import gc

    import keras  # noqa: F401  (a long-lived library, as after a model page's run)

    from app import router

    monkeypatch.setattr(router, "_FROZEN_WITH", set())
    try:
        assert router.freeze_long_lived_objects()
        assert gc.get_freeze_count() > 100_000 and "keras" in router._FROZEN_WITH
        assert not router.freeze_long_lived_objects()  # nothing new was imported
    finally:
        gc.unfreeze()
