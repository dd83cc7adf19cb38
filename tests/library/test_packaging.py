"""`pip install .` gives a working mml7: every subpackage, the shipped weights and the
`mml7` command, loaded from the installed wheel rather than from this checkout.

The wheel is built offline from a copy of the sources (the build writes build/ and
*.egg-info next to them) and installed with --no-deps into a fresh virtual environment
that borrows this environment's third-party packages through a .pth file. The test
environment has mml7 installed editable, but its editable finder is a .pth hook that
only runs in a real site directory, so the fresh environment cannot pick it up; the
test checks that ``mml7.__file__`` lies inside the fresh environment.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SUBPACKAGES = ("transfer", "segmentation", "autoencoders", "similarity", "plots")


def _run(command: list, cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """mml7's wheel, built without network or build isolation (this venv's setuptools)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "mml7", source / "mml7", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    pip_wheel = ["wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", out, "."]
    _run([sys.executable, "-m", "pip", *pip_wheel], cwd=source)
    (found,) = out.glob("mml7-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; returns the venv's folder."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    # This environment's pip installs into the fresh interpreter (no ensurepip: faster),
    # before the .pth below exists, so pip sees no other mml7 there.
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
          "--no-index", wheel], cwd=env_dir)  # fmt: skip
    site_packages = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=env_dir
    ).stdout.strip()
    borrowed = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    assert str(ROOT) not in borrowed
    (Path(site_packages) / "borrowed_test_packages.pth").write_text("\n".join(borrowed) + "\n")
    return env_dir


def test_wheel_holds_every_subpackage_the_weights_and_the_command(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for package in SUBPACKAGES:
        assert f"mml7/{package}/__init__.py" in names
    shipped = {Path(name).name for name in names if name.startswith("mml7/weights/")}
    assert shipped == {path.name for path in (ROOT / "mml7" / "weights").iterdir()}
    assert {"segmentation_max.weights.h5", "ae_conv_32.weights.h5", "autoencoders.json"} <= shipped
    # The advisor's precomputed signals of the built-in sets (python -m mml7 measure advisor).
    assert "mml7/transfer/builtin_signals.json" in names
    # The galleries' precomputed scores (python -m mml7 measure similarity).
    assert "mml7/similarity/builtin_scores.json" in names
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "mml7 = mml7.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_command_reports_the_data_sets(installed, tmp_path):
    result = _run([installed / "bin" / "mml7", "status"], cwd=tmp_path)
    assert "Fashion-MNIST" in result.stdout
    assert "Digits (8x8)" in result.stdout


def test_installed_package_loads_its_shipped_weights(installed, tmp_path):
    script = (
        "import mml7, mml7.autoencoders as a, mml7.segmentation as s, numpy as np\n"
        "import mml7.transfer, mml7.similarity, mml7.plots.segmentation\n"
        "print(mml7.__file__)\n"
        "import mml7.shipped; print(mml7.shipped.weights_dir())\n"
        "model = a.pretrained('conv', 32)\n"
        "print('code', model.encode(np.zeros((1, 28, 28, 1), np.float32)).shape)\n"
        "print('segmenter', s.pretrained('max').output_shape)\n"
    )
    lines = _run([installed / "bin" / "python", "-c", script], cwd=tmp_path).stdout.splitlines()
    package_file, weights_dir = Path(lines[0]).resolve(), Path(lines[1]).resolve()
    assert package_file.is_relative_to(installed.resolve())
    assert weights_dir.is_relative_to(installed.resolve())
    assert "code (1, 32)" in lines
    assert any(line.startswith("segmenter (None,") for line in lines)
