"""Help with examples for every runtime command, and exit code 2 for usage errors."""

from __future__ import annotations

import pytest

from interpreter.cli import main

COMMANDS = ["run", "status", "result", "cancel", "list", "resume", "worker", "dev"]
COMMANDS += ["demo-services"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_explains_with_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])

    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert out.startswith(f"usage: saga {command}")
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
    with pytest.raises(SystemExit) as exited:
        main(args)

    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_connection_flags_are_documented_with_the_variables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["status", "--help"])

    out = capsys.readouterr().out
    for flag in ("--address", "--namespace", "--api-key", "--tls", "--profile"):
        assert flag in out
    assert "TEMPORAL_ADDRESS" in out
