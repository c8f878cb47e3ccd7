"""The import graph holds its shape: no circle, no import up a layer, and the pure layers touch no I/O.

A rule over paths, not a list: a module's layer is its folder (`calendar_service/core/...`), so a new
module is checked by where it is put. Read from the source with `ast` (cheap: no interpreter per
module), every `import` counted (module level, `if TYPE_CHECKING:` and inside functions alike: a lazy
import is still an import). One fresh interpreter then imports the pure layers at once, to check the
reading against the real thing.
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

# The layers, lowest first, and what each may import of this package. A module's layer is its folder
# (`calendar_service/<layer>/...`, or `services.py`); a new module is covered by where it is put.
MAY_IMPORT: dict[str, frozenset[str]] = {}
for _layer, _also in (
    ("core", ()),
    ("render", ("core",)),
    ("adapters", ("core", "render")),
    ("worker", ("core", "render", "adapters")),
    ("services", ("core", "render", "adapters", "worker")),
    ("application", ("core", "render", "adapters", "worker", "services")),
    ("web", ("core", "render", "adapters", "worker", "services", "application")),
    ("cli", ("core", "render", "adapters", "worker", "services", "application", "web")),
):
    MAY_IMPORT[_layer] = frozenset((_layer, *_also))
PURE = ("core", "render")
# What a pure module may import beyond the standard library: parsing and date libraries, no I/O.
PURE_THIRD_PARTY = frozenset({"pydantic", "pydantic_core", "dateutil", "yaml", "pycountry"})
# Standard-library modules that mean threads, sockets, processes or a database: never in the pure layers.
IMPURE_STDLIB = frozenset(
    {
        "threading",
        "asyncio",
        "concurrent",
        "socket",
        "selectors",
        "subprocess",
        "multiprocessing",
        "sqlite3",
        "http",
    }
)
THIRD_PARTY_ADAPTERS = (
    "flask",
    "werkzeug",
    "sqlalchemy",
    "requests",
    "urllib3",
    "apscheduler",
    "psycopg",
    "aiohttp",
)


@dataclass
class Module:
    """One module's imports: of this package (all, and those run at import time) and third-party roots."""

    every: set[str] = field(default_factory=set)
    eager: set[str] = field(default_factory=set)
    external: set[str] = field(default_factory=set)
    every_external: set[str] = field(default_factory=set)


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
                else:
                    module.every_external.add(target.split(".")[0])
                    if eager:
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
    assert "calendar_service.core.validation" in modules["calendar_service.core.datafile"].eager
    assert "calendar_service.worker.service" in modules["calendar_service.services"].every  # in a def
    assert "calendar_service.worker.service" not in modules["calendar_service.services"].eager
    assert "sqlalchemy" in modules["calendar_service.adapters.db"].external


def layer_of(name: str) -> str:
    """The layer a module of the package belongs to: its folder under `calendar_service/`."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "root"


def impure_imports(module: Module) -> set[str]:
    """What a module imports that a pure layer may not: third parties beyond parsing, or threads and I/O."""
    stdlib = module.every_external & sys.stdlib_module_names
    return (module.every_external - stdlib - PURE_THIRD_PARTY) | (stdlib & IMPURE_STDLIB)


def test_every_module_sits_in_a_layer() -> None:
    """Nothing sits at the root of the package but the package itself and the composition root."""
    stray = sorted(
        name for name in graph() if name != "calendar_service" and layer_of(name) not in MAY_IMPORT
    )
    assert stray == [], f"put these in a layer's folder (core, render, adapters, worker, ...): {stray}"


def test_no_import_runs_up_a_layer() -> None:
    upward = sorted(
        f"{name} → {target}"
        for name, module in graph().items()
        if name != "calendar_service"
        for target in module.every
        if target != "calendar_service" and layer_of(target) not in MAY_IMPORT[layer_of(name)]
    )
    assert upward == []


def test_the_pure_layers_touch_no_io() -> None:
    """core/ and render/ import no web framework, database, HTTP client, scheduler, thread or socket."""
    leaks = {}
    for name, module in graph().items():
        if name == "calendar_service" or layer_of(name) not in PURE:
            continue
        bad = impure_imports(module)
        if bad:
            leaks[name] = sorted(bad)
    assert leaks == {}


def test_the_rule_would_catch_a_leak() -> None:
    """The path rule reads what is written: a core module importing threading or Flask is found."""
    module = Module()
    source = "import threading, datetime\nimport yaml\ndef f():\n    from flask import g\n"
    for node, _eager in _imports(ast.parse(source).body, eager=True):
        for target in _targets(node, "calendar_service.core", {}):
            module.every_external.add(target.split(".")[0])
    assert impure_imports(module) == {"threading", "flask"}


def test_a_fresh_interpreter_agrees() -> None:
    pure = sorted(n for n in graph() if n != "calendar_service" and layer_of(n) in PURE)
    probe = (
        f"import importlib, sys\nfor m in {pure!r}: importlib.import_module(m)\n"
        f"print(','.join(sorted(m for m in {THIRD_PARTY_ADAPTERS!r} if m in sys.modules)))"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "", f"the pure layers pull in {found.stdout.strip()}"
