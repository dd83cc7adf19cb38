"""The project's shape, checked statically: the limits the redesign set stay true.

- no module of mml7 over 600 lines, no function over 80 lines outside tests;
- no block of 10 or more lines written twice outside tests;
- one progress protocol, one Keras progress callback, one touch of Streamlit internals;
- a test imports no other test module and nothing from bench/.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

from tests.helpers import ROOT

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
MIN_REPEATED_LINES = 10


def python_files(*folders: str) -> list[Path]:
    files = []
    for folder in folders:
        path = ROOT / folder
        files += [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))
    return files


SOURCE = python_files("mml7", "app", "pages", "bench", "streamlit_app.py")
TESTS = python_files("tests")


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_no_mml7_module_over_600_lines():
    long = {
        relative(path): count
        for path in python_files("mml7")
        if (count := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_over_80_lines_outside_tests():
    long = []
    for path in SOURCE:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{relative(path)}:{node.lineno} {node.name} ({length} lines)")
    assert long == []


def code_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, stripped text) of lines that carry code (no blanks, comments, or
    lone brackets, which repeat everywhere)."""
    lines = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        text = line.strip()
        if text and not text.startswith("#") and not re.fullmatch(r"[\]\)\}:,]+", text):
            lines.append((number, text))
    return lines


def test_no_block_of_10_lines_written_twice_outside_tests():
    seen: dict[tuple, list[str]] = defaultdict(list)
    for path in SOURCE:
        lines = code_lines(path)
        for start in range(len(lines) - MIN_REPEATED_LINES + 1):
            window = tuple(text for _, text in lines[start : start + MIN_REPEATED_LINES])
            if sum(not text.startswith(("import ", "from ")) for text in window) < 6:
                continue  # import blocks are alike by nature
            seen[window].append(f"{relative(path)}:{lines[start][0]}")
    repeated = [places for places in seen.values() if len(places) > 1]
    assert repeated == []


@pytest.mark.parametrize(
    ("pattern", "allowed"),
    [
        (r"^Progress\s*=", {"mml7/progress.py"}),
        (r"\(\s*keras\.callbacks\.Callback\s*\)", {"mml7/progress.py"}),
        (r"streamlit\.runtime|PagesManager", {"app/router.py"}),
    ],
    ids=["progress-type", "keras-progress-callback", "streamlit-internals"],
)
def test_one_place_per_concern(pattern, allowed):
    found = {
        relative(path)
        for path in SOURCE
        if re.search(pattern, path.read_text(), flags=re.MULTILINE)
    }
    assert found <= allowed


def test_tests_import_no_test_module_and_no_bench():
    offenders = []
    for path in TESTS:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                last = name.split(".")[-1]
                if name.split(".")[0] == "bench" or last.startswith("test_") or last == "conftest":
                    offenders.append(f"{relative(path)} imports {name}")
    assert offenders == []
