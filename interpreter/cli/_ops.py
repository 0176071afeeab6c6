"""Operations options on the runtime commands: `--log-format`, `--encryption-key-file`,
and `--metrics-port` on the commands that run a worker.

Each option only sets what the runtime reads anyway (SAGA_LOG_FORMAT is applied here;
SAGA_ENCRYPTION_KEY_FILE and SAGA_METRICS_PORT go to the environment, read by
`connect()` and `run_worker()`), so every feature works the same from the environment.
"""

from __future__ import annotations

import argparse
import functools
import os
from typing import Any

import click

from interpreter.exit_codes import ExitCode

__all__ = ["WORKER_COMMANDS", "apply", "with_ops_options"]

WORKER_COMMANDS = ("worker", "dev")
NOT_RUNTIME = ("validate", "schema", "graph", "codec-server", "demo-services")
OPTION_NAMES = ("log_format", "encryption_key_file", "metrics_port")


def with_ops_options(command: click.Command) -> click.Command:
    """The command with the operations options, applied before it runs (once per command)."""
    if command.name in NOT_RUNTIME or getattr(command, "_ops_options", False):
        return command
    command.params += [
        click.Option(
            ["--log-format"], type=click.Choice(["text", "json"]),
            help="log lines as text or JSON with saga id, step and attempt (env SAGA_LOG_FORMAT)",
        ),
        click.Option(
            ["--encryption-key-file"], metavar="FILE",
            help="encrypt and decrypt payloads with these keys (env SAGA_ENCRYPTION_KEY_FILE)",
        ),
    ]  # fmt: skip
    if command.name in WORKER_COMMANDS:
        command.params.append(
            click.Option(
                ["--metrics-port"],
                metavar="PORT",
                type=click.IntRange(1, 65535),
                help="serve Prometheus metrics on this port (env SAGA_METRICS_PORT)",
            )  # fmt: skip
        )
    callback = command.callback
    assert callback is not None

    @functools.wraps(callback)
    def run(**options: Any) -> Any:
        ops = {name: options.pop(name, None) for name in OPTION_NAMES}
        try:
            apply(argparse.Namespace(**ops))
        except ValueError as err:
            click.echo(f"Error: {err}", err=True)
            return ExitCode.USAGE
        return callback(**options)

    command.callback = run
    command._ops_options = True  # type: ignore[attr-defined]
    return command


def apply(args: argparse.Namespace) -> None:
    """Put the options where the runtime reads them; ValueError when one is unusable."""
    from interpreter.ops.logs import configure_logging

    if getattr(args, "encryption_key_file", None):
        os.environ["SAGA_ENCRYPTION_KEY_FILE"] = args.encryption_key_file
    if getattr(args, "metrics_port", None) is not None:
        os.environ["SAGA_METRICS_PORT"] = str(args.metrics_port)
    configure_logging(getattr(args, "log_format", None))
