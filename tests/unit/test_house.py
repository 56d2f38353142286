"""The house rules that keep the code easy to hold in one's head, checked on the source itself.

- No import circle between our modules, counting imports inside functions too (only ``if TYPE_CHECKING:`` imports,
  which never run, are left out): a circle is how a composition root ends up reaching back into a door.
- No module over 350 lines, and no function over 60, outside the tests.
- The layers point one way: pure logic imports no integration, door or composition root; models import no logic,
  integration or door; nothing outside ``tests/`` imports ``tests``.
- Code, docs and tests describe the project as it is: no work-item numbers, no planning notes.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# Where each top-level package lives: the Lambda's package is under lambda_src/, the CLI's under cli/.
PACKAGE_ROOTS = {
    "layercheck": REPO_ROOT / "lambda_src",
    "layercheck_cli": REPO_ROOT / "cli",
    "infra": REPO_ROOT,
    "local": REPO_ROOT,
    "bench": REPO_ROOT,
}
MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package, root in PACKAGE_ROOTS.items():
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    def walk(node: ast.AST) -> Iterator[ast.AST]:
        for child in ast.iter_child_nodes(node):
            if _is_type_checking_block(child):
                continue
            yield child
            yield from walk(child)

    for node in walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _imported_names(tree, module, path.name == "__init__.py")
        graph[module] = {name for name in names if name in modules and name != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root, root_imports in graph.items():
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(root_imports)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_cycles_finds_a_circle_when_there_is_one() -> None:
    # The detector itself: a -> b -> c -> a is one circle, d hangs off it.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_import_graph_sees_imports_inside_functions() -> None:
    graph = import_graph()
    # handler.py names its doors as strings, but dependencies.py imports the audit's services inside a factory.
    assert "layercheck.logic.image_check" in graph["layercheck.dependencies"]


def test_our_modules_import_each_other_without_a_circle() -> None:
    assert cycles(import_graph()) == []


@pytest.mark.parametrize("module", sorted(_modules()))
def test_no_module_is_longer_than_350_lines(module: str) -> None:
    path = _modules()[module]
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(REPO_ROOT)} has {lines} lines"


# What each layer must not import (prefixes of module names).
LAYER_RULES = {
    "layercheck.logic": (
        "layercheck.integrations",
        "layercheck.doors",
        "layercheck.dependencies",
        "layercheck.registry_services",
        "layercheck.handler",
        "layercheck.observability",
    ),
    "layercheck.models": ("layercheck.logic", "layercheck.integrations", "layercheck.doors", "layercheck.dependencies"),
}


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, imports in sorted(graph.items()):
        for layer, forbidden in LAYER_RULES.items():
            if module == layer or module.startswith(f"{layer}."):
                found += [f"{module} imports {name}" for name in sorted(imports) if name.startswith(forbidden)]
        found += [f"{module} imports {name}" for name in sorted(imports) if name.split(".")[0] == "tests"]
    return found


def test_layer_rule_finds_logic_reaching_an_integration() -> None:
    graph = {"layercheck.logic.audit": {"layercheck.integrations.ecr"}, "layercheck.models.api": set()}
    assert layer_violations(graph) == ["layercheck.logic.audit imports layercheck.integrations.ecr"]


def test_the_layers_point_one_way() -> None:
    graph = import_graph()
    graph |= {name: imports for name, imports in _test_support_imports().items() if not name.startswith("tests")}
    assert layer_violations(graph) == []


def _test_support_imports() -> dict[str, set[str]]:
    """Imports of ``tests`` from our packages (the import graph above only holds our packages' modules)."""
    found: dict[str, set[str]] = {}
    for module, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = set(_imported_names(tree, module, path.name == "__init__.py"))
        found[module] = {name for name in names if name == "tests" or name.startswith("tests.")}
    return found


# A work item's number or a plan's phase, as they read in prose (one work item or several, a lettered phase, a wiring
# note, a to-do marker). The examples in the tests below are assembled from parts, so this file holds none itself.
ITEM, PHASE = "issue", "phase"
PLANNING_NOTE = re.compile(
    rf"\b{ITEM}s? \d+|\b{PHASE} [A-D]\b|Wiring \({PHASE}|\bTO{'DO'}\b|\bFIX{'ME'}\b", re.IGNORECASE
)
TEXT_SUFFIXES = {".py", ".md", ".toml", ".txt", ".json", ".yml", ".yaml", ".sh", ".cfg"}
SKIPPED_PARTS = {".venv", ".venv-checkov", "node_modules", "cdk.out", ".git", "__pycache__", ".pytest_cache"}


def _text_files() -> Iterator[Path]:
    for path in sorted(REPO_ROOT.rglob("*")):
        relative = path.relative_to(REPO_ROOT)
        if SKIPPED_PARTS & set(relative.parts) or not path.is_file():
            continue
        if path.suffix in TEXT_SUFFIXES or path.name in {"Makefile", "run"}:
            yield path


def planning_notes(text: str) -> list[str]:
    return [match.group(0) for match in PLANNING_NOTE.finditer(text)]


def test_planning_note_rule_finds_a_work_item_number() -> None:
    assert planning_notes(f"Organization scale ({ITEM} 11): the registries") == [f"{ITEM} 11"]
    assert planning_notes(f"a different story ({ITEM}s 10 and 11)") == [f"{ITEM}s 10"]
    assert planning_notes(f"Wiring ({PHASE} B): the root builds it") == [f"Wiring ({PHASE}"]
    assert planning_notes(f"ECR's ImageNotFoundException: a t{ITEM} 4 digest") == []


def test_code_docs_and_tests_carry_no_work_item_numbers_nor_planning_notes() -> None:
    found = {}
    for path in _text_files():
        if path == Path(__file__).resolve():
            continue
        notes = planning_notes(path.read_text(encoding="utf-8", errors="replace"))
        if notes:
            found[str(path.relative_to(REPO_ROOT))] = notes
    assert found == {}


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """Functions (methods and nested ones included) longer than ``limit`` lines, decorators and docstring counted."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([decorator.lineno for decorator in node.decorator_list] + [node.lineno])
            lines = (node.end_lineno or node.lineno) - start + 1
            if lines > limit:
                found.append(f"{node.name} ({lines} lines)")
    return found


def test_long_function_rule_finds_a_function_over_the_limit() -> None:
    body = "\n".join(f"    x{n} = {n}" for n in range(61))
    assert long_functions(f"def step():\n{body}\n") == ["step (62 lines)"]
    assert long_functions("def step():\n    return 1\n") == []
    decorated = "@route(\n" + "".join(f"    a{n}={n},\n" for n in range(60)) + ")\ndef step():\n    return 1\n"
    assert long_functions(decorated) == ["step (64 lines)"]


@pytest.mark.parametrize("module", sorted(_modules()))
def test_no_function_is_longer_than_60_lines(module: str) -> None:
    path = _modules()[module]
    assert long_functions(path.read_text(encoding="utf-8")) == [], f"split {path.relative_to(REPO_ROOT)} by step"
