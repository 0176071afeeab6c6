"""`saga signal ID STEP --data JSON|@FILE`: deliver data to a wait step.

The data goes to the run as a Temporal update, so the answer says at once whether the
step took it. Exit codes (docs/CLI.md): 0 taken; 1 refused (no such run or step, a step
that does not wait, data its `schema` refuses), with the reason; 2 usage error;
5 cannot reach Temporal.
"""

from __future__ import annotations

from typing import Any

import click

from dsl import InvalidSaga, load_input, load_input_text
from interpreter.cli._common import async_command, command, connection_options, settings
from interpreter.cli._session import connect_existing
from interpreter.client import DataRefused, SagaClient
from interpreter.exit_codes import ExitCode

__all__ = ["COMMANDS"]


@command("signal")
@click.argument("saga_id", metavar="ID")
@click.argument("step", metavar="STEP")
@click.option(
    "--data",
    "data_text",
    metavar="JSON|@FILE",
    required=True,
    help="the data: inline JSON, or @ and a file (JSON or YAML)",
)
@connection_options
@async_command
async def signal_command(saga_id: str, step: str, data_text: str, **connection: Any) -> int:
    data = _data(data_text)
    connect = settings(connection)
    client = SagaClient(await connect_existing(connect), address=connect.address)
    try:
        report = await client.signal(saga_id, step, data)
    except DataRefused as err:
        click.echo(f"Error: {err.message}", err=True)
        for problem in err.errors[1:]:
            click.echo(f"  {problem['pointer'] or '/'}: {problem['message']}", err=True)
        return ExitCode.INVALID
    status = next((s.status for s in report.steps if s.name == step), "?")
    click.echo(f"Step {step} of saga {saga_id} took the data (it is {status}).")
    return ExitCode.OK


def _data(text: str) -> Any:
    """`--data`: inline JSON, or `@FILE` holding JSON or YAML, with the limits of a file."""
    if text.startswith("@"):
        document, problems = load_input(text[1:])
    else:
        document, problems = load_input_text(text, "--data")
    if document is None:
        raise InvalidSaga(problems)
    return document.data


COMMANDS = [signal_command]
