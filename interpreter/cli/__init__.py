"""The `saga` command line.

Subcommands register themselves from two modules: `interpreter.cli._validate` (validate, schema,
graph: no Temporal import, so `saga validate` starts fast) and `interpreter.cli._runtime`
(run, status, worker, dev, ...: imported only when one of them is used).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from interpreter.exit_codes import ExitCode

DSL_COMMANDS = ("validate", "schema", "graph")


def build_parser(command: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="saga",
        description="Declarative sagas over HTTP services, run on Temporal.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    from interpreter.cli import _validate as dsl_commands

    dsl_commands.register(sub)
    if command not in DSL_COMMANDS:
        from interpreter.cli import _runtime as runtime_commands

        runtime_commands.register(sub)
        from interpreter.cli import _test as test_commands

        test_commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args_list if not a.startswith("-")), None)
    args = build_parser(command).parse_args(args_list)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return ExitCode.INTERRUPTED
    return code


def run() -> NoReturn:
    """The `saga` console script: `main()`, then exit without interpreter teardown.

    temporalio's Rust threads can abort CPython's finalization once a client has been
    used (temporalio/sdk-python#300): the command's exit code would turn into SIGABRT.
    Nothing is left to clean up by then, so the output is flushed and the process ends.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe (`saga list | head`) must not change the exit code
    os._exit(code)


if __name__ == "__main__":
    run()
