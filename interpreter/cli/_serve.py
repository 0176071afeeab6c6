"""`saga serve`: parse the arguments and hand them to `interpreter.gateway.serve`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from interpreter.client._connection import (
    CommandError,
    add_connection_arguments,
    settings_from_args,
)
from interpreter.contract import DEFAULT_TASK_QUEUE
from interpreter.exit_codes import ExitCode

__all__ = ["register"]

DESCRIPTION = """\
Serve the HTTP gateway: start and follow the sagas of the --sagas folders over HTTP
(JSON, OpenAPI at /openapi.json, docs at /docs). Without --api-keys (or
SAGA_API_KEYS_FILE) it listens on loopback only. See docs/GATEWAY.md."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="the HTTP gateway (catalogue, runs, events, OpenAPI)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sagas", metavar="DIR", type=Path, action="append",
        help="a folder of saga files (repeatable; default: ./sagas)",
    )  # fmt: skip
    parser.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    parser.add_argument("--port", type=int, default=8080, help="default: %(default)s")
    parser.add_argument(
        "--api-keys", metavar="FILE", type=Path,
        help="keys file, lines `name:scope:key` (default: $SAGA_API_KEYS_FILE)",
    )  # fmt: skip
    parser.add_argument(
        "--task-queue", metavar="QUEUE", default=DEFAULT_TASK_QUEUE, help="default: %(default)s"
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    add_connection_arguments(parser)
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from interpreter.gateway import GatewaySettings, serve

    try:
        settings = GatewaySettings(
            connection=settings_from_args(args),
            folders=args.sagas or [Path("sagas")],
            host=args.host,
            port=args.port,
            api_keys_file=args.api_keys,
            task_queue=args.task_queue,
            log_level=args.log_level,
        )
        serve(settings)
    except CommandError as err:
        print(f"Error: {err.message}", file=sys.stderr)
        return err.exit_code
    return ExitCode.OK
