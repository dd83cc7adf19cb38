"""The library stays UI-free, and the package's command line answers."""

import ast
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_mml7_never_imports_streamlit():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "mml7").rglob("*.py")
        if "streamlit" in imported_modules(path)
    ]
    assert offenders == []


def test_importing_mml7_loads_no_streamlit():
    code = "import sys, mml7; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_status():
    out = subprocess.run(
        [sys.executable, "-m", "mml7", "status"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert "Fashion-MNIST" in out.stdout and "ImageNet MobileNet" in out.stdout
