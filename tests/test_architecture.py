"""The package's shape, checked from its source with `ast` (no models): no import cycles among
its modules, functions and classes short enough to read in one go, and CLI help that lists what
the registries hold."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit  # no models, servers or network (make test-unit)

PACKAGE = Path(__file__).resolve().parents[1] / "facefocal_data"
MAX_FUNCTION_LINES = 60
MAX_CLASS_LINES = 150

ALLOWED_CYCLES: list[set[str]] = []
# the modules that hold a whole recipe: loading it, building with it, shipping it to workers,
# checking it, the CLI over them, and the tools that write recipes; the stages take their sections
RECIPE_HOLDERS = {
    "facefocal_data/__init__.py",
    "facefocal_data/config.py",
    "facefocal_data/pipeline.py",
    "facefocal_data/engines.py",
    "facefocal_data/staging.py",
    "facefocal_data/preflight.py",
    "facefocal_data/cli/build.py",
    "facefocal_data/trainers/smoke.py",
    "facefocal_data/truth/audit.py",
    "facefocal_data/truth/calibration.py",
    "facefocal_data/truth/pairs.py",
}
# offenders, each with why it stays (none today: a new one needs a reason here)
ALLOWED_LONG: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """Imports under `if TYPE_CHECKING:` never run, so they make no cycle."""
    return {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in ast.walk(node)
    }


def _imported(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """Every module name an import statement may load (function-level imports included)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    if node.level:
        stem = base[: len(base) - (node.level - 1)]
        target = ".".join([*stem, node.module] if node.module else stem)
    else:
        target = node.module or ""
    yield target
    yield from (f"{target}.{alias.name}" for alias in node.names)


def _with_parents(name: str, modules: dict[str, Path]) -> set[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ first."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & modules.keys()


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        tree = ast.parse(path.read_text())
        skip = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in skip:
                for name in _imported(module, path, node):
                    graph[module] |= _with_parents(name, modules)
        # a module's own packages are loaded before it: an edge to them is no cycle
        graph[module] -= _with_parents(module, modules)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while (w := stack.pop()) != v:
                component.add(w)
            component.add(v)
            if len(component) > 1:
                found.append(component)

    for v in graph:
        if v not in index:
            visit(v)
    return found


def long_definitions() -> Iterator[tuple[str, int, int]]:
    """(path:qualified name, lines, limit) of every function or class over its limit."""
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).as_posix()

        def walk(node: ast.AST, prefix: str, rel: str = rel) -> Iterator[tuple[str, int, int]]:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    lines = (child.end_lineno or child.lineno) - child.lineno + 1
                    limit = MAX_CLASS_LINES if isinstance(child, ast.ClassDef) else MAX_FUNCTION_LINES
                    if lines > limit:
                        yield f"{rel}:{prefix}{child.name}", lines, limit
                    yield from walk(child, f"{prefix}{child.name}.")

        yield from walk(ast.parse(path.read_text()), "")


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert [c for c in found if c not in ALLOWED_CYCLES] == [], f"import cycles: {[sorted(c) for c in found]}"
    gone = [sorted(c) for c in ALLOWED_CYCLES if c not in found]
    assert not gone, f"no longer a cycle: remove {gone} from ALLOWED_CYCLES"


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [{"a", "b", "c"}]


def test_no_function_over_60_lines_and_no_class_over_150() -> None:
    long = {name: f"{name} ({lines} > {limit})" for name, lines, limit in long_definitions()}
    found = [text for name, text in long.items() if name not in ALLOWED_LONG]
    assert not found, f"too long to read in one go: {found}"
    gone = sorted(ALLOWED_LONG.keys() - long.keys())
    assert not gone, f"short enough now: remove {gone} from ALLOWED_LONG"


def recipe_holders() -> set[str]:
    """Modules that import `Recipe` or take a parameter annotated with it."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            imports = isinstance(node, ast.ImportFrom) and any(a.name == "Recipe" for a in node.names)
            takes = (
                isinstance(node, ast.arg)
                and node.annotation is not None
                and "Recipe" in _names(node.annotation)
            )
            if imports or takes:
                found.add(path.relative_to(PACKAGE.parent).as_posix())
    return found


def _names(node: ast.AST | None) -> set[str]:
    """The names an annotation mentions (a quoted one as its text)."""
    if node is None:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def test_only_the_recipe_holders_take_the_whole_recipe() -> None:
    """A stage takes its own section (the detector its `detector:` block), not the recipe."""
    holders = recipe_holders()
    assert sorted(holders - RECIPE_HOLDERS) == [], "pass these modules their recipe sections instead"
    assert sorted(RECIPE_HOLDERS - holders) == [], "no longer holds the recipe: remove from RECIPE_HOLDERS"


def test_cli_help_lists_what_the_registries_hold() -> None:
    from typer.testing import CliRunner

    from facefocal_data.cli import app
    from facefocal_data.describe import DESCRIBERS
    from facefocal_data.exporters import EXPORTERS
    from facefocal_data.sources import SOURCES

    def help_text(command: str) -> str:
        result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "400", "NO_COLOR": "1"})
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    build, export = help_text("build"), help_text("export")
    assert f"Input format: {', '.join(SOURCES.names())}." in build
    assert f"describer: {', '.join(DESCRIBERS.names())}, none." in build
    assert f"One of: {', '.join(EXPORTERS.names())}." in export
