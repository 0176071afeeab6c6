"""What the workflow's modules may import.

Temporal's sandbox shares every module of `interpreter.workflow` with the worker
(`PASSTHROUGH_MODULES`) instead of importing it again for each run, so it does not
stand between this code and a clock, a random number or the network. This test does:
a module here imports only what decides the same way in every process.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import interpreter.workflow
from interpreter.workflow import PASSTHROUGH_MODULES

PACKAGE = Path(interpreter.workflow.__file__).parent

ALLOWED = {
    "__future__",
    "asyncio",
    "collections",
    "collections.abc",
    "dataclasses",
    "json",
    "re",
    "threading",  # the lock of the cache of compiled sagas, shared by every run
    "typing",
    "temporalio",
    "temporalio.common",
    "temporalio.exceptions",
    "pydantic",
    "jsonschema",
    "dsl",
    "interpreter.contract",
}
"""Modules a workflow module may import from, besides its own package."""

ALLOWED_NAMES = {"datetime": {"timedelta"}}
"""Modules of which only these names may be imported (`datetime.now` may not)."""


def _imports(path: Path) -> list[tuple[str, set[str]]]:
    found: list[tuple[str, set[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, set()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            found.append((node.module or "", {alias.name for alias in node.names}))
    return found


def _modules() -> list[Path]:
    return sorted(PACKAGE.glob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda path: path.name)
def test_a_workflow_module_imports_only_what_is_deterministic(path: Path) -> None:
    for module, names in _imports(path):
        if module == "interpreter.workflow" or module.startswith("interpreter.workflow."):
            continue
        if module in ALLOWED_NAMES:
            assert names <= ALLOWED_NAMES[module], f"{path.name}: from {module} import {names}"
            continue
        assert module in ALLOWED, f"{path.name} imports {module}"


def test_the_workflow_package_and_what_it_imports_are_passed_through() -> None:
    assert "interpreter.workflow" in PASSTHROUGH_MODULES
    for module in ("dsl", "interpreter.contract", "pydantic", "jsonschema"):
        assert module in PASSTHROUGH_MODULES


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "clock.py"
    module.write_text("import time\nfrom datetime import datetime, timedelta\n")
    assert _imports(module) == [("time", set()), ("datetime", {"datetime", "timedelta"})]
