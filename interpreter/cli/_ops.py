"""Operations options on the runtime commands: `--log-format`, `--encryption-key-file`,
and `--metrics-port` on the commands that run a worker.

Each option only sets what the runtime reads anyway (SAGA_LOG_FORMAT is applied here;
SAGA_ENCRYPTION_KEY_FILE and SAGA_METRICS_PORT go to the environment, read by
`connect()` and `run_worker()`), so every feature works the same from the environment.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from interpreter.exit_codes import ExitCode

__all__ = ["WORKER_COMMANDS", "add_ops_options", "register"]

WORKER_COMMANDS = ("worker", "dev")
NOT_RUNTIME = ("validate", "schema", "graph", "codec-server", "demo-services")


def register(subparsers: Any) -> None:
    """Add the options to every runtime command already registered on `subparsers`."""
    for name, parser in subparsers.choices.items():
        if name not in NOT_RUNTIME:
            add_ops_options(parser, metrics=name in WORKER_COMMANDS)


def add_ops_options(parser: argparse.ArgumentParser, *, metrics: bool = False) -> None:
    """Add the options to one command and apply them before its handler runs."""
    group = parser.add_argument_group("operations")
    group.add_argument(
        "--log-format",
        choices=("text", "json"),
        help="log lines as text or JSON with saga id, step and attempt (env SAGA_LOG_FORMAT)",
    )
    group.add_argument(
        "--encryption-key-file",
        metavar="FILE",
        help="encrypt and decrypt payloads with these keys (env SAGA_ENCRYPTION_KEY_FILE)",
    )
    if metrics:
        group.add_argument(
            "--metrics-port",
            metavar="PORT",
            type=_port,
            help="serve Prometheus metrics on this port (env SAGA_METRICS_PORT)",
        )
    handler = parser.get_default("handler")
    if handler is not None:
        parser.set_defaults(handler=_applying(handler))


def _applying(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        try:
            apply(args)
        except ValueError as err:
            print(f"Error: {err}", file=sys.stderr)
            return ExitCode.USAGE
        return handler(args)

    return handle


def apply(args: argparse.Namespace) -> None:
    """Put the options where the runtime reads them; ValueError when one is unusable."""
    from interpreter.ops.logs import configure_logging

    if getattr(args, "encryption_key_file", None):
        os.environ["SAGA_ENCRYPTION_KEY_FILE"] = args.encryption_key_file
    if getattr(args, "metrics_port", None) is not None:
        os.environ["SAGA_METRICS_PORT"] = str(args.metrics_port)
    configure_logging(getattr(args, "log_format", None))


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"expected a port number, not {text!r}")
    return int(text)
