"""The runtime subcommands: run, status, result, cancel, list, resume, worker, dev,
demo-services, demo. Each parses its arguments here and does its work in `runs` and `session`.

Exit codes (docs/CLI.md): 0 COMPLETED or done; 1 invalid definition or input, or a
refused request; 2 usage error; 3 COMPENSATED; 4 COMPENSATION_FAILED; 5 cannot reach
Temporal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import textwrap
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from dsl import InvalidSaga
from interpreter.cli._help import TEXTS
from interpreter.cli._progress import (
    ProgressPrinter,
    ended_line,
    print_outcome,
    print_report,
    render_runs,
)
from interpreter.cli._session import connect_existing, dev, serve_worker, temporal_for_run
from interpreter.client._connection import (
    CommandError,
    add_connection_arguments,
    has_saga_search_attributes,
    settings_from_args,
)
from interpreter.client._prepare import parse_input, prepare
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
from interpreter.contract import DEFAULT_TASK_QUEUE, ResumeRequest, SagaReport, SagaRunInput
from interpreter.dev import demo, quickstart
from interpreter.dev.devserver import DEFAULT_DB, DevServer
from interpreter.exit_codes import ExitCode

__all__ = ["register"]

Handler = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def register(subparsers: Any) -> None:
    """Add the runtime subcommands to the `saga` parser."""
    for name, build in (
        ("run", _add_run),
        ("status", _add_status),
        ("result", _add_result),
        ("cancel", _add_cancel),
        ("list", _add_list),
        ("resume", _add_resume),
        ("worker", _add_worker),
        ("dev", _add_dev),
        ("demo-services", _add_demo_services),
        ("demo", _add_demo),
    ):
        summary, description, epilog = TEXTS[name]
        parser = subparsers.add_parser(
            name,
            help=summary,
            description=_wrap(description),
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        build(parser)


def _wrap(text: str) -> str:
    return "\n\n".join(textwrap.fill(paragraph, 88) for paragraph in text.split("\n\n"))


def _handler(function: Handler) -> Callable[[argparse.Namespace], int]:
    """Run the async command; user errors become `Error: ...` and an exit code."""

    def handle(args: argparse.Namespace) -> int:
        try:
            return asyncio.run(function(args))
        except InvalidSaga as err:
            for diagnostic in err.diagnostics:
                print(diagnostic, file=sys.stderr)
            return ExitCode.INVALID
        except CommandError as err:
            print(f"Error: {err.message}", file=sys.stderr)
            return err.exit_code

    return handle


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, not {text!r}")
    return value


# --- saga run -------------------------------------------------------------------------


def _add_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="the saga file (YAML or JSON)")
    parser.add_argument(
        "--input", metavar="JSON|@FILE", help="the run's input: inline JSON, or @ and a file"
    )
    parser.add_argument("--id", help="the saga id (default: <saga-name>-<random>)")
    parser.add_argument("--no-wait", action="store_true", help="start, print the id and exit")
    parser.add_argument("--json", action="store_true", help="print the final report as JSON")
    parser.add_argument(
        "--task-queue", metavar="QUEUE", default=DEFAULT_TASK_QUEUE, help="default: %(default)s"
    )
    add_connection_arguments(parser)
    parser.set_defaults(handler=_handler(_run))


async def _run(args: argparse.Namespace) -> int:
    prepared = prepare(args.file, parse_input(args.input))
    for warning in prepared.warnings:
        print(warning, file=sys.stderr)
    settings = settings_from_args(args)
    saga_id = args.id or f"{prepared.saga.name}-{secrets.token_hex(4)}"
    session = temporal_for_run(settings, args.task_queue, allow_embedded=not args.no_wait)
    async with session as (client, embedded):
        with temporal_errors(saga_id, settings.address):
            run_input = SagaRunInput(
                definition=prepared.definition,
                input=prepared.input,
                definition_hash=prepared.definition_hash,
                search_attributes=await has_saga_search_attributes(client),
            )
            handle = await start_saga(
                client, run_input, saga_id=saga_id, task_queue=args.task_queue
            )
            if args.no_wait:
                print(json.dumps({"saga_id": saga_id}) if args.json else saga_id)
                return ExitCode.OK
            print(f"Started saga {saga_id} ({prepared.saga.name}).", file=sys.stderr)
            if not embedded and not await worker_is_polling(client, args.task_queue):
                print(_no_worker_warning(args.task_queue), file=sys.stderr)
            report, outcome = await _follow_or_detach(handle, saga_id)
        # Inside the block: an embedded server stops only after the report is out.
        return print_outcome(report, outcome, args.json)


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
        print(
            f"\nStopped following {saga_id}; on a shared server it keeps running "
            f"(`saga status {saga_id}`, `saga cancel {saga_id}`).",
            file=sys.stderr,
        )
        raise


# --- one saga by id -------------------------------------------------------------------


def _add_id(parser: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    parser.add_argument("saga_id", metavar="ID", help="the saga id")
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print JSON")
    add_connection_arguments(parser)


def _add_status(parser: argparse.ArgumentParser) -> None:
    _add_id(parser)
    parser.set_defaults(handler=_handler(_status))


async def _status(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    client = await connect_existing(settings)
    with temporal_errors(args.saga_id, settings.address):
        report, note = await saga_report(client, args.saga_id)
    print_report(report, args.json)
    if note:
        print(f"Note: {note}", file=sys.stderr)
    return ExitCode.OK


def _add_result(parser: argparse.ArgumentParser) -> None:
    _add_id(parser, json_flag=False)
    parser.set_defaults(handler=_handler(_result))


async def _result(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    client = await connect_existing(settings)
    with temporal_errors(args.saga_id, settings.address):
        await describe(client, args.saga_id)
        outcome = await saga_outcome(client.get_workflow_handle(args.saga_id))
    if outcome.exit_code == ExitCode.OK:
        print(json.dumps(outcome.output, indent=2))
    elif outcome.report is not None:
        print(f"Error: {ended_line(outcome.report)}", file=sys.stderr)
    else:
        print(f"Error: {outcome.error}", file=sys.stderr)
    return outcome.exit_code


def _add_cancel(parser: argparse.ArgumentParser) -> None:
    _add_id(parser)
    parser.add_argument(
        "--wait", action="store_true", help="wait for the compensation and print the report"
    )
    parser.set_defaults(handler=_handler(_cancel))


async def _cancel(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    client = await connect_existing(settings)
    with temporal_errors(args.saga_id, settings.address):
        await cancel_saga(client, args.saga_id)
        if not args.wait:
            print(
                f"Cancel requested for {args.saga_id}: steps in flight are cancelled, "
                f"then completed steps are compensated (`saga status {args.saga_id}`)."
            )
            return ExitCode.OK
        handle = client.get_workflow_handle(args.saga_id)
        report, outcome = await follow(handle, ProgressPrinter(sys.stderr).update)
    return print_outcome(report, outcome, args.json)


def _add_resume(parser: argparse.ArgumentParser) -> None:
    _add_id(parser, json_flag=False)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--retry", action="store_true", help="retry the failed compensations")
    action.add_argument(
        "--skip",
        metavar="STEP",
        action="append",
        help="give up undoing STEP (repeatable); the operator undoes it by hand",
    )
    parser.set_defaults(handler=_handler(_resume))


async def _resume(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    request = ResumeRequest(retry=args.retry, skip=args.skip or [])
    client = await connect_existing(settings)
    with temporal_errors(args.saga_id, settings.address):
        await resume_saga(client, args.saga_id, request)
    skipped = ", ".join(request.skip)
    what = "retrying its failed compensations" if args.retry else f"skipping {skipped}"
    print(f"Resumed saga {args.saga_id}: {what} (`saga result {args.saga_id}` waits for its end).")
    return ExitCode.OK


# --- many sagas -----------------------------------------------------------------------


def _add_list(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit", metavar="N", type=_positive, default=20, help="default: %(default)s"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_connection_arguments(parser)
    parser.set_defaults(handler=_handler(_list))


async def _list(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    client = await connect_existing(settings)
    with temporal_errors(None, settings.address):
        runs = await list_runs(client, args.limit)
    print(render_runs(runs, as_json=args.json))
    return ExitCode.OK


# --- long-running processes -----------------------------------------------------------


def _add_worker(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--task-queue", metavar="QUEUE", default=DEFAULT_TASK_QUEUE, help="default: %(default)s"
    )
    parser.add_argument(
        "--max-concurrent-activities",
        metavar="N",
        type=_positive,
        help="HTTP calls in flight at most",
    )
    parser.add_argument(
        "--secrets-dir", metavar="DIR", type=Path, help="read secret NAME from the file DIR/NAME"
    )
    add_connection_arguments(parser)
    parser.set_defaults(handler=_handler(_worker))


async def _worker(args: argparse.Namespace) -> int:
    await serve_worker(
        settings_from_args(args),
        args.task_queue,
        secrets_dir=args.secrets_dir,
        max_concurrent_activities=args.max_concurrent_activities,
    )
    return ExitCode.OK


def _add_dev(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", metavar="PORT", type=int, default=7233, help="gRPC port (default: %(default)s)"
    )
    parser.add_argument(
        "--ui-port",
        metavar="PORT",
        type=int,
        default=8233,
        help="Web UI port (default: %(default)s)",
    )
    parser.add_argument("--headless", action="store_true", help="no Web UI")
    parser.add_argument(
        "--db", metavar="FILE", type=Path, default=DEFAULT_DB, help="default: %(default)s"
    )
    parser.add_argument(
        "--task-queue", metavar="QUEUE", default=DEFAULT_TASK_QUEUE, help="default: %(default)s"
    )
    parser.add_argument(
        "--secrets-dir", metavar="DIR", type=Path, help="read secret NAME from the file DIR/NAME"
    )
    parser.set_defaults(handler=_handler(_dev))


async def _dev(args: argparse.Namespace) -> int:
    server = DevServer(
        port=args.port,
        ui_port=None if args.headless else args.ui_port,
        db_filename=args.db,
        log_file=args.db.with_suffix(".log"),
    )
    await dev(server, args.task_queue, secrets_dir=args.secrets_dir)
    return ExitCode.OK


def _add_demo_services(parser: argparse.ArgumentParser) -> None:
    demo.add_arguments(parser)
    parser.set_defaults(handler=_demo_services)


def _demo_services(args: argparse.Namespace) -> int:
    return demo.run(args)


def _add_demo(parser: argparse.ArgumentParser) -> None:
    quickstart.add_demo_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the final report as JSON")
    parser.add_argument(
        "--task-queue", metavar="QUEUE", default=DEFAULT_TASK_QUEUE, help="default: %(default)s"
    )
    add_connection_arguments(parser)
    parser.set_defaults(handler=lambda args: quickstart.run_demo(args, _handler(_run)))
