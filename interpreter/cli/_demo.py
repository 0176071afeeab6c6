"""`saga demo` (the quickstart in one command) and `saga demo-services`."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click

from interpreter.cli._common import (
    async_command,
    command,
    connection_options,
    parsed_each,
    task_queue_option,
)
from interpreter.cli._runs import prepare_run, run_saga
from interpreter.dev import demo, quickstart
from interpreter.dev.demo import FailSpec
from interpreter.exit_codes import ExitCode

__all__ = ["COMMANDS"]

FAIL_HELP = (
    "make every create (POST and PUT) on SERVICE, or on one of its collections, fail with "
    "STATUS (default 500); repeatable"
)
PORT_BASE_HELP = (
    "serve the services on consecutive ports from PORT, in the order listed (0 = any free "
    "ports; default: 9001-9007)"
)


@command("demo-services", connected=False)
@click.option(
    "--fail",
    "failures",
    metavar="SERVICE[/COLLECTION][:STATUS]",
    multiple=True,
    callback=parsed_each(demo.fail_spec),
    help=FAIL_HELP,
)
@click.option(
    "--port-base",
    type=click.IntRange(0, 65535 - len(demo.DEMO_PORTS)),
    metavar="PORT",
    help=PORT_BASE_HELP,
)
@click.option(
    "--port",
    "ports",
    metavar="NAME=PORT",
    multiple=True,
    callback=parsed_each(demo.port_spec),
    help="serve NAME on another port (0 = any free port); repeatable",
)
def demo_services_command(
    failures: list[FailSpec], port_base: int | None, ports: list[tuple[str, int]]
) -> int:
    return demo.run(failures, demo.ports_from(port_base, dict(ports)))


@command("demo")
@click.argument(
    "example",
    metavar="[SAGA]",
    type=click.Choice(sorted(quickstart.EXAMPLES)),
    default="trip-booking",
)
@click.option(
    "--fail",
    "failures",
    metavar="SERVICE[/COLLECTION][:STATUS]",
    multiple=True,
    callback=parsed_each(demo.fail_spec),
    help="the service that fails (default: one per example, so it compensates)",
)
@click.option("--no-fail", is_flag=True, help="no service fails: the saga completes")
@click.option(
    "--sagas",
    metavar="DIR",
    type=click.Path(path_type=Path),
    help="the folder of example sagas (default: sagas/)",
)
@click.option("--json", "as_json", is_flag=True, help="print the final report as JSON")
@task_queue_option
@connection_options
@async_command
async def demo_command(
    example: str,
    failures: list[FailSpec],
    no_fail: bool,
    sagas: Path | None,
    as_json: bool,
    task_queue: str,
    **connection: Any,
) -> int:
    try:
        folder = quickstart.sagas_folder(sagas)
    except FileNotFoundError as err:
        raise click.UsageError(str(err)) from None
    default = quickstart.EXAMPLES[example]
    chosen = failures or ([demo.fail_spec(default)] if default else [])
    chosen = [] if no_fail else chosen
    alongside = None
    if example in quickstart.ANSWERS:  # the manager's answer: no by default, yes otherwise
        alongside = functools.partial(
            quickstart.answer_wait,
            step=quickstart.ANSWERS[example],
            approve=no_fail or bool(failures),
        )
    quickstart.set_demo_secrets()
    try:
        services = quickstart.start_services(chosen)
    except OSError as err:
        click.echo(f"Error: {err.strerror or err}", err=True)
        return ExitCode.INVALID
    try:
        click.echo(quickstart.describe(services, chosen), err=True)
        file, input_file = folder / f"{example}.yaml", folder / f"{example}.input.json"
        prepared = quickstart.relocate(prepare_run(str(file), f"@{input_file}"), services)
        return await run_saga(prepared, None, False, as_json, task_queue, connection, alongside)
    finally:
        for service in services:
            service.stop()


COMMANDS: list[click.Command] = [demo_command, demo_services_command]
