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
    # Keras's NumPy backend imports JAX: without it the server stays on TensorFlow.
    no_jax = {"jax": None}.get
    assert router.choose_keras_backend(environ, {}, no_jax) is None and environ == {}
    assert router.choose_keras_backend(environ, {}, {"jax": "spec"}.get) == "numpy"
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


IMPORT_EVERYTHING = """
import importlib, pkgutil, sys
for name in sys.argv[1:]:
    sys.modules[name] = None  # as if its distribution were not installed
import app, keras, mml7
for package in (app, mml7):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
print(keras.backend.backend())
"""


def requirements_closure(path: Path) -> set[str]:
    """The distributions ``pip install -r path`` installs on this platform: the listed
    ones and, recursively, what their installed metadata requires."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    def wanted(line: str, extras=()) -> Requirement | None:
        requirement = Requirement(line)
        markers = [{"extra": extra} for extra in ("", *extras)]
        if requirement.marker and not any(requirement.marker.evaluate(m) for m in markers):
            return None
        return requirement

    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    todo = [r for line in lines if line and not line.startswith("-") if (r := wanted(line))]
    closure: set[str] = set()
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in closure:
            continue
        closure.add(name)
        for line in metadata.requires(requirement.name) or []:
            if (needed := wanted(line, requirement.extras)) is not None:
                todo.append(needed)
    return closure


def test_the_served_app_needs_only_what_requirements_txt_installs():
    """Streamlit Community Cloud and ``make run`` install requirements.txt only. In a fresh
    process where every module of any other installed distribution (the test tools, JAX
    before it was listed) cannot be imported, every app and mml7 module imports and the
    server gets its NumPy backend, as under ``streamlit run``."""
    import os
    import subprocess
    import sys
    from importlib import metadata

    from packaging.utils import canonicalize_name

    installed = requirements_closure(ROOT / "requirements.txt") | {"mml7"}
    assert {"streamlit", "keras", "jax"} <= installed
    blocked = sorted(
        module
        for module, owners in metadata.packages_distributions().items()
        if module not in sys.stdlib_module_names
        and not {canonicalize_name(owner) for owner in owners} & installed
    )
    assert "pytest" in blocked  # the test tools are there to block
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    found = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING, *blocked],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0, found.stderr[-2000:]
    assert found.stdout.split() == ["numpy"]


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
