"""`saga serve`: parse the options and hand them to `interpreter.gateway.serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from interpreter.cli._common import command, connection_options, settings, task_queue_option
from interpreter.client import CommandError
from interpreter.exit_codes import ExitCode

__all__ = ["COMMANDS"]


@command("serve")
@click.option(
    "--sagas", "folders", metavar="DIR", multiple=True, type=click.Path(path_type=Path),
    help="a folder of saga files (repeatable; default: ./sagas)",
)  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True, help="the address to bind")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--api-keys", metavar="FILE", type=click.Path(path_type=Path),
    help="keys file, lines `name:scope:key` (default: $SAGA_API_KEYS_FILE)",
)  # fmt: skip
@task_queue_option
@click.option(
    "--log-level", default="info", show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)  # fmt: skip
@connection_options
def serve_command(
    folders: tuple[Path, ...],
    host: str,
    port: int,
    api_keys: Path | None,
    task_queue: str,
    log_level: str,
    **connection: Any,
) -> int:
    from interpreter.gateway import GatewaySettings, serve

    try:
        serve(
            GatewaySettings(
                connection=settings(connection),
                folders=list(folders) or [Path("sagas")],
                host=host,
                port=port,
                api_keys_file=api_keys,
                task_queue=task_queue,
                log_level=log_level,
            )
        )
    except CommandError as err:
        click.echo(f"Error: {err.message}", err=True)
        return err.exit_code
    return ExitCode.OK


COMMANDS = [serve_command]
