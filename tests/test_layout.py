"""The package's shape: stages import only stages below them, no import circles, small functions.

STYLE.md: a stage imports only stages below it (cli and run at the top, store and config at the
bottom). The order lives here, in one list; a new module in a stage needs no change, a new stage
does.
"""

from __future__ import annotations

import ast
import tomllib
from collections import defaultdict
from pathlib import Path

import feeds

PACKAGE = Path(feeds.__file__).parent
ROOT = PACKAGE.parent

# Bottom to top. The shared modules at the top of feeds/ sit below every stage.
STAGES = [
    "config",
    "errors",
    "model",
    "store",
    "read",
    "site",
    "publish",
    "mail",
    "run",
    "web",
    "cli",
]
SHARED = {"feeds", "feeds.config", "feeds.config.checks", "feeds.errors", "feeds.model"}
LOOSE = {"__init__.py", "__main__.py", "errors.py", "model.py", "py.typed"}
MAX_FUNCTION_LINES = 80


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, ast.Module]:
    return {
        _module_name(path): ast.parse(path.read_text(encoding="utf-8"), str(path))
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def _imports(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """Every feeds module that `name` imports, at module level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("feeds"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("feeds"):
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    found.discard(name)
    return found


def _stage(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return 0  # the package face: feeds/__init__.py
    return STAGES.index(parts[1])


def _graph() -> dict[str, set[str]]:
    trees = _modules()
    known = set(trees)
    return {name: _imports(name, tree, known) for name, tree in trees.items()}


def test_every_module_lives_in_a_known_stage() -> None:
    strays = [
        name
        for name in _modules()
        if len(name.split(".")) > 1
        and name.split(".")[1] not in STAGES
        and name != "feeds.__main__"
    ]
    assert strays == []


def test_only_the_shared_modules_are_loose_at_the_top() -> None:
    loose = {p.name for p in PACKAGE.iterdir() if p.is_file()}
    assert loose <= LOOSE


def test_no_stage_imports_a_higher_one() -> None:
    upward = []
    for module, imported in _graph().items():
        if module == "feeds.__main__":
            continue
        for target in imported:
            if target in SHARED or target.split(".")[1] == module.split(".")[1]:
                continue
            if _stage(target) > _stage(module):
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_no_import_circles() -> None:
    graph = _graph()
    circles: list[list[str]] = []
    state: dict[str, int] = defaultdict(int)  # 0 new, 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in graph or (target in SHARED and target == "feeds"):
                continue
            if state[target] == 1:
                circles.append([*stack[stack.index(target) :], target])
            elif state[target] == 0:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if state[node] == 0:
            visit(node)
    assert circles == []


def test_no_function_is_longer_than_80_lines() -> None:
    long = []
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name}: {length} lines")
    assert long == []


def test_every_stage_says_what_it_owns() -> None:
    for stage in STAGES[3:]:
        init = PACKAGE / stage / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and "may import" in doc.lower(), stage


def test_packaging_lists_every_stage_and_the_templates() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(pyproject["tool"]["setuptools"]["packages"])
    stages = {f"feeds.{p.name}" for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert stages | {"feeds", "feeds.templates", "feeds.templates.init"} == listed
    assert (ROOT / "templates" / "base.html").is_file()
