"""The committed schema, judged by an independent validator (check-jsonschema): valid
examples pass it, schema-level invalid ones (`schema-*`) fail it, and those whose
problem lies beyond the schema (`model-*`: rules across keys, `check-*` and `warn-*`:
semantic checks) pass it, which documents where the schema's reach ends."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SCHEMA = ROOT / "schemas" / "saga.schema.json"
SUFFIXES = (".yaml", ".yml", ".json")


def _check_jsonschema() -> str:
    found = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    found = found or shutil.which("check-jsonschema")
    if found is None:
        pytest.fail("check-jsonschema is not installed (pip install -e '.[test]')")
    return found


def _files(pattern: str) -> list[Path]:
    return sorted(p for p in (HERE / "invalid").glob(pattern) if p.suffix in SUFFIXES)


def _run(files: list[Path]) -> tuple[int, dict[str, object]]:
    command = [_check_jsonschema(), "-o", "json", "--schemafile", str(SCHEMA)]
    done = subprocess.run(
        [*command, *map(str, files)], capture_output=True, text=True, timeout=120, check=False
    )
    return done.returncode, json.loads(done.stdout)


def test_valid_examples_pass_check_jsonschema() -> None:
    files = sorted(p for p in (HERE / "valid").iterdir() if p.suffix in SUFFIXES)
    code, report = _run(files)
    assert (code, report["status"]) == (0, "ok"), report


def test_schema_level_invalid_examples_each_fail_check_jsonschema() -> None:
    files = _files("schema-*")
    code, report = _run(files)
    assert code == 1
    failed = {error["filename"] for error in report["errors"]}  # type: ignore[attr-defined]
    assert failed == {str(f) for f in files}


def test_examples_invalid_beyond_the_schema_pass_check_jsonschema() -> None:
    files = _files("model-*") + _files("check-*") + _files("warn-*")
    code, report = _run(files)
    assert (code, report["status"]) == (0, "ok"), report
