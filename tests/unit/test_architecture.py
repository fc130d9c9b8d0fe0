"""Rules of the layout that import-linter does not see (its contracts in pyproject.toml run
in `make test` as lint-imports)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _nodes(folder: str):
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            yield path.relative_to(ROOT), node


def test_the_domain_never_commits():
    """The caller (view, job, command) owns the transaction."""
    found = [
        f"{path}:{node.lineno}"
        for path, node in _nodes("app/drip")
        if isinstance(node, ast.Attribute) and node.attr in ("commit", "rollback")
    ]
    assert found == []


def test_no_function_imports_the_app():
    """An import of the app's own code inside a function dodges a cycle: a cycle means a piece
    is in the wrong place."""
    found = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                names = []
                if isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                if any(name == "app" or name.startswith("app.") for name in names):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
