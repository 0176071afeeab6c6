"""`saga worker` and `saga dev`: the long-running processes, stopped by Ctrl-C or SIGTERM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from interpreter.cli._common import (
    async_command,
    command,
    connection_options,
    positive,
    settings,
    task_queue_option,
)
from interpreter.cli._session import dev, serve_worker
from interpreter.dev.devserver import DEFAULT_DB, DevServer
from interpreter.exit_codes import ExitCode

__all__ = ["COMMANDS"]


def _secrets_dir_option(function: Any) -> Any:
    return click.option(
        "--secrets-dir",
        metavar="DIR",
        type=click.Path(path_type=Path),
        help="read secret NAME from the file DIR/NAME",
    )(function)


@command("worker")
@task_queue_option
@click.option(
    "--max-concurrent-activities", metavar="N", type=positive, help="HTTP calls in flight at most"
)
@_secrets_dir_option
@connection_options
@async_command
async def worker_command(
    task_queue: str,
    max_concurrent_activities: int | None,
    secrets_dir: Path | None,
    **connection: Any,
) -> int:
    await serve_worker(
        settings(connection),
        task_queue,
        secrets_dir=secrets_dir,
        max_concurrent_activities=max_concurrent_activities,
    )
    return ExitCode.OK


@command("dev", connected=False)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=7233, show_default=True, help="gRPC port"
)
@click.option(
    "--ui-port", type=click.IntRange(0, 65535), default=8233, show_default=True, help="Web UI port"
)
@click.option("--headless", is_flag=True, help="no Web UI")
@click.option(
    "--db",
    metavar="FILE",
    type=click.Path(path_type=Path),
    default=DEFAULT_DB,
    show_default=True,
    help="the server's state",
)
@task_queue_option
@_secrets_dir_option
@async_command
async def dev_command(
    port: int,
    ui_port: int,
    headless: bool,
    db: Path,
    task_queue: str,
    secrets_dir: Path | None,
) -> int:
    server = DevServer(
        port=port,
        ui_port=None if headless else ui_port,
        db_filename=db,
        log_file=db.with_suffix(".log"),
    )
    await dev(server, task_queue, secrets_dir=secrets_dir)
    return ExitCode.OK


COMMANDS: list[click.Command] = [worker_command, dev_command]
