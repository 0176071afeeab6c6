"""`saga run`, `status`, `result`, `cancel`, `list` and `resume`: one saga run at a time.

Each command parses its options here and does its work through `interpreter.client`.
Exit codes (docs/CLI.md): 0 COMPLETED or done; 1 invalid definition or input, or a
refused request; 2 usage error; 3 COMPENSATED; 4 COMPENSATION_FAILED or INCOMPLETE;
5 cannot reach Temporal.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import click
from temporalio.client import Client

from dsl import InvalidSaga, Saga, load_and_check, validate_input
from interpreter.cli._common import (
    async_command,
    command,
    connection_options,
    positive,
    settings,
    task_queue_option,
)
from interpreter.cli._progress import (
    ProgressPrinter,
    ended_line,
    print_outcome,
    print_report,
    print_runs,
)
from interpreter.cli._session import connect_existing, temporal_for_run
from interpreter.client._connection import CommandError, has_saga_search_attributes
from interpreter.client._prepare import Prepared, parse_input, prepare
from interpreter.client._runs import (
    Outcome,
    cancel_saga,
    describe,
    follow,
    list_runs,
    resume_saga,
    saga_outcome,
    saga_report,
    start_saga,
    temporal_errors,
    worker_is_polling,
)
from interpreter.contract import ResumeRequest, SagaReport, SagaRunInput
from interpreter.exit_codes import ExitCode

__all__ = ["COMMANDS", "prepare_run", "run_saga"]

ID_HELP = (
    "the saga id (default: <saga-name>-<random>); an id names one transaction, so an id "
    "Temporal still keeps a run of, running or ended, is refused (exit 1)"
)


def _json_option(function: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="print JSON")(function)


# --- saga run -------------------------------------------------------------------------


@command("run")
@click.argument("file", metavar="FILE")
@click.option(
    "--input",
    "input_text",
    metavar="JSON|@FILE",
    help="the run's input: inline JSON, or @ and a file",
)
@click.option("--id", "saga_id", metavar="ID", help=ID_HELP)
@click.option("--no-wait", is_flag=True, help="start, print the id and exit")
@click.option("--json", "as_json", is_flag=True, help="print the final report as JSON")
@task_queue_option
@connection_options
@async_command
async def run_command(
    file: str,
    input_text: str | None,
    saga_id: str | None,
    no_wait: bool,
    as_json: bool,
    task_queue: str,
    **connection: Any,
) -> int:
    prepared = prepare_run(file, input_text)
    return await run_saga(prepared, saga_id, no_wait, as_json, task_queue, connection)


def prepare_run(file: str, input_text: str | None) -> Prepared:
    """The checked saga and input; a missing input that the saga needs is said plainly."""
    try:
        prepared = prepare(file, parse_input(input_text))
    except InvalidSaga:
        result = load_and_check(file)
        if input_text is None and result.ok and result.saga is not None:
            raise CommandError(_needs_input(result.saga)) from None
        raise
    for warning in prepared.warnings:
        click.echo(str(warning), err=True)
    return prepared


def _needs_input(saga: Saga) -> str:
    message = "this saga needs an input (--input JSON or @FILE)"
    schema = saga.input if isinstance(saga.input, dict) else {}
    required = [str(name) for name in schema.get("required") or []]
    if required:
        return f"{message}: missing {', '.join(required)}"
    problems = validate_input(saga, None, "--input")
    return f"{message}: {problems[0].message}" if problems else message


async def run_saga(
    prepared: Prepared,
    saga_id: str | None,
    no_wait: bool,
    as_json: bool,
    task_queue: str,
    connection: dict[str, Any],
    alongside: Callable[[Client, str], Coroutine[Any, Any, None]] | None = None,
) -> int:
    """Start a prepared saga (on an embedded server when none is around) and follow it;
    `alongside(client, saga_id)` runs while it is followed (`saga demo` answers waits)."""
    connect = settings(connection)
    saga_id = saga_id or f"{prepared.saga.name}-{secrets.token_hex(4)}"
    session = temporal_for_run(connect, task_queue, allow_embedded=not no_wait)
    async with session as (client, embedded):
        with temporal_errors(saga_id, connect.address):
            run_input = SagaRunInput(
                definition=prepared.definition,
                input=prepared.input,
                definition_hash=prepared.definition_hash,
                search_attributes=await has_saga_search_attributes(client),
            )
            handle = await start_saga(client, run_input, saga_id=saga_id, task_queue=task_queue)
            if no_wait:
                click.echo(json.dumps({"saga_id": saga_id}) if as_json else saga_id)
                return ExitCode.OK
            click.echo(f"Started saga {saga_id} ({prepared.saga.name}).", err=True)
            if not embedded and not await worker_is_polling(client, task_queue):
                click.echo(_no_worker_warning(task_queue), err=True)
            helper = asyncio.create_task(alongside(client, saga_id)) if alongside else None
            report, outcome = await _follow_or_detach(handle, saga_id)
            if helper is not None:
                helper.cancel()
        # Inside the block: an embedded server stops only after the report is out.
        return print_outcome(report, outcome, as_json)


def _no_worker_warning(task_queue: str) -> str:
    return (
        f"Warning: no worker is polling task queue {task_queue!r}; the saga waits until "
        "one starts (`saga worker` or `saga dev`)."
    )


async def _follow_or_detach(handle: Any, saga_id: str) -> tuple[SagaReport | None, Outcome]:
    printer = ProgressPrinter(sys.stderr)
    try:
        return await follow(handle, printer.update)
    except asyncio.CancelledError:
        click.echo(
            f"\nStopped following {saga_id}; on a shared server it keeps running "
            f"(`saga status {saga_id}`, `saga cancel {saga_id}`).",
            err=True,
        )
        raise


# --- one saga by id -------------------------------------------------------------------


@command("status")
@click.argument("saga_id", metavar="ID")
@_json_option
@connection_options
@async_command
async def status_command(saga_id: str, as_json: bool, **connection: Any) -> int:
    connect = settings(connection)
    client = await connect_existing(connect)
    with temporal_errors(saga_id, connect.address):
        report, note = await saga_report(client, saga_id)
    print_report(report, as_json)
    if note:
        click.echo(f"Note: {note}", err=True)
    return ExitCode.OK


@command("result")
@click.argument("saga_id", metavar="ID")
@connection_options
@async_command
async def result_command(saga_id: str, **connection: Any) -> int:
    connect = settings(connection)
    client = await connect_existing(connect)
    with temporal_errors(saga_id, connect.address):
        await describe(client, saga_id)
        outcome = await saga_outcome(client.get_workflow_handle(saga_id))
    if outcome.exit_code == ExitCode.OK:
        click.echo(json.dumps(outcome.output, indent=2))
    elif outcome.report is not None:
        click.echo(f"Error: {ended_line(outcome.report)}", err=True)
    else:
        click.echo(f"Error: {outcome.error}", err=True)
    return outcome.exit_code


@command("cancel")
@click.argument("saga_id", metavar="ID")
@_json_option
@click.option("--wait", is_flag=True, help="wait for the compensation and print the report")
@connection_options
@async_command
async def cancel_command(saga_id: str, as_json: bool, wait: bool, **connection: Any) -> int:
    connect = settings(connection)
    client = await connect_existing(connect)
    with temporal_errors(saga_id, connect.address):
        await cancel_saga(client, saga_id)
        if not wait:
            click.echo(
                f"Cancel requested for {saga_id}: steps in flight are cancelled, "
                f"then completed steps are compensated (`saga status {saga_id}`)."
            )
            return ExitCode.OK
        handle = client.get_workflow_handle(saga_id)
        report, outcome = await follow(handle, ProgressPrinter(sys.stderr).update)
    return print_outcome(report, outcome, as_json)


@command("resume")
@click.argument("saga_id", metavar="ID")
@click.option("--retry", is_flag=True, help="retry the failed compensations")
@click.option(
    "--skip",
    metavar="STEP",
    multiple=True,
    help="give up undoing STEP (repeatable); the operator undoes it by hand",
)
@connection_options
@async_command
async def resume_command(
    saga_id: str, retry: bool, skip: tuple[str, ...], **connection: Any
) -> int:
    if retry == bool(skip):
        raise click.UsageError("give exactly one of --retry and --skip STEP")
    connect = settings(connection)
    request = ResumeRequest(retry=retry, skip=list(skip))
    client = await connect_existing(connect)
    with temporal_errors(saga_id, connect.address):
        await resume_saga(client, saga_id, request)
    what = "retrying its failed compensations" if retry else f"skipping {', '.join(skip)}"
    click.echo(f"Resumed saga {saga_id}: {what} (`saga result {saga_id}` waits for its end).")
    return ExitCode.OK


# --- many sagas -----------------------------------------------------------------------


@command("list")
@click.option(
    "--limit", type=positive, default=20, show_default=True, help="the most recent N runs"
)
@_json_option
@connection_options
@async_command
async def list_command(limit: int, as_json: bool, **connection: Any) -> int:
    connect = settings(connection)
    client = await connect_existing(connect)
    with temporal_errors(None, connect.address):
        runs = await list_runs(client, limit)
    print_runs(runs, as_json=as_json)
    return ExitCode.OK


COMMANDS: list[click.Command] = [
    run_command,
    status_command,
    result_command,
    cancel_command,
    list_command,
    resume_command,
]
