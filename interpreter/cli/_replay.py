"""`saga replay`: recorded histories replayed on the installed version (what CI runs
before upgrading workers). The work is in `interpreter.worker._replay`; this is the glue.

Exit codes: 0 every history replayed; 6 one or more did not; 1 a file that is not a
saga's JSON history; 2 a usage error; 5 Temporal cannot be reached (`--from-server`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

import click

from interpreter.cli._common import command, connection_options, positive, settings
from interpreter.exit_codes import ExitCode

__all__ = ["COMMANDS"]


@command("replay")
@click.argument("histories", nargs=-1, metavar="HISTORY...")
@click.option("--from-server", is_flag=True, help="replay the newest runs on the server")
@click.option("--saga", metavar="NAME", help="with --from-server: only this saga's runs")
@click.option(
    "--limit", type=positive, metavar="N", help="with --from-server: at most N runs (100)"
)
@connection_options
def replay_command(**options: Any) -> int:
    return _handle(argparse.Namespace(**options))


COMMANDS = [replay_command]


def _handle(args: argparse.Namespace) -> int:
    from interpreter.client._connection import CommandError

    problem = _usage_problem(args)
    if problem:
        print(f"Error: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    # The SDK logs each failed replay as a warning; the report says it once, plainly.
    sdk_logger = logging.getLogger("temporalio")
    level = sdk_logger.level
    sdk_logger.setLevel(logging.ERROR)
    try:
        return asyncio.run(_from_server(args) if args.from_server else _from_files(args))
    except CommandError as error:
        print(f"Error: {error.message}", file=sys.stderr)
        return error.exit_code
    finally:
        sdk_logger.setLevel(level)


def _usage_problem(args: argparse.Namespace) -> str | None:
    if args.from_server and args.histories:
        return "give HISTORY files or --from-server, not both"
    if not args.from_server and not args.histories:
        return "nothing to replay: give HISTORY files or folders, or --from-server"
    if not args.from_server and (args.saga is not None or args.limit is not None):
        return "--saga and --limit go with --from-server"
    return None


async def _from_files(args: argparse.Namespace) -> int:
    from interpreter.client._connection import runtime
    from interpreter.worker import NotAHistory, history_files, load_history, replay

    try:
        paths = history_files(args.histories)
    except FileNotFoundError as error:
        print(f"Error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    histories, problems = [], []
    for path in paths:
        try:
            histories.append((str(path), load_history(path)))
        except NotAHistory as error:
            problems.append(error.message)
    for problem in problems:
        print(f"Error: {problem}", file=sys.stderr)
    if problems:
        return ExitCode.INVALID
    return await _report(replay(histories, runtime=runtime()))


async def _from_server(args: argparse.Namespace) -> int:
    from interpreter.client._connection import connect, has_saga_search_attributes, runtime
    from interpreter.client._runs import temporal_errors
    from interpreter.worker import replay, server_histories

    connection = settings(vars(args))
    client = await connect(connection)
    with temporal_errors(None, connection.address):
        indexed = args.saga is not None and await has_saga_search_attributes(client)
        histories = server_histories(
            client, saga=args.saga, limit=args.limit or 100, saga_attribute=indexed
        )
        return await _report(replay(histories, runtime=runtime()))


async def _report(outcomes: Any) -> int:
    total = failed = 0
    async for outcome in outcomes:
        total += 1
        if outcome.ok:
            print(f"ok                {outcome.source}  (run {outcome.run_id})", flush=True)
            continue
        failed += 1
        label = "NONDETERMINISTIC" if outcome.nondeterministic else "FAILED          "
        print(f"{label}  {outcome.source}  (run {outcome.run_id}): {outcome.error}", flush=True)
    if total == 0:
        print("No saga runs to replay.")
        return ExitCode.OK
    print(
        f"Replayed {total} histor{'y' if total == 1 else 'ies'}: {total - failed} ok, "
        f"{failed} did not replay."
    )
    return ExitCode.CASE_FAILED if failed else ExitCode.OK
