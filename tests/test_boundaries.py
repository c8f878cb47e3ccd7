"""The import graph holds its shape: no circle anywhere, and the pure core reaches no adapter.

Read from the source with `ast` (cheap: no interpreter per module), every `import` counted for circles
(module level, `if TYPE_CHECKING:` and inside functions alike: a lazy import is still a circle), and the
imports that run at import time followed, parent packages included, for what the core pulls in. One
fresh interpreter then imports the whole core at once, to check the reading against the real thing.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "calendar_service"
CORE = (
    "calendar_service.annotations",
    "calendar_service.application.deadlines",
    "calendar_service.datafile",
    "calendar_service.diff",
    "calendar_service.diffreport",
    "calendar_service.feeds",
    "calendar_service.filters",
    "calendar_service.jsonview",
    "calendar_service.model",
    "calendar_service.publication",
    "calendar_service.reminders.messages",
    "calendar_service.reminders.planning",
    "calendar_service.reminders.records",
    "calendar_service.review",
    "calendar_service.settings",
    "calendar_service.store",
    "calendar_service.subscriptions",
    "calendar_service.timing",
    "calendar_service.validation",
    "calendar_service.vtimezone",
    "calendar_service.webhooks.attempt",
    "calendar_service.webhooks.payloads",
    "calendar_service.webhooks.retry",
    "calendar_service.yamlsource",
)
THIRD_PARTY_ADAPTERS = ("flask", "werkzeug", "sqlalchemy", "requests", "urllib3", "apscheduler", "psycopg")
OWN_ADAPTERS = (
    "calendar_service.web",
    "calendar_service.cli",
    "calendar_service.db",
    "calendar_service.services",
    "calendar_service.webhooks.client",
    "calendar_service.reminders.service",
    "calendar_service.reminders.delivery",
)


@dataclass
class Module:
    """One module's imports: of this package (all, and those run at import time) and third-party roots."""

    every: set[str] = field(default_factory=set)
    eager: set[str] = field(default_factory=set)
    external: set[str] = field(default_factory=set)


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def graph() -> dict[str, Module]:
    """Every module of the package and what it imports."""
    paths = {_name(p): p for p in PACKAGE.rglob("*.py")}
    modules: dict[str, Module] = {}
    for name, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        module = modules[name] = Module()
        for node, eager in _imports(tree.body, eager=True):
            for target in _targets(node, here, paths):
                if target.startswith("calendar_service"):
                    module.every.add(target)
                    if eager:
                        module.eager.add(target)
                elif eager:
                    module.external.add(target.split(".")[0])
        module.every.discard(name)
    return modules


def _imports(body: list[ast.stmt], *, eager: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Each import statement and whether it runs at import time (not under TYPE_CHECKING, not in a def)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, eager
        elif isinstance(node, ast.If):
            checking = "TYPE_CHECKING" in ast.unparse(node.test)
            yield from _imports(node.body, eager=eager and not checking)
            yield from _imports(node.orelse, eager=eager)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _imports(block, eager=eager)
        elif isinstance(node, ast.With | ast.ClassDef):  # a class body runs at import, its methods do not
            yield from _imports(node.body, eager=eager)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from ((n, False) for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom))


def _targets(node: ast.Import | ast.ImportFrom, here: str, paths: dict[str, Path]) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    base = node.module or ""
    if node.level:
        package = here.split(".")[: len(here.split(".")) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    found = set()
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        found.add(submodule if submodule in paths else base)
    return found


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def loaded_by(name: str) -> tuple[set[str], set[str]]:
    """What importing `name` runs: modules of this package (parents included) and third-party roots."""
    modules = graph()
    seen: set[str] = set()
    external: set[str] = set()
    todo = _with_parents(name)
    while todo:
        current = todo.pop()
        if current in seen or current not in modules:
            continue
        seen.add(current)
        external |= modules[current].external
        for target in modules[current].eager:
            todo.extend(_with_parents(target))
    return seen, external


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    modules = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(modules[node].every & modules.keys()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in sorted(modules):
        if name not in index:
            visit(name)
    return found


def test_the_import_graph_has_no_circle() -> None:
    assert _cycles() == []


def test_the_reading_sees_imports_of_every_kind() -> None:
    """The graph is not trivially empty: known edges of each kind are there."""
    modules = graph()
    assert "calendar_service.validation" in modules["calendar_service.datafile"].eager
    assert "calendar_service.reminders.service" in modules["calendar_service.services"].every  # in a def
    assert "calendar_service.reminders.service" not in modules["calendar_service.services"].eager
    assert "sqlalchemy" in modules["calendar_service.db"].external


def test_the_core_imports_no_adapter() -> None:
    leaks = {}
    for name in CORE:
        own, external = loaded_by(name)
        bad = sorted(external & set(THIRD_PARTY_ADAPTERS)) + sorted(
            m for m in own if any(m == a or m.startswith(a + ".") for a in OWN_ADAPTERS)
        )
        if bad:
            leaks[name] = bad
    assert leaks == {}


def test_a_fresh_interpreter_agrees() -> None:
    probe = (
        f"import importlib, sys\nfor m in {CORE!r}: importlib.import_module(m)\n"
        f"print(','.join(sorted(m for m in {THIRD_PARTY_ADAPTERS!r} if m in sys.modules)))"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "", f"the core pulls in {found.stdout.strip()}"
