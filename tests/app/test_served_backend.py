"""The served app's backend: Keras's NumPy backend runs the pages' models, and what
trains goes to a TensorFlow child process (mml7.worker). The page tests that train run
again in a process with that backend, as `streamlit run` has (app.router)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT

TRAINING_PAGE_TESTS = [
    # the advisor's four strategies: models with a MobileNet inside come back by pickling
    "tests/app/test_transfer_page.py::test_lfw_whole_flow_advice_depths_four_strategies_and_verdict",
    # a segmentation retrain: the max-unpooling layer comes back and predicts here
    "tests/app/test_segmentation_page.py::test_retrain_with_a_tiny_configuration",
]


@pytest.mark.integration
def test_training_pages_pass_with_the_served_apps_numpy_backend():
    env = {**os.environ, "KERAS_BACKEND": "numpy", "TF_CPP_MIN_LOG_LEVEL": "2"}
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TRAINING_PAGE_TESTS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    assert f"{len(TRAINING_PAGE_TESTS)} passed" in completed.stdout
