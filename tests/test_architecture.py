"""Import direction api -> matcher -> features, checked on the source's syntax trees.

The same rules are in pyproject.toml for import-linter; this test also forbids reading the
environment in the core and needs no tool but the interpreter.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("api", "matcher", "features")  # each may import only the layers after it
CORE_FORBIDDEN = {"api", "sqlalchemy", "fastapi", "starlette", "alembic", "pydantic_settings", "uvicorn"}
SOLVER_ALLOWED = {
    "numpy",
    "scipy",
    "__future__",
    "dataclasses",
    "typing",
    "collections",
    "math",
    "time",
    "matcher",
}


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def _reads_environment(tree: ast.AST) -> bool:
    names = {"environ", "getenv", "environb"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in names:
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "os" and {a.name for a in node.names} & names:
            return True
    return False


def _parse(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize("layer", LAYERS)
def test_imports_only_go_down_the_layers(layer: str) -> None:
    above = set(LAYERS[: LAYERS.index(layer)])
    offenders = [
        f"{path.relative_to(ROOT)} imports {sorted(_imported_roots(_parse(path)) & above)}"
        for path in _sources(layer)
        if _imported_roots(_parse(path)) & above
    ]
    assert offenders == []


@pytest.mark.parametrize("package", ["matcher", "features"])
def test_the_core_stays_free_of_io_frameworks_and_the_environment(package: str) -> None:
    offenders = []
    for path in _sources(package):
        tree = _parse(path)
        if bad := _imported_roots(tree) & CORE_FORBIDDEN:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
        if _reads_environment(tree):
            offenders.append(f"{path.relative_to(ROOT)} reads the environment")
    assert offenders == []


def test_the_solver_is_a_numpy_scipy_leaf() -> None:
    sources = sorted((ROOT / "matcher" / "solver").glob("*.py"))
    assert sources, "matcher/solver/ holds no module"
    offenders = {
        str(path.relative_to(ROOT)): sorted(extra)
        for path in sources
        if (extra := _imported_roots(_parse(path)) - SOLVER_ALLOWED)
    }
    assert offenders == {}


def test_the_checker_catches_what_it_forbids() -> None:
    tree = ast.parse("import os\nfrom api.db import Base\nvalue = os.environ['X']\n")
    assert _imported_roots(tree) & {"api"} == {"api"}
    assert _reads_environment(tree)
    assert not _reads_environment(ast.parse("import numpy as np\n"))
