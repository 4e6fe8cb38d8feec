"""The extras install what their tests need and constraints.txt pins them: `pip install -e '.[test]'`
alone runs the suite (only the optional backends' and trainers' tests skip), and every version
`make` pins satisfies pyproject.toml's range."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.unit
tomllib = pytest.importorskip("tomllib")

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
NAME = canonicalize_name(PROJECT["name"])
# imported only where their tests skip without them (or by the trainers' own venvs)
OPTIONAL = {"ray", "feat", "deepface", "llamafactory", "swift", "torch", "torchvision", "qwen_vl_utils"}
# `make install` adds mediapipe with --no-deps (its declared deps break cv2); pyproject lists what it needs
BESIDE = {"mediapipe"}


def _requirements(extras: set[str]) -> list[Requirement]:
    """The project's requirements with these extras, self-references (`facefocal-data[eval]`) followed."""
    wanted, seen, out = set(extras), set(), []
    while wanted - seen:
        extra = (wanted - seen).pop()
        seen.add(extra)
        for text in PROJECT["optional-dependencies"][extra]:
            req = Requirement(text)
            if canonicalize_name(req.name) == NAME:
                wanted |= req.extras
            else:
                out.append(req)
    return [Requirement(text) for text in PROJECT["dependencies"]] + out


def _installed_closure(requirements: list[Requirement]) -> set[str]:
    """The distributions these requirements install, their own dependencies included."""
    todo = [(r, set(r.extras)) for r in requirements]
    found: set[str] = set()
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        if name in found or (req.marker and not req.marker.evaluate({"extra": ""})):
            continue
        found.add(name)
        for text in metadata.requires(req.name) or []:
            sub = Requirement(text)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras | {""}):
                todo.append((sub, set(sub.extras)))
    return found


def _third_party_imports() -> Iterator[tuple[str, Path]]:
    """(top-level module, file) of every absolute import in the package and its tests."""
    for path in [*(REPO / "facefocal_data").rglob("*.py"), *(REPO / "tests").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("facefocal_data", "tests"):
                    yield top, path


def test_the_test_extra_installs_every_module_the_suite_imports() -> None:
    installed = _installed_closure(_requirements({"test"}))
    providers = metadata.packages_distributions()
    missing = {}
    for module, path in _third_party_imports():
        if module in OPTIONAL | BESIDE or module not in providers:
            continue  # absent here too: an optional backend's module (its tests skip)
        if not {canonicalize_name(d) for d in providers[module]} & installed:
            missing[module] = path.relative_to(REPO).as_posix()
    assert not missing, f"imported, but `pip install -e '.[test]'` does not install them: {missing}"


def test_constraints_pin_every_requirement_make_installs_within_its_range() -> None:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if match := re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line.strip()):
            pins[canonicalize_name(match[1])] = match[2]
    wrong = {}
    for req in _requirements({"test", "ray", "eval", "pandas"}):
        pinned = pins.get(canonicalize_name(req.name))
        if pinned is None or not req.specifier.contains(pinned, prereleases=True):
            wrong[str(req)] = pinned
    assert not wrong, f"constraints.txt misses or contradicts: {wrong}"
