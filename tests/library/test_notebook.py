"""examples/lecture.ipynb: committed without outputs, and runs top to bottom in quick mode.

The notebook runs in a kernel of this interpreter (a ``python3`` kernelspec written for the
test), with the repository root as its working directory and first on PYTHONPATH, so it
imports this checkout's mml7 (the test environment's editable install may point elsewhere).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "lecture.ipynb"
QUICK_TIMEOUT_S = 300  # per cell; a whole quick run takes about a minute on 2 cores

nbformat = pytest.importorskip("nbformat")


def _text(cell) -> str:
    """Everything a code cell printed (streams and plain-text results)."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif "data" in output and "text/plain" in output.data:
            parts.append(output.data["text/plain"])
    return "".join(parts)


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) >= 8
    for cell in code:
        assert cell.outputs == [], "strip the outputs before committing"
        assert cell.execution_count is None, "strip the execution counts before committing"
    assert notebook.metadata.kernelspec.name == "python3"
    first = code[0].source
    assert "MML7_QUICK" in first, "the first code cell reads the quick-mode switch"
    assert "streamlit" not in "".join(cell.source for cell in notebook.cells)


def _kernelspec_of_this_python(folder: Path) -> Path:
    """A Jupyter data folder whose ``python3`` kernel is this interpreter: put first on
    JUPYTER_PATH, it wins over any user-wide ``python3`` kernel of another Python."""
    kernel = folder / "kernels" / "python3"
    kernel.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "mml7 tests", "language": "python"}
    (kernel / "kernel.json").write_text(json.dumps(spec))
    return folder


@pytest.fixture(scope="module", params=["installed data", "bare machine"])
def executed(request, tmp_path_factory):
    """The notebook run in quick mode: its code cells with outputs. Once with what this
    machine has, once as on a machine without Fashion-MNIST and an empty Keras cache
    (no ImageNet weights), where it takes its fallbacks."""
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    environment = {
        "MML7_QUICK": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "JUPYTER_PATH": str(_kernelspec_of_this_python(tmp_path_factory.mktemp("jupyter"))),
        # A fresh Jupyter runtime folder: kernels' connection files stay out of $HOME.
        "JUPYTER_RUNTIME_DIR": str(tmp_path_factory.mktemp("jupyter-runtime")),
    }
    if request.param == "bare machine":
        environment["MML7_FASHION_MNIST_DIR"] = str(tmp_path_factory.mktemp("no-fashion"))
        environment["KERAS_HOME"] = str(tmp_path_factory.mktemp("empty-keras"))
    with pytest.MonkeyPatch.context() as patch:  # the kernel inherits this environment
        for name, value in environment.items():
            patch.setenv(name, value)
        nbclient.NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=QUICK_TIMEOUT_S,
            resources={"metadata": {"path": str(ROOT)}},
        ).execute()
    return request.param, [cell for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.integration
def test_notebook_runs_in_quick_mode_with_this_checkouts_mml7(executed):
    first = _text(executed[1][0])
    assert "quick mode: True" in first
    location = re.search(r"from (\S+__init__\.py)", first).group(1)
    assert Path(location).resolve() == ROOT / "mml7" / "__init__.py"


@pytest.mark.integration
def test_notebook_shows_the_lectures_results(executed):
    machine, executed = executed
    printed = "\n".join(_text(cell) for cell in executed)
    bare = machine == "bare machine"
    assert ("similarity not measured" in printed) == bare
    assert ("Fashion-MNIST is not installed; training on the digits" in printed) == bare
    # Part 1: the advice is a cell of the table; with ImageNet weights, from measurements.
    assert ("ImageNet similarity" in printed) != bare
    assert ("cut the extractor at: " in printed) != bare
    assert re.search(r"(train the head|fine-tune deeper|from scratch|collect more data)\.", printed)
    # Part 3: the slide's ranks, the error falling as k grows.
    errors = [float(e) for e in re.findall(r"k = +\d+: relative error ([\d.]+)", printed)]
    assert len(errors) == 4 and errors == sorted(errors, reverse=True)
    # Part 4: a linear autoencoder reconstructs as well as PCA, no better.
    ratio = float(re.search(r"linear AE / PCA MSE ratio: ([\d.]+)", printed).group(1))
    assert 0.95 <= ratio <= 1.15
    # Part 5: codes find neighbours of the query's class far above chance (10 classes).
    precision = float(re.search(r"AE codes *: .*precision@5\) ([\d.]+)", printed).group(1))
    assert precision > 0.5
    figures = sum(
        "application/vnd.plotly.v1+json" in output.get("data", {})
        for cell in executed
        for output in cell.outputs
    )
    assert figures >= 10
