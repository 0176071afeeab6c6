"""Help with examples for every runtime command, exit code 2 for usage errors, and the
plain refusals that need no Temporal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from interpreter.cli import main

COMMANDS = ["run", "status", "result", "cancel", "list", "resume", "worker", "dev"]
COMMANDS += ["demo-services"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_explains_with_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([command, "--help"])

    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(f"Usage: saga {command}")
    assert "examples:" in out
    assert f"saga {command}" in out.split("examples:")[1]


@pytest.mark.parametrize(
    "args",
    [
        ["run"],
        ["run", "saga.yaml", "--bogus"],
        ["status"],
        ["resume", "some-id"],
        ["resume", "some-id", "--retry", "--skip", "a_step"],
        ["list", "--limit", "0"],
        ["worker", "--max-concurrent-activities", "many"],
        ["dev", "--port", "http"],
    ],
)
def test_usage_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(args)

    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines()[-1].startswith("Error: ")
    assert "Traceback" not in err


def test_connection_flags_are_documented_with_the_variables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["status", "--help"]) == 0

    out = capsys.readouterr().out
    for flag in ("--address", "--namespace", "--api-key", "--tls", "--profile"):
        assert flag in out
    assert "TEMPORAL_ADDRESS" in out


def test_a_near_miss_command_name_is_suggested(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stauts", "some-id"]) == 2
    assert "Error: no such command 'stauts'. Did you mean 'status'?" in capsys.readouterr().err


def test_run_help_says_a_used_id_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "may be used again" not in out
    assert "is refused with exit 1, whether that run is running or ended" in out


NEEDS_INPUT = {
    "version": 1,
    "name": "trip",
    "input": {"type": "object", "required": ["trip_id", "traveller"]},
    "steps": [{"name": "ping", "action": {"url": "http://127.0.0.1:1/", "method": "GET"}}],
}


def test_run_without_a_needed_input_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "trip.json"
    path.write_text(json.dumps(NEEDS_INPUT))

    code = main(["run", str(path), "--address", "127.0.0.1:1"])

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err == (
        "Error: this saga needs an input (--input JSON or @FILE): missing trip_id, traveller\n"
    )


def test_run_without_an_input_of_another_shape_quotes_the_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "count.json"
    path.write_text(json.dumps({**NEEDS_INPUT, "input": {"type": "integer"}}))

    assert main(["run", str(path), "--address", "127.0.0.1:1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: this saga needs an input (--input JSON or @FILE): ")
    assert len(err.splitlines()) == 1


def test_run_of_an_invalid_file_without_input_shows_the_file_diagnostics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps({**NEEDS_INPUT, "steps": []}))

    assert main(["run", str(path), "--address", "127.0.0.1:1"]) == 1
    assert capsys.readouterr().err.startswith(f"{path}:")
