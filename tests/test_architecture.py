"""The shape of the house, checked: no private name crosses a module, and no import hides inside a function.

The layering itself (models below lifecycle, lifecycle below views, API and
consumers; lifecycle modules acyclic; the simulator only behind the telephony
interface) is import-linter's contracts in pyproject.toml, run by scripts/test.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    p for package in ("callbacks", "workspace") for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts
)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _own(module: str | None, level: int) -> bool:
    return level > 0 or (module or "").split(".")[0] in ("callbacks", "workspace")


def test_sources_are_found():
    assert len(SOURCES) > 40


def test_no_private_name_is_imported_from_another_module():
    offenders = []
    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and _own(node.module, node.level):
                offenders += [f"{path.relative_to(ROOT)}: {a.name}" for a in node.names if a.name.startswith("_")]
    assert offenders == []


def test_no_private_attribute_of_another_module_is_used():
    offenders = []
    for path in SOURCES:
        tree = _tree(path)
        modules = {
            (a.asname or a.name)
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and _own(node.module, node.level)
            for a in node.names
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.{node.attr}")
    assert offenders == []


def test_no_import_inside_a_function():
    offenders = []
    for path in SOURCES:
        for fn in ast.walk(_tree(path)):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(fn):
                    if isinstance(node, ast.Import | ast.ImportFrom):
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} in {fn.name}()")
    assert offenders == []


def test_every_lifecycle_module_opens_with_what_it_owns():
    for path in sorted((ROOT / "callbacks" / "lifecycle").glob("*.py")):
        doc = ast.get_docstring(_tree(path))
        assert doc, f"{path.name} has no docstring"
        if path.name != "__init__.py":
            assert "Owns:" in doc, f"{path.name} does not say what it owns"


def test_the_callback_state_is_written_only_by_the_transition_helper():
    writers = []
    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "state":
                    if isinstance(target.value, ast.Name) and target.value.id == "callback":
                        writers.append(str(path.relative_to(ROOT)))
    assert writers == ["callbacks/lifecycle/transitions.py"]
