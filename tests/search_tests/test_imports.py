"""Import rules: no circle in a package, no other package's private module, search.plots lean."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.search_tests._services import REPO_ROOT


def _module_name(path: Path, root: Path) -> str:
    """``search/_loop.py`` -> ``search._loop``; a package's ``__init__.py`` -> the package."""
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_names(path: Path) -> set[str]:
    """Every dotted name ``path`` imports, function-local imports included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """Each module of the package at ``root`` (subpackages included) -> its modules it imports."""
    paths = {_module_name(path, root): path for path in root.rglob("*.py")}
    return {
        name: {module for module in _imported_names(path) if module in paths} - {name}
        for name, path in paths.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle of ``graph`` as ``[a, b, ..., a]``, or ``[]`` when there is none."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str]:
        if name in path:
            return path[path.index(name) :] + [name]
        if name in done:
            return []
        for dependency in sorted(graph[name]):
            cycle = visit(dependency, path + [name])
            if cycle:
                return cycle
        done.add(name)
        return []

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return []


def test_find_cycle_reports_a_circle_through_a_local_import() -> None:
    # a -> b -> c -> a is found, and a graph without it has none
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


@pytest.mark.parametrize("package", ["search", "model"])
def test_imports_package_has_no_import_circle(package: str) -> None:
    graph = import_graph(REPO_ROOT / package)
    # no module reaches itself through the package's imports, at module top or in a function
    assert find_cycle(graph) == []


PACKAGES = ("data_pipeline", "model", "search")


def _private_imports(path: Path, own: str | None) -> list[str]:
    """Private modules (``pkg._name``) of the project's packages other than ``own``."""
    return sorted(
        name
        for name in _imported_names(path)
        if name.split(".")[0] in PACKAGES
        and name.split(".")[0] != own
        and any(part.startswith("_") for part in name.split(".")[1:2])
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_package_uses_only_public_modules_of_the_others(package: str) -> None:
    found = {
        str(path.relative_to(REPO_ROOT)): _private_imports(path, package)
        for path in (REPO_ROOT / package).rglob("*.py")
    }
    # product code reaches another package through its public modules and re-exports only
    assert {path: names for path, names in found.items() if names} == {}


def test_imports_benchmarks_use_public_names_and_leave_sys_path_alone() -> None:
    scripts = sorted((REPO_ROOT / "benchmarks").rglob("*.py"))
    private = {str(p.relative_to(REPO_ROOT)): _private_imports(p, None) for p in scripts}
    # benchmarks are clients of the packages: public names only, found without sys.path edits
    assert {path: names for path, names in private.items() if names} == {}
    assert [p.name for p in scripts if "sys.path" in p.read_text(encoding="utf-8")] == []


def test_imports_search_plots_does_not_load_keras() -> None:
    code = "import sys, search.plots; print('keras' in sys.modules, 'tensorflow' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120
    )
    # redrawing plots needs Optuna, plotly, matplotlib and MLflow, never Keras or TensorFlow
    assert result.stdout.split() == ["False", "False"], result.stderr
