"""`saga schema` prints the generated schema; `--check` fails when a file is stale."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dsl._schema import schema_text
from interpreter.cli import main

SAGA_BIN = str(Path(sys.executable).parent / "saga")


def test_schema_prints_the_generated_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert out == schema_text()
    assert json.loads(out)["title"] == "Saga"


def test_check_passes_on_the_committed_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--check"]) == 0
    assert capsys.readouterr() == ("", "")


def test_check_fails_on_a_stale_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    stale = tmp_path / "saga.schema.json"
    stale.write_text(schema_text().replace("The HTTP method.", "The method."))
    assert main(["schema", "--check", "--path", str(stale)]) == 1
    err = capsys.readouterr().err
    assert err == f"Error: {stale} is stale; regenerate it with `saga schema > {stale}`\n"


def test_check_fails_on_a_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["schema", "--check", "--path", str(tmp_path / "none.json")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_printed_schema_regenerates_an_identical_file(tmp_path: Path) -> None:
    target = tmp_path / "saga.schema.json"
    with target.open("w") as out:
        subprocess.run([SAGA_BIN, "schema"], stdout=out, check=True)
    done = subprocess.run(
        [SAGA_BIN, "schema", "--check", "--path", str(target)], capture_output=True, text=True
    )
    assert (done.returncode, done.stderr) == (0, "")
