"""mml7.worker: a training job in a child process, progress relayed, result and errors
brought back; in a process that can train, the job runs in place."""

from __future__ import annotations

import numpy as np
import pytest

from mml7 import worker
from mml7.errors import InputError
from tests.helpers import worker_jobs


def test_in_a_process_that_can_train_the_job_runs_in_place():
    seen = []
    model, inputs, outputs, backend = worker.run(
        worker_jobs.fit_tiny_model, 8, 2, callbacks={"progress": lambda *a: seen.append(a)}
    )
    import keras

    assert worker.can_train_here()
    assert backend == keras.backend.backend()  # this process's, not a child's
    assert seen == [(0.5, "epoch 1/2"), (1.0, "epoch 2/2")]
    np.testing.assert_allclose(np.asarray(model(inputs)), outputs, rtol=1e-6)


def test_a_child_trains_relays_progress_in_order_and_returns_a_working_model():
    seen = []
    model, inputs, outputs, backend = worker._run_in_child(
        worker_jobs.fit_tiny_model, (16, 3), {}, {"progress": lambda *a: seen.append(a)}
    )
    assert backend == worker.training_backend()
    assert seen == [(1 / 3, "epoch 1/3"), (2 / 3, "epoch 2/3"), (1.0, "epoch 3/3")]
    # The model came back as a .keras archive and runs here, with this process's backend.
    np.testing.assert_allclose(np.asarray(model(inputs)), outputs, rtol=1e-5)


def test_an_error_in_the_child_is_raised_here_as_itself():
    with pytest.raises(InputError, match="one class only"):
        worker._run_in_child(worker_jobs.refuse, ("one class only",), {}, {})


def test_a_child_that_dies_gives_a_clear_error_not_a_hang():
    with pytest.raises(worker.WorkerError, match="exit code 3"):
        worker._run_in_child(worker_jobs.die, (3,), {}, {})


def test_a_callback_that_raises_stops_the_child(monkeypatch):
    """What a Streamlit session that leaves does: its progress call raises."""
    started, processes = [], []
    popen = worker.subprocess.Popen

    def recorded(*args, **kwargs):
        processes.append(popen(*args, **kwargs))
        return processes[-1]

    monkeypatch.setattr(worker.subprocess, "Popen", recorded)

    def progress(fraction, message):
        started.append(fraction)
        raise KeyboardInterrupt("the session left")

    with pytest.raises(KeyboardInterrupt):
        worker._run_in_child(worker_jobs.fit_tiny_model, (8, 50), {}, {"progress": progress})
    assert started == [1 / 50]
    assert processes[0].returncode == -9  # killed, not left training


def test_the_child_imports_keras_without_its_optional_extras_which_jobs_can_still_import():
    """TensorFlow's Keras imports pandas, scikit-learn and JAX when they are installed
    (0.23 GB); the child hides them while Keras imports, and a job that needs one (the
    advisor's cross-validation: scikit-learn) still imports it."""
    names = worker.HIDDEN_AT_KERAS_IMPORT
    found, keras_imported, version = worker._run_in_child(
        worker_jobs.imported, (names, "sklearn"), {}, {}
    )
    assert keras_imported and found == dict.fromkeys(names, False)
    import sklearn

    assert version == sklearn.__version__
    modules = {"pandas": object()}  # already imported: left as it is
    import keras  # noqa: F401  (imported: import_keras_without adds nothing more)

    assert worker.import_keras_without(("pandas", "no_such_module"), modules) == ["no_such_module"]
    assert list(modules) == ["pandas"]  # the hidden name is importable again


def test_the_training_backend_is_never_the_inference_only_one():
    assert worker.training_backend({}) == "tensorflow"
    assert worker.training_backend({worker.BACKEND_VARIABLE: " JAX "}) == "jax"
    with pytest.raises(ValueError, match="cannot train"):
        worker.training_backend({worker.BACKEND_VARIABLE: "numpy"})
