"""The tests' own layout holds: folders mirror the package, and no test module imports another.

A test module that imports another drags that module's fixtures and tests along and ties the two
together; what both need lives in `tests/support/` (helpers) or a folder's `conftest.py` (fixtures).
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
FOLDERS = {
    "core",
    "render",
    "adapters",
    "application",
    "worker",
    "web",
    "cli",
    "integration",
    "support",
    "data",
    "golden",
}


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_test_module_imports_another() -> None:
    offenders = sorted(
        f"{path.relative_to(TESTS)} imports {name}"
        for path in TESTS.rglob("*.py")
        for name in _imported(path)
        if name.startswith("tests.") and name.rpartition(".")[2].startswith("test_")
    )
    assert offenders == []


def test_every_test_folder_mirrors_a_layer() -> None:
    stray = sorted(
        str(path.relative_to(TESTS))
        for path in TESTS.iterdir()
        if path.is_dir() and not path.name.startswith((".", "__")) and path.name not in FOLDERS
    )
    assert stray == []
